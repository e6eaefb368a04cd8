"""Feed bytes -> SourceData and EntryData: every field sanitised (HTML) or reduced to plain text.

The only module that imports feedparser and bs4. Runs in a process pool, so everything public is a
top-level function of plain arguments.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urljoin, urlsplit
from xml.sax import SAXException, SAXParseException

import feedparser
import nh3
from bs4 import BeautifulSoup
from feedparser.encodings import convert_to_utf8

from . import fastparse, urls
from .exceptions import NotAFeed, ParseError
from .parsed import EntryData, ParsedFeed, SourceData
from .text import strip_invisible

# ---------------------------------------------------------------- text


# Characters XML 1.0 forbids (C0 controls but tab, LF, CR; lone surrogates; U+FFFE/U+FFFF), plus
# DEL and the C1 controls, which are legal but never meant in a feed and invisible when shown.
_ILLEGAL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def clean_text(s: str) -> str:
    """Remove control and XML-illegal characters (keeping tab, LF, CR) and normalise to NFC."""
    s = _ILLEGAL_CHARS.sub("", s)
    # NFC so that "é" typed two ways matches the same topic term and compares equal.
    return unicodedata.normalize("NFC", s)


def _clean_prose(s: str) -> str:
    """clean_text for text a reader sees: also without bidi overrides and zero-width characters.

    Not for ids, links or the change hash: those must stay what they were, or an upgrade would
    see every such entry as new or changed.
    """
    return strip_invisible(clean_text(s))


def _collapse(s: str) -> str:
    return " ".join(s.split())


# Without a space at these boundaries "<p>Section 230</p><p>ruling</p>" would read "230ruling".
_BLOCK_BOUNDARY = re.compile(
    r"<(?=/?(?:address|article|aside|blockquote|br|caption|dd|details|div|dl|dt|figcaption|figure"
    r"|footer|h[1-6]|header|hr|img|li|main|nav|ol|p|pre|section|summary|table|tbody|td|tfoot|th"
    r"|thead|tr|ul)[\s/>])",
    re.IGNORECASE,
)

# Elements whose content is never readable text (or is a hostile payload): drop it whole.
_DROP_WITH_CONTENT = {
    "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "noembed",
    "noframes", "template", "textarea", "select", "svg", "math", "head", "title",
}

_TEXT_CLEANER = nh3.Cleaner(
    tags=set(), attributes={}, clean_content_tags=_DROP_WITH_CONTENT, link_rel=None,
)

# nh3 output is well-formed with attribute values in double quotes, so a regex may strip its tags.
_SERIALISED_TAG = re.compile(r'<[^"<>]*(?:"[^"]*"[^"<>]*)*>')


def html_to_text(html_: str) -> str:
    """Plain text of an HTML fragment: no tags or scripts, entities decoded once, one space."""
    if "<" not in html_ and "&" not in html_:
        return _collapse(_clean_prose(html_))
    # nh3 emits the text with &, < and > escaped; unescaping that once gives the text exactly.
    stripped = _TEXT_CLEANER.clean(_BLOCK_BOUNDARY.sub(" <", html_))
    return _collapse(_clean_prose(html.unescape(stripped)))


# The same boundaries in nh3's output, whose tag names are always lower case (3x faster).
_BLOCK_BOUNDARY_LC = re.compile(_BLOCK_BOUNDARY.pattern)


def _safe_html_to_text(safe_html: str) -> str:
    """html_to_text for our own sanitised output, without a second HTML parse."""
    stripped = _SERIALISED_TAG.sub("", _BLOCK_BOUNDARY_LC.sub(" <", safe_html))
    return _collapse(_clean_prose(html.unescape(stripped)))


# ---------------------------------------------------------------- HTML

ALLOWED_TAGS = frozenset({
    "a", "abbr", "acronym", "b", "bdi", "bdo", "blockquote", "br", "caption", "cite", "code",
    "col", "colgroup", "dd", "del", "dfn", "div", "dl", "dt", "em", "figcaption", "figure",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p",
    "pre", "q", "rp", "rt", "ruby", "s", "samp", "small", "span", "strike", "strong", "sub",
    "sup", "table", "tbody", "td", "tfoot", "th", "thead", "time", "tr", "u", "ul", "var", "wbr",
})
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "*": {"title", "lang", "dir"},
    "a": {"href", "hreflang"},
    "img": {"src", "alt", "width", "height"},
    # No "cite": nh3 checks the scheme of href and src only, and cite="javascript:..." would pass.
    "del": {"datetime"},
    "ins": {"datetime"},
    "time": {"datetime"},
    "ol": {"start", "reversed", "type"},
    "li": {"value"},
    "td": {"colspan", "rowspan", "headers"},
    "th": {"colspan", "rowspan", "headers", "scope"},
    "col": {"span"},
    "colgroup": {"span"},
}
ALLOWED_URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer nofollow"


@lru_cache(maxsize=64)
def _html_cleaner(base: str | None) -> nh3.Cleaner:
    # One Cleaner per base URL (nearly always one per feed): building one costs microseconds,
    # and nh3 resolves relative href/src itself, in Rust, on the same parse that cleans.
    relative: Any = ("rewrite_with_base", base) if base else None
    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS),
        clean_content_tags=_DROP_WITH_CONTENT,
        attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(ALLOWED_URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
        url_relative=relative,
    )


def _http_base(base: str | None) -> str | None:
    if not base:
        return None
    try:
        parts = urlsplit(base.strip())
    except ValueError:
        return None
    return base.strip() if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def sanitize_html(html_: str, base: str | None = None) -> str:
    """Allow-listed tags and attributes; http/https/mailto links made absolute against base."""
    if not html_:
        return ""
    return _clean_prose(_html_cleaner(_http_base(base)).clean(html_)).strip()


# ---------------------------------------------------------------- bytes -> UTF-8 XML


# XML-illegal C0 controls as raw bytes; in UTF-8 they never occur inside a multi-byte sequence.
# Removing them up front keeps one stray byte from demoting the whole feed to the loose parser.
_ILLEGAL_BYTES = bytes(range(0x09)) + b"\x0b\x0c" + bytes(range(0x0e, 0x20))
# ... and the same characters written as character references (expat refuses those too).
_ILLEGAL_REFS = re.compile(
    rb"&#(?:[xX]0*(?:[0-8bBcCeEfF]|1[0-9a-fA-F])|0*(?:[0-8]|1[1-24-9]|2[0-9]|3[01]));"
)


def _to_utf8(content: bytes, headers: Mapping[str, str]) -> bytes:
    # feedparser's own detection (BOM, then HTTP charset or XML declaration per RFC 3023, then
    # UTF-8 / windows-1252 fallbacks); we run it first so that the DOCTYPE check below sees
    # exactly the characters the XML parser will see, whatever encoding the body claims
    # (a byte-level check misses "<!ENTITY" written in UTF-16 or UTF-7).
    info: dict[str, Any] = {}
    data: bytes = convert_to_utf8(dict(headers), content, info)
    if not info.get("encoding"):
        raise ValueError("character encoding unknown")
    return data


_S = b" \t\r\n"
# Tokens inside a DOCTYPE: quoted literals, comments and PIs (which may hold "]" or ">"), or the
# three characters that open the internal subset, close it, and end the declaration.
_DOCTYPE_TOKEN = re.compile(rb'"[^"]*"|\'[^\']*\'|<!--.*?-->|<\?.*?\?>|[\[\]>]', re.DOTALL)
_DOCTYPE_OPEN = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_ROOT = re.compile(rb"<([A-Za-z_:][-\w.:]*)")
_FIRST_TAG = re.compile(rb"<\w")
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)


def _doctype_end(data: bytes, start: int) -> tuple[int, bool]:
    """End of the DOCTYPE at start (-1 if unterminated) and whether it has an internal subset."""
    pos = start + len(b"<!DOCTYPE")
    in_subset = has_subset = False
    while True:
        m = _DOCTYPE_TOKEN.search(data, pos)
        if m is None:
            return -1, has_subset
        tok = m.group()
        pos = m.end()
        if tok == b"[" and not in_subset:
            in_subset = has_subset = True
        elif tok == b"]":
            in_subset = False
        elif tok == b">" and not in_subset:
            return pos, has_subset


def _defuse(data: bytes) -> tuple[bytes, str]:
    """Drop any DOCTYPE carrying an internal subset; return the data and the root element name.

    expat only expands entities declared in the prolog, so with the subset gone nothing is ever
    expanded or fetched; references to the dropped entities then fail the strict parse and
    feedparser's loose parser shows them as written (HTML entities such as &nbsp; still work).
    """
    pos = 0
    doctype = b""
    while True:
        while pos < len(data) and data[pos] in _S:
            pos += 1
        if data.startswith(b"<?", pos):
            end = data.find(b"?>", pos + 2)
            if end < 0:
                break
            pos = end + 2
        elif data.startswith(b"<!--", pos):
            end = data.find(b"-->", pos + 4)
            if end < 0:
                break
            pos = end + 3
        elif _DOCTYPE_OPEN.match(data, pos):
            end, has_subset = _doctype_end(data, pos)
            if end < 0:
                raise ValueError("unterminated DOCTYPE")
            if has_subset:
                data = data[:pos] + data[end:]
            else:
                doctype = data[pos:end]
                pos = end
        else:
            break
    m = _ROOT.match(data, pos)
    root = m.group(1).decode("ascii", "replace").lower() if m else ""
    if not root and doctype.lower().startswith(b"<!doctype html"):
        root = "html"
    # feedparser hands its loose (fallback) parser every "<!ENTITY" found before the first tag,
    # wherever it sits; a malformed prolog could hide one from the scan above, so refuse those.
    first_tag = _FIRST_TAG.search(data)
    if _ENTITY_DECL.search(data, 0, first_tag.start() if first_tag else len(data)):
        raise _EntitiesRefused()
    return data, root


class _EntitiesRefused(Exception):
    pass


# ---------------------------------------------------------------- not a feed

_FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json")
_HTML_ROOTS = {"html", "head", "body"}
_HEAD_END = re.compile(r"</head\s*>|<body[\s>]", re.IGNORECASE)


def _find_alternate(text: str, url: str) -> str | None:
    """The first <link rel="alternate"> to a feed in an HTML page, made absolute."""
    # The links live in <head>; parsing only that keeps a 5 MB page cheap.
    m = _HEAD_END.search(text)
    soup = BeautifulSoup(text[: m.start()] if m else text, "html.parser")
    base = url
    base_tag = soup.find("base", href=True)
    if base_tag is not None:
        base = urljoin(url, str(base_tag["href"]).strip())
    for link in soup.find_all("link", href=True):
        rel: Any = link.get("rel") or []
        rels = [rel] if isinstance(rel, str) else list(rel)
        kind = str(link.get("type") or "").split(";")[0].strip().lower()
        if "alternate" in (r.lower() for r in rels) and kind in _FEED_TYPES:
            href = urljoin(base, clean_text(str(link["href"])).strip())
            if urlsplit(href).scheme in ("http", "https"):
                return href
    return None


def _not_a_feed(url: str, content: bytes, data: bytes, root: str, headers: Mapping[str, str]
                ) -> NotAFeed:
    content_type = headers.get("content-type", "").lower()
    if root in _HTML_ROOTS or (not root and "html" in content_type):
        text = data.decode("utf-8", "replace")
        return NotAFeed(url, "not a feed: got an HTML page", alternate=_find_alternate(text, url))
    # The original bytes: the UTF-8 copy starts with the XML declaration feedparser prepends.
    if content.lstrip(b" \t\r\n\xef\xbb\xbf")[:1] in (b"{", b"["):
        return NotAFeed(url, "not a feed: got JSON that is not a JSON Feed")
    if root:
        return NotAFeed(url, f"not a feed: got an XML document with root <{root}>")
    return NotAFeed(url, "not a feed: no RSS, Atom or RDF document found")


# ---------------------------------------------------------------- fields


def _utc(t: Any) -> datetime | None:
    # feedparser's *_parsed values are time.struct_time already converted to UTC.
    if not t:
        return None
    try:
        return datetime(t[0], t[1], t[2], t[3], t[4], min(t[5], 59), tzinfo=UTC)
    except (TypeError, ValueError, IndexError):
        return None


_HTML_TYPES = {"text/html", "application/xhtml+xml", "html", "xhtml"}


def _is_html(detail: Mapping[str, Any] | None, typed: bool) -> bool:
    # Only Atom says what a text is. In RSS every text is HTML in practice; feedparser guesses
    # "plain" when the markup is not on its own allow-list, which is exactly when a title holds
    # <script> or onerror=, so its guess is not trusted there. Without a detail (a value
    # feedparser copied rather than parsed) assume HTML too.
    if not typed or detail is None:
        return True
    return str(detail.get("type", "text/html")).lower() in _HTML_TYPES


def _plain(value: Any, detail: Mapping[str, Any] | None = None, typed: bool = False) -> str:
    """A field meant as plain text: markup reduced to text unless the feed says it is text."""
    if not value:
        return ""
    s = str(value)
    return html_to_text(s) if _is_html(detail, typed) else _collapse(_clean_prose(s))


def _html(value: Any, detail: Mapping[str, Any] | None, base: str, typed: bool) -> str:
    """A field meant as HTML, sanitised; plain text (Atom type="text") becomes escaped HTML."""
    if not value:
        return ""
    s = str(value)
    if not _is_html(detail, typed):
        return html.escape(_clean_prose(s).strip(), quote=False)
    # The field's xml:base, which feedparser leaves relative when the document gave no base.
    detail_base = str(detail.get("base") or "") if detail is not None else ""
    return sanitize_html(s, _http_base(urljoin(base, detail_base)) if detail_base else base)


_ABSOLUTE_HTTP = re.compile(r"https?://", re.IGNORECASE)
# feedparser honours xml:base and a bare base attribute on any element. A false positive (prose
# such as "base = 10") only costs key independence for relative guids in that one feed.
_BASE_ATTR = re.compile(rb"[\s:]base\s*=")


def _http_url(value: Any, base: str) -> str | None:
    """An absolute http(s) URL, or None: a tag: id or javascript: link is no link."""
    if not value:
        return None
    s = clean_text(str(value)).strip()
    try:
        absolute = s if _ABSOLUTE_HTTP.match(s) else urljoin(base, s)
        parts = urlsplit(absolute)
    except ValueError:
        return None
    return absolute if parts.scheme.lower() in ("http", "https") and parts.netloc else None


_PERIOD_SECONDS = {
    "hourly": 3600, "daily": 86400, "weekly": 7 * 86400, "monthly": 30 * 86400,
    "yearly": 365 * 86400,
}
_MAX_HINT = 365 * 86400  # a longer "hint" is garbage, not a schedule


def _positive_int(value: Any) -> int | None:
    try:
        n = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return n if n > 0 else None


def _interval_hint(feed: Mapping[str, Any]) -> int | None:
    ttl = _positive_int(feed.get("ttl"))
    if ttl is not None and ttl * 60 <= _MAX_HINT:
        return ttl * 60
    period = feed.get("sy_updateperiod")
    frequency = feed.get("sy_updatefrequency")
    if period is None and frequency is None:
        return None
    # The syndication module's defaults: daily, once.
    seconds = _PERIOD_SECONDS.get(str(period or "daily").strip().lower())
    if seconds is None:
        return None
    times = _positive_int(frequency) or 1
    return max(seconds // times, 1)


_TRAILING_ELLIPSIS = re.compile(r"\s*(?:\[\s*(?:…|\.\.\.)\s*\]|…|\.\.\.)\s*$")


def _combined_text(summary_text: str, content_text: str) -> str:
    if not content_text:
        return summary_text
    if not summary_text:
        return content_text
    # Summaries are usually the start of the article, often cut with "…" or "[…]".
    lead = _TRAILING_ELLIPSIS.sub("", summary_text)
    if content_text.startswith(lead) or summary_text in content_text:
        return content_text
    return f"{summary_text} {content_text}"


def _plain_dict(value: Any) -> dict[str, Any]:
    # feedparser's FeedParserDict aliases keys on read ("updated_parsed" silently answers with
    # "published_parsed", with a DeprecationWarning); a plain dict reads what was parsed, faster.
    return dict(value) if isinstance(value, dict) else {}


def _detail(d: Mapping[str, Any], key: str) -> dict[str, Any] | None:
    value = d.get(key)
    return dict(value) if isinstance(value, dict) else None


def _pick_content(entry: Mapping[str, Any], typed: bool) -> dict[str, Any] | None:
    contents = [dict(c) for c in entry.get("content") or () if isinstance(c, dict)]
    for c in contents:
        if _is_html(c, typed) and c.get("value"):
            return c
    for c in contents:
        if c.get("value"):
            return c
    return None


def _entry(fp_entry: Mapping[str, Any], base: str, typed: bool) -> EntryData:
    e = _plain_dict(fp_entry)
    title_raw = e.get("title") or ""
    summary_raw = e.get("summary") or ""
    title = _plain(title_raw, _detail(e, "title_detail"), typed)
    content_detail = _pick_content(e, typed)
    content = _html(content_detail["value"], content_detail, base, typed) if content_detail else ""
    summary_detail = _detail(e, "summary_detail")
    if summary_detail is None and content_detail and content_detail["value"] == summary_raw:
        # feedparser copied the content into the summary; it keeps its type and xml:base.
        summary_detail = content_detail
    summary = _html(summary_raw, summary_detail, base, typed)
    ident = clean_text(str(e.get("id") or "")).strip()
    raw_link = clean_text(str(e.get("link") or "")).strip()
    if raw_link == ident and "links" not in e and not _ABSOLUTE_HTTP.match(ident):
        # feedparser makes a guid the link when there is no <link> (isPermaLink defaults to
        # true); an opaque guid such as "4711" is no address, though urljoin would make it one.
        raw_link = ""
    link = _http_url(raw_link, base)

    # The guid or link as written, not resolved against where the feed was fetched from, so a
    # moved feed (a 301 to https) keeps its keys; see parse_feed for when feedparser resolves.
    key = ident or raw_link
    if not key:
        # Hash what the feed wrote, not our sanitised form, so the key survives allow-list changes.
        raw = clean_text(str(title_raw)).strip() + "\n" + clean_text(str(summary_raw)).strip()
        key = "hash:" + hashlib.sha256(raw.encode("utf-8")).hexdigest()

    author_detail = _detail(e, "author_detail") or {}
    author = _plain(author_detail.get("name") or e.get("author")) or None
    updated = _utc(e.get("updated_parsed"))
    return _entry_data(key, link, base, title, summary, content, author,
                       _utc(e.get("published_parsed")) or updated, updated)


def _entry_data(key: str, link: str | None, base: str, title: str, summary: str, content: str,
                author: str | None, published: datetime | None, updated: datetime | None
                ) -> EntryData:
    """An entry from its cleaned fields (any feed format): canonical URL and matching text."""
    return EntryData(
        key=key,
        url=urls.canonicalize(link, base),
        link=link,
        title=title,
        summary=summary,
        content=content,
        text=_combined_text(_safe_html_to_text(summary), _safe_html_to_text(content)),
        author=author,
        published=published,
        updated=updated,
    )


# ---------------------------------------------------------------- parse_feed


def _coalesce_xml_text() -> None:
    """Have expat hand feedparser each run of text whole, not cut at every entity reference.

    A description of escaped HTML (`&lt;p&gt;...`) otherwise reaches feedparser's Python
    handler in hundreds of pieces per item; joined, they parse the same and the workers spend
    about an eighth less CPU per feed. Only this process's XML parsers are affected.
    """
    import xml.sax.expatreader as expatreader

    base = expatreader.ExpatParser
    if getattr(base, "_curator_buffered", False):
        return
    reset = base.reset

    def buffered_reset(self: Any) -> None:
        reset(self)
        self._parser.buffer_text = True

    base.reset = buffered_reset  # type: ignore[method-assign]
    base._curator_buffered = True  # type: ignore[attr-defined]


def parse_feed(url: str, content: bytes, headers: Mapping[str, str]) -> ParsedFeed:
    """Parse a fetched body into the source's metadata and entries; raise ParseError or NotAFeed."""
    if not content.strip():
        raise ParseError(url, "empty body")
    if content.lstrip(b" \t\r\n\xef\xbb\xbf")[:1] == b"{":
        return parse_json_feed(url, content)
    _coalesce_xml_text()
    headers = {k.lower(): v for k, v in headers.items()}
    try:
        data = _to_utf8(content, headers)
        data = _ILLEGAL_REFS.sub(b"", data.translate(None, _ILLEGAL_BYTES))
        data, root = _defuse(data)
    except _EntitiesRefused:
        raise ParseError(url, "feed declares XML entities outside a valid DOCTYPE; refused"
                         ) from None
    except (ValueError, UnicodeError) as e:
        raise ParseError(url, f"unreadable body: {e}") from e

    if root in _HTML_ROOTS:
        raise _not_a_feed(url, content, data, root, headers)

    fp_headers = {"content-type": "application/xml; charset=utf-8"}  # converted above
    if b"base" in data and _BASE_ATTR.search(data):  # the plain test is 20x faster
        # feedparser nests xml:base correctly only below an absolute base, so give it one.
        # Otherwise it gets none and leaves relative guids and links as written (we resolve
        # links against url ourselves), which keeps entry keys independent of the feed's URL.
        fp_headers["content-location"] = url
    # Plain RSS 2.0 without xml:base: the same fields from lxml, or None when feedparser decides.
    result: Any = None if "content-location" in fp_headers else fastparse.parse(data)
    try:
        # Bytes only, never a URL or path (feedparser would fetch or open it). Its sanitiser is
        # off (nh3 below is stricter and twice as fast) and so is its relative-URI rewriting,
        # which re-parses every HTML field: nh3 resolves href/src against the same xml:base
        # (feedparser keeps it per field) during the one clean it does anyway.
        if result is None:
            result = feedparser.parse(
                data, response_headers=fp_headers, sanitize_html=False,
                resolve_relative_uris=False,
            )
    except Exception as e:  # hostile input must cost one source, not the whole poll
        raise ParseError(url, f"feed parser failed: {type(e).__name__}: {e}") from e

    if not result.get("version") and not result.get("entries"):
        raise _not_a_feed(url, content, data, root, headers)

    typed = str(result.get("version") or "").startswith("atom")
    feed = _plain_dict(result.get("feed"))
    source = SourceData(
        title=_plain(feed.get("title"), _detail(feed, "title_detail"), typed) or None,
        link=_http_url(feed.get("link"), url),
        interval_hint=_interval_hint(feed),
    )
    entries: list[EntryData] = []
    seen: set[str] = set()
    for raw in result.get("entries") or ():
        entry = _entry(raw, url, typed)
        # A key repeated within one document is one entry; the first (newest, by convention) wins.
        if entry.key not in seen:
            seen.add(entry.key)
            entries.append(entry)
    broken = result.get("bozo_exception")
    if not entries and isinstance(broken, SAXException):
        # A feed's root and nothing else readable (a broken prolog, a truncated body): not a
        # usable feed, so a failure with the parser's reason, never "ok" with nothing in it.
        raise NotAFeed(url, f"not a feed: no entries found; the XML is broken ({_sax(broken)})")
    return ParsedFeed(source=source, entries=tuple(entries))


