"""Frozen dataclasses passed between curator's stages (fetch, parse, match, store, render).

The poll's own (fetch results, parsed entries, outcomes) are in curator.polltypes, which only a
poll imports; they can still be imported from here, and then load on first use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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


def __getattr__(name: str) -> Any:
    """curator.polltypes' names, loaded when first asked for (PEP 562). The import system's own
    questions (`__path__` for every `from curator.types import ...`) never load it."""
    if not name.startswith("__"):
        from . import polltypes

        if hasattr(polltypes, name):
            return getattr(polltypes, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ---------------------------------------------------------------- fetch


@dataclass(frozen=True)
class FetchSettings:
    """How one poll fetches: limits, identity and politeness."""

    timeout: float = 20.0  # whole request, connect to last byte, seconds
    max_bytes: int = 10 * 1000 * 1000  # decompressed body limit (feeds.yaml's 10MB)
    user_agent: str = "curator"
    max_redirects: int = 5
    per_host: int = 2  # concurrent requests to one host
    concurrency: int = 64  # concurrent requests in all
    block_private_addresses: bool = False


# ---------------------------------------------------------------- publish

MAX_NOTE_CHARS = 100_000  # an editor's note, in characters


@dataclass(frozen=True)
class Channel:
    """The outgoing feed's own metadata."""

    title: str
    link: str
    description: str
    author_name: str
    author_email: str | None
    rss_url: str  # self link of the RSS file
    atom_url: str  # self link of the Atom file
    # Each topic's (slug, title): items carry slugs, readers are shown titles.
    topic_titles: tuple[tuple[str, str], ...] = ()
    json_url: str = ""  # self link of the JSON Feed; empty: none is published
    hub: str | None = None  # WebSub hub the feeds name (rel="hub")
    # The site's root, under which item pages and topics live; empty: `link` (a topic's feed
    # links its topic's page, but its items' pages are the site's).
    site_url: str = ""


@dataclass(frozen=True)
class PublishedItem:
    """One featured candidate as it goes into the outgoing feeds."""

    guid: str  # stable for the life of the feature
    title: str  # plain text
    url: str  # the original article's canonical URL
    note: str  # commentary, Markdown
    source_name: str
    source_url: str  # the source feed's URL
    source_link: str | None  # the source's site
    topics: tuple[str, ...]
    featured_at: datetime
    updated_at: datetime  # when the note last changed (>= featured_at)
    published: datetime | None = None  # the original article's date
    editor: str | None = None
    # The story's other articles, as (title, url, source name): "Also covered by".
    also: tuple[tuple[str, str, str], ...] = ()
    # The start of the original article as plain text, already cut to output.excerpt_words
    # (text.excerpt): quoted in the item's body. Empty: no excerpt.
    excerpt: str = ""
    # render.render_note(note), when already known (the store keeps it): rendering then needs no
    # Markdown. Derived from note, so it takes no part in equality or repr, and so none in the
    # hash of a publish's inputs either.
    note_html: str | None = field(default=None, compare=False, repr=False)


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
class Source:
    """A source as stored: where it is fetched from and its health (built by the store only)."""

    id: int
    url: str  # as written in feeds.yaml: the source's identity
    url_in_use: str  # moves on 301/308
    name: str | None = None  # from feeds.yaml
    title: str | None = None  # the feed's own title
    link: str | None = None  # the feed's site
    in_config: bool = True
    interval: int | None = None  # seconds, from feeds.yaml
    interval_hint: int | None = None  # seconds, from <ttl> / sy:updatePeriod
    max_age: int | None = None  # seconds, from Cache-Control
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None  # sha256 of the last parsed body
    status: int | None = None
    last_polled: datetime | None = None
    last_ok: datetime | None = None
    failing_since: datetime | None = None
    next_due: datetime | None = None
    retry_after: datetime | None = None
    failures: int = 0
    error: str | None = None
    disabled: str | None = None  # why, when the source is disabled
    added: datetime | None = None
    stale: bool = False  # failing for a week or more (Curator.sources() says, from its clock)

    @property
    def display_name(self) -> str:
        """What a source is called: its name in feeds.yaml, else the feed's title, else its URL."""
        return self.name or self.title or self.url_in_use or self.url


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
class ReviewEvent:
    """One line of a candidate's review log."""

    action: str  # feature, edit-note, reject, reset, import, link, split, merge
    editor: str
    at: datetime
    note: str | None


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


@dataclass(frozen=True)
class Enabled:
    """What re-enabling a source did."""

    source: Source  # as it is now
    cleared: str | None  # "disabled", "back-off", or None when there was nothing to clear
    cleared_failures: int  # the failures in a row it cleared


@dataclass(frozen=True)
class Editor:
    """An editor account, without its password hash."""

    name: str
    created: datetime


# ---------------------------------------------------------------- relevance


@dataclass(frozen=True)
class RelevanceSettings:
    """feeds.yaml's `relevance` section."""

    suggest: bool = True  # entries no topic matched become candidates when the model rates them
    # The score from which an entry becomes a suggestion. On the benchmark's stream
    # (bench/relevance_bench.py) about nine suggestions in ten from this score on are featured,
    # and they recover about four in five of the stories the topics missed.
    suggest_above: float = 0.4
