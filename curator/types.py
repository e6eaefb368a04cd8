"""Frozen dataclasses passed between curator's stages (fetch, parse, match, store, render).

Each dataclass costs every command that imports its module start-up time (about half a
millisecond), so only the ones the quickest commands need are here: the config's topics and
relevance settings, and a candidate with its copies. The rest are apart and load on first use:
the stored rows only some commands build (sources, review events, editors, the desk's sign-in
counters) and the published feed's items in curator.rows; the poll's own (fetch settings and
results, parsed entries, outcomes) in curator.polltypes. Their names can still be imported from
here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .polltypes import (  # noqa: F401 - names this module still answers for
        EntryData,
        Failed,
        Fetched,
        FetchError,
        FetchRequest,
        FetchResult,
        NewBody,
        NotModified,
        ParsedFeed,
        PollOutcome,
        Refreshed,
        SourceData,
        Unparsable,
    )

    # Names this module still answers for (`X as X`: exported, for the type checker too).
    from .polltypes import FetchSettings as FetchSettings
    from .rows import Channel as Channel
    from .rows import Editor as Editor
    from .rows import Enabled as Enabled
    from .rows import LoginCounter as LoginCounter
    from .rows import PublishedItem as PublishedItem
    from .rows import ReviewEvent as ReviewEvent
    from .sourcerow import Source as Source


#: The names curator.rows answers for; any other is looked for in curator.polltypes.
_ROWS = frozenset({"Channel", "Editor", "Enabled", "LoginCounter", "PublishedItem", "ReviewEvent",
                   "Source"})


def __getattr__(name: str) -> Any:
    """curator.rows' and curator.polltypes' names, each loaded when first asked for (PEP 562).
    The import system's own questions (`__path__` for every `from curator.types import ...`)
    never load them."""
    if not name.startswith("__"):
        if name in _ROWS:
            if name == "Source":
                from .sourcerow import Source

                return Source
            from . import rows

            return getattr(rows, name)
        from . import polltypes

        if hasattr(polltypes, name):
            return getattr(polltypes, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ---------------------------------------------------------------- publish

MAX_NOTE_CHARS = 100_000  # an editor's note, in characters


# ---------------------------------------------------------------- topics


@dataclass(frozen=True)
class Topic:
    """A topic from feeds.yaml: terms are plain words, "quoted phrases" or prefixes ending in *."""

    name: str  # slug, unique
    title: str
    any: tuple[str, ...]
    # Each item must match: a term, or a group of terms of which any one will do.
    all: tuple[str | tuple[str, ...], ...] = ()
    none: tuple[str, ...] = ()


# ---------------------------------------------------------------- stored rows


@dataclass(frozen=True)
class Entry:
    """One source's copy of an article, as a candidate lists it (built by the store only)."""

    source: str  # the source's name in feeds.yaml, else its feed's title, else its URL
    feed: str  # the URL the source is fetched from
    site: str | None = None  # the source's site
    key: str | None = None  # the entry's identity within its source (see EntryData.key)
    title: str = ""
    link: str | None = None
    published: datetime | None = None
    first_seen: datetime | None = None
    url: str | None = None  # set for a story's other articles (Candidate.also)


@dataclass(frozen=True)
class Candidate:
    """A canonical article URL that matched a topic, with its review state (built by the store)."""

    id: int
    url: str  # the article's canonical URL
    title: str
    status: str  # new, featured, rejected
    note: str | None = None  # Markdown; kept as a draft when unfeatured
    guid: str | None = None  # stable for the life of a feature
    featured_at: datetime | None = None
    note_updated_at: datetime | None = None
    published: datetime | None = None
    first_seen: datetime | None = None
    changed_by: str | None = None
    changed_at: datetime | None = None
    note_html: str | None = None  # the note rendered, cached...
    note_html_key: str | None = None  # ...and what it was rendered from
    score: float | None = None  # how likely the editors are to feature it (relevance.py)
    suggested: bool = False  # no topic matched; the learned model did
    suggestion: str | None = None  # why it was suggested (JSON: like how many, which words)
    seen_at: datetime | None = None  # when an editor marked it seen (new candidates only)
    seen_by: str | None = None
    source_name: str | None = None  # the source of the entry that made it a candidate
    source_url_in_use: str | None = None
    source_link: str | None = None
    summary_html: str | None = None
    text: str | None = None  # plain text, for excerpts and highlighting
    link: str | None = None
    entry_id: int | None = None  # the entry that made it a candidate
    topics: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()  # every source that carried it, first seen first
    entries: tuple[Entry, ...] = ()  # every copy, first seen first
    also: tuple[Entry, ...] = ()  # the story's other articles, in the order they joined
    history: tuple[ReviewEvent, ...] = ()  # filled for one candidate and for exports

    @property
    def source(self) -> str | None:
        """The source to credit: the one that made it a candidate, else the first that carried it."""
        return self.source_name or (self.sources[0] if self.sources else None)


# ---------------------------------------------------------------- relevance


@dataclass(frozen=True)
class RelevanceSettings:
    """feeds.yaml's `relevance` section."""

    suggest: bool = True  # entries no topic matched become candidates when the model rates them
    # The score from which an entry becomes a suggestion. On the benchmark's stream
    # (bench/relevance_bench.py) about nine suggestions in ten from this score on are featured,
    # and they recover about four in five of the stories the topics missed.
    suggest_above: float = 0.4
