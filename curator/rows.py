"""The frozen rows only some commands build: a review event, what re-enabling a source did, an
editor, one of the desk's sign-in counters, and the published feed's channel and items. Apart from
curator.types, which every command imports, because each dataclass costs start-up time; `from
curator.types import Source` still finds them (loaded then). A source as stored (`Source`) is in
curator.sourcerow, which a poll loads without these six; `curator.rows.Source` still finds it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .sourcerow import Source as Source


def __getattr__(name: str) -> Any:
    """`Source`, from curator.sourcerow (PEP 562)."""
    if name == "Source":
        from .sourcerow import Source

        return Source
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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


@dataclass(frozen=True)
class ReviewEvent:
    """One line of a candidate's review log."""

    action: str  # feature, edit-note, reject, reset, import, link, split, merge
    editor: str
    at: datetime
    note: str | None


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


@dataclass(frozen=True)
class LoginCounter:
    """One of the desk's sign-in counters (store/logins.py keeps them; web/security.py reads
    them): a back-off has `n` failures, ends at `at` (None: none yet) and has had a password
    check running since `since` (None: none); a bucket has `n` tokens left, counted at `at`."""

    n: float
    at: float | None
    since: float | None = None
