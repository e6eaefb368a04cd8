"""The poll round: which sources are held back, the parse pool, the poll lock, the write batches,
the per-source flow, and `decide()`, the pure function that turns a fetch into an outcome.

decide() knows HTTP only through the fetch result types and the database not at all: it returns a
frozen Refreshed or Failed, and the store alone turns that into columns.
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .claims import Claims, lease_seconds
from .clock import iso
from .documents import PollSummary
from .exceptions import (
    CuratorError,
    LockedError,
    ParseError,
    StoreError,
)
from .files import open_private_lock
from .loading import loading
from .polltypes import (
    Failed,
    Fetched,
    FetchError,
    FetchRequest,
    FetchResult,
    NotModified,
    PollOutcome,
    Refreshed,
    Unparsable,
)
from .types import Source, Topic
from .writes import WriteBatch, writer_thread

if TYPE_CHECKING:
    import asyncio
    from concurrent.futures import Executor

    from .config import Config
    from .fetch import Fetcher
    from .match import Matcher
    from .parsed import NewBody, ParsedFeed
    from .store import SaveResult, Store
    from .stories import Signature

log = logging.getLogger("curator")

DAY = 86400
MAX_RETRY_AFTER = 7 * DAY  # a server asking for more is probably broken; try again in a week
POLL_LOCK_WAIT = 5.0  # seconds a second poll waits for the first before standing down
POOL_THRESHOLD = 8  # fewer bodies than this parse faster in-process than a pool starts

# The warning on a source whose feed parsed but listed no entries (its failures stay 0).
NO_ENTRIES = "no entries found: the feed is well-formed but lists no items"

ProgressFn = Callable[[int, int], None]
T = TypeVar("T")


# ------------------------------------------------------------------ the decision (pure)


def held_back(source: Source, now: datetime, *, schedule: bool) -> bool:
    """Disabled, or inside a server's Retry-After (always), or not due yet (by schedule)."""
    if source.disabled:
        return True
    if source.retry_after and source.retry_after > now:
        return True
    return bool(schedule and source.next_due and source.next_due > now)


def next_due(interval: int, now: datetime, roll: float, *, failures: int = 0,
             hint: int | None = None, max_age: int | None = None,
             retry_after: datetime | None = None) -> datetime:
    """When to poll next: the interval (hints as a floor), or back-off after failures.

    `roll` (0 <= roll < 1, drawn by the caller) spreads sources added together, so they do not
    all fall due in the same second.
    """
    if failures:
        delay = min(interval * 2 ** min(failures - 1, 20) * (1 + 0.25 * roll), DAY)
    else:
        # The feed's own hints are a floor on the interval, never more than a day.
        floor = max(min(hint or 0, DAY), min(max_age or 0, DAY))
        delay = max(interval, floor) * (1 + 0.1 * roll)
    due = now + timedelta(seconds=int(delay))
    if retry_after and retry_after > due:
        due = retry_after
    return due


def decide(source: Source, result: FetchResult, now: datetime, *, interval: int, roll: float,
           body: NewBody | Unparsable | None = None) -> PollOutcome:
    """What one poll of `source` comes to, from its fetch result, its state and `now`.

    `interval` is the source's own interval, else the configured one; `body` is what parsing a
    Fetched body gave, or None when the body had the same bytes as the one parsed last time.
    """
    moved = result.permanent_url
    if isinstance(result, FetchError):
        return _failed(source, now, result.message, status=result.status, interval=interval,
                       roll=roll, retry_after=result.retry_after, gone=result.gone, moved=moved)
    if isinstance(body, Unparsable):
        return _failed(source, now, body.message, status=result.status, interval=interval,
                       roll=roll, moved=moved)
    if isinstance(result, NotModified):
        how = "not modified"
    elif body is None:
        how = "unchanged body"  # the server sent no validators, but nothing to parse
    else:
        how = "fetched"
    keep = isinstance(result, NotModified) and not (result.etag or result.last_modified)
    hint = body.feed.interval_hint if body is not None else None
    if body is not None:
        # A well-formed feed that lists nothing is a feed (not `failed`), but rarely what the
        # editor meant to subscribe to: say so where the source's health is shown.
        warning: str | None = None if body.entries else NO_ENTRIES
    else:
        # A warning from the last parse ("no entries found") holds while the body is the same;
        # an error from a failing source goes with the failure.
        warning = source.error if not source.failures else None
    return Refreshed(
        how=how, polled_at=now, status=result.status, max_age=result.max_age,
        next_due=next_due(interval, now, roll, hint=hint, max_age=result.max_age),
        validators=None if keep else (result.etag, result.last_modified),
        moved_to=moved, body=body, warning=warning)


