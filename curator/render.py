"""Featured items to RSS 2.0 and Atom 1.0 bytes; commentary Markdown to sanitised HTML; pure."""

from __future__ import annotations

import functools
import hashlib
import html
import json
import re
import threading
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urljoin, urlsplit

import nh3
from feedgen.entry import FeedEntry
from feedgen.feed import FeedGenerator
from lxml import etree

from curator import __version__
from curator.text import strip_invisible
from curator.types import Channel, PublishedItem

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

__all__ = ["item_html", "item_path", "render_atom", "render_json_feed", "render_note", "render_rss"]

ATOM_NS = "http://www.w3.org/2005/Atom"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"

GENERATOR = "curator"

# Characters XML 1.0 cannot carry (lxml refuses them) plus C1 controls and lone surrogates: one
# of them in a source's title would otherwise make the whole feed unparseable.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# Each level of escaping costs one round of _plain_text; real feeds nest two or three deep.
_MAX_ESCAPE_LEVELS = 32
_MARKUP_CHARS = re.compile("[<>&]")
_URI_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:\S+\Z")
_SPACE = re.compile(r"\s")  # what str.isspace() calls a space, on every code point
_SAFE_SCHEMES = frozenset({"http", "https"})

# Atom requires <updated>; an empty feed has no item date to use, and "now" would make two
# publishes of the same (empty) input differ.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@functools.cache
def _markdown() -> MarkdownIt:
    """The Markdown parser, built on first use: a publish whose notes are cached never loads it."""
    from markdown_it import MarkdownIt

    # CommonMark with raw HTML on: the sanitiser below decides what survives, so an editor's <sup>
    # or <abbr> works while <script> does not. Tables and ~~strikethrough~~ as in GitHub's Markdown.
    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "dl", "dt", "em",
        "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins",
        "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "small", "span", "strong", "sub",
        "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
    }
)  # fmt: skip
_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "img": {"src", "alt", "title", "width", "height"},
    "ol": {"start"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
}
# Elements whose content goes too, not just the tags: the text inside these is code, fallback
# markup or form state, never prose that belongs in a reader's view.
_DROP_WITH_CONTENT = frozenset(
    {
        "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet",
        "noscript", "noembed", "noframes", "template", "textarea", "select", "svg", "math",
        "title", "xmp",
    }
)  # fmt: skip
_URL_SCHEMES = frozenset({"http", "https", "mailto"})
_URL_ATTRIBUTES = frozenset({"href", "src"})
_LINK_REL = "noopener noreferrer nofollow"


def _xml_text(text: str) -> str:
    # Bidi overrides and zero-width characters too: in a title or a name they make a reader show
    # something other than what the text says.
    return strip_invisible(_NOT_XML.sub("", text))


def _absolute_urls_only(tag: str, attribute: str, value: str) -> str | None:
    # A relative URL in feed content resolves against whatever base each reader picks (the feed,
    # the site, nothing); the W3C validator flags it. Schemes are nh3's url_schemes' business.
    if attribute in _URL_ATTRIBUTES and not _URI_SCHEME.match(value.strip()):
        return None
    return value


def _sanitise(fragment: str) -> str:
    return nh3.clean(
        fragment,
        tags=set(_TAGS),
        clean_content_tags=set(_DROP_WITH_CONTENT),
        attributes={tag: set(attrs) for tag, attrs in _ATTRIBUTES.items()},
        url_schemes=set(_URL_SCHEMES),
        link_rel=_LINK_REL,
        strip_comments=True,
        attribute_filter=_absolute_urls_only,
    )


def _line(text: str) -> str:
    """One line of text that XML can carry."""
    return " ".join(_xml_text(text).split())


def _plain_text(text: str) -> str:
    """One line of plain text that no reader can take for markup, however often it was escaped.

    Many readers render an RSS <title> as HTML, so a title whose text is `&lt;img onerror=…&gt;`
    (a source's `&amp;lt;img …&amp;gt;`) would become an element there. Reduce the text to what
    an HTML parser would show, again and again, until that changes nothing: then a reader that
    takes it as HTML shows the same text as one that takes it as text. SPEC wants a source's
    markup reduced to its text; each round removes one level of escaping or the tags it exposed.
    """
    text = _xml_text(text)
    for _ in range(_MAX_ESCAPE_LEVELS):
        if "<" not in text and "&" not in text:
            break
        reduced = html.unescape(nh3.clean(text, tags=set()))
        if reduced == text:
            break
        text = reduced
    else:
        # Deeper than any real feed nests: keep the words, drop what could still be read as markup.
        text = _MARKUP_CHARS.sub(" ", text)
    return _line(text)


