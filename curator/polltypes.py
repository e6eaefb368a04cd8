"""The poll's frozen dataclasses: fetch results and each source's outcome. Only a poll (and
`curator add`) needs them, so they are apart from curator.types, which every command imports: a
command pays at start-up for each dataclass it defines. What a parsed body is (a feed, its entries,
a new body) is in curator.parsed, which only a round with a body to parse loads; its names are
still found here (loaded on first use).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # Names this module still answers for (`X as X`: exported, for the type checker too).
    from .parsed import EntryData as EntryData
    from .parsed import NewBody as NewBody
    from .parsed import ParsedFeed as ParsedFeed
    from .parsed import SourceData as SourceData
    from .parsed import entry_hash as entry_hash

#: The names curator.parsed answers for.
_PARSED = frozenset({"EntryData", "NewBody", "ParsedFeed", "SourceData", "entry_hash"})


def __getattr__(name: str) -> Any:
    """curator.parsed's names, loaded when first asked for (PEP 562)."""
    if name in _PARSED:
        from . import parsed

        return getattr(parsed, name)
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

# ---------------------------------------------------------------- poll outcomes
# poll.decide() returns one of these per source; the store alone turns them into columns.


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
