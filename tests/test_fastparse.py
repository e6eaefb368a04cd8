"""The lxml fast path stores exactly what feedparser alone would, and steps aside when unsure."""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

import pytest
from feedparser.datetimes import _parse_date

from curator import fastparse
from curator import parse as parse_mod
from curator.exceptions import NotAFeed, ParseError

DATA = Path(__file__).parent / "data"
CORPUS = sorted(
    p for d in ("feeds", "parse", "parity") for p in (DATA / d).rglob("*")
    if p.is_file() and p.suffix not in (".json", ".md") and p.name != "LICENSE"
)
URL = "https://example.com/feed"


def _headers(path: Path) -> dict[str, str]:
    side = path.with_suffix(".headers.json")
    if side.exists():
        import json

        return dict(json.loads(side.read_text()))
    return {}


def _parse(path: Path, fast: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, bool]:
    used: list[bool] = []
    real = fastparse.parse

    def spy(data: bytes) -> Any:
        result = real(data) if fast else None
        used.append(result is not None)
        return result

    with monkeypatch.context() as m:
        m.setattr(fastparse, "parse", spy)
        try:
            result: Any = parse_mod.parse_feed(URL, path.read_bytes(), _headers(path))
        except (ParseError, NotAFeed) as e:
            result = (type(e).__name__, str(e))
    return result, any(used)


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: str(p.relative_to(DATA)))
def test_fast_path_stores_what_feedparser_reads(path: Path, monkeypatch: pytest.MonkeyPatch
                                                ) -> None:
    fast, _ = _parse(path, True, monkeypatch)
    slow, _ = _parse(path, False, monkeypatch)
    assert fast == slow


def test_fast_path_takes_the_common_feeds(monkeypatch: pytest.MonkeyPatch) -> None:
    # The parity above means something only if the fast path really ran on a good share.
    taken = {p for p in CORPUS if _parse(p, True, monkeypatch)[1]}
    assert {p for p in CORPUS if "realfeeds" in p.parts or "crafted" in p.parts} <= taken
    assert DATA / "feeds" / "rss20.xml" in taken
    assert len([p for p in taken if "feedparser" in p.parts]) >= 200


_RSS = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"{ns}><channel><title>T</title>'
        "{channel}<item><title>A</title><guid>g</guid>{item}</item></channel></rss>")


_ATOM = ('<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
         "<title>T</title>{feed}<entry><id>urn:x</id><title>A</title>{entry}</entry></feed>")


@pytest.mark.parametrize("feed", [
    _RSS.format(ns="", channel="", item="<foo><bar>unknown markup</bar></foo>"),
    _RSS.format(ns="", channel="", item='<title xmlns="urn:x">a title to feedparser</title>'),
    _RSS.format(ns=' xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"', channel="",
                item="<itunes:summary>becomes the summary</itunes:summary>"),
    _RSS.format(ns=' xmlns:media="http://search.yahoo.com/mrss/"', channel="",
                item="<media:title>media title replaces the title</media:title>"),
    # A picture's own title or description inside it sets the item's title_detail or summary.
    _RSS.format(ns=' xmlns:media="http://search.yahoo.com/mrss/"', channel="",
                item='<media:content url="http://x/a.jpg"><media:title>t</media:title>'
                     "</media:content>"),
    _RSS.format(ns=' xmlns:media="http://search.yahoo.com/mrss/"', channel="",
                item='<media:group><media:content url="http://x/a.jpg"/>'
                     "<media:description>d</media:description></media:group>"),
    # pubDate and atom:published are one field to feedparser: which wins depends on order.
    _RSS.format(ns=' xmlns:atom="http://www.w3.org/2005/Atom"', channel="",
                item="<pubDate>Tue, 10 Jun 2003 04:00:00 GMT</pubDate>"
                     "<atom:published>2003-06-11T00:00:00Z</atom:published>"),
    _RSS.format(ns="", channel="", item="<title>second title</title>"),
    _RSS.format(ns="", channel="", item="<description><p>markup, not text</p></description>"),
    _RSS.format(ns="", channel="", item="<source url='http://x/'>elsewhere</source>"),
    _RSS.format(ns="", channel="", item="<author>a</author><author>b</author>"),
    _RSS.format(ns="", channel="<textInput/>", item=""),
    _RSS.format(ns="", channel="", item="<description>&nbsp;</description>"),
    _RSS.format(ns="", channel="", item="").replace('"2.0"', '"0.91"'),
    _RSS.format(ns="", channel="", item="").replace("<item>", '<item lastmod="2003-01-01">'),
    _RSS.format(ns="", channel="", item="<unclosed>"),
    _RSS.format(ns="", channel="", item='<description mode="base64">eA==</description>'),
    _RSS.format(ns="", channel="", item='<title type="text/plain">typed</title>'),
    '<?xml version="1.0"?><!DOCTYPE rss SYSTEM "x.dtd">' + _RSS.format(ns="", channel="",
                                                                        item="")[21:],
    _ATOM.format(feed="", entry="<foo><bar/></foo>"),
    _ATOM.format(feed="", entry='<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">'
                 "x</div></content>"),
    _ATOM.format(feed="", entry='<content src="http://example.com/x"/>'),
    _ATOM.format(feed="", entry='<content type="application/octet-stream">eA==</content>'),
    _ATOM.format(feed="", entry='<summary mode="base64">eA==</summary>'),
    _ATOM.format(feed="", entry="<title>second</title>"),
    _ATOM.format(feed="", entry="<author><name>a</name></author><author><name>b</name></author>"),
    _ATOM.format(feed="", entry="<author><email>a@example.com</email></author>"),
    _ATOM.format(feed="", entry="<contributor><name>c</name></contributor>"),
    _ATOM.format(feed="", entry="<link>text link</link>"),
    _ATOM.format(feed="", entry='<link url="http://example.com/"/>'),
    _ATOM.format(feed="<entry><source/></entry>", entry=""),
    _ATOM.format(feed="", entry="").replace("<feed ", '<feed version="0.3" '),
    _ATOM.format(feed="", entry="").replace("2005/Atom", "2005/Atomic"),
])
def test_anything_unknown_goes_to_feedparser(feed: str) -> None:
    assert fastparse.parse(feed.encode()) is None


