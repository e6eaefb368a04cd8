"""A poll's write batches: several sources' writes in one transaction, one source's kept
together, written in the poll's own thread or (on PostgreSQL) in a thread of their own while the
round goes on."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from .exceptions import CuratorError, TransactionConflict

if TYPE_CHECKING:
    import asyncio
    from concurrent.futures import Executor, Future

    from .polltypes import PollOutcome
    from .store import Store

log = logging.getLogger("curator")

T = TypeVar("T")


@dataclass
class _Flying:
    """A batch handed to WriteBatch's writer: what it writes, and whether it was reported."""

    future: Future[tuple[list[tuple[Exception | None, Any]], Exception | None]]
    batch: Sequence[tuple[Callable[[], Any], Callable[[Any], None], Callable[[Exception], None]]]
    recorded: Sequence[tuple[int, PollOutcome, Callable[[None], None],
                             Callable[[Exception], None]]]
    reported: bool = False


@contextmanager
def writer_thread(store: Store) -> Iterator[Executor | None]:
    """On PostgreSQL, a thread of its own for a poll's write batches (see WriteBatch): while it
    waits for the server (psycopg lets go of the interpreter meanwhile), the poll goes on.
    None on SQLite, whose statements run in this process and hold it anyway."""
    if not store.postgres:
        yield None
        return
    from concurrent.futures import ThreadPoolExecutor

    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="curator-writes")
    try:
        yield writer
    finally:
        writer.shutdown(wait=True)


