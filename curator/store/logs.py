"""The review log (who featured, rejected, reset, edited or imported what) and the activity log
(who re-enabled a source, who published)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..clock import iso, read_iso
from .base import Base, converts_errors

if TYPE_CHECKING:
    from ..rows import ReviewEvent


def _at(stamp: str) -> datetime:
    at = read_iso(stamp)
    assert at is not None  # the column is NOT NULL
    return at


class LogStore(Base):
    """Appends to and reads the two logs; entries are never changed once written."""

    def history(self, candidate_id: int) -> list[ReviewEvent]:
        """A candidate's review log, oldest first."""
        from ..rows import ReviewEvent  # one candidate's, or an export's: not every command's

        return [ReviewEvent(action=action, editor=editor, at=_at(at), note=note)
                for action, editor, at, note in self.conn.execute(
                    "SELECT action, editor, at, note FROM review_log WHERE candidate_id = ?"
                    " ORDER BY id", (candidate_id,))]

    def _log_review(self, candidate_id: int, action: str, editor: str, stamp: str | None,
                    note: str | None) -> None:
        self.conn.execute("INSERT INTO review_log (candidate_id, action, editor, at, note)"
                          " VALUES (?, ?, ?, ?, ?)", (candidate_id, action, editor, stamp, note))

    @converts_errors
    def log_activity(self, action: str, *, editor: str | None, now: datetime,
                     source_id: int | None = None, detail: str | None = None) -> None:
        """Append to the activity log (inside the caller's transaction, when there is one)."""
        with self.write():
            self.conn.execute(
                "INSERT INTO activity_log (action, source_id, editor, at, detail)"
                " VALUES (?, ?, ?, ?, ?)", (action, source_id, editor, iso(now), detail))

    @converts_errors
    def activity(self, actions: str | Sequence[str], limit: int = 10, *,
                 sources: bool = False) -> list[dict[str, Any]]:
        """The newest activity-log rows of these kinds, newest first; with `sources`, each
        also names its source (`source_url`, `source_name`)."""
        if isinstance(actions, str):
            actions = (actions,)
        marks = ",".join("?" * len(actions))
        extra = (", s.url AS source_url, coalesce(s.name, s.title, s.url) AS source_name"
                 if sources else "")
        return self._q(
            f"SELECT a.id, a.action, a.source_id, a.editor, a.at, a.detail{extra}"
            " FROM activity_log a LEFT JOIN sources s ON s.id = a.source_id"
            f" WHERE a.action IN ({marks}) ORDER BY a.id DESC LIMIT ?", (*actions, limit))

    @converts_errors
    def last_enabled(self) -> dict[int, dict[str, Any]]:
        """Each re-enabled source's newest enable (editor, at, detail), by source id."""
        rows = self._q(
            "SELECT source_id, editor, at, detail FROM activity_log WHERE id IN"
            " (SELECT max(id) FROM activity_log WHERE action = 'enable'"
            " AND source_id IS NOT NULL GROUP BY source_id)")
        return {r["source_id"]: r for r in rows}