def _failed(source: Source, now: datetime, message: str, *, status: int | None, interval: int,
            roll: float, retry_after: datetime | None = None, gone: bool = False,
            moved: str | None = None) -> Failed:
    failures = source.failures + 1
    if retry_after:
        retry_after = min(retry_after, now + timedelta(seconds=MAX_RETRY_AFTER))
    return Failed(
        polled_at=now, status=status, message=message, failures=failures,
        failing_since=source.failing_since or now,
        next_due=next_due(interval, now, roll, failures=failures, retry_after=retry_after),
        retry_after=retry_after, moved_to=moved,
        disabled=f"{message} (since {iso(now)}); run `curator enable` to try again" if gone
        else None)


# ------------------------------------------------------------------ parse workers


def parse_feed(url: str, content: bytes, headers: dict[str, str]) -> ParsedFeed:
    """parse.parse_feed, imported on first use: a poll of only 304s never loads feedparser."""
    from .parse import parse_feed as parse

    return parse(url, content, headers)


@lru_cache(maxsize=4)
def matcher(topics: tuple[Topic, ...]) -> Matcher:
    """The compiled matcher for these topics (kept: compiling costs more than a match)."""
    from .match import Matcher

    return Matcher(topics)


def parse_and_match(url: str, content: bytes, headers: dict[str, str], topics: tuple[Topic, ...],
                    sign: bool = False
                    ) -> tuple[ParsedFeed, list[list[str]], list[Signature | None] | None]:
    """Parse a body and match its entries; runs in a worker process (top-level, picklable).

    With `sign`, also each matched entry's story signature (None for the others), so that the
    poll's one writing process only compares and stores.
    """
    parsed = parse_feed(url, content, headers)
    m = matcher(topics)
    matched = [m.match(e.title, e.text) for e in parsed.entries]
    if not sign:
        return parsed, matched, None
    from .stories import signature

    return parsed, matched, [signature(e.title, e.text) if t else None
                             for e, t in zip(parsed.entries, matched, strict=True)]


def _worker_init(parent: int | None) -> None:
    """Set up a parse worker: it leaves stopping to the poll and never outlives it."""
    # Ctrl-C reaches the whole process group; the poll stops its workers itself once they finish
    # the feed in hand. (SIGTERM stays: the pool uses it to end workers when one has crashed.)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Workers hold both ends of the pool's queues, so after a kill -9 of the poll they would wait
    # for work for ever; make the kernel end them with it (Linux), or watch for it (elsewhere).
    if sys.platform == "linux":
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    else:
        first_parent = os.getppid()

        def watch() -> None:
            while os.getppid() == first_parent:
                time.sleep(1.0)
            os._exit(1)

        threading.Thread(target=watch, daemon=True).start()
    if parent is not None and os.getppid() != parent:  # the poll died while this worker started
        os._exit(1)


