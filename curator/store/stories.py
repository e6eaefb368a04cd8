"""Stories in the database: the index that finds a story for an arriving entry, and its articles.

The store calls in here at three narrow points: when a matched entry would make a new candidate
(`StoryIndex.place`, then `StoryIndex.index` if it made one), when candidates are read
(`also`), and when the editor splits, merges or picks the article to link. The judgement itself
is curator/stories.py; this module only stores and finds.

Tables (migration 0005): `story_articles` maps each of a story's other URLs to its candidate;
`story_keys` maps a story's rare terms and figures to it, with the story's first-seen time, so
an arriving entry looks at the few stories in the window that share a key with it (one indexed
range per key) rather than at every candidate. Keys older than the window are deleted as polls
go, so the index stays the size of the window however large the database grows.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from itertools import groupby
from operator import itemgetter
from sys import intern
from typing import TYPE_CHECKING, Any

from ..clock import iso
from ..exceptions import NotFound, UsageError
from .backend import REPLAN, Connection, insert_rows, pipelining

if TYPE_CHECKING:
    from ..parsed import EntryData

#: Stories looked at for one arriving entry: those sharing the most keys with it.
MAX_STORIES = 4
#: Of a story's articles, the first few give it keys (enough to be found by any wording).
KEYED_ARTICLES = 4
_SIGNATURES = 8192
#: Index keys kept between write batches at most (each with its stories in the window).
_KEPT_KEYS = 50_000


def _time(value: str | None) -> datetime | None:
    # fromisoformat, not clock.parse_iso's strptime: this runs for every article compared.
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


class StoryIndex:
    """Finds and records stories for one Store's connection."""

    def __init__(self, window: int) -> None:
        self.window = window  # seconds; 0 turns grouping off
        self.meaning = True  # what articles mean may decide a near miss (stories.best_story)
        self._sigs: OrderedDict[int, Any] = OrderedDict()
        self._sources: OrderedDict[int, set[int]] = OrderedDict()
        self._firsts: OrderedDict[int, list[tuple[Any, ...]]] = OrderedDict()
        self._swept: datetime | None = None
        # While a write batch is open (see `batch`): the index rows read so far, by key, and
        # the stories' first articles, so that each is read once per batch, not per arrival.
        self._keys: dict[str, tuple[list[str], list[int]]] | None = None
        self._keys_since = ""
        # A story's first articles as (entry id, first seen, published): their signatures are
        # those kept in `_sigs`, so that one bound holds them all (see `_compared`).
        self._batch_members: OrderedDict[int, list[tuple[int, datetime, datetime | None]]] = (
            OrderedDict())
        # Both, kept from one batch to the next while no other connection writes (`batch`).
        self._kept: tuple[dict[str, tuple[list[str], list[int]]],
                          OrderedDict[int, list[tuple[int, datetime, datetime | None]]]
                          ] | None = None
        self._version: int | None = None
        # The index rows this batch adds, written together when it ends (`batch`), by key.
        self._pending: dict[str, list[tuple[str, int]]] = {}
        # How many articles joined each story, as far as this process has seen (`join`).
        self._joined: dict[int, int] = {}
        # Each of those stories' first-seen time, read with it.
        self._first_seen: dict[int, str] = {}
        # The signature of the entry `place` looked at last, for `index` right after it.
        self._placed: tuple[int, Any] | None = None
        # Index rows sent for but not read yet (`prefetch`): the keys, their floor, the cursor.
        self._prefetched: tuple[list[str], str, Any] | None = None
        # Inside a write batch on PostgreSQL: what `join` reads of a story it has not counted
        # yet, sent with `place`'s reads (before the arrival's own article is added).
        self._join_sent: dict[int, Any] = {}
        # The keys of the rows added to `_pending`, in order (for `undo`).
        self._log: list[str] = []

    @contextmanager
    def batch(self, conn: Connection | None = None, version: int | None = None
              ) -> Iterator[None]:
        """Read each index key once for the arrivals of one write transaction, or of several.

        Inside the transaction this process is the only writer of what it reads back (the
        write lock, or on a shared server the rows its own transaction wrote), and it adds
        the keys it writes itself, so what it reads stays exact. What was read is kept for the
        next batch only when `version` (SQLite's data_version, read inside this transaction)
        says that no other connection has committed anything since the last one; without it
        (PostgreSQL), each batch reads afresh.

        The index rows the batch's new stories add are written in one statement at its end,
        on `conn`, inside the transaction; meanwhile its own arrivals find them in memory.
        """
        kept = self._kept
        if (kept is None or version is None or version != self._version
                or len(kept[0]) >= _KEPT_KEYS):
            kept = self._kept = ({}, OrderedDict())
            self._keys_since = ""
            self._joined.clear()
            self._first_seen.clear()
        self._keys, self._batch_members = kept
        self._version = None
        self._log = []
        try:
            yield
            if self._pending and conn is not None:
                self._write_keys(conn)
        except BaseException:
            self._kept = None  # the transaction is undone: so is what it added to the cache
            self._joined.clear()
            self._first_seen.clear()
            raise
        else:
            self._version = version
        finally:
            self._keys, self._batch_members = None, OrderedDict()
            self._pending = {}
            self._prefetched = None
            self._join_sent = {}
            self._log = []

    def _write_keys(self, conn: Connection) -> None:
        insert_rows(conn, "INSERT INTO story_keys (key, first_seen, candidate_id)",
                    [(k, seen, cid) for k, rows in self._pending.items() for seen, cid in rows],
                    " ON CONFLICT DO NOTHING")
        self._pending = {}

    # ------------------------------------------------------------ grouping

    def _signature(self, entry_id: int, title: str, text: str) -> Any:
        if self._placed is not None and self._placed[0] == entry_id:
            return self._placed[1]
        from ..stories import signature

        return signature(title, text)

    def _remember(self, entry_id: int, value: tuple[datetime, datetime | None, Any]
                  ) -> tuple[datetime, datetime | None, Any]:
        """Keep an article's times and signature (made compact: thousands are kept, and those
        of a write batch's stories are kept with them; see `batch`); returns what is kept."""
        from ..stories import compact

        value = (value[0], value[1], compact(value[2]))
        self._sigs[entry_id] = value
        if len(self._sigs) > _SIGNATURES:
            self._sigs.popitem(last=False)
        return value

    def place(self, conn: Connection, entry_id: int, source_id: int, e: EntryData,
              now: datetime, sig: Any = None) -> int | None:
        """The candidate whose story the new entry reports, or None to make a candidate of it.

        `sig` is the entry's signature when the parse worker computed it, else None.
        """
        if not self.window:
            return None
        from ..stories import MAX_COMPARED, Article, Story, best_story

        self._sweep(conn, now)
        if sig is None:
            from ..stories import signature

            sig = signature(e.title, e.text)
        # Kept for `index` (an entry updated later is placed again: from its new text).
        self._placed = (entry_id, sig)
        # As one of a story's first articles (its own or one it joins), it is compared with
        # what comes next: kept for that, unless the story it joins has its first already.
        member = (now, e.published, sig)
        if sig.generic or not sig.keys:
            self._remember(-entry_id, member)
            return None
        found, common = self._find(conn, sig.keys, iso(now - timedelta(seconds=self.window)) or "")
        published = e.published
        stories: list[Story] = []
        firsts: dict[int, int] = {}
        # What is not kept of these stories is asked for at once (one round trip on
        # PostgreSQL, whose pipeline sends the statements together) and read as needed.
        sent = {cid: (self._send_sources(conn, cid), self._send_members(conn, cid))
                if pipelining(conn) else (None, None) for cid in found}
        if self._keys is not None and pipelining(conn):
            # What `join` reads of the story the arrival joins, if it joins one it has not
            # counted in this batch: sent with the rest, not waited for alone.
            for cid in found:
                if cid not in self._joined and cid not in self._join_sent:
                    self._join_sent[cid] = self._send_joined(conn, cid)
        for cid in found:
            # One outlet's second article on a story stays its own (see stories.best_story).
            if source_id in self._story_sources(conn, cid, sent[cid][0]):
                continue
            kept: list[tuple[datetime, Any]] = []
            compared = self._compared(conn, cid, now, sent[cid][1])
            firsts[cid] = len(compared)
            for seen, other, m_sig in compared:
                # First seen within the window, and published within it too where both say:
                # a first poll sees months of articles at once.
                if published and other:
                    if abs((published - other).total_seconds()) > self.window:
                        continue
                    seen = min(seen, other)
                kept.append((seen, m_sig))
            if kept:
                stories.append(Story(id=cid, first_seen=kept[0][0], sources=set(), members=kept))
        at = min(now, published) if published else now
        article = Article(id=entry_id, source=str(source_id), title=e.title, text=e.text, seen=at)
        story = (best_story(article, sig, stories, meaning=self.meaning, common=common)
                 if stories else None)
        if story is None or firsts[story.id] < MAX_COMPARED:
            self._remember(-entry_id, member)
        return story.id if story else None

    def _find(self, conn: Connection, keys: Sequence[str], since: str
              ) -> tuple[list[int], set[str]]:
        """The stories in the window sharing the most telling keys with these (MAX_STORIES),
        and the keys that more than COMMON of the window's stories share.

        A key weighs one over the number of the window's stories it finds (its document
        frequency), and one that more than COMMON of them share finds none: a word that
        dozens of the window's stories share (a template's "scrutiny", a beat's "antitrust")
        tells no story apart. Counting all of them for each arrival was most of what
        placement cost; comparing with the few it ranked first, most of the rest.
        """
        from ..stories import COMMON

        cache = self._keys
        if cache is None:  # outside a write batch: what this arrival reads is for it alone
            cache, floor = {}, since
        else:
            floor = self._floor(since)
            self._take_prefetched()
        keys = list(dict.fromkeys(keys))
        missing = [k for k in keys if k not in cache]
        if missing:
            self._read_keys(cache, missing, floor, self._send_keys(conn, missing, floor))
        # Each shared key weighs one over the number of the window's stories it finds, so that
        # a rare name or amount outweighs any number of words the beat uses every day.
        counts: dict[int, float] = {}
        common: set[str] = set()
        get = counts.get
        for key in keys:
            seen, cids = cache[key]
            at = bisect_left(seen, since)
            if at < len(cids):
                if len(cids) - at > COMMON:
                    common.add(key)
                    continue
                weight = 1.0 / (len(cids) - at)
                for cid in cids[at:]:
                    counts[cid] = get(cid, 0.0) + weight
        # The heaviest first, then the newest (the highest id).
        ranked = heapq.nlargest(MAX_STORIES, zip(counts.values(), counts, strict=True))
        return [cid for _, cid in ranked], common

    def _floor(self, since: str) -> str:
        """Inside a write batch: the earliest first-seen time the keys read hold rows from."""
        assert self._keys is not None
        if since < self._keys_since:  # an earlier clock than the rows read so far: again
            self._keys.clear()
            self._prefetched = None
        if not self._keys and self._prefetched is None:
            self._keys_since = since  # later arrivals' windows start later: cut below
        return self._keys_since

    def _send_keys(self, conn: Connection, keys: Sequence[str], floor: str) -> Any:
        # In the primary key's order: each key's rows by first-seen time, for bisect in _find.
        return conn.execute(
            f"SELECT key, first_seen, candidate_id FROM story_keys WHERE key IN"
            f" ({','.join('?' * len(keys))}) AND first_seen >= ?"
            " ORDER BY key, first_seen, candidate_id", (*keys, floor))

    def _read_keys(self, cache: dict[str, tuple[list[str], list[int]]], keys: Sequence[str],
                   floor: str, cur: Any) -> None:
        """The rows `_send_keys` asked for, into `cache`, with those this batch added that
        wait to be written."""
        fresh = set(keys)  # of the rows sent for, those of keys read before are not taken
        for k in keys:
            cache[k] = ([], [])
        for key, group in groupby(cur.fetchall(), itemgetter(0)):
            if key in fresh:
                _, times, ids = zip(*group, strict=True)
                # One copy of each time (to the second: a poll's stories share a few).
                cache[key] = ([intern(t) for t in times], list(ids))
        for k in keys:  # rows this batch added that are not written yet
            for first_seen, cid in self._pending.get(k, ()) if cache is self._keys else ():
                if first_seen >= floor:
                    _add_row(cache[k], first_seen, cid)

    def prefetch(self, conn: Connection, keys: Sequence[Sequence[str]], now: datetime) -> None:
        """Inside a write batch: send now the index rows of these keys (the signatures of a
        source's matched entries), to be read with the caller's other answers (on PostgreSQL,
        pipelined: no round trip of their own) when the first of them is placed."""
        if self._keys is None or not keys:
            return
        self._take_prefetched()
        floor = self._floor(iso(now - timedelta(seconds=self.window)) or "")
        wanted = [k for k in dict.fromkeys(k for ks in keys for k in ks) if k not in self._keys]
        if wanted:
            self._prefetched = (wanted, floor, self._send_keys(conn, wanted, floor))

    def _take_prefetched(self) -> None:
        """Read what `prefetch` sent, if it waits."""
        if self._prefetched is not None and self._keys is not None:
            wanted, floor, cur = self._prefetched
            self._prefetched = None
            self._read_keys(self._keys, [k for k in wanted if k not in self._keys], floor, cur)

    def mark(self) -> int:
        """Where the write batch's waiting index rows stand now (for `undo`)."""
        return len(self._log)

    def undo(self, mark: int) -> None:
        """A part of the write batch was undone (a source whose write failed): drop the index
        rows it added that wait to be written (they would name candidates that are no more),
        and everything read or kept meanwhile, which may hold what it wrote."""
        for key in reversed(self._log[mark:]):
            rows = self._pending.get(key)
            if rows:
                rows.pop()
            if not rows:
                self._pending.pop(key, None)
        del self._log[mark:]
        for kept in (self._sigs, self._sources, self._firsts, self._batch_members, self._joined,
                     self._first_seen, self._join_sent):
            kept.clear()
        self._kept = None
        self._prefetched = None
        if self._keys:
            self._keys.clear()

    def forget(self, *candidate_ids: int) -> None:
        """Drop what is kept of these stories (after a split, a merge or a new link changed
        them), and what is kept of the index."""
        for cid in candidate_ids:
            self._sources.pop(cid, None)
            self._firsts.pop(cid, None)
            self._batch_members.pop(cid, None)
            self._joined.pop(cid, None)
            self._first_seen.pop(cid, None)
        self._kept = None
        self._prefetched = None
        self._join_sent = {}
        if self._keys:
            self._keys.clear()

    def _send_sources(self, conn: Connection, cid: int) -> Any:
        """The read `_story_sources` needs, sent now (None when kept)."""
        if cid in self._sources:
            return None
        return conn.execute(
            "SELECT DISTINCT e.source_id FROM (SELECT url FROM candidates WHERE id = ?"
            " UNION ALL SELECT url FROM story_articles WHERE candidate_id = ?) u"
            " JOIN entries e ON e.url = u.url" + REPLAN, (cid, cid))

    def _send_members(self, conn: Connection, cid: int) -> Any:
        """The read `_members` needs, sent now (None when kept)."""
        from ..stories import MAX_COMPARED

        if cid in self._firsts or (self._keys is not None and cid in self._batch_members):
            return None
        return conn.execute(
            "SELECT e.id, e.first_seen, e.published FROM entries e WHERE e.url IN"
            " (SELECT url FROM candidates WHERE id = ? UNION ALL SELECT url FROM"
            " (SELECT url FROM story_articles WHERE candidate_id = ? ORDER BY added, id"
            " LIMIT ?) a) ORDER BY e.first_seen, e.id LIMIT ?",
            (cid, cid, MAX_COMPARED, MAX_COMPARED))

    def _send_joined(self, conn: Connection, cid: int) -> Any:
        """How many other articles the story has, and when it was first seen (`join`)."""
        return conn.execute("SELECT (SELECT count(*) FROM story_articles WHERE candidate_id = ?),"
                            " (SELECT first_seen FROM candidates WHERE id = ?)", (cid, cid))

    def _story_sources(self, conn: Connection, cid: int, sent: Any = None) -> set[int]:
        """The sources of a story's articles, read once per story for the life of the Store.

        Looked up by the story's URLs (`+e.source_id` keeps SQLite off the source's own
        entries, which grow with the database). Another process's additions meanwhile are
        missed; that only lets its outlet's second article join, never loses one.
        """
        known = self._sources.get(cid)
        if known is None:
            known = {int(r[0]) for r in sent or self._send_sources(conn, cid)}
            self._sources[cid] = known
            if len(self._sources) > _SIGNATURES:
                self._sources.popitem(last=False)
        return known

    def _compared(self, conn: Connection, cid: int, now: datetime, sent: Any = None
                  ) -> list[tuple[datetime, datetime | None, Any]]:
        """The times and signatures of the story's first articles (see `_members`)."""
        members = self._batch_members
        held = members.get(cid) if self._keys is not None else None
        if held is None:
            rows = self._members(conn, cid, sent)
            compared = [self._member(conn, m_id, m_first, m_published, now)
                        for m_id, m_first, m_published in rows]
            if self._keys is not None:
                # Until an article joins it (see `join`). The articles' ids and times only:
                # their signatures stay in `_sigs`, whose bound is then the bound of all the
                # signatures this process holds. A batch that held its stories' signatures
                # itself kept them alive past that bound: 13,000 instead of 8,192 (42 MB) at
                # the end of a first poll of 10,000 news feeds.
                members[cid] = [(int(m_id), seen, published) for (m_id, _, _), (
                    seen, published, _) in zip(rows, compared, strict=True)]
                # The most recently compared stories only, as many as signatures are kept:
                # a first poll of 10,000 feeds compared 13,600 stories.
                if len(members) > _SIGNATURES:
                    members.popitem(last=False)
        else:
            members.move_to_end(cid)
            compared = [self._known(conn, m_id, seen, published)
                        for m_id, seen, published in held]
        return compared

    def _members(self, conn: Connection, cid: int, sent: Any = None) -> list[tuple[Any, ...]]:
        """The story's first few articles (one entry per outlet's copy), first seen first."""
        from ..stories import MAX_COMPARED

        # The candidate's own article and the first that joined: a story of 300 outlets costs
        # no more than one of six.
        firsts = self._firsts.get(cid)
        if firsts is not None:
            return firsts
        rows: list[tuple[Any, ...]] = (sent or self._send_members(conn, cid)).fetchall()
        firsts = rows
        if len(firsts) == MAX_COMPARED:
            # A story's first articles stay its first: kept until a split or merge changes it.
            self._firsts[cid] = firsts
            if len(self._firsts) > _SIGNATURES:
                self._firsts.popitem(last=False)
        return firsts

    def _member(self, conn: Connection, entry_id: int, first_seen: str | None,
                published: str | None, now: datetime) -> tuple[datetime, datetime | None, Any]:
        """An article's times and signature, kept for the life of the Store."""
        cached = self._sigs.get(-entry_id)
        if cached is not None:
            self._sigs.move_to_end(-entry_id)
            return cached  # type: ignore[no-any-return]
        return self._read_member(conn, entry_id, _time(first_seen) or now, _time(published))

    def _known(self, conn: Connection, entry_id: int, seen: datetime, published: datetime | None
               ) -> tuple[datetime, datetime | None, Any]:
        """`_member` of an article whose times were read before (a batch's story's)."""
        cached = self._sigs.get(-entry_id)
        if cached is not None:
            self._sigs.move_to_end(-entry_id)
            return cached  # type: ignore[no-any-return]
        return self._read_member(conn, entry_id, seen, published)

    def _read_member(self, conn: Connection, entry_id: int, seen: datetime,
                     published: datetime | None) -> tuple[datetime, datetime | None, Any]:
        """An article's signature, from its stored title and text, kept with these times."""
        row = conn.execute("SELECT title, substr(text, 1, 1000) FROM entries WHERE id = ?",
                           (entry_id,)).fetchone()
        from ..stories import signature

        return self._remember(-entry_id, (
            seen, published,
            signature(row[0] or "", row[1] or "") if row else signature("", "")))

    def index(self, conn: Connection, candidate_id: int, entry_id: int, e: EntryData,
              first_seen: str | None = None) -> None:
        """Give the story's keys from this article, so later articles can find the story.

        `first_seen` is the story's, when the caller knows it (it has just made the story).
        Inside a write batch the rows wait for its end (`batch`), and its arrivals find them
        in memory; outside one they are written at once.
        """
        if not self.window:
            return
        sig = self._signature(entry_id, e.title, e.text)
        if sig.generic:
            return
        if first_seen is None:
            first_seen = conn.execute("SELECT first_seen FROM candidates WHERE id = ?",
                                      (candidate_id,)).fetchone()[0]
        if self._keys is None:
            self._kept = None  # what a batch kept of the index misses these rows
            self._pending = {k: [(first_seen, candidate_id)] for k in sig.keys}
            self._write_keys(conn)
            return
        for k in sig.keys:
            rows = self._keys.get(k)
            # Not read yet (`_find` adds the waiting rows to what it reads), or new to it.
            if rows is None or _add_row(rows, first_seen, candidate_id):
                self._pending.setdefault(k, []).append((first_seen, candidate_id))
                self._log.append(k)

    def join(self, conn: Connection, candidate_id: int, entry_id: int, source_id: int,
             e: EntryData, stamp: str | None) -> None:
        """Record the entry's URL as another article of the candidate's story."""
        from ..stories import MAX_COMPARED

        if candidate_id in self._sources:
            self._sources[candidate_id].add(source_id)
        compared = self._batch_members.get(candidate_id)
        if compared is not None and len(compared) < MAX_COMPARED:
            member = self._sigs.get(-entry_id)
            # It is the story's newest article: the last of its first few (see `_members`).
            if member is not None and compared and compared[-1][1] <= member[0]:
                compared.append((entry_id, member[0], member[1]))
            else:
                self._batch_members.pop(candidate_id, None)
        sent = self._join_sent.pop(candidate_id, None) if self._keys is not None else None
        conn.execute("INSERT INTO story_articles (url, candidate_id, added)"
                     " VALUES (?, ?, ?) ON CONFLICT DO NOTHING", (e.url, candidate_id, stamp))
        count = self._joined.get(candidate_id)
        first_seen = self._first_seen.get(candidate_id)
        if count is None or self._keys is None:
            # How many articles the story has, and when it was first seen (for `index`):
            # read now, or sent by `place` before this article was added (then one more).
            count, first_seen = (sent or self._send_joined(conn, candidate_id)).fetchone()
            count += 1 if sent is not None else 0
            self._first_seen[candidate_id] = first_seen
        else:
            count += 1
        self._joined[candidate_id] = count
        if count < KEYED_ARTICLES:
            self.index(conn, candidate_id, entry_id, e, first_seen)

    def _sweep(self, conn: Connection, now: datetime) -> None:
        """Drop keys of stories older than the window, at most once an hour."""
        if self._swept and now - self._swept < timedelta(hours=1):
            return
        self._swept = now
        conn.execute("DELETE FROM story_keys WHERE first_seen < ?",
                     (iso(now - timedelta(seconds=self.window)),))