def _safe_url(url: str | None) -> str | None:
    """The URL if it is an absolute http(s) URL, else None (never a javascript: or data: URL)."""
    return _checked_url(url) if url else None


@functools.lru_cache(maxsize=4096)
def _checked_url(url: str) -> str | None:
    # Kept: a publish checks each item's URLs once per feed and page it is in (the site's topic
    # feeds and pages too), and this was a quarter of rendering them.
    url = _xml_text(url).strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in _SAFE_SCHEMES or not parts.netloc:
        return None
    return None if _SPACE.search(url) else url


def _utc(when: datetime) -> datetime:
    # Stored times are UTC; a naive one is taken as UTC rather than as local time. Whole seconds,
    # because RFC 822 has nothing finer and both feeds should state the same instant.
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return when.replace(microsecond=0)


def _title(item: PublishedItem) -> str:
    return _plain_text(item.title) or _safe_url(item.url) or "(untitled)"


def _source_name(item: PublishedItem) -> str:
    name = _plain_text(item.source_name)
    if name:
        return name
    feed_url = _safe_url(item.source_url)
    return urlsplit(feed_url).netloc if feed_url else "source"


def _atom_id(guid: str) -> str:
    """guid if it is already an IRI (atom:id must be one), else a name-based UUID URN of it."""
    guid = _xml_text(guid).strip()
    if _URI_SCHEME.match(guid):
        return guid
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, guid)}"


def _categories(channel: Channel, item: PublishedItem) -> list[tuple[str, str]]:
    """The item's topics as (title, scheme): what readers show, and a URI naming the topic.

    The slug is an identifier for feeds.yaml, not a label; it stays in the category's
    domain/scheme, under the feed's site, so a reader can still tell two topics apart.
    """
    titles = dict(channel.topic_titles)
    base = _safe_url(channel.site_url or channel.link)
    seen: list[tuple[str, str]] = []
    for topic in item.topics:
        slug = _line(topic)
        title = _plain_text(titles.get(topic, "")) or slug
        if not slug or any(t == title for t, _ in seen):
            continue
        scheme = urljoin(base, f"topics/{quote(slug, safe='')}/") if base else ""
        seen.append((title, scheme))
    return seen


def render_note(markdown: str) -> str:
    """Render commentary Markdown to HTML that is safe to publish."""
    # Published notes' HTML is cached in the database: a change to what this returns for the
    # same Markdown must bump core.NOTE_HTML_REVISION.
    markdown = _xml_text(markdown)
    if not markdown.strip():
        return ""
    return _sanitise(_markdown().render(markdown)).strip()


def item_html(item: PublishedItem) -> str:
    """The body of a published item, the same in every output.

    The rendered note; a plain-text excerpt of the original quoted in a blockquote citing it;
    "Read the full article at SOURCE" linking the original; "Also covered by" the story's other
    articles. Each part is left out when it has nothing to say.
    """
    note = render_note(item.note) if item.note_html is None else item.note_html
    parts = [note] if note else []
    article = _safe_url(item.url)
    quoted = _line(item.excerpt)  # plain text already: escaped once below, never parsed
    if quoted:
        cite = f' cite="{html.escape(article)}"' if article else ""
        parts.append(f"<blockquote{cite}><p>{html.escape(quoted)}</p></blockquote>")
    read = f"Read the full article at {html.escape(_source_name(item))}"
    if article:
        read = f'<a href="{html.escape(article)}">{read}</a>'
    parts.append(f'<p class="via">{read}</p>')
    also = _also_html(item)
    if also:
        parts.append(also)
    return "\n".join(parts)


def _also_html(item: PublishedItem) -> str:
    """"Also covered by" links to the story's other articles, each named by its outlet."""
    links = []
    for title, url, source in item.also:
        href = _safe_url(url)
        if not href:
            continue
        name = html.escape(_plain_text(source) or urlsplit(href).netloc)
        label = html.escape(_plain_text(title))
        links.append(f'<a href="{html.escape(href)}" title="{label}">{name}</a>')
    return f'<p class="also">Also covered by {", ".join(links)}</p>' if links else ""


