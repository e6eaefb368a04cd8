"""SPEC.md as acceptance checks: one test per statement that can be checked from outside.

Everything here goes through the `curator` command (in-process, so the fake clock applies, or as a
real subprocess where the working directory, the environment or stdout/stderr matter), a real HTTP
feed server on 127.0.0.1, the files curator writes, and a real `curator web` over HTTP. Nothing
inside curator is imported or faked except the clock.
"""

from __future__ import annotations

import gzip
import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import feedparser
import pytest
from conftest import Cli, FeedServer, write_config

START = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)  # where the fake clock starts
ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}"

POLL_KEYS = {"sources", "fetched", "not_modified", "failed", "skipped", "new_entries",
             "updated_entries", "new_candidates"}
CANDIDATE_KEYS = {"id", "title", "url", "source", "sources", "published", "topics", "status",
                  "note", "featured_at", "also", "score", "suggested"}
SOURCE_KEYS = {"url", "name", "status", "last_polled", "last_ok", "next_due", "failures", "error",
               "disabled"}
PUBLISH_KEYS = {"rss", "atom", "items", "changed"}
REMATCH_KEYS = {"entries", "new_candidates", "dropped"}

STORY = [{"name": "stories", "any": ["story"]}]
PASSWORD = "correct horse battery staple"


# ------------------------------------------------------------------ fixtures and helpers


@pytest.fixture(scope="module")
def shared_server() -> Iterator[FeedServer]:
    s = FeedServer()
    yield s
    s.close()


@pytest.fixture
def server(shared_server: FeedServer) -> FeedServer:
    """conftest's feed server, started once for this module (each shutdown costs half a second)."""
    shared_server.routes.clear()
    shared_server.requests.clear()
    return shared_server


def rss_doc(title: str, items: list[str], *, link: str = "https://src.example.org/",
            ns: str = "", head: str = '<?xml version="1.0" encoding="utf-8"?>') -> str:
    """An RSS 2.0 document; title and items are XML as written."""
    return (f'{head}\n<rss version="2.0"{ns}><channel><title>{title}</title><link>{link}</link>'
            f"<description>a test source</description>{''.join(items)}</channel></rss>\n")


def rss_item(title: str, *, link: str | None = None, guid: str | None = None,
             desc: str | None = None, pub: str | None = None, extra: str = "") -> str:
    out = f"<item><title>{title}</title>"
    if link is not None:
        out += f"<link>{link}</link>"
    if guid is not None:
        out += f'<guid isPermaLink="false">{guid}</guid>'
    if desc is not None:
        out += f"<description>{desc}</description>"
    if pub is not None:
        out += f"<pubDate>{pub}</pubDate>"
    return out + extra + "</item>"


def stories(n: int, prefix: str = "https://news.example.org/story-") -> list[str]:
    return [rss_item(f"Story {i}", link=f"{prefix}{i}", guid=f"s{i}",
                     pub=format_datetime(START - timedelta(hours=n - i), usegmt=True))
            for i in range(n)]


def by_title(cands: list[dict[str, Any]], title: str) -> dict[str, Any]:
    found = [c for c in cands if c["title"] == title]
    assert len(found) == 1, (title, [c["title"] for c in cands])
    return found[0]


def iso(value: str) -> datetime:
    assert ISO_Z.match(value), value
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def times_in(doc: Any) -> list[str]:
    """Every string in a JSON document that looks like a date."""
    if isinstance(doc, dict):
        return [t for v in doc.values() for t in times_in(v)]
    if isinstance(doc, list):
        return [t for v in doc for t in times_in(v)]
    return [doc] if isinstance(doc, str) and re.match(r"^\d{4}-\d{2}-\d{2}", doc) else []


def curator_cmd() -> list[str]:
    script = Path(sys.executable).with_name("curator")
    return [str(script)] if script.exists() else [sys.executable, "-m", "curator"]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CURATOR_CONFIG"}
    env.update(extra)
    return env


def run(args: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None,
        input: str | None = None, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """The real `curator` console script in a subprocess (real clock)."""
    return subprocess.run(curator_cmd() + args, cwd=cwd, env=env or clean_env(), input=input,
                          capture_output=True, text=True, timeout=timeout)


def lines_named(stderr: str) -> set[int]:
    """The line numbers an error message points at (`file:12`, `line 12`)."""
    return {int(n) for n in re.findall(r"(?:\bline\s+|:)(\d+)\b", stderr)}


def tree_state(folder: Path, skip: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_mtime_ns, p.stat().st_size)
            for p in sorted(folder.rglob("*")) if p.is_file() and p != skip}


def rss_items(raw: bytes) -> list[ET.Element]:
    return ET.fromstring(raw).findall("channel/item")


def atom_entries(raw: bytes) -> list[ET.Element]:
    return ET.fromstring(raw).findall(f"{ATOM}entry")


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    handle_startendtag = handle_starttag


def unsafe_markup(html: str) -> list[str]:
    """What SPEC.md forbids in output HTML: script, iframe, event handlers, javascript: URLs."""
    parser = _Tags()
    parser.feed(html)
    parser.close()
    bad = []
    for tag, attrs in parser.tags:
        if tag in ("script", "iframe"):
            bad.append(tag)
        for name, value in attrs:
            if name.startswith("on"):
                bad.append(f"{tag}[{name}]")
            flat = re.sub(r"[\x00-\x20]+", "", value or "").lower()
            if flat.startswith("javascript:"):
                bad.append(f"{tag}[{name}={value}]")
    return bad


# ------------------------------------------------------------------ layout


def test_console_script_and_every_command_exists() -> None:
    """pyproject.toml: console script `curator`; the commands of the table all exist."""
    assert Path(sys.executable).with_name("curator").exists()
    out = run(["--help"])
    assert out.returncode == 0
    from click.testing import CliRunner

    from curator.cli import cli

    for command in ("poll", "candidates", "show", "feature", "reject", "reset", "publish", "run",
                    "sources", "enable", "rematch", "editor", "web"):
        assert re.search(rf"^\s+{command}\b", out.stdout, re.M), command
        assert CliRunner().invoke(cli, [command, "--help"]).exit_code == 0, command
    for sub in ("add", "list", "remove"):
        assert CliRunner().invoke(cli, ["editor", sub, "--help"]).exit_code == 0, sub
    web = CliRunner().invoke(cli, ["web", "--help"]).stdout
    assert "127.0.0.1" in web and "8080" in web  # `curator web [--host 127.0.0.1] [--port 8080]`


def test_the_database_file_is_not_committed() -> None:
    """db/ holds the database by default; the file is not committed."""
    root = Path(__file__).resolve().parent.parent
    tracked = subprocess.run(["git", "ls-files", "db"], cwd=root, capture_output=True,
                             text=True, check=True).stdout.split()
    assert not [p for p in tracked if p.endswith((".db", ".db-wal", ".db-shm"))], tracked


# ------------------------------------------------------------------ configuration


def test_config_defaults_to_env_var_then_feeds_yaml_in_cwd(tmp_path: Path, server: Any) -> None:
    """`--config` defaults to `$CURATOR_CONFIG`, else `./feeds.yaml`."""
    a, b, elsewhere = tmp_path / "a", tmp_path / "b", tmp_path / "elsewhere"
    for d in (a, b, elsewhere):
        d.mkdir()
    write_config(a, [{"url": server.url("/a.xml"), "name": "Source A"}], STORY)
    write_config(b, [{"url": server.url("/b.xml"), "name": "Source B"}], STORY)

    def names(result: subprocess.CompletedProcess[str]) -> list[str]:
        assert result.returncode == 0, result.stderr
        return [s["name"] for s in json.loads(result.stdout)]

    assert names(run(["sources", "--json"], cwd=a)) == ["Source A"]
    with_env = clean_env(CURATOR_CONFIG=str(b / "feeds.yaml"))
    assert names(run(["sources", "--json"], cwd=a, env=with_env)) == ["Source B"]
    assert names(run(["--config", str(a / "feeds.yaml"), "sources", "--json"], cwd=elsewhere,
                     env=with_env)) == ["Source A"]
    missing = run(["sources", "--json"], cwd=elsewhere)
    assert missing.returncode == 2 and missing.stdout == ""
    assert "feeds.yaml" in missing.stderr
    assert list(elsewhere.iterdir()) == []