def _add_row(rows: tuple[list[str], list[int]], first_seen: str, candidate_id: int) -> bool:
    """Add an index row to a key's rows read (kept in the primary key's order), unless there."""
    seen, cids = rows
    if not seen or seen[-1] < first_seen or seen[-1] == first_seen and cids[-1] < candidate_id:
        # After every row (a poll's new stories: its clock and ids only grow), where the
        # bisections below would put it.
        seen.append(first_seen)
        cids.append(candidate_id)
        return True
    lo = bisect_left(seen, first_seen)
    hi = bisect_right(seen, first_seen, lo)
    at = bisect_left(cids, candidate_id, lo, hi)  # rows of one time are in id order
    if at < hi and cids[at] == candidate_id:
        return False
    seen.insert(at, first_seen)
    cids.insert(at, candidate_id)
    return True


def story_of(conn: Connection, url: str) -> int | None:
    """The candidate whose story has this URL among its other articles."""
    row = conn.execute("SELECT candidate_id FROM story_articles WHERE url = ?", (url,)).fetchone()
    return int(row[0]) if row else None


def also(conn: Connection, candidate_ids: Sequence[int]
         ) -> dict[int, list[dict[str, Any]]]:
    """Each candidate's other articles, in the order they joined: title, url, source, more."""
    out: dict[int, list[dict[str, Any]]] = {cid: [] for cid in candidate_ids}
    for i in range(0, len(candidate_ids), 500):
        chunk = candidate_ids[i:i + 500]
        marks = ",".join("?" * len(chunk))
        for cid, url, title, source, feed, link, published, first_seen in conn.execute(
                "SELECT a.candidate_id, a.url, e.title, coalesce(s.name, s.title, s.url),"
                " s.url_in_use, e.link, e.published, e.first_seen FROM story_articles a"
                " JOIN entries e ON e.id = (SELECT min(e2.id) FROM entries e2 WHERE e2.url = a.url)"
                " JOIN sources s ON s.id = e.source_id"
                f" WHERE a.candidate_id IN ({marks}) ORDER BY a.added, a.id", chunk):
            out[cid].append({"title": title, "url": url, "source": source, "feed": feed,
                             "link": link, "published": published, "first_seen": first_seen})
    return out


