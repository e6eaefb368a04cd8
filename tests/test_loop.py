"""The editor's whole loop through the real CLI: poll a real server, review, feature, publish."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import feedparser
import pytest

FEEDS = {
    "/rss20.xml": ("rss20.xml", "application/rss+xml; charset=utf-8"),
    "/rss091.xml": ("rss091.xml", "text/xml"),
    "/rss10.rdf": ("rss10.rdf", "application/rdf+xml"),
    "/atom.xml": ("atom.xml", "application/atom+xml"),
    "/noguid.xml": ("noguid.xml", "application/rss+xml"),
    "/latin1.xml": ("latin1.xml", "application/rss+xml"),
    "/hostile.xml": ("hostile.xml", "application/rss+xml"),
}


@pytest.fixture
def loop(server, make_cli, clock, backend):
    """The editor's loop on each backend: a SQLite file, and a PostgreSQL database."""
    sources = []
    for path, (name, ctype) in FEEDS.items():
        url = server.add(path, file=name, content_type=ctype)
        sources.append({"url": url} if path != "/rss20.xml" else {"url": url, "name": "Policy Desk"})
    return make_cli(sources, database=str(backend)), server


def by_title(cands, needle):
    found = [c for c in cands if needle in c["title"]]
    assert found, (needle, [c["title"] for c in cands])
    return found[0]


def test_every_feed_shape_is_polled_matched_and_deduplicated(loop):
    cli, server = loop
    summary = cli("poll", "--json")
    assert summary == {"sources": 7, "fetched": 7, "not_modified": 0, "failed": 0, "skipped": 0,
                       "new_entries": 11, "updated_entries": 0, "new_candidates": 8}
    cands = cli("candidates", "--json")
    assert {c["status"] for c in cands} == {"new"}
    assert set(cands[0]) == {"id", "title", "url", "source", "sources", "published", "topics",
                             "status", "note", "featured_at", "also", "score", "suggested"}
    # The same article from two feeds, with different tracking parameters, is one candidate.
    s230 = [c for c in cands if c["url"] == "https://policy.example.com/2026/11/section-230-design"]
    assert len(s230) == 1
    assert s230[0]["sources"] == ["Policy Desk", "Atom Watch"]
    assert s230[0]["source"] == "Policy Desk"
    assert s230[0]["title"] == "Court revisits Section 230 in design defect case"
    assert s230[0]["published"] == "2026-11-23T10:00:00Z"
    assert s230[0]["topics"] == ["platform-accountability"]
    # Fragments dropped; prefix terms match.
    sub = by_title(cands, "subpoenaed")
    assert sub["url"] == "https://policy.example.com/2026/11/subpoena-chat-logs"
    assert set(sub["topics"]) == {"child-safety", "surveillance"}
    # RSS 0.91 (no guid, no date), RSS 1.0, Atom with xml:base, ISO-8859-1.
    assert by_title(cands, "age verification")["published"] is None
    assert by_title(cands, "Geofence")["url"] == "https://rdf.example.org/a/geofence"
    mod = by_title(cands, "content moderation")
    assert mod["url"] == "https://atom.example.org/blog/posts/moderation-report"
    assert by_title(cands, "Débat sur la surveillance")["published"] == "2026-11-25T06:00:00Z"
    # The phone review matched nothing: kept as an entry, not a candidate.
    assert not [c for c in cands if "phone" in c["title"]]
    # Newest first.
    keys = [c["published"] or "" for c in cands if c["published"]]
    assert keys == sorted(keys, reverse=True)
    # Markup in a hostile title is reduced to text.
    hostile = by_title(cands, "Trafficking ring")
    assert hostile["title"] == "Trafficking ring used social platform"


