"""Rendering: notes to safe HTML, featured items to RSS 2.0 and Atom 1.0, parsed back for real.

No offline build of the W3C Feed Validation Service is on PyPI, so its rules that matter here
(self link, guid/id on every item, channel link and description, RFC 822 / RFC 3339 dates,
atom:id/updated/title/author) are asserted on the parsed XML, and feedparser reads every output.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any
from xml.etree import ElementTree as ET

import feedparser
import pytest

from curator.render import item_html, render_atom, render_note, render_rss
from curator.types import Channel, PublishedItem

ATOM = "{http://www.w3.org/2005/Atom}"
RFC822 = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"\d{4} \d\d:\d\d:\d\d \+0000\Z"
)
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)\Z")

CHANNEL = Channel(
    title="Tech Accountability Watch",
    link="https://example.org/watch/",
    description="Platform accountability, Section 230, online child safety",
    author_name="The Editors",
    author_email="editors@example.org",
    rss_url="https://example.org/watch/feed.xml",
    atom_url="https://example.org/watch/atom.xml",
)


def when(day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def make_item(n: int = 1, **changes: Any) -> PublishedItem:
    item = PublishedItem(
        guid=f"tag:example.org,2026:candidate/{n}",
        title=f"Story {n}",
        url=f"https://news.example.com/story/{n}?a=1&b=2",
        note=f"Commentary on *story {n}*.",
        source_name="The Guardian — Technology",
        source_url="https://www.theguardian.com/us/technology/rss",
        source_link="https://www.theguardian.com/us/technology",
        topics=("platform-accountability", "child-safety"),
        featured_at=when(20 + n),
        updated_at=when(20 + n, 15),
        published=when(20 + n, 9),
        editor="alice",
    )
    return dataclasses.replace(item, **changes)


ITEMS = [make_item(3), make_item(2, source_link=None, topics=()), make_item(1)]


# ------------------------------------------------------------------ HTML inspection


class _Elements(HTMLParser):
    """Every start tag with its attributes, and the text, of an HTML fragment."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def elements(fragment: str) -> _Elements:
    parser = _Elements()
    parser.feed(fragment)
    parser.close()
    return parser


FORBIDDEN_TAGS = {
    "script", "iframe", "object", "embed", "style", "form", "input", "button", "textarea",
    "frame", "frameset", "applet", "meta", "link", "base", "svg", "math", "noscript",
}  # fmt: skip


def assert_safe_html(fragment: str) -> None:
    """No dangerous element, no event handler, no URL but http(s)/mailto, rel on every link."""
    parsed = elements(fragment)
    for tag, attrs in parsed.tags:
        assert tag not in FORBIDDEN_TAGS, fragment
        for name, value in attrs.items():
            assert not name.startswith("on"), fragment
            assert name not in {"style", "srcdoc", "formaction"}, fragment
            if name in {"href", "src", "action", "cite", "background", "poster"}:
                assert re.match(r"(https?|mailto):", value.strip(), re.IGNORECASE), fragment
    lowered = fragment.lower()
    for needle in ("<script", "<iframe", "<object", "<embed", "<style", "<form"):
        assert needle not in lowered, fragment


# ------------------------------------------------------------------ render_note

