"""What a poll round loads: a round of 304s (or of bodies already read) never loads the parser,
a round with a source never read before loads it before the parse workers start, so they share
it; a changed body in a quiet round is still parsed, by a worker that loads the parser then."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import DATA, write_config

# The parser and what it brings; a poll that parses nothing needs none of them.
PARSER = {"curator.parse", "feedparser", "bs4", "nh3", "lxml"}
# What only a body brings (its feed and entries) and the rows a poll never builds: a round of
# 304s defines none of their dataclasses.
UNUSED = {"curator.parsed", "curator.rows"}

# Runs a poll as `curator` does and says which of PARSER the poll's own process loaded.
_POLL = """
import json, sys
sys.argv = ["curator", *sys.argv[1:]]
from curator.quick import main
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(m for m in {watch!r} if m in sys.modules)), file=sys.stderr)
"""


def _poll(config: Path, *, importtime: bool = False, watch: set[str] = PARSER
          ) -> tuple[dict[str, int], set[str]]:
    """A whole `curator poll --all --json` process: its summary, and which of `watch` it loaded
    (its own process only; with `importtime`, its workers' too)."""
    flags = ["-X", "importtime"] if importtime else []
    proc = subprocess.run([sys.executable, *flags, "-c", _POLL.format(watch=watch),
                           "--config", str(config), "-q", "poll", "--all", "--json"],
                          capture_output=True, text=True, check=True)
    lines = proc.stderr.splitlines()
    loaded = set(json.loads(lines[-1]))
    if importtime:
        loaded |= {line.rsplit("|", 1)[-1].strip() for line in lines
                   if line.startswith("import time:")} & watch
    return json.loads(proc.stdout), loaded


def _desk(server, tmp_path: Path, n: int = 9) -> tuple[Path, list[str]]:
    """n sources (enough for the parse workers), one of them failing, and the topics."""
    body = (DATA / "feeds" / "rss20.xml").read_text(encoding="utf-8")
    urls = [server.add(f"/f{i}.xml", body.replace("</channel>", f"<!-- {i} --></channel>"))
            for i in range(n - 1)]
    urls.append(server.url("/missing.xml"))  # 404: never read, but no body to parse either
    return write_config(tmp_path, urls), urls


def test_a_first_poll_loads_the_parser_before_its_workers_start(server, tmp_path):
    config, _ = _desk(server, tmp_path)
    summary, loaded = _poll(config, watch=PARSER | UNUSED)
    assert summary["fetched"] == 8 and summary["failed"] == 1 and summary["new_entries"] > 0
    assert {"curator.parse", "feedparser", "curator.parsed"} <= loaded  # shared by the workers
    assert "curator.rows" not in loaded


def test_a_round_of_304s_never_loads_the_parser(server, tmp_path):
    config, _ = _desk(server, tmp_path)
    _poll(config)
    # Every source answers 304 but the one that has only ever failed: nothing to parse.
    summary, loaded = _poll(config, importtime=True, watch=PARSER | UNUSED)
    assert (summary["not_modified"], summary["failed"], summary["fetched"]) == (8, 1, 0)
    assert loaded == set()


def test_a_changed_body_in_a_quiet_round_is_parsed_by_a_worker(server, tmp_path):
    config, _ = _desk(server, tmp_path)
    first, _ = _poll(config)
    body = (DATA / "feeds" / "rss20.xml").read_text(encoding="utf-8")
    item = ("<item><title>Antitrust ruling on a new merger</title>"
            "<link>https://news.example.org/new-merger</link>"
            "<guid>https://news.example.org/new-merger</guid>"
            "<description>The court ruled on the merger.</description></item>")
    server.add("/f3.xml", body.replace("</channel>", item + "</channel>"))
    summary, loaded = _poll(config)
    assert (summary["fetched"], summary["not_modified"], summary["new_entries"]) == (1, 7, 1)
    assert summary["new_candidates"] == 1  # matched (antitrust, merger) in the worker
    assert loaded == set()  # the worker loaded the parser; this process did not
