"""The learned queue's SQL: training examples, the stored model, scores and suggestions."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from ..clock import iso
from ..relevance import (
    FORMAT,
    MAX_DECISIONS,
    MAX_WEAK,
    MIN_WEAK,
    WEAK_WEIGHT,
    Doc,
    Example,
    Model,
    Row,
)
from .base import chunks as _chunks
from .base import converts_errors as _converts_errors
from .state import StateStore

WATERMARK = "relevance_scored_upto"  # state key: the newest entry id a poll has scored
UNTRAINABLE = "relevance_untrainable"  # state key: decisions that teach no model
SCORE_PAGE = 500  # candidates read at a time to be scored


def _doc(title: str | None, text: str | None, source_id: int | None,
         topics: Sequence[str] = ()) -> Doc:
    return Doc(title=title or "", text=text or "", source=str(source_id or "-"),
               topics=tuple(sorted(topics)))


class RelevanceStore:
    """The relevance tables and columns of one curator database."""

    def __init__(self, store: StateStore) -> None:
        self.store = store
        self.conn = store.conn

    @property
    def where(self) -> str:
        """The database, as errors name it."""
        return self.store.where

    # ------------------------------------------------------------ decisions and the model

    @_converts_errors
    def fingerprint(self) -> str:
        """Names the decisions a model learns from: changes when any feature or reject does."""
        h = hashlib.sha256(f"{FORMAT}/{MAX_DECISIONS}/{MAX_WEAK}/{WEAK_WEIGHT}".encode())
        for cid, status in self.conn.execute(
                "SELECT id, status FROM candidates WHERE status IN ('featured', 'rejected')"
                " ORDER BY id"):
            h.update(f"{cid}{status[0]},".encode())
        return h.hexdigest()

    @_converts_errors
    def decision_count(self) -> int:
        """How many candidates were featured or rejected."""
        return int(self.conn.execute(
            "SELECT count(*) FROM candidates WHERE status IN ('featured', 'rejected')"
        ).fetchone()[0])

    def _topics(self, candidate_ids: Sequence[int]) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        for chunk in _chunks(list(candidate_ids)):
            marks = ",".join("?" * len(chunk))
            for cid, topic in self.conn.execute(
                    f"SELECT candidate_id, topic FROM candidate_topics"
                    f" WHERE candidate_id IN ({marks})", chunk):
                out.setdefault(cid, []).append(topic)
        return out

    def _candidate_rows(self, where: str, params: Sequence[Any] = (), *, order: bool = True
                        ) -> list[tuple[Row, str]]:
        rows = self.conn.execute(
            "SELECT c.id, c.status, coalesce(e.title, c.title), substr(e.text, 1, 600),"
            " e.source_id, c.url FROM candidates c LEFT JOIN entries e ON e.id = c.entry_id"
            f" WHERE {where}" + (" ORDER BY c.id" if order else ""), params).fetchall()
        topics = self._topics([r[0] for r in rows])
        return [(Row(id=cid, doc=_doc(title, text, sid, topics.get(cid, ())), url=url), status)
                for cid, status, title, text, sid, url in rows]

    @_converts_errors
    def examples(self) -> list[Example]:
        """Every decision, then the newest entries the editors never saw, oldest first."""
        # The newest decisions (by when the candidate came), at most MAX_DECISIONS of them.
        decided = self._candidate_rows(
            "c.id IN (SELECT id FROM candidates WHERE status IN ('featured', 'rejected')"
            " ORDER BY id DESC LIMIT ?)", (MAX_DECISIONS,))
        out = [Example(row.doc, 1 if status == "featured" else 0) for row, status in decided]
        n_weak = min(MAX_WEAK, max(MIN_WEAK, len(decided)))
        # Unseen: no topic matched it and no editor decided on it. An undecided suggestion
        # counts too, so that whether something was suggested never changes what is learned
        # (the same entries and decisions always give the same model).
        weak = self.conn.execute(
            "SELECT e.id, e.title, substr(e.text, 1, 600), e.source_id FROM entries e"
            " WHERE NOT EXISTS (SELECT 1 FROM entry_topics t WHERE t.entry_id = e.id)"
            " AND (e.url IS NULL OR NOT EXISTS (SELECT 1 FROM candidates c WHERE c.url = e.url"
            " AND c.status IN ('featured', 'rejected')))"
            " ORDER BY e.id DESC LIMIT ?", (n_weak,)).fetchall()
        out.extend(Example(_doc(title, text, sid), 0, WEAK_WEIGHT)
                   for _, title, text, sid in reversed(weak))
        return out

    @_converts_errors
    def featured_docs(self) -> list[Doc]:
        """What the editors featured, as the model sees it (for "like N items you featured")."""
        return [row.doc for row, _ in self._candidate_rows("c.status = 'featured'")]

    @_converts_errors
    def load_model(self) -> Model | None:
        """The stored model, or None when there is none or it is damaged (it is then rebuilt)."""
        row = self.conn.execute(
            "SELECT format, fingerprint, model, meta FROM relevance_model"
            " WHERE id = 1").fetchone()
        if row is None or row[0] != FORMAT:
            return None
        try:
            meta = json.loads(row[3])
            if not isinstance(meta, dict):
                meta = {}
        except (TypeError, ValueError):
            meta = {}
        return Model.from_blob(row[2], str(row[1]), meta)

    @_converts_errors
    def save_model(self, model: Model | None, fingerprint: str, now: datetime) -> None:
        """Keep this model (None: the decisions teach none yet; remember that they were seen)."""
        with self.store.write():
            self.conn.execute("DELETE FROM relevance_model")
            if model is not None:
                self.conn.execute(
                    "INSERT INTO relevance_model (id, format, fingerprint, trained_at, model, meta)"
                    " VALUES (1, ?, ?, ?, ?, ?)",
                    (FORMAT, fingerprint, iso(now), model.to_blob(), json.dumps(model.meta)))
            # Decisions that teach no model yet (too few, one kind only) are not tried again
            # until they change; a model missing or damaged for any other reason is rebuilt.
            self.store.set_state(UNTRAINABLE, None if model is not None else fingerprint)

    @_converts_errors
    def model_info(self) -> dict[str, Any] | None:
        """When the stored model was trained and on how many examples (None: no model)."""
        row = self.conn.execute(
            "SELECT trained_at, meta FROM relevance_model WHERE id = 1").fetchone()
        if row is None:
            return None
        try:
            meta = json.loads(row[1])
        except ValueError:
            meta = {}
        return {"trained_at": row[0], **(meta if isinstance(meta, dict) else {})}

    # ------------------------------------------------------------ scoring

    def candidates_to_score(self, everything_new: bool) -> Iterator[list[Row]]:
        """Candidates without a score, and (after a retrain) every candidate still new, a page
        at a time in id order: a first poll of 10,000 feeds brings some 15,000, each with the
        first 600 characters of its text, which held all at once were the poll's largest use
        of memory after its round (22 MB of Python objects for 15,630 candidates; 3 MB a page
        at a time, tracemalloc)."""
        where = "(c.score IS NULL" + (" OR c.status = 'new'" if everything_new else "") + ")"
        after = 0
        while rows := self._score_page(where, after):
            yield rows
            after = rows[-1].id

    @_converts_errors
    def _score_page(self, where: str, after: int) -> list[Row]:
        return [row for row, _ in self._candidate_rows(
            f"{where} AND c.id > ? ORDER BY c.id LIMIT {SCORE_PAGE}", (after,), order=False)]

    @_converts_errors
    def set_scores(self, scores: Sequence[tuple[int, float]]) -> None:
        """Store candidates' scores."""
        with self.store.write():
            self.conn.executemany("UPDATE candidates SET score = ? WHERE id = ?",
                                  [(s, cid) for cid, s in scores])

    @_converts_errors
    def unseen(self, *, after_id: int = 0, since: str | None = None,
               limit: int | None = None) -> Iterator[list[Row]]:
        """Entries no topic matched and no candidate holds, in batches (newest first with a
        limit): what suggestions are made from."""
        sql = ("SELECT e.id, e.title, substr(e.text, 1, 600), e.source_id, e.url, e.published"
               " FROM entries e WHERE e.id > ? AND e.url IS NOT NULL"
               " AND NOT EXISTS (SELECT 1 FROM entry_topics t WHERE t.entry_id = e.id)"
               " AND NOT EXISTS (SELECT 1 FROM candidates c WHERE c.url = e.url)")
        params: list[Any] = [after_id]
        if since is not None:
            # Through the first_seen index to the oldest id in range: scanning ids up from the
            # first entry ever stored would read the whole table at every retrain. `id + 0`,
            # not `id`: SQLite answers min(id) by walking the table in id order until a row
            # is in range, and never looks at the first_seen index (EXPLAIN QUERY PLAN).
            first = self.conn.execute("SELECT min(id + 0) FROM entries WHERE first_seen >= ?",
                                      (since,)).fetchone()[0]
            if first is None:
                return
            params[0] = max(after_id, int(first) - 1)
            sql += " AND e.first_seen >= ?"
            params.append(since)
        sql += " ORDER BY e.id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        cur = self.conn.execute(sql, params)
        while True:
            batch = cur.fetchmany(2000)
            if not batch:
                return
            yield [Row(id=eid, doc=_doc(title, text, sid), url=url, published=published)
                   for eid, title, text, sid, url, published in batch]

    @_converts_errors
    def newest_entry(self) -> int:
        """The newest entry's id (0 when there is none)."""
        return int(self.conn.execute("SELECT coalesce(max(id), 0) FROM entries").fetchone()[0])

    @_converts_errors
    def suggest(self, suggestions: Sequence[tuple[Row, float, dict[str, Any]]], now: datetime
                ) -> int:
        """Make these entries suggested candidates (topics []); returns how many are new."""
        stamp = iso(now)
        added = 0
        with self.store.write():
            for row, score, why in suggestions:
                cur = self.conn.execute(
                    "INSERT INTO candidates (url, entry_id, title, published, sort_time,"
                    " first_seen, score, suggested, suggestion)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?) ON CONFLICT (url) DO NOTHING",
                    (row.url, row.id, row.doc.title, row.published, row.published or stamp,
                     stamp, score, json.dumps(why, ensure_ascii=False)))
                added += cur.rowcount
        return added

    @_converts_errors
    def drop_suggestions(self, below: float | None = None) -> int:
        """Take back undecided suggestions (all, or those now scored below `below`).

        One an editor ever acted on (featured then put back, a draft note) stays: withdrawing
        it would lose their work.
        """
        sql = ("DELETE FROM candidates WHERE suggested = 1 AND status = 'new' AND note IS NULL"
               " AND NOT EXISTS (SELECT 1 FROM review_log r WHERE r.candidate_id = candidates.id)")
        params: list[Any] = []
        if below is not None:
            sql += " AND score < ?"
            params.append(below)
        with self.store.write():
            return int(self.conn.execute(sql, params).rowcount)

    @_converts_errors
    def unsuggest_matched(self) -> None:
        """A suggestion that a topic now matches is an ordinary candidate."""
        with self.store.write():
            self.conn.execute(
                "UPDATE candidates SET suggested = 0, suggestion = NULL WHERE suggested = 1"
                " AND EXISTS (SELECT 1 FROM candidate_topics t WHERE t.candidate_id = candidates.id)")

    def watermark(self) -> int | None:
        """The newest entry id that a poll has scored (None: never)."""
        value = self.store.get_state(WATERMARK)
        try:
            return int(value) if value is not None else None
        except ValueError:
            return None

    def set_watermark(self, entry_id: int) -> None:
        """Remember the newest entry scored."""
        self.store.set_state(WATERMARK, str(entry_id))

    def untrainable(self) -> str | None:
        """The fingerprint of decisions found to teach no model, if the last ones did not."""
        return self.store.get_state(UNTRAINABLE)
