"""What parsing a body gives: what the feed says about itself, its entries, and a new body as a
poll outcome carries it. Apart from curator.polltypes so that a round with no body to parse (all
304s, the same bytes again) defines none of these dataclasses; curator.polltypes still finds them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from .clock import iso


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


@dataclass(frozen=True)
class NewBody:
    """A body unlike the last one parsed, parsed: what the feed says about itself."""

    feed: SourceData
    body_hash: str
    entries: int = 0  # how many entries it lists
