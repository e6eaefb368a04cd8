"""The one place where SQLite and PostgreSQL differ: telling them apart, connecting, dialect.

The store's statements are written once, portable to both (`?` placeholders, `ON CONFLICT DO
NOTHING`, `RETURNING id`, no rowid). What cannot be portable is here:

- `is_postgres(target)`: a `postgresql://` or `postgres://` URL, else a SQLite path;
  `redact(url)` names the server without the password, for every message.
- `PgConnection`: a psycopg 3 connection shaped like sqlite3's, in autocommit with explicit
  BEGIN/COMMIT as the SQLite side does; `?` becomes `$1`, `$2`, … (cached per statement,
  sent as it is by psycopg's raw cursor), and numeric results load as int or float, never
  Decimal.
- `Dialect`: how a write transaction begins, case-insensitive LIKE.
- `db_errors()`: the exception classes the store turns into StoreError. psycopg is imported only
  when a PostgreSQL database is opened: SQLite users never load it.
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
import re
import sqlite3
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from ..clock import iso
from ..dburl import describe, is_postgres, redact
from ..exceptions import DatabaseUnavailable, StoreError, TransactionConflict
from .pg_schema import SEARCH_LATER

__all__ = ["POSTGRES", "REPLAN", "SQLITE", "Connection", "Dialect", "PgConnection", "connect_pg", "db_errors",
           "describe", "drain", "Growth", "insert_rows", "integrity_errors", "is_postgres",
           "pipelined", "pipelining", "redact", "retryable", "round_trips", "settle", "text_array"]

log = logging.getLogger("curator")

#: Seconds a connection attempt may take before the server counts as down.
CONNECT_TIMEOUT_S = 10


def db_errors() -> tuple[type[BaseException], ...]:
    """The database errors the store converts: sqlite3's, and psycopg's once it is loaded."""
    psycopg = sys.modules.get("psycopg")
    return (sqlite3.Error,) if psycopg is None else (sqlite3.Error, psycopg.Error)


#: SQLSTATEs after which the server has undone the whole transaction and it may simply be run
#: again: a deadlock, a serialization failure.
RETRYABLE = frozenset({"40P01", "40001"})


def retryable(e: BaseException | None) -> bool:
    """Whether `e`, or an error it was raised from, is a deadlock or a serialization failure
    (or a TransactionConflict: the store's own name for a transaction to run again)."""
    seen = 0
    while e is not None and seen < 8:
        if getattr(e, "sqlstate", None) in RETRYABLE or isinstance(e, TransactionConflict):
            return True
        e, seen = e.__cause__, seen + 1
    return False


def integrity_errors() -> tuple[type[BaseException], ...]:
    """A broken constraint (a unique name taken, say), on either backend."""
    psycopg = sys.modules.get("psycopg")
    if psycopg is None:
        return (sqlite3.IntegrityError,)
    return (sqlite3.IntegrityError, psycopg.IntegrityError)


class Connection(Protocol):
    """What the store uses of a connection: sqlite3.Connection, or PgConnection."""

    @property
    def in_transaction(self) -> bool: ...

    def execute(self, sql: str, parameters: Any = ..., /) -> Any: ...

    def executemany(self, sql: str, parameters: Any, /) -> Any: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Dialect:
    """The few words of SQL that differ between the two backends."""

    name: str
    #: Begins a write transaction: SQLite takes the write lock up front so it waits, not fails.
    begin: str
    #: Case-insensitive (ASCII) LIKE, as SQLite's LIKE is.
    like: str
    #: Begins a read transaction that sees one moment of the database throughout.
    snapshot: str
    #: Ends the inner SELECT of a claim: lock the rows it picks, passing over those another
    #: poller's transaction holds (PostgreSQL); SQLite's one write lock serialises claims anyway.
    lock_rows: str = ""
    #: Takes a lock, held to the end of the transaction, that one kind of write (its number)
    #: holds at a time across processes; SQLite's BEGIN IMMEDIATE already does ("": nothing).
    serialize: str = ""
    #: The time a claim's lease is reckoned in, `?` seconds from now, as stored times are spelt
    #: (`2026-11-24T12:00:00Z`): PostgreSQL's own clock, which every poller on every machine
    #: shares ("": this machine's, `clock.now`, as SQLite's pollers all run on one machine).
    server_clock: str = ""
    #: Begins a poll's write batch, whose reads are all a few rows by an index: PostgreSQL
    #: plans no parallel workers for them (a table that grew since it was last analysed looks
    #: big enough to it, and starting the workers cost 15-30 ms a statement, a hundred times
    #: the lookup itself), and no sequential scan where an index serves (a table analysed
    #: while small looks small still: a first poll read all of `story_keys` and `candidates`
    #: for look-ups of a few keys or URLs, hundreds of times).
    small_reads: str = ""
    #: Makes a write transaction leave its new entries' search vectors empty, for a filler to
    #: fill after it (PostgreSQL's trigger computes them otherwise; see pg_schema).
    search_later: str = ""

    def lease_time(self, now: datetime, ahead: float = 0.0) -> tuple[str, Any]:
        """A lease time in SQL, `ahead` seconds from now, and its parameter: by the server's
        clock where the dialect has one, else by `now` (the caller's clock)."""
        if self.server_clock:
            return self.server_clock, float(ahead)
        return "?", iso(now + timedelta(seconds=ahead))


SQLITE = Dialect("sqlite", begin="BEGIN IMMEDIATE", like="LIKE", snapshot="BEGIN")
POSTGRES = Dialect("postgresql", begin="BEGIN", like="ILIKE",
                   snapshot="BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                   lock_rows=" FOR UPDATE SKIP LOCKED",
                   serialize="SELECT pg_advisory_xact_lock(?)",
                   small_reads="SELECT set_config('max_parallel_workers_per_gather', '0', true),"
                               " set_config('enable_seqscan', 'off', true)",
                   search_later=f"SET LOCAL {SEARCH_LATER} = 'on'",
                   server_clock="to_char((clock_timestamp() + make_interval(secs => ?))"
                                " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")


# ----------------------------------------------------------------------------- PostgreSQL

#: Ends a statement whose best plan depends on how large its tables have grown: PostgreSQL
#: plans it afresh at each execution rather than keep, prepared, the plan it chose for the
#: first ones (a first poll begins with `entries` empty, and a sequential scan chosen then would
#: be kept while the table grows to tens of thousands of rows). A comment: SQLite ignores it.
REPLAN = " /* replan */"

_TOKENS = re.compile(r"'(?:[^']|'')*'|\"[^\"]*\"|--[^\n]*|\?|%")


@functools.lru_cache(maxsize=2048)
def translate(sql: str) -> str:
    """A statement written for sqlite3 (`?` placeholders) as psycopg takes it (`%s`, `%%`)."""

    def sub(m: re.Match[str]) -> str:
        token = m.group(0)
        if token == "?":
            return "%s"
        return token.replace("%", "%%")  # psycopg reads % everywhere, quoted or not

    return _TOKENS.sub(sub, sql)


@functools.lru_cache(maxsize=2048)
def number(sql: str) -> str:
    """A statement written for sqlite3 (`?` placeholders) with PostgreSQL's own (`$1`, `$2`,
    …), which psycopg's raw cursor sends as they are. Its usual `%s` are converted by reading
    the statement with a regular expression at each execution once it has more than 50 (only
    smaller ones are cached): three quarters of curator's CPU for a poll's multi-row INSERTs."""
    n = 0

    def sub(m: re.Match[str]) -> str:
        nonlocal n
        if m.group(0) != "?":
            return m.group(0)
        n += 1
        return f"${n}"

    return _TOKENS.sub(sub, sql)


def _loaders(conn: Any) -> None:
    """numeric as int (no fraction) or float: sum() and `count(*) * 1.0` as SQLite gives them."""
    from psycopg.adapt import Loader
    from psycopg.pq import Format

    class Numeric(Loader):
        format = Format.TEXT

        def load(self, data: Any) -> int | float:
            text = bytes(data)
            if b"." in text or b"N" in text or b"e" in text or b"I" in text:
                return float(text)
            return int(text)

    conn.adapters.register_loader("numeric", Numeric)


def _no_nul(params: Sequence[Any]) -> tuple[Any, ...]:
    """The parameters, with NUL characters dropped from text: PostgreSQL's text cannot hold
    them (SQLite's can). What curator stores has them stripped already; this keeps a stray one
    (a hostile query string, a YAML "\\0") from failing a whole statement."""
    if any(isinstance(p, str) and "\x00" in p for p in params):
        return tuple(p.replace("\x00", "") if isinstance(p, str) else p for p in params)
    return tuple(params)


#: How many times this process has waited for the server's answer (a round trip each):
#: what pipelining saves, counted for the tests and the benchmark (`round_trips`).
_waits = [0]


def round_trips() -> int:
    """How many times this process has waited for a PostgreSQL server's answer so far."""
    return _waits[0]


class PgCursor:
    """A psycopg cursor answering as much of sqlite3.Cursor as the store uses.

    Inside `PgConnection.pipeline` a statement's answer comes later: the first question asked
    of its cursor (its rows, its columns, its row count) waits for it, and for the answers to
    every statement sent before it.
    """

    __slots__ = ("_cur",)

    def __init__(self, cur: Any) -> None:
        self._cur = cur  # None: a statement that had nothing to do

    def _ready(self) -> Any:
        cur = self._cur
        if cur is not None and cur.pgresult is None and cur.connection._pipeline is not None:
            _waits[0] += 1
            cur._fetch_pipeline()  # psycopg's own wait for a pipelined statement's result
        return cur

    def answered(self) -> bool:
        """Whether its statement's answer has been read, and was not an error: never waits
        (inside a pipeline, False until then; after a `settle`, False for a statement that
        failed or that the server skipped after an earlier one failed)."""
        return self._cur is None or self._cur.pgresult is not None

    @property
    def description(self) -> Any:
        cur = self._ready()
        return None if cur is None else cur.description

    @property
    def rowcount(self) -> int:
        cur = self._ready()
        return -1 if cur is None else int(cur.rowcount)

    def fetchone(self) -> Any:
        return self._cur.fetchone() if self.description is not None else None

    def fetchall(self) -> list[Any]:
        return self._cur.fetchall() if self.description is not None else []

    def fetchmany(self, size: int) -> list[Any]:
        return self._cur.fetchmany(size) if self.description is not None else []

    def __iter__(self) -> Iterator[Any]:
        if self.description is None:
            return iter(())
        return iter(self._cur)


#: Idle connections kept per URL for the next Store in this process (the desk opens one per
#: request): a new connection costs a fork on the server and a password exchange, ~20 ms.
POOL_SIZE = 8
_pool_lock = threading.Lock()
_idle: dict[str, list[Any]] = {}
_pool_pid = os.getpid()
#: Connections a forked child inherited: never used, never closed (closing one would end the
#: parent's session), kept referenced so that nothing finalises them.
_inherited: list[Any] = []


def _take(url: str) -> Any | None:
    """An idle connection to `url` that still answers, or None."""
    global _pool_pid
    import psycopg

    with _pool_lock:
        if _pool_pid != os.getpid():
            _inherited.extend(c for conns in _idle.values() for c in conns)
            _idle.clear()
            _pool_pid = os.getpid()
        conns = _idle.get(url, [])
        while conns:
            raw = conns.pop()
            try:
                raw.execute("SELECT 1")  # a server restarted meanwhile shows here, not mid-work
            except psycopg.Error:
                raw.close()
                continue
            return raw
    return None


def _give(url: str, raw: Any) -> bool:
    """Keep an idle, healthy connection for the next Store; False if it should be closed."""
    from psycopg.pq import TransactionStatus

    if raw.closed or raw.broken or raw.info.transaction_status != TransactionStatus.IDLE:
        return False
    with _pool_lock:
        if _pool_pid != os.getpid():
            return False
        conns = _idle.setdefault(url, [])
        if len(conns) >= POOL_SIZE:
            return False
        conns.append(raw)
        return True


def drain(url: str | None = None) -> None:
    """Close the idle connections kept for `url` (or for every URL): before the database is
    dropped or copied, say, which the server refuses while anyone is connected."""
    with _pool_lock:
        if _pool_pid != os.getpid():
            return
        for key in [url] if url is not None else list(_idle):
            for raw in _idle.pop(key, []):
                raw.close()


class PgConnection:
    """One psycopg 3 connection, in autocommit: transactions are the store's BEGIN and COMMIT.

    A connection the server dropped is made again at the next statement outside a transaction
    (so `curator run` and the desk carry on after a server restart); inside one, the statement
    fails and the transaction is lost whole: nothing of it was committed.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.where = redact(url)
        self._tx = False  # inside BEGIN … COMMIT/ROLLBACK, as far as this side knows
        self._pinned = False  # holds a session lock: never handed to another Store
        #: Transactions committed through this connection (a retry never repeats one).
        self.commits = 0
        #: psycopg's Pipeline while statements are pipelined (see `pipeline`).
        self._pipe: Any = None
        self.raw = _take(url) or self._connect()
        import psycopg

        #: psycopg's cursor that sends `$1` placeholders as they are (see `number`).
        self._cursor = psycopg.RawCursor

    def _connect(self) -> Any:
        import psycopg

        try:
            conn = psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S,
                                   application_name="curator")
        except psycopg.Error as e:
            raise DatabaseUnavailable(f"database {self.where}: {_reason(e, self.url)}") from None
        _loaders(conn)
        return conn

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        if self.raw.broken:
            return self._tx
        return bool(self.raw.info.transaction_status != TransactionStatus.IDLE)

    def pin(self) -> None:
        """This connection holds a session lock: close it for real, never pool it."""
        self._pinned = True

    def execute(self, sql: str, params: Sequence[Any] = (), /) -> PgCursor:
        head = sql.lstrip()[:11].upper()
        if self.raw.broken or self.raw.closed:
            if head.startswith("ROLLBACK"):
                self._tx = self._tx and head.startswith("ROLLBACK TO")
                return PgCursor(None)  # the server ended that transaction with the connection
            self._mend()
        cur = self._cursor(self.raw)
        if self._pipe is None:
            _waits[0] += 1
        cur.execute(number(sql), _no_nul(params),
                    prepare=False if sql.endswith(REPLAN) else None)
        if head.startswith("BEGIN"):
            self._tx = True
        elif head.startswith(("COMMIT", "ROLLBACK")) and not head.startswith("ROLLBACK TO"):
            self._tx = False
            if head.startswith("COMMIT"):
                self.commits += 1
        return PgCursor(cur)

    def _mend(self) -> None:
        """A connection the server dropped: made again outside a transaction; inside one, the
        write fails whole."""
        if not (self.raw.broken or self.raw.closed):
            return
        if self._tx:
            raise self._lost()
        self.raw = self._connect()

    def _lost(self) -> StoreError:
        return StoreError(f"database {self.where}: the connection to the server was lost in "
                          "the middle of a write; none of it was saved")

    def executemany(self, sql: str, seq: Any, /) -> PgCursor:
        cur = self.raw.cursor()
        rows = [_no_nul(p) for p in seq]
        if rows:
            if self._pipe is None:
                _waits[0] += 1  # psycopg pipelines the rows itself
            cur.executemany(translate(sql), rows)
        return PgCursor(cur)

    @contextmanager
    def pipeline(self) -> Iterator[None]:
        """Inside a transaction: statements go to the server without waiting for each one's
        answer (PostgreSQL's pipeline mode). A statement's answer is waited for only when its
        rows or row count are asked for, or at `sync`; an error surfaces there, and the
        server skips what was sent after it up to that point. At the end, every answer is read.

        A poll's write batch runs in one: each statement waited for alone costs a round trip
        to the server (a scheduler's time slice or more on a busy machine), and most of a
        poll's statements are writes whose answer nothing reads.
        """
        if self._pipe is not None or self.raw.broken or self.raw.closed:
            yield
            return
        import psycopg

        try:
            with self.raw.pipeline() as pipe:  # its end sends a Sync and reads every answer
                self._pipe = pipe
                _waits[0] += 1
                try:
                    yield
                except BaseException:
                    with suppress(psycopg.Error):
                        pipe.sync()  # the answers read here: the end has none to report
                    raise
                finally:
                    self._pipe = None
        except psycopg.Error as e:
            if self.raw.broken or self.raw.closed:
                raise self._lost() from e
            raise

    def sync(self) -> None:
        """Inside `pipeline`: wait for the answers to every statement sent so far, raising
        the first error among them. Nothing outside one."""
        if self._pipe is not None:
            _waits[0] += 1
            self._pipe.sync()

    def close(self) -> None:
        if self._pinned or not _give(self.url, self.raw):
            self.raw.close()


@contextmanager
def pipelined(conn: Connection) -> Iterator[None]:
    """`PgConnection.pipeline` on PostgreSQL; on SQLite, whose statements run in this
    process, nothing."""
    if isinstance(conn, PgConnection):
        with conn.pipeline():
            yield
    else:
        yield


def pipelining(conn: Connection) -> bool:
    """Whether statements on `conn` are pipelined now: sending a read ahead of needing its
    answer then saves a round trip (on SQLite it would only run it early)."""
    return isinstance(conn, PgConnection) and conn._pipe is not None


def settle(conn: Connection) -> None:
    """Inside `pipelined`: the answers to every statement sent so far, the first error among
    them raised here (PostgreSQL); nothing on SQLite, whose statements have all run."""
    if isinstance(conn, PgConnection):
        conn.sync()


class Growth:
    """On PostgreSQL, the poll's tables analysed again when this process has doubled them.

    The planner's statistics come from ANALYZE, which autovacuum runs a minute apart at best:
    a first poll into a new database would run on statistics taken in its first seconds (a
    table of a thousand rows that now holds thirty), and its lookups would read whole tables
    by hash joins chosen for that size. So once this process has added as many entries as
    `entries` held at the last analysis (ANALYZE_AFTER at least), it analyses the tables a poll
    writes: a handful of times in a first poll, never in a day's polls of a grown database.
    """

    #: The columns lookups and joins use: the text and its search vector, the costly ones to
    #: analyse, are left to autovacuum.
    TABLES = ("entries (id, source_id, key, url, first_seen, last_seen), entry_topics,"
              " candidates, candidate_topics, story_articles, story_keys")
    ANALYZE_AFTER = 1000
    #: The statistics target of this analysis: a sample of 3,000 rows a table rather than the
    #: default 30,000 (a sixth of the server's time), which gives the poll's look-ups what they
    #: need of a table that grew, its size and how many distinct values its columns hold.
    #: Autovacuum's own analysis, with the server's target, follows as the table grows.
    STATISTICS = 10

    def __init__(self) -> None:
        self.added = 0
        self.threshold: float | None = None  # read at the first batch

    def _rows(self, conn: Connection) -> float:
        row = conn.execute("SELECT reltuples FROM pg_class WHERE oid = 'entries'::regclass"
                           ).fetchone()
        return max(self.ANALYZE_AFTER, float(row[0]) if row else 0.0)

    def grew(self, conn: Connection, entries: int) -> bool:
        """After a committed write that added `entries`: analyse if due; whether it did."""
        if not isinstance(conn, PgConnection) or conn.in_transaction:
            return False
        self.added += entries
        if self.threshold is None:
            self.threshold = self._rows(conn)
        if self.added < self.threshold:
            return False
        self.added = 0
        try:
            conn.execute("BEGIN")
            try:
                conn.execute(f"SET LOCAL default_statistics_target = {self.STATISTICS}")
                conn.execute(f"ANALYZE {self.TABLES}")
                conn.execute("COMMIT")
            except BaseException:
                with suppress(*db_errors()):
                    conn.execute("ROLLBACK")
                raise
            self.threshold = self._rows(conn)
        except db_errors() as e:  # the statistics stay as they were: nothing else depends on it
            log.warning("database %s: could not analyse the tables: %s", conn.where,
                        " ".join(str(e).split()))
            return False
        return True


def text_array(items: Sequence[str]) -> str:
    """A text[] literal of `items`, for a parameter cast to TEXT[]: psycopg dumps a list element
    by element in Python, twice this process's CPU for a poll's look-ups of 30 URLs in three
    arrays; one string is dumped at once."""
    return "{" + ",".join('"' + item.replace("\\", "\\\\").replace('"', '\\"') + '"'
                          for item in items) + "}"


#: Rows one multi-row INSERT carries at most on PostgreSQL.
INSERT_ROWS = 200


def insert_rows(conn: Connection, head: str, rows: Sequence[Sequence[Any]], tail: str = ""
                ) -> None:
    """`head VALUES (…) tail` for each of `rows` (`head` names the table and its columns).

    SQLite runs one prepared statement per row (executemany: cheapest there); PostgreSQL takes
    the rows in multi-row INSERTs of up to INSERT_ROWS rows, one execution each, where
    executemany would make the server start and end a statement per row (about three times
    the server's work for a poll's new entries).
    """
    if not rows:
        return
    width = len(rows[0])
    mark = "(" + ", ".join("?" * width) + ")"
    if not isinstance(conn, PgConnection):
        conn.executemany(f"{head} VALUES {mark}{tail}", rows)
        return
    for at in range(0, len(rows), INSERT_ROWS):
        part = rows[at:at + INSERT_ROWS]
        conn.execute(f"{head} VALUES {', '.join([mark] * len(part))}{tail}",
                     [value for row in part for value in row])


def _reason(e: BaseException, url: str) -> str:
    """One line saying why a connection failed, never the password."""
    text = " ".join(str(e).split())
    parts = urlsplit(url)
    if parts.password:
        text = text.replace(parts.password, "***").replace(unquote(parts.password), "***")
    low = text.lower()
    if "password authentication failed" in low or "no password supplied" in low:
        return "the server refused the user name or password"
    if "does not exist" in low and "database" in low:
        return "no such database on the server (create it first: createdb NAME)"
    if "connection refused" in low or "could not connect" in low or "timeout" in low:
        return "cannot reach the server (is PostgreSQL running there, on that port?)"
    return text


#: psycopg's distributions whose package sets `__version__` in a `version` module by asking
#: importlib.metadata at import time.
_VERSIONED = ("psycopg", "psycopg_binary", "psycopg_c")


def import_psycopg() -> Any:
    """`import psycopg`, without the package-metadata look-ups its import makes.

    psycopg and its C module (psycopg_binary or psycopg_c) each set `__version__` by asking
    importlib.metadata, which loads importlib.metadata (with email, zipfile, csv and more) and
    scans every folder of sys.path: about 10 ms of the ~60 ms `import psycopg` costs, paid by
    every command on PostgreSQL. The versions are the same when read from the name of each
    one's installed `NAME-VERSION.dist-info` folder beside it, which costs one listing of that
    folder; those modules are provided with it before psycopg is imported. Anything unusual (a
    package not found, two dist-info folders of one package, an import that fails after all)
    imports psycopg as it stands.
    """
    if "psycopg" in sys.modules:
        return sys.modules["psycopg"]
    seeded = _seed_versions()
    _defer_unused()
    try:
        import psycopg
    except ImportError:
        for name in seeded:
            sys.modules.pop(name, None)
        for name in [m for m in sys.modules if m.split(".")[0] in _VERSIONED]:
            del sys.modules[name]  # a half-done import: start again, the usual way
        import psycopg
    return psycopg


#: What psycopg imports that a command on one synchronous connection never uses, each with the
#: submodules the names it reads at import come from (see `_defer_unused`).
_UNUSED = (
    # Async connections; at import psycopg reads CancelledError, Future, get_running_loop,
    # sleep, Task, Lock and Queue, none of which needs the event loops' modules.
    ("asyncio", ("exceptions", "events", "futures", "locks", "queues", "tasks")),
    # Its C module imports ssl so that Python sets up OpenSSL's locking callbacks, which
    # OpenSSL 1.1 and later (all this Python supports) no longer use.
    ("ssl", ()),
    # Finding libpq's file, for psycopg's ctypes implementation only.
    ("ctypes.util", ()),
)


def _defer_unused() -> None:
    """Defer (`loading.deferred`) the modules psycopg imports but a command on one synchronous
    connection never uses: they run when something first uses them (`curator run`'s loop, a
    poll's TLS, the desk's). `candidates --json` on PostgreSQL runs about 7% fewer
    instructions: asyncio's event loops, ssl, shutil, tempfile and their kin are never loaded."""
    from ..loading import deferred

    for name, parts in _UNUSED:
        parent = name.rpartition(".")[0]
        if parent and parent not in sys.modules:
            importlib.import_module(parent)
        deferred(name, parts)


def _seed_versions(names: Sequence[str] = _VERSIONED, path: list[str] | None = None) -> list[str]:
    """Put `NAME.version` modules holding each installed package's version (of `names`, found
    on `path` or sys.path) into sys.modules (see import_psycopg); the module names seeded."""
    import importlib.machinery
    import types

    seeded = []
    listings: dict[str, list[str]] = {}
    for name in names:
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or not spec.submodule_search_locations:
            continue
        folder = os.path.dirname(next(iter(spec.submodule_search_locations)))
        try:
            listed = listings.setdefault(folder, os.listdir(folder))
        except OSError:
            continue
        found = [n[len(name) + 1:-len(".dist-info")] for n in listed
                 if n.startswith(name + "-") and n.endswith(".dist-info")]
        if len(found) != 1 or f"{name}.version" in sys.modules:
            continue
        module = types.ModuleType(f"{name}.version", f"{name} distribution version.")
        module.__version__ = found[0]  # type: ignore[attr-defined]
        sys.modules[module.__name__] = module
        seeded.append(module.__name__)
    return seeded


def connect_pg(url: str) -> PgConnection:
    """A connection to the PostgreSQL database at `url`; a one-line StoreError if there is none."""
    try:
        import_psycopg()
    except ImportError as e:
        raise StoreError(f"database {redact(url)}: PostgreSQL needs the psycopg package "
                         f"(pip install 'psycopg[binary]')") from e
    return PgConnection(url)
