"""Entries as polled, their topic matches, and the candidates they make: saving a source's
entries, applying new topics to every stored entry, retention."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..clock import iso
from .backend import (
    REPLAN,
    Growth,
    db_errors,
    insert_rows,
    pipelined,
    pipelining,
    text_array,
)
from .base import Redo, chunks, converts_errors
from .sources import SourceStore

if TYPE_CHECKING:
    from ..parsed import EntryData
    from ..polltypes import PollOutcome


@dataclass(frozen=True)
class SaveResult:
    new: int
    updated: int
    new_candidates: int


_ENTRY_COLUMNS = ("INSERT INTO entries (url, link, title, summary, content, text, author,"
                  " published, updated, hash, source_id, key, first_seen, last_seen)")
_INSERT_ENTRY = _ENTRY_COLUMNS + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_ENTRY_COLUMNS_ID = _ENTRY_COLUMNS.replace("(url,", "(id, url,")

#: Candidates an editor made by hand (`curator promote`): they stay without a topic match.
PROMOTED = "SELECT candidate_id FROM review_log WHERE action = 'promote'"


class EntryStore(SourceStore):
    """The `entries` and `entry_topics` tables, and the candidates that entries create."""

    #: Entries this Store has added (see `Growth`), and when to analyse the tables again.
    _added = 0

    @functools.cached_property
    def _growth(self) -> Growth:
        return Growth()

    @contextmanager
    def write_batch(self) -> Iterator[None]:
        """One transaction for several sources' writes (a poll's batch of `save_entries`).

        Story placement then reads each index key once for the whole batch (and for the next
        ones, while no other process writes), not once per arriving entry.
        """
        before = self._added
        with self._journal_in_memory(), self.write():
            if self.dialect.small_reads:
                self.conn.execute(self.dialect.small_reads)
            if self._filler is not None:  # a poll's: its filler gives them their vectors
                self.conn.execute(self.dialect.search_later)
            # SQLite tells whether another connection committed since this one last looked:
            # when none did, what the last batch read of the story index still holds.
            version = (None if self.postgres else
                       int(self.conn.execute("PRAGMA data_version").fetchone()[0]))
            # On PostgreSQL the batch's statements are pipelined: only those whose answer is
            # read (and each source's end, for its errors; a poll's with the next source's
            # first read, see `_isolated`) wait for the server.
            self._unsettled, self.late_failures = None, []
            try:
                with pipelined(self.conn), self.stories.batch(self.conn, version):
                    yield
                    try:
                        self._settle_blocks()  # the last source's answers, before its index rows
                    except db_errors() as e:
                        raise self.error(e) from e
            finally:
                self._unsettled = None
        if self.postgres:
            self._growth.grew(self.conn, self._added - before)

    @contextmanager
    def _journal_in_memory(self) -> Iterator[None]:
        """On SQLite, a write batch's savepoints journal in memory, not in a temporary file.

        Each source's savepoint (see `_isolated`) keeps the original of every page the source
        changes, so that a failing source can be undone alone; past 64 KiB SQLite writes that
        journal to a temporary file, and it is written again for each source. Replaying the
        worst mix's first 200 feeds (bench/write_replay.py) wrote 222 MB to those files, more
        than the WAL and the database together (125 MB); kept in memory it holds one source's
        pages at a time (the replay's peak memory did not move). The setting holds for the
        batch only: elsewhere large sorts still go to temporary files.
        """
        if self.postgres or self.conn.in_transaction:
            yield
            return
        self.conn.execute("PRAGMA temp_store = MEMORY")
        try:
            yield
        finally:
            with suppress(*db_errors()):
                self.conn.execute("PRAGMA temp_store = DEFAULT")

    @converts_errors
    def save_entries(self, source_id: int, entries: Sequence[EntryData],
                     topics: Sequence[Sequence[str]], now: datetime,
                     outcome: PollOutcome | None = None,
                     signatures: Sequence[Any] | None = None) -> SaveResult:
        """Store a source's entries and their topic matches, then the poll's outcome on the source.

        One transaction: the entries first and the source's caching headers last, so a crash
        costs only a refetch. Inside a caller's transaction (a poll groups several sources into
        one), a savepoint keeps this source's writes all-or-nothing. `signatures`, when the
        parse workers computed them, are the matched entries' story signatures (None for the
        others); without them, placement computes what it needs.
        """
        try:
            return self._save_entries(source_id, entries, topics, now, outcome, signatures)
        except Redo:  # the source before failed, and the server skipped this one's statements
            return self._save_entries(source_id, entries, topics, now, outcome, signatures)

    def _save_entries(self, source_id: int, entries: Sequence[EntryData],
                      topics: Sequence[Sequence[str]], now: datetime,
                      outcome: PollOutcome | None, signatures: Sequence[Any] | None
                      ) -> SaveResult:
        stamp = iso(now)
        # Feeds sometimes repeat an entry; the first copy wins, as in the feed's order.
        batch: dict[str, tuple[EntryData, Sequence[str], Any]] = {}
        sigs = signatures if signatures is not None else [None] * len(entries)
        for e, t, sig in zip(entries, topics, sigs, strict=True):
            batch.setdefault(e.key, (e, t, sig))
        mark = self.stories.mark()
        try:
            saved = self._save_isolated(source_id, batch, now, stamp, outcome, mark)
        except BaseException:
            self.stories.undo(mark)  # none of it was stored: nor is it in the story index
            raise
        new, updated, new_candidates = saved
        self._added += new
        return SaveResult(new=new, updated=updated, new_candidates=new_candidates)

    def _save_isolated(self, source_id: int, batch: dict[str, tuple[EntryData, Sequence[str], Any]],
                       now: datetime, stamp: str | None, outcome: PollOutcome | None, mark: int
                       ) -> tuple[int, int, int]:
        """save_entries' writes, in a savepoint: (new, updated, new candidates)."""
        new = updated = new_candidates = 0
        with self._isolated("save_entries", functools.partial(self.stories.undo, mark)):
            conn = self.conn
            existing: dict[str, tuple[int, str]] = {}
            keys = list(batch)
            asked = [conn.execute(f"SELECT id, key, hash FROM entries WHERE source_id = ?"
                                  f" AND key IN ({','.join('?' * len(chunk))})",
                                  (source_id, *chunk)) for chunk in chunks(keys)]
            ahead: tuple[Any, Any] | None = None
            if self.postgres:
                # Every read this needs before writing, sent at once (pipelined): one round
                # trip. The spellings of entries already stored are looked up too (their
                # answer is not used); that costs the server less than a second round trip.
                spelt = self._stored_spellings(
                    e.url for e, _, _ in batch.values() if e.url)
                if self.stories.window:  # the story index rows its matched entries look up
                    self.stories.prefetch(conn, [
                        sig.keys for e, t, sig in batch.values()
                        if t and e.url and sig is not None and not sig.generic], now)
                # Ids for the matched entries, which are written one at a time among the
                # others (in the feed's order) and need theirs back, and what `_known` would
                # answer for their URLs: no round trip of their own.
                matched = sorted({e.url for e, t, _ in batch.values() if t and e.url})
                if matched:
                    ahead = (conn.execute(
                        # The sequence's name is looked up once (a scalar subquery), not
                        # for each row as `nextval(pg_get_serial_sequence(...))` did: half the
                        # server's time for this statement.
                        "SELECT nextval((SELECT CAST(pg_get_serial_sequence('entries', 'id')"
                        " AS regclass))), CASE WHEN g <= ? THEN nextval((SELECT CAST("
                        "pg_get_serial_sequence('candidates', 'id') AS regclass))) END"
                        " FROM generate_series(1, ?) AS g",
                        # In a pipelined batch, ids for the candidates its matched URLs may
                        # make too (see `_add_candidate`); at most one each.
                        (len(matched) if pipelining(conn) else 0, len(batch))),
                        self._known_many(matched))
            for cur in asked:
                for eid, key, h in cur:
                    existing[key] = (eid, h)
            if not self.postgres:
                spelt = self._stored_spellings(
                    e.url for key, (e, _, _) in batch.items() if e.url and key not in existing)
            spellings = spelt()
            ids: list[int] = []
            cids: list[int] = []
            knowns: dict[str, tuple[Any, Any]] = {}
            if ahead is not None:
                for eid_, cid_ in ahead[0]:
                    ids.append(int(eid_))
                    if cid_ is not None:
                        cids.append(int(cid_))
                ids.reverse()  # popped from the end, the smallest first: the feed's order
                cids.reverse()
                knowns = {url: (None, None) for url in matched}
                for url, is_one, story in ahead[1]:
                    was = knowns[url]
                    knowns[url] = (was[0] if is_one is None else is_one,
                                   was[1] if story is None else story)
            elif any(t and key not in existing for key, (_, t, _) in batch.items()):
                # SQLite gives a new row one more than the largest id (entries.id is an
                # INTEGER PRIMARY KEY without AUTOINCREMENT), and this transaction holds the
                # write lock: the new entries' ids are known before they are written, in the
                # feed's order, as on PostgreSQL. A matched entry then needs no INSERT ...
                # RETURNING of its own: it ends the statement of the new entries before it.
                first = int(conn.execute("SELECT coalesce(max(id), 0) FROM entries"
                                         ).fetchone()[0]) + 1
                ids = list(range(first + sum(key not in existing for key in batch) - 1,
                                 first - 1, -1))
            numbered = ahead is not None or bool(ids)
            touched_urls: set[str] = set()
            unchanged: list[str] = []  # new and updated rows get last_seen as they are written
            # New entries that match no topic need no id back: they are written together, in
            # one statement (one round trip on PostgreSQL), before anything else is written or
            # read, so every statement sees the entries before it as the feed's order has them.
            # With ids taken ahead, a matched entry ends that statement.
            quiet: list[tuple[Any, ...]] = []
            # Topic rows, written together at the end (nothing reads them before).
            etopics: list[tuple[int, str]] = []
            ctopics: list[tuple[int, str]] = []

            def write_quiet() -> None:
                if quiet:
                    insert_rows(conn, _ENTRY_COLUMNS_ID if numbered else _ENTRY_COLUMNS, quiet)
                    quiet.clear()

            for key, (e, t, sig) in batch.items():
                h = e.hash  # computed where the entry was parsed (parsed.entry_hash)
                if key in existing and existing[key][1] != h:
                    write_quiet()
                if e.url and (key not in existing or existing[key][1] != h):
                    stored = (spellings.get(e.url, e.url) if key not in existing
                              else self._stored_spelling(e.url, existing[key][0]))
                    if stored != e.url:
                        e = replace(e, url=stored)
                row = (e.url, e.link, e.title, e.summary, e.content, e.text, e.author,
                       e.published_at, e.updated_at, h)
                if key not in existing and not t:
                    # With ids taken ahead, every new entry has one, in the feed's order.
                    quiet.append((*((ids.pop(),) if numbered else ()), *row, source_id, key,
                                  stamp, stamp))
                    new += 1
                elif key not in existing:
                    known: Any = knowns.pop(e.url or "", None)  # once: a second copy asks
                    if numbered:
                        eid = ids.pop()
                        # Written with the new entries before it, in one statement.
                        quiet.append((eid, *row, source_id, key, stamp, stamp))
                        write_quiet()
                    else:
                        write_quiet()
                        inserted = conn.execute(_INSERT_ENTRY + " RETURNING id",
                                                (*row, source_id, key, stamp, stamp))
                        known = known or self._known(e.url)  # sent with it: one round trip
                        eid = int(inserted.fetchall()[0][0])
                    new += 1
                    etopics += [(eid, name) for name in t]
                    new_candidates += self._add_candidate(
                        eid, e, t, stamp, source_id, now, sig, known, ctopics,
                        cids if known is not None else None)
                else:
                    eid, old_hash = existing[key]
                    if old_hash == h:
                        unchanged.append(key)
                        continue
                    knowns.pop(e.url or "", None)  # what it does to its URL is read afresh
                    old_url = conn.execute("SELECT url FROM entries WHERE id = ?",
                                           (eid,)).fetchone()[0]
                    conn.execute(
                        "UPDATE entries SET url = ?, link = ?, title = ?, summary = ?, content = ?,"
                        " text = ?, author = ?, published = ?, updated = ?, hash = ?, last_seen = ?"
                        " WHERE id = ?", (*row, stamp, eid))
                    updated += 1
                    conn.execute("DELETE FROM entry_topics WHERE entry_id = ?", (eid,))
                    etopics += [(eid, name) for name in t]
                    if t:
                        new_candidates += self._add_candidate(
                            eid, e, t, stamp, source_id, now, sig, None, ctopics)
                    conn.execute(
                        "UPDATE candidates SET title = ?, published = ?,"
                        " sort_time = coalesce(?, first_seen) WHERE entry_id = ?",
                        (e.title, e.published_at, e.published_at, eid))
                    touched_urls.update(u for u in (old_url, e.url) if u)
            write_quiet()
            # The topic rows of the source's entries and candidates, in one statement each (on
            # PostgreSQL one row per statement was two statements per matched entry).
            insert_rows(conn, "INSERT INTO entry_topics (entry_id, topic)", etopics)
            insert_rows(conn, "INSERT INTO candidate_topics (candidate_id, topic)", ctopics,
                        " ON CONFLICT DO NOTHING")
            self._stored_entries(new)  # indexed for search when the transaction commits
            for url in touched_urls:
                self._refresh_candidate(url)
            if unchanged:
                for chunk in chunks(unchanged):
                    marks = ",".join("?" * len(chunk))
                    conn.execute(f"UPDATE entries SET last_seen = ? WHERE source_id = ? "
                                 f"AND key IN ({marks}) AND last_seen != ?",
                                 (stamp, source_id, *chunk, stamp))
            if outcome is not None:
                self._record_poll(source_id, outcome)
        return new, updated, new_candidates

    def _stored_spelling(self, url: str, entry_id: int | None = None) -> str:
        """The spelling under which this article is already stored, else url itself.

        Canonical URLs change when the tracking-parameter list grows: an article stored as
        `…/a?at_medium=RSS` is `…/a` for the new rules. Its candidate keeps the URL it has (it is
        what the editors saw and what the feeds link), and a copy arriving under the new spelling
        joins it rather than making a second candidate.
        """
        from ..urls import canonicalize

        conn = self.conn
        if entry_id is not None:
            row = conn.execute("SELECT url FROM entries WHERE id = ?", (entry_id,)).fetchone()
            if row and row[0] and row[0] != url and canonicalize(row[0]) == url:
                return str(row[0])
        path = url.split("?", 1)[0]
        # The same path with the exact query, or with any query (an older spelling has one):
        # two index lookups on each table's URL index.
        for table in ("candidates", "entries"):
            rows = [r[0] for r in conn.execute(
                f"SELECT url FROM {table} WHERE url = ? OR (url >= ? AND url < ?) LIMIT 64"
                + REPLAN,
                (url, path + "?", path + "@"))]
            if url in rows:
                return url
            for stored in rows:
                if stored and canonicalize(stored) == url:
                    return str(stored)
        return url

    def _stored_spellings(self, urls: Iterable[str]) -> Callable[[], dict[str, str]]:
        """`_stored_spelling` of many URLs at once, for a poll's new entries: two statements per
        hundred URLs rather than two per URL (on PostgreSQL each is a round trip to the server).

        The statements are sent at once (on PostgreSQL, pipelined with the caller's); the
        function returned reads their answer: the URLs stored under another spelling, each
        with that spelling.
        """
        from ..urls import canonicalize

        asked = sorted(set(urls))
        sent = []
        for table in ("candidates", "entries"):
            for chunk in chunks(asked, 100):
                if self.postgres:
                    # The same question in three arrays: the URLs, an index probe each, and
                    # their paths' ranges, an index range each. As ORs of three terms per URL
                    # it cost the server 4-5 times as much to plan and run, and a table
                    # analysed while small (a first poll's `candidates`) was read whole.
                    # `OFFSET 0` keeps the probes apart (one per URL, by the index): joined
                    # as a whole, a table analysed while small was read whole by a hash join.
                    paths = [url.split("?", 1)[0] for url in chunk]
                    sent.append((table, self.conn.execute(
                        "SELECT r.url FROM unnest(CAST(? AS TEXT[]), CAST(? AS TEXT[]),"
                        " CAST(? AS TEXT[])) AS q (url, low, high) CROSS JOIN LATERAL"
                        f" (SELECT url FROM {table} WHERE url = q.url OR (url >= q.low"
                        " AND url < q.high) OFFSET 0) AS r" + REPLAN,  # noqa: S608
                        (text_array(chunk), text_array([p + "?" for p in paths]),
                         text_array([p + "@" for p in paths])))))
                    continue
                params: list[str] = []
                for url in chunk:
                    path = url.split("?", 1)[0]
                    # The URL itself, or the same path with any query (an older spelling).
                    params += [url, path + "?", path + "@"]
                terms = " OR ".join(["(url = ? OR (url >= ? AND url < ?))"] * len(chunk))
                sent.append((table, self.conn.execute(
                    f"SELECT url FROM {table} WHERE {terms}{REPLAN}", params)))  # noqa: S608

        def answer() -> dict[str, str]:
            left = asked
            found: dict[str, str] = {}
            for table in ("candidates", "entries"):
                # A URL a candidate already spells (either way) is settled by the candidates.
                wanted = set(left)
                by_path: dict[str, list[str]] = {}
                for url in left:
                    by_path.setdefault(url.split("?", 1)[0], []).append(url)
                exact: set[str] = set()
                for cur in [cur for kind, cur in sent if kind == table]:
                    for (stored,) in cur:
                        if stored in wanted:
                            exact.add(stored)
                        if "?" in stored:
                            for url in by_path.get(stored.split("?", 1)[0], ()):
                                if (url != stored and url not in found
                                        and canonicalize(stored) == url):
                                    found[url] = str(stored)
                for url in exact:
                    found.pop(url, None)  # stored as it is spelt now: that spelling wins
                left = [u for u in left if u not in exact and u not in found]
            return found

        return answer

    def _known_many(self, urls: Sequence[str]) -> Any:
        """`_known` of many URLs in one statement (sent now, read later): (url, 1 when it is
        a candidate, the story it is an article of), for those that are either."""
        marks = ",".join("?" * len(urls))
        return self.conn.execute(
            f"SELECT url, 1, NULL FROM candidates WHERE url IN ({marks}) UNION ALL"
            f" SELECT url, NULL, candidate_id FROM story_articles WHERE url IN ({marks})",
            (*urls, *urls))

    def _known(self, url: str | None) -> Any:
        """Sends the question `_add_candidate` asks first of an article URL: whether it is a
        candidate, and else the story it is an article of (a cursor, answered when read)."""
        if not url:
            return None
        if self.has_stories:
            return self.conn.execute("SELECT (SELECT 1 FROM candidates WHERE url = ?),"
                                     " (SELECT candidate_id FROM story_articles WHERE url = ?)",
                                     (url, url))
        return self.conn.execute("SELECT (SELECT 1 FROM candidates WHERE url = ?), NULL",
                                 (url,))

    def _add_candidate(self, entry_id: int, e: EntryData, topics: Sequence[str], stamp: str | None,
                       source_id: int, now: datetime, sig: Any = None, known: Any = None,
                       ctopics: list[tuple[int, str]] | None = None,
                       cids: list[int] | None = None) -> int:
        """Make the entry's URL a candidate, or join the candidate of its URL or its story.

        1 if it made a new candidate. Only an entry whose URL is new looks for a story: one
        already a candidate, or already in a story, stays where it is (the editor's splits hold).
        `known` is `_known(e.url)` when the caller has sent it already; `ctopics`, when
        given, takes the candidate's topic rows for the caller to write. `cids`, ids taken
        ahead for new candidates (PostgreSQL, pipelined), gives the new candidate its id,
        so that nothing waits for its INSERT: `known` said the URL was no candidate when it
        was read, and should another connection have made it one since, the block's check
        (`taken_ahead`) runs the batch again.
        """
        if not e.url:
            return 0
        conn = self.conn
        # Whether the URL is a candidate, and else the story it is already an article of.
        known, cid = known if isinstance(known, tuple) else (known or self._known(e.url)
                                                             ).fetchone()
        if known is None and self.has_stories:
            if cid is None:
                cid = self.stories.place(conn, entry_id, source_id, e, now, sig)
                if cid is not None:
                    self.stories.join(conn, cid, entry_id, source_id, e, stamp)
            if cid is not None:
                self._candidate_topics(cid, topics, ctopics)
                return 0
        published = e.published_at
        if cids and known is None and pipelining(conn):
            cid = cids.pop()
            self.taken_ahead(conn.execute(
                "INSERT INTO candidates (id, url, entry_id, title, published, sort_time,"
                " first_seen) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (url) DO NOTHING"
                " RETURNING id", (cid, e.url, entry_id, e.title, published, published or stamp,
                                  stamp)))
            if self.has_stories:
                self.stories.index(conn, cid, entry_id, e, first_seen=stamp)
            self._candidate_topics(cid, topics, ctopics)
            return 1
        made = conn.execute(
            "INSERT INTO candidates (url, entry_id, title, published, sort_time, first_seen)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (url) DO NOTHING RETURNING id",
            (e.url, entry_id, e.title, published, published or stamp, stamp)).fetchall()
        created = bool(made)
        cid = made[0][0] if made else conn.execute(
            "SELECT id FROM candidates WHERE url = ?", (e.url,)).fetchone()[0]
        if created and self.has_stories:
            self.stories.index(conn, cid, entry_id, e, first_seen=stamp)
        self._candidate_topics(cid, topics, ctopics)
        return 1 if created else 0

    def _candidate_topics(self, cid: int, topics: Sequence[str],
                          ctopics: list[tuple[int, str]] | None) -> None:
        """A candidate's new topics: added to `ctopics` for the caller to write, or now."""
        rows = [(cid, name) for name in topics]
        if ctopics is not None:
            ctopics += rows
        else:
            self.conn.executemany("INSERT INTO candidate_topics (candidate_id, topic)"
                                  " VALUES (?, ?) ON CONFLICT DO NOTHING", rows)

    def _refresh_candidate(self, url: str) -> None:
        """Recompute a candidate's topics from its entries; drop it if it is new and matches none."""
        conn = self.conn
        row = conn.execute("SELECT id, status FROM candidates WHERE url = ?", (url,)).fetchone()
        if row is None:
            return
        cid, status = row
        topics = [r[0] for r in conn.execute(
            "SELECT DISTINCT t.topic FROM entries e JOIN entry_topics t ON t.entry_id = e.id"
            " WHERE e.url = ?", (url,))]
        conn.execute("DELETE FROM candidate_topics WHERE candidate_id = ?", (cid,))
        conn.executemany("INSERT INTO candidate_topics (candidate_id, topic) VALUES (?, ?)",
                         [(cid, t) for t in topics])
        if not topics and status == "new":
            # A suggestion never had topics: the relevance refresh decides whether it stays.
            # One an editor promoted stays.
            conn.execute("DELETE FROM candidates WHERE id = ? AND suggested = 0"
                         f" AND id NOT IN ({PROMOTED})", (cid,))
        elif topics:
            # The entry that made it a candidate may have moved to another URL.
            primary = conn.execute(
                "SELECT e.id, e.title, e.published FROM entries e JOIN entry_topics t"
                " ON t.entry_id = e.id WHERE e.url = ? ORDER BY e.id LIMIT 1", (url,)).fetchone()
            current = conn.execute("SELECT entry_id FROM candidates WHERE id = ?",
                                   (cid,)).fetchone()[0]
            cur_url = conn.execute("SELECT url FROM entries WHERE id = ?", (current,)).fetchone()
            if primary and (cur_url is None or cur_url[0] != url):
                conn.execute("UPDATE candidates SET entry_id = ?, title = ?, published = ?,"
                             " sort_time = coalesce(?, first_seen) WHERE id = ?",
                             (primary[0], primary[1], primary[2], primary[2], cid))

    def match_all(self, match: Callable[[str, str], list[str]]
                  ) -> tuple[int, int, list[tuple[int, str]]]:
        """Apply `match(title, text)` to every stored entry, holding no lock.

        Returns (entries matched, the newest entry id looked at, (entry id, topic) pairs).
        """
        conn = self.conn
        # WAL readers never block writers: at a million entries this takes minutes, and the
        # desk and the scheduler must go on writing meanwhile. Entries stored after this point
        # keep the topics their poll gave them.
        newest = conn.execute("SELECT coalesce(max(id), 0) FROM entries").fetchone()[0]
        pairs: list[tuple[int, str]] = []
        count = last = 0
        while True:
            rows = conn.execute(
                "SELECT id, title, text FROM entries WHERE id > ? AND id <= ? ORDER BY id"
                " LIMIT 2000", (last, newest)).fetchall()
            if not rows:
                break
            for eid, title, text in rows:
                pairs.extend((eid, name) for name in match(title or "", text or ""))
            count += len(rows)
            last = rows[-1][0]
        return count, newest, pairs

    @converts_errors
    def rematch(self, match: Callable[[str, str], list[str]], now: datetime
                ) -> tuple[int, int, int]:
        """Apply `match(title, text)` to every stored entry; returns (entries, new, dropped)."""
        stamp = iso(now)
        conn = self.conn
        count, newest, pairs = self.match_all(match)
        with self.write():
            before = {r[0] for r in conn.execute("SELECT url FROM candidates")}
            conn.execute("DELETE FROM entry_topics WHERE entry_id <= ?", (newest,))
            # EXISTS: an entry deleted by retention meanwhile has no row to attach to anyway.
            conn.executemany("INSERT INTO entry_topics (entry_id, topic)"
                             " SELECT CAST(? AS BIGINT), CAST(? AS TEXT)"
                             " WHERE EXISTS (SELECT 1 FROM entries WHERE id = ?)"
                             " ON CONFLICT DO NOTHING",
                             [(eid, topic, eid) for eid, topic in pairs])
            conn.execute("DELETE FROM candidate_topics")
            # Every matched URL becomes (or stays) a candidate; its first matched entry leads it.
            conn.execute(
                "INSERT INTO candidates (url, entry_id, title, published, sort_time, first_seen)"
                " SELECT e.url, e.id, e.title, e.published, coalesce(e.published, ?), ?"
                " FROM entries e WHERE e.id IN (SELECT min(e2.id) FROM entries e2"
                " JOIN entry_topics t ON t.entry_id = e2.id WHERE e2.url IS NOT NULL"
                + (" AND e2.url NOT IN (SELECT url FROM story_articles)" if self.has_stories
                   else "")
                + " GROUP BY e2.url) ORDER BY e.id"
                " ON CONFLICT (url) DO NOTHING", (stamp, stamp))
            conn.execute(
                "INSERT INTO candidate_topics (candidate_id, topic)"
                " SELECT c.id, t.topic FROM candidates c JOIN entries e ON e.url = c.url"
                " JOIN entry_topics t ON t.entry_id = e.id ON CONFLICT DO NOTHING")
            if self.has_stories:  # a story's other articles lend it their topics
                conn.execute(
                    "INSERT INTO candidate_topics (candidate_id, topic)"
                    " SELECT a.candidate_id, t.topic FROM story_articles a JOIN entries e"
                    " ON e.url = a.url JOIN entry_topics t ON t.entry_id = e.id"
                    " ON CONFLICT DO NOTHING")
            # Suggestions match no topic by nature; the relevance refresh that follows a
            # rematch keeps or withdraws them by their score.
            dropped = conn.execute(
                "DELETE FROM candidates WHERE status = 'new' AND suggested = 0 AND id NOT IN"
                f" (SELECT candidate_id FROM candidate_topics) AND id NOT IN ({PROMOTED})"
            ).rowcount
            after = {r[0] for r in conn.execute("SELECT url FROM candidates")}
        return count, len(after - before), dropped

    @converts_errors
    def entry_id(self, source_id: int, key: str) -> int | None:
        """The id of the source's entry with this key (see EntryData.key), or None."""
        row = self.conn.execute("SELECT id FROM entries WHERE source_id = ? AND key = ?",
                                (source_id, key)).fetchone()
        return None if row is None else int(row[0])

    @converts_errors
    def entry_count(self) -> int:
        """How many entries are stored."""
        return int(self.conn.execute("SELECT count(*) FROM entries").fetchone()[0])

    @converts_errors
    def prune(self, older_than: datetime, batch: int = 5000) -> int:
        """Delete entries last seen before `older_than`, except those behind a reviewed candidate.

        In batches, each its own short transaction: a first prune of a year of entries takes
        tens of seconds, and other writers must not wait that long for the lock.
        """
        conn = self.conn
        removed = 0
        while True:
            with self.write():
                # Pollers sharing a database prune after each round: one at a time, or two
                # deleting the same rows could deadlock on PostgreSQL.
                self.serialize("prune")
                # "IN (reviewed)" rather than "!= 'new'": an index finds the few reviewed ones,
                # where "!=" scanned every candidate, once per batch and once per poll.
                cur = conn.execute(
                    "DELETE FROM entries WHERE id IN (SELECT id FROM entries WHERE last_seen < ?"
                    " AND (url IS NULL OR url NOT IN (SELECT url FROM candidates"
                    " WHERE status IN ('featured', 'rejected'))"
                    + (" AND url NOT IN (SELECT a.url FROM story_articles a JOIN candidates c"
                       " ON c.id = a.candidate_id WHERE c.status IN ('featured', 'rejected'))"
                       if self.has_stories else "") + ")"
                    " AND id NOT IN (SELECT entry_id FROM candidates"
                    " WHERE status IN ('featured', 'rejected') AND entry_id IS NOT NULL) LIMIT ?)",
                    (iso(older_than), batch))
                removed += int(cur.rowcount)
            if cur.rowcount < batch:
                break
        if removed:
            with self.write():
                # New candidates whose every entry went with them go too.
                conn.execute(
                    "DELETE FROM candidates WHERE status = 'new' AND NOT EXISTS"
                    " (SELECT 1 FROM entries e WHERE e.url = candidates.url)")
        return removed

