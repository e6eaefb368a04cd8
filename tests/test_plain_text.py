"""Plain-text fields leave curator as text no reader can take for markup or for something else.

Titles from hostile sources at any depth of escaping, bidi overrides and zero-width characters,
topic titles as categories: polled from a real HTTP server, published, parsed back by feedparser.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import feedparser
import pytest

from curator.config import load
from curator.exceptions import ConfigError
from curator.text import strip_invisible

ATOM = "{http://www.w3.org/2005/Atom}"
# What an HTML parser takes for the start of a tag, a comment or a processing instruction.
TAG_OPEN = re.compile(r"<[A-Za-z/!?]")

PAYLOADS = [
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    '<a href="javascript:alert(1)">click</a>',
    "<svg/onload=alert(1)>",
    "<!--x--><iframe src=javascript:alert(1)>",
    "<![CDATA[<img src=x onerror=alert(1)>]]>",
]


def _named(text: str) -> str:
    return html.escape(text, quote=False)


def _numeric(text: str) -> str:
    return text.replace("&", "&#38;").replace("<", "&#60;").replace(">", "&#x3E;")


def _legacy(text: str) -> str:
    # HTML decodes &lt and &gt without the semicolon, and browsers do.
    return text.replace("&", "&amp;").replace("<", "&lt").replace(">", "&gt")


def nestings() -> list[str]:
    """Every payload escaped 0 to 5 times, by every escaping and by a mix of them."""
    out = []
    for payload in PAYLOADS:
        for depth in range(6):
            for escape in (_named, _numeric, _legacy):
                text = payload
                for level in range(depth):
                    text = (escape if level % 2 == 0 else _named)(text)
                out.append(text)
    return list(dict.fromkeys(out))


def rss_source(titles: list[str]) -> str:
    """An RSS 2.0 source whose item titles carry `titles` as their text (escaped once for XML)."""
    items = "".join(
        f"<item><title>{_named(t)} story {n}</title><link>https://news.example.org/{n}</link>"
        f"<guid>g{n}</guid></item>" for n, t in enumerate(titles))
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Src</title>'
            f"<link>https://news.example.org/</link><description>d</description>{items}"
            "</channel></rss>")


def atom_source(titles: list[str], kind: str) -> str:
    entries = "".join(
        f'<entry><title type="{kind}">{_named(t)} story {n}</title><id>urn:x:{n}</id>'
        f'<link href="https://atom.example.org/{n}"/><updated>2026-11-20T10:00:00Z</updated>'
        "</entry>" for n, t in enumerate(titles))
    return ('<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            "<title>Atom src</title><id>urn:x:feed</id><updated>2026-11-20T10:00:00Z</updated>"
            f"{entries}</feed>")


def publish_all(cli: Any) -> tuple[bytes, bytes]:
    cli("poll", "--json")
    candidates = cli("candidates", "--json", "--limit", "1000")
    for c in candidates:
        cli("feature", str(c["id"]), "--note", "n")
    out = cli("publish", "--json")
    assert out["items"] == len(candidates)
    return Path(out["rss"]).read_bytes(), Path(out["atom"]).read_bytes()


def assert_plain(title: str) -> None:
    assert not TAG_OPEN.search(title), title
    assert not TAG_OPEN.search(html.unescape(title)), title


@pytest.mark.parametrize("kind", ["rss", "atom-html", "atom-text"])
def test_no_published_title_is_markup_whatever_the_nesting(server: Any, make_cli: Any,
                                                            clock: Any, kind: str) -> None:
    titles = nestings()
    if kind == "rss":
        url = server.add("/src.xml", rss_source(titles))
    else:
        url = server.add("/src.xml", atom_source(titles, kind.split("-")[1]),
                         content_type="application/atom+xml")
    cli = make_cli([{"url": url, "name": "Src"}], [{"name": "stories", "any": ["story"]}],
                   output={"max_items": 1000})
    rss, atom = publish_all(cli)
    for raw in (rss, atom):
        parsed = feedparser.parse(raw)
        assert parsed.bozo == 0
        # A title whose text is all inside <script> or <iframe> has no words left to match.
        assert len(titles) - 4 <= len(parsed.entries) <= len(titles)
        for entry in parsed.entries:
            assert_plain(entry.title)
    # What the XML itself says, for readers that do not go through feedparser's own cleaning.
    for element in ET.fromstring(rss).iter("title"):
        assert_plain(element.text or "")
    for element in ET.fromstring(atom).iter(f"{ATOM}title"):
        assert_plain(element.text or "")


def test_plain_titles_keep_their_text(server: Any, make_cli: Any, clock: Any) -> None:
    """Reducing markup leaves ordinary punctuation alone: no double escaping, nothing lost."""
    titles = ["AT&T & Verizon", "a < b, 3 > 2", "<3 for moderators", "Fish &amp; chips"]
    url = server.add("/src.xml", rss_source(titles))
    cli = make_cli([{"url": url}], [{"name": "stories", "any": ["story"]}])
    rss, atom = publish_all(cli)
    for raw in (rss, atom):
        got = sorted(e.title for e in feedparser.parse(raw).entries)
        assert got == sorted(["AT&T & Verizon story 0", "a < b, 3 > 2 story 1",
                              "<3 for moderators story 2", "Fish & chips story 3"])


# ------------------------------------------------------------------ invisible characters

BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"]
ZERO_WIDTH = ["\u200b", "\u2060", "\ufeff", "\u200c", "\u200d"]


@pytest.mark.parametrize("char", BIDI + ZERO_WIDTH)
def test_strip_invisible(char: str) -> None:
    assert strip_invisible(f"Sec{char}tion 230 fdp.exe{char}") == "Section 230 fdp.exe"


@pytest.mark.parametrize("text", [
    "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # Persian needs its ZWNJ
    "\U0001f468\u200d\U0001f469\u200d\U0001f467",  # a family emoji is one ZWJ sequence
    "\u05e9\u05dc\u05d5\u05dd \u200fabc",  # right-to-left marks stay: they reorder nothing
])
def test_joiners_inside_scripts_and_marks_stay(text: str) -> None:
    assert strip_invisible(text) == text


def test_invisible_characters_never_reach_candidates_or_feeds(server: Any, make_cli: Any,
                                                              clock: Any) -> None:
    spoof = "Invoice \u202efdp.exe story\u200b"
    body = rss_source([spoof]).replace("<title>Src</title>", "<title>Src\u2067 feed</title>")
    url = server.add("/src.xml", body)
    cli = make_cli([{"url": url, "name": "The\u200b \u202eSource"}],
                   [{"name": "stories", "title": "Sto\u2066ries", "any": ["story"]}])
    cli("poll", "--json")
    [cand] = cli("candidates", "--json")
    assert cand["title"] == "Invoice fdp.exe story story 0"
    assert cand["source"] == "The Source"
    cli("feature", str(cand["id"]), "--note", "Read \u202eit\u200b now")
    shown = cli("show", str(cand["id"]), "--json")
    assert shown["note"] == "Read it now"
    out = cli("publish", "--json")
    for path in (out["rss"], out["atom"]):
        text = Path(path).read_text(encoding="utf-8")
        assert not [c for c in BIDI + ZERO_WIDTH if c in text], path
        entry = feedparser.parse(Path(path).read_bytes()).entries[0]
        assert entry.title == "Invoice fdp.exe story story 0"
        assert [t.term for t in entry.tags] == ["Stories"]


def test_a_user_agent_with_a_line_break_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(
        "output: {title: T, link: 'https://e.example/', description: d}\n"
        "poll:\n"
        "  interval: 30m\n"
        '  user_agent: "curator/1.0\\r\\nX-Injected: yes"\n'
        "sources: []\n", encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load(path)
    assert e.value.key == "poll.user_agent" and e.value.line == 4
    path.write_text(path.read_text().replace("\\r\\nX-Injected: yes", " (+https://e.example/)"))
    assert load(path).poll.user_agent == "curator/1.0 (+https://e.example/)"


# ------------------------------------------------------------------ topic titles as categories


def test_categories_are_topic_titles_with_the_slug_in_the_scheme(server: Any, make_cli: Any,
                                                                  clock: Any) -> None:
    url = server.add("/src.xml", rss_source(["Section 230"]))
    cli = make_cli([{"url": url}], [
        {"name": "platform-accountability", "title": "Platform accountability",
         "any": ["Section 230"]},
        {"name": "stories", "any": ["story"]},
    ])
    rss, atom = publish_all(cli)
    for raw in (rss, atom):
        tags = feedparser.parse(raw).entries[0].tags
        assert sorted(t.term for t in tags) == ["Platform accountability", "stories"]
        schemes = {t.term: t.scheme for t in tags}
        assert schemes["Platform accountability"] == (
            "https://watch.example.org/topics/platform-accountability/")
    # Renaming a topic is an output change: `run` and the desk see the feed is out of date.
    config = cli.config.read_text().replace("Platform accountability", "Accountability")
    cli.config.write_text(config)
    assert cli("publish", "--json")["changed"] is True


def test_editor_names_are_printable(make_cli: Any, clock: Any, monkeypatch: Any) -> None:
    cli = make_cli([])
    for name in ("ma\u202eria", "sam\u200b", "bell\x07"):
        result = cli("editor", "add", name, "--password-stdin", input="long enough password\n",
                     code=2)
        assert "printable" in result.stderr
    cli("editor", "add", "maría", "--password-stdin", input="long enough password\n")
    assert [e["name"] for e in cli("editor", "list", "--json")] == ["maría"]
    # Edits from the command line are recorded under a name that shows as it is.
    monkeypatch.setenv("CURATOR_EDITOR", "o\u202elga\r\n")
    from curator.cli import editor_name

    assert editor_name() == "olga"