def test_second_poll_is_answered_304_and_stores_nothing(loop, clock):
    cli, server = loop
    cli("poll", "--json")
    clock.advance(hours=2)
    again = cli("poll", "--json")
    assert again["fetched"] == 0 and again["not_modified"] == 7
    assert again["new_entries"] == again["updated_entries"] == again["new_candidates"] == 0
    for path in FEEDS:
        hits = server.hits(path)
        assert len(hits) == 2
        assert hits[1].get("if-none-match")
        assert "curator/" in hits[1]["user-agent"]
        assert "gzip" in hits[1]["accept-encoding"]


def test_not_due_sources_are_skipped_and_all_forces(loop, clock):
    cli, server = loop
    cli("poll", "--json")
    clock.advance(minutes=5)
    assert cli("poll", "--json")["skipped"] == 7
    forced = cli("poll", "--all", "--json")
    assert forced["skipped"] == 0 and forced["not_modified"] == 7


def test_changed_entry_is_updated_in_place(loop, clock):
    cli, server = loop
    cli("poll", "--json")
    body = server.routes["/rss20.xml"].body.replace(b"Investigators sought records",
                                                    b"Investigators subpoenaed records")
    server.routes["/rss20.xml"].body = body
    clock.advance(hours=3)
    result = cli("poll", "--json")
    assert result["updated_entries"] == 1 and result["new_entries"] == 0
    assert result["new_candidates"] == 0


def test_feature_publish_and_read_back(loop, clock, tmp_path):
    cli, server = loop
    cli("poll", "--json")
    cands = cli("candidates", "--json")
    s230 = by_title(cands, "Section 230")
    hostile = by_title(cands, "Trafficking ring")
    note = ("**Why it matters:** the court may narrow [230](https://law.example/230).\n\n"
            "<script>alert(1)</script><img src=x onerror=alert(2)> [bad](javascript:alert(3))")
    cli("feature", str(s230["id"]), "--note", note)
    clock.advance(minutes=1)
    cli("feature", str(hostile["id"]), "--note-file", "-", input="A ring *recruited* online.\n")
    featured = cli("candidates", "--status", "featured", "--json")
    assert [c["id"] for c in featured] == [hostile["id"], s230["id"]]
    assert featured[1]["featured_at"] == "2026-11-26T12:00:00Z"
    assert featured[1]["note"] == note

    out = cli("publish", "--json")
    assert out["items"] == 2 and out["changed"] is True
    rss_path, atom_path = Path(out["rss"]), Path(out["atom"])
    rss_bytes, atom_bytes = rss_path.read_bytes(), atom_path.read_bytes()
    for raw in (rss_bytes, atom_bytes):
        assert b"<script" not in raw.lower() and b"&amp;amp;" not in raw
        for e in feedparser.parse(raw, sanitize_html=False).entries:
            html = e.get("description") or e.content[0].value
            assert not re.search(r"<\s*(script|iframe|object|embed|style)", html, re.I), html
            assert not re.search(r"\son\w+\s*=", html, re.I), html
            assert not re.search(r"(href|src)\s*=\s*[\"']?\s*(javascript|data|vbscript):",
                                 html, re.I), html

    rss = feedparser.parse(rss_bytes)
    assert rss.bozo == 0, rss.get("bozo_exception")
    assert rss.version == "rss20"
    assert [e.link for e in rss.entries] == [hostile["url"], s230["url"]]
    first = rss.entries[1]
    assert first.title == "Court revisits Section 230 in design defect case"
    assert "Why it matters" in first.description and "Policy Desk" in first.description
    assert first.source.title == "Policy Desk"
    assert first.source.href == server.url("/rss20.xml")
    # Readers are shown the topic's title; its slug names the category's domain.
    assert {t.term for t in first.tags} == {"Platform accountability"}
    assert {t.scheme for t in first.tags} == {
        "https://watch.example.org/topics/platform-accountability/"}
    assert any(link.rel == "self" for link in rss.feed.links)

    atom = feedparser.parse(atom_bytes)
    assert atom.bozo == 0 and atom.version == "atom10"
    assert [e.link for e in atom.entries] == [hostile["url"], s230["url"]]
    assert atom.entries[1].source.title == "Policy Desk"

    # Publishing again with nothing changed leaves both files byte-identical.
    clock.advance(minutes=10)
    again = cli("publish", "--json")
    assert again["changed"] is False
    assert rss_path.read_bytes() == rss_bytes and atom_path.read_bytes() == atom_bytes

    # A file changed or removed behind curator's back is written again, even with no change.
    rss_path.write_bytes(b"<rss>tampered</rss>")
    atom_path.unlink()
    assert cli("publish", "--json")["changed"] is True
    assert rss_path.read_bytes() == rss_bytes and atom_path.read_bytes() == atom_bytes
    # A change in what an item shows (a corrected title at the source) is published.
    server.routes["/rss20.xml"].body = server.routes["/rss20.xml"].body.replace(
        b"Court revisits", b"Appeals court revisits")
    clock.advance(hours=3)
    assert cli("poll", "--json")["updated_entries"] == 1
    assert cli("publish", "--json")["changed"] is True
    assert b"Appeals court revisits" in rss_path.read_bytes()
    rss_bytes = rss_path.read_bytes()
    first = feedparser.parse(rss_bytes).entries[1]

    # Editing the note keeps the guid; rejecting takes the item out.
    guid = first.id
    cli("feature", str(s230["id"]), "--note", "Edited commentary.")
    assert cli("publish", "--json")["changed"] is True
    edited = feedparser.parse(rss_path.read_bytes())
    assert edited.entries[1].id == guid and "Edited commentary." in edited.entries[1].description
    cli("reject", str(hostile["id"]))
    cli("publish", "--json")
    assert [e.link for e in feedparser.parse(rss_path.read_bytes()).entries] == [s230["url"]]


