"""`curator add URL`: an article page served on 127.0.0.1, fetched through the poll's fetcher,
its metadata read with beautifulsoup4 (OpenGraph, Twitter card, JSON-LD, plain HTML) into a
candidate in a real SQLite database; bad pages give one line and store nothing."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from conftest import Cli, write_config

from curator.article import ArticleError, read_article

OG = """<!doctype html><html><head>
<title>Ignored &lt;title&gt; | Site</title>
<meta property="og:title" content="Senators question &lt;b&gt;Section 230&lt;/b&gt; shield">
<meta property="og:description" content="A hearing on platform liability ran for five hours.">
<meta property="og:site_name" content="Policy Desk">
<meta property="og:url" content="https://Policy.example.com/2026/11/section-230?utm_source=x">
<meta property="article:published_time" content="2026-11-24T09:30:00-05:00">
<link rel="canonical" href="/2026/11/section-230">
</head><body><p>Body.</p></body></html>"""

TWITTER = """<html><head><meta name="twitter:title" content="Twitter title here">
<meta name="twitter:description" content="Twitter description."></head><body></body></html>"""

JSON_LD = """<html><head><script type="application/ld+json">
{"@context": "https://schema.org", "@graph": [{"@type": "WebSite", "name": "x"},
 {"@type": ["NewsArticle"], "headline": "Regulators sue over merger",
  "description": "The <i>merger</i> of two chipmakers.", "datePublished": "2026-11-20",
  "publisher": {"@type": "Organization", "name": "Ledger News"},
  "mainEntityOfPage": {"@id": "https://ledger.example.net/merger"}}]}