HOSTILE_NOTES = [
    pytest.param("<script>alert(1)</script>hello", "hello", id="script-block"),
    pytest.param("Text <script>alert(1)</script> inline", "inline", id="script-inline"),
    pytest.param('<img src="https://x.example/a.png" onerror="alert(1)">', "", id="onerror"),
    pytest.param('<a href="https://ok.example/" onclick="alert(1)">ok</a>', "ok", id="onclick"),
    pytest.param("[x](javascript:alert(1))", "", id="md-javascript-link"),
    pytest.param("[x](&#106;avascript:alert(1))", "", id="md-entity-javascript"),
    pytest.param("[x](JaVaScRiPt:alert(1))", "", id="md-mixed-case-javascript"),
    pytest.param('<a href="&#106;avascript:alert(1)">x</a>', "x", id="html-entity-javascript"),
    pytest.param('<a href="java&#x09;script:alert(1)">x</a>', "x", id="html-tab-javascript"),
    pytest.param('<a href=" javascript:alert(1)">x</a>', "x", id="html-space-javascript"),
    pytest.param("[x](data:text/html;base64,PHNjcmlwdD4=)", "", id="md-data-url"),
    pytest.param("![i](data:image/png;base64,AAAA)", "", id="md-data-image"),
    pytest.param('<iframe src="https://evil.example/"></iframe>after', "after", id="iframe"),
    pytest.param("<iframe><script>alert(1)</script></iframe>", "", id="iframe-script"),
    pytest.param('<object data="x.swf"></object><embed src="x.swf">', "", id="object-embed"),
    pytest.param("<style>body{display:none}</style>styled", "styled", id="style-element"),
    pytest.param('<p style="position:fixed">p</p>', "p", id="style-attribute"),
    pytest.param('<form action="https://evil.example/"><input name=a></form>f', "f", id="form"),
    pytest.param("<div>\n<script>alert(1)</script>\n</div>", "", id="raw-html-block"),
    pytest.param("<svg><script>alert(1)</script></svg>", "", id="svg-script"),
    pytest.param('<math><mi xlink:href="javascript:alert(1)">m</mi></math>', "", id="math"),
    pytest.param("<!-- <script>alert(1)</script> -->c", "c", id="comment"),
    pytest.param('<a href="https://ok.example/" target="_blank">t</a>', "t", id="target"),
    pytest.param('<meta http-equiv="refresh" content="0;url=https://e.example/">', "", id="meta"),
    pytest.param('<base href="https://evil.example/">', "", id="base"),
    pytest.param("<scr<script>ipt>alert(1)</script>", "", id="nested-script"),
]


@pytest.mark.parametrize(("note", "kept"), HOSTILE_NOTES)
def test_note_is_sanitised(note: str, kept: str) -> None:
    out = render_note(note)
    assert_safe_html(out)
    assert kept in "".join(elements(out).text)
    if re.search("<(script|iframe|svg|style)", note):
        assert "alert" not in out and "display" not in out


def test_note_markdown_features() -> None:
    out = render_note(
        "# Heading\n\n*em* **strong** `code` ~~gone~~ [link](https://example.com/a?b=1&c=2)\n\n"
        "> quote\n\n- one\n- two\n\n| a | b |\n|---|--:|\n| 1 | 2 |\n\n```\nx < y\n```\n"
    )
    assert "<h1>Heading</h1>" in out
    assert "<em>em</em>" in out and "<strong>strong</strong>" in out
    assert "<code>code</code>" in out
    assert "<s>gone</s>" in out
    assert '<a href="https://example.com/a?b=1&amp;c=2" rel="noopener noreferrer nofollow">' in out
    assert "<blockquote>" in out and "<li>one</li>" in out
    assert "<table>" in out and "<td>1</td>" in out
    assert "x &lt; y" in out
    assert_safe_html(out)


def test_note_links_get_rel_and_safe_schemes_survive() -> None:
    out = render_note(
        "[a](https://a.example/) <a href='http://b.example/' rel='opener'>b</a> "
        "<a href='mailto:x@example.org'>m</a>"
    )
    links = [attrs for tag, attrs in elements(out).tags if tag == "a"]
    assert [a["href"] for a in links] == [
        "https://a.example/", "http://b.example/", "mailto:x@example.org"
    ]
    assert all(a["rel"] == "noopener noreferrer nofollow" for a in links)


def test_note_relative_urls_are_dropped() -> None:
    # a relative URL in feed content resolves differently in every reader
    out = render_note("[rel](/about) ![i](pic.png) [abs](https://a.example/)")
    urls = [a.get("href") or a.get("src") for t, a in elements(out).tags if t in {"a", "img"}]
    assert urls == [None, None, "https://a.example/"]