def test_show_reset_and_review_log(loop, monkeypatch):
    cli, server = loop
    monkeypatch.setenv("CURATOR_EDITOR", "maria")
    cli("poll", "--json")
    cand = by_title(cli("candidates", "--json"), "Section 230")
    cli("feature", str(cand["id"]), "--note", "Draft")
    cli("reset", str(cand["id"]))
    shown = cli("show", str(cand["id"]), "--json")
    assert shown["status"] == "new" and shown["featured_at"] is None
    assert "federal appeals court" in shown["summary"]
    assert [e["source"] for e in shown["entries"]] == ["Policy Desk", "Atom Watch"]
    assert [(h["action"], h["editor"]) for h in shown["history"]] == [
        ("feature", "maria"), ("reset", "maria")]
    text = cli("show", str(cand["id"])).output
    assert "Policy Desk" in text and "reset" in text


def test_unknown_ids_and_bad_usage_exit_2(loop):
    cli, server = loop
    cli("poll", "--json")
    for cmd in ("show", "feature", "reject", "reset"):
        result = cli(cmd, "99999", code=2)
        assert "no candidate 99999" in result.stderr
    cli("feature", "1", "--note", "a", "--note-file", "-", input="b", code=2)
    cli("candidates", "--topic", "nope", code=2)
    cli("enable", "no-such-source", code=2)
    cli("poll", "--source", "no-such-source", code=2)


def test_rematch_applies_edited_topics_and_never_drops_reviewed(loop, tmp_path):
    cli, server = loop
    cli("poll", "--json")
    cands = cli("candidates", "--json")
    featured = by_title(cands, "Geofence")
    cli("feature", str(featured["id"]), "--note", "keep me")
    # Narrow the topics to one about phones: every other new candidate goes, the featured stays.
    import yaml

    doc = yaml.safe_load(cli.config.read_text())
    doc["topics"] = [{"name": "phones", "any": ["battery"]}]
    cli.config.write_text(yaml.safe_dump(doc))
    result = cli("rematch", "--json")
    assert result == {"entries": 11, "new_candidates": 1, "dropped": len(cands) - 1}
    assert [c["title"] for c in cli("candidates", "--json")] == [
        "New phone review: the battery is great"]
    assert [c["id"] for c in cli("candidates", "--status", "featured", "--json")] == [featured["id"]]