def _generator(channel: Channel, self_url: str, self_type: str) -> FeedGenerator:
    fg = FeedGenerator()
    fg.title(_line(channel.title))
    fg.description(_xml_text(channel.description).strip() or _line(channel.title))
    # feedgen takes the last link as the RSS <link>: self first, the site last.
    fg.link(href=_line(self_url), rel="self", type=self_type)
    if channel.hub:
        fg.link(href=_line(channel.hub), rel="hub")
    fg.link(href=_line(channel.link), rel="alternate", type="text/html")
    fg.generator(GENERATOR, version=__version__)
    return fg


def _last_change(items: Sequence[PublishedItem]) -> datetime | None:
    # Not "now": identical input must give identical bytes, or every publish would rewrite both
    # files and every reader would re-fetch them.
    return max((_utc(i.updated_at) for i in items), default=None)


# feedgen formats RSS dates by switching the process-wide locale to C and back; two threads of the
# web desk publishing at once must not interleave that.
_FEEDGEN = threading.Lock()


def _as_cdata(elements: Any) -> None:
    """Carry item HTML as CDATA, so markup is escaped once: `&amp;` in the HTML, never `&amp;amp;`.

    `]]>` cannot stand inside CDATA; `]]&gt;` means the same to an HTML parser, in text and in
    attribute values alike.
    """
    for element in elements:
        if element.text:
            element.text = etree.CDATA(element.text.replace("]]>", "]]&gt;"))


def _serialise(doc: Any) -> bytes:
    out: bytes = etree.tostring(doc, pretty_print=True, xml_declaration=True, encoding="UTF-8")
    return out


def _body(item: PublishedItem, bodies: Mapping[str, str] | None) -> str:
    if bodies is not None and item.guid in bodies:
        return bodies[item.guid]
    return item_html(item)


def render_rss(channel: Channel, items: Sequence[PublishedItem],
               bodies: Mapping[str, str] | None = None) -> bytes:
    """The RSS 2.0 document for the channel and its items (already ordered and limited).

    `bodies`: item_html of items by guid, when already rendered for another output.
    """
    fg = _generator(channel, channel.rss_url, "application/rss+xml")
    if channel.author_email:
        # RSS wants an address here, with the name in parentheses after it.
        fg.managingEditor(f"{_line(channel.author_email)} ({_line(channel.author_name)})")
    last = _last_change(items)
    if last is not None:
        fg.lastBuildDate(last)
    for item in items:
        fe: FeedEntry = fg.add_entry(order="append")
        fe.title(_title(item))
        url = _safe_url(item.url)
        if url:
            fe.link(href=url)
        fe.guid(_xml_text(item.guid).strip(), permalink=False)
        fe.description(_body(item, bodies))
        fe.pubDate(_utc(item.featured_at))
        for title, scheme in _categories(channel, item):
            fe.category(term=title, scheme=scheme or None)
        source_url = _safe_url(item.source_url)
        if source_url:
            fe.source(url=source_url, title=_source_name(item))
    with _FEEDGEN:
        root, doc = fg._create_rss()
    _as_cdata(root.iterfind("channel/item/description"))
    if channel.hub:
        # feedgen writes only the self link as atom:link in RSS; WebSub wants the hub's too.
        self_link = root.find(f"channel/{{{ATOM_NS}}}link")
        hub = etree.Element(f"{{{ATOM_NS}}}link", href=_line(channel.hub), rel="hub")
        self_link.addnext(hub)
    if last is None:
        # feedgen always writes a lastBuildDate, defaulting to the time of the call.
        for element in root.iterfind("channel/lastBuildDate"):
            element.getparent().remove(element)
    return _serialise(doc)


