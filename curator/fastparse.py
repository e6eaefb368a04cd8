"""A fast path for plain, well-formed RSS 2.0: lxml builds the same fields feedparser would.

feedparser handles every element in Python, one SAX event at a time; for the common feed (RSS 2.0
with title, link, guid, description, content:encoded, dates and enclosures) lxml reads the whole
document in C and this module applies feedparser's rules to the few fields parse.py reads:

* text is stripped, then (for links and permalink guids) passed through feedparser's URL fixer,
  then "UTF-8 read as Latin-1" repaired and C1 controls mapped to their windows-1252 characters,
  exactly as feedparser's `pop` does;
* an item's link is its <link> when it has one (even empty), else a permalink guid's value;
  `&name;` left in a link loses its semicolon as in feedparser;
* the summary is the <description>, else the content:encoded text; dates go through feedparser's
  own date parser, after an exact shortcut for the common RFC 822 form;
* an author is split into name and e-mail address with feedparser's own expression;
* Media RSS pictures (media:content, media:thumbnail, their credits, ratings and licences, and
  media:group of those) are skipped: feedparser files them under keys of their own. A
  media:title or media:description anywhere sends the feed to feedparser (they set the title).

Anything outside that (another version or namespace, an element we do not know, an element
twice where feedparser's answer depends on order, markup inside a text element, a DOCTYPE,
xml:base, XML lxml refuses) returns None and parse.py runs feedparser, so the fast path never
decides anything feedparser would decide differently. tests/test_fastparse.py proves it on
every feed in tests/data, on feedparser's own test cases and on captured real feeds.
"""

from __future__ import annotations

import calendar
import contextlib
import re
import time
from functools import lru_cache
from typing import Any

from feedparser.datetimes import _parse_date
from feedparser.html import _cp1252
from feedparser.urls import _urljoin

_CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
_DC = "{http://purl.org/dc/elements/1.1/}"
_SY = "{http://purl.org/rss/1.0/modules/syndication/}"
_ATOM = "{http://www.w3.org/2005/Atom}"
_WFW = "{http://wellformedweb.org/CommentAPI/}"
_SLASH = "{http://purl.org/rss/1.0/modules/slash/}"
_MEDIA = "{http://search.yahoo.com/mrss/}"

# Media RSS elements whose feedparser handlers keep them only under keys of their own (media_content,
# media_thumbnail, media_credit, tags...) when they hold no other element: pictures and their
# credits. media:title and media:description are not among them: they set the title and summary.
_MEDIA_LEAVES = frozenset(_MEDIA + t for t in (
    "content", "thumbnail", "credit", "category", "keywords", "rating", "license", "restriction",
    "player",
))
# Elements feedparser handles without touching any field parse.py reads.
_CHANNEL_IGNORED = frozenset({
    "description", "language", "copyright", "managingEditor", "webMaster", "pubDate",
    "lastBuildDate", "category", "generator", "docs", "cloud", _SY + "updateBase",
}) | _MEDIA_LEAVES
_IMAGE_CHILDREN = frozenset({"url", "title", "link", "width", "height", "description"})
_ITEM_IGNORED = frozenset({
    "category", "comments", _WFW + "commentRss", _WFW + "comment", _SLASH + "comments",
}) | _MEDIA_LEAVES
# Fields whose value feedparser takes from the first or last occurrence depending on context
# (atom:published is pubDate to feedparser: the two are one field).
_ITEM_ONCE = {t: t for t in (
    "title", "link", "description", "guid", "pubDate", _DC + "date", _CONTENT + "encoded",
)} | {_ATOM + "published": "pubDate"}
_HTML_TYPES = frozenset({"application/xhtml+xml", "text/html"})

_EMAIL = re.compile(
    r"(([a-zA-Z0-9\_\-\.\+]+)@((\[[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.)|(([a-zA-Z0-9\-]+\.)+))"
    r"([a-zA-Z]{2,4}|[0-9]{1,3})(\]?))(\?subject=\S+)?"
)
_ENTITY_LEFT = re.compile("&([A-Za-z0-9_]+);")
_C1 = re.compile("[\x80-\x9f]")