class WriteBatch:
    """Groups the writes of a poll into few transactions, one source's writes kept together.

    Writing each source in its own transaction costs a commit per source; grouping the sources
    that finish within a few milliseconds of each other keeps the order (a source's entries
    first, its caching headers last) and the atomicity (a crash loses whole sources only, which
    the next poll fetches again) at a fraction of the cost. A source queues its write and moves
    on, so its place in the poll goes to the next source at once; the batch is written when it
    is full, after `delay` seconds at most, and when the poll ends. Outcomes with nothing else
    to write (a 304, the same body, a failure: most of a quiet poll) are recorded together,
    one statement for the lot.

    With a `writer` (a thread of its own: on PostgreSQL, see `writer_thread`) a batch is
    written there while the poll goes on fetching, parsing and queueing the next one: the
    poll's work and the server's overlap. Batches are written one at a time, in order, and
    each source's outcome is reported (done or failed) in the poll's own thread once its
    batch is settled; `drained` waits for the last. Everything else the poll asks of the store
    while a writer exists goes through `store_call`, in the writer's thread, after the
    batches queued before it.
    """

    #: Batches queued or being written at most: a full one more waits for the oldest.
    IN_FLIGHT = 2

    def __init__(self, store: Store, size: int = 64, delay: float = 0.05,
                 writer: Executor | None = None) -> None:
        self._store = store
        self._size = size
        self._delay = delay
        self._pending: list[tuple[Callable[[], Any], Callable[[Any], None],
                                  Callable[[Exception], None]]] = []
        self._outcomes: list[tuple[int, PollOutcome, Callable[[None], None],
                                   Callable[[Exception], None]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._writer = writer
        #: Batches handed to the writer and not reported yet, oldest first.
        self._flying: list[_Flying] = []

    def submit(self, fn: Callable[[], T], done: Callable[[T], None],
               failed: Callable[[Exception], None]) -> None:
        """Queue fn for the next transaction; done(result) or failed(error) once it is settled."""
        self._pending.append((fn, done, failed))
        self._queued()

    def record(self, source_id: int, outcome: PollOutcome, done: Callable[[None], None],
               failed: Callable[[Exception], None]) -> None:
        """Queue a source's outcome, for the next transaction; then done(None) or failed(error)."""
        self._outcomes.append((source_id, outcome, done, failed))
        self._queued()

    def _queued(self) -> None:
        if len(self._pending) + len(self._outcomes) >= self._size:
            self.flush()
        elif self._timer is None:
            import asyncio

            self._timer = asyncio.get_running_loop().call_later(self._delay, self._timed)

    def _timed(self) -> None:
        """The delay is up: write what waits, unless the writer is busy (what waits then goes
        when it is free, with whatever joins it meanwhile)."""
        self._timer = None
        if self._flying:
            import asyncio

            self._timer = asyncio.get_running_loop().call_later(self._delay, self._timed)
            return
        self.flush()

    def flush(self) -> None:
        """Write every queued write in one transaction, then report each outcome (with a
        writer: hand them to it, and report once it is done)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending = self._pending, []
        recorded, self._outcomes = self._outcomes, []
        if not batch and not recorded:
            return
        if self._writer is None:
            self._report(batch, recorded, self._written(batch, recorded))
            return
        while len(self._flying) >= self.IN_FLIGHT:  # the writer is behind: wait for it
            self._settle(self._flying[0])
        import asyncio

        loop = asyncio.get_running_loop()
        flying = _Flying(self._writer.submit(self._written, batch, recorded), batch, recorded)
        self._flying.append(flying)

        def settled(_: object) -> None:
            with suppress(RuntimeError):  # the loop has ended: `drained` reported it already
                loop.call_soon_threadsafe(self._settle, flying)

        flying.future.add_done_callback(settled)

    async def drained(self) -> None:
        """Write what waits, and wait until every batch is written and reported."""
        import asyncio

        self.flush()
        while self._flying:
            flying = self._flying[0]
            await asyncio.wrap_future(flying.future)
            self._settle(flying)

    def store_call(self, fn: Callable[[], T]) -> Awaitable[T]:
        """fn(), which uses the store, run where the writes run: in the writer's thread after
        the batches queued before it, or now."""
        import asyncio

        if self._writer is None:
            future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
            try:
                future.set_result(fn())
            except Exception as e:  # noqa: BLE001 - raised where it is awaited
                future.set_exception(e)
            return future
        return asyncio.wrap_future(self._writer.submit(fn))

    def _settle(self, flying: _Flying) -> None:
        """Report a batch the writer is done with (waiting for it if it is not), once."""
        if flying.reported:
            return
        flying.reported = True
        self._flying.remove(flying)
        try:
            written = flying.future.result()
        except Exception as e:  # noqa: BLE001 - a fault outside the store: none was written
            log.error("poll: a write batch failed: %s: %s", type(e).__name__, e)
            written = ([(e, None)] * len(flying.batch), e)
        self._report(flying.batch, flying.recorded, written)

    def _written(self, batch: Sequence[tuple[Callable[[], Any], Any, Any]],
                 recorded: Sequence[tuple[int, PollOutcome, Any, Any]]
                 ) -> tuple[list[tuple[Exception | None, Any]], Exception | None]:
        """Write a batch: each write's result or error, and the error that kept the outcomes
        from being recorded, if one did."""
        try:
            # A batch that collided with another transaction (a deadlock with a desk's write,
            # say) is undone whole by the server and written again, up to a few times.
            return self._store.retrying(lambda: self._write(batch, recorded),
                                        "a poll's write batch")
        except CuratorError as e:  # the commit failed: nothing in this batch was stored
            return [(e, None)] * len(batch), e

    @staticmethod
    def _report(batch: Sequence[tuple[Callable[[], Any], Callable[[Any], None],
                                      Callable[[Exception], None]]],
                recorded: Sequence[tuple[int, PollOutcome, Callable[[None], None],
                                         Callable[[Exception], None]]],
                written: tuple[list[tuple[Exception | None, Any]], Exception | None]) -> None:
        outcomes, unrecorded = written
        for (_, done, failed), (error, value) in zip(batch, outcomes, strict=True):
            if error is None:
                done(value)
            else:
                failed(error)
        for _, _, done_, failed_ in recorded:
            if unrecorded is None:
                done_(None)
            else:
                failed_(unrecorded)

    def _write(self, batch: Sequence[tuple[Callable[[], Any], Any, Any]],
               recorded: Sequence[tuple[int, PollOutcome, Any, Any]]
               ) -> tuple[list[tuple[Exception | None, Any]], Exception | None]:
        """One transaction for the batch: each write's result or error, and the error that
        kept the outcomes from being recorded, if one did. A collision with another
        transaction undoes the whole batch (raised for the caller to write it again)."""
        outcomes: list[tuple[Exception | None, Any]] = []
        unrecorded: Exception | None = None
        with self._store.write_batch():
            # Pollers sharing a database write one batch at a time: two batches storing the
            # same article (a story several feeds carry) in a different order would deadlock.
            self._store.serialize("poll writes")
            for n, (fn, _, _) in enumerate(batch):
                # On PostgreSQL a source's errors are read with the next one's first answer
                # (see Store._isolated): a write may turn out failed after it returned.
                self._store.block_tag = n
                try:
                    outcomes.append((None, fn()))
                except TransactionConflict:
                    raise
                except Exception as e:  # noqa: BLE001 - that source's writes were undone
                    outcomes.append((e, None))
                finally:
                    self._store.block_tag = None
                self._late(outcomes)
            try:
                if recorded:
                    self._store.record_polls([(sid, outcome) for sid, outcome, _, _ in recorded])
            except TransactionConflict:
                raise
            except Exception as e:  # noqa: BLE001 - none of them was recorded
                unrecorded = e
            self._late(outcomes)
        self._late(outcomes)  # the last source's, read as the batch ended
        return outcomes, unrecorded

    def _late(self, outcomes: list[tuple[Exception | None, Any]]) -> None:
        """The writes found failed after they returned: failed, with their error."""
        late, self._store.late_failures = self._store.late_failures, []
        for n, error in late:
            outcomes[n] = (error, None)
