"""The store's foundation: opening the database (SQLite with WAL and a busy timeout, or
PostgreSQL), migrating it, and the transaction helpers every domain's writes go through.

How writes are taken, said once: a write is `with self.write():`, one transaction begun with
BEGIN IMMEDIATE (it waits for the lock rather than failing half-way); inside another write it
joins that one (on PostgreSQL a plain BEGIN: rows lock as they are written).
`self._isolated(name)` makes a block all-or-nothing inside a caller's transaction (a savepoint),
or is a write of its own. Database errors become StoreError at each public method
(`@converts_errors`), naming the database (a PostgreSQL server without its password). What
differs between the two backends is in backend.py.
"""

from __future__ import annotations

import functools
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar

from ..exceptions import DatabaseUnavailable, StoreError, TransactionConflict, UsageError
from ..files import PRIVATE_DIR, PRIVATE_FILE, create_private, private_folder, tighten
from ..schema import MIGRATION_SET, MIGRATIONS
from .backend import (
    POSTGRES,
    SQLITE,
    Connection,
    connect_pg,
    db_errors,
    describe,
    is_postgres,
    pipelining,
    retryable,
    settle,
)
from .stories import StoryIndex

log = logging.getLogger("curator")

BUSY_TIMEOUT_S = 60.0
STORY_WINDOW_S = 48 * 3600  # the default of feeds.yaml's stories.window
#: What `backup` and `restore` say on PostgreSQL, whose own tools do that better.
SQLITE_ONLY = ("backups of a PostgreSQL database are made with its own tools: pg_dump and "
               "pg_restore")
#: New entries a poll lets wait before it indexes them for search (see search_index_deferred).
SEARCH_INDEX_BATCH = 2000
#: PostgreSQL's advisory lock for the poll ("poll" in ASCII).
_CHUNK = 500  # SQLite allows 32766 variables; stay well under while keeping round trips few

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


def converts_errors(fn: F) -> F:
    """Turn database errors into StoreError, naming the database: the one place this happens.

    A call that begins its own transaction on PostgreSQL runs again when the server ends that
    transaction for a deadlock or a serialization failure (see `Base.retrying`).
    """

    @functools.wraps(fn)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        base: Base = self if isinstance(self, Base) else self.store  # SearchStore has one

        def call() -> Any:
            try:
                return fn(self, *args, **kwargs)
            except db_errors() as e:
                raise base.error(e) from e

        if not base.postgres:
            return call()
        return base.retrying(call, fn.__name__)

    return wrapper  # type: ignore[return-value]


#: How many times a transaction the server ended for a deadlock or a serialization failure is
#: run again, and the longest pause before the last try (seconds; each pause is random, up to
#: twice the one before: two transactions that collided do not collide again in step).
RETRIES = 5
RETRY_PAUSE_S = 0.8


def one_line(e: BaseException) -> str:
    """An error's message on one line (PostgreSQL's carry DETAIL and HINT lines)."""
    return " ".join(str(e).split())


_warned_shared: set[Path] = set()


def _protect(path: Path) -> None:
    """The database's folder 0700 and its files 0600, whatever the umask; tightens older ones.

    They hold the session-signing key and the password hashes. SQLite gives the -wal, -shm and
    journal files the database file's mode, so creating that one 0600 covers them. A folder that
    also holds other things (a project or web root) is left as it is, with a warning: its
    curator files are still 0600.
    """
    folder = path.parent
    private_folder(folder)
    names = sorted(os.listdir(folder))
    mine = [n for n in names if n.startswith(path.name)]
    changed = []
    if len(mine) == len(names):
        old = tighten(folder, PRIVATE_DIR)
        if old is not None:
            changed.append(f"{folder}/ (was {old:o})")
    elif os.stat(folder).st_mode & 0o077 and folder not in _warned_shared:
        _warned_shared.add(folder)
        log.warning("the database's folder %s is open to other users and holds other files; "
                    "curator's files in it are kept 0600, but give the database a folder of "
                    "its own (the default db/) that curator can keep private", folder)
    create_private(path)
    for name in mine:
        old = tighten(folder / name, PRIVATE_FILE)
        if old is not None:
            changed.append(f"{name} (was {old:o})")
    if changed:
        log.warning("made the database's files private to this user (folder 0700, files 0600): "
                    "%s; they hold the session key and password hashes", ", ".join(changed))