# The keys parse.py reads from feedparser's results (and the state feedparser keeps in them).
_READ_KEYS = frozenset({
    "title", "title_detail", "summary", "summary_detail", "content", "id", "link", "links",
    "author", "author_detail", "authors", "published", "published_parsed", "updated",
    "updated_parsed", "ttl", "sy_updateperiod", "sy_updatefrequency", "guidislink", "image",
    "textinput", "source", "description", "subtitle",
})


@lru_cache(maxsize=1)
def _feedparser_names() -> tuple[dict[str, str], frozenset[str], type]:
    from feedparser.api import StrictFeedParser
    from feedparser.mixin import _FeedParserMixin

    namespaces = {k.lower(): v for k, v in _FeedParserMixin.namespaces.items()}
    return namespaces, frozenset(namespaces.values()), StrictFeedParser


@lru_cache(maxsize=512)
def _ignored_by_feedparser(tag: str, given_prefix: str | None) -> bool:
    """Whether feedparser keeps an element only under a key of its own, which nothing reads.

    feedparser names an element by its namespace's usual prefix (the document's own prefix for
    a namespace it does not know) and its lower-cased local name; an element without a
    `_start_` handler is stored under that name, so it is harmless unless the name is one that
    parse.py reads (a default-namespace <title xmlns="urn:x"> is a title to feedparser).
    """
    namespaces, known_prefixes, parser = _feedparser_names()
    ns, _, local = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
    prefix = namespaces.get(ns.lower(), given_prefix) if ns else ""
    if ns and ns.lower() not in namespaces and given_prefix in known_prefixes:
        return False  # a document prefix feedparser may map to a namespace it knows
    prefix = (prefix or "").lower()
    name = f"{prefix}_{local.lower()}" if prefix else local.lower()
    if hasattr(parser, "_start_" + name) or hasattr(parser, "_end_" + name):
        return False
    return name not in _READ_KEYS and ":" not in name


def _harmless(el: Any) -> bool:
    return not len(el) and _ignored_by_feedparser(el.tag, el.prefix)


class _Fallback(Exception):
    """Something feedparser must decide."""


_parser: Any = None


def _xml_parser() -> Any:
    global _parser
    if _parser is None:
        from lxml import etree

        # Nothing fetched or expanded: parse.py already dropped internal subsets, and an
        # undefined entity is an error here (feedparser's loose parser decides those).
        _parser = etree.XMLParser(
            resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
            remove_comments=True, remove_pis=True, recover=False,
        )
    return _parser


def parse(data: bytes) -> dict[str, Any] | None:
    """feedparser's result for the fields parse.py reads, or None when feedparser must decide.

    data is the UTF-8 body parse.py prepared (illegal characters removed, no internal subset)
    and must not carry xml:base (parse.py checks that before calling).
    """
    from lxml import etree

    try:
        root = etree.fromstring(data, _xml_parser())
    except (etree.XMLSyntaxError, ValueError):
        return None
    try:
        if root.getroottree().docinfo.doctype:
            raise _Fallback
        if root.tag == _ATOM + "feed":
            return _atom_feed(root)
        if root.tag != "rss" or root.get("version") != "2.0":
            raise _Fallback
        channels = [c for c in root if isinstance(c.tag, str)]
        if len(channels) != 1 or channels[0].tag != "channel" or channels[0].attrib:
            raise _Fallback
        return _channel(channels[0])
    except _Fallback:
        return None


# ---------------------------------------------------------------- text as feedparser's pop


def _finish(s: str) -> str:
    # The last steps of feedparser's pop: UTF-8 that was read as Latin-1 is repaired, and C1
    # controls become the windows-1252 characters they almost always meant.
    # Both are identities on ASCII, and the translation on text without C1 controls.
    if s.isascii():
        return s
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        s = s.encode("iso-8859-1").decode("utf-8")
    return s.translate(_cp1252) if _C1.search(s) else s


def _text(el: Any, uri: bool = False, attributes: bool = False) -> str:
    if len(el):
        raise _Fallback  # markup inside a text element: feedparser re-serialises it
    if el.attrib and not attributes:
        raise _Fallback  # type="..." or mode="base64" change how feedparser decodes the text
    s = (el.text or "").strip()
    if uri and s:
        s = _urljoin("", s)
    return _finish(s)


def _leaf(el: Any) -> None:
    if len(el):
        raise _Fallback


# ---------------------------------------------------------------- dates


_MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
_RFC822 = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d\d) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
    r" (\d{4}) ([01]\d|2[0-3]):([0-5]\d):([0-5]\d) (GMT|[+-](?:[01]\d|2[0-3])[0-5]\d)"
)


def parse_date(value: str) -> time.struct_time | None:
    """feedparser's date parser, with the common RFC 822 form read directly (same result)."""
    m = _RFC822.fullmatch(value)
    if m is None:
        return _parse_date(value)  # type: ignore[no-any-return]
    day, month, year = int(m[1]), _MONTHS[m[2]], int(m[3])
    if not 1 <= day <= calendar.monthrange(year, month)[1] or not 1900 <= year < 9999:
        return _parse_date(value)  # type: ignore[no-any-return]
    zone = m[7]
    offset = 0 if zone == "GMT" else (
        (-1 if zone[0] == "-" else 1) * (int(zone[1:3]) * 3600 + int(zone[3:5]) * 60))
    stamp = calendar.timegm((year, month, day, int(m[4]), int(m[5]), int(m[6]), 0, 0, 0))
    return time.gmtime(stamp - offset)


# ---------------------------------------------------------------- RSS 2.0


def _channel(channel: Any) -> dict[str, Any]:
    feed: dict[str, Any] = {}
    entries: list[dict[str, Any]] = []
    # feedparser keeps the first non-empty title at a depth until an image or item resets it.
    title_depth = -1
    for el in channel:
        tag = el.tag
        if not isinstance(tag, str):
            continue
        if tag == "item":
            entry, title_depth = _item(el)
            entries.append(entry)
        elif tag == "title":
            value = _text(el)
            if not -1 < title_depth <= 3:
                feed["title"] = value
                feed["title_detail"] = {"type": "text/plain", "base": "", "value": value}
            if value:
                title_depth = 3
        elif tag == "link":
            if el.attrib:
                raise _Fallback
            feed["link"] = _ENTITY_LEFT.sub(r"&\g<1>", _text(el, uri=True))
        elif tag == _ATOM + "link":
            _leaf(el)
            attrs = {k.lower(): v for k, v in el.attrib.items()}
            if "href" not in attrs or "url" in attrs or "uri" in attrs or len(attrs) != len(
                    el.attrib):
                raise _Fallback
            rel = attrs.get("rel", "alternate")
            kind = attrs.get("type", "application/atom+xml" if rel == "self" else "text/html")
            if rel == "alternate" and _map_type(kind) in _HTML_TYPES:
                feed["link"] = _urljoin("", attrs["href"])
        elif tag == "ttl":
            feed["ttl"] = _text(el)
        elif tag == _SY + "updatePeriod":
            feed["sy_updateperiod"] = _text(el)
        elif tag == _SY + "updateFrequency":
            feed["sy_updatefrequency"] = _text(el)
        elif tag == "image":
            title_depth = -1
            for child in el:
                if isinstance(child.tag, str):
                    if child.tag not in _IMAGE_CHILDREN:
                        raise _Fallback
                    if child.tag == "title" and _text(child):
                        title_depth = 4
                    _leaf(child)
        elif tag in _CHANNEL_IGNORED:
            _leaf(el)
        elif not _harmless(el):
            raise _Fallback
    return {"version": "rss20", "feed": feed, "entries": entries}


def _map_type(kind: str) -> str:
    kind = kind.lower()
    return {"text": "text/plain", "plain": "text/plain", "html": "text/html",
            "xhtml": "application/xhtml+xml"}.get(kind, kind)