def split(conn: Connection, candidate_id: int, url: str, stamp: str | None) -> int:
    """Make one of the story's other articles a candidate of its own; its id."""
    if story_of(conn, url) != candidate_id:
        raise UsageError(f"{url} is not one of the other articles of candidate {candidate_id}")
    entry = conn.execute("SELECT id, title, published FROM entries WHERE url = ?"
                         " ORDER BY first_seen, id LIMIT 1", (url,)).fetchone()
    if entry is None:
        raise NotFound("article", url)
    conn.execute("DELETE FROM story_articles WHERE url = ?", (url,))
    new_id = int(conn.execute(
        "INSERT INTO candidates (url, entry_id, title, published, sort_time, first_seen)"
        " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        (url, entry[0], entry[1], entry[2], entry[2] or stamp, stamp)).fetchall()[0][0])
    conn.execute("INSERT INTO candidate_topics (candidate_id, topic)"
                 " SELECT DISTINCT CAST(? AS BIGINT), t.topic FROM entries e JOIN entry_topics t"
                 " ON t.entry_id = e.id WHERE e.url = ? ON CONFLICT DO NOTHING", (new_id, url))
    refresh_topics(conn, candidate_id)
    return new_id


def merge(conn: Connection, candidate_id: int, other_id: int, stamp: str | None) -> None:
    """Make the other candidate's articles (its own and its story's) part of this story."""
    if candidate_id == other_id:
        raise UsageError("a candidate cannot be merged with itself")
    row = conn.execute("SELECT url FROM candidates WHERE id = ?", (other_id,)).fetchone()
    if row is None:
        raise NotFound("candidate", other_id)
    conn.execute("UPDATE story_articles SET candidate_id = ? WHERE candidate_id = ?",
                 (candidate_id, other_id))
    conn.execute("UPDATE story_keys SET candidate_id = ? WHERE candidate_id = ?"
                 " AND NOT EXISTS (SELECT 1 FROM story_keys k WHERE k.key = story_keys.key"
                 " AND k.first_seen = story_keys.first_seen AND k.candidate_id = ?)",
                 (candidate_id, other_id, candidate_id))
    conn.execute("DELETE FROM candidates WHERE id = ?", (other_id,))
    conn.execute("INSERT INTO story_articles (url, candidate_id, added) VALUES (?, ?, ?)",
                 (row[0], candidate_id, stamp))
    refresh_topics(conn, candidate_id)


def link(conn: Connection, candidate_id: int, url: str, stamp: str | None) -> None:
    """Make another of the story's articles the one the candidate links; the old one joins `also`."""
    current = conn.execute("SELECT url FROM candidates WHERE id = ?", (candidate_id,)).fetchone()
    if current is None:
        raise NotFound("candidate", candidate_id)
    if current[0] == url:
        return
    if story_of(conn, url) != candidate_id:
        raise UsageError(f"{url} is not one of the articles of candidate {candidate_id}; "
                         "`curator show` lists them")
    entry = conn.execute("SELECT id, title, published FROM entries WHERE url = ?"
                         " ORDER BY first_seen, id LIMIT 1", (url,)).fetchone()
    conn.execute("DELETE FROM story_articles WHERE url = ?", (url,))
    conn.execute("UPDATE candidates SET url = ?, entry_id = ?, title = ?, published = ?"
                 " WHERE id = ?", (url, entry[0], entry[1], entry[2], candidate_id))
    conn.execute("INSERT INTO story_articles (url, candidate_id, added) VALUES (?, ?, ?)",
                 (current[0], candidate_id, stamp))


def refresh_topics(conn: Connection, candidate_id: int) -> None:
    """A story's topics: those of all its articles' entries."""
    conn.execute("DELETE FROM candidate_topics WHERE candidate_id = ?", (candidate_id,))
    conn.execute(
        "INSERT INTO candidate_topics (candidate_id, topic)"
        " SELECT DISTINCT CAST(? AS BIGINT), t.topic FROM entries e"
        " JOIN entry_topics t ON t.entry_id = e.id"
        " WHERE e.url IN (SELECT url FROM candidates WHERE id = ?"
        " UNION ALL SELECT url FROM story_articles WHERE candidate_id = ?) ON CONFLICT DO NOTHING",
        (candidate_id, candidate_id, candidate_id))