</script><script type="application/ld+json">{broken</script></head><body></body></html>"""

PLAIN = """<html><head><title>  Plain page title  </title></head><body><nav><p>Home</p></nav>
<article><p>By A. Writer</p><p>The first real paragraph of the article, long enough to count as
its summary.</p><p>The second.</p></article></body></html>"""

HOSTILE = """<html><head>
<meta property="og:title" content="<script>alert(1)</script>Real headline<img src=x onerror=alert(2)>">
<meta property="og:description" content="javascript:alert(3)">
<link rel="canonical" href="javascript:alert(4)">
<meta property="og:url" content="data:text/html,x">
</head><body></body></html>"""

BASE = "https://site.example.org/a/page"


def test_opengraph_wins_and_everything_is_plain_text() -> None:
    a = read_article(BASE, OG.encode(), {"content-type": "text/html; charset=utf-8"})
    assert a.title == "Senators question Section 230 shield"
    assert a.description == "A hearing on platform liability ran for five hours."
    assert a.site_name == "Policy Desk"
    assert a.url == "https://site.example.org/2026/11/section-230"  # canonical link, resolved
    assert a.published is not None and a.published.isoformat() == "2026-11-24T14:30:00+00:00"


def test_twitter_card_json_ld_and_plain_html() -> None:
    t = read_article(BASE, TWITTER.encode(), {"content-type": "text/html"})
    assert (t.title, t.description, t.site_name, t.url) == (
        "Twitter title here", "Twitter description.", "site.example.org", BASE)
    j = read_article(BASE, JSON_LD.encode(), {"content-type": "text/html"})
    assert (j.title, j.description, j.site_name, j.url) == (
        "Regulators sue over merger", "The merger of two chipmakers.", "Ledger News",
        "https://ledger.example.net/merger")
    assert j.published is not None and j.published.date().isoformat() == "2026-11-20"
    p = read_article(BASE, PLAIN.encode(), {})
    assert p.title == "Plain page title"
    assert p.description.startswith("The first real paragraph of the article")


def test_hostile_metadata_is_text_and_unsafe_urls_are_ignored() -> None:
    a = read_article(BASE, HOSTILE.encode(), {"content-type": "text/html"})
    assert a.title == "Real headline"
    assert a.description == "javascript:alert(3)"  # harmless as text: it is never a link
    assert a.url == BASE


@pytest.mark.parametrize("body,headers,message", [
    (b"%PDF-1.7 ...", {"content-type": "application/pdf"}, "not an HTML page (the server says application/pdf)"),
    (b'{"a": 1}', {}, "not an HTML page"),
    (b"<html><head></head><body><div>nothing</div></body></html>", {"content-type": "text/html"},
     "no title found"),
])
def test_pages_that_cannot_be_added(body: bytes, headers: dict[str, str], message: str) -> None:
    with pytest.raises(ArticleError) as info:
        read_article(BASE, body, headers)
    assert message in str(info.value) and "\n" not in str(info.value)


# ------------------------------------------------------------------ end to end


def counts(config: Path) -> tuple[int, int, int]:
    db = sqlite3.connect(config.parent / "db" / "curator.db")
    try:
        return tuple(db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # type: ignore[return-value]
                     for t in ("sources", "entries", "candidates"))
    finally:
        db.close()


@pytest.fixture
def cli(tmp_path: Path, clock: Any) -> Cli:
    return Cli(write_config(tmp_path, [], poll={"timeout": "1s"}))


def test_add_makes_a_candidate_and_note_features_it(server: Any, cli: Cli) -> None:
    url = server.add("/2026/11/section-230?utm_source=x", OG.replace(
        "https://Policy.example.com", server.url("")), content_type="text/html; charset=utf-8")
    cand = cli("add", url, "--json")
    assert cand["title"] == "Senators question Section 230 shield"
    assert cand["url"] == server.url("/2026/11/section-230")  # canonical, tracking dropped
    assert cand["source"] == "Policy Desk" and cand["sources"] == ["Policy Desk"]
    assert cand["status"] == "new" and cand["published"] == "2026-11-24T14:30:00Z"
    assert cand["topics"] == ["platform-accountability"] or cand["topics"] == []
    shown = cli("show", str(cand["id"]), "--json")
    assert "five hours" in json.dumps(shown)
    # Again, with a note: the same candidate, now featured; nothing stored twice.
    before = counts(cli.config)
    again = cli("add", url, "--note", "Why it *matters*.", "--json")
    assert again["id"] == cand["id"] and again["status"] == "featured"
    assert again["note"] == "Why it *matters*."
    assert counts(cli.config) == before
    # Published with the description quoted and the site named.
    cli("publish", "--json")
    feed = json.loads((cli.config.parent / "public/feed.json").read_bytes())
    body = feed["items"][0]["content_html"]
    assert "five hours" in body and "Read the full article at Policy Desk" in body
    assert feed["items"][0]["external_url"] == cand["url"]


def test_add_a_page_without_metadata_uses_title_and_first_paragraph(server: Any, cli: Cli) -> None:
    url = server.add("/plain", PLAIN, content_type="text/html")
    out = cli("add", url)
    assert "Plain page title" in out.output
    cand = cli("candidates", "--json", "--status", "all")[0]
    assert cand["source"] == "127.0.0.1" and cand["topics"] == []


@pytest.mark.parametrize("case", ["pdf", "huge", "no-title", "404", "timeout", "not-a-url"])
def test_bad_pages_give_one_line_and_store_nothing(server: Any, cli: Cli, case: str) -> None:
    routes = {
        "pdf": ("/doc.pdf", {"body": b"%PDF-1.7", "content_type": "application/pdf"}),
        "huge": ("/huge", {"body": b"<html><title>x</title>" + b"a" * 1_100_000,
                           "content_type": "text/html"}),
        "no-title": ("/empty", {"body": "<html><body><div>x</div></body></html>",
                                "content_type": "text/html"}),
        "404": ("/gone", {"body": b"", "status": 404, "content_type": "text/html"}),
        "timeout": ("/slow", {"body": OG, "content_type": "text/html", "delay": 2.0}),
    }
    before = counts(cli.config) if (cli.config.parent / "db" / "curator.db").exists() else None
    if case == "not-a-url":
        result = cli("add", "javascript:alert(1)", code=2)
    else:
        path, kw = routes[case]
        result = cli("add", server.add(path, **kw), code=1)
    # (The test server's own traceback for a reset connection may share stderr; not ours.)
    lines = [line for line in result.stderr.splitlines() if line.startswith("curator")]
    assert len(lines) == 1 and "error" in lines[0], result.stderr
    assert counts(cli.config)[1:] == (0, 0) and (before is None or counts(cli.config) == before)


def test_a_redirect_to_a_private_address_is_refused(server: Any, tmp_path: Path,
                                                     clock: Any) -> None:
    # With the private-address rule on, even a loopback server's own redirect is refused; the
    # first hop is refused too, so serve nothing else: the rule is what stops it.
    cli = Cli(write_config(tmp_path, [], poll={"block_private_addresses": True}))
    url = server.add("/article", OG, content_type="text/html")
    result = cli("add", url, code=1)
    assert "private" in result.stderr.lower() or "loopback" in result.stderr.lower()
    assert counts(cli.config)[1:] == (0, 0)


# ------------------------------------------------------------------ the desk's form and bookmarklet


def test_the_desk_adds_by_url_with_csrf_and_a_bookmarklet(server: Any, tmp_path: Path) -> None:
    import html as html_mod
    import re

    from test_web import build_desk, login, token_from

    desk = build_desk(tmp_path)
    url = server.add("/story", OG.replace("https://Policy.example.com", server.url("")),
                     content_type="text/html")
    anon = desk.app.test_client()
    assert anon.get("/add").status_code == 302  # editors only
    client = desk.app.test_client()
    login(client)
    before = counts(desk.config.path)
    # The bookmarklet's GET fills the form in and adds nothing.
    page = client.get("/add", query_string={"url": url})
    assert page.status_code == 200 and f'value="{url}"' in page.text
    assert counts(desk.config.path) == before
    bookmarklet = html_mod.unescape(re.search(r'href="(javascript:[^"]+)" data-bookmarklet',
                                              page.text).group(1))
    assert bookmarklet == ('javascript:location.href="http://localhost/add?url="'
                           "+encodeURIComponent(location.href)")
    # Without the CSRF token: refused, nothing added.
    assert client.post("/add", data={"url": url}).status_code in (400, 403)
    assert counts(desk.config.path) == before
    # A page that cannot be added: the form again with one line saying why.
    bad = server.add("/doc.pdf", b"%PDF", content_type="application/pdf")
    resp = client.post("/add", data={"url": bad, "csrf_token": token_from(page.text)})
    assert resp.status_code == 400 and "not an HTML page" in resp.text
    assert counts(desk.config.path) == before
    # With a note: featured, and the candidate page opens.
    resp = client.post("/add", data={"url": url, "note": "Worth *reading*.",
                                     "csrf_token": token_from(page.text)})
    assert resp.status_code == 302 and "/c/" in resp.headers["Location"]
    shown = client.get(resp.headers["Location"]).text
    assert "Senators question Section 230 shield" in shown and "Policy Desk" in shown
