"""Candidates: the review queue, one candidate per canonical URL, with its topics, the sources
that carried it and its review history; featuring, rejecting and resetting; moving reviewed work."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import fields, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..clock import iso, read_iso
from ..exceptions import NotFound, UsageError
from ..types import Candidate, Entry
from .base import chunks, converts_errors
from .logs import LogStore
from .stories import also as story_also
from .stories import link as story_link
from .stories import merge as story_merge
from .stories import split as story_split

if TYPE_CHECKING:
    from ..rows import ReviewEvent

STATUSES = ("new", "featured", "rejected")


def new_guid() -> str:
    """A new feature's guid: a random UUID URN, stable for the life of the feature."""
    import uuid  # loaded on first feature, not by every command

    return f"urn:uuid:{uuid.uuid4()}"


_TIMES = ("featured_at", "note_updated_at", "published", "first_seen", "changed_at", "seen_at")


def to_candidate(row: dict[str, Any], topics: Sequence[str], entries: Sequence[Entry],
                 also: Sequence[Entry], history: Sequence[ReviewEvent]) -> Candidate:
    """A candidates row (joined with its entry and source) as the typed Candidate: the one place
    rows become Candidates."""
    values = {k: v for k, v in row.items() if k in _FIELDS}
    for k in _TIMES:
        values[k] = read_iso(values.get(k))
    values["suggested"] = bool(values.get("suggested"))
    sources: list[str] = []
    for e in (*entries, *also):  # a story's other articles' sources count among its own
        if e.source not in sources:
            sources.append(e.source)
    return Candidate(**values, topics=tuple(topics), sources=tuple(sources),
                     entries=tuple(entries), also=tuple(also), history=tuple(history))


_FIELDS = {f.name for f in fields(Candidate)} - {"topics", "sources", "entries", "also",
                                                 "history"}


