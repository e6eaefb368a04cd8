"""Migrating a PostgreSQL database: the baseline on a new one, then each later step, recorded.

One transaction under an advisory lock, so two curator processes opening a new database at once
make its schema once, and a failure leaves nothing half-made.
"""

from __future__ import annotations

from ..clock import iso, now
from ..exceptions import DatabaseUnavailable, StoreError
from ..schema import MIGRATION_SET, MIGRATIONS
from .backend import Connection
from .pg_schema import (
    BASELINE,
    BASELINE_NAMES,
    MIGRATIONS_TABLE,
    SEARCH_CONFIG_DDL,
    SEARCH_CONFIG_FOLD,
    STEPS,
    UNACCENT,
    statements,
)

#: The advisory lock taken while a schema is made or migrated ("curator" in ASCII).
LOCK = 0x63757261746F72


def applied(conn: Connection) -> list[str]:
    """The curator migrations a PostgreSQL database has applied, in order."""
    import psycopg

    try:
        rows = conn.execute("SELECT name FROM curator_migrations WHERE migration_set = ?"
                            " ORDER BY id", (MIGRATION_SET,)).fetchall()
    except psycopg.errors.UndefinedTable:
        if conn.in_transaction:
            raise
        return []
    return [r[0] for r in rows]


def _newer(names: list[str], where: str) -> None:
    unknown = [n for n in names if n not in MIGRATIONS]
    if unknown or len(names) > len(MIGRATIONS):
        raise DatabaseUnavailable(
            f"database {where} was made by a newer curator (schema {len(names)}, this version "
            f"knows {len(MIGRATIONS)}); upgrade curator or use a backup")


def _search_config(conn: Connection) -> None:
    """The search's text configuration, folding accents when the server has unaccent.

    CREATE EXTENSION needs the contrib files on the server and the right to create in the
    database (unaccent is a trusted extension: a database owner has it); without them search
    works the same, accents unfolded.
    """
    import psycopg

    conn.execute("SAVEPOINT unaccent")
    try:
        conn.execute(UNACCENT)
        folded = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'unaccent'"
                              ).fetchone() is not None
    except psycopg.Error:
        conn.execute("ROLLBACK TO unaccent")
        folded = False
    conn.execute("RELEASE unaccent")
    conn.execute(SEARCH_CONFIG_DDL)
    if folded:
        conn.execute(SEARCH_CONFIG_FOLD)


def migrate_postgres(conn: Connection, where: str) -> None:
    """Bring the database to this version's schema; nothing to do costs one query."""
    import psycopg

    try:
        _migrate(conn, where)
    except psycopg.errors.InsufficientPrivilege as e:
        why = " ".join(str(e).split())
        raise DatabaseUnavailable(
            f"database {where}: its user may not make curator's tables there ({why}); give "
            f"curator a database its user owns (createdb --owner USER NAME)") from None


def _migrate(conn: Connection, where: str) -> None:
    names = applied(conn)
    if tuple(names) == MIGRATIONS:
        return
    _newer(names, where)
    conn.execute("BEGIN")
    try:
        conn.execute("SELECT pg_advisory_xact_lock(?)", (LOCK,))
        conn.execute(MIGRATIONS_TABLE)
        names = applied(conn)  # another process may have migrated it meanwhile
        _newer(names, where)
        stamp = iso(now())
        todo: list[str] = []
        if not names:
            taken = conn.execute("SELECT to_regclass('sources'), to_regclass('entries')"
                                 ).fetchone()
            if any(taken):
                raise StoreError(
                    f"database {where} already holds tables named like curator's (sources, "
                    f"entries) that curator did not make; give curator a database of its own")
            _search_config(conn)
            for statement in statements(BASELINE):
                conn.execute(statement)
            todo = list(BASELINE_NAMES)
            names = list(BASELINE_NAMES)
        elif tuple(names) != MIGRATIONS[:len(names)]:
            raise StoreError(f"database {where}: its schema history {names} is not one this "
                             f"curator wrote; restore it from a backup")
        for name in MIGRATIONS[len(names):]:
            for statement in statements(STEPS[name]):
                conn.execute(statement)
            todo.append(name)
        for name in todo:
            conn.execute("INSERT INTO curator_migrations (migration_set, name, applied_at)"
                         " VALUES (?, ?, ?)", (MIGRATION_SET, name, stamp))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
