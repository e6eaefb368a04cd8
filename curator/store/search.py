"""Finding what the topics did not: full-text search over every stored entry (SQLite FTS5, or
PostgreSQL's text search), making any entry a candidate, and what a rematch would change.

The index is `entries_fts`, an FTS5 table over the entries' title and plain text (their summary
and content), with the entries table as its content. The entries a transaction stores are indexed
together when it commits (a poll's, a few thousand at a time and at its end), and a search first
indexes any that wait; triggers mend
the index when an indexed entry changes or is deleted (searchindex.py says how). It is built by
migration 0008 for databases that already hold entries. On PostgreSQL it is a generated tsvector
column of the entries with a GIN index (pg_schema.py); both read the same query language.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ..clock import iso
from ..exceptions import NotFound, UsageError
from . import searchindex
from .base import converts_errors as _converts_errors
from .entries import PROMOTED, EntryStore
from .pg_schema import SEARCH_VECTOR

__all__ = ["MAX_QUERY", "SNIPPET_END", "SNIPPET_START", "SearchStore", "fts_query", "parse_query",
           "ts_query"]

#: Characters of a query that are read; the rest is ignored (a query is typed, not pasted books).
MAX_QUERY = 500
#: Words and phrases of a query that are used.
MAX_TERMS = 16
#: Marks around the matched words in a snippet: control characters, which no stored text holds
#: (they are stripped on the way in), so the desk can escape the text and then mark the matches.
SNIPPET_START = "\x02"
SNIPPET_END = "\x03"

_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')
_WORD = re.compile(r"\w+")
# The title weighs more than the body: a story about the query is likelier than a mention.
_RANK = "bm25(entries_fts, 8.0, 1.0)"


#: A query as read: groups joined by OR, each a list of terms that must all be found; terms
#: that must not be. A term is its words (a phrase when more than one) and whether its last is a
#: prefix.
Term = tuple[list[str], bool]


def parse_query(text: str) -> tuple[list[list[Term]], list[Term]]:
    """A user's query read into terms: no query is an error, and anything else is words.

    Words must all be found (in any order, any field); "quoted words" are a phrase; a trailing *
    makes a prefix; OR between two terms accepts either; a leading - excludes a word or phrase.
    """
    groups: list[list[Term]] = [[]]
    excluded: list[Term] = []
    terms = 0
    for m in _TOKEN.finditer(text[:MAX_QUERY]):
        if terms >= MAX_TERMS:
            break
        negated, quoted, bare = m.group(1) == "-", m.group(2), m.group(3)
        if bare is not None:
            if bare == "OR":
                if groups[-1]:
                    groups.append([])
                continue
            negated = bare.startswith("-")
            body = bare.lstrip("-")
            prefix = body.endswith("*")
        else:
            body, prefix = quoted or "", False
        words = _WORD.findall(body)
        if not words:
            continue
        terms += 1
        (excluded if negated else groups[-1]).append((words, prefix))
    return [g for g in groups if g], excluded


def fts_query(text: str) -> str | None:
    """A user's query as a safe FTS5 MATCH expression, or None when it has nothing to find.

    Everything but the query language (see parse_query), FTS5's own syntax included, is read as
    plain words.
    """
    groups, excluded = parse_query(text)
    if not groups:
        return None

    def term(t: Term) -> str:
        return '"' + " ".join(t[0]) + '"' + ("*" if t[1] else "")

    expr = " OR ".join("(" + " AND ".join(term(t) for t in g) + ")" for g in groups)
    if excluded:
        expr = f"({expr}) NOT ({' OR '.join(term(t) for t in excluded)})"
    return expr


def ts_query(text: str) -> str | None:
    """The same query as PostgreSQL's to_tsquery reads it, or None when it has nothing to find."""
    groups, excluded = parse_query(text)
    if not groups:
        return None

    def term(t: Term) -> str:
        words, prefix = t
        # \w+ words hold no quote; quoted, none of them is read as an operator.
        lexemes = [f"'{w}'" for w in words]
        if prefix:
            lexemes[-1] += ":*"
        return "(" + " <-> ".join(lexemes) + ")"

    expr = " | ".join("(" + " & ".join(term(t) for t in g) + ")" for g in groups)
    if excluded:
        expr = f"({expr}) & !({' | '.join(term(t) for t in excluded)})"
    return expr


