"""Reviewed work coming back from an export: candidates matched by canonical URL, each with its
copies (entries, and their sources), its story's other articles and its review history."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ..clock import iso
from .base import converts_errors
from .candidates import CandidateStore
from .entries import EntryStore
from .stories import split as story_split
from .stories import story_of


class ImportStore(EntryStore, CandidateStore):
    """Applies `curator import`: writes candidates, entries, sources, stories and both logs."""

    @converts_errors
    def import_reviewed(self, items: Sequence[dict[str, Any]], *, editor: str, now: datetime
                        ) -> dict[str, int]:
        """Apply exported items (matched by canonical URL) in one transaction: all or nothing.

        Returns how many were 'added', 'updated' and 'unchanged'. Each item's copies (`entries`:
        the source's name, feed and site, the article's title, link and dates) and its review
        history come back as exported, so an export, an import into a new database and an export
        again give the same items. The import itself is logged in the activity log.
        """
        counts = {"added": 0, "updated": 0, "unchanged": 0}
        with self.write():
            for item in items:
                counts[self._import_one(item, editor=editor, stamp=iso(now) or "")] += 1
            if counts["added"] or counts["updated"]:
                n = counts["added"] + counts["updated"]
                self.log_activity("import", editor=editor, now=now,
                                  detail=f"{n} item{'' if n == 1 else 's'}")
        return counts

    def _import_one(self, item: dict[str, Any], *, editor: str, stamp: str) -> str:
        fields = ("status", "note", "guid", "featured_at", "note_updated_at")
        conn = self.conn
        item = {**item, "url": self._stored_spelling(item["url"])}
        row = self._one("SELECT * FROM candidates WHERE url = ?", (item["url"],))
        story = story_of(conn, item["url"]) if row is None and self.has_stories else None
        if story is not None:
            # Grouped here into another article's story, but reviewed on its own there: it
            # keeps its own item (and guid), as a candidate of its own.
            story_split(conn, story, item["url"], stamp)
            self.stories.forget(story)
            row = self._one("SELECT * FROM candidates WHERE url = ?", (item["url"],))
        changed = row is None or any(row[k] != item.get(k) for k in fields)
        if row is None:
            cid = self._insert_id(
                "INSERT INTO candidates (url, title, published, sort_time, first_seen)"
                " VALUES (?, ?, ?, ?, ?) RETURNING id",
                (item["url"], item.get("title") or item["url"], item.get("published"),
                 item.get("published") or stamp, item.get("first_seen") or stamp))
        else:
            cid = row["id"]
        first_entry = None
        for copy in item.get("entries") or ():
            eid, added = self._import_entry(item["url"], copy, stamp)
            changed = changed or added
            first_entry = first_entry or eid
        for article in item.get("also") or () if self.has_stories else ():
            changed = self._import_story_article(cid, item["url"], article, stamp) or changed
        if first_entry is not None and (row is None or row["entry_id"] is None):
            conn.execute("UPDATE candidates SET entry_id = ? WHERE id = ?", (first_entry, cid))
        if first_entry is not None and item.get("text"):
            # The article's text, which the published item quotes, unless a poll brought it.
            conn.execute("UPDATE entries SET text = ? WHERE id = ? AND text = ''",
                         (item["text"], first_entry))
        if changed:
            conn.execute(
                "UPDATE candidates SET status = ?, note = ?, guid = ?, featured_at = ?,"
                " note_updated_at = ?, changed_by = ?, changed_at = ? WHERE id = ?",
                (*(item.get(k) for k in fields), item.get("changed_by") or editor,
                 item.get("changed_at") or stamp, cid))
        conn.executemany("INSERT INTO candidate_topics (candidate_id, topic)"
                         " VALUES (?, ?) ON CONFLICT DO NOTHING", [(cid, t) for t in item.get("topics") or []])
        history = item.get("history")
        if history:
            known = {(h["action"], h["editor"], h["at"], h["note"]) for h in self._q(
                "SELECT action, editor, at, note FROM review_log WHERE candidate_id = ?", (cid,))}
            new = [(cid, h["action"], h["editor"], h["at"], h.get("note")) for h in history
                   if (h["action"], h["editor"], h["at"], h.get("note")) not in known]
            conn.executemany("INSERT INTO review_log (candidate_id, action, editor, at, note)"
                             " VALUES (?, ?, ?, ?, ?)", new)
            changed = changed or bool(new)
        elif changed:
            # An export without history (CSV, or an older curator's): record the import itself.
            conn.execute("INSERT INTO review_log (candidate_id, action, editor, at, note)"
                         " VALUES (?, 'import', ?, ?, ?)", (cid, editor, stamp, item.get("note")))
        if not changed:
            return "unchanged"
        return "added" if row is None else "updated"

    def _import_story_article(self, cid: int, own_url: str, article: dict[str, Any],
                              stamp: str) -> bool:
        """One of a story's other articles (`also`) back in the candidate's story; True if added.

        An article that is already a candidate, or already in a story, stays where it is.
        """
        conn = self.conn
        url = self._stored_spelling(article["url"])
        if url == own_url or conn.execute(
                "SELECT 1 FROM candidates WHERE url = ? UNION ALL"
                " SELECT 1 FROM story_articles WHERE url = ?", (url, url)).fetchone():
            return False
        if article.get("feed"):
            self._import_entry(url, article, stamp)
        # In the order exported: `also` lists a story's articles by when they joined, then id.
        conn.execute("INSERT INTO story_articles (url, candidate_id, added) VALUES (?, ?, ?)",
                     (url, cid, stamp))
        return True

    def outside_source(self, url: str, *, title: str | None, site: str | None,
                       stamp: str) -> int:
        """The source with this URL (as written in feeds.yaml or in use), else a new one that is
        not in feeds.yaml (never polled): an imported item's feed, an added article's site.

        A source never polled here yet still shows the name and site it was given. Call inside
        a write transaction.
        """
        conn = self.conn
        src = conn.execute("SELECT id FROM sources WHERE url = ? OR url_in_use = ?"
                           " ORDER BY in_config DESC, id LIMIT 1", (url, url)).fetchone()
        if src is None:
            return self._insert_id(
                "INSERT INTO sources (url, url_in_use, title, link, in_config, added)"
                " VALUES (?, ?, ?, ?, 0, ?) RETURNING id", (url, url, title, site, stamp))
        conn.execute("UPDATE sources SET title = coalesce(title, ?), link = coalesce(link, ?)"
                     " WHERE id = ?", (title, site, src[0]))
        return int(src[0])

    def _import_entry(self, url: str, copy: dict[str, Any], stamp: str) -> tuple[int, bool]:
        """The entry for one exported copy of an article, made if missing: (id, whether made).

        Its source is found by feed URL (as written in feeds.yaml or in use), else added as one
        that is not in feeds.yaml (never polled), so the item keeps naming its source and feed.
        """
        conn = self.conn
        source_id = self.outside_source(copy["feed"], title=copy.get("source"),
                                        site=copy.get("site"), stamp=stamp)
        key = copy.get("key") or copy.get("link") or url
        # By its key, else (a CSV has no keys) any copy of this article from this source.
        found = conn.execute("SELECT id FROM entries WHERE source_id = ? AND key = ?",
                             (source_id, key)).fetchone() or conn.execute(
            "SELECT id FROM entries WHERE source_id = ? AND url = ? ORDER BY id LIMIT 1",
            (source_id, url)).fetchone()
        if found is not None:
            return int(found[0]), False
        title = copy.get("title") or ""
        # Not the hash a poll computes: the next poll of this feed updates the copy in place.
        digest = "import:" + key
        eid = self._insert_id(
            "INSERT INTO entries (url, link, title, published, hash, source_id, key, first_seen,"
            " last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (url, copy.get("link"), title, copy.get("published"), digest, source_id, key,
             copy.get("first_seen") or stamp, stamp))
        self._stored_entries(1)  # indexed for search when the transaction commits
        return eid, True