@contextmanager
def parser_pool(n: int, *, sign: bool = False,
                preload: bool = True) -> Iterator[tuple[Executor | None, bool]]:
    """Worker processes to parse `n` bodies in (or None when in-process is quicker), and
    whether they compute story signatures.

    They do when `sign` asks it and they are forked from this process: it loads the word tables
    first, and the workers share them. Workers that would each load their own copy (from a fork
    server) leave signatures to this process, which needs the tables anyway.

    With `preload`, the parser's modules are loaded before the workers start, so that they
    share them; without it (a round that expects few bodies, if any: 304s, the same bodies
    again), neither this process nor a worker loads them until a worker parses its first body.
    """
    workers = os.cpu_count() or 1
    if n < POOL_THRESHOLD or workers < 2:
        yield None, False
        return
    with loading():
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

    # Fork (cheapest) only while this process has one thread, before the event loop starts
    # any: a fork beside other threads (`curator run`'s scheduler) can copy a held lock. Then,
    # and off Linux, workers come from a fork server that loads the parser once.
    ctx: multiprocessing.context.BaseContext
    if sys.platform == "linux" and threading.active_count() == 1:
        ctx = multiprocessing.get_context("fork")
        parent: int | None = os.getpid()
        # ctypes, which each worker needs for its parent-death signal (_worker_init), loaded
        # once here rather than in every worker: half of a worker's start-up CPU.
        import ctypes  # noqa: F401
        if preload:
            # The parser's modules (feedparser, lxml, bs4, nh3) loaded here once, before the
            # fork, rather than in each worker: the workers share their pages (gc.freeze below).
            from . import match, parse  # noqa: F401
        if sign:
            from .stories import warm

            warm()
    else:
        server = multiprocessing.get_context("forkserver")
        server.set_forkserver_preload(["curator.poll", "curator.parse", "curator.match"]
                                      if preload else ["curator.poll"])
        ctx = server
        parent = None  # workers are the fork server's children, not this process's
        sign = False
    import gc

    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx,
                               initializer=_worker_init, initargs=(parent,))
    # What this process holds now (modules, the word tables, the round's sources) the forked
    # workers share, page for page, until something writes to a page: the garbage collector's
    # own bookkeeping in each object would, at a collection of the oldest generation, in a
    # worker or here. Frozen, the collector leaves them be: in the workers for good, here
    # until the workers are gone (a cycle of them that became garbage meanwhile is collected
    # then). Unfrozen as soon as they were forked, this process copied every page of its
    # heap that the workers shared at its next full collection.
    gc.freeze()
    try:
        # Start the workers now, while this process has one thread: with fork, the first
        # submit forks them all before the pool starts its own thread. Nothing waits for
        # them (a round of 304s never needs them; the first body to parse waits if it must).
        pool.submit(int)
        yield pool, sign
    finally:
        try:
            pool.shutdown(wait=True, cancel_futures=True)
        finally:
            gc.unfreeze()


# ------------------------------------------------------------------ the lock and the writes


@contextmanager
def poll_lock(database: Path | str, wait: float | None = None,
              acquired: Callable[[], object] | None = None) -> Iterator[None]:
    """Hold the one-poll-at-a-time lock of a SQLite `database`, waiting up to `wait` seconds for
    it; then call `acquired` (the caller gives back the claims of pollers that died holding it).

    A PostgreSQL database has none: any number of pollers share it, through their claims.
    """
    wait = POLL_LOCK_WAIT if wait is None else wait
    if not isinstance(database, Path):
        yield
        return
    path = database.with_name(database.name + ".poll.lock")
    # Beside the database, in its private folder (see Store), and 0600: another user can
    # neither take the lock nor plant the file; one that another user owns is refused.
    try:
        fd = open_private_lock(path)
    except OSError as e:
        raise StoreError(f"poll lock {path}: {e.strerror or e}") from e
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockedError("another poll is running; this one stands down") from None
                time.sleep(0.1)
        if acquired is not None:
            acquired()
        yield
    finally:
        os.close(fd)


def _digest(data: bytes) -> str:
    import hashlib  # here: a poll of only 304s never needs it

    return hashlib.sha256(data).hexdigest()


