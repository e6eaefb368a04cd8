"""`curator copy-db`: every table of one database copied into another, whichever backends they are.

What is copied is named here, table by table, in an order that satisfies every foreign key, with
the key each table is read in: a test fails when the schema gains a table this list does not
name, so a new table is never silently left behind. Rows are read a page at a time in key order
(`WHERE key > last ORDER BY key LIMIT n`, the same on SQLite and PostgreSQL, and an index range
scan on both), so a copy of a million entries holds one page in memory; they are written with one
statement per page. The caller holds the source's read snapshot and the target's one write
transaction (`Base.snapshot`, `Base.write`), so the copy is consistent and all-or-nothing.

The search index is not copied: the target builds its own as the entries arrive (SQLite's FTS5
triggers, PostgreSQL's search column), so a copy between backends gets the target's index.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

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
    "entries_fts": "the target indexes the entries as they arrive",
}

#: Rows per page: big enough that round trips do not dominate, small enough to hold in memory.
PAGE_ROWS = 2000

Progress = Callable[[str, int], None]


def columns(store: Base, table: str) -> list[str]:
    """The table's columns, as the database lists them."""
    cur = store.conn.execute(f"SELECT * FROM {table} LIMIT 0")  # noqa: S608 (names from COPIED)
    return [c[0] for c in cur.description]


def tables(store: Base) -> list[str]:
    """Every table the database holds (the search index's own shadow tables left out)."""
    rows = store.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"
                              " AND name NOT LIKE 'sqlite%' AND name NOT LIKE 'entries_fts_%'"
                              " ORDER BY name").fetchall()
    return [r[0] for r in rows]


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


def empty(store: Base) -> None:
    """Delete every copied table's rows, children first (inside the caller's transaction)."""
    for table, _ in reversed(COPIED):
        store.conn.execute(f"DELETE FROM {table}")  # noqa: S608


def copy_tables(source: Base, target: Base, *, page: int | None = None,
                progress: Progress | None = None) -> dict[str, int]:
    """Copy every row of every table in COPIED from `source` into `target`; rows per table.

    Runs inside the caller's snapshot of `source` and write transaction on `target`.
    """
    copied: dict[str, int] = {}
    size = page or PAGE_ROWS
    for table, key in COPIED:
        theirs = set(columns(target, table))
        cols = [c for c in columns(source, table) if c in theirs]
        insert = (f"INSERT INTO {table} ({', '.join(cols)})"  # noqa: S608
                  f" VALUES ({', '.join('?' for _ in cols)})")
        n = 0
        for rows in _pages(source, table, cols, key, size):
            target.conn.executemany(insert, rows)
            n += len(rows)
            if progress is not None:
                progress(table, n)
        copied[table] = n
    return copied