def _item(item: Any) -> tuple[dict[str, Any], int]:
    if item.attrib:
        raise _Fallback  # feedparser reads CDF attributes (lastmod, href) on items
    e: dict[str, Any] = {}
    seen: set[str] = set()
    title_depth = -1
    guid: str | None = None
    guid_is_link = False
    link: str | None = None
    content: str | None = None
    has_links = False
    authors = 0
    for el in item:
        tag = el.tag
        if not isinstance(tag, str):
            continue
        if tag in _ITEM_ONCE:
            if _ITEM_ONCE[tag] in seen:
                raise _Fallback
            seen.add(_ITEM_ONCE[tag])
        if tag == "title":
            value = _text(el)
            e["title"] = value
            e["title_detail"] = {"type": "text/plain", "base": "", "value": value}
            if value:
                title_depth = 4
        elif tag == "link":
            if el.attrib:
                raise _Fallback
            has_links = True
            link = _ENTITY_LEFT.sub(r"&\g<1>", _text(el, uri=True).replace("&amp;", "&"))
        elif tag == "guid":
            attrs = {k.lower(): v for k, v in el.attrib.items()}
            if set(attrs) - {"ispermalink"} or len(attrs) != len(el.attrib):
                raise _Fallback
            guid_is_link = attrs.get("ispermalink", "true") == "true"
            guid = _text(el, uri=guid_is_link, attributes=True)
            e["id"] = guid
        elif tag == "description":
            value = _text(el)
            e["summary"] = value
            e["summary_detail"] = {"type": "text/html", "base": "", "value": value}
        elif tag == _CONTENT + "encoded":
            if el.attrib:
                raise _Fallback
            content = _text(el)
            e["content"] = [{"type": "text/html", "base": "", "value": content}]
        elif tag in ("pubDate", _ATOM + "published"):
            e["published_parsed"] = parse_date(_text(el))
        elif tag == _DC + "date":
            e["updated_parsed"] = parse_date(_text(el))
        elif tag in ("author", _DC + "creator"):
            authors += 1
            if authors > 1 or el.attrib:
                raise _Fallback
            _author(e, _text(el))
        elif tag == "enclosure":
            _leaf(el)
            has_links = True  # feedparser lists enclosures among the links
        elif tag in _ITEM_IGNORED:
            _leaf(el)
        elif tag == _MEDIA + "group":
            _media_group(el)
        elif not _harmless(el):
            raise _Fallback
    if content is not None and "summary" not in e:
        e["summary"] = content  # feedparser copies the content into an absent summary
    if link is not None:
        e["link"] = link
    elif guid is not None and guid_is_link:
        e["link"] = guid
    if has_links:
        e["links"] = []
    return e, title_depth


def _media_group(group: Any) -> None:
    """A media:group of pictures and credits only: feedparser keeps them under keys of their own
    (a media:title or media:description inside sets the entry's title or summary: feedparser's)."""
    for child in group:
        if isinstance(child.tag, str):
            if child.tag not in _MEDIA_LEAVES:
                raise _Fallback
            _leaf(child)


def _author(e: dict[str, Any], author: str) -> None:
    """feedparser's _sync_author_detail for one RSS author: "jo@example.com (Jo)" -> Jo."""
    e["author"] = author
    if not author:
        return
    email = None
    m = _EMAIL.search(author)
    if m:
        email = m.group(0)
        author = author.replace(email, "").replace("()", "").replace("<>", "")
        author = author.replace("&lt;&gt;", "").strip()
        if author and author[0] == "(":
            author = author[1:]
        if author and author[-1] == ")":
            author = author[:-1]
        author = author.strip()
    detail: dict[str, str] = {}
    if author:
        detail["name"] = author
    if email:
        detail["email"] = email
    if detail:
        e["author_detail"] = detail


# ---------------------------------------------------------------- Atom 1.0


_ATOM_FEED_IGNORED = frozenset(
    _ATOM + t for t in ("subtitle", "updated", "generator", "icon", "logo", "rights", "category")
)
_ATOM_ENTRY_IGNORED = frozenset(_ATOM + t for t in ("category", "rights")) | _MEDIA_LEAVES
_ATOM_ONCE = frozenset(
    _ATOM + t for t in ("id", "title", "summary", "content", "published", "updated", "author")
)
_PERSON_CHILDREN = frozenset(_ATOM + t for t in ("name", "email", "uri"))
_ATOM_TEXT_TYPES = frozenset({"text/plain", "text/html"})


def _atom_text(el: Any, default: str) -> tuple[str, dict[str, str]]:
    """An Atom text construct (text or html; xhtml and others go to feedparser) and its detail."""
    if set(el.attrib) - {"type"}:
        raise _Fallback
    kind = _map_type(el.get("type", default))
    if kind not in _ATOM_TEXT_TYPES:
        raise _Fallback
    value = _text(el, attributes=True)
    return value, {"type": kind, "base": "", "value": value}