def test_paths_are_relative_to_the_config_folder_and_folders_are_made(
        tmp_path: Path, server: Any, clock: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Paths in the file are relative to the file's own folder; curator creates the folders of
    the database and the output files when they are missing."""
    site, other = tmp_path / "site", tmp_path / "other"
    site.mkdir()
    other.mkdir()
    url = server.add("/f.xml", rss_doc("Src", stories(2)))
    write_config(site, [{"url": url}], STORY, database="data/nested/deeper/cur.db",
                 output={"rss": "out/rss/deep/feed.xml", "atom": "out/atom/deep/atom.xml"})
    monkeypatch.chdir(other)
    cli = Cli(Path("../site/feeds.yaml"))
    assert cli("poll", "--json")["new_candidates"] == 2
    cli("feature", str(cli("candidates", "--json")[0]["id"]), "--note", "n")
    out = cli("publish", "--json")
    assert (site / "data/nested/deeper/cur.db").is_file()
    assert (other / out["rss"]).resolve() == (site / "out/rss/deep/feed.xml").resolve()
    assert (other / out["atom"]).resolve() == (site / "out/atom/deep/atom.xml").resolve()
    assert (site / "out/rss/deep/feed.xml").is_file() and (site / "out/atom/deep/atom.xml").is_file()
    assert list(other.iterdir()) == []


def test_output_defaults(tmp_path: Path, server: Any, clock: Any) -> None:
    """`author` defaults to the feed's title as name, `rss` to public/feed.xml, `atom` to
    public/atom.xml, `max_items` to 50; `database` to db/curator.db."""
    url = server.add("/f.xml", rss_doc("Src", stories(52)))
    config = tmp_path / "feeds.yaml"
    config.write_text(
        "output:\n  title: Default Watch\n  link: https://watch.example.org/\n"
        "  description: Defaults only\n"
        f"sources:\n  - url: {url}\n"
        "topics:\n  - name: stories\n    any: [story]\n", encoding="utf-8")
    cli = Cli(config)
    cli("poll", "--json")
    cands = cli("candidates", "--limit", "100", "--json")
    assert len(cands) == 52
    for c in cands:
        cli("feature", str(c["id"]))
    out = cli("publish", "--json")
    assert out["items"] == 50
    assert (tmp_path / "db/curator.db").is_file()
    rss, atom = tmp_path / "public/feed.xml", tmp_path / "public/atom.xml"
    assert rss.is_file() and atom.is_file()
    assert Path(out["rss"]).resolve() == rss.resolve()
    assert len(rss_items(rss.read_bytes())) == 50 and len(atom_entries(atom.read_bytes())) == 50
    parsed = feedparser.parse(atom.read_bytes())
    assert parsed.feed.author_detail.name == "Default Watch"


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("15m", 900), ("2h", 7200),
                                               ("1d", 86400)])
def test_durations(text: str, seconds: int, server: Any, make_cli: Any, clock: Any) -> None:
    """Durations accept `90s`, `15m`, `2h`, `1d` (seen in when a source is next due)."""
    url = server.add("/f.xml", rss_doc("Src", stories(1)))
    cli = make_cli([{"url": url, "interval": text}], STORY, poll={"interval": "30m"})
    assert cli("poll", "--json")["fetched"] == 1
    [row] = cli("sources", "--json")
    delay = (iso(row["next_due"]) - iso(row["last_polled"])).total_seconds()
    assert seconds <= delay <= seconds * 1.15 + 1, (text, delay)


def test_default_interval_is_poll_interval(server: Any, make_cli: Any, clock: Any) -> None:
    url = server.add("/f.xml", rss_doc("Src", stories(1)))
    cli = make_cli([{"url": url}], STORY, poll={"interval": "2h"})
    cli("poll", "--json")
    [row] = cli("sources", "--json")
    delay = (iso(row["next_due"]) - iso(row["last_polled"])).total_seconds()
    assert 7200 <= delay <= 7200 * 1.15 + 1
    clock.advance(minutes=90)
    assert cli("poll", "--json")["skipped"] == 1


GOOD_YAML = """\
database: db/curator.db
poll:
  interval: 30m
  timeout: 5s
output:
  title: Test Watch
  link: https://watch.example.org/
  description: d
sources:
  - url: URL
    name: Src
    interval: 15m
topics:
  - name: stories
    any: [story]
"""

BAD_CONFIGS: dict[str, tuple[str, str, tuple[str, ...], int | None]] = {
    # id: (old, new, words one of which the message names, the line it names)
    "unknown-top-key": ("    any: [story]\n", "    any: [story]\ncolour: red\n", ("colour",), 16),
    "unknown-poll-key": ("  timeout: 5s\n", "  timout: 5s\n", ("timout",), 4),
    "unknown-output-key": ("  description: d\n", "  description: d\n  colour: red\n",
                           ("colour",), 9),
    "unknown-source-key": ("    name: Src\n", "    nmae: Src\n", ("nmae",), 11),
    "unknown-topic-key": ("    any: [story]\n", "    any: [story]\n    colour: red\n",
                          ("colour",), 16),
    "bad-source-url": ("  - url: URL\n", "  - url: ftp//nope\n", ("url",), 10),
    "file-source-url": ("  - url: URL\n", "  - url: file:///etc/passwd\n", ("url",), 10),
    "bad-output-link": ("  link: https://watch.example.org/\n", "  link: not a url\n",
                        ("link",), 7),
    "bad-source-interval": ("    interval: 15m\n", "    interval: 15 minutes\n",
                            ("interval",), 12),
    "bad-poll-interval": ("  interval: 30m\n", "  interval: 30x\n", ("interval",), 3),
    "bad-poll-timeout": ("  timeout: 5s\n", "  timeout: soon\n", ("timeout",), 4),
    "unknown-author-key": ("  description: d\n",
                           "  description: d\n  author: {name: Ed, mail: e@example.org}\n",
                           ("mail",), 9),
    "duplicate-topic": ("    any: [story]\n",
                        "    any: [story]\n  - name: stories\n    any: [other]\n",
                        ("name", "topics"), 16),
    "missing-output-title": ("  title: Test Watch\n", "", ("title",), None),
    "topic-empty-any": ("    any: [story]\n", "    any: []\n", ("any", "topics"), 15),
    "topic-without-terms": ("    any: [story]\n", "    title: No terms\n", ("any", "topics"),
                            14),
}


@pytest.mark.parametrize("case", list(BAD_CONFIGS))
def test_config_errors_name_key_and_line_and_exit_2(case: str, tmp_path: Path,
                                                    server: Any) -> None:
    """Unknown keys, a bad URL, a bad duration or a topic with no terms are errors that name the
    key and line; the command exits 2."""
    old, new, words, line = BAD_CONFIGS[case]
    assert old in GOOD_YAML
    config = tmp_path / "feeds.yaml"
    config.write_text(GOOD_YAML.replace(old, new, 1).replace("URL", server.url("/f.xml")),
                      encoding="utf-8")
    from click.testing import CliRunner

    from curator.cli import cli

    result = CliRunner().invoke(cli, ["--config", str(config), "poll", "--json"])
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert result.stdout == ""
    assert any(w in result.stderr for w in words), result.stderr
    if case == "topic-without-terms":  # the topic's own line, or the line after its last key
        assert lines_named(result.stderr) & {13, 14, 15}, result.stderr
    elif line is not None:
        assert line in lines_named(result.stderr), result.stderr


def test_a_bad_config_changes_nothing(tmp_path: Path, server: Any, make_cli: Any,
                                      clock: Any) -> None:
    """… the command exits 2 and changes nothing."""
    url = server.add("/f.xml", rss_doc("Src", stories(3)))
    cli = make_cli([{"url": url}], STORY)
    cli("poll", "--json")
    cands = cli("candidates", "--json")
    cli("feature", str(cands[0]["id"]), "--note", "kept")
    cli("publish", "--json")
    good = cli.config.read_text()
    before = (cli("candidates", "--status", "all", "--json"), cli("sources", "--json"))
    files = tree_state(tmp_path, cli.config)
    hits = len(server.hits("/f.xml"))

    cli.config.write_text(good + "colour: red\n")
    clock.advance(days=1)
    for args in (["poll", "--all"], ["publish"], ["rematch"], ["feature", str(cands[1]["id"])],
                 ["reject", str(cands[0]["id"])], ["reset", str(cands[0]["id"])],
                 ["enable", url], ["sources", "--json"], ["candidates", "--json"],
                 ["show", str(cands[0]["id"]), "--json"], ["editor", "list", "--json"],
                 ["web", "--port", str(_free_port())]):
        result = cli(*args, code=2)
        assert "colour" in result.stderr, args
    assert tree_state(tmp_path, cli.config) == files
    assert len(server.hits("/f.xml")) == hits
    cli.config.write_text(good)
    assert (cli("candidates", "--status", "all", "--json"), cli("sources", "--json")) == before


# ------------------------------------------------------------------ command line: output, exits


def test_every_listing_json_is_one_document_on_stdout_logs_on_stderr(tmp_path: Path,
                                                                     server: Any) -> None:
    """Every listing command takes `--json` and then prints exactly one JSON document on stdout
    (logs and progress go to stderr)."""
    url = server.add("/f.xml", rss_doc("Src", stories(2)))
    config = write_config(tmp_path, [{"url": url, "name": "Src"}], STORY)
    base = ["--config", str(config), "-v"]
    poll = run(base + ["poll", "--json"])
    assert poll.returncode == 0, poll.stderr
    assert set(json.loads(poll.stdout)) == POLL_KEYS
    assert "Src" in poll.stderr  # the poll's log line went to stderr
    cands = run(base + ["candidates", "--json"])
    assert cands.returncode == 0
    cid = str(json.loads(cands.stdout)[0]["id"])
    from click.testing import CliRunner

    from curator.cli import cli

    docs = {}
    for args in (["candidates", "--json"], ["candidates", "--status", "all", "--json"],
                 ["show", cid, "--json"], ["sources", "--json"], ["rematch", "--json"],
                 ["publish", "--json"], ["poll", "--all", "--json"], ["editor", "list", "--json"],
                 ["candidates", "--status", "rejected", "--json"]):
        result = CliRunner().invoke(cli, base + args)
        assert result.exit_code == 0, (args, result.output)
        docs[" ".join(args)] = json.loads(result.stdout)  # fails on anything beside one document
    assert isinstance(docs["candidates --json"], list)
    assert isinstance(docs["sources --json"], list)
    assert isinstance(docs["editor list --json"], list)
    assert docs["candidates --status rejected --json"] == []  # empty is still one document
    # Times in JSON are UTC, written as 2026-11-24T12:00:00Z.
    stamps = times_in(list(docs.values()))
    assert len(stamps) >= 8 and [t for t in stamps if not ISO_Z.match(t)] == []


def test_a_poll_that_stands_down_still_prints_one_json_document(tmp_path: Path,
                                                                server: Any) -> None:
    """`poll --json` prints exactly one JSON document on stdout — also when another poll is
    running and this one gives way (it exits 0)."""
    slow = server.add("/slow.xml", rss_doc("Slow", stories(1)), delay=6.5)
    config = write_config(tmp_path, [{"url": slow}], STORY, poll={"timeout": "20s"})
    first = subprocess.Popen(curator_cmd() + ["--config", str(config), "-q", "poll", "--json"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=clean_env())
    try:
        deadline = time.monotonic() + 10
        while not server.hits("/slow.xml") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.hits("/slow.xml")
        second = run(["--config", str(config), "poll", "--json"])
        out, _ = first.communicate(timeout=20)
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()
    assert first.returncode == 0 and json.loads(out)["fetched"] == 1
    assert second.returncode == 0, second.stderr
    assert second.stderr.strip()
    assert second.stdout.strip(), f"nothing on stdout; stderr: {second.stderr!r}"
    assert set(json.loads(second.stdout)) == POLL_KEYS, (second.stdout, second.stderr)


def test_unknown_ids_and_bad_usage_exit_2(server: Any, make_cli: Any, clock: Any) -> None:
    """Exit status 2: bad usage, bad config, unknown id."""
    url = server.add("/f.xml", rss_doc("Src", stories(1)))
    cli = make_cli([{"url": url, "name": "Src"}], STORY)
    cli("poll", "--json")
    for args in (["show", "424242"], ["show", "424242", "--json"], ["feature", "424242"],
                 ["feature", "424242", "--note", "x"], ["reject", "424242"], ["reset", "424242"],
                 ["show", "abc"], ["feature", "abc"], ["enable", "no-such-source"],
                 ["enable", "https://nowhere.example.org/feed.xml"],
                 ["poll", "--source", "no-such-source"], ["candidates", "--status", "maybe"],
                 ["candidates", "--limit", "0"], ["candidates", "--limit", "many"],
                 ["candidates", "--topic", "no-such-topic"], ["no-such-command"],
                 ["poll", "--no-such-flag"], ["show"], ["feature"],
                 ["feature", "1", "--note-file", str(cli.config.parent / "missing.md")]):
        result = cli(*args, code=2)
        assert result.stdout == "", args


def test_missing_config_exits_2(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "nope.yaml")
    assert "nope.yaml" in cli("candidates", "--json", code=2).stderr
    assert list(tmp_path.iterdir()) == []


def test_poll_with_every_source_failing_exits_0(server: Any, make_cli: Any, clock: Any) -> None:
    """`poll`: never exit 1 merely because some sources failed."""
    broken = server.add("/broken.xml", b"oops", status=500, validators=False)
    html = server.add("/page.html", b"<html><body>hi</body></html>", content_type="text/html")
    cli = make_cli([{"url": broken}, {"url": html}, {"url": "http://127.0.0.1:9/refused.xml"}],
                   STORY)
    summary = cli("poll", "--json")
    assert summary["failed"] == 3 and summary["fetched"] == 0
    cli("poll", "--all", code=0)


def test_publish_that_cannot_write_exits_1(tmp_path: Path, server: Any, make_cli: Any,
                                          clock: Any) -> None:
    """Exit 1: the command ran but something it was asked to do failed."""
    url = server.add("/f.xml", rss_doc("Src", stories(1)))
    cli = make_cli([{"url": url}], STORY)
    cli("poll", "--json")
    (tmp_path / "public/feed.xml").mkdir(parents=True)  # the RSS path is taken by a folder
    result = cli("publish", "--json", code=1)
    assert result.stdout == "" and result.stderr


def test_poll_json_counts(server: Any, make_cli: Any, clock: Any) -> None:
    """poll JSON: exactly the keys of SPEC.md; `failed` counts 410, 429, over max_bytes, not a
    feed; sources = fetched + not_modified + failed + skipped."""
    ok = server.add("/ok.xml", rss_doc("Ok", stories(3)))
    gone = server.add("/gone.xml", b"", status=410, validators=False)
    busy = server.add("/busy.xml", b"", status=429, validators=False,
                      headers={"Retry-After": "60"})
    big = server.add("/big.xml", rss_doc("Big", stories(200)))
    page = server.add("/page.html", b"<html><body>hi</body></html>", content_type="text/html")
    cli = make_cli([{"url": u} for u in (ok, gone, busy, big, page)], STORY,
                   poll={"max_bytes": "5KB"})
    summary = cli("poll", "--json")
    assert set(summary) == POLL_KEYS
    assert all(type(v) is int for v in summary.values())
    assert summary == {"sources": 5, "fetched": 1, "not_modified": 0, "failed": 4, "skipped": 0,
                       "new_entries": 3, "updated_entries": 0, "new_candidates": 3}
    clock.advance(hours=1)
    again = cli("poll", "--json")
    assert again["sources"] == 5
    assert again["not_modified"] == 1 and again["new_entries"] == 0
    assert (again["fetched"] + again["not_modified"] + again["failed"] + again["skipped"]
            == again["sources"])


def test_poll_source_polls_only_the_named_sources_now(server: Any, make_cli: Any,
                                                     clock: Any) -> None:
    a = server.add("/a.xml", rss_doc("A", stories(1, "https://a.example.org/")))
    b = server.add("/b.xml", rss_doc("B", stories(1, "https://b.example.org/")))
    cli = make_cli([{"url": a, "name": "Alpha"}, {"url": b}], STORY)
    assert cli("poll", "--source", "Alpha", "--json")["fetched"] == 1
    assert len(server.hits("/a.xml")) == 1 and server.hits("/b.xml") == []
    assert cli("poll", "--source", b, "--json")["fetched"] == 1
    clock.advance(minutes=1)  # not due, but named: polled now
    assert cli("poll", "--source", "Alpha", "--json")["not_modified"] == 1


# ------------------------------------------------------------------ candidates


def test_candidate_json_shape_and_time_format(server: Any, make_cli: Any, clock: Any) -> None:
    """A candidate object has exactly the keys of SPEC.md; times are UTC `…T…Z` (offsets and
    fractions converted)."""
    items = [
        rss_item("Offset story", link="https://n.example.org/offset", guid="o",
                 pub="Tue, 24 Nov 2026 11:30:00 +0200"),
        rss_item("Undated story", link="https://n.example.org/undated", guid="u"),
    ]
    rss_url = server.add("/f.xml", rss_doc("Src", items))
    atom = ('<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            '<title>Atom Src</title><id>urn:x</id><updated>2026-11-25T12:00:00Z</updated>'
            '<entry><title>Fraction story</title><id>urn:f</id>'
            '<link href="https://n.example.org/fraction"/>'
            '<published>2026-11-25T12:00:00.250+01:00</published>'
            '<updated>2026-11-25T12:00:00.250+01:00</updated></entry></feed>')
    atom_url = server.add("/a.xml", atom, content_type="application/atom+xml")
    cli = make_cli([{"url": rss_url, "name": "Src"}, {"url": atom_url}], STORY)
    cli("poll", "--json")
    cands = cli("candidates", "--json")
    for c in cands:
        assert set(c) == CANDIDATE_KEYS
        assert type(c["id"]) is int and isinstance(c["sources"], list)
        assert c["status"] == "new" and c["note"] is None and c["featured_at"] is None
        assert c["topics"] == ["stories"]
        # Before any decision the score comes from the topic matches alone.
        assert type(c["score"]) is float and c["score"] == 0.5 and c["suggested"] is False
    assert by_title(cands, "Offset story")["published"] == "2026-11-24T09:30:00Z"
    assert by_title(cands, "Fraction story")["published"] == "2026-11-25T11:00:00Z"
    assert by_title(cands, "Fraction story")["source"] == "Atom Src"
    assert by_title(cands, "Undated story")["published"] is None
    cid = by_title(cands, "Offset story")["id"]
    cli("feature", str(cid), "--note", "n")
    featured = cli("show", str(cid), "--json")
    assert featured["featured_at"] == "2026-11-26T12:00:00Z"
    for row in cli("sources", "--json"):
        for key in ("last_polled", "last_ok", "next_due"):
            assert ISO_Z.match(row[key]), (key, row[key])


def _shared_story_sources(server: Any) -> tuple[str, str]:
    a = server.add("/a.xml", rss_doc("A", [rss_item(
        "Shared story", link="https://n.example.org/shared?utm_source=a", guid="a1",
        desc="&lt;p&gt;The &lt;b&gt;summary&lt;/b&gt; text.&lt;/p&gt;")]))
    b = server.add("/b.xml", rss_doc("B", [rss_item(
        "Shared story (B)", link="https://n.example.org/shared?fbclid=b", guid="b1")]))
    return a, b


def test_show_has_the_summary_and_every_source(server: Any, make_cli: Any, clock: Any) -> None:
    """`show ID`: one candidate with its summary and every source that carried it."""
    a, b = _shared_story_sources(server)
    cli = make_cli([{"url": a, "name": "Alpha"}, {"url": b, "name": "Beta"}], STORY)
    cli("poll", "--source", "Alpha", "--json")
    clock.advance(minutes=1)
    cli("poll", "--source", "Beta", "--json")
    [cand] = cli("candidates", "--json")
    shown = cli("show", str(cand["id"]), "--json")
    assert set(shown) >= CANDIDATE_KEYS | {"summary"}
    assert shown["sources"] == ["Alpha", "Beta"] and shown["source"] == "Alpha"
    assert "The summary text." in shown["summary"]
    assert "<" not in shown["summary"]
    text = cli("show", str(cand["id"])).stdout
    assert "Alpha" in text and "Beta" in text and "The summary text." in text


def test_show_has_the_summary_when_the_first_carrier_had_none(server: Any, make_cli: Any,
                                                             clock: Any) -> None:
    """`show ID`: "one candidate with its summary" — also when the source that carried it first
    gave no summary and a later one did (in one poll, which comes first is a network race)."""
    a, b = _shared_story_sources(server)
    cli = make_cli([{"url": a, "name": "Alpha"}, {"url": b, "name": "Beta"}], STORY)
    cli("poll", "--source", "Beta", "--json")
    clock.advance(minutes=1)
    cli("poll", "--source", "Alpha", "--json")
    [cand] = cli("candidates", "--json")
    shown = cli("show", str(cand["id"]), "--json")
    assert shown["sources"] == ["Beta", "Alpha"]
    assert "The summary text." in shown["summary"], shown


def test_candidates_status_limit_topic_and_newest_first(server: Any, make_cli: Any,
                                                        clock: Any) -> None:
    """`candidates [--topic NAME] [--status new|featured|rejected|all] [--limit N]`: newest first,
    default status `new`."""
    pubs = ["Mon, 23 Nov 2026 10:00:00 GMT", "Wed, 25 Nov 2026 10:00:00 GMT",
            "Tue, 24 Nov 2026 10:00:00 GMT", "Thu, 26 Nov 2026 08:00:00 GMT",
            "Sun, 22 Nov 2026 10:00:00 GMT"]
    titles = ["Story mon", "Story wed merger", "Story tue", "Story thu merger", "Story sun"]
    items = [rss_item(t, link=f"https://n.example.org/{i}", guid=str(i), pub=p)
             for i, (t, p) in enumerate(zip(titles, pubs, strict=True))]
    url = server.add("/f.xml", rss_doc("Src", items))
    cli = make_cli([{"url": url}], [{"name": "stories", "any": ["story"]},
                                    {"name": "antitrust", "any": ["merger"]}])
    cli("poll", "--json")
    new = cli("candidates", "--json")
    assert [c["title"] for c in new] == ["Story thu merger", "Story wed merger", "Story tue",
                                         "Story mon", "Story sun"]
    assert [c["title"] for c in cli("candidates", "--limit", "2", "--json")] == [
        "Story thu merger", "Story wed merger"]
    assert [c["title"] for c in cli("candidates", "--topic", "antitrust", "--json")] == [
        "Story thu merger", "Story wed merger"]
    ids = {c["title"]: c["id"] for c in new}
    cli("feature", str(ids["Story tue"]), "--note", "one")
    cli("reject", str(ids["Story wed merger"]))
    assert [c["title"] for c in cli("candidates", "--json")] == [
        "Story thu merger", "Story mon", "Story sun"]
    assert [c["title"] for c in cli("candidates", "--status", "new", "--json")] == [
        "Story thu merger", "Story mon", "Story sun"]
    assert [c["title"] for c in cli("candidates", "--status", "featured", "--json")] == [
        "Story tue"]
    assert [c["title"] for c in cli("candidates", "--status", "rejected", "--json")] == [
        "Story wed merger"]
    every = cli("candidates", "--status", "all", "--json")
    assert [c["title"] for c in every] == [c["title"] for c in new]
    assert {c["title"]: c["status"] for c in every}["Story wed merger"] == "rejected"
    assert [c["title"] for c in cli("candidates", "--status", "all", "--topic", "antitrust",
                                    "--limit", "1", "--json")] == ["Story thu merger"]


# ------------------------------------------------------------------ review


def test_feature_with_a_note_from_text_file_or_stdin_edit_reset_reject(tmp_path: Path, server: Any, make_cli: Any,
                                                    clock: Any) -> None:
    """`feature ID [--note TEXT | --note-file PATH_OR_-]`; again to edit the note; `reject`;
    `reset` puts it back to `new` (unfeatures it)."""
    url = server.add("/f.xml", rss_doc("Src", stories(3)))
    cli = make_cli([{"url": url}], STORY)
    cli("poll", "--json")
    a, b, c = (x["id"] for x in cli("candidates", "--json"))
    cli("feature", str(a), "--note-file", "-", input="From *stdin*.\n")
    assert cli("show", str(a), "--json")["note"].strip() == "From *stdin*."
    note = tmp_path / "note.md"
    note.write_text("From a **file**.\n", encoding="utf-8")
    cli("feature", str(b), "--note-file", str(note))
    assert cli("show", str(b), "--json")["note"].strip() == "From a **file**."
    cli("feature", str(c))
    shown = cli("show", str(c), "--json")
    assert shown["status"] == "featured" and shown["featured_at"] == "2026-11-26T12:00:00Z"

    clock.advance(minutes=5)
    cli("feature", str(a), "--note", "Edited.")
    edited = cli("show", str(a), "--json")
    assert edited["note"] == "Edited." and edited["status"] == "featured"
    assert edited["featured_at"] == "2026-11-26T12:00:00Z"  # editing is not featuring anew

    cli("reset", str(a))
    reset = cli("show", str(a), "--json")
    assert reset["status"] == "new" and reset["featured_at"] is None
    cli("reject", str(b))
    assert cli("show", str(b), "--json")["status"] == "rejected"
    assert [x["id"] for x in cli("candidates", "--status", "featured", "--json")] == [c]
    out = cli("publish", "--json")
    assert out["items"] == 1
    links = [i.findtext("link") for i in rss_items(Path(out["rss"]).read_bytes())]
    assert links == [cli("show", str(c), "--json")["url"]]


def test_every_review_action_records_the_editor_and_when(server: Any, make_cli: Any, clock: Any,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Every feature, reject, reset and note edit records which editor made it and when."""
    url = server.add("/f.xml", rss_doc("Src", stories(1)))
    cli = make_cli([{"url": url}], STORY)
    cli("poll", "--json")
    [cand] = cli("candidates", "--json")
    cid = str(cand["id"])
    monkeypatch.setenv("CURATOR_EDITOR", "maria")
    cli("feature", cid, "--note", "first")
    clock.advance(minutes=1)
    monkeypatch.setenv("CURATOR_EDITOR", "sam")
    cli("feature", cid, "--note", "second")
    clock.advance(minutes=1)
    cli("reject", cid)
    clock.advance(minutes=1)
    monkeypatch.setenv("CURATOR_EDITOR", "maria")
    cli("reset", cid)
    history = cli("show", cid, "--json")["history"]
    assert len(history) == 4
    assert [h["editor"] for h in history] == ["maria", "sam", "sam", "maria"]
    assert [h["at"] for h in history] == ["2026-11-26T12:00:00Z", "2026-11-26T12:01:00Z",
                                          "2026-11-26T12:02:00Z", "2026-11-26T12:03:00Z"]
    assert "reject" in history[2]["action"] and "reset" in history[3]["action"]


# ------------------------------------------------------------------ entries, identity, duplicates


def _entries(cli: Cli) -> int:
    return int(cli("rematch", "--json")["entries"])


def test_entry_identity_guid_then_link_then_hash(server: Any, make_cli: Any, clock: Any) -> None:
    """An entry is identified within its source by its guid/id; without one, by its link; without
    either, by a hash of title and summary. Polling the same feed twice never makes a second copy;
    an entry whose title or summary changed is updated in place."""
    def feed(guid_title: str, guid_desc: str, link_title: str, extra: list[str]) -> str:
        return rss_doc("Src", [
            rss_item(guid_title, link="https://n.example.org/g", guid="g-1", desc=guid_desc),
            rss_item(link_title, link="https://n.example.org/l", desc="by link"),
            rss_item("Story with neither", desc="no guid, no link"),
            *extra])

    server.add("/f.xml", feed("Story by guid", "first", "Story by link", []))
    cli = make_cli([{"url": server.url("/f.xml")}], STORY)
    first = cli("poll", "--json")
    assert first["new_entries"] == 3
    assert _entries(cli) == 3

    # The body changes elsewhere, so it is parsed again: nothing is stored twice.
    server.add("/f.xml", feed("Story by guid", "first", "Story by link",
                              [rss_item("Unrelated", link="https://n.example.org/x")]))
    clock.advance(hours=1)
    again = cli("poll", "--json")
    assert (again["new_entries"], again["updated_entries"]) == (1, 0)
    assert _entries(cli) == 4

    # Title and summary change: the guid and link entries are updated in place.
    server.add("/f.xml", feed("Story by guid, corrected", "second", "Story by link, corrected",
                              [rss_item("Unrelated", link="https://n.example.org/x")]))
    clock.advance(hours=1)
    changed = cli("poll", "--json")
    assert (changed["new_entries"], changed["updated_entries"], changed["new_candidates"]) == (
        0, 2, 0)
    assert _entries(cli) == 4
    titles = sorted(c["title"] for c in cli("candidates", "--json"))
    assert titles == ["Story by guid, corrected", "Story by link, corrected"] or titles == [
        "Story by guid, corrected", "Story by link, corrected", "Story with neither"]


def test_an_update_that_starts_to_match_is_a_new_candidate(server: Any, make_cli: Any,
                                                           clock: Any) -> None:
    server.add("/f.xml", rss_doc("Src", [rss_item("Big news", link="https://n.example.org/b",
                                                  guid="b")]))
    cli = make_cli([{"url": server.url("/f.xml")}], STORY)
    assert cli("poll", "--json")["new_candidates"] == 0
    server.add("/f.xml", rss_doc("Src", [rss_item("Big story", link="https://n.example.org/b",
                                                  guid="b")]))
    clock.advance(hours=1)
    result = cli("poll", "--json")
    assert (result["new_entries"], result["updated_entries"], result["new_candidates"]) == (
        0, 1, 1)
    assert [c["title"] for c in cli("candidates", "--json")] == ["Big story"]


def test_the_guid_wins_over_a_changed_link(server: Any, make_cli: Any, clock: Any) -> None:
    server.add("/f.xml", rss_doc("Src", [rss_item("A story", link="https://n.example.org/old",
                                                  guid="same")]))
    cli = make_cli([{"url": server.url("/f.xml")}], STORY)
    cli("poll", "--json")
    server.add("/f.xml", rss_doc("Src", [rss_item("A story", link="https://n.example.org/new",
                                                  guid="same")]))
    clock.advance(hours=1)
    result = cli("poll", "--json")
    assert result["new_entries"] == 0
    assert _entries(cli) == 1


@pytest.mark.parametrize(("link", "canonical"), [
    ("HTTPS://News.Example.ORG:443/a/b?id=3&amp;utm_source=x&amp;utm_medium=y#frag",
     "https://news.example.org/a/b?id=3"),
    ("http://news.example.org:80/c?fbclid=1&amp;gclid=2&amp;mc_cid=3&amp;mc_eid=4",
     "http://news.example.org/c"),
    ("https://news.example.org:8443/d?utm_campaign=z&amp;page=2", "https://news.example.org:8443/d?page=2"),
    ("/relative/e?utm_content=q", "{base}/relative/e"),
    ("f#section", "{base}/feeds/f"),
])
def test_article_urls_are_canonicalised(link: str, canonical: str, server: Any, make_cli: Any,
                                        clock: Any) -> None:
    """Resolved against the feed URL, scheme and host lower-cased, default port and fragment
    dropped, tracking parameters (`utm_*`, `fbclid`, `gclid`, `mc_cid`, `mc_eid`) removed."""
    url = server.add("/feeds/f.xml", rss_doc("Src", [rss_item("A story", link=link, guid="1")]))
    cli = make_cli([{"url": url}], STORY)
    cli("poll", "--json")
    [cand] = cli("candidates", "--json")
    assert cand["url"] == canonical.format(base=server.url(""))


def test_atom_links_resolve_against_xml_base(server: Any, make_cli: Any, clock: Any) -> None:
    atom = ('<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" '
            'xml:base="https://Base.Example.org/blog/"><title>B</title><id>urn:b</id>'
            '<updated>2026-11-25T12:00:00Z</updated><entry xml:base="posts/">'
            '<title>A story</title><id>urn:1</id><link href="one?utm_term=t"/>'
            '<updated>2026-11-25T12:00:00Z</updated></entry></feed>')
    url = server.add("/a.xml", atom, content_type="application/atom+xml")
    cli = make_cli([{"url": url}], STORY)
    cli("poll", "--json")
    assert [c["url"] for c in cli("candidates", "--json")] == [
        "https://base.example.org/blog/posts/one"]


def test_one_candidate_per_canonical_url_across_sources(server: Any, make_cli: Any,
                                                        clock: Any) -> None:
    """Entries from different sources with the same canonical URL are one candidate, which lists
    every source that carried it; `new_candidates` counts canonical URLs that became candidates in
    this poll: a second source joining an existing candidate is not new."""
    a = server.add("/a.xml", rss_doc("Feed A", [rss_item(
        "Big story", link="https://News.example.org/big?utm_source=a#top", guid="a")]))
    b = server.add("/b.xml", rss_doc("Feed B", [rss_item(
        "Big story, as B tells it", link="https://news.example.org:443/big?fbclid=b", guid="b")]))
    c = server.add("/c.xml", rss_doc("Feed C", [
        rss_item("Big story again", link="https://news.example.org/big?mc_cid=1", guid="c1"),
        rss_item("Big story, twice in one feed", link="https://news.example.org/big?gclid=2",
                 guid="c2")]))
    cli = make_cli([{"url": a, "name": "Alpha"}, {"url": b}, {"url": c, "name": "Gamma"}], STORY)
    assert cli("poll", "--source", "Alpha", "--json")["new_candidates"] == 1
    joined = cli("poll", "--json")
    assert joined["new_entries"] == 3 and joined["new_candidates"] == 0
    [cand] = cli("candidates", "--status", "all", "--json")
    assert cand["url"] == "https://news.example.org/big"
    assert cand["source"] == "Alpha"
    assert cand["sources"][0] == "Alpha"
    assert sorted(cand["sources"]) == ["Alpha", "Feed B", "Gamma"]


def test_same_url_twice_in_one_poll_is_one_new_candidate(server: Any, make_cli: Any,
                                                         clock: Any) -> None:
    a = server.add("/a.xml", rss_doc("A", [rss_item(
        "Big story", link="https://news.example.org/big?utm_source=a", guid="a")]))
    b = server.add("/b.xml", rss_doc("B", [rss_item(
        "Big story", link="https://news.example.org/big?utm_source=b", guid="b")]))
    cli = make_cli([{"url": a}, {"url": b}], STORY)
    summary = cli("poll", "--json")
    assert summary["new_entries"] == 2 and summary["new_candidates"] == 1
    assert len(cli("candidates", "--json")) == 1


def test_every_entry_is_kept_and_rematch_never_drops_reviewed(server: Any, make_cli: Any,
                                                              clock: Any) -> None:
    """Every entry is kept, matched or not; `rematch` applies the current topics to every stored
    entry; featured or rejected candidates are never dropped."""
    items = [rss_item(t, link=f"https://n.example.org/{i}", guid=str(i)) for i, t in enumerate(
        ["Story one", "Story two", "Story three", "Phone review", "Battery life"])]
    url = server.add("/f.xml", rss_doc("Src", items))
    cli = make_cli([{"url": url}], STORY)
    cli("poll", "--json")
    ids = {c["title"]: c["id"] for c in cli("candidates", "--json")}
    assert set(ids) == {"Story one", "Story two", "Story three"}
    cli("feature", str(ids["Story one"]), "--note", "kept")
    cli("reject", str(ids["Story two"]))
    cli.config.write_text(cli.config.read_text().replace("- story", "- phone"))
    result = cli("rematch", "--json")
    assert set(result) == REMATCH_KEYS
    assert result == {"entries": 5, "new_candidates": 1, "dropped": 1}
    every = {c["title"]: c["status"] for c in cli("candidates", "--status", "all", "--json")}
    assert every == {"Story one": "featured", "Story two": "rejected", "Phone review": "new"}
    again = cli("rematch", "--json")
    assert again == {"entries": 5, "new_candidates": 0, "dropped": 0}


# ------------------------------------------------------------------ topics through a real poll


MATCH_TOPICS = [
    {"name": "trafficking", "any": ["trafficking"]},
    {"name": "moderation", "any": ["content moderation"]},
    {"name": "subpoenas", "any": ["subpoena*"]},
    {"name": "kids-apps", "any": ["privacy"], "all": ["children", "app"]},
    {"name": "mergers", "any": ["merger"], "none": ["sponsored"]},
    {"name": "s230", "any": ["Section 230"]},
]

MATCH_CASES: list[tuple[str, str, str, set[str]]] = [
    # title, description, content:encoded, topics expected
    ("Sex-trafficking case opens", "", "", {"trafficking"}),
    ("TRAFFICKING ring broken", "", "", {"trafficking"}),
    ("TraffickingX tour dates", "", "", set()),
    ("Untrafficking is not a word", "", "", set()),
    ("Content Moderation report", "", "", {"moderation"}),
    ("Content and moderation", "", "", set()),
    ("Platform rules", "<p>A <em>content</em> moderation team</p>", "", {"moderation"}),
    ("Company subpoenaed", "", "", {"subpoenas"}),
    ("Subpoenas issued", "", "", {"subpoenas"}),
    ("A subpoena arrives", "", "", {"subpoenas"}),
    ("Asubpoena is not one", "", "", set()),
    ("Children app privacy rules", "", "", {"kids-apps"}),
    ("Children privacy rules", "", "", set()),
    ("Merger approved", "", "", {"mergers"}),
    ("Sponsored: merger tips", "", "", set()),
    ("Court case", "<p>the <b>Section</b> 230 question</p>", "", {"s230"}),
    ("Nbsp case", "<p>Section&nbsp;230 again</p>", "", {"s230"}),
    ("Attribute only", '<p><a href="https://x.example/trafficking">a link</a></p>', "", set()),
    ("Content only", "<p>nothing here</p>", "<p>about trafficking</p>", {"trafficking"}),
]


def test_topic_terms_match_on_word_boundaries_phrases_prefixes_all_and_none(
        server: Any, make_cli: Any, clock: Any) -> None:
    """Topic terms match case-insensitively against title, summary and content as plain text (HTML
    stripped), on word boundaries; a quoted multi-word term is a phrase; a trailing `*` is a
    prefix; `all` must all match; `none` may not match."""
    items = []
    for i, (title, desc, content, _) in enumerate(MATCH_CASES):
        extra = f"<content:encoded><![CDATA[{content}]]></content:encoded>" if content else ""
        items.append(rss_item(title, link=f"https://n.example.org/{i}", guid=str(i),
                              desc=f"<![CDATA[{desc}]]>" if desc else None, extra=extra))
    ns = ' xmlns:content="http://purl.org/rss/1.0/modules/content/"'
    url = server.add("/f.xml", rss_doc("Src", items, ns=ns))
    cli = make_cli([{"url": url}], MATCH_TOPICS)
    summary = cli("poll", "--json")
    assert summary["new_entries"] == len(MATCH_CASES)
    got = {c["title"]: set(c["topics"]) for c in cli("candidates", "--limit", "100", "--json")}
    expected = {t: topics for t, _, _, topics in MATCH_CASES if topics}
    assert got == expected
    assert summary["new_candidates"] == len(expected)


# ------------------------------------------------------------------ the published feeds


@pytest.fixture
def published(server: Any, make_cli: Any, clock: Any) -> dict[str, Any]:
    """Three candidates from one source, two featured a minute apart, then published."""
    items = [
        rss_item("Story &amp; more: AT&amp;T &lt;b&gt;settles&lt;/b&gt;",
                 link="https://News.example.org/a?utm_source=rss&amp;id=1", guid="a",
                 pub="Mon, 23 Nov 2026 10:00:00 GMT"),
        rss_item("Second story about a merger", link="https://news.example.org/b", guid="b",
                 pub="Tue, 24 Nov 2026 10:00:00 GMT"),
        rss_item("Third story", link="https://news.example.org/c", guid="c",
                 pub="Wed, 25 Nov 2026 10:00:00 GMT"),
    ]
    url = server.add("/src.xml", rss_doc("Source Feed Title", items,
                                         link="https://news.example.org/"))
    cli = make_cli([{"url": url, "name": "The Source"}],
                   [{"name": "stories", "any": ["story"]}, {"name": "antitrust",
                                                             "any": ["merger"]}],
                   output={"rss_url": "https://watch.example.org/feed.xml",
                           "atom_url": "https://watch.example.org/atom.xml"})
    cli("poll", "--json")
    cands = cli("candidates", "--json")
    first = by_title(cands, "Story & more: AT&T settles")
    second = by_title(cands, "Second story about a merger")
    cli("feature", str(first["id"]), "--note", "Why it matters: **AT&T** & friends.")
    clock.advance(minutes=1)
    cli("feature", str(second["id"]), "--note", "A *merger* note.")
    out = cli("publish", "--json")
    return {"cli": cli, "out": out, "url": url, "first": first, "second": second, "clock": clock,
            "rss": Path(out["rss"]), "atom": Path(out["atom"])}


def test_publish_json_and_files(published: dict[str, Any]) -> None:
    """`publish --json`: `{"rss": PATH, "atom": PATH, "items": N, "changed": BOOL}`; files are
    valid RSS 2.0 and Atom 1.0."""
    out = published["out"]
    assert set(out) == PUBLISH_KEYS
    assert out["items"] == 2 and out["changed"] is True
    assert isinstance(out["rss"], str) and isinstance(out["atom"], str)
    rss = ET.fromstring(published["rss"].read_bytes())
    assert rss.tag == "rss" and rss.get("version") == "2.0"
    channel = rss.find("channel")
    assert channel is not None
    assert channel.findtext("title") == "Test Watch"
    assert channel.findtext("link") == "https://watch.example.org/"
    assert channel.findtext("description") == "Curated test feed"
    atom = ET.fromstring(published["atom"].read_bytes())
    assert atom.tag == f"{ATOM}feed"
    assert atom.findtext(f"{ATOM}title") == "Test Watch"
    assert atom.findtext(f"{ATOM}id") and atom.findtext(f"{ATOM}updated")
    for entry in atom.findall(f"{ATOM}entry"):
        for tag in ("id", "title", "updated"):
            assert entry.findtext(f"{ATOM}{tag}"), tag
    assert feedparser.parse(published["rss"].read_bytes()).bozo == 0
    assert feedparser.parse(published["atom"].read_bytes()).bozo == 0
    # Replaced atomically: no temporary files are left beside them (nor in the site beside them).
    folder = published["rss"].parent
    assert {"atom.xml", "feed.xml", "feed.json", "index.html"} <= {p.name for p in folder.iterdir()}
    assert not [p for p in folder.rglob("*") if p.name.startswith(".") or p.suffix == ".tmp"]


def test_items_link_title_body_order_and_source(published: dict[str, Any]) -> None:
    """One item per featured candidate, newest `featured_at` first; link: the canonical URL;
    title: plain text escaped once; body: the note as HTML, then an attribution line naming the
    source with a link to the original; RSS `<source url="SOURCE_FEED_URL">`; Atom `<source>`
    with the source feed's title and link; topics become categories."""
    first, second = published["first"], published["second"]
    raw_rss, raw_atom = published["rss"].read_bytes(), published["atom"].read_bytes()
    for raw in (raw_rss, raw_atom):
        titles = re.findall(rb"<title>(.*?)</title>", raw)
        assert b"Story &amp; more: AT&amp;T settles" in titles
        assert not [t for t in titles if b"&amp;amp;" in t], titles
    items = rss_items(raw_rss)
    assert [i.findtext("link") for i in items] == [second["url"], first["url"]]
    assert first["url"] == "https://news.example.org/a?id=1"
    assert items[1].findtext("title") == "Story & more: AT&T settles"
    body = items[1].findtext("description") or ""
    assert "<strong>AT&amp;T</strong>" in body and "Why it matters" in body
    assert body.index("Why it matters") < body.index("The Source")
    assert 'href="https://news.example.org/a?id=1"' in body
    for item, topics in ((items[0], {"stories", "antitrust"}), (items[1], {"stories"})):
        source = item.find("source")
        assert source is not None and source.get("url") == published["url"]
        assert source.text == "The Source"
        assert {c.text for c in item.findall("category")} == topics

    entries = atom_entries(raw_atom)
    links = [[x.get("href") for x in e.findall(f"{ATOM}link")
              if x.get("rel") in (None, "alternate")] for e in entries]
    assert links == [[second["url"]], [first["url"]]]
    assert entries[1].findtext(f"{ATOM}title") == "Story & more: AT&T settles"
    for entry, topics in ((entries[0], {"stories", "antitrust"}), (entries[1], {"stories"})):
        source = entry.find(f"{ATOM}source")
        assert source is not None
        assert source.findtext(f"{ATOM}title") == "The Source"
        hrefs = {x.get("href") for x in source.findall(f"{ATOM}link")}
        assert hrefs & {published["url"], "https://news.example.org/"}, hrefs
        assert {c.get("term") for c in entry.findall(f"{ATOM}category")} == topics
        content = entry.find(f"{ATOM}content")
        assert content is not None and "The Source" in (content.text or "")


def test_a_title_with_an_ampersand_is_never_double_escaped(server: Any, make_cli: Any,
                                                           clock: Any) -> None:
    """"the XML writer escapes it once: no `&amp;amp;`" — read literally, for the whole file: the
    title also appears in the body's attribution line."""
    url = server.add("/f.xml", rss_doc("Tom &amp; Jerry", [rss_item(
        "Tom &amp; Jerry story", link="https://n.example.org/tj?a=1&amp;b=2", guid="tj")]))
    cli = make_cli([{"url": url}], STORY)
    cli("poll", "--json")
    [cand] = cli("candidates", "--json")
    assert cand["title"] == "Tom & Jerry story"
    cli("feature", str(cand["id"]), "--note", "A plain note.")
    out = cli("publish", "--json")
    for path in (out["rss"], out["atom"]):
        raw = Path(path).read_bytes()
        assert b"Tom &amp; Jerry story" in raw
        assert b"&amp;amp;" not in raw, re.findall(rb".{40}&amp;amp;.{20}", raw)


def test_self_links(published: dict[str, Any]) -> None:
    """Both files carry their self link."""
    channel = ET.fromstring(published["rss"].read_bytes()).find("channel")
    assert channel is not None
    selfs = [x.get("href") for x in channel.findall(f"{ATOM}link") if x.get("rel") == "self"]
    assert selfs == ["https://watch.example.org/feed.xml"]
    atom = ET.fromstring(published["atom"].read_bytes())
    selfs = [x.get("href") for x in atom.findall(f"{ATOM}link") if x.get("rel") == "self"]
    assert selfs == ["https://watch.example.org/atom.xml"]


def test_dates_guid_stability_and_note_edits(published: dict[str, Any]) -> None:
    """guid/id stable for the life of the feature (editing the note does not change it);
    pubDate/updated: when it was featured (updated: when the note last changed)."""
    cli, clock, first = published["cli"], published["clock"], published["first"]
    items = rss_items(published["rss"].read_bytes())
    entries = atom_entries(published["atom"].read_bytes())
    featured = [START + timedelta(minutes=1), START]
    assert [parsedate_to_datetime(i.findtext("pubDate") or "") for i in items] == featured
    assert [datetime.fromisoformat(e.findtext(f"{ATOM}updated") or "") for e in entries] == featured
    guids = [i.findtext("guid") for i in items]
    ids = [e.findtext(f"{ATOM}id") for e in entries]
    assert all(guids) and len(set(guids)) == 2 and all(ids) and len(set(ids)) == 2

    clock.advance(hours=2)
    cli("feature", str(first["id"]), "--note", "Edited commentary.")
    out = cli("publish", "--json")
    assert out["changed"] is True
    items = rss_items(published["rss"].read_bytes())
    entries = atom_entries(published["atom"].read_bytes())
    assert [i.findtext("guid") for i in items] == guids
    assert [e.findtext(f"{ATOM}id") for e in entries] == ids
    assert "Edited commentary." in (items[1].findtext("description") or "")
    assert parsedate_to_datetime(items[1].findtext("pubDate") or "") == START
    assert datetime.fromisoformat(entries[1].findtext(f"{ATOM}updated") or "") == (
        START + timedelta(minutes=121))
    assert [i.findtext("link") for i in items] == [published["second"]["url"], first["url"]]


def test_a_publish_with_nothing_changed_is_byte_identical(published: dict[str, Any]) -> None:
    """A publish with nothing changed leaves the files byte-identical; `changed` is false."""
    cli, clock = published["cli"], published["clock"]
    rss, atom = published["rss"].read_bytes(), published["atom"].read_bytes()
    stats = (published["rss"].stat().st_mtime_ns, published["atom"].stat().st_mtime_ns)
    clock.advance(days=3)
    cli("poll", "--all", "--json")
    again = cli("publish", "--json")
    assert again["changed"] is False and again["items"] == 2
    assert published["rss"].read_bytes() == rss and published["atom"].read_bytes() == atom
    assert (published["rss"].stat().st_mtime_ns, published["atom"].stat().st_mtime_ns) == stats
    cli("reject", str(published["second"]["id"]))
    changed = cli("publish", "--json")
    assert changed["changed"] is True and changed["items"] == 1


def test_publishing_nothing_featured_gives_valid_empty_feeds(server: Any, make_cli: Any,
                                                             clock: Any) -> None:
    cli = make_cli([{"url": server.url("/f.xml")}], STORY)
    out = cli("publish", "--json")
    assert out["items"] == 0 and out["changed"] is True
    assert rss_items(Path(out["rss"]).read_bytes()) == []
    assert atom_entries(Path(out["atom"]).read_bytes()) == []
    for path in (out["rss"], out["atom"]):
        assert feedparser.parse(Path(path).read_bytes()).bozo == 0
    assert cli("publish", "--json")["changed"] is False


def test_max_items(server: Any, make_cli: Any, clock: Any) -> None:
    """At most `output.max_items`, newest `featured_at` first."""
    url = server.add("/f.xml", rss_doc("Src", stories(4)))
    cli = make_cli([{"url": url}], STORY, output={"max_items": 2})
    cli("poll", "--json")
    order = []
    for c in cli("candidates", "--json"):
        cli("feature", str(c["id"]))
        order.append(c["url"])
        clock.advance(minutes=1)
    out = cli("publish", "--json")
    assert out["items"] == 2
    assert [i.findtext("link") for i in rss_items(Path(out["rss"]).read_bytes())] == [
        order[3], order[2]]


def test_nothing_unsafe_reaches_the_output(server: Any, make_cli: Any, clock: Any) -> None:
    """No markup from a source or a note reaches the output unsanitised: no script, no event-
    handler attribute, no `javascript:` URL, no iframe; markup in a title is reduced to text."""
    hostile_title = ("&lt;script&gt;alert(1)&lt;/script&gt;Evil story "
                     "&lt;img src=x onerror=alert(2)&gt;")
    items = [rss_item(hostile_title, link="https://n.example.org/evil", guid="e",
                      desc="<![CDATA[<p onclick='x()'>story<script>alert(3)</script>"
                           "<iframe src='https://evil.example/'></iframe></p>]]>"),
             rss_item("Story two", link="https://n.example.org/two", guid="t")]
    url = server.add("/f.xml", rss_doc("&lt;b onmouseover=alert(4)&gt;Evil&lt;/b&gt; Source",
                                       items))
    cli = make_cli([{"url": url}], STORY)
    cli("poll", "--json")
    cands = cli("candidates", "--json")
    evil = [c for c in cands if "Evil story" in c["title"]][0]
    assert "<" not in evil["title"], evil["title"]
    notes = {
        evil["id"]: ("<script>alert(5)</script><img src=x onerror=alert(6)>"
                     "<iframe src='https://evil.example/'></iframe>"
                     "[a](javascript:alert(7)) <a href=\"&#106;avascript:alert(8)\">b</a> "
                     "<a href='java\tscript:alert(9)'>c</a> [d](&#x6A;avascript:alert(10))"
                     " <svg onload=alert(11)></svg> <a href=\" javascript:alert(12)\">e</a>"),
        by_title(cands, "Story two")["id"]: ("<div style=x onmouseover=alert(13)>hi</div>"
                                             "<object data='javascript:alert(14)'></object>"),
    }
    for cid, note in notes.items():
        cli("feature", str(cid), "--note", note)
    out = cli("publish", "--json")
    raw_rss, raw_atom = Path(out["rss"]).read_bytes(), Path(out["atom"]).read_bytes()
    bodies = []
    for item in rss_items(raw_rss):
        bodies.append(item.findtext("description") or "")
        bodies.append(item.findtext(f"{CONTENT}encoded") or "")
        assert "<" not in (item.findtext("title") or "")
        assert "<" not in (item.findtext("source") or ""), item.findtext("source")
    for entry in atom_entries(raw_atom):
        for tag in ("content", "summary"):
            bodies.append(entry.findtext(f"{ATOM}{tag}") or "")
        assert "<" not in (entry.findtext(f"{ATOM}title") or "")
    assert len([b for b in bodies if b]) >= 4
    for body in bodies:
        assert unsafe_markup(body) == [], body


def test_control_characters_never_reach_the_output(server: Any, make_cli: Any,
                                                   clock: Any) -> None:
    """Control characters are stripped on the way in (one in a title would make the output
    invalid XML)."""
    body = rss_doc("Src\x02", [rss_item("Story\x01 with\x0b control\x1f chars",
                                        link="https://n.example.org/c", guid="c",
                                        desc="bad\x08 summary")]).encode()
    url = server.add("/f.xml", body)
    cli = make_cli([{"url": url}], STORY)
    assert cli("poll", "--json")["fetched"] == 1
    [cand] = cli("candidates", "--json")
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", cand["title"]), cand["title"]
    cli("feature", str(cand["id"]), "--note", "note\x07 with a bell")
    out = cli("publish", "--json")
    for path in (out["rss"], out["atom"]):
        ET.fromstring(Path(path).read_bytes())  # well-formed XML


# ------------------------------------------------------------------ fetching


def test_conditional_get_sends_validators_back(server: Any, make_cli: Any, clock: Any) -> None:
    """ETag and Last-Modified are stored and sent back; a 304 is `not_modified`."""
    url = server.add("/f.xml", rss_doc("Src", stories(2)))
    cli = make_cli([{"url": url}], STORY)
    cli("poll", "--json")
    clock.advance(hours=1)
    assert cli("poll", "--json")["not_modified"] == 1
    first, second = server.hits("/f.xml")
    assert "if-none-match" not in first
    assert first["user-agent"].startswith("curator/")  # the default names the project
    assert second["if-none-match"].startswith('"')
    assert second["if-modified-since"] == "Tue, 14 Nov 2023 22:13:20 GMT"
    [row] = cli("sources", "--json")
    assert row["status"] == 304 and row["failures"] == 0  # the last HTTP status
    assert row["last_ok"] == row["last_polled"] == "2026-11-26T13:00:00Z"


@pytest.mark.parametrize(("status", "moves"), [(301, True), (308, True), (302, False),
                                               (307, False)])
def test_permanent_redirects_update_the_url_temporary_ones_do_not(
        status: int, moves: bool, server: Any, make_cli: Any, clock: Any) -> None:
    """301 and 308 update the stored source URL (feeds.yaml stays as written; `curator sources`
    shows the URL in use); 302/307 do not."""
    new = server.add("/new.xml", rss_doc("Src", stories(1)))
    old = server.add("/old.xml", b"", status=status, validators=False, headers={"Location": new})
    cli = make_cli([{"url": old, "name": "Moving"}], STORY)
    config_text = cli.config.read_text()
    assert cli("poll", "--json")["fetched"] == 1
    [row] = cli("sources", "--json")
    assert row["url"] == (new if moves else old)
    assert row["name"] == "Moving"
    assert cli.config.read_text() == config_text
    clock.advance(hours=1)
    cli("poll", "--json")
    assert len(server.hits("/old.xml")) == (1 if moves else 2)
    assert len(server.hits("/new.xml")) == 2
    for name in ("Moving", old, new) if moves else ("Moving", old):  # URL_OR_NAME
        assert cli("poll", "--source", name, "--json")["sources"] == 1, name
        cli("enable", name)


def test_410_disables_until_enable_and_all_never_polls_it(server: Any, make_cli: Any,
                                                          clock: Any) -> None:
    """410 disables the source, with the reason shown by `curator sources`; `--all` never polls a
    disabled source; `enable URL_OR_NAME` clears it."""
    url = server.add("/gone.xml", b"", status=410, validators=False)
    cli = make_cli([{"url": url, "name": "Gone"}], STORY)
    assert cli("poll", "--json")["failed"] == 1
    [row] = cli("sources", "--json")
    assert row["status"] == 410 and isinstance(row["disabled"], str) and row["disabled"]
    assert row["failures"] == 1
    clock.advance(days=2)
    assert cli("poll", "--all", "--json")["skipped"] == 1
    assert cli("poll", "--source", "Gone", "--json")["skipped"] == 1
    assert len(server.hits("/gone.xml")) == 1
    server.add("/gone.xml", rss_doc("Src", stories(1)))
    cli("enable", "Gone")
    [row] = cli("sources", "--json")
    assert row["disabled"] is None and row["failures"] == 0
    assert iso(row["next_due"]) <= clock()
    assert cli("poll", "--json")["fetched"] == 1  # due at once, without --all


@pytest.mark.parametrize(("status", "header"), [
    (429, "120"), (503, "120"),
    (503, format_datetime(START + timedelta(seconds=120), usegmt=True)),
])
def test_retry_after_is_honoured_even_with_all(status: int, header: str, server: Any,
                                               make_cli: Any, clock: Any) -> None:
    """429 and 503 honour Retry-After; `--all` never ignores a server's Retry-After."""
    url = server.add("/busy.xml", b"", status=status, validators=False,
                     headers={"Retry-After": header})
    other = server.add("/ok.xml", rss_doc("Ok", stories(1)))
    cli = make_cli([{"url": url, "name": "Busy"}, {"url": other}], STORY)
    first = cli("poll", "--json")
    assert first["failed"] == 1 and first["fetched"] == 1
    busy = {r["name"]: r for r in cli("sources", "--json")}["Busy"]
    assert busy["status"] == status and busy["error"]
    assert iso(busy["next_due"]) >= START + timedelta(seconds=120)
    clock.advance(seconds=60)
    assert cli("poll", "--all", "--json")["skipped"] == 1
    assert cli("poll", "--source", "Busy", "--json")["skipped"] == 1
    assert len(server.hits("/busy.xml")) == 1
    server.add("/busy.xml", rss_doc("Busy", stories(1, "https://busy.example.org/")))
    clock.advance(seconds=61)
    assert cli("poll", "--all", "--json")["fetched"] == 1
    assert len(server.hits("/busy.xml")) == 2


def test_failures_back_off_exponentially_capped_at_a_day(server: Any, make_cli: Any,
                                                         clock: Any) -> None:
    """Other failures back off exponentially, capped at one day; `failures` counts such polls in
    a row, reset by a success; `--all` ignores back-off."""
    url = server.add("/broken.xml", b"oops", status=500, validators=False)
    cli = make_cli([{"url": url}], STORY, poll={"interval": "1h"})
    delays = []
    for n in range(1, 9):
        cli("poll", "--all", "--json")
        [row] = cli("sources", "--json")
        assert row["failures"] == n and row["status"] == 500 and row["error"]
        delays.append((iso(row["next_due"]) - iso(row["last_polled"])).total_seconds())
        clock.advance(minutes=1)
    assert delays[0] >= 3600
    assert all(b > a for a, b in zip(delays[:5], delays[1:6], strict=True)), delays
    assert max(delays) <= 86400 and delays[-1] >= 86400 * 0.75, delays
    assert cli("poll", "--json")["skipped"] == 1  # still backing off
    server.add("/broken.xml", rss_doc("Src", stories(1)))
    assert cli("poll", "--all", "--json")["fetched"] == 1
    [row] = cli("sources", "--json")
    assert row["failures"] == 0 and row["error"] is None and row["status"] == 200
    assert row["last_ok"] == row["last_polled"]


def test_enable_clears_back_off(server: Any, make_cli: Any, clock: Any) -> None:
    """`enable URL_OR_NAME`: clear a disabled source and its back-off."""
    url = server.add("/broken.xml", b"oops", status=503, validators=False)
    cli = make_cli([{"url": url}], STORY, poll={"interval": "1h"})
    for _ in range(4):
        cli("poll", "--all", "--json")
    assert cli("sources", "--json")[0]["failures"] == 4
    clock.advance(minutes=1)
    assert cli("poll", "--json")["skipped"] == 1
    cli("enable", url)
    [row] = cli("sources", "--json")
    assert row["failures"] == 0 and row["disabled"] is None and iso(row["next_due"]) <= clock()
    server.add("/broken.xml", rss_doc("Src", stories(1)))
    assert cli("poll", "--json")["fetched"] == 1


def test_all_ignores_the_interval_and_the_feeds_hints(server: Any, make_cli: Any,
                                                      clock: Any) -> None:
    """`--all` ignores the interval, the feed's own hints and back-off."""
    body = rss_doc("Src", stories(1)).replace("<description>a test source</description>",
                                              "<description>d</description><ttl>1440</ttl>")
    url = server.add("/f.xml", body, headers={"Cache-Control": "max-age=86400"})
    cli = make_cli([{"url": url}], STORY, poll={"interval": "15m"})
    cli("poll", "--json")
    clock.advance(hours=1)
    assert cli("poll", "--json")["skipped"] == 1
    assert cli("poll", "--all", "--json")["not_modified"] == 1
    assert len(server.hits("/f.xml")) == 2


def test_sources_json_fields(server: Any, make_cli: Any, clock: Any) -> None:
    """`sources --json`: one row per source, exactly the fields of SPEC.md; `name` optional, else
    the feed's own title."""
    ok = server.add("/ok.xml", rss_doc("Own Title", stories(1)))
    bad = server.add("/bad.xml", b"no", status=500, validators=False)
    fresh = server.add("/fresh.xml", rss_doc("Fresh", stories(1)))
    cli = make_cli([{"url": ok}, {"url": bad, "name": "Bad One"}, {"url": fresh}], STORY)
    cli("poll", "--source", ok, "--source", bad, "--json")
    rows = cli("sources", "--json")
    assert [r["url"] for r in rows] == [ok, bad, fresh]
    for r in rows:
        assert set(r) == SOURCE_KEYS
        assert type(r["failures"]) is int
        assert r["status"] is None or type(r["status"]) is int
    good, failing, unpolled = rows
    assert good["name"] == "Own Title" and good["status"] == 200 and good["error"] is None
    assert ISO_Z.match(good["last_ok"]) and ISO_Z.match(good["next_due"])
    assert good["disabled"] is None and good["failures"] == 0
    assert failing["name"] == "Bad One" and failing["last_ok"] is None
    assert failing["failures"] == 1 and "500" in failing["error"]
    assert unpolled["status"] is None and unpolled["last_polled"] is None
    assert unpolled["last_ok"] is None and unpolled["failures"] == 0


def test_body_limits_count_decompressed_bytes(server: Any, make_cli: Any, clock: Any) -> None:
    """`max_bytes` limits a response body after decompression; a source that fails never stops
    the others."""
    big = rss_doc("Big", stories(300)).encode()
    assert len(big) > 20_000 and len(gzip.compress(big)) < 10_000
    small = rss_doc("Small", stories(1, "https://small.example.org/")).encode()
    bomb = server.add("/bomb.xml", gzip.compress(big), headers={"Content-Encoding": "gzip"})
    plain = server.add("/plain.xml", big)
    zipped = server.add("/zipped.xml", gzip.compress(small),
                        headers={"Content-Encoding": "gzip"})
    cli = make_cli([{"url": bomb}, {"url": plain}, {"url": zipped}], STORY,
                   poll={"max_bytes": "10KB"})
    summary = cli("poll", "--json")
    assert summary["failed"] == 2 and summary["fetched"] == 1 and summary["new_entries"] == 1
    rows = {r["url"]: r for r in cli("sources", "--json")}
    assert rows[bomb]["error"] and rows[plain]["error"] and rows[zipped]["error"] is None


def test_whole_request_timeout(server: Any, make_cli: Any, clock: Any) -> None:
    """`timeout` is a whole-request time limit per fetch; the slow source fails alone."""
    # The slow source would answer after a minute: a poll that ends well before then was cut off
    # by the 1 s limit (the margin is for a loaded machine, not a speed claim).
    slow = server.add("/slow.xml", rss_doc("Slow", stories(1)), delay=60.0)
    ok = server.add("/ok.xml", rss_doc("Ok", stories(1, "https://ok.example.org/")))
    cli = make_cli([{"url": slow}, {"url": ok}], STORY, poll={"timeout": "1s"})
    started = time.monotonic()
    summary = cli("poll", "--json")
    assert time.monotonic() - started < 30
    assert summary["failed"] == 1 and summary["fetched"] == 1
    rows = {r["url"]: r for r in cli("sources", "--json")}
    assert rows[slow]["error"] and rows[slow]["failures"] == 1


def test_a_response_that_is_not_a_feed_is_an_error_not_stored(server: Any, make_cli: Any,
                                                              clock: Any) -> None:
    page = server.add("/page.html", b"<!doctype html><html><head><title>Story story</title>"
                      b"</head><body><p>A story about trafficking.</p></body></html>",
                      content_type="text/html")
    junk = server.add("/junk.xml", b"\x89PNG\r\n\x1a\n binary story", content_type="image/png")
    cli = make_cli([{"url": page}, {"url": junk}], STORY)
    summary = cli("poll", "--json")
    assert summary["failed"] == 2 and summary["new_entries"] == 0
    assert all(r["error"] for r in cli("sources", "--json"))
    assert cli("rematch", "--json")["entries"] == 0


def test_a_redirect_to_a_local_file_is_never_followed(server: Any, make_cli: Any,
                                                      clock: Any) -> None:
    """feedparser is only ever given bytes, never a URL or a path: it would read local files."""
    feed = Path(__file__).parent / "data/feeds/rss20.xml"
    url = server.add("/moved.xml", b"", status=302, validators=False,
                     headers={"Location": feed.as_uri()})
    cli = make_cli([{"url": url}], [{"name": "any", "any": ["section 230", "phone"]}])
    summary = cli("poll", "--json")
    assert summary["failed"] == 1 and summary["new_entries"] == 0
    assert cli("sources", "--json")[0]["error"]


def test_no_dtd_entity_expansion(server: Any, make_cli: Any, clock: Any) -> None:
    """No external entities or DTD-based entity expansion."""
    secret = Path(__file__).with_name("conftest.py")
    body = ('<?xml version="1.0" encoding="utf-8"?>\n'
            '<!DOCTYPE rss [<!ENTITY word "story"><!ENTITY file SYSTEM "file://'
            f'{secret}">]>\n<rss version="2.0"><channel><title>Src</title>'
            "<link>https://src.example.org/</link><description>d</description>"
            '<item><title>Plain story</title><link>https://n.example.org/p</link></item>'
            "<item><title>Expanded &word;</title><link>https://n.example.org/e</link>"
            "<description>&file;</description></item></channel></rss>")
    url = server.add("/f.xml", body)
    cli = make_cli([{"url": url}], STORY)
    cli("poll", "--json")
    cands = cli("candidates", "--status", "all", "--json")
    assert "Expanded story" not in [c["title"] for c in cands]
    for c in cands:
        assert "FeedServer" not in json.dumps(cli("show", str(c["id"]), "--json"))


@pytest.mark.parametrize(("body", "ctype"), [
    ('<?xml version="1.0"?><rss version="2.0"><channel><title>S</title><link>https://s.example/'
     "</link><description>d</description><item><title>Débat story «ok»</title>"
     "<link>https://n.example.org/x</link></item></channel></rss>".encode("iso-8859-1"),
     "application/rss+xml; charset=iso-8859-1"),
    ('<?xml version="1.0" encoding="windows-1252"?><rss version="2.0"><channel><title>S</title>'
     "<link>https://s.example/</link><description>d</description><item>"
     "<title>Débat story «ok»</title><link>https://n.example.org/x</link></item>"
     "</channel></rss>".encode("cp1252"), "application/rss+xml"),
    (("\ufeff" + '<?xml version="1.0" encoding="utf-16"?><rss version="2.0"><channel><title>S'
     "</title><link>https://s.example/</link><description>d</description><item>"
     "<title>Débat story «ok»</title><link>https://n.example.org/x</link></item>"
     "</channel></rss>").encode("utf-16-le"), "application/xml"),
    (b"\xef\xbb\xbf" + '<?xml version="1.0"?><rss version="2.0"><channel><title>S</title>'
     "<link>https://s.example/</link><description>d</description><item>"
     "<title>Débat story «ok»</title><link>https://n.example.org/x</link></item>"
     "</channel></rss>".encode(), "text/xml"),
    ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>S</title>'
     "<link>https://s.example/</link><description>d</description><item>"
     "<title>Débat story «ok»</title><link>https://n.example.org/x</link></item>"
     "</channel></rss>".encode("iso-8859-1"), "application/rss+xml; charset=iso-8859-1"),
    (b"\xef\xbb\xbf" + '<?xml version="1.0" encoding="iso-8859-1"?><rss version="2.0"><channel>'
     "<title>S</title><link>https://s.example/</link><description>d</description><item>"
     "<title>Débat story «ok»</title><link>https://n.example.org/x</link></item>"
     "</channel></rss>".encode(), "application/xml"),
], ids=["http-charset", "xml-prolog", "utf16-bom", "utf8-bom", "http-charset-over-prolog",
        "bom-over-prolog"])