@pytest.mark.parametrize("note", ["", "   \n\n  ", "\x00\x01"])
def test_empty_note(note: str) -> None:
    assert render_note(note) == ""


def test_note_strips_control_characters() -> None:
    assert render_note("a\x00b\x08c\x1fd\x7fe\x85f\ud800g\ufffeh") == "<p>abcdefgh</p>"


# ------------------------------------------------------------------ item_html


def test_item_html_attribution() -> None:
    item = make_item(1, note="")
    assert item_html(item) == (
        '<p class="via"><a href="https://news.example.com/story/1?a=1&amp;b=2">'
        "Read the full article at The Guardian — Technology</a></p>"
    )


def test_item_html_note_then_attribution() -> None:
    out = item_html(make_item(1))
    note, via = out.split("\n")
    assert note == "<p>Commentary on <em>story 1</em>.</p>"
    assert via.startswith('<p class="via"><a href="https://news.example.com/story/1')


def test_item_html_note_excerpt_attribution_also_in_that_order() -> None:
    item = make_item(1, excerpt="The agency said on Tuesday <that> it & others …",
                     also=(("Same story", "https://other.example.net/s", "Other <b>Outlet</b>"),
                           ("Bad", "javascript:alert(1)", "Evil")))
    note, quote, via, also = item_html(item).split("\n")
    assert note == "<p>Commentary on <em>story 1</em>.</p>"
    assert quote == ('<blockquote cite="https://news.example.com/story/1?a=1&amp;b=2"><p>'
                     "The agency said on Tuesday &lt;that&gt; it &amp; others …</p></blockquote>")
    assert "Read the full article at The Guardian" in via
    assert also == ('<p class="also">Also covered by <a href="https://other.example.net/s" '
                    'title="Same story">Other Outlet</a></p>')
    assert_safe_html(item_html(item))


def test_item_html_without_excerpt_or_note_is_the_attribution_alone() -> None:
    out = item_html(make_item(1, note="", excerpt="  "))
    assert out.count("<p") == 1 and "blockquote" not in out


def test_excerpt_words() -> None:
    from curator.text import excerpt

    text = "one two  three\nfour, five six"
    assert excerpt(text, 0) == ""
    assert excerpt(text, 3) == "one two three …"
    assert excerpt(text, 4) == "one two three four …"  # the comma before the cut goes
    assert excerpt(text, 6) == "one two three four, five six"
    assert excerpt(text, 60) == "one two three four, five six"
    assert excerpt("", 60) == ""


def test_item_html_escapes_everything() -> None:
    item = make_item(
        1,
        title='AT&T "wins" <b>big</b>',
        source_name='Ars <Technica> & "Co"',
        url='https://news.example.com/x?a=1&b="2"',
        note="",
    )
    out = item_html(item)
    # A source's name is plain text too: a tag in it is reduced to its text like a title's.
    assert "Ars &amp; &quot;Co&quot;" in out
    assert 'href="https://news.example.com/x?a=1&amp;b=&quot;2&quot;"' in out
    assert "<b>" not in out
    assert_safe_html(out)


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "JAVASCRIPT:alert(1)", "data:text/html,x", "/relative", ""]
)
def test_item_html_drops_unsafe_urls(url: str) -> None:
    out = item_html(make_item(1, url=url, source_link=url, note=""))
    assert_safe_html(out)
    assert "href" not in out
    assert "Read the full article at The Guardian" in out


def test_item_html_uses_the_note_html_the_item_carries() -> None:
    # The store keeps each note's rendered HTML; given it, item_html must not render again.
    out = item_html(make_item(1, note_html="<p>as cached</p>"))
    assert out.split("\n")[0] == "<p>as cached</p>"
    assert "Commentary" not in out
    assert item_html(make_item(1, note_html="")) == item_html(make_item(1, note=""))