def test_failing_sources_are_recorded_and_do_not_stop_others(server, make_cli, clock):
    good = server.add("/good.xml", file="rss20.xml")
    broken = server.add("/broken.xml", b"oops", status=500, validators=False)
    html = server.add("/page.html", b"<html><head><title>x</title></head><body>hi</body></html>",
                      content_type="text/html", validators=False)
    refused = "http://127.0.0.1:9/feed.xml"
    cli = make_cli([{"url": good}, {"url": broken}, {"url": html}, {"url": refused}])
    summary = cli("poll", "--json")
    assert summary["fetched"] == 1 and summary["failed"] == 3
    rows = {r["url"]: r for r in cli("sources", "--json")}
    assert set(rows[good]) == {"url", "name", "status", "last_polled", "last_ok", "next_due",
                               "failures", "error", "disabled"}
    assert rows[good]["failures"] == 0 and rows[good]["error"] is None
    assert rows[good]["name"] == "Policy Desk"
    assert rows[broken]["status"] == 500 and rows[broken]["failures"] == 1
    assert "500" in rows[broken]["error"]
    assert "not a feed" in rows[html]["error"]
    assert rows[refused]["error"] and rows[refused]["status"] is None
    # Back-off: the next due time moves out with each failure, capped at a day.
    first_due = rows[broken]["next_due"]
    clock.advance(hours=2)
    cli("poll", "--all", "--json")
    second = {r["url"]: r for r in cli("sources", "--json")}[broken]
    assert second["failures"] == 2 and second["next_due"] > first_due
    # A success resets the count.
    server.routes["/broken.xml"].status = 200
    server.routes["/broken.xml"].body = server.routes["/good.xml"].body
    cli("poll", "--all", "--json")
    healed = {r["url"]: r for r in cli("sources", "--json")}[broken]
    assert healed["failures"] == 0 and healed["error"] is None and healed["last_ok"]


def test_config_errors_exit_2_naming_the_key(tmp_path):
    from click.testing import CliRunner

    from curator.cli import cli

    bad = tmp_path / "feeds.yaml"
    bad.write_text("output:\n  title: T\n  link: https://e.org/\n  description: d\n"
                   "sources:\n  - url: notaurl\ntopics: []\n")
    result = CliRunner().invoke(cli, ["--config", str(bad), "poll"])
    assert result.exit_code == 2
    assert "sources[0].url" in result.stderr and ":6" in result.stderr
    bad.write_text("output:\n  title: T\n  link: https://e.org/\n  description: d\n"
                   "  colour: red\nsources: []\n")
    result = CliRunner().invoke(cli, ["--config", str(bad), "candidates"])
    assert result.exit_code == 2 and "output.colour" in result.stderr
    assert not (tmp_path / "db").exists()  # nothing was half-applied


def test_run_polls_publishes_and_stops_cleanly_on_sigterm(server, tmp_path, backend):
    from conftest import write_config
    from test_durability import synthetic_feed

    url = server.add("/rss20.xml", file="rss20.xml")
    # Enough sources that the scheduler's poll parses in worker processes, beside its threads.
    others = [server.add(f"/s{n}.xml", synthetic_feed(n, 5)) for n in range(9)]
    config = write_config(tmp_path, [{"url": url}, *others], database=str(backend))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "curator", "--config", str(config), "run"],
                            stderr=subprocess.PIPE, text=True, env=env)
    lines = []
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            lines.append(line)
            if "published" in line:
                break
        assert any("poll" in x and "3 entries" in x for x in lines), lines
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    rest = proc.stderr.read()
    assert "stopped" in rest
    assert feedparser.parse((tmp_path / "public" / "feed.xml").read_bytes()).bozo == 0
    out = subprocess.run([sys.executable, "-m", "curator", "--config", str(config), "sources",
                          "--json"], capture_output=True, text=True, check=True)
    assert [s["status"] for s in json.loads(out.stdout)] == [200] * 10
    assert "Traceback" not in "".join(lines) + rest


