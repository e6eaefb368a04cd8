"""The JSON documents curator prints and exports, from the typed rows: their one definition."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .clock import iso

if TYPE_CHECKING:
    from .types import Candidate, Editor, Entry, ReviewEvent, Source


def candidate_json(c: Candidate) -> dict[str, Any]:
    """A candidate object exactly as SPEC.md gives it."""
    return {
        "id": c.id,
        "title": c.title,
        "url": c.url,
        "source": c.source,
        "sources": list(c.sources),
        "published": iso(c.published),
        "topics": list(c.topics),
        "status": c.status,
        "note": c.note,
        "featured_at": iso(c.featured_at),
        "score": candidate_score(c),
        "suggested": c.suggested,
        "also": [{"title": a.title, "url": a.url, "source": a.source} for a in c.also],
    }


def source_json(s: Source) -> dict[str, Any]:
    """A source exactly as SPEC.md gives it for `curator sources --json`."""
    return {
        "url": s.url_in_use,
        "name": s.name or s.title,
        "status": s.status,
        "last_polled": iso(s.last_polled),
        "last_ok": iso(s.last_ok),
        "next_due": iso(s.next_due),
        "failures": s.failures,
        "error": s.error,
        "disabled": s.disabled,
    }


def search_json(row: dict[str, Any]) -> dict[str, Any]:
    """A search result exactly as SPEC.md gives it."""
    return {"entry": row["entry"], "title": row["title"], "url": row["url"],
            "source": row["source"], "published": row["published"],
            "candidate": row["candidate"]}


def candidate_score(c: Candidate) -> float:
    """A candidate's stored score; one not scored yet (stored a moment ago) scores by topics."""
    if c.score is None:
        return round(len(c.topics) / (len(c.topics) + 1.0), 6)
    return float(min(1.0, max(0.0, c.score)))


def suggestion_reason(c: Candidate) -> str | None:
    """Why a suggestion was suggested, in the desk's words ("like 7 items you featured: …")."""
    if not c.suggested:
        return None
    import json

    try:
        why = json.loads(c.suggestion or "{}")
        like = int(why.get("like") or 0)
        words = [str(w) for w in why.get("words") or []][:3]
    except (ValueError, TypeError, AttributeError):
        like, words = 0, []
    if like > 0:
        text = f"like {like} item{'' if like == 1 else 's'} you featured"
    else:
        text = "like what you featured"
    return text + (f" ({', '.join(words)})" if words else "")


def entry_json(e: Entry) -> dict[str, Any]:
    """One source's copy of a candidate, as `curator show --json` and exports list it."""
    return {"source": e.source, "feed": e.feed, "site": e.site, "key": e.key, "title": e.title,
            "link": e.link, "published": iso(e.published), "first_seen": iso(e.first_seen)}


def article_entry_json(a: Entry) -> dict[str, Any]:
    """One of a story's other articles among `curator show --json`'s entries."""
    return {"source": a.source, "feed": a.feed, "title": a.title, "link": a.link,
            "published": iso(a.published), "first_seen": iso(a.first_seen)}


def article_json(a: Entry) -> dict[str, Any]:
    """One of a story's other articles, as an export's `also` lists it."""
    return {"title": a.title, "url": a.url, "source": a.source, "feed": a.feed, "link": a.link,
            "published": iso(a.published), "first_seen": iso(a.first_seen)}


def review_json(event: ReviewEvent) -> dict[str, Any]:
    """One line of a review log, as exports and `curator show --json` give it."""
    return {"action": event.action, "editor": event.editor, "at": iso(event.at),
            "note": event.note}


def editor_json(e: Editor) -> dict[str, Any]:
    """An editor as `curator editor list --json` gives it."""
    return {"name": e.name, "created": iso(e.created)}


@dataclass
class PollSummary:
    """What a poll did, counted as it goes; `curator poll --json` prints it."""

    sources: int = 0
    fetched: int = 0
    not_modified: int = 0
    failed: int = 0
    skipped: int = 0
    new_entries: int = 0
    updated_entries: int = 0
    new_candidates: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, int]:
        """The shape SPEC.md gives for `curator poll --json`."""
        return {k: getattr(self, k) for k in (
            "sources", "fetched", "not_modified", "failed", "skipped",
            "new_entries", "updated_entries", "new_candidates")}