def test_encodings_prolog_http_charset_and_bom(body: bytes, ctype: str, server: Any,
                                               make_cli: Any, clock: Any) -> None:
    """The XML prolog, the HTTP charset and a BOM are honoured."""
    url = server.add("/f.xml", body, content_type=ctype)
    cli = make_cli([{"url": url}], STORY)
    assert cli("poll", "--json")["fetched"] == 1
    assert [c["title"] for c in cli("candidates", "--json")] == ["Débat story «ok»"]


def test_private_addresses_refused_when_configured(server: Any, make_cli: Any,
                                                   clock: Any) -> None:
    """With `poll.block_private_addresses: true` a loopback address is refused."""
    url = server.add("/f.xml", rss_doc("Src", stories(1)))
    cli = make_cli([{"url": url}], STORY, poll={"block_private_addresses": True})
    summary = cli("poll", "--json")
    assert summary["failed"] == 1 and summary["fetched"] == 0
    assert server.hits("/f.xml") == []
    assert cli("sources", "--json")[0]["error"]


# ------------------------------------------------------------------ curator run


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_run_polls_publishes_and_stops_cleanly(sig: signal.Signals, tmp_path: Path,
                                               server: Any) -> None:
    """`curator run`: polls each source when due, publishes …; stops cleanly on SIGINT/SIGTERM."""
    url = server.add("/f.xml", rss_doc("Src", stories(2)))
    config = write_config(tmp_path, [{"url": url}], STORY)
    proc = subprocess.Popen(curator_cmd() + ["--config", str(config), "run"],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            env=clean_env(PYTHONUNBUFFERED="1"))
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (
                (tmp_path / "public/feed.xml").exists() and (tmp_path / "public/atom.xml").exists()):
            time.sleep(0.05)
        assert server.hits("/f.xml")
        proc.send_signal(sig)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()
    for path in ("public/feed.xml", "public/atom.xml"):
        assert feedparser.parse((tmp_path / path).read_bytes()).bozo == 0
    sources = run(["--config", str(config), "sources", "--json"])
    assert json.loads(sources.stdout)[0]["status"] == 200
    assert run(["--config", str(config), "candidates", "--json"]).stdout.count('"id"') == 2