def render_atom(channel: Channel, items: Sequence[PublishedItem],
                bodies: Mapping[str, str] | None = None) -> bytes:
    """The Atom 1.0 document for the channel and its items (already ordered and limited)."""
    fg = _generator(channel, channel.atom_url, "application/atom+xml")
    # The site's own URL identifies the feed: stable for as long as the config keeps it.
    fg.id(_line(channel.link))
    subtitle = _xml_text(channel.description).strip()
    if subtitle:
        fg.subtitle(subtitle)
    author = {"name": _line(channel.author_name) or _line(channel.title)}
    if channel.author_email:
        author["email"] = _line(channel.author_email)
    fg.author(author)
    fg.updated(_last_change(items) or _EPOCH)
    for item in items:
        fe: FeedEntry = fg.add_entry(order="append")
        fe.id(_atom_id(item.guid))
        fe.title(_title(item))
        fe.content(_body(item, bodies), type="html")
        fe.published(_utc(item.featured_at))
        fe.updated(_utc(item.updated_at))
        for title, scheme in _categories(channel, item):
            fe.category(term=title, label=title, scheme=scheme or None)
    with _FEEDGEN:
        root, doc = fg._create_atom()
    for entry, item in zip(root.iterfind("entry"), items, strict=True):
        _add_atom_links(entry, item)
    _as_cdata(root.iterfind("entry/content"))
    return _serialise(doc)


def _add_atom_links(entry: Any, item: PublishedItem) -> None:
    """Add the entry's link to the article and its <source>, which feedgen 1.0 gets wrong."""
    # feedgen drops rel and type from entry links, and its <source> holds one title and one link
    # (the RSS source URL); RFC 4287 wants the source feed's id, site and self links.
    url = _safe_url(item.url)
    if url:
        etree.SubElement(entry, "link", rel="alternate", type="text/html", href=url)
    source = etree.SubElement(entry, "source")
    feed_url = _safe_url(item.source_url)
    if feed_url:
        etree.SubElement(source, "id").text = feed_url
    etree.SubElement(source, "title").text = _source_name(item)
    # The source feed's own <updated> is not kept; the article's date is the nearest known one
    # (the feed held the article, so it changed no earlier), else when the article was featured.
    source_updated = item.published if item.published is not None else item.featured_at
    etree.SubElement(source, "updated").text = _utc(source_updated).isoformat()
    site = _safe_url(item.source_link) or feed_url
    if site:
        etree.SubElement(source, "link", rel="alternate", href=site)
    if feed_url:
        etree.SubElement(source, "link", rel="self", href=feed_url)


# ------------------------------------------------------------------ JSON Feed and item pages


def item_path(item: PublishedItem) -> str:
    """Where the item's page lives under the site folder: stable for the life of the feature.

    Built from the guid and the day it was featured, neither of which a note edit changes; the
    title is left out because a source may still change it.
    """
    digest = hashlib.sha256(item.guid.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"items/{_utc(item.featured_at):%Y-%m-%d}-{digest}.html"


def _rfc3339(when: datetime) -> str:
    return _utc(when).isoformat().replace("+00:00", "Z")


def render_json_feed(channel: Channel, items: Sequence[PublishedItem],
                     bodies: Mapping[str, str] | None = None) -> bytes:
    """The JSON Feed 1.1 document: `external_url` is the original, `url` the item's page."""
    feed: dict[str, Any] = {
        "version": JSON_FEED_VERSION,
        "title": _line(channel.title),
        "home_page_url": _line(channel.link),
        "feed_url": _line(channel.json_url),
    }
    description = _line(channel.description)
    if description:
        feed["description"] = description
    author: dict[str, str] = {"name": _line(channel.author_name) or _line(channel.title)}
    if channel.author_email:
        author["url"] = "mailto:" + _line(channel.author_email)
    feed["authors"] = [author]
    if channel.hub:
        feed["hubs"] = [{"type": "WebSub", "url": _line(channel.hub)}]
    entries = []
    for item in items:
        entry: dict[str, Any] = {
            "id": _xml_text(item.guid).strip(),
            "url": urljoin(_line(channel.site_url or channel.link), item_path(item)),
        }
        article = _safe_url(item.url)
        if article:
            entry["external_url"] = article
        entry["title"] = _title(item)
        entry["content_html"] = _body(item, bodies)
        summary = _line(item.excerpt)
        if summary:
            entry["summary"] = summary
        entry["date_published"] = _rfc3339(item.featured_at)
        entry["date_modified"] = _rfc3339(item.updated_at)
        tags = [t for t in (_line(t) for t in item.topics) if t]
        if tags:
            entry["tags"] = tags
        entries.append(entry)
    feed["items"] = entries
    return (json.dumps(feed, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