@pytest.mark.parametrize("note", ["Commentary on *story 1*.", "", "   ", "<script>x</script>hi",
                                  "| a | b |\n| - | - |\n| 1 | ~~2~~ |"])
def test_cached_note_html_gives_the_same_bytes(note: str) -> None:
    item = make_item(1, note=note)
    cached = dataclasses.replace(item, note_html=render_note(note))
    assert item_html(cached) == item_html(item)
    assert render_rss(CHANNEL, [cached]) == render_rss(CHANNEL, [item])
    assert render_atom(CHANNEL, [cached]) == render_atom(CHANNEL, [item])


def test_note_html_takes_no_part_in_equality_or_repr() -> None:
    # A publish hashes repr() of its items to decide whether anything changed: a cache being
    # filled is no change.
    item = make_item(1)
    cached = dataclasses.replace(item, note_html="<p>secret</p>")
    assert cached == item and repr(cached) == repr(item)


def test_markdown_it_loads_only_when_a_note_is_rendered() -> None:
    script = (
        "import sys, curator.render as r\n"
        "assert 'markdown_it' not in sys.modules, 'imported with curator.render'\n"
        "r.render_note('')\n"
        "assert 'markdown_it' not in sys.modules, 'imported for an empty note'\n"
        "assert r.render_note('*x*') == '<p><em>x</em></p>'\n"
        "assert 'markdown_it' in sys.modules\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


# ------------------------------------------------------------------ RSS


def rss_channel(data: bytes) -> ET.Element:
    root = ET.fromstring(data)
    assert root.tag == "rss" and root.get("version") == "2.0"
    channel = root.find("channel")
    assert channel is not None
    return channel


def text_of(parent: ET.Element, path: str) -> str:
    found = parent.find(path)
    assert found is not None, path
    return found.text or ""


def test_rss_channel() -> None:
    data = render_rss(CHANNEL, ITEMS)
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n")
    channel = rss_channel(data)
    assert text_of(channel, "title") == CHANNEL.title
    assert text_of(channel, "link") == CHANNEL.link
    assert text_of(channel, "description") == CHANNEL.description
    self_links = channel.findall(f"{ATOM}link")
    assert [(a.get("rel"), a.get("href")) for a in self_links] == [("self", CHANNEL.rss_url)]
    assert text_of(channel, "generator") == "curator"
    assert text_of(channel, "managingEditor") == "editors@example.org (The Editors)"
    # the newest change of any item, not the time of the call; item 3 changed last
    assert text_of(channel, "lastBuildDate") == "Mon, 23 Nov 2026 15:00:00 +0000"


def test_rss_last_build_date_is_the_latest_note_edit() -> None:
    items = [make_item(3), make_item(1, updated_at=when(28, 8))]
    channel = rss_channel(render_rss(CHANNEL, items))
    assert text_of(channel, "lastBuildDate") == "Sat, 28 Nov 2026 08:00:00 +0000"


def test_rss_without_email_has_no_managing_editor() -> None:
    channel = rss_channel(render_rss(dataclasses.replace(CHANNEL, author_email=None), ITEMS))
    assert channel.find("managingEditor") is None


def test_rss_items() -> None:
    channel = rss_channel(render_rss(CHANNEL, ITEMS))
    items = channel.findall("item")
    assert len(items) == 3
    for element, item in zip(items, ITEMS, strict=True):
        assert text_of(element, "title") == item.title
        assert text_of(element, "link") == item.url
        guid = element.find("guid")
        assert guid is not None and guid.text == item.guid
        assert guid.get("isPermaLink") == "false"
        assert text_of(element, "description") == item_html(item)
        pub_date = text_of(element, "pubDate")
        assert RFC822.match(pub_date)
        assert parsedate_to_datetime(pub_date) == item.featured_at
        assert [c.text for c in element.findall("category")] == list(item.topics)
        source = element.find("source")
        assert source is not None
        assert source.get("url") == item.source_url
        assert source.text == item.source_name
        assert element.find("author") is None  # RSS <author> must be an email; we have none


def test_rss_empty_feed() -> None:
    channel = rss_channel(render_rss(CHANNEL, []))
    assert channel.findall("item") == []
    assert channel.find("lastBuildDate") is None  # no date to give that is not "now"
    assert channel.find("pubDate") is None
    assert text_of(channel, "link") == CHANNEL.link


# ------------------------------------------------------------------ Atom


def atom_feed(data: bytes) -> ET.Element:
    root = ET.fromstring(data)
    assert root.tag == f"{ATOM}feed"
    return root


def links(parent: ET.Element) -> dict[str, str]:
    found = {}
    for link in parent.findall(f"{ATOM}link"):
        rel = link.get("rel", "alternate")
        assert rel not in found, f"two links rel={rel}"
        found[rel] = link.get("href", "")
    return found


def test_atom_feed() -> None:
    data = render_atom(CHANNEL, ITEMS)
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n")
    feed = atom_feed(data)
    assert text_of(feed, f"{ATOM}id") == CHANNEL.link
    assert text_of(feed, f"{ATOM}title") == CHANNEL.title
    assert text_of(feed, f"{ATOM}subtitle") == CHANNEL.description
    updated = text_of(feed, f"{ATOM}updated")
    assert RFC3339.match(updated)
    assert datetime.fromisoformat(updated) == when(23, 15)
    assert text_of(feed, f"{ATOM}author/{ATOM}name") == "The Editors"
    assert text_of(feed, f"{ATOM}author/{ATOM}email") == "editors@example.org"
    assert links(feed) == {"self": CHANNEL.atom_url, "alternate": CHANNEL.link}
    assert text_of(feed, f"{ATOM}generator") == "curator"


def test_atom_without_email() -> None:
    feed = atom_feed(render_atom(dataclasses.replace(CHANNEL, author_email=None), ITEMS))
    assert text_of(feed, f"{ATOM}author/{ATOM}name") == "The Editors"
    assert feed.find(f"{ATOM}author/{ATOM}email") is None


def test_atom_entries() -> None:
    feed = atom_feed(render_atom(CHANNEL, ITEMS))
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 3
    for entry, item in zip(entries, ITEMS, strict=True):
        assert text_of(entry, f"{ATOM}id") == item.guid
        title = entry.find(f"{ATOM}title")
        assert title is not None and title.text == item.title
        assert title.get("type", "text") == "text"
        assert links(entry) == {"alternate": item.url}
        content = entry.find(f"{ATOM}content")
        assert content is not None and content.get("type") == "html"
        assert content.text == item_html(item)
        published = text_of(entry, f"{ATOM}published")
        updated = text_of(entry, f"{ATOM}updated")
        assert RFC3339.match(published) and RFC3339.match(updated)
        assert datetime.fromisoformat(published) == item.featured_at
        assert datetime.fromisoformat(updated) == item.updated_at
        assert [c.get("term") for c in entry.findall(f"{ATOM}category")] == list(item.topics)
        source = entry.find(f"{ATOM}source")
        assert source is not None
        assert text_of(source, f"{ATOM}id") == item.source_url
        assert text_of(source, f"{ATOM}title") == item.source_name
        assert RFC3339.match(text_of(source, f"{ATOM}updated"))
        assert links(source) == {
            "alternate": item.source_link or item.source_url,
            "self": item.source_url,
        }


def test_atom_empty_feed_has_a_fixed_updated() -> None:
    feed = atom_feed(render_atom(CHANNEL, []))
    assert feed.findall(f"{ATOM}entry") == []
    assert text_of(feed, f"{ATOM}updated") == "1970-01-01T00:00:00+00:00"
    assert text_of(feed, f"{ATOM}id") == CHANNEL.link


def test_atom_id_for_a_guid_that_is_not_an_iri() -> None:
    item = make_item(1, guid="42")
    entry = atom_feed(render_atom(CHANNEL, [item])).find(f"{ATOM}entry")
    assert entry is not None
    atom_id = text_of(entry, f"{ATOM}id")
    assert re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", atom_id)
    again = atom_feed(render_atom(CHANNEL, [item])).find(f"{ATOM}entry")
    assert again is not None and text_of(again, f"{ATOM}id") == atom_id
    # RSS guids may be any string: kept as is
    rss_item = rss_channel(render_rss(CHANNEL, [item])).find("item")
    assert rss_item is not None and text_of(rss_item, "guid") == "42"


# ------------------------------------------------------------------ both formats


RENDERERS = [pytest.param(render_rss, id="rss"), pytest.param(render_atom, id="atom")]


@pytest.mark.parametrize("render", RENDERERS)
def test_deterministic(render: Any) -> None:
    first = render(CHANNEL, ITEMS)
    copies = [dataclasses.replace(i) for i in ITEMS]
    assert render(dataclasses.replace(CHANNEL), copies) == first
    assert render(CHANNEL, []) == render(CHANNEL, [])


@pytest.mark.parametrize("render", RENDERERS)
@pytest.mark.parametrize("items", [ITEMS, []], ids=["items", "empty"])
def test_output_does_not_depend_on_the_clock(
    render: Any, items: list[PublishedItem], monkeypatch: pytest.MonkeyPatch
) -> None:
    import feedgen.entry
    import feedgen.feed

    first = render(CHANNEL, items)

    class AnyDatetime(type):
        # feedgen both calls datetime.now() and checks isinstance(value, datetime)
        def __instancecheck__(cls, obj: object) -> bool:
            return isinstance(obj, datetime)

    class Later(datetime, metaclass=AnyDatetime):
        @classmethod
        def now(cls, tz: Any = None) -> Later:
            return cls(2031, 1, 2, 3, 4, 5, tzinfo=tz)

    monkeypatch.setattr(feedgen.feed, "datetime", Later)
    monkeypatch.setattr(feedgen.entry, "datetime", Later)
    assert render(CHANNEL, items) == first
    assert b"2031" not in first


@pytest.mark.parametrize("render", RENDERERS)
def test_note_edit_keeps_guid(render: Any) -> None:
    item = make_item(1)
    edited = dataclasses.replace(item, note="Changed my mind.", updated_at=when(29))
    before = feedparser.parse(render(CHANNEL, [item])).entries[0]
    after = feedparser.parse(render(CHANNEL, [edited])).entries[0]
    assert before.id == after.id == item.guid
    assert "Changed my mind." in after.summary


def test_item_order_is_kept() -> None:
    # items arrive newest featured first; the renderers must not re-sort or reverse them
    shuffled = [make_item(2), make_item(3), make_item(1)]
    for data in (render_rss(CHANNEL, shuffled), render_atom(CHANNEL, shuffled)):
        assert [e.id for e in feedparser.parse(data).entries] == [i.guid for i in shuffled]


@pytest.mark.parametrize(
    ("tz", "naive"),
    [
        pytest.param(timezone(timedelta(hours=-5)), False, id="new-york"),
        pytest.param(timezone(timedelta(hours=5, minutes=30)), False, id="india"),
        pytest.param(None, True, id="naive-as-utc"),
    ],
)
def test_dates_are_utc(tz: timezone | None, naive: bool) -> None:
    local = datetime(2026, 11, 24, 7, 0, 0, 123456)
    featured = local if naive else local.replace(tzinfo=tz)
    expect = (
        local.replace(tzinfo=UTC, microsecond=0)
        if naive
        else featured.astimezone(UTC).replace(microsecond=0)
    )
    item = make_item(1, featured_at=featured, updated_at=featured, published=featured)
    rss_item = rss_channel(render_rss(CHANNEL, [item])).find("item")
    assert rss_item is not None
    pub_date = text_of(rss_item, "pubDate")
    assert pub_date.endswith("+0000")
    assert parsedate_to_datetime(pub_date) == expect
    entry = atom_feed(render_atom(CHANNEL, [item])).find(f"{ATOM}entry")
    assert entry is not None
    for path in (f"{ATOM}published", f"{ATOM}updated", f"{ATOM}source/{ATOM}updated"):
        value = text_of(entry, path)
        assert value.endswith("+00:00")
        assert datetime.fromisoformat(value) == expect


def test_feedparser_reads_rss() -> None:
    parsed = feedparser.parse(render_rss(CHANNEL, ITEMS))
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "rss20"
    assert parsed.feed.title == CHANNEL.title
    assert parsed.feed.link == CHANNEL.link
    assert parsed.feed.subtitle == CHANNEL.description
    assert {(link.rel, link.href) for link in parsed.feed.links} >= {("self", CHANNEL.rss_url)}
    for entry, item in zip(parsed.entries, ITEMS, strict=True):
        assert entry.id == item.guid
        assert entry.guidislink is False
        assert entry.title == item.title
        assert entry.link == item.url
        assert entry.source.title == item.source_name
        assert entry.source.href == item.source_url
        assert [t.term for t in entry.get("tags", [])] == list(item.topics)
        assert f"Commentary on <em>story {item.guid[-1]}</em>." in entry.summary
        assert datetime(*entry.published_parsed[:6], tzinfo=UTC) == item.featured_at


def test_feedparser_reads_atom() -> None:
    parsed = feedparser.parse(render_atom(CHANNEL, ITEMS))
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.id == CHANNEL.link
    assert parsed.feed.title == CHANNEL.title
    assert parsed.feed.subtitle == CHANNEL.description
    assert parsed.feed.author_detail.name == "The Editors"
    assert {(link.rel, link.href) for link in parsed.feed.links} == {
        ("self", CHANNEL.atom_url),
        ("alternate", CHANNEL.link),
    }
    assert datetime(*parsed.feed.updated_parsed[:6], tzinfo=UTC) == when(23, 15)
    for entry, item in zip(parsed.entries, ITEMS, strict=True):
        assert entry.id == item.guid
        assert entry.title == item.title
        assert entry.title_detail.type == "text/plain"
        assert entry.link == item.url
        assert entry.source.title == item.source_name
        assert entry.source.id == item.source_url
        assert entry.source.link == (item.source_link or item.source_url)
        assert [t.term for t in entry.get("tags", [])] == list(item.topics)
        assert entry.content[0].type == "text/html"
        assert f"Commentary on <em>story {item.guid[-1]}</em>." in entry.content[0].value
        assert datetime(*entry.published_parsed[:6], tzinfo=UTC) == item.featured_at
        assert datetime(*entry.updated_parsed[:6], tzinfo=UTC) == item.updated_at


# ------------------------------------------------------------------ hostile input

HOSTILE = make_item(
    7,
    title="AT&T <b>fined</b>\x00 over\x0b data\x1b & more",
    source_name="Ars <Technica> & Co\x07",
    note=(
        "Read this.<script>alert('note')</script>\n\n"
        "<img src=\"https://img.example/a.png\" onerror=\"alert('img')\">\n\n"
        "[click](javascript:alert('link')) [enc](&#106;avascript:alert('enc'))\n\n"
        "<iframe src=\"https://evil.example/\"></iframe>\n\n"
        "<div onclick=\"alert('div')\">\n<script>alert('block')</script>\n</div>\n\n"
        "bell\x07 nul\x00 esc\x1b del\x7f"
    ),
    topics=("platform-accountability", "bad\x00topic"),
    guid="tag:example.org,2026:candidate/7\x01",
    source_url="https://feeds.example.com/ars.xml\x02",
)


@pytest.mark.parametrize("render", RENDERERS)
def test_hostile_input_is_well_formed_and_safe(render: Any) -> None:
    data = render(CHANNEL, [HOSTILE, make_item(1)])
    ET.fromstring(data)  # well-formed XML, control characters and all
    parsed = feedparser.parse(data)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    entry = parsed.entries[0]
    assert entry.title == "AT&T fined over data & more"
    assert entry.id == "tag:example.org,2026:candidate/7"
    assert entry.source.title == "Ars & Co"  # plain text: the tag reduced like a title's
    assert [t.term for t in entry.tags] == ["platform-accountability", "badtopic"]

    # the HTML exactly as published, before feedparser's own sanitiser has a go at it
    root = ET.fromstring(data)
    bodies = [e.text or "" for e in root.iter() if e.tag in {"description", f"{ATOM}content"}]
    bodies = [b for b in bodies if "Read this." in b]
    assert len(bodies) == 1
    body = bodies[0]
    assert_safe_html(body)
    for word in ("note", "img", "block", "div"):
        assert f"alert('{word}')" not in body
    assert "bell nul esc del" in body
    assert '<img src="https://img.example/a.png">' in body


@pytest.mark.parametrize("render", RENDERERS)
def test_title_escaped_exactly_once(render: Any) -> None:
    data = render(CHANNEL, [make_item(1, title="AT&T & Verizon")])
    assert b">AT&amp;T &amp; Verizon</title>" in data
    assert b"&amp;amp;" not in data.split(b"<title")[-1].split(b"</title>")[0]
    titles = [e.text for e in ET.fromstring(data).iter() if e.tag in {"title", f"{ATOM}title"}]
    assert "AT&T & Verizon" in titles


@pytest.mark.parametrize("render", RENDERERS)
@pytest.mark.parametrize(
    ("raw", "plain"),
    [
        pytest.param("<b>Bold</b> move", "Bold move", id="tags"),
        pytest.param("<script>alert(1)</script>Title", "Title", id="script"),
        pytest.param("Tom &amp; Jerry", "Tom & Jerry", id="double-escaped"),
        pytest.param("x < y and y > z", "x < y and y > z", id="comparison"),
        pytest.param("  multi\n  line\ttitle ", "multi line title", id="whitespace"),
        pytest.param("<script>alert(1)</script>", "https://news.example.com/story/1?a=1&b=2",
                     id="nothing-left-use-url"),
    ],
)
def test_title_markup_reduced_to_text(render: Any, raw: str, plain: str) -> None:
    data = render(CHANNEL, [make_item(1, title=raw)])
    assert feedparser.parse(data).entries[0].title == plain
    assert b"<script" not in data and b"&lt;script" not in data


@pytest.mark.parametrize("render", RENDERERS)
def test_unsafe_article_url_is_not_linked(render: Any) -> None:
    item = make_item(1, url="javascript:alert(1)", source_link="javascript:alert(2)")
    data = render(CHANNEL, [item])
    assert b"javascript:" not in data
    root = ET.fromstring(data)
    item_links = root.findall("channel/item/link") + root.findall(f"{ATOM}entry/{ATOM}link")
    assert item_links == []
    assert feedparser.parse(data).bozo == 0


def test_a_url_with_any_kind_of_space_is_refused_like_before() -> None:
    # The check is cached and uses one expression; it must refuse what the per-character
    # str.isspace() test refused, and pass what it passed.
    from curator.render import _safe_url

    for space in (" ", "\t", "\u00a0", "\u2003", "\u3000"):
        assert _safe_url(f"https://example.com/a{space}b") is None
        assert _safe_url(f"https://example.com/a{space}b") is None  # cached
    assert _safe_url("https://example.com/a?b=c") == "https://example.com/a?b=c"
    assert _safe_url("javascript:alert(1)") is None and _safe_url(None) is None
