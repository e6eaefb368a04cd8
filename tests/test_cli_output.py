"""What people read: local times with their zone, plurals, honest messages, a quiet `run` log."""

from __future__ import annotations

import logging
import re
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from test_loop import Running, logged, story_feed


def test_repeated_publish_failure_is_logged_once_then_at_back_off(
        server: Any, tmp_path: Path, clock: Any, caplog: Any) -> None:
    caplog.set_level(logging.INFO, logger="curator")
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the output folder should be")
    url = server.add("/a.xml", story_feed("a", "Antitrust suit filed"))
    run = Running(tmp_path, clock, [url], output={"rss": "blocker/feed.xml",
                                                  "atom": "blocker/atom.xml"})
    try:
        run.tick()
        assert len(logged(caplog, logging.ERROR, "nothing was published: cannot write")) == 1
        for _ in range(9):  # 4.5 minutes of ticks: nothing new to say
            run.tick(seconds=30)
        assert len(logged(caplog, logging.ERROR, "nothing was published: cannot write")) == 1
        run.tick(seconds=31)  # five minutes on: reported again, with how long it has lasted
        again = logged(caplog, logging.ERROR, "nothing was published: cannot write")
        assert len(again) == 2 and "still failing: 11 times since" in again[1]
        for _ in range(19):  # the next report comes after twice the gap
            run.tick(seconds=30)
        assert len(logged(caplog, logging.ERROR, "nothing was published: cannot write")) == 2
        blocker.unlink()
        run.tick(seconds=30)
        assert logged(caplog, logging.INFO, "publish: works again (after 30 failures")
        assert (tmp_path / "blocker" / "feed.xml").exists()
    finally:
        run.curator.close()


@pytest.fixture
def berlin(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The process's local zone set to UTC+1 named CET (a POSIX rule: no zone files needed)."""
    monkeypatch.setenv("TZ", "CET-1")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_human_output_shows_local_time_with_its_zone_json_stays_utc(
        server: Any, make_cli: Any, clock: Any, berlin: Any) -> None:
    url = server.add("/rss20.xml", file="rss20.xml")
    cli = make_cli([{"url": url, "name": "Policy Desk"}])
    cli("poll", "--json")
    [cand] = [c for c in cli("candidates", "--json") if c["published"]][:1]
    assert cand["published"].endswith("Z")  # JSON: UTC, as SPEC says
    local = (datetime.strptime(cand["published"], "%Y-%m-%dT%H:%M:%SZ")
             + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M CET")
    assert local in cli("candidates").stdout
    assert f"published: {local}" in cli("show", str(cand["id"])).stdout
    sources = cli("sources").stdout
    assert "last ok 2026-11-26 13:00 CET" in sources  # the fake clock's noon UTC
    assert not re.search(r"\d\d:\d\d(?! CET)", sources)


def loud(cli: Any, *args: str) -> str:
    """stdout of a command run without -q, as a person runs it."""
    from click.testing import CliRunner

    from curator.cli import cli as main

    result = CliRunner().invoke(main, ["--config", str(cli.config), *args],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_counts_are_singular_when_one(server: Any, make_cli: Any, clock: Any) -> None:
    url = server.add("/one.xml", story_feed("one", "Antitrust suit filed"))
    cli = make_cli([{"url": url}])
    out = loud(cli, "poll")
    assert out.startswith("1 source: 1 fetched") and "1 new entry," in out, out
    assert "1 new candidate" in out and "1 new candidates" not in out
    [cand] = cli("candidates", "--json")
    cli("feature", str(cand["id"]))
    assert loud(cli, "publish").startswith("1 item, written")
    assert loud(cli, "rematch").startswith("1 entry matched again: 0 new candidates")


def test_enable_says_what_it_did(server: Any, make_cli: Any, clock: Any) -> None:
    ok = server.add("/ok.xml", story_feed("ok", "Antitrust suit filed"))
    broken = server.add("/broken.xml", b"oops", status=503, validators=False)
    gone = server.add("/gone.xml", b"", status=410)
    cli = make_cli([{"url": ok, "name": "Fine"}, {"url": broken, "name": "Flaky"},
                    {"url": gone, "name": "Gone"}])
    cli("poll", "--json")
    assert cli("enable", "Fine").stdout == (
        "Fine was not disabled and has no back-off: nothing to do\n")
    assert cli("enable", "Flaky").stdout == (
        "Flaky was not disabled; cleared its back-off after 1 failure: it will be polled next "
        "time\n")
    assert cli("enable", "Gone").stdout == "enabled Gone; it will be polled next time\n"
