"""The store's foundation: opening the SQLite database (WAL, a busy timeout), migrating it, and the
transaction helpers every domain's writes go through.

How writes are taken, said once: a write is `with self.write():`, one transaction begun with
BEGIN IMMEDIATE (it waits for the lock rather than failing half-way); inside another write it
joins that one. `self._isolated(name)` makes a block all-or-nothing inside a caller's transaction
(a savepoint), or is a write of its own. sqlite3 errors become StoreError at each public method
(`@converts_errors`), naming the database.
"""

from __future__ import annotations

import functools
import logging
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar

from ..exceptions import StoreError
from ..files import PRIVATE_DIR, PRIVATE_FILE, create_private, private_folder, tighten
from ..schema import MIGRATION_SET, MIGRATIONS
from .stories import StoryIndex

log = logging.getLogger("curator")

BUSY_TIMEOUT_S = 60.0
STORY_WINDOW_S = 48 * 3600  # the default of feeds.yaml's stories.window
_CHUNK = 500  # SQLite allows 32766 variables; stay well under while keeping round trips few

F = TypeVar("F", bound=Callable[..., Any])


def converts_errors(fn: F) -> F:
    """Turn sqlite3 errors into StoreError, naming the database: the one place this happens."""

    @functools.wraps(fn)
    def wrapper(self: Base, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(self, *args, **kwargs)
        except sqlite3.Error as e:
            raise StoreError(f"database {self.path}: {e}") from e

    return wrapper  # type: ignore[return-value]


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


class Base:
    """One SQLite database, opened with WAL and a busy timeout, migrated on open."""

    def __init__(self, path: str | Path, *, migrate: bool = True) -> None:
        self.path = Path(path)
        #: Story grouping; the window is the config's `stories.window` (Curator sets it).
        self.stories = StoryIndex(STORY_WINDOW_S)
        try:
            if not self.path.name.startswith(":"):
                _protect(self.path)
            existed = self.path.exists() and self.path.stat().st_size > 0
            conn = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_S, isolation_level=None,
                                   check_same_thread=False)
            self.conn = conn
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal" and not self.path.name.startswith(":"):
                raise StoreError(f"database {self.path}: could not switch to WAL (got {mode})")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            if migrate:
                self._migrate(existed)
        except (sqlite3.Error, OSError) as e:
            why = (e.strerror or e) if isinstance(e, OSError) else e
            if not os.access(self.path.parent, os.W_OK) or (
                    self.path.exists() and not os.access(self.path, os.W_OK)):
                raise StoreError(
                    f"database {self.path}: it or its folder is read-only; curator writes the "
                    f"database and its -wal and -shm files beside it ({why})") from e
            raise StoreError(f"database {self.path}: {why}") from e

    @functools.cached_property
    def db(self) -> Any:
        """The sqlite-utils view of the connection (migrations, inspection); made on first use."""
        from sqlite_utils import Database

        return Database(self.conn)

    @functools.cached_property
    def has_stories(self) -> bool:
        """False only for a database opened unmigrated from before stories (migration 0005)."""
        return self.conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table'"
                                 " AND name = 'story_articles'").fetchone() is not None

    def _applied(self) -> list[str]:
        return _applied(self.conn)

    def _migrate(self, existed: bool) -> None:
        applied = self._applied()
        if tuple(applied) == MIGRATIONS:
            return  # up to date: the common case costs one query
        from .migrations import migrations, registered

        known = set(registered())
        unknown = [name for name in applied if name not in known]
        if unknown or len(applied) > len(MIGRATIONS):
            raise StoreError(
                f"database {self.path} was made by a newer curator (schema {len(applied)}, "
                f"this version knows {len(MIGRATIONS)}); upgrade curator or use a backup")
        pending = migrations.pending(self.db)
        if not pending:
            return
        if existed and applied:
            # An upgrade rewrites tables: keep a copy of what the older version wrote.
            backup = self.path.with_name(f"{self.path.name}.before-{pending[0].name}.bak")
            self.backup(backup)
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

        target = Path(target)
        # mkstemp makes the file 0600 (the backup API then keeps it) and never follows a link.
        fd, tmp = tempfile.mkstemp(prefix=f"{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
        try:
            dest = sqlite3.connect(tmp)
            try:
                self.conn.backup(dest)
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
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as e:
            raise StoreError(f"database {self.path}: {e}") from e
        try:
            yield
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        else:
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as e:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise StoreError(f"database {self.path}: {e}") from e

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
            conn.execute("BEGIN")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # takes the snapshot
        except sqlite3.Error as e:
            raise StoreError(f"database {self.path}: {e}") from e
        try:
            yield
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")

    def _q(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        cur = self.conn.execute(sql, params)
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]

    def _one(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> dict[str, Any] | None:
        rows = self._q(sql, params)
        return rows[0] if rows else None

    @contextmanager
    def _isolated(self, name: str) -> Iterator[None]:
        """Inside a caller's transaction, make a block all-or-nothing with a savepoint."""
        conn = self.conn
        if not conn.in_transaction:
            with self.write():
                yield
            return
        conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            try:
                conn.execute(f"ROLLBACK TO {name}")
                conn.execute(f"RELEASE {name}")
            except sqlite3.Error:
                pass  # SQLite already rolled the whole transaction back
            raise
        conn.execute(f"RELEASE {name}")

    @converts_errors
    def restore_from(self, source: Path) -> None:
        """Replace this database's content with `source`'s, through SQLite's backup API."""
        src = _open_backup(source)
        try:
            src.backup(self.conn)
        finally:
            src.close()

    @converts_errors
    def schema_names(self) -> list[str]:
        """The curator migrations this database has applied."""
        return self._applied()
