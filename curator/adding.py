"""`curator add URL`: an article no source carried, fetched, read and stored as a candidate.

The page comes through the poll's fetcher (its timeout, size limit, redirects and
private-address rule), its metadata through curator.article. Everything is checked before
anything is written, and then written in one transaction: a page that cannot be added leaves
nothing behind.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from .exceptions import ArticleError, UsageError
from .publish import clean_note

if TYPE_CHECKING:
    from .config import Config
    from .store import Store
    from .store.search import SearchStore
    from .types import Candidate

log = logging.getLogger("curator")


def add_article(store: Store, search: SearchStore, config: Config, url: str, *,
                note: str | None, editor: str, now: datetime) -> Candidate:
    """Make the article at `url` a candidate (with a note: featured); the candidate."""
    import asyncio
    import html

    from .article import ARTICLE_ACCEPT, read_article
    from .clock import iso
    from .match import Matcher
    from .parsed import EntryData
    from .polltypes import Fetched, FetchRequest
    from .urls import canonicalize

    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise UsageError(f"{url!r} is not an http(s) URL")
    note = clean_note(note)  # checked before the page is fetched

    async def fetch() -> Any:
        from .fetch import Fetcher

        async with Fetcher(config.poll.fetch_settings()) as fetcher:
            return await fetcher.fetch(FetchRequest(url, accept=ARTICLE_ACCEPT))

    result = asyncio.run(fetch())
    if not isinstance(result, Fetched):
        raise ArticleError(url, getattr(result, "message", "no page came back"))
    article = read_article(result.final_url, result.content, result.headers)
    canonical = canonicalize(article.url, result.final_url)
    if not canonical:
        raise ArticleError(url, "the page names no http(s) address for itself")
    text = article.description
    entry = EntryData(key=canonical, url=canonical, link=article.url, title=article.title,
                      summary=html.escape(text, quote=False), content="", text=text,
                      published=article.published)
    topics = Matcher(config.topics).match(article.title, text)
    site = urlsplit(canonical)
    home = urlunsplit((site.scheme, site.netloc, "/", "", ""))

    def save() -> tuple[int, bool]:
        with store.write():
            # The site, as a source that is not in feeds.yaml: never polled, named by the page.
            source_id = store.outside_source(home, title=article.site_name, site=home,
                                             stamp=iso(now) or "")
            store.save_entries(source_id, [entry], [topics], now)
            entry_id = store.entry_id(source_id, canonical)
            assert entry_id is not None  # saved just above, in this transaction
            cid, created = search.promote(entry_id, editor=editor, now=now)
            if note is not None:
                store.set_status(cid, "featured", editor=editor, now=now, note=note)
            return cid, created

    cid, created = store.retrying(save, "add")
    log.info("%s added %s as candidate %d%s", editor, canonical, cid,
             "" if created else " (it was one already)")
    return store.candidate(cid)
