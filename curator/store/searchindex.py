"""SQLite's search index (FTS5) written after the entries, not with each one.

An entry is not indexed by a trigger as it is inserted: a poll inserts each source's entries
inside a savepoint, and FTS5 writes its pending terms out as a new index segment at every
savepoint, so indexing row by row made a segment per source and merged them again (about 120 µs
of CPU per entry, two fifths of a poll's writing process). Instead the entries a transaction
stored are indexed together just before it commits (`index_new`, about 16 µs per entry); a poll,
whose write batches are often a few sources, lets them wait for a few thousand and indexes the
rest when it ends (`Base.search_index_deferred`); and a search first indexes whatever waits or
a writer left unindexed (a poll killed mid-way, another program, an older curator).

Which entries are indexed needs no marker of its own that could disagree with the index:
FTS5 keeps one row per indexed entry in its `entries_fts_docsize` table, and the index always
holds exactly the entries up to the highest id there (`INDEXED`): they are indexed in id order,
new entries get ids above every stored one, and an indexed entry leaves the index when it is
deleted. The triggers that remain (migration 0012) mend the index when an indexed entry changes
or goes, and leave the entries above that id alone: they are indexed as they are when their
turn comes. A crash loses nothing: the entries it left unindexed are indexed by the next search
or the next indexing, whichever comes first.

On PostgreSQL a trigger computes an entry's search vector as it is written, except in a poll's
write batches, which leave it to a `Filler` that fills it beside the poll (end of this module).
"""

from __future__ import annotations

import logging
from typing import Any

from ..exceptions import CuratorError

log = logging.getLogger("curator")

#: The highest indexed entry id (0 when none is): every entry up to it is indexed, none above.
INDEXED = "SELECT coalesce(max(id), 0) FROM entries_fts_docsize"

#: The triggers that keep an indexed entry's terms right (see migration 0012).
TRIGGERS = (
    f"""CREATE TRIGGER entries_fts_delete AFTER DELETE ON entries
        WHEN old.id <= ({INDEXED}) BEGIN
            INSERT INTO entries_fts (entries_fts, rowid, title, text)
            VALUES ('delete', old.id, old.title, old.text);
        END""",
    f"""CREATE TRIGGER entries_fts_update AFTER UPDATE OF title, text ON entries
        WHEN (old.title IS NOT new.title OR old.text IS NOT new.text)
            AND old.id <= ({INDEXED}) BEGIN
            INSERT INTO entries_fts (entries_fts, rowid, title, text)
            VALUES ('delete', old.id, old.title, old.text);
            INSERT INTO entries_fts (rowid, title, text) VALUES (new.id, new.title, new.text);
        END""",
)


def has_index(conn: Any) -> bool:
    """Whether the database has the FTS5 index (a database opened unmigrated from before
    migration 0008 has none)."""
    return conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'entries_fts_docsize'"
                        ).fetchone() is not None


def behind(conn: Any) -> bool:
    """Whether entries are stored that the index does not hold yet (two index look-ups)."""
    stored = conn.execute("SELECT coalesce(max(id), 0) FROM entries").fetchone()[0]
    return bool(stored > conn.execute(INDEXED).fetchone()[0])


def index_new(conn: Any) -> int:
    """Inside a write transaction: index every entry stored since the last indexing, in one
    statement (one index segment). Returns how many were indexed."""
    upto = conn.execute(INDEXED).fetchone()[0]
    cur = conn.execute("INSERT INTO entries_fts (rowid, title, text) SELECT id, title, text"
                       " FROM entries WHERE id > ? ORDER BY id", (upto,))
    return max(int(cur.rowcount), 0)


# ------------------------------------------------------------------ PostgreSQL

#: Entries one filling statement gives their search vector (one short transaction each).
FILL_ROWS = 1000


def fill(conn: Any, rows: int = FILL_ROWS) -> int:
    """PostgreSQL: give up to `rows` entries whose search vector waits theirs, oldest first,
    passing over rows another transaction holds (another poller's filler); how many."""
    from .pg_schema import SEARCH_VECTOR

    cur = conn.execute(f"UPDATE entries SET search = {SEARCH_VECTOR} WHERE id IN"
                       " (SELECT id FROM entries WHERE search IS NULL ORDER BY id LIMIT ?"
                       " FOR UPDATE SKIP LOCKED)", (rows,))
    return max(int(cur.rowcount), 0)


class Filler:
    """PostgreSQL, during a poll: the search vectors its write batches left empty, filled on a
    connection and a thread of their own while the poll goes on.

    Computing an entry's vector (PostgreSQL's word parser, the stemmer, the GIN index) was
    four fifths of the server's work for each entry a poll stores, and the poll waited for it
    in each write. Now the poll's batches store the entries without it (see pg_schema's
    0014 step) and nudge this filler after each commit; its own server process fills them,
    a thousand per statement, beside the poll's. `finish` fills whatever is left and waits.
    Meanwhile a search finds the entries still waiting as well (search.py), and one a poller
    killed half-way left is filled by the next poll's filler.
    """

    def __init__(self, url: str, where: str) -> None:
        import threading

        self.url = url
        self.where = where
        self._wanted = threading.Event()
        self._stopping = False
        self._drain = True
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="curator-search-fill",
                                        daemon=True)
        self._thread.start()

    def nudge(self) -> None:
        """Entries were committed without their vector: fill them."""
        self._wanted.set()

    def _run(self) -> None:
        from .backend import PgConnection, db_errors

        conn = None
        caught: tuple[type[BaseException], ...] = (*db_errors(), CuratorError)
        try:
            conn = PgConnection(self.url)
            while True:
                self._wanted.wait()
                self._wanted.clear()
                stopping = self._stopping  # read first: what finish() waits for is committed
                if stopping and not self._drain:
                    return
                while fill(conn):
                    pass
                if stopping:
                    return
        except caught as e:
            self.error = e
        finally:
            if conn is not None:
                conn.close()

    def finish(self, drain: bool = True) -> None:
        """Fill every committed entry still waiting (unless not `drain`), then stop."""
        self._drain = drain
        self._stopping = True
        self._wanted.set()
        self._thread.join()
        if self.error is not None:
            log.warning("database %s: the search vectors of the new entries were not filled"
                        " (%s); a search finds them all the same, and the next poll fills them",
                        self.where, " ".join(str(self.error).split()))