# ------------------------------------------------------------------ the round


class Poll:
    """One poll round over the given sources: fetch concurrently, parse in a pool, write in batches."""

    def __init__(self, store: Store, config: Config, now: Callable[[], datetime],
                 stop: threading.Event) -> None:
        self.store = store
        self.config = config
        self.now = now
        self.stop = stop
        self.sign = False  # whether the parse workers compute story signatures this round

    def run(self, selected: Sequence[Source], *, schedule: bool,
            progress: ProgressFn | None = None) -> PollSummary:
        """Poll those of `selected` not held back (by their schedule too, when `schedule`).

        Each is claimed first (see `Claims`), so pollers sharing the database never fetch one
        twice: a source another poller holds, or polled since this one read it, is skipped.
        """
        now = self.now()
        summary = PollSummary(sources=len(selected))
        due = []
        for s in selected:
            if held_back(s, now, schedule=schedule):
                summary.skipped += 1
            else:
                due.append(s)
        if due:
            with loading():
                import asyncio  # here, not at the top: only polling needs it

                # aiohttp loaded while this process has one thread (before the workers' pool
                # and the writer's thread start theirs): see fetch._no_system_cas.
                from . import fetch  # noqa: F401

            # A source never read before (not one that has only ever failed) brings a body
            # to parse for certain. Then the parser is loaded before the workers start, and
            # they sign the matched entries (a first poll brings many at once). Otherwise most
            # answers are 304s or the same bodies: a worker loads the parser only when a body
            # comes, and the few new entries are signed here rather than have each worker
            # load the word tables.
            fresh = any(s.body_hash is None and not s.failures for s in due)
            sign = bool(self.config.stories_window and self.config.topics) and fresh
            # New entries are indexed for search a few thousand at a time and when the round
            # ends, not per write batch (which is often a few sources).
            # The writer's thread starts after the parse workers are forked (see parser_pool).
            with parser_pool(len(due), sign=sign, preload=fresh) as (pool, signing), \
                    self.store.search_index_deferred(), writer_thread(self.store) as writer:
                self.sign = signing
                asyncio.run(self._run(due, summary, pool, progress, schedule, writer))
        return summary

    async def _run(self, due: list[Source], summary: PollSummary, pool: Executor | None,
                   progress: ProgressFn | None, schedule: bool,
                   writer: Executor | None = None) -> None:
        import asyncio

        settings = self.config.poll.fetch_settings()
        # Bounds the bodies held in memory at once, fetched or waiting for a parser.
        gate = asyncio.Semaphore(max(settings.concurrency, (os.cpu_count() or 1) * 4))
        claims = Claims(self.store, self.now, [s.id for s in due], schedule=schedule,
                        lease=lease_seconds(settings.timeout), chunk=settings.concurrency)
        claims.take_over()
        done = 0
        from .fetch import Fetcher  # loaded by run()

        writes = WriteBatch(self.store, writer=writer)
        if progress:
            progress(0, len(due))  # the bar shows the total before the first source is done
        async with Fetcher(settings, now=self.now) as fetcher:

            async def one(source: Source) -> None:
                nonlocal done
                async with gate:
                    if self.stop.is_set():
                        return
                    try:
                        await self._one(fetcher, source, summary, pool, writes)
                    except CuratorError as e:  # a store failure: report it, keep polling others
                        log.error("poll %s: %s", source.display_name, e)
                        summary.failed += 1
                        summary.errors.append((source.url, str(e)))
                done += 1
                if progress:
                    progress(done, len(due))

            tasks: set[asyncio.Task[None]] = set()
            stopper = asyncio.create_task(self._watch_stop(tasks))
            renewer = asyncio.create_task(claims.keep_alive(writes.store_call))
            try:
                # Claim a chunk whenever no more than one is left in hand: the work is shared
                # with other pollers as it drains, never taken all at once.
                while not self.stop.is_set():
                    while (len(tasks) <= claims.chunk
                           and (batch := await writes.store_call(claims.next)) is not None):
                        claimed, passed = batch
                        summary.skipped += passed
                        done += passed
                        if passed and progress:
                            progress(done, len(due))
                        tasks.update(asyncio.create_task(one(s)) for s in claimed)
                    if not tasks:
                        break
                    finished, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                    tasks.difference_update(finished)
            finally:
                # The sources in hand finish (or are cancelled on a stop) and are written
                # before the claims still held are given back.
                await asyncio.gather(*tasks, return_exceptions=True)
                stopper.cancel()
                renewer.cancel()
                await writes.drained()
                claims.release()

    async def _watch_stop(self, tasks: set[asyncio.Task[None]]) -> None:
        import asyncio

        while not self.stop.is_set():
            await asyncio.sleep(0.2)
        for t in tasks:
            t.cancel()

    async def _one(self, fetcher: Fetcher, source: Source, summary: PollSummary,
                   pool: Executor | None, writes: WriteBatch) -> None:
        import asyncio
        import random

        started = time.monotonic()
        name = source.display_name
        req = FetchRequest(url=source.url_in_use, etag=source.etag,
                           last_modified=source.last_modified)
        result = await fetcher.fetch(req)
        if result.permanent_url:
            log.info("poll %s: moved permanently to %s", name, result.permanent_url)
        body: NewBody | Unparsable | None = None
        entries: Sequence[Any] = ()
        topics: list[list[str]] = []
        sigs: list[Signature | None] | None = None
        if isinstance(result, Fetched) and (h := _digest(result.content)) != source.body_hash:
            try:
                args = (result.final_url, result.content, result.headers, self.config.topics)
                if pool is None:
                    parsed, topics, sigs = parse_and_match(*args)
                else:
                    loop = asyncio.get_running_loop()
                    parsed, topics, sigs = await loop.run_in_executor(
                        pool, parse_and_match, *args, self.sign)
                from .parsed import NewBody  # loaded with the first body

                body, entries = NewBody(parsed.source, h, len(parsed.entries)), parsed.entries
            except ParseError as e:
                body = Unparsable(e.message)
            except Exception as e:  # a parser crash must not stop the other sources
                log.exception("poll %s: parser failed", name)
                body = Unparsable(f"could not parse the feed: {type(e).__name__}: {e}")
        outcome = decide(source, result, self.now(),
                         interval=int(source.interval or self.config.poll.interval),
                         roll=random.random(), body=body)

        def failed(e: Exception) -> None:
            log.error("poll %s: %s", name, e)
            summary.failed += 1
            summary.errors.append((source.url, str(e)))

        if isinstance(outcome, Failed):
            def recorded(_: None) -> None:
                assert isinstance(outcome, Failed)
                summary.failed += 1
                summary.errors.append((source.url, outcome.message))
                when = "; disabled" if outcome.disabled else f"; next try {iso(outcome.next_due)}"
                log.warning("poll %s: failed (%d in a row): %s%s", name, outcome.failures,
                            outcome.message, when)

            writes.record(source.id, outcome, recorded, failed)
        elif outcome.body is None:
            def unchanged(_: None) -> None:
                summary.not_modified += 1
                log.info("poll %s: %s (%.2fs)", name, outcome.how, time.monotonic() - started)

            writes.record(source.id, outcome, unchanged, failed)
        else:
            def saved(counts: SaveResult) -> None:
                summary.fetched += 1
                summary.new_entries += counts.new
                summary.updated_entries += counts.updated
                summary.new_candidates += counts.new_candidates
                log.info("poll %s: %d entries (%d new, %d updated), %d new candidates (%.2fs)",
                         name, len(entries), counts.new, counts.updated, counts.new_candidates,
                         time.monotonic() - started)

            writes.submit(lambda: self.store.save_entries(
                source.id, entries, topics, outcome.polled_at, outcome, sigs), saved, failed)