# ------------------------------------------------------------------ `curator run` and feeds.yaml edits


def story_feed(name: str, *titles: str) -> bytes:
    """A small RSS feed whose items are the given titles."""
    items = "".join(f"<item><title>{t}</title><link>https://{name}.example.org/{i}</link>"
                    f"<guid>{name}-{i}</guid></item>" for i, t in enumerate(titles))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>{name}</title><link>https://{name}.example.org/</link>"
            f"<description>{name}</description>{items}</channel></rss>").encode()


class Running:
    """`curator run` in-process: its Curator, ticked by hand on the fake clock."""

    def __init__(self, tmp_path: Path, clock, sources, topics=None, **extra) -> None:
        from conftest import write_config

        from curator.config import load
        from curator.core import Curator

        self.tmp_path, self.clock = tmp_path, clock
        self.config = write_config(tmp_path, sources, topics, **extra)
        self.curator = Curator(load(self.config))

    def edit(self, sources, topics=None, **extra) -> None:
        """Rewrite feeds.yaml as an editor would, while it runs."""
        from conftest import write_config

        write_config(self.tmp_path, sources, topics, **extra)

    def tick(self, **advance: float) -> None:
        """Move the clock on (a poll interval is 30 minutes) and run one tick."""
        from curator.schedule import tick

        if advance:
            self.clock.advance(**advance)
        tick(self.curator)

    def candidates(self) -> dict[str, list[str]]:
        """Every candidate's title and topics."""
        return {c.title: list(c.topics) for c in self.curator.candidates(status="all",
                                                                           limit=None)}


@pytest.fixture
def running(tmp_path, clock, caplog):
    caplog.set_level(logging.INFO, logger="curator")
    made: list[Running] = []

    def start(sources, topics=None, **extra) -> Running:
        run = Running(tmp_path, clock, sources, topics, **extra)
        made.append(run)
        return run

    yield start
    for run in made:
        run.curator.close()


def logged(caplog, level: int, words: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == level and words in r.getMessage()]


def test_run_polls_a_source_added_to_feeds_yaml_on_its_next_tick(server, running, caplog):
    a = server.add("/a.xml", story_feed("a", "Antitrust suit filed"))
    b = server.add("/b.xml", story_feed("b", "Merger blocked"))
    run = running([{"url": a}])
    run.tick()
    assert len(server.hits("/a.xml")) == 1 and not server.hits("/b.xml")

    run.edit([{"url": a}, {"url": b, "name": "Bee"}])
    run.tick(seconds=30)
    assert len(server.hits("/b.xml")) == 1
    assert len(server.hits("/a.xml")) == 1  # not due yet: the edit does not re-poll the others
    assert logged(caplog, logging.INFO, "feeds.yaml changed: 1 source added") == [
        "feeds.yaml changed: 1 source added"]
    assert set(run.candidates()) == {"Antitrust suit filed", "Merger blocked"}
    assert [s.display_name for s in run.curator.sources()] == ["a", "Bee"]

    # A tick with feeds.yaml as it was changes and logs nothing.
    caplog.clear()
    run.tick(seconds=30)
    assert not logged(caplog, logging.INFO, "feeds.yaml")


def test_run_stops_polling_a_removed_source_and_keeps_its_entries(server, running, caplog):
    a = server.add("/a.xml", story_feed("a", "Antitrust suit filed"))
    b = server.add("/b.xml", story_feed("b", "Merger blocked"))
    run = running([{"url": a}, {"url": b}])
    run.tick()
    run.edit([{"url": a}])
    for _ in range(3):
        run.tick(hours=1)
    assert len(server.hits("/a.xml")) == 4
    assert len(server.hits("/b.xml")) == 1
    assert "Merger blocked" in run.candidates()
    assert [s.url for s in run.curator.sources()] == [a]
    assert logged(caplog, logging.INFO, "feeds.yaml changed") == [
        "feeds.yaml changed: 1 source removed"]