# PostgreSQL: a weighted tsvector (title A, text B, see pg_schema) ranked as FTS5's bm25 is
# weighted (the title 8 times the body); the snippet of the page's rows only. Entries whose
# vector a poll has not filled yet (a few thousand at most, listed by a partial index) are
# read with one computed from their text, so a search finds every stored entry.
_PG_SEARCH = f"""
    WITH q AS (SELECT to_tsquery('curator_search', ?) AS query),
    hits AS (
        SELECT e.id, -ts_rank('{{0, 0, 0.125, 1}}', e.search, q.query) AS rank
        FROM entries e, q WHERE e.search @@ q.query
        UNION ALL
        SELECT e.id, -ts_rank('{{0, 0, 0.125, 1}}', ({SEARCH_VECTOR}), q.query) AS rank
        FROM entries e, q WHERE e.search IS NULL AND ({SEARCH_VECTOR}) @@ q.query
    ), ranked AS (
        SELECT h.id, h.rank, row_number() OVER (
            PARTITION BY coalesce(e.url, 'entry:' || e.id) ORDER BY h.rank, e.id) AS n
        FROM hits h JOIN entries e ON e.id = h.id
    ), page AS (
        SELECT e.id AS entry, e.title, coalesce(e.url, e.link) AS url,
               coalesce(s.name, s.title, s.url) AS source, e.published,
               c.id AS candidate, c.status AS status, r.rank, e.text
        FROM ranked r JOIN entries e ON e.id = r.id
        LEFT JOIN sources s ON s.id = e.source_id
        LEFT JOIN candidates c ON c.id = {{candidate}}
        WHERE r.n = 1
        ORDER BY r.rank, e.published DESC, e.id DESC
        LIMIT ? OFFSET ?
    )
    SELECT p.entry, p.title, p.url, p.source, p.published, p.candidate, p.status,
           ts_headline('curator_search', left(p.text, 100000), q.query, ?) AS snippet
    FROM page p, q
    ORDER BY p.rank, p.published DESC, p.entry DESC"""
_PG_SNIPPET = (f'StartSel="{SNIPPET_START}", StopSel="{SNIPPET_END}", MaxWords=24, MinWords=12,'
               ' ShortWord=0')