def test_pictures_take_the_fast_path() -> None:
    # Media RSS pictures, their credits and groups of them are stored by feedparser under keys
    # nothing reads (tests/data/parity/crafted/media*.xml prove the same stored entries).
    media = _RSS.format(
        ns=' xmlns:media="http://search.yahoo.com/mrss/"', channel="<cloud domain='x' port='80'/>",
        item='<media:content url="http://x/a.jpg" medium="image"/><media:thumbnail url="http://x/t"/>'
             '<media:group><media:content url="http://x/b.jpg"/><media:credit>c</media:credit>'
             "</media:group>")
    assert fastparse.parse(media.encode()) is not None


def test_known_feed_takes_the_fast_path() -> None:
    result = fastparse.parse(_RSS.format(ns="", channel="", item="").encode())
    assert result is not None
    assert result["feed"]["title"] == "T"
    assert result["entries"][0]["link"] == "g"
    atom = fastparse.parse(_ATOM.format(feed="", entry="").encode())
    assert atom is not None and atom["version"] == "atom10"
    assert atom["entries"][0]["title_detail"]["type"] == "text/plain"


@pytest.mark.parametrize("feed", [
    _RSS.format(ns="", channel='<site xmlns="com-wordpress:feed-additions:1">123</site>',
                item="<foo>kept by feedparser as foo, read by nobody</foo>"),
    _ATOM.format(feed="", entry='<yt:videoId xmlns:yt="http://www.youtube.com/xml/schemas/2015">'
                 "v</yt:videoId>"),
])
def test_elements_feedparser_only_stores_take_the_fast_path(feed: str,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    assert fastparse.parse(feed.encode()) is not None
    fast = parse_mod.parse_feed(URL, feed.encode(), {})
    monkeypatch.setattr(fastparse, "parse", lambda data: None)
    assert parse_mod.parse_feed(URL, feed.encode(), {}) == fast


def test_xml_base_skips_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[bytes] = []
    monkeypatch.setattr(fastparse, "parse", lambda data: calls.append(data))
    feed = _RSS.format(ns="", channel="", item="").replace(
        "<channel>", '<channel xml:base="http://example.com/">')
    parse_mod.parse_feed(URL, feed.encode(), {})
    assert calls == []
    parse_mod.parse_feed(URL, _RSS.format(ns="", channel="", item="").encode(), {})
    assert len(calls) == 1


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _dates() -> list[str]:
    rng = random.Random(16)
    zones = ["GMT", "+0000", "-0000", "+0100", "-0500", "+0530", "-0830", "+1400", "-1200",
             "+2359", "-2359", "EST", "PDT", "UT", "Z", "+01:00", "+2400"]
    out = [
        "Sun, 29 Feb 2004 12:00:00 GMT", "Sun, 29 Feb 2003 12:00:00 GMT",
        "Mon, 31 Apr 2003 00:00:00 GMT", "Mon, 00 Jan 2003 00:00:00 GMT",
        "Fri, 31 Dec 9999 23:59:59 -2359", "Sat, 01 Jan 1900 00:00:00 +0100",
        "Sat, 01 Jan 1899 00:00:00 GMT", "Mon, 01 Jan 1970 00:00:00 +0000",
        "Mon, 1 Jan 2024 10:00:00 GMT", "Mon, 01 Jan 24 10:00:00 GMT",
        "Mon, 01 Jan 2024 10:00 GMT", "Mon, 01 Jan 2024 24:00:00 GMT",
        "Mon, 01 Jan 2024 23:60:00 GMT", "Mon, 01 Jan 2024 23:59:60 GMT",
        "mon, 01 jan 2024 10:00:00 gmt", "Mon,01 Jan 2024 10:00:00 GMT",
        "Xyz, 01 Jan 2024 10:00:00 GMT", "01 Jan 2024 10:00:00 GMT", "",
    ]
    for _ in range(20000):
        out.append(
            f"{rng.choice(_DAYS)}, {rng.randint(0, 32):02d} {rng.choice(_MONTHS)} "
            f"{rng.choice([rng.randint(1890, 2100), rng.randint(1, 9999)])} "
            f"{rng.randint(0, 24):02d}:{rng.randint(0, 60):02d}:{rng.randint(0, 60):02d} "
            f"{rng.choice(zones)}"
        )
    return out


def test_rfc822_shortcut_matches_feedparser_on_many_dates() -> None:
    shortcut = 0
    for value in _dates():
        ours = fastparse.parse_date(value)
        theirs = _parse_date(value)
        assert ours == theirs, value
        if fastparse._RFC822.fullmatch(value):
            shortcut += 1
    assert shortcut > 5000  # the shortcut itself was exercised, not only the fallback


def test_rfc822_shortcut_is_a_struct_time_in_utc() -> None:
    parsed = fastparse.parse_date("Sun, 01 Jan 2006 23:59:59 -0830")
    assert parsed == time.struct_time((2006, 1, 2, 8, 29, 59, 0, 2, 0))


_PICTURES = [
    '<media:content url="http://x/{n}.jpg" medium="image"/>', '<media:thumbnail url="http://x/t{n}"/>',
    "<media:thumbnail>http://x/tt{n}.jpg</media:thumbnail>", "<media:credit>C{n}</media:credit>",
    '<media:group><media:content url="http://x/g{n}.jpg"/><media:credit>g</media:credit>'
    "</media:group>", "<media:category>cat{n}</media:category>", "<media:keywords>a, b{n}</media:keywords>",
    "<media:rating>adult</media:rating>", '<media:content url="http://x/{n}.mp4"> </media:content>',
    '<media:content url="http://x/{n}.jpg"><media:title>T{n}</media:title></media:content>',
    '<media:content url="http://x/{n}.jpg"><media:description>D{n}</media:description>'
    "</media:content>", "<atom:published>2025-06-1{n}T08:30:00Z</atom:published>",
    "<pubDate>Tue, 10 Jun 2025 04:00:00 GMT</pubDate>", '<media:player url="http://x/p{n}"/>',
]


def test_pictures_anywhere_in_an_item_store_what_feedparser_reads(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Pictures, credits, groups and dates in random order and number, before and after the
    # title: whatever the fast path takes, it must store what feedparser alone would.
    rng = random.Random(5)
    taken = 0
    for i in range(150):
        items = []
        for j in range(rng.randint(1, 3)):
            parts = [f"<title>Title {i}.{j}</title>", f"<link>https://e.com/{i}/{j}</link>",
                     f"<description>&lt;p&gt;d{j}&lt;/p&gt;</description>"]
            parts += [rng.choice(_PICTURES).format(n=j) for _ in range(rng.randint(0, 4))]
            rng.shuffle(parts)
            items.append("<item>" + "".join(parts) + "</item>")
        feed = ('<?xml version="1.0"?><rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"'
                ' xmlns:atom="http://www.w3.org/2005/Atom"><channel><title>F</title>'
                f"<link>https://e.com/</link>{''.join(items)}</channel></rss>").encode()
        taken += fastparse.parse(feed) is not None
        fast = parse_mod.parse_feed(URL, feed, {})
        with monkeypatch.context() as m:
            m.setattr(fastparse, "parse", lambda data: None)
            assert parse_mod.parse_feed(URL, feed, {}) == fast, feed
    assert taken > 50  # the fast path itself was exercised