def _applied(conn: sqlite3.Connection) -> list[str]:
    """The curator migrations a database has applied, in order."""
    try:
        rows = conn.execute("SELECT name FROM _sqlite_migrations WHERE migration_set = ?"
                            " ORDER BY rowid", (MIGRATION_SET,)).fetchall()
    except sqlite3.OperationalError:  # no migrations table: a new database
        return []
    return [r[0] for r in rows]


def _open_backup(source: Path) -> sqlite3.Connection:
    """A read-only connection to a backup that writes nothing beside it (no -wal, no -shm)."""
    # A WAL-mode file opened read-only makes -wal and -shm that it cannot remove on close;
    # "immutable" reads the file alone. A -wal already there (a copy of a live database) holds
    # committed data, so then the file is read as a database in use is.
    flag = "mode=ro" if source.with_name(source.name + "-wal").exists() else "immutable=1"
    return sqlite3.connect(f"{source.resolve().as_uri()}?{flag}", uri=True)


def check_backup(source: Path) -> tuple[bool, list[str]]:
    """Whether a backup passes SQLite's integrity check, and the curator migrations it has."""
    try:
        conn = _open_backup(source)
        try:
            ok = conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            return ok, _applied(conn)
        finally:
            conn.close()
    except sqlite3.Error as e:
        raise StoreError(f"database {source}: {e}") from e


def chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    """`items` in slices small enough for one statement's variables."""
    for i in range(0, len(items), size):
        yield items[i:i + size]


class Redo(Exception):  # noqa: N818 - not an error: a signal to run a block again
    """A block whose statements the server skipped, after an error in the block before it
    (see `Base._isolated`): run it again."""


class _Unsettled:
    """A block of a poll's write batch whose answers have not been read (see `_isolated`):
    its savepoint, the cursor of its RELEASE (answered only if every statement before it
    ran), its WriteBatch tag, what to forget should it be undone, what to check once it is
    read."""

    __slots__ = ("checks", "name", "release", "tag", "undo")

    def __init__(self, name: str, release: Any, tag: int | None,
                 undo: Callable[[], None], checks: list[Any]) -> None:
        self.name, self.release, self.tag, self.undo = name, release, tag, undo
        #: Its candidates' INSERTs with ids taken ahead (see `taken_ahead`), read once it is.
        self.checks = checks


def _check(inserts: list[Any], failed: bool = False) -> None:
    """The INSERTs of a block whose answers are read (see `Base.taken_ahead`): each inserted
    its row, else TransactionConflict (the whole transaction runs again). Of a block that
    `failed`, those the server ran: a row that was not inserted fails what names it next
    (its topics), and that is the collision, not the block's own error."""
    for cur in inserts:
        if (not failed or cur.answered()) and not cur.fetchall():
            raise TransactionConflict(
                "a candidate's URL was stored by another connection during this write")