# ------------------------------------------------------------------ editors and the web desk


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def curator_web(config: Path) -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen(curator_cmd() + ["--config", str(config), "web", "--host",
                                             "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=clean_env())
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError as e:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(proc.stderr.read() if proc.stderr else "no server") from e
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Browser:
    """A cookie-keeping HTTP client that does not follow redirects."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar),
                                                  _NoRedirect())

    def request(self, method: str, path: str, data: dict[str, str] | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, Any, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(self.base + path, data=body, method=method,
                                     headers=headers or {})
        try:
            with self.opener.open(req, timeout=10) as resp:
                return resp.status, resp.headers, resp.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read().decode("utf-8", "replace")


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action") or "", "method": (a.get("method") or
                                                                           "get").lower(),
                               "fields": {}})
        elif tag in ("input", "textarea", "select") and self.forms and a.get("name"):
            self.forms[-1]["fields"][a["name"]] = a.get("value") or ""
        if tag in ("button", "input") and self.forms and a.get("formaction"):
            self.forms[-1].setdefault("formactions", []).append(a["formaction"])


def forms(html: str) -> list[dict[str, Any]]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def test_editor_add_list_remove_and_the_password_is_only_hashed(tmp_path: Path,
                                                               server: Any) -> None:
    """`curator editor add NAME [--password-stdin]` (password stored only as a slow hash);
    `curator editor list`; `curator editor remove NAME`."""
    cli = Cli(write_config(tmp_path, [{"url": server.url("/f.xml")}], STORY))
    cli("editor", "add", "maria", "--password-stdin", input=PASSWORD + "\n")
    cli("editor", "add", "maria", "--password-stdin", input=PASSWORD + "\n", code=2)
    assert [e["name"] for e in cli("editor", "list", "--json")] == ["maria"]
    assert "maria" in cli("editor", "list").stdout
    for path in (tmp_path / "db").iterdir():
        assert PASSWORD.encode() not in path.read_bytes(), path
    cli("editor", "remove", "maria")
    assert cli("editor", "list", "--json") == []
    cli("editor", "remove", "maria", code=2)


def test_web_desk_and_public_feeds(tmp_path: Path, server: Any) -> None:
    """`curator web`: only /feed.xml, /atom.xml, /login and static assets are open; /login has
    `username` and `password`; after login `/` lists the new candidates by title; a POST without
    a valid CSRF token is refused with 400 or 403 and changes nothing; the session cookie works
    over plain HTTP on 127.0.0.1; feeds served with their media types, ETag and Last-Modified,
    and 304 for a matching conditional GET."""
    url = server.add("/f.xml", rss_doc("Src", [
        rss_item("Alpha story headline", link="https://n.example.org/a", guid="a"),
        rss_item("Beta story headline", link="https://n.example.org/b", guid="b"),
        rss_item("Gamma story headline", link="https://n.example.org/c", guid="c")]))
    config = write_config(tmp_path, [{"url": url, "name": "Src"}], STORY)
    cli = Cli(config)  # in-process, on the same database as the desk (real clock)
    cli("poll")
    cands = {c["title"]: c["id"] for c in cli("candidates", "--json")}
    cli("feature", str(cands["Gamma story headline"]), "--note", "Read it.")
    cli("publish")
    cli("editor", "add", "maria", "--password-stdin", input=PASSWORD + "\n")

    def status_of(cid: int) -> str:
        return str(cli("show", str(cid), "--json")["status"])

    def state() -> Any:
        return (cli("candidates", "--status", "all", "--json"), cli("sources", "--json"),
                (tmp_path / "public/feed.xml").read_bytes(),
                [cli("show", str(i), "--json")["history"] for i in cands.values()])

    alpha, beta = cands["Alpha story headline"], cands["Beta story headline"]
    with curator_web(config) as web:
        anon = Browser(web)
        # The public feeds.
        for path, mime, root in (("/feed.xml", "application/rss+xml", "rss"),
                                 ("/atom.xml", "application/atom+xml", f"{ATOM}feed")):
            status, headers, body = anon.request("GET", path)
            assert status == 200, path
            assert headers.get_content_type() == mime
            assert ET.fromstring(body.encode()).tag == root
            assert body.encode() == (tmp_path / "public" / path.lstrip("/")).read_bytes()
            etag, modified = headers["ETag"], headers["Last-Modified"]
            assert etag and modified
            assert anon.request("GET", path, headers={"If-None-Match": etag})[0] == 304
            assert anon.request("GET", path, headers={"If-Modified-Since": modified})[0] == 304
        # The login form.
        status, _, page = anon.request("GET", "/login")
        assert status == 200
        [login_form] = [f for f in forms(page) if "password" in f["fields"]]
        assert login_form["method"] == "post"
        assert {"username", "password"} <= set(login_form["fields"])
        statics = re.findall(r'(?:href|src)="(/[^"]*\.(?:css|js|svg|png|ico)[^"]*)"', page)
        assert statics
        for path in statics:
            assert anon.request("GET", path)[0] == 200, path
        # Everything else is closed, and shows no candidate data.
        for method, path in (("GET", "/"), ("GET", f"/c/{alpha}"), ("GET", "/published"),
                             ("GET", "/sources"), ("GET", "/no/such/page"),
                             ("GET", "/?status=all"), ("POST", f"/c/{alpha}/reject"),
                             ("POST", "/publish")):
            status, headers, body = anon.request(method, path, data={} if method == "POST"
                                                 else None)
            assert status in (301, 302, 303, 307, 401, 403), (method, path, status)
            if status in (301, 302, 303, 307):
                assert "/login" in headers["Location"], (path, headers["Location"])
            assert "story headline" not in body, path
        # Login without a CSRF token is refused.
        fields = {**login_form["fields"], "username": "maria", "password": PASSWORD}
        no_token = {k: v for k, v in fields.items() if "csrf" not in k}
        assert anon.request("POST", login_form["action"] or "/login", data=no_token)[0] in (
            400, 403)
        assert anon.request("GET", "/")[0] in (301, 302, 303, 307, 401, 403)
        # Login with it works over plain HTTP, and the cookie is not Secure.
        status, headers, _ = anon.request("POST", login_form["action"] or "/login", data=fields)
        assert status in (302, 303), status
        cookies = headers.get_all("Set-Cookie") or []
        assert cookies and not [c for c in cookies if re.search(r";\s*secure\b", c, re.I)]
        status, _, queue = anon.request("GET", "/")
        assert status == 200
        # … and is marked Secure when the desk is served over HTTPS (behind a local TLS proxy).
        _, tls_headers, _ = Browser(web).request("GET", "/login",
                                                 headers={"X-Forwarded-Proto": "https"})
        tls_cookies = tls_headers.get_all("Set-Cookie") or []
        assert tls_cookies and all(re.search(r";\s*secure\b", c, re.I) for c in tls_cookies)
        assert "Alpha story headline" in queue and "Beta story headline" in queue
        assert "Gamma story headline" not in queue  # featured, not new
        # Every change is a POST carrying a CSRF token; without a valid one it is refused with
        # 400 or 403 and changes nothing.
        posts: dict[str, dict[str, str]] = {}
        for page_path in ("/", f"/c/{alpha}", "/published", "/sources"):
            status, _, page = anon.request("GET", page_path)
            assert status == 200, page_path
            for form in forms(page):
                if form["method"] != "post":
                    continue
                assert [k for k in form["fields"] if "csrf" in k], (page_path, form)
                for action in [form["action"] or page_path, *form.get("formactions", [])]:
                    posts.setdefault(action, form["fields"])
            for preview in re.findall(r'data-preview-url="([^"]+)"', page):  # the live preview
                posts.setdefault(preview, {"note": "*hi*"})
        reject = [a for a in posts if a.endswith(f"/{alpha}/reject")]
        assert reject and len(posts) >= 5, sorted(posts)
        snapshot = state()
        for action, fields in posts.items():
            tokenless = {k: v for k, v in fields.items() if "csrf" not in k}
            assert anon.request("POST", action, data=tokenless)[0] in (400, 403), action
            forged = {**tokenless, "csrf_token": "forged"}
            assert anon.request("POST", action, data=forged)[0] in (400, 403), action
        assert anon.request("GET", reject[0])[0] in (404, 405)  # a change is never a GET
        assert state() == snapshot
        assert anon.request("GET", "/")[0] == 200  # still logged in: logout was refused too
        # With the token it is done, and the editor is recorded.
        assert anon.request("POST", reject[0], data=posts[reject[0]])[0] in (200, 302, 303)
        assert status_of(alpha) == "rejected"
        history = cli("show", str(alpha), "--json")["history"]
        assert history[-1]["editor"] == "maria" and ISO_Z.match(history[-1]["at"])
        assert status_of(beta) == "new"
