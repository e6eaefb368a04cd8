"""A source as stored: the one row a poll builds, apart from curator.rows so that a poll
loads no other row's dataclass (each costs start-up time)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


# Slots: a poll holds one for every source it polls, and an instance's own dict of 24 fields
# took 1.6 KB of the 1.7 KB each (10,000 sources: 17 MB, now 3 MB).
@dataclass(frozen=True, slots=True)
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