class Base:
    """One database, migrated on open: a SQLite file (WAL, a busy timeout) or PostgreSQL."""

    conn: Connection
    #: Entries this connection stored that are not indexed for search yet; a commit indexes
    #: them once there are `_index_every` (1 but inside `search_index_deferred`).
    _unindexed = 0
    _index_every = 1
    #: PostgreSQL, inside `search_index_deferred`: what fills the search vectors that the
    #: write batches leave empty (searchindex.Filler).
    _filler: Any = None

    def __init__(self, target: str | Path, *, migrate: bool = True) -> None:
        #: What was opened: a SQLite path or a PostgreSQL URL (to open it again).
        self.target = target
        #: True on PostgreSQL; `dialect` holds the few words of SQL that differ.
        self.postgres = is_postgres(target)
        self.dialect = POSTGRES if self.postgres else SQLITE
        #: How messages name the database: its path, or its server without the password.
        self.where = describe(target)
        #: Story grouping; the window is the config's `stories.window` (Curator sets it).
        self.stories = StoryIndex(STORY_WINDOW_S)
        self._checks = []
        #: The SQLite file; None on PostgreSQL.
        self.path: Path | None = None
        if self.postgres:
            self._open_postgres(str(target), migrate)
        else:
            self.path = Path(target)
            self._open_sqlite(self.path, migrate)

    def _open_sqlite(self, path: Path, migrate: bool) -> None:
        try:
            if not path.name.startswith(":"):
                _protect(path)
            existed = path.exists() and path.stat().st_size > 0
            conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None,
                                   check_same_thread=False)
            self.conn = conn
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal" and not path.name.startswith(":"):
                raise StoreError(f"database {path}: could not switch to WAL (got {mode})")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            if migrate:
                self._migrate(path, existed)
        except (sqlite3.Error, OSError) as e:
            why = (e.strerror or e) if isinstance(e, OSError) else e
            if not os.access(path.parent, os.W_OK) or (
                    path.exists() and not os.access(path, os.W_OK)):
                raise StoreError(
                    f"database {path}: it or its folder is read-only; curator writes the "
                    f"database and its -wal and -shm files beside it ({why})") from e
            raise StoreError(f"database {path}: {why}") from e

    @property
    def sqlite(self) -> sqlite3.Connection:
        """The sqlite3 connection, for what only SQLite has (backups, sqlite-utils)."""
        if not isinstance(self.conn, sqlite3.Connection):
            raise UsageError(f"database {self.where}: {SQLITE_ONLY}")
        return self.conn

    def _open_postgres(self, url: str, migrate: bool) -> None:
        self.conn = connect_pg(url)
        try:
            if migrate:
                from .pg_migrate import migrate_postgres

                migrate_postgres(self.conn, self.where)
        except db_errors() as e:
            self.conn.close()
            raise self.error(e) from e
        except BaseException:
            self.conn.close()
            raise

    @functools.cached_property
    def db(self) -> Any:
        """The sqlite-utils view of the connection (migrations, inspection); made on first use."""
        from sqlite_utils import Database

        return Database(self.sqlite)

    @functools.cached_property
    def has_stories(self) -> bool:
        """False only for a database opened unmigrated from before stories (migration 0005)."""
        if self.postgres:
            return True  # PostgreSQL databases begin with the whole schema
        return self.conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table'"
                                 " AND name = 'story_articles'").fetchone() is not None

    @functools.cached_property
    def has_claims(self) -> bool:
        """False only for a database opened unmigrated from before poll claims (0011): it is
        polled as before them, by the one poller the poll lock lets in."""
        return self.has_column("sources", "claimed_until")

    def has_column(self, table: str, column: str) -> bool:
        """Whether a table has a column (an unmigrated older SQLite database may lack it)."""
        if self.postgres:
            return self.conn.execute(
                "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()"
                " AND table_name = ? AND column_name = ?", (table, column)).fetchone() is not None
        return column in {r[1] for r in self.conn.execute(f"PRAGMA table_info({table})")}

    def _applied(self) -> list[str]:
        if self.postgres:
            from .pg_migrate import applied

            return applied(self.conn)
        return _applied(self.sqlite)

    def _migrate(self, path: Path, existed: bool) -> None:
        applied = self._applied()
        if tuple(applied) == MIGRATIONS:
            return  # up to date: the common case costs one query
        from .migrations import NOTHING_ON_SQLITE, migrations, registered

        known = set(registered())
        unknown = [name for name in applied if name not in known]
        if unknown or len(applied) > len(MIGRATIONS):
            raise DatabaseUnavailable(
                f"database {path} was made by a newer curator (schema {len(applied)}, "
                f"this version knows {len(MIGRATIONS)}); upgrade curator or use a backup")
        pending = migrations.pending(self.db)
        if not pending:
            return
        if existed and applied and any(m.name not in NOTHING_ON_SQLITE for m in pending):
            # An upgrade rewrites tables: keep a copy of what the older version wrote.
            backup = path.with_name(f"{path.name}.before-{pending[0].name}.bak")
            self.backup(backup)
        # Under the write lock: processes started together on one new database (several
        # pollers, a desk) migrate it once, the others finding nothing left to apply.
        with self.write():
            if migrations.pending(self.db):
                migrations.apply(self.db)

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    @converts_errors
    def backup(self, target: str | Path) -> None:
        """Copy the database with SQLite's online backup (safe while others write), mode 0600.

        The copy is one self-contained file (rollback journal, not WAL): opening it later leaves
        no -wal or -shm beside it. Its folder must exist: the caller decides what may be made.
        """
        import tempfile

        source = self.sqlite
        target = Path(target)
        # mkstemp makes the file 0600 (the backup API then keeps it) and never follows a link.
        fd, tmp = tempfile.mkstemp(prefix=f"{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
        try:
            dest = sqlite3.connect(tmp)
            try:
                source.backup(dest)
                dest.execute("PRAGMA journal_mode = DELETE")
            finally:
                dest.close()
            os.replace(tmp, target)
        except BaseException:
            with suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    @contextmanager
    def write(self) -> Iterator[None]:
        """One write transaction, taken with BEGIN IMMEDIATE so it waits rather than fails."""
        conn = self.conn
        if conn.in_transaction:
            yield
            return
        try:
            conn.execute(self.dialect.begin)
        except db_errors() as e:
            raise self.error(e) from e
        try:
            yield
        except BaseException:
            if conn.in_transaction:
                with suppress(*db_errors()):  # a dropped connection has nothing to roll back
                    conn.execute("ROLLBACK")
            raise
        else:
            try:
                if self._unindexed and self._unindexed >= self._index_every:
                    self._index_entries()
                conn.execute("COMMIT")
            except db_errors() as e:
                if conn.in_transaction:
                    with suppress(*db_errors()):
                        conn.execute("ROLLBACK")
                raise self.error(e) from e
            if self._filler is not None:
                self._filler.nudge()  # what this transaction stored without its vector

    def _index_entries(self) -> None:
        """Inside a write: index for search the entries stored since the last indexing (SQLite;
        PostgreSQL's search column is written with each row). See searchindex.py."""
        self._unindexed = 0
        if self.has_search_index:
            from .searchindex import index_new

            index_new(self.conn)

    def _stored_entries(self, n: int) -> None:
        """Inside a write: n new entries, indexed for search when it commits (see
        `search_index_deferred`). PostgreSQL writes each row's search column with the row."""
        if not self.postgres:
            self._unindexed += n

    @contextmanager
    def search_index_deferred(self, entries: int = SEARCH_INDEX_BATCH) -> Iterator[None]:
        """Index new entries for search only once `entries` of them wait, and the rest at the
        end: a poll's write batches are often a few sources, and FTS5 costs twice as much
        written in such small pieces. Meanwhile a search indexes what waits before it reads
        (SearchStore.search); after a crash, so does the next search or indexing.

        On PostgreSQL the write batches leave new entries' search vectors empty, and a filler
        of its own fills them meanwhile (searchindex.Filler); at the end, it fills the rest.
        """
        if self.postgres:
            from .searchindex import Filler

            filler = self._filler = Filler(str(self.target), self.where)
            try:
                yield
            except BaseException:
                filler.finish(drain=False)  # a stopped poll: the next one fills them
                raise
            finally:
                self._filler = None
            filler.finish()
            return
        self._index_every = max(1, entries)
        try:
            yield
        except BaseException:
            self._index_every = 1
            raise
        self._index_every = 1
        if self._unindexed:
            with self.write():
                self._index_entries()

    @functools.cached_property
    def has_search_index(self) -> bool:
        """Whether entries are indexed by curator (SQLite's FTS5; not a database opened
        unmigrated from before the index)."""
        if self.postgres:
            return False
        from .searchindex import has_index

        return has_index(self.conn)

    def _insert_id(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run an `INSERT … RETURNING id` and return the new row's id (both backends)."""
        rows = self.conn.execute(sql, params).fetchall()  # fetched to the end: done on SQLite
        return int(rows[0][0])

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """One consistent view of the database for a long read (a copy): a read transaction.

        Writers go on meanwhile (WAL); what they write after it began is not seen.
        """
        conn = self.conn
        if conn.in_transaction:
            yield
            return
        try:
            conn.execute(self.dialect.snapshot)
            conn.execute("SELECT count(*) FROM state").fetchone()  # takes the snapshot
        except db_errors() as e:
            raise self.error(e) from e
        try:
            yield
        finally:
            if conn.in_transaction:
                with suppress(*db_errors()):
                    conn.execute("ROLLBACK")

    def table_names(self) -> list[str]:
        """Every table of the database, by name (SQLite's FTS5 shadow tables included)."""
        sql = ("SELECT table_name FROM information_schema.tables WHERE table_schema ="
               " current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name"
               if self.postgres else
               "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        return [r[0] for r in self.conn.execute(sql).fetchall()]

    def sync_ids(self) -> None:
        """After rows were written with explicit ids (a copy), new rows get ids after them.

        SQLite does so by itself; PostgreSQL's identity columns are moved past the highest id.
        """
        if not self.postgres:
            return
        for (table,) in self.conn.execute(
                "SELECT table_name FROM information_schema.columns WHERE table_schema ="
                " current_schema() AND column_name = 'id' AND is_identity = 'YES'").fetchall():
            self.conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" coalesce((SELECT max(id) FROM {table}), 0) + 1, false)")

    def error(self, e: BaseException) -> StoreError:
        """A database error as the StoreError that names the database: TransactionConflict for
        a transaction the server ended in a collision (a deadlock, a serialization failure)."""
        kind = TransactionConflict if retryable(e) else StoreError
        return kind(f"database {self.where}: {one_line(e)}")

    def retrying(self, fn: Callable[[], T], what: str = "") -> T:
        """`fn()`, run again when PostgreSQL ended its transaction for a deadlock (SQLSTATE
        40P01) or a serialization failure (40001): each side of a collision is told to give
        up, and its whole transaction is undone, so running it again is safe.

        Only a call that begins and ends its transactions itself is run again (inside a
        caller's transaction the caller decides), and only while none of its transactions has
        committed; up to RETRIES times, after a random pause, logged once. After that, or on
        any other error, the error is raised as it was.
        """
        conn = self.conn
        if conn.in_transaction or not self.postgres:
            return fn()
        attempt = 0
        caught: tuple[type[BaseException], ...] = (TransactionConflict, *db_errors())
        while True:
            commits = getattr(conn, "commits", 0)
            try:
                return fn()
            except caught as e:
                if (attempt >= RETRIES or not retryable(e) or conn.in_transaction
                        or getattr(conn, "commits", 0) != commits):
                    raise
                if attempt == 0:
                    log.warning("database %s: %s%s; running it again (up to %d times)",
                                self.where, one_line(e.__cause__ or e).split(" DETAIL:")[0],
                                f" in {what}" if what else "", RETRIES)
                attempt += 1
                import random  # here: only a retry needs it, and every command imports this module

                time.sleep(random.uniform(0.0, RETRY_PAUSE_S / 2 ** (RETRIES - attempt)))

    def serialize(self, name: str) -> None:
        """Inside a write: let one such transaction (`name`) run at a time across processes.

        On PostgreSQL a transaction-scoped advisory lock named after `name`; SQLite's BEGIN
        IMMEDIATE already holds the one write lock, so there is nothing more to take.
        """
        if self.dialect.serialize:
            import zlib

            self.conn.execute(self.dialect.serialize, (zlib.crc32(name.encode()),))

    def _q(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        cur = self.conn.execute(sql, params)
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]

    def _one(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> dict[str, Any] | None:
        rows = self._q(sql, params)
        return rows[0] if rows else None

    @contextmanager
    def _isolated(self, name: str, undo: Callable[[], None] | None = None) -> Iterator[None]:
        """Inside a caller's transaction, make a block all-or-nothing with a savepoint.

        With `undo` (what to forget of the block in memory should it be undone), inside a
        poll's pipelined write batch, and for a write of a `WriteBatch` (`block_tag` set), the
        block's answers are not waited for at its end: they are read with the next block's
        first answer (one wait less per source). Should they hold an error, the block is
        undone then, `undo()` is called, its error goes to `late_failures` under its tag, and
        the next block, whose statements the server skipped, raises `Redo` to be run again.
        """
        conn = self.conn
        if not conn.in_transaction:
            with self.write():
                yield
            return
        defer = undo is not None and self.block_tag is not None and pipelining(conn)
        if not defer:
            self._settle_blocks()
        before = self._unsettled
        checks, self._checks = self._checks, []
        try:
            conn.execute(f"SAVEPOINT {name}")
            yield
            if before is not None:
                if not before.release.answered():
                    settle(conn)  # nothing in this block waited: the block before is read here
                _check(before.checks)
            if defer:
                assert undo is not None
                self._unsettled = _Unsettled(name, conn.execute(f"RELEASE {name}"),
                                             self.block_tag, undo, self._checks)
                self._checks = checks
                return
            # Inside PostgreSQL's pipeline (a poll's write batch) the block's errors arrive
            # with its answers: read here, so they are its own, undone with it alone.
            settle(conn)
            _check(self._checks)
        except BaseException as e:
            try:
                with suppress(*db_errors()):
                    settle(conn)  # after an error the pipeline takes nothing until it is read
                if before is not None and self._undo_failed(before, e):
                    raise Redo(name) from e
                _check(self._checks, failed=True)
                conn.execute(f"ROLLBACK TO {name}")
                conn.execute(f"RELEASE {name}")
                settle(conn)
            except db_errors():
                pass  # SQLite already rolled the whole transaction back
            finally:
                self._unsettled = None
                self._checks = checks
            raise
        self._unsettled = None
        self._checks = checks
        conn.execute(f"RELEASE {name}")

    #: Inside a poll's write batch: the last block whose answers are not read yet (`_isolated`).
    _unsettled: _Unsettled | None = None
    #: Set by WriteBatch to the write it is running (its place in the batch), None otherwise.
    block_tag: int | None = None
    #: The writes found failed after they had returned (tag, error), for WriteBatch to take.
    late_failures: list[tuple[int, Exception]] = []
    #: The current block's INSERTs of a row whose id was taken ahead (`taken_ahead`).
    _checks: list[Any]

    def taken_ahead(self, cursor: Any) -> None:
        """Inside a block of a poll's pipelined write batch: `cursor` is an `INSERT … ON
        CONFLICT DO NOTHING RETURNING id` of a row whose id was taken ahead, whose answer
        nothing waits for. Once the block's answers are read it must have inserted its row;
        one that found the row there already (another connection inserted it since the block
        read that it was not) makes the whole batch run again, as a deadlock does."""
        self._checks.append(cursor)

    def _undo_failed(self, block: _Unsettled, e: BaseException) -> bool:
        """After a settle that raised `e`: if `block`'s statements failed (its RELEASE never
        ran), undo it, record its error and say so; else False (`e` is another's)."""
        if block.release.answered() or retryable(e) or not self.conn.in_transaction:
            return False  # a collision or a lost connection undoes the whole transaction
        _check(block.checks, failed=True)
        self._unsettled = None
        conn = self.conn
        conn.execute(f"ROLLBACK TO {block.name}")
        conn.execute(f"RELEASE {block.name}")
        settle(conn)
        block.undo()
        error = self.error(e) if isinstance(e, db_errors()) else e
        self.late_failures = [*self.late_failures, (block.tag, error)]  # type: ignore[list-item]
        return True

    def _settle_blocks(self) -> None:
        """Read the answers of the block whose answers wait (see `_isolated`), if one does."""
        before = self._unsettled
        if before is None:
            return
        self._unsettled = None
        if not before.release.answered():
            try:
                settle(self.conn)
            except db_errors() as e:
                if not self._undo_failed(before, e):
                    raise
                return
        _check(before.checks)

    @converts_errors
    def restore_from(self, source: Path) -> None:
        """Replace this database's content with `source`'s, through SQLite's backup API."""
        src = _open_backup(source)
        try:
            src.backup(self.sqlite)
        finally:
            src.close()

    @converts_errors
    def schema_names(self) -> list[str]:
        """The curator migrations this database has applied."""
        return self._applied()