class CandidateStore(LogStore):
    """The `candidates` and `candidate_topics` tables."""

    _CANDIDATE_SQL = (
        "SELECT c.*, s.url AS source_url, s.url_in_use AS source_url_in_use,"
        " coalesce(s.name, s.title, s.url) AS source_name, s.link AS source_link,"
        " e.summary AS summary_html, e.text AS text, e.link AS link"
        " FROM candidates c LEFT JOIN entries e ON e.id = c.entry_id"
        " LEFT JOIN sources s ON s.id = e.source_id")

    def _decorate(self, rows: list[dict[str, Any]],
                  history: bool = False) -> list[Candidate]:
        """Candidates from their rows, with topics and every source that carried each."""
        if not rows:
            return []
        conn = self.conn
        topics: dict[int, list[str]] = {r["id"]: [] for r in rows}
        copies: dict[str, list[Entry]] = {r["url"]: [] for r in rows}
        for chunk in chunks(list(topics)):
            marks = ",".join("?" * len(chunk))
            for cid, topic in conn.execute(
                    f"SELECT candidate_id, topic FROM candidate_topics WHERE candidate_id IN ({marks})"
                    " ORDER BY topic", chunk):
                topics[cid].append(topic)
        for chunk in chunks(list(copies)):
            marks = ",".join("?" * len(chunk))
            for url, name, surl, site, key, title, link, published, first_seen in conn.execute(
                    "SELECT e.url, coalesce(s.name, s.title, s.url), s.url_in_use, s.link, e.key,"
                    " e.title, e.link, e.published, e.first_seen"
                    " FROM entries e JOIN sources s ON s.id = e.source_id"
                    f" WHERE e.url IN ({marks}) ORDER BY e.first_seen, e.id", chunk):
                copies[url].append(Entry(source=name, feed=surl, site=site, key=key, title=title,
                                         link=link, published=read_iso(published),
                                         first_seen=read_iso(first_seen)))
        # A story's other articles: `also`, and their sources among the candidate's.
        also: dict[int, list[Entry]] = {}
        if self.has_stories:
            for cid, articles in story_also(conn, list(topics)).items():
                also[cid] = [Entry(source=a["source"], feed=a["feed"], title=a["title"],
                                   link=a["link"], published=read_iso(a["published"]),
                                   first_seen=read_iso(a["first_seen"]), url=a["url"])
                             for a in articles]
        return [to_candidate(r, topics[r["id"]], copies[r["url"]], also.get(r["id"], ()),
                             self.history(r["id"]) if history else ()) for r in rows]

    @converts_errors
    def candidates(self, *, status: str = "new", topic: str | None = None, limit: int | None = 50,
                   source_id: int | None = None, search: str | None = None,
                   offset: int = 0, sort: str = "newest", seen: bool | None = None
                   ) -> list[Candidate]:
        """Candidates, newest first (or best score first), with their topics and sources
        (`seen`: only those an editor marked seen, or only those not; None: both)."""
        where: list[str] = []
        params: list[Any] = []
        if status != "all":
            if status not in STATUSES:
                raise UsageError(f"unknown status {status!r}")
            where.append("c.status = ?")
            params.append(status)
        self._filter(where, params, topic=topic, source_id=source_id, search=search)
        if seen is not None:
            where.append("c.seen_at IS NOT NULL" if seen else "c.seen_at IS NULL")
        order = ("c.featured_at DESC, c.id DESC" if status == "featured"
                 else "c.sort_time DESC, c.id DESC")
        if sort == "score":
            order = "coalesce(c.score, 0) DESC, " + order
        elif sort != "newest":
            raise UsageError(f"unknown sort {sort!r} (newest or score)")
        sql = self._CANDIDATE_SQL + (" WHERE " + " AND ".join(where) if where else "")
        sql += f" ORDER BY {order}"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            params.extend([limit, offset])
        return self._decorate(self._q(sql, params))

    def _filter(self, where: list[str], params: list[Any], *, topic: str | None,
                source_id: int | None, search: str | None) -> None:
        """The queue's filters as SQL on candidates `c` joined to their entry `e`."""
        if topic:
            where.append("c.id IN (SELECT candidate_id FROM candidate_topics WHERE topic = ?)")
            params.append(topic)
        if source_id is not None:
            where.append("(c.url IN (SELECT url FROM entries WHERE source_id = ? AND url IS NOT NULL)"
                         + (" OR c.id IN (SELECT a.candidate_id FROM story_articles a JOIN entries x"
                            " ON x.url = a.url WHERE x.source_id = ?))" if self.has_stories
                            else " OR ? IS NULL)"))
            params.extend([source_id, source_id])
        if search:
            for word in search.split():
                like_op = self.dialect.like  # case-insensitive (ASCII) on both
                where.append(f"(c.title {like_op} ? ESCAPE '\\' OR e.text {like_op} ? ESCAPE '\\')")
                like = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                params.extend([like, like])

    @converts_errors
    def candidate(self, candidate_id: int) -> Candidate:
        """One candidate with its topics, sources and review history."""
        row = self._one(self._CANDIDATE_SQL + " WHERE c.id = ?", (candidate_id,))
        if row is None:
            raise NotFound("candidate", candidate_id)
        if not row.get("text"):
            # The copy that made it a candidate may have had no summary; another source's may.
            other = self._one("SELECT text FROM entries WHERE url = ? AND text != ''"
                              " ORDER BY first_seen, id LIMIT 1", (row["url"],))
            if other:
                row["text"] = other["text"]
        return self._decorate([row], history=True)[0]

    @converts_errors
    def counts(self, *, topic: str | None = None, source_id: int | None = None,
               search: str | None = None) -> dict[str, int]:
        """How many candidates have each status (of those the filters let through), and under
        `seen` how many of the new ones an editor marked seen."""
        out = dict.fromkeys(STATUSES, 0)
        where: list[str] = []
        params: list[Any] = []
        self._filter(where, params, topic=topic, source_id=source_id, search=search)
        seen = 0
        if where:
            sql = ("SELECT c.status, c.seen_at IS NOT NULL, count(*) FROM candidates c"
                   " LEFT JOIN entries e ON e.id = c.entry_id WHERE " + " AND ".join(where)
                   + " GROUP BY 1, 2")
        else:
            sql = ("SELECT status, seen_at IS NOT NULL, count(*) FROM candidates"
                   " GROUP BY 1, 2")
        for status, is_seen, n in self.conn.execute(sql, params):
            out[status] += n
            if status == "new" and is_seen:
                seen += n
        out["seen"] = seen
        return out

    @converts_errors
    def mark_seen(self, ids: list[int], *, editor: str, now: datetime, seen: bool = True
                  ) -> list[int]:
        """Mark new candidates seen (or not) by `editor`; returns the ids that changed."""
        changed: list[int] = []
        with self.write():
            for chunk in chunks(ids):
                marks = ",".join("?" * len(chunk))
                if seen:
                    rows = self.conn.execute(
                        f"UPDATE candidates SET seen_at = ?, seen_by = ? WHERE id IN ({marks})"
                        " AND status = 'new' AND seen_at IS NULL RETURNING id",
                        (iso(now), editor, *chunk)).fetchall()
                else:
                    rows = self.conn.execute(
                        "UPDATE candidates SET seen_at = NULL, seen_by = NULL"
                        f" WHERE id IN ({marks}) AND seen_at IS NOT NULL RETURNING id",
                        chunk).fetchall()
                changed.extend(r[0] for r in rows)
        return sorted(changed)

    @converts_errors
    def topic_counts(self) -> dict[str, dict[str, int]]:
        """Per topic: how many candidates it matched, by status."""
        out: dict[str, dict[str, int]] = {}
        for topic, status, n in self.conn.execute(
                "SELECT t.topic, c.status, count(*) FROM candidate_topics t"
                " JOIN candidates c ON c.id = t.candidate_id GROUP BY 1, 2"):
            out.setdefault(topic, dict.fromkeys(STATUSES, 0))[status] = n
        return out

    @converts_errors
    def set_status(self, candidate_id: int, status: str, *, editor: str, now: datetime,
                   note: str | None = None, link: str | None = None) -> Candidate:
        """Feature (with a note), reject or reset a candidate, and log who did it.

        `link` (with featuring) picks which of the story's articles the item links.
        """
        stamp = iso(now)
        with self.write():
            conn = self.conn
            row = self._one("SELECT * FROM candidates WHERE id = ?", (candidate_id,))
            if row is None:
                raise NotFound("candidate", candidate_id)
            if link is not None and status == "featured" and link != row["url"]:
                story_link(conn, candidate_id, link, stamp)
                self.stories.forget(candidate_id)
                self._log_review(candidate_id, "link", editor, stamp, link)
            if status == "featured":
                if row["status"] == "featured":
                    if note is None or note == row["note"]:
                        return self.candidate(candidate_id)
                    conn.execute("UPDATE candidates SET note = ?, note_updated_at = ?,"
                                 " changed_by = ?, changed_at = ? WHERE id = ?",
                                 (note, stamp, editor, stamp, candidate_id))
                    action = "edit-note"
                else:
                    conn.execute(
                        "UPDATE candidates SET status = 'featured', note = ?, guid = ?,"
                        " featured_at = ?, note_updated_at = ?, changed_by = ?, changed_at = ?"
                        " WHERE id = ?",
                        (note if note is not None else (row["note"] or ""),
                         new_guid(), stamp, stamp, editor, stamp, candidate_id))
                    action = "feature"
            elif status in ("rejected", "new"):
                if row["status"] == status:
                    return self.candidate(candidate_id)
                # The note stays as a draft: resetting and featuring again brings it back.
                # Back to new, it is new again: out of the desk's Seen tab too.
                conn.execute(
                    "UPDATE candidates SET status = ?, guid = NULL, featured_at = NULL,"
                    " note_updated_at = NULL, changed_by = ?, changed_at = ?, seen_at = NULL,"
                    " seen_by = NULL WHERE id = ?",
                    (status, editor, stamp, candidate_id))
                action = "reject" if status == "rejected" else "reset"
            else:
                raise UsageError(f"unknown status {status!r}")
            final = conn.execute("SELECT note FROM candidates WHERE id = ?",
                                 (candidate_id,)).fetchone()[0]
            conn.execute("INSERT INTO review_log (candidate_id, action, editor, at, note)"
                         " VALUES (?, ?, ?, ?, ?)",
                         (candidate_id, action, editor, stamp,
                          final if action in ("feature", "edit-note") else None))
            return self.candidate(candidate_id)

    @converts_errors
    def featured(self, limit: int) -> list[Candidate]:
        """Featured candidates for the published feed, newest feature first."""
        return self.candidates(status="featured", limit=limit)

    @converts_errors
    def set_note_html(self, rendered: Iterable[tuple[int, str, str]]) -> None:
        """Keep rendered notes: (candidate id, HTML, the key saying what it was rendered from)."""
        with self.write():
            self.conn.executemany(
                "UPDATE candidates SET note_html = ?, note_html_key = ? WHERE id = ?",
                [(html, key, cid) for cid, html, key in rendered])

    @converts_errors
    def reviewed(self, statuses: Sequence[str]) -> list[Candidate]:
        """Reviewed candidates with their notes, sources and history, oldest feature first."""
        rows: list[Candidate] = []
        for status in statuses:
            rows.extend(replace(c, history=tuple(self.history(c.id)))
                        for c in self.candidates(status=status, limit=None))
        rows.sort(key=lambda c: (iso(c.featured_at or c.changed_at) or "", c.id))
        return rows

    @converts_errors
    def change_marker(self) -> str:
        """Changes whenever anything that the published feed shows may have changed."""
        # An article joining a story changes its "Also covered by"; splits and merges are logged.
        row = self._one("SELECT (SELECT max(id) FROM review_log) AS r, "
                        "(SELECT count(*) FROM candidates WHERE status = 'featured') AS f, "
                        + ("(SELECT max(id) FROM story_articles)" if self.has_stories
                           else "NULL") + " AS a")
        assert row is not None
        return f"{row['r'] or 0}:{row['f']}:{row['a'] or 0}"

    def _candidate_url(self, candidate_id: int) -> str:
        row = self._one("SELECT url FROM candidates WHERE id = ?", (candidate_id,))
        if row is None:
            raise NotFound("candidate", candidate_id)
        return str(row["url"])

    @converts_errors
    def split(self, candidate_id: int, url: str, *, editor: str, now: datetime
              ) -> Candidate:
        """Make one of a story's other articles a candidate of its own; the new candidate."""
        stamp = iso(now)
        with self.write():
            self._candidate_url(candidate_id)
            new_id = story_split(self.conn, candidate_id, url, stamp)
            self.stories.forget(candidate_id, new_id)
            self._log_review(candidate_id, "split", editor, stamp, url)
            self._log_review(new_id, "split", editor, stamp, f"from #{candidate_id}")
            return self.candidate(new_id)

    @converts_errors
    def merge(self, candidate_id: int, other_id: int, *, editor: str, now: datetime
              ) -> Candidate:
        """Join another candidate's story to this one; the story keeps this one's status and note."""
        stamp = iso(now)
        with self.write():
            self._candidate_url(candidate_id)
            other_url = self._candidate_url(other_id)
            story_merge(self.conn, candidate_id, other_id, stamp)
            self.stories.forget(candidate_id, other_id)
            self._log_review(candidate_id, "merge", editor, stamp, f"#{other_id} {other_url}")
            self._log_review(other_id, "merge", editor, stamp, f"into #{candidate_id}")
            return self.candidate(candidate_id)