def test_a_broken_edit_is_logged_once_and_the_last_good_config_keeps_running(
        server, running, caplog):
    a = server.add("/a.xml", story_feed("a", "Antitrust suit filed"))
    b = server.add("/b.xml", story_feed("b", "Merger blocked"))
    run = running([{"url": a}])
    run.tick()
    good = run.config.read_text()
    broken = good.replace(f"- url: {a}", f"- url: {a}\n- url: not a url")
    assert broken != good
    run.config.write_text(broken)
    for _ in range(3):
        run.tick(hours=1)
    assert len(server.hits("/a.xml")) == 4  # polled on every tick, on the old config
    errors = logged(caplog, logging.ERROR, "feeds.yaml")
    assert len(errors) == 1, errors
    # The message names the file, the line and the key, as the CLI's does.
    assert f"{run.config}:" in errors[0] and "sources[1].url" in errors[0]
    assert "bad URL" in errors[0] and "last good" in errors[0]
    line = int(re.search(r"feeds\.yaml:(\d+):", errors[0]).group(1))
    assert broken.splitlines()[line - 1].strip() == "- url: not a url"

    # Another broken text is another error; a missing file is one too, and so is put back.
    run.config.write_text(broken.replace("output:", "output:\n  colour: red", 1))
    run.tick(hours=1)
    run.tick(hours=1)
    run.config.unlink()
    run.tick(hours=1)
    run.tick(hours=1)
    errors = logged(caplog, logging.ERROR, "feeds.yaml")
    assert len(errors) == 3, errors
    assert "output.colour" in errors[1] and "config file not found" in errors[2]
    assert len(server.hits("/a.xml")) == 8

    # Fixed, with a new source: said once, and the new source is polled at once.
    caplog.clear()
    run.edit([{"url": a}, {"url": b}])
    run.tick(seconds=30)
    run.tick(seconds=30)
    assert logged(caplog, logging.INFO, "feeds.yaml") == [
        "feeds.yaml loads again", "feeds.yaml changed: 1 source added"]
    assert not logged(caplog, logging.ERROR, "feeds.yaml")
    assert len(server.hits("/b.xml")) == 1


def test_a_broken_edit_undone_is_said_once(server, running, caplog):
    a = server.add("/a.xml", story_feed("a", "Antitrust suit filed"))
    run = running([{"url": a}])
    run.tick()
    good = run.config.read_text()
    run.config.write_text(good + "colour: red\n")
    run.tick(seconds=30)
    run.config.write_text(good)  # back to exactly what is running: nothing to take in
    run.tick(seconds=30)
    run.tick(seconds=30)
    assert [r.getMessage().split(";")[0] for r in caplog.records
            if "feeds.yaml" in r.getMessage()] == [
        "feeds.yaml not reloaded", "feeds.yaml loads again"]


def test_a_changed_database_is_refused_until_a_restart(server, running, caplog, tmp_path):
    a = server.add("/a.xml", story_feed("a", "Antitrust suit filed"))
    b = server.add("/b.xml", story_feed("b", "Merger blocked"))
    run = running([{"url": a}])
    run.tick()
    run.edit([{"url": a}, {"url": b}], database="db/elsewhere.db")
    for _ in range(3):
        run.tick(hours=1)
    errors = logged(caplog, logging.ERROR, "feeds.yaml")
    assert len(errors) == 1, errors
    assert "elsewhere.db" in errors[0] and "curator.db" in errors[0] and "restart" in errors[0]
    # The rest of the edit applies, on the database it started with; no second database appears.
    assert len(server.hits("/a.xml")) == 4 and len(server.hits("/b.xml")) == 3
    assert set(run.candidates()) == {"Antitrust suit filed", "Merger blocked"}
    assert run.curator.config.database == tmp_path / "db" / "curator.db"
    assert not (tmp_path / "db" / "elsewhere.db").exists()
    assert logged(caplog, logging.INFO, "feeds.yaml changed") == [
        "feeds.yaml changed: 1 source added"]


