"""What people read: local times with their zone, plurals, honest messages, a quiet `run` log."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

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
        assert len(logged(caplog, logging.ERROR, "could not write the feeds")) == 1
        for _ in range(9):  # 4.5 minutes of ticks: nothing new to say
            run.tick(seconds=30)
        assert len(logged(caplog, logging.ERROR, "could not write the feeds")) == 1
        run.tick(seconds=31)  # five minutes on: reported again, with how long it has lasted
        again = logged(caplog, logging.ERROR, "could not write the feeds")
        assert len(again) == 2 and "still failing: 11 times since" in again[1]
        for _ in range(19):  # the next report comes after twice the gap
            run.tick(seconds=30)
        assert len(logged(caplog, logging.ERROR, "could not write the feeds")) == 2
        blocker.unlink()
        run.tick(seconds=30)
        assert logged(caplog, logging.INFO, "publish: works again (after 30 failures")
        assert (tmp_path / "blocker" / "feed.xml").exists()
    finally:
        run.curator.close()