def _atom_link(el: Any) -> str | None:
    """The href of an alternate HTML link as feedparser keeps it; None for any other link."""
    _leaf(el)
    attrs = {k.lower(): v for k, v in el.attrib.items()}
    if "href" not in attrs or "url" in attrs or "uri" in attrs or len(attrs) != len(el.attrib):
        raise _Fallback
    rel = attrs.get("rel", "alternate")
    kind = attrs.get("type", "application/atom+xml" if rel == "self" else "text/html")
    if rel == "alternate" and _map_type(kind) in _HTML_TYPES:
        return str(_urljoin("", attrs["href"]))
    return None


def _person(el: Any) -> str | None:
    """An Atom author's name (stripped only: feedparser reads it as raw text)."""
    if el.attrib or (el.text or "").strip():
        raise _Fallback
    name = None
    seen: set[str] = set()
    for child in el:
        if not isinstance(child.tag, str):
            continue
        if child.tag not in _PERSON_CHILDREN or child.tag in seen or len(child) or child.attrib:
            raise _Fallback
        seen.add(child.tag)
        if (child.tail or "").strip():
            raise _Fallback
        if child.tag == _ATOM + "name":
            name = (child.text or "").strip()
    return name


def _atom_feed(root: Any) -> dict[str, Any]:
    if set(root.attrib) - {"version"} or root.get("version") not in (None, "1.0"):
        raise _Fallback
    if {"http://purl.org/rss/1.0/", "http://my.netscape.com/rdf/simple/0.9/"} & {
            str(uri).lower() for uri in root.nsmap.values()}:
        raise _Fallback  # feedparser may take the version from these declarations
    feed: dict[str, Any] = {}
    entries: list[dict[str, Any]] = []
    title_depth = -1
    for el in root:
        tag = el.tag
        if not isinstance(tag, str):
            continue
        if tag == _ATOM + "entry":
            entry, title_depth = _atom_entry(el)
            entries.append(entry)
        elif tag == _ATOM + "title":
            value, detail = _atom_text(el, "text/plain")
            if not -1 < title_depth <= 2:
                feed["title"] = value
                feed["title_detail"] = detail
            if value:
                title_depth = 2
        elif tag == _ATOM + "link":
            href = _atom_link(el)
            if href is not None:
                feed["link"] = href
        elif tag == _ATOM + "id":
            # feedparser treats an id like a permalink guid: the link, until a link says otherwise.
            feed.setdefault("link", _text(el, uri=True))
        elif tag == _ATOM + "author":
            _person(el)
        elif tag in _ATOM_FEED_IGNORED:
            _leaf(el)
        elif not _harmless(el):
            raise _Fallback
    return {"version": "atom10", "feed": feed, "entries": entries}


def _atom_entry(entry: Any) -> tuple[dict[str, Any], int]:
    if entry.attrib:
        raise _Fallback
    e: dict[str, Any] = {}
    seen: set[str] = set()
    title_depth = -1
    content: str | None = None
    for el in entry:
        tag = el.tag
        if not isinstance(tag, str):
            continue
        if tag in _ATOM_ONCE:
            if tag in seen:
                raise _Fallback
            seen.add(tag)
        if tag == _ATOM + "id":
            value = _text(el, uri=True)
            e["id"] = value
            e.setdefault("link", value)
        elif tag == _ATOM + "title":
            value, detail = _atom_text(el, "text/plain")
            e["title"] = value
            e["title_detail"] = detail
            if value:
                title_depth = 3
        elif tag == _ATOM + "link":
            e["links"] = []
            href = _atom_link(el)
            if href is not None:
                e["link"] = href
        elif tag == _ATOM + "summary":
            e["summary"], e["summary_detail"] = _atom_text(el, "text/plain")
        elif tag == _ATOM + "content":
            content, detail = _atom_text(el, "text/plain")
            e["content"] = [detail]
        elif tag == _ATOM + "published":
            e["published_parsed"] = parse_date(_text(el))
        elif tag == _ATOM + "updated":
            e["updated_parsed"] = parse_date(_text(el))
        elif tag == _ATOM + "author":
            name = _person(el)
            if not name:
                raise _Fallback
            e["author"] = name
            e["author_detail"] = {"name": name}
        elif tag in _ATOM_ENTRY_IGNORED:
            _leaf(el)
        elif tag == _MEDIA + "group":
            _media_group(el)
        elif not _harmless(el):
            raise _Fallback
    if content is not None and "summary" not in e:
        e["summary"] = content
    return e, title_depth