@pytest.mark.parametrize("others", [0, 8], ids=["in-process", "parse-workers"])
def test_edited_topics_match_entries_stored_from_the_next_tick(server, running, caplog, others):
    antitrust = [{"name": "antitrust", "any": ["antitrust"]}]
    both = [*antitrust, {"name": "mergers", "any": ["merger*"]}]
    a = server.add("/a.xml", story_feed("a", "Antitrust suit filed", "Merger talks begin"))
    # With 8 more sources due, the poll parses and matches in worker processes; they must be
    # given the new topics too.
    sources = [{"url": a}, *({"url": server.add(f"/o{n}.xml", story_feed(f"o{n}", "Weather"))}
                             for n in range(others))]
    run = running(sources, antitrust)
    run.tick()
    assert run.candidates() == {"Antitrust suit filed": ["antitrust"]}

    run.edit(sources, both)
    server.routes["/a.xml"].body = story_feed("a", "Antitrust suit filed", "Merger talks begin",
                                              "Antitrust merger review opens")
    run.tick(hours=1)
    # The new entry matches the new topic; the one stored before waits for `curator rematch`.
    assert run.candidates() == {"Antitrust suit filed": ["antitrust"],
                                "Antitrust merger review opens": ["antitrust", "mergers"]}
    [line] = logged(caplog, logging.INFO, "feeds.yaml changed")
    assert line.startswith("feeds.yaml changed: topics changed") and "curator rematch" in line
    run.curator.rematch()
    assert run.candidates()["Merger talks begin"] == ["mergers"]


def test_an_edited_output_is_published_on_the_next_tick(server, running, caplog):
    a = server.add("/a.xml", story_feed("a", "Antitrust suit filed"))
    run = running([{"url": a}])
    run.tick()
    [cand] = run.curator.candidates()
    run.curator.feature(cand.id, "Worth reading.", editor="maria")
    run.tick(seconds=30)
    rss = run.tmp_path / "public" / "feed.xml"
    assert feedparser.parse(rss.read_bytes()).feed.title == "Test Watch"
    run.edit([{"url": a}], output={"title": "Antitrust Watch"})
    run.tick(seconds=30)
    assert feedparser.parse(rss.read_bytes()).feed.title == "Antitrust Watch"
    assert logged(caplog, logging.INFO, "feeds.yaml changed") == [
        "feeds.yaml changed: output changed"]


def test_the_reload_summary_says_what_changed_in_one_line(running, caplog):
    url = "https://example.org/{}.xml".format
    run = running([{"url": url(1)}, {"url": url(2)}, {"url": url(3), "name": "Three"}])
    assert run.curator.reload_config() is None  # the file it started from: nothing new
    run.edit([{"url": url(3), "name": "Trois"}, {"url": url(4)}, {"url": url(5)}],
             topics=[{"name": "antitrust", "any": ["antitrust"]}], poll={"interval": "1h"})
    summary = run.curator.reload_config()
    assert summary == ("feeds.yaml changed: 2 sources added, 2 removed, 1 edited, "
                       "poll settings changed, topics changed (for entries stored from now on; "
                       "`curator rematch` applies them to those already stored)")
    assert logged(caplog, logging.INFO, "feeds.yaml") == [summary]
    assert [s.display_name for s in run.curator.sources()] == ["Trois", url(4), url(5)]
    # An edit to comments or layout only is no change.
    run.config.write_text("# the sources we follow\n" + run.config.read_text())
    assert run.curator.reload_config() is None
    assert logged(caplog, logging.INFO, "feeds.yaml") == [summary]