class SearchStore:
    """Search and promote, on one curator database."""

    def __init__(self, store: EntryStore) -> None:
        self.store = store
        self.conn = store.conn

    @property
    def where(self) -> str:
        """The database, as errors name it."""
        return self.store.where

    def _candidate_of(self, url: str) -> str:
        """SQL for the candidate an article URL belongs to: its own, or its story's."""
        own = f"(SELECT id FROM candidates WHERE url = {url})"
        if not self.store.has_stories:
            return own
        return (f"coalesce({own}, (SELECT candidate_id FROM story_articles"
                f" WHERE url = {url}))")

    @_converts_errors
    def search(self, query: str, *, limit: int = 20, offset: int = 0) -> list[dict[str, Any]]:
        """Entries matching the query, best match first; one row per article URL.

        Each row: entry, title, url, source, published, candidate (its id or None), status
        (the candidate's) and snippet (the text around the matches, marked with SNIPPET_START
        and SNIPPET_END).
        """
        if self.store.postgres:
            pg_expr = ts_query(query)
            if pg_expr is None or limit <= 0:
                return []
            sql = _PG_SEARCH.replace("{candidate}", self._candidate_of("e.url"))
            return self.store._q(sql, (pg_expr, limit, max(offset, 0), _PG_SNIPPET))
        expr = fts_query(query)
        if expr is None or limit <= 0:
            return []
        if self.store.has_search_index and searchindex.behind(self.conn):
            # Entries that a writer stored without indexing them: indexed first, so a search
            # always sees every stored entry.
            with self.store.write():
                self.store._index_entries()
        # The same article from several sources is one result: the copy that matches best.
        sql = f"""
            WITH hits AS (
                SELECT rowid AS id, {_RANK} AS rank,
                       snippet(entries_fts, 1, ?, ?, '…', 24) AS snippet
                FROM entries_fts WHERE entries_fts MATCH ?
            ), ranked AS (
                SELECT h.id, h.rank, h.snippet, row_number() OVER (
                    PARTITION BY coalesce(e.url, 'entry:' || e.id) ORDER BY h.rank, e.id) AS n
                FROM hits h JOIN entries e ON e.id = h.id
            )
            SELECT e.id AS entry, e.title, coalesce(e.url, e.link) AS url,
                   coalesce(s.name, s.title, s.url) AS source, e.published,
                   c.id AS candidate, c.status AS status, r.snippet
            FROM ranked r JOIN entries e ON e.id = r.id
            LEFT JOIN sources s ON s.id = e.source_id
            LEFT JOIN candidates c ON c.id = {self._candidate_of("e.url")}
            WHERE r.n = 1
            ORDER BY r.rank, e.published DESC, e.id DESC
            LIMIT ? OFFSET ?"""
        return self.store._q(sql, (SNIPPET_START, SNIPPET_END, expr, limit, max(offset, 0)))

    @_converts_errors
    def entry(self, entry_id: int) -> dict[str, Any]:
        """One stored entry: id, title, url, source, published, text, candidate."""
        row = self.store._one(
            "SELECT e.id AS entry, e.title, coalesce(e.url, e.link) AS url, e.url AS canonical,"
            " coalesce(s.name, s.title, s.url) AS source, e.published, e.text,"
            f" {self._candidate_of('e.url')} AS candidate"
            " FROM entries e LEFT JOIN sources s ON s.id = e.source_id WHERE e.id = ?",
            (entry_id,))
        if row is None:
            raise NotFound("entry", entry_id)
        return row

    @_converts_errors
    def promote(self, entry_id: int, *, editor: str, now: datetime) -> tuple[int, bool]:
        """Make the entry's article a candidate with no topics; (candidate id, whether new).

        An article that already is a candidate stays as it is. The promotion is recorded in the
        review log with the editor, and keeps the candidate in the queue when no topic matches it.
        """
        stamp = iso(now)
        with self.store.write():
            conn = self.conn
            row = conn.execute("SELECT url, title, published FROM entries WHERE id = ?",
                               (entry_id,)).fetchone()
            if row is None:
                raise NotFound("entry", entry_id)
            url, title, published = row
            if not url:
                raise UsageError(f"entry {entry_id} has no link to an article, so it cannot be "
                                 f"a candidate")
            story = conn.execute(f"SELECT {self._candidate_of('?')}", (url, url)
                                 ).fetchone()[0] if self.store.has_stories else None
            if story is not None:
                return int(story), False  # already a candidate, or an article of one's story
            cur = conn.execute(
                "INSERT INTO candidates (url, entry_id, title, published, sort_time, first_seen)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (url) DO NOTHING",
                (url, entry_id, title, published, published or stamp, stamp))
            created = cur.rowcount == 1
            cid = int(conn.execute("SELECT id FROM candidates WHERE url = ?", (url,)).fetchone()[0])
            if created:
                conn.execute("INSERT INTO review_log (candidate_id, action, editor, at)"
                             " VALUES (?, 'promote', ?, ?)", (cid, editor, stamp))
        return cid, created

    @_converts_errors
    def rematch_preview(self, match: Callable[[str, str], list[str]]) -> dict[str, Any]:
        """What `rematch` would do with `match`, changing nothing.

        {"entries", "new_candidates", "dropped", "add": [{"url", "title", "topics"}],
        "drop": [{"id", "url", "title", "topics"}], "changed": [{"id", "url", "title",
        "before", "after"}]}: the articles that would become candidates, the new candidates that
        would leave the queue, and the candidates that would keep their place with other topics.
        """
        count, newest, pairs = self.store.match_all(match)
        conn = self.conn
        by_entry: dict[int, set[str]] = {}
        for eid, topic in pairs:
            by_entry.setdefault(eid, set()).add(topic)
        after: dict[str, set[str]] = {}
        first: dict[str, int] = {}
        ids = sorted(by_entry)
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            marks = ",".join("?" * len(chunk))
            for eid, url in conn.execute(
                    f"SELECT id, url FROM entries WHERE id IN ({marks}) AND url IS NOT NULL",
                    chunk):
                after.setdefault(url, set()).update(by_entry[eid])
                first[url] = min(first.get(url, eid), eid)
        # Entries stored after the matching began keep the topics their poll gave them.
        for url, topic in conn.execute(
                "SELECT e.url, t.topic FROM entry_topics t JOIN entries e ON e.id = t.entry_id"
                " WHERE e.id > ? AND e.url IS NOT NULL", (newest,)):
            after.setdefault(url, set()).add(topic)
        current: dict[str, dict[str, Any]] = {}
        # A rematch keeps what the editors made (promote) and, where the learned queue is in
        # the schema, its suggestions: they never had topics to lose.
        kept = f"id IN ({PROMOTED})" + (" OR suggested != 0"
                                        if self.store.has_column("candidates", "suggested")
                                        else "")
        for cid, url, title, status, promoted in conn.execute(
                f"SELECT id, url, title, status, {kept} FROM candidates"):
            current[url] = {"id": cid, "url": url, "title": title, "status": status,
                            "promoted": bool(promoted), "topics": set()}
        by_id = {c["id"]: c for c in current.values()}
        for cid, topic in conn.execute("SELECT candidate_id, topic FROM candidate_topics"):
            if cid in by_id:
                by_id[cid]["topics"].add(topic)
        articles: dict[str, int] = {}
        if self.store.has_stories:
            articles = dict(conn.execute("SELECT url, candidate_id FROM story_articles"))
        # A story's other articles lend it their topics, and never make candidates of their own.
        lent: dict[int, set[str]] = {}
        for url, cid in articles.items():
            lent.setdefault(cid, set()).update(after.get(url, ()))
        add_urls = [url for url in after if url not in current and url not in articles]
        titles: dict[int, str] = {}
        wanted = sorted(first[url] for url in add_urls if url in first)
        for i in range(0, len(wanted), 500):
            chunk = wanted[i:i + 500]
            marks = ",".join("?" * len(chunk))
            titles.update(conn.execute(
                f"SELECT id, title FROM entries WHERE id IN ({marks})", chunk).fetchall())
        add = [{"url": url, "title": titles.get(first.get(url, -1), ""),
                "topics": sorted(after[url])} for url in sorted(add_urls, key=lambda u: first.get(u, 0))]
        drop, changed = [], []
        for c in sorted(current.values(), key=lambda c: c["id"]):
            new_topics = after.get(c["url"], set()) | lent.get(c["id"], set())
            if not new_topics and c["status"] == "new" and not c["promoted"]:
                drop.append({"id": c["id"], "url": c["url"], "title": c["title"],
                             "topics": sorted(c["topics"])})
            elif new_topics != c["topics"]:
                changed.append({"id": c["id"], "url": c["url"], "title": c["title"],
                                "before": sorted(c["topics"]), "after": sorted(new_topics)})
        return {"entries": count, "new_candidates": len(add), "dropped": len(drop),
                "add": add, "drop": drop, "changed": changed}

    @_converts_errors
    def fields(self, entry_id: int | None) -> dict[str, str] | None:
        """An entry's title, summary and content as the topics see them (plain text)."""
        if entry_id is None:
            return None
        row = self.conn.execute("SELECT title, summary, content FROM entries WHERE id = ?",
                                (entry_id,)).fetchone()
        if row is None:
            return None
        from ..parse import html_to_text

        title, summary, content = row
        return {"title": title or "", "summary": html_to_text(summary or ""),
                "content": html_to_text(content or "")}
