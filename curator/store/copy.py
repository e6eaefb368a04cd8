"""`curator copy-db`: every table of one database copied into another, whichever backends they are.

What is copied is named here, table by table, in an order that satisfies every foreign key, with
the key each table is read in: a test fails when the schema gains a table this list does not
name, so a new table is never silently left behind. Rows are read a page at a time in key order
(`WHERE key > last ORDER BY key LIMIT n`, the same on SQLite and PostgreSQL, and an index range
scan on both), so a copy of a million entries holds one page in memory; they are written with one
statement per page. The caller holds the source's read snapshot and the target's one write
transaction (`Base.snapshot`, `Base.write`), so the copy is consistent and all-or-nothing.

The search index is not copied: the target builds its own (SQLite's FTS5 index, PostgreSQL's
search column), so a copy between backends gets the target's index. On SQLite the triggers that
index each entry as it is written are set aside during the copy and the index is rebuilt once at
the end, in the same transaction: 2.6 times faster than indexing row by row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from .backend import PgConnection
from .backend import _no_nul as no_nul
from .base import Base

#: Every table copied, parents before children, with the key it is read in.
COPIED: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("sources", ("id",)),
    ("entries", ("id",)),
    ("entry_topics", ("entry_id", "topic")),
    ("candidates", ("id",)),
    ("candidate_topics", ("candidate_id", "topic")),
    ("story_articles", ("url",)),
    ("story_keys", ("key", "first_seen", "candidate_id")),
    ("review_log", ("id",)),
    ("activity_log", ("id",)),
    ("editors", ("id",)),
    ("state", ("key",)),
    ("relevance_model", ("id",)),
)

#: Tables of the schema that are not copied, and why (the test checks the two lists cover all).
NOT_COPIED: dict[str, str] = {
    "_sqlite_migrations": "the target records the migrations it applied itself",
    "curator_migrations": "the target records the migrations it applied itself",
    "entries_fts": "the target indexes the entries as they arrive",
    "login_limits": "the desk's sign-in counters: short-lived, and a new server starts afresh",
}

#: Rows per page: big enough that round trips do not dominate, small enough to hold in memory.
PAGE_ROWS = 2000

Progress = Callable[[str, int], None]


def columns(store: Base, table: str) -> list[str]:
    """The table's columns that take a value (PostgreSQL's search vector is the target's own:
    computed as each entry arrives)."""
    if store.postgres:
        return [r[0] for r in store.conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema ="
            " current_schema() AND table_name = ? AND is_generated = 'NEVER'"
            " AND NOT (table_name = 'entries' AND column_name = 'search')"
            " ORDER BY ordinal_position", (table,)).fetchall()]
    cur = store.conn.execute(f"SELECT * FROM {table} LIMIT 0")  # noqa: S608 (names from COPIED)
    return [c[0] for c in cur.description]


def tables(store: Base) -> list[str]:
    """Every table the database holds (SQLite's own and the search index's shadow tables left
    out)."""
    return [t for t in store.table_names() if not t.startswith(("sqlite_", "entries_fts_"))]


def held(store: Base) -> dict[str, int]:
    """The tables that hold rows, and how many: curator's of any version, and any other's."""
    return {t: n for t, n in ((t, int(store.conn.execute(
        f'SELECT count(*) FROM "{t}"').fetchone()[0]))  # noqa: S608
        for t in tables(store) if t not in NOT_COPIED) if n}


def row_counts(store: Base) -> dict[str, int]:
    """How many rows each copied table holds."""
    return {table: int(store.conn.execute(
        f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608
        for table, _ in COPIED}


def _pages(store: Base, table: str, cols: Sequence[str], key: Sequence[str],
           size: int) -> Any:
    """The table's rows in key order, a page at a time."""
    listed = ", ".join(cols)
    order = ", ".join(key)
    at = [cols.index(k) for k in key]
    first = f"SELECT {listed} FROM {table} ORDER BY {order} LIMIT {size}"  # noqa: S608
    after = (f"SELECT {listed} FROM {table} WHERE ({order}) > ({', '.join('?' for _ in key)})"
             f" ORDER BY {order} LIMIT {size}")  # noqa: S608
    rows = store.conn.execute(first).fetchall()
    while rows:
        yield rows
        if len(rows) < size:
            return
        last = rows[-1]
        rows = store.conn.execute(after, [last[i] for i in at]).fetchall()


@contextmanager
def _search_index_rebuilt(store: Base) -> Iterator[None]:
    """Inside the caller's transaction: the FTS5 triggers dropped, then put back and the index
    rebuilt from the entries (all or nothing with the rest of the transaction). PostgreSQL's
    search column is computed as each row arrives."""
    if store.postgres:
        yield
        return
    triggers = store.conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
                                  " AND tbl_name = 'entries' AND name LIKE 'entries_fts_%'"
                                  " ORDER BY name").fetchall()
    for name, _ in triggers:
        store.conn.execute(f"DROP TRIGGER {name}")
    yield
    for _, sql in triggers:
        store.conn.execute(sql)
    if triggers:
        store.conn.execute("INSERT INTO entries_fts (entries_fts) VALUES ('rebuild')")


def copy_tables(source: Base, target: Base, *, replace: bool = False, page: int | None = None,
                progress: Progress | None = None) -> dict[str, int]:
    """Copy every row of every table in COPIED from `source` into `target`; rows per table.

    Runs inside the caller's snapshot of `source` and write transaction on `target`; `replace`
    first deletes what `target` holds.
    """
    with _search_index_rebuilt(target):
        copied = _copy_tables(source, target, page or PAGE_ROWS, replace, progress)
    target.sync_ids()
    if target.postgres:
        # The planner's statistics, which autovacuum would otherwise take minutes to gather:
        # without them the first queries on a big copy may choose poor plans.
        target.conn.execute("ANALYZE")
    return copied


def _copy_tables(source: Base, target: Base, size: int, replace: bool,
                 progress: Progress | None) -> dict[str, int]:
    if replace:
        for table, _ in reversed(COPIED):  # children first
            target.conn.execute(f"DELETE FROM {table}")  # noqa: S608
    copied: dict[str, int] = {}
    for table, key in COPIED:
        theirs = set(columns(target, table))
        cols = [c for c in columns(source, table) if c in theirs]
        n = 0
        with _writer(target, table, cols) as write:
            for rows in _pages(source, table, cols, key, size):
                write(rows)
                n += len(rows)
                if progress is not None:
                    progress(table, n)
        copied[table] = n
    return copied


@contextmanager
def _writer(target: Base, table: str, cols: Sequence[str]
            ) -> Iterator[Callable[[Sequence[Any]], None]]:
    """Writes pages of rows into a table: on PostgreSQL through a COPY a page (several times
    faster than INSERTs), on SQLite with one INSERT statement per page."""
    conn = target.conn
    listed = ", ".join(cols)
    if isinstance(conn, PgConnection):
        raw = conn.raw

        def put(rows: Sequence[Any]) -> None:
            # Each COPY ends when the server has taken the page: a server slower than the reader
            # (it computes each entry's search vector) never lets pages pile up in memory.
            with raw.cursor() as cur, cur.copy(f"COPY {table} ({listed}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(no_nul(row))

        yield put
        return
    insert = f"INSERT INTO {table} ({listed}) VALUES ({', '.join('?' for _ in cols)})"  # noqa: S608
    yield lambda rows: conn.executemany(insert, rows)
