"""`curator run`: one APScheduler job that polls whatever is due, then publishes if needed.

Which sources are due is data in the database (a next-due time per source), so one short
periodic tick serves a thousand sources as well as ten, and a source added to feeds.yaml needs no
new job. Each tick first re-reads feeds.yaml (Curator.reload_config), so an edit takes effect
within one tick, and a broken edit is logged and leaves the service on the last good config.
"""

from __future__ import annotations

import logging
import signal
import threading
import weakref
from datetime import UTC, datetime, timedelta
from types import FrameType

from apscheduler.schedulers.blocking import BlockingScheduler

from .core import Curator
from .exceptions import CuratorError, LockedError

log = logging.getLogger("curator")

TICK_SECONDS = 30


class RepeatedErrors:
    """Log a failure when it starts, then again at doubling intervals while it repeats.

    `run` retries every tick: a feed folder made read-only would otherwise log the same ERROR
    every 30 seconds, burying everything else. A new message, or a recovery, is logged at once.
    """

    FIRST_REPEAT = timedelta(minutes=5)
    LONGEST = timedelta(hours=6)

    def __init__(self) -> None:
        # what failed -> (its message, how often in a row, when it started, next report, gap)
        self._open: dict[str, tuple[str, int, datetime, datetime, timedelta]] = {}

    def error(self, what: str, message: str, now: datetime) -> None:
        """Report that `what` failed with `message` at `now`."""
        known = self._open.get(what)
        if known is None or known[0] != message:
            log.error("%s: %s", what, message)
            self._open[what] = (message, 1, now, now + self.FIRST_REPEAT, self.FIRST_REPEAT)
            return
        _, count, since, due, gap = known
        count += 1
        if now >= due:
            gap = min(gap * 2, self.LONGEST)
            log.error("%s: %s (still failing: %d times since %s; next report in %s unless it "
                      "changes)", what, message, count, since.strftime("%Y-%m-%d %H:%M UTC"),
                      _span(gap))
            due = now + gap
        self._open[what] = (message, count, since, due, gap)

    def ok(self, what: str) -> None:
        """Report that `what` worked: a failure logged before is logged as over."""
        known = self._open.pop(what, None)
        if known is not None:
            log.info("%s: works again (after %d failures in a row)", what, known[1])


def _span(gap: timedelta) -> str:
    minutes = int(gap.total_seconds() // 60)
    return f"{minutes // 60} h" if minutes >= 60 and minutes % 60 == 0 else f"{minutes} min"


# One per running Curator, so that the failures of consecutive ticks are seen as one.
_ERRORS: weakref.WeakKeyDictionary[Curator, RepeatedErrors] = weakref.WeakKeyDictionary()


def tick(curator: Curator) -> None:
    """Take in an edited feeds.yaml, poll the due sources, apply retention, publish if needed."""
    try:
        curator.reload_config()  # logs what changed, or why an edit was not taken in
    except Exception:  # noqa: BLE001 - a failed reload must not cost the poll: keep the old config
        log.exception("tick: could not reload feeds.yaml; still running on the config in use")
    errors = _ERRORS.setdefault(curator, RepeatedErrors())
    changed_entries = 0
    try:
        with curator.poll_lock(wait=1.0):
            summary = curator.poll()
            changed_entries = summary.new_entries + summary.updated_entries
            if summary.fetched or summary.failed or summary.not_modified:
                log.info("tick: %d fetched, %d not modified, %d failed, %d new entries, "
                         "%d new candidates", summary.fetched, summary.not_modified,
                         summary.failed, summary.new_entries, summary.new_candidates)
            if not curator.stop_requested.is_set():
                curator.prune()
        errors.ok("tick")
    except LockedError:
        log.info("tick: another poll is running (cron?); skipping this one")
    except CuratorError as e:
        errors.error("tick", str(e), curator.now())
    if curator.stop_requested.is_set():
        return
    try:
        # New or updated entries can change a featured item's title or source name.
        if curator.needs_publish() or changed_entries:
            result = curator.publish()  # no editor: the activity log shows it as `curator run`
            errors.ok("publish")
            if result["changed"]:
                log.info("published %d items to %s and %s", result["items"], result["rss"],
                         result["atom"])
    except CuratorError as e:
        errors.error("publish", str(e), curator.now())


def run_forever(curator: Curator, *, tick_seconds: float = TICK_SECONDS,
                stop: threading.Event | None = None) -> None:
    """Run ticks until SIGINT/SIGTERM (or `stop` is set); finishes the work in hand first."""
    scheduler = BlockingScheduler(timezone="UTC", job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": None})
    scheduler.add_job(tick, "interval", args=[curator], seconds=tick_seconds,
                      id="tick", next_run_time=datetime.now(UTC))

    def shutdown(signum: int, frame: FrameType | None) -> None:
        log.info("stopping on %s: finishing the work in hand", signal.Signals(signum).name)
        curator.stop_requested.set()
        # BlockingScheduler.shutdown(wait=True) waits for a running tick, which stops between
        # sources, so no transaction or file is left half-written.
        threading.Thread(target=scheduler.shutdown, kwargs={"wait": True}, daemon=True).start()

    previous = {s: signal.signal(s, shutdown) for s in (signal.SIGINT, signal.SIGTERM)}
    if stop is not None:
        def watch() -> None:
            stop.wait()
            curator.stop_requested.set()
            scheduler.shutdown(wait=True)
        threading.Thread(target=watch, daemon=True).start()
    log.info("curator run: %d sources, checking every %gs", len(curator.config.sources),
             tick_seconds)
    try:
        scheduler.start()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    log.info("curator run: stopped")
