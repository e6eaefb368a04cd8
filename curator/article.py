"""An article page (fetched for `curator add`) to plain-text metadata: title, description, site
name, published time and canonical URL, from OpenGraph, Twitter cards, JSON-LD and plain HTML.

Pure: bytes in, an Article or an ArticleError out. Every value leaves as plain text (a tag or a
script in og:title is reduced to its text, like a feed title); URLs are absolute http(s) or
nothing, so a `javascript:` canonical is ignored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from .exceptions import ArticleError

__all__ = ["Article", "ArticleError", "read_article", "ARTICLE_ACCEPT"]

ARTICLE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"
_HTML_TYPES = ("text/html", "application/xhtml+xml")
# JSON-LD types that describe an article (schema.org's Article and its news subtypes).
_ARTICLE_TYPES = frozenset({
    "Article", "NewsArticle", "ReportageNewsArticle", "AnalysisNewsArticle", "OpinionNewsArticle",
    "BackgroundNewsArticle", "ReviewNewsArticle", "BlogPosting", "Report", "ScholarlyArticle",
    "TechArticle", "SocialMediaPosting", "LiveBlogPosting",
})
_MAX_LD_BLOCKS = 20
_MAX_LD_CHARS = 500_000
_MIN_PARAGRAPH = 40  # characters: shorter first paragraphs are bylines, captions, "Advertisement"
_MAX_TEXT = 2000  # characters kept of a description: it is quoted as an excerpt, not archived


@dataclass(frozen=True)
class Article:
    url: str  # canonical URL as the page states it (else where it was fetched from)
    title: str
    description: str  # plain text: the page's summary, else its first paragraph
    site_name: str
    published: datetime | None  # UTC


def _text(value: Any) -> str:
    """Plain text of a metadata value, one line; tags and scripts reduced to their text."""
    if value is None or isinstance(value, (dict, list, bool)):
        return ""
    from .parse import html_to_text

    return html_to_text(str(value))


def _http(value: Any, base: str) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        url = urljoin(base, value.strip())
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in url):
        return None
    return url


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        try:
            when = datetime.fromisoformat(text[:10])  # a bare date, or junk after it
        except ValueError:
            return None
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return when.replace(microsecond=0)


def _types(node: Mapping[str, Any]) -> set[str]:
    kind = node.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return {k.rsplit("/", 1)[-1] for k in kinds if isinstance(k, str)}


def _ld_nodes(value: Any, depth: int = 0) -> Iterator[Mapping[str, Any]]:
    """Every object in a JSON-LD document ( @graph and lists included), shallow first."""
    if depth > 6:
        return
    if isinstance(value, list):
        for v in value[:200]:
            yield from _ld_nodes(v, depth + 1)
    elif isinstance(value, dict):
        yield value
        graph = value.get("@graph")
        if graph is not None:
            yield from _ld_nodes(graph, depth + 1)


def _json_ld(soup: Any) -> dict[str, Any]:
    """The first article object the page's JSON-LD describes, else {}."""
    for block in soup.find_all("script", attrs={"type": re.compile(r"ld\+json", re.I)},
                               limit=_MAX_LD_BLOCKS):
        raw = block.string or block.get_text() or ""
        if len(raw) > _MAX_LD_CHARS:
            continue
        try:
            doc = json.loads(raw)
        except (ValueError, RecursionError):
            continue
        for node in _ld_nodes(doc):
            if _types(node) & _ARTICLE_TYPES:
                return dict(node)
    return {}


def _ld_name(value: Any) -> str:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        return _text(value.get("name"))
    return _text(value)


def _ld_url(value: Any) -> Any:
    if isinstance(value, dict):
        return value.get("@id") or value.get("url")
    return value


def _meta(soup: Any) -> dict[str, str]:
    """<meta property|name=… content=…>, first of each name, names lower-cased."""
    found: dict[str, str] = {}
    for tag in soup.find_all("meta"):
        key = tag.get("property") or tag.get("name") or tag.get("itemprop")
        content = tag.get("content")
        if isinstance(key, str) and isinstance(content, str):
            found.setdefault(key.strip().lower(), content)
    return found


def _first_paragraph(soup: Any) -> str:
    root = soup.find("article") or soup.find("main") or soup.body or soup
    for p in root.find_all("p", limit=200):
        text = _text(p.get_text(" "))
        if len(text) >= _MIN_PARAGRAPH:
            return text
    return ""


def _clip(text: str) -> str:
    if len(text) <= _MAX_TEXT:
        return text
    return text[:_MAX_TEXT].rsplit(" ", 1)[0] + " …"


def _charset(content_type: str) -> str | None:
    m = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", content_type, re.I)
    return m.group(1) if m else None


def read_article(url: str, content: bytes, headers: Mapping[str, str]) -> Article:
    """The metadata of the HTML page at `url` (after redirects); ArticleError when it is none."""
    content_type = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
    kind = content_type.split(";")[0].strip().lower()
    head = content[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    looks_html = head.startswith((b"<!doctype html", b"<html", b"<head", b"<meta", b"<title"))
    if kind and kind not in _HTML_TYPES and not (kind == "text/plain" and looks_html):
        raise ArticleError(url, f"not an HTML page (the server says {kind})")
    if not kind and not looks_html:
        raise ArticleError(url, "not an HTML page")
    if not content.strip():
        raise ArticleError(url, "the page is empty")
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(content, "lxml", from_encoding=_charset(content_type))
    meta = _meta(soup)
    ld = _json_ld(soup)
    title_tag = soup.find("title")
    title = next((t for t in (
        _text(meta.get("og:title")), _text(meta.get("twitter:title")), _text(ld.get("headline")),
        _text(ld.get("name")), _text(title_tag.get_text(" ") if title_tag else None),
    ) if t), "")
    if not title:
        raise ArticleError(url, "no title found (no OpenGraph, Twitter card, JSON-LD or <title>)")
    description = next((t for t in (
        _text(meta.get("og:description")), _text(meta.get("twitter:description")),
        _text(ld.get("description")), _text(meta.get("description")),
    ) if t), "") or _first_paragraph(soup)
    site_name = next((t for t in (
        _text(meta.get("og:site_name")), _ld_name(ld.get("publisher")),
        _text(meta.get("application-name")),
    ) if t), "") or (urlsplit(url).hostname or "").removeprefix("www.")
    canonical_link = soup.find("link", rel=lambda r: r is not None and "canonical" in (
        r if isinstance(r, list) else str(r).split()))
    canonical = next((u for u in (
        _http(canonical_link.get("href") if canonical_link else None, url),
        _http(meta.get("og:url"), url), _http(_ld_url(ld.get("mainEntityOfPage")), url),
        _http(ld.get("url"), url),
    ) if u), url)
    time_tag = soup.find("time", attrs={"datetime": True})
    published = next((w for w in (
        _when(meta.get("article:published_time")), _when(ld.get("datePublished")),
        _when(meta.get("date")), _when(meta.get("dc.date")),
        _when(time_tag.get("datetime") if time_tag else None),
    ) if w), None)
    return Article(url=canonical, title=title[:1000], description=_clip(description),
                   site_name=site_name[:200], published=published)
