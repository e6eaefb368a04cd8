"""The poll's frozen dataclasses: fetch results, parsed feeds and entries, and each source's
outcome. Only a poll (and `curator add`) needs them, so they are apart from curator.types, which
every command imports: a command pays at start-up for each dataclass it defines.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from .clock import iso

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
    accept: str | None = None  # instead of the feed types (an article page: HTML)


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
    # Derived where the entry is built, which in a poll is a parse worker: the poll's main
    # process, which writes every entry, then only stores them (it is the busier one).
    published_at: str | None = field(init=False, compare=False, repr=False)  # iso(published)
    updated_at: str | None = field(init=False, compare=False, repr=False)  # iso(updated)
    hash: str = field(init=False, compare=False, repr=False)  # see entry_hash

    def __post_init__(self) -> None:
        published = iso(self.published)
        object.__setattr__(self, "published_at", published)
        object.__setattr__(self, "updated_at", iso(self.updated))
        object.__setattr__(self, "hash", entry_hash(
            self.title, self.summary, self.content, self.link, self.author, published))


def entry_hash(title: str, summary: str, content: str, link: str | None, author: str | None,
               published: str | None) -> str:
    """What decides that a stored entry changed and must be updated in place (the entries
    table's `hash`: a change here makes every stored entry look changed once)."""
    h = hashlib.sha256()
    for part in (title, summary, content, link or "", author or "", published or ""):
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()


@dataclass(frozen=True)
class ParsedFeed:
    source: SourceData
    entries: tuple[EntryData, ...] = field(default_factory=tuple)


# ---------------------------------------------------------------- poll outcomes
# poll.decide() returns one of these per source; the store alone turns them into columns.


@dataclass(frozen=True)
class NewBody:
    """A body unlike the last one parsed, parsed: what the feed says about itself."""

    feed: SourceData
    body_hash: str
    entries: int = 0  # how many entries it lists


@dataclass(frozen=True)
class Unparsable:
    """A body the parser refused (or crashed on)."""

    message: str


@dataclass(frozen=True)
class Refreshed:
    """A good poll: a new body parsed ("fetched"), a 304 or the same bytes as last time."""

    how: str  # "fetched", "not modified" or "unchanged body"
    polled_at: datetime
    status: int
    next_due: datetime
    max_age: int | None
    # (etag, last_modified) to store; None keeps the stored ones (a 304 that repeated neither).
    validators: tuple[str | None, str | None] | None
    moved_to: str | None = None  # every redirect hop was permanent: fetch this URL from now on
    body: NewBody | None = None  # set for "fetched"
    warning: str | None = None  # shown as the source's error though it is not failing


@dataclass(frozen=True)
class Failed:
    """A failed poll: backed off, held back by Retry-After, or disabled (410 Gone)."""

    polled_at: datetime
    status: int | None
    message: str
    failures: int  # in a row, this one included
    failing_since: datetime
    next_due: datetime
    retry_after: datetime | None = None  # None keeps the stored one
    disabled: str | None = None  # why, when the server said the feed is gone
    moved_to: str | None = None


PollOutcome = Refreshed | Failed
