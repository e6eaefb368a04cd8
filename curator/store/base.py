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
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from ..exceptions import StoreError
from ..schema import MIGRATION_SET, MIGRATIONS

BUSY_TIMEOUT_S = 60.0
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


def chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    """`items` in slices small enough for one statement's variables."""
    for i in range(0, len(items), size):
        yield items[i:i + size]


class Base:
    """One SQLite database, opened with WAL and a busy timeout, migrated on open."""

    def __init__(self, path: str | Path, *, migrate: bool = True) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
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
        except sqlite3.Error as e:
            if not os.access(self.path.parent, os.W_OK) or (
                    self.path.exists() and not os.access(self.path, os.W_OK)):
                raise StoreError(
                    f"database {self.path}: it or its folder is read-only; curator writes the "
                    f"database and its -wal and -shm files beside it ({e})") from e
            raise StoreError(f"database {self.path}: {e}") from e
        except OSError as e:
            raise StoreError(f"database {self.path}: {e.strerror or e}") from e

    @functools.cached_property
    def db(self) -> Any:
        """The sqlite-utils view of the connection (migrations, inspection); made on first use."""
        from sqlite_utils import Database

        return Database(self.conn)

    def _applied(self) -> list[str]:
        try:
            rows = self.conn.execute("SELECT name FROM _sqlite_migrations WHERE migration_set = ?"
                                     " ORDER BY rowid", (MIGRATION_SET,)).fetchall()
        except sqlite3.OperationalError:  # no migrations table: a new database
            return []
        return [r[0] for r in rows]

    def _migrate(self, existed: bool) -> None:
        applied = self._applied()
        if tuple(applied) == MIGRATIONS:
            return  # up to date: the common case costs one query
        from ..migrations import migrations, registered

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
        """Copy the database with SQLite's online backup (safe while others write)."""
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        dest = sqlite3.connect(str(tmp))
        try:
            self.conn.backup(dest)
        finally:
            dest.close()
        import shutil

        shutil.move(str(tmp), str(target))

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
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            src.backup(self.conn)
        finally:
            src.close()

    @converts_errors
    def integrity_ok(self) -> bool:
        """SQLite's own integrity check."""
        return bool(self.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok")

    @converts_errors
    def schema_names(self) -> list[str]:
        """The curator migrations this database has applied."""
        return self._applied()