def _sax(e: SAXException) -> str:
    """A SAX error as `line 1, column 5: not well-formed (invalid token)`."""
    message = e.getMessage() if hasattr(e, "getMessage") else str(e)
    if isinstance(e, SAXParseException):
        return f"line {e.getLineNumber()}, column {e.getColumnNumber()}: {message}"
    return str(message)


# ---------------------------------------------------------------- JSON Feed

_JSON_FEED_VERSION = re.compile(r"https?://jsonfeed\.org/version/1(\.\d+)?/?\Z")


def _json_time(value: Any) -> datetime | None:
    """An RFC 3339 date (JSON Feed's), in UTC; None when it is missing or not a date."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return (when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)).replace(
        microsecond=0)


def _json_str(value: Any) -> str:
    # A JSON Feed 1.0 id may be a number; anything but a string or a number is no value.
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return ""
    return clean_text(str(value))


def _json_author(item: Mapping[str, Any]) -> str | None:
    # 1.1: authors (a list); 1.0: author (one object).
    authors = item.get("authors")
    candidates = authors if isinstance(authors, list) else [item.get("author")]
    for a in candidates:
        if isinstance(a, dict):
            name = _collapse(_clean_prose(_json_str(a.get("name"))))
            if name:
                return name
    return None


def _json_entry(item: Mapping[str, Any], base: str) -> EntryData:
    raw_link = _json_str(item.get("url")).strip() or _json_str(item.get("external_url")).strip()
    link = _http_url(raw_link, base)
    ident = _json_str(item.get("id")).strip()
    # Titles and summaries are plain text in JSON Feed, yet producers put entities and tags in
    # them as in RSS: reduced to their text the same way.
    title = _plain(_json_str(item.get("title")))
    content_html = _json_str(item.get("content_html"))
    content_text = _json_str(item.get("content_text"))
    summary_text = _json_str(item.get("summary"))
    if content_html:
        content = sanitize_html(content_html, base)
    else:
        content = html.escape(_clean_prose(content_text).strip(), quote=False)
    summary = html.escape(_plain(summary_text), quote=False)
    key = ident or raw_link
    if not key:
        raw = title + "\n" + (summary_text or content_html or content_text)
        key = "hash:" + hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()
    updated = _json_time(item.get("date_modified"))
    return _entry_data(key, link, base, title, summary, content, _json_author(item),
                       _json_time(item.get("date_published")) or updated, updated)


def parse_json_feed(url: str, content: bytes) -> ParsedFeed:
    """A JSON Feed 1.0 or 1.1 document (https://jsonfeed.org/) as the source's metadata and
    entries, with the same cleaning as RSS and Atom: text fields are plain text, content_html is
    sanitised, links are absolute http(s) URLs or nothing."""
    import json

    try:
        doc = json.loads(content.decode("utf-8-sig"))
    except UnicodeDecodeError as e:
        raise ParseError(url, f"unreadable body: JSON Feed must be UTF-8 ({e.reason})") from e
    except RecursionError:
        raise ParseError(url, "unreadable body: JSON nested too deeply") from None
    except ValueError as e:
        raise NotAFeed(url, f"not a feed: got broken JSON ({e})") from e
    if not isinstance(doc, dict) or not _JSON_FEED_VERSION.match(_json_str(doc.get("version"))):
        raise NotAFeed(url, "not a feed: got JSON that is not a JSON Feed")
    items = doc.get("items")
    if not isinstance(items, list):
        raise NotAFeed(url, "not a feed: a JSON Feed without an items list")
    source = SourceData(
        title=_plain(_json_str(doc.get("title"))) or None,
        link=_http_url(_json_str(doc.get("home_page_url")).strip(), url),
    )
    entries: list[EntryData] = []
    seen: set[str] = set()
    for raw in items:
        if not isinstance(raw, dict):
            continue
        entry = _json_entry(raw, url)
        if entry.key not in seen:
            seen.add(entry.key)
            entries.append(entry)
    return ParsedFeed(source=source, entries=tuple(entries))
