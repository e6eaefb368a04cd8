"""Frozen dataclasses passed between curator's stages (fetch, parse, match, store, render)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

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


@dataclass(frozen=True)
class FetchRequest:
    """One source to fetch, with the validators stored from its last good response."""

    url: str
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class Fetched:
    """A 200 response whose body was read whole within the limits."""

    url: str  # the URL asked for
    final_url: str  # after redirects (base for relative links)
    permanent_url: str | None  # set when every redirect hop was 301/308: the URL to store
    status: int
    content: bytes  # decompressed
    headers: dict[str, str]  # lower-cased names
    etag: str | None
    last_modified: str | None
    max_age: int | None  # Cache-Control max-age, seconds


@dataclass(frozen=True)
class NotModified:
    """A 304: the stored entries are current; nothing to parse."""

    url: str
    permanent_url: str | None
    status: int
    etag: str | None
    last_modified: str | None
    max_age: int | None


@dataclass(frozen=True)
class FetchError:
    """Any fetch that gave no usable body; recorded on the source, never raised."""

    url: str
    permanent_url: str | None
    status: int | None  # HTTP status when there was one
    message: str  # plain words, for `curator sources`
    retry_after: datetime | None = None  # from Retry-After on 429/503 (UTC)
    gone: bool = False  # 410: disable the source


FetchResult = Fetched | NotModified | FetchError

# ---------------------------------------------------------------- parse


@dataclass(frozen=True)
class SourceData:
    """What a feed says about itself."""

    title: str | None
    link: str | None  # the site's home page
    interval_hint: int | None = None  # seconds, from <ttl> or sy:updatePeriod/updateFrequency


@dataclass(frozen=True)
class EntryData:
    """One entry as parsed: sanitised HTML, plain text and a canonical URL."""

    key: str  # identity within its source: guid, else link, else hash of title+summary
    url: str | None  # canonical article URL (see urls.canonicalize)
    link: str | None  # the link as the feed gave it, made absolute
    title: str  # plain text
    summary: str  # sanitised HTML
    content: str  # sanitised HTML
    text: str  # plain text of summary and content, for matching and excerpts
    author: str | None = None
    published: datetime | None = None  # UTC
    updated: datetime | None = None  # UTC


@dataclass(frozen=True)
class ParsedFeed:
    source: SourceData
    entries: tuple[EntryData, ...] = field(default_factory=tuple)


# ---------------------------------------------------------------- publish


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


# ---------------------------------------------------------------- relevance


@dataclass(frozen=True)
class RelevanceSettings:
    """feeds.yaml's `relevance` section."""

    suggest: bool = True  # entries no topic matched become candidates when the model rates them
    # The score from which an entry becomes a suggestion. On the benchmark's stream
    # (bench/relevance_bench.py) about nine suggestions in ten from this score on are featured,
    # and they recover about four in five of the stories the topics missed.
    suggest_above: float = 0.4
