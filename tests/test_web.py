"""The editors' desk through Flask's test client: login, CSRF, escaping, flows, feeds, headers."""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from conftest import DATA, FakeClock, write_config
from flask import Flask
from flask.testing import FlaskClient

from curator import config as config_mod
from curator import passwords
from curator.clock import iso
from curator.config import Config
from curator.core import Curator
from curator.match import Matcher
from curator.parse import parse_feed
from curator.polltypes import EntryData
from curator.web import create_app, make_server

PASSWORD = "correct horse battery"
OTHER_PASSWORD = "another long password"
WATCHDOG = "https://feeds.example.org/watchdog.xml"
LEDGER = "https://news.example.com/ledger.rss"
HOSTILE = "https://hostile.example.org/feed.xml"
RAW = "https://raw.example.net/feed.xml"
START = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)


@dataclass
class Desk:
    """A desk on a real temp database with a few candidates, two editors and a fake clock."""

    app: Flask
    config: Config
    clock: FakeClock
    ids: dict[str, int]
    titles: list[str]

    def curator(self) -> Curator:
        return Curator(self.config, now=self.clock)

    def candidate(self, cid: int) -> Any:
        c = self.curator()
        try:
            return c.candidate(cid)
        finally:
            c.close()

    def snapshot(self) -> Any:
        """Everything an action could change: candidates, review log, sources, feed files."""
        c = self.curator()
        try:
            rows = [(r.id, r.status, r.note, len(r.history))
                    for r in (c.candidate(i) for i in sorted(self.ids.values()))]
            sources = [(s.url, s.disabled, s.failures) for s in c.store.sources()]
            files = [p.exists() and p.read_bytes() for p in (self.config.output.rss,
                                                             self.config.output.atom)]
            return rows, sources, files, self.activity()
        finally:
            c.close()

    def activity(self) -> list[tuple[Any, ...]]:
        """The activity log (enables and publishes), oldest first."""
        c = self.curator()
        try:
            return c.store.conn.execute(
                "SELECT action, source_id, editor, at, detail FROM activity_log ORDER BY id"
            ).fetchall()
        finally:
            c.close()


def _entry(key: str, url: str, title: str, text: str, published: datetime,
           summary: str | None = None) -> EntryData:
    return EntryData(key=key, url=url, link=url, title=title,
                     summary=summary if summary is not None else f"<p>{text}</p>", content="",
                     text=text, published=published)


@functools.cache
def stored_hash(password: str) -> str:
    """An editor's stored hash as `editor add` makes it (werkzeug's salted scrypt), made once per
    test process: every desk has the same two editors, and each hash costs about 0.13 s of CPU.
    Logins still run the full check on it; tests of the hashing itself make their own."""
    return passwords.hash_password(password)


def build_desk(tmp_path: Path, extra_new: int = 0, database: Path | str | None = None) -> Desk:
    """Write feeds.yaml, store entries (hostile ones through the real parser) and add editors."""
    path = write_config(tmp_path, database=str(database or "db/curator.db"), sources=[
        {"url": WATCHDOG, "name": "Watchdog Weekly"},
        {"url": LEDGER, "name": "Tech Ledger"},
        {"url": HOSTILE, "name": "Hostile Feed"},
        {"url": RAW, "name": "Raw Wire"},
    ])
    config = config_mod.load(path)
    clock = FakeClock(START)
    c = Curator(config, now=clock)
    matcher = Matcher(config.topics)
    try:
        c.sync_sources()
        sid = {s.url: s.id for s in c.store.sources()}

        def save(source: str, entries: list[EntryData]) -> None:
            topics = [matcher.match(e.title, e.text) for e in entries]
            c.store.save_entries(sid[source], entries, topics, clock())

        h = timedelta(hours=1)
        s230 = _entry("w1", "https://example.org/news/section-230",
                      "Senators push Section 230 reform after hearing",
                      "Lawmakers grilled platforms on content moderation and Section 230 "
                      "liability during a long hearing on Tuesday.", START - 5 * h)
        geofence = _entry("w2", "https://example.org/news/geofence",
                          "Court limits geofence warrants",
                          "A federal court said geofence warrants sweep in too many people.",
                          START - 3 * h)
        save(WATCHDOG, [s230, geofence])
        save(LEDGER, [
            _entry("l1", s230.url or "", "Section 230 reform: what senators want",
                   "A second take on the Section 230 hearing.", START - 4 * h),
            _entry("l2", "https://example.com/merger",
                   "Regulators open antitrust review of chip merger",
                   "The antitrust review covers the proposed merger of two chipmakers.",
                   START - 2 * h),
        ])
        # The hostile feed goes through the real parser, as a poll would store it.
        parsed = parse_feed(HOSTILE, (DATA / "feeds" / "hostile.xml").read_bytes(),
                            {"content-type": "application/rss+xml"})
        save(HOSTILE, list(parsed.entries))
        # And an entry stored with raw, unsanitised HTML and markup in its plain-text fields:
        # whatever reaches the database, the desk must show it as text.
        save(RAW, [_entry(
            "r1", "https://raw.example.net/csam-story",
            "<script>alert('title')</script> CSAM <b>report</b>",
            "<img src=x onerror=alert('text')> CSAM scanning <a href=\"javascript:alert(1)\">x</a>",
            START - 1 * h,
            summary="<script>alert('summary')</script><img src=x onerror=alert(2)>"
                    "<iframe src=\"https://evil.example/\"></iframe>")])
        for i in range(extra_new):
            save(WATCHDOG, [_entry(f"x{i}", f"https://example.org/more/{i}",
                                   f"Antitrust filler story {i:02d}",
                                   "Another antitrust item.", START - timedelta(days=2, hours=i))])
        for name, password in (("maria", PASSWORD), ("sam", OTHER_PASSWORD)):
            c.store.add_editor(name, stored_hash(password), clock())
        ids = {}
        for row in c.candidates(status="all", limit=None):
            ids[row.url] = row.id
        titles = [r.title for r in c.candidates(status="all", limit=None)]
    finally:
        c.close()
    app = create_app(config, now=clock)
    app.config["TESTING"] = True
    named = {
        "s230": ids["https://example.org/news/section-230"],
        "geofence": ids["https://example.org/news/geofence"],
        "merger": ids["https://example.com/merger"],
        "hostile": ids["https://hostile.example.org/trafficking-ring"],
        "raw": ids["https://raw.example.net/csam-story"],
    }
    return Desk(app=app, config=config, clock=clock, ids=named, titles=titles)


@pytest.fixture
def desk(tmp_path: Path, backend: Path | str) -> Desk:
    """This module's desk on each backend (the other desk tests take conftest's, on SQLite)."""
    return build_desk(tmp_path, database=backend)


@contextmanager
def serving(desk: Desk, **kw: Any) -> Iterator[str]:
    """The desk on the production server (waitress) on 127.0.0.1; yields its base URL."""
    kw.setdefault("threads", 4)
    server = make_server(desk.config, "127.0.0.1", 0, now=desk.clock, **kw)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        # Closed from inside the server's own loop: closing its socket from this thread while
        # the loop sits in select() can make the loop thread fail.
        # If the loop had already ended, it closed its trigger (seen once under a full suite):
        # nothing is left to wake, and what the test asserted stands.
        with contextlib.suppress(OSError):
            server.trigger.pull_trigger(server.close)
        thread.join(timeout=5)
        server.task_dispatcher.shutdown()


def token_from(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF token in the page"
    return m.group(1)


def login(client: FlaskClient, name: str = "maria", password: str = PASSWORD,
          **kw: Any) -> Any:
    page = client.get("/login")
    return client.post("/login", data={"username": name, "password": password,
                                       "csrf_token": token_from(page.text)}, **kw)


def token(client: FlaskClient, path: str = "/") -> str:
    return token_from(client.get(path).text)


def post(client: FlaskClient, path: str, data: dict[str, str] | None = None, **kw: Any) -> Any:
    """A POST as the desk's own forms send it: with the page's CSRF token."""
    return client.post(path, data={"csrf_token": token(client), **(data or {})}, **kw)


def leaks(desk: Desk, body: str) -> list[str]:
    """Candidate titles (or fragments of them) that appear in a response body."""
    return [t for t in desk.titles if t[:24] in body]


# ------------------------------------------------------------------ access


def post_routes(desk: Desk) -> list[tuple[str, dict[str, str]]]:
    cid = desk.ids["s230"]
    return [
        (f"/c/{cid}/feature", {"note": "A *fine* note"}),
        (f"/c/{cid}/reject", {}),
        (f"/c/{desk.ids['merger']}/reset", {}),
        ("/preview", {"note": "**hi**"}),
        ("/publish", {}),
        ("/sources/enable", {"source": WATCHDOG}),
        ("/e/1/promote", {}),
        ("/logout", {}),
    ]


def test_every_page_needs_login_and_leaks_nothing(desk: Desk) -> None:
    anon = desk.app.test_client()
    cid = desk.ids["s230"]
    for path in ["/", f"/c/{cid}", "/published", "/sources", "/?topic=antitrust&q=chip",
                 "/search?q=section",
                 f"/c/{cid}/feature", "/no/such/page", "/c/999999"]:
        resp = anon.get(path)
        assert resp.status_code == 302, path
        assert resp.headers["Location"].startswith("/login?next="), path
        assert not leaks(desk, resp.text), path
    for path, data in post_routes(desk):
        resp = anon.post(path, data=data)
        assert resp.status_code == 401, path
        assert not leaks(desk, resp.text), path
    # What is open to everyone.
    assert anon.get("/login").status_code == 200
    assert anon.get("/static/desk.css").status_code == 200
    assert anon.get("/static/desk.js").status_code == 200
    assert anon.get("/feed.xml").status_code == 404  # not published yet: still not a redirect
    assert anon.get("/atom.xml").status_code == 404
    assert not leaks(desk, anon.get("/login").text)


def test_anonymous_posts_change_nothing_even_with_a_token(desk: Desk) -> None:
    anon = desk.app.test_client()
    before = desk.snapshot()
    csrf = token_from(anon.get("/login").text)  # a valid token for an anonymous session
    for path, data in post_routes(desk):
        resp = anon.post(path, data={"csrf_token": csrf, **data})
        assert resp.status_code == 401, path
    assert desk.snapshot() == before


def test_login_then_the_queue_lists_new_candidates(desk: Desk) -> None:
    c = desk.app.test_client()
    resp = login(c)
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    page = c.get("/").text
    assert "Senators push Section 230 reform after hearing" in page
    assert "Regulators open antitrust review of chip merger" in page
    assert "maria" in page
    # After logout the desk is closed again.
    resp = c.post("/logout", data={"csrf_token": token_from(page)})
    assert resp.status_code == 302
    assert c.get("/").status_code == 302


def test_login_returns_to_the_page_asked_for_but_never_off_site(desk: Desk) -> None:
    c = desk.app.test_client()
    cid = desk.ids["geofence"]
    first = c.get(f"/c/{cid}")
    target = first.headers["Location"]
    page = c.get(target).text
    assert f'value="/c/{cid}"' in page
    resp = c.post("/login", data={"username": "maria", "password": PASSWORD, "next": f"/c/{cid}",
                                  "csrf_token": token_from(page)})
    assert resp.headers["Location"] == f"/c/{cid}"
    for evil in ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x"]:
        c2 = desk.app.test_client()
        resp = login(c2, query_string={"next": evil})
        assert resp.headers["Location"] == "/", evil


def test_wrong_password_slows_retries(desk: Desk) -> None:
    throttle = desk.app.extensions["curator_desk"].throttle
    fake = [1000.0]
    throttle.clock = lambda: fake[0]
    c = desk.app.test_client()
    resp = login(c, password="wrong password!")
    assert resp.status_code == 200
    assert "do not match" in resp.text
    # Straight away, even the right password is refused until the back-off has passed.
    resp = login(c)
    assert resp.status_code == 429
    assert resp.headers["Retry-After"] == "1"
    assert "Try again in 1 second" in resp.text
    assert c.get("/").status_code == 302
    # Another address is not held back by someone else's failures.
    other = desk.app.test_client()
    assert login(other, environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 302
    # The delay doubles with each failure.
    fake[0] += 1.1
    assert login(c, password="wrong again!!").status_code == 200
    fake[0] += 1.1
    resp = login(c)
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "1"
    fake[0] += 1.0
    resp = login(c)
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    # A success clears the record.
    fresh = desk.app.test_client()
    assert login(fresh).status_code == 302


# What it tests does not depend on the database.
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_unknown_names_are_throttled_and_as_slow_as_known_ones(desk: Desk,
                                                               monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    # "As slow" is the same work, not a stopwatch: every check goes through werkzeug's real
    # check_password_hash, recorded here with the cost parameters of the hash it was run on.
    import werkzeug.security

    real = werkzeug.security.check_password_hash
    checks: list[tuple[str, str, bool]] = []

    def check(pwhash: str, password: str) -> bool:
        ok = real(pwhash, password)
        checks.append((pwhash.split("$", 1)[0], password, ok))
        return ok

    monkeypatch.setattr(werkzeug.security, "check_password_hash", check)
    throttle = desk.app.extensions["curator_desk"].throttle
    fake = [1000.0]
    throttle.clock = lambda: fake[0]  # the back-off cannot run out while a loaded machine hashes
    c = desk.app.test_client()
    assert login(c, name="nobody", password="whatever123").status_code == 200
    c2 = desk.app.test_client()
    assert login(c2, name="maria", password="whatever123",
                 environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code == 200
    # One full check each, on a hash of the same method and cost as an editor's stored one.
    cur = desk.curator()
    stored = cur.store.editor_hash("maria")
    cur.close()
    assert stored is not None
    method = stored.split("$", 1)[0]
    assert method.startswith(("scrypt:", "pbkdf2:"))
    assert checks == [(method, "whatever123", False), (method, "whatever123", False)]
    # The unknown name is throttled as a known one would be: refused before any hashing.
    assert login(c, name="nobody", password="whatever123").status_code == 429
    assert len(checks) == 2


def test_login_without_csrf_token_is_refused(desk: Desk) -> None:
    c = desk.app.test_client()
    c.get("/login")
    resp = c.post("/login", data={"username": "maria", "password": PASSWORD})
    assert resp.status_code == 400
    assert c.get("/").status_code == 302


def test_removed_editor_and_changed_password_end_sessions(desk: Desk, client: FlaskClient
                                                          ) -> None:
    assert client.get("/").status_code == 200
    cur = desk.curator()
    cur.set_editor_password("maria", "a brand new password")
    assert client.get("/").status_code == 302
    assert login(client, password="a brand new password").status_code == 302
    assert client.get("/").status_code == 200
    cur.remove_editor("maria")
    cur.close()
    assert client.get("/").status_code == 302


# ------------------------------------------------------------------ CSRF


def test_every_post_without_a_valid_token_is_refused_and_changes_nothing(
        desk: Desk, client: FlaskClient) -> None:
    cur = desk.curator()
    cur.store.update_source(cur.store.find_source(WATCHDOG).id, disabled="gone (410)")
    cur.reject(desk.ids["merger"], editor="sam")
    cur.close()
    before = desk.snapshot()
    for path, data in post_routes(desk):
        for extra in ({}, {"csrf_token": "not-a-token"}):
            resp = client.post(path, data={**data, **extra})
            assert resp.status_code == 400, (path, extra)
            assert not leaks(desk, resp.text)
        resp = client.post(path, data=data, headers={"X-CSRFToken": "forged"})
        assert resp.status_code == 400, path
    assert desk.snapshot() == before
    assert client.get("/").status_code == 200  # and still logged in (logout was refused too)
    # A token from another session is not valid in this one.
    other = desk.app.test_client()
    login(other, name="sam", password=OTHER_PASSWORD)
    foreign = token(other)
    resp = client.post(f"/c/{desk.ids['s230']}/feature", data={"note": "x", "csrf_token": foreign})
    assert resp.status_code == 400
    assert desk.snapshot() == before


# ------------------------------------------------------------------ the flows


def test_feature_edit_reject_reset_record_the_editor(desk: Desk) -> None:
    cid = desk.ids["s230"]
    maria = desk.app.test_client()
    login(maria)
    resp = post(maria, f"/c/{cid}/feature", {"note": "Worth **reading**.\r\nSecond line."})
    assert resp.status_code == 302  # PRG
    page = maria.get(resp.headers["Location"]).text
    assert "Featured “Senators push Section 230 reform" in page  # the flash
    row = desk.candidate(cid)
    assert row.status == "featured"
    assert row.note == "Worth **reading**.\nSecond line."
    assert [(h.action, h.editor) for h in row.history] == [("feature", "maria")]

    sam = desk.app.test_client()
    login(sam, name="sam", password=OTHER_PASSWORD)
    desk.clock.advance(minutes=5)
    post(sam, f"/c/{cid}/feature", {"note": "Edited by Sam."})
    desk.clock.advance(minutes=5)
    post(sam, f"/c/{cid}/reject")
    desk.clock.advance(minutes=5)
    post(maria, f"/c/{cid}/reset")
    row = desk.candidate(cid)
    assert row.status == "new"
    assert [(h.action, h.editor, iso(h.at)) for h in row.history] == [
        ("feature", "maria", "2026-11-26T12:00:00Z"),
        ("edit-note", "sam", "2026-11-26T12:05:00Z"),
        ("reject", "sam", "2026-11-26T12:10:00Z"),
        ("reset", "maria", "2026-11-26T12:15:00Z"),
    ]
    page = maria.get(f"/c/{cid}").text
    for text in ("Featured</strong> by maria", "Edited the note</strong> by sam",
                 "Rejected</strong> by sam", "Put back to new</strong> by maria"):
        assert text in page
    assert "Edited by Sam." in page  # the draft note stays in the form after a reset


def test_reject_from_the_queue_returns_to_the_same_filtered_queue(desk: Desk,
                                                                  client: FlaskClient) -> None:
    cid = desk.ids["merger"]
    queue = "/?topic=antitrust"
    page = client.get(queue).text
    resp = client.post(f"/c/{cid}/reject", data={"csrf_token": token_from(page), "next": queue})
    assert resp.headers["Location"] == queue
    page = client.get(queue).text
    assert "Rejected “Regulators open antitrust review" in page
    assert f'action="/c/{cid}/reset"' in page  # the flash's Undo
    assert desk.candidate(cid).history[-1].editor == "maria"
    # An off-site `next` is ignored.
    resp = client.post(f"/c/{cid}/reset", data={"csrf_token": token(client),
                                                "next": "https://evil.example/"})
    assert resp.headers["Location"] == f"/c/{cid}"


def test_preview_button_without_script_changes_nothing(desk: Desk, client: FlaskClient) -> None:
    cid = desk.ids["geofence"]
    before = desk.snapshot()
    resp = post(client, f"/c/{cid}/feature", {"note": "**Bold** take", "action": "preview"})
    assert resp.status_code == 200
    assert "<strong>Bold</strong> take" in resp.text
    assert desk.snapshot() == before


def test_enable_and_publish_record_the_editor(desk: Desk, client: FlaskClient,
                                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="curator.web")
    cur = desk.curator()
    cur.store.update_source(cur.store.find_source(LEDGER).id, failures=3,
                            disabled="HTTP 410 Gone (since 2026-11-20T00:00:00Z)",
                            error="HTTP 410 Gone")
    cur.close()
    page = client.get("/sources").text
    assert "Disabled" in page and "HTTP 410 Gone" in page and "Re-enable" in page
    resp = post(client, "/sources/enable", {"source": LEDGER})
    assert resp.status_code == 302 and resp.headers["Location"] == "/sources"
    assert "“Tech Ledger” is enabled" in client.get("/sources").text
    cur = desk.curator()
    src = cur.store.find_source(LEDGER)
    cur.close()
    assert src.disabled is None and src.failures == 0
    assert any("maria re-enabled source " + LEDGER in r.getMessage() for r in caplog.records)
    # Kept in the database too, with what the enable cleared, and shown on the Sources page.
    assert desk.activity() == [("enable", src.id, "maria", "2026-11-26T12:00:00Z",
                                "HTTP 410 Gone (since 2026-11-20T00:00:00Z)")]
    desk.clock.advance(minutes=5)
    assert re.search(r"re-enabled by maria, <time[^>]*>5 min ago</time>",
                     client.get("/sources").text)

    post(client, f"/c/{desk.ids['geofence']}/feature", {"note": "Geofences, _again_."})
    page = client.get("/published").text
    assert "Changes not yet published" in page
    assert "<em>again</em>" in page
    resp = post(client, "/publish")
    assert resp.status_code == 302 and resp.headers["Location"] == "/published"
    page = client.get("/published").text
    assert "Published 1 item." in page
    assert "Last published by maria" in page
    assert "<strong>maria</strong> published 1 item" in page
    assert "Feeds are up to date" in page
    assert desk.config.output.rss.exists() and desk.config.output.atom.exists()
    assert any("maria published 1 item" in r.getMessage() for r in caplog.records)
    assert desk.activity()[1:] == [("publish", None, "maria", "2026-11-26T12:05:00Z", "1 item")]
    post(client, "/publish")
    assert "already up to date" in client.get("/published").text
    assert len(desk.activity()) == 2  # a publish that changed nothing is not recorded


def test_preview_sanitises_like_the_published_feed(desk: Desk, client: FlaskClient) -> None:
    hostile = ("**bold** <script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n"
               "[click](javascript:alert(3)) <a href=\"JaVaScRiPt:alert(4)\">a</a> "
               "<a href=\"&#106;avascript:alert(5)\">b</a>\n\n"
               "<iframe src=\"https://evil.example/\"></iframe><p onclick=\"alert(6)\">p</p>"
               "<svg onload=alert(7)></svg>")
    resp = client.post("/preview", data={"note": hostile},
                       headers={"X-CSRFToken": token(client)})
    assert resp.status_code == 200
    assert resp.mimetype == "application/json"
    out = resp.get_json()["html"]
    assert "<strong>bold</strong>" in out
    assert_harmless(out)
    assert "alert(1)" not in out  # a script's body goes with it
    # Without the header (or the form field) the preview is refused like any other POST.
    assert client.post("/preview", data={"note": "x"}).status_code == 400


def test_hostile_entries_are_shown_as_text(desk: Desk, client: FlaskClient) -> None:
    for key in ("hostile", "raw"):
        page = client.get(f"/c/{desk.ids[key]}").text
        assert_harmless(page)
        body = page.lower()
        assert "<script>alert" not in body, key
        assert "<img src=x" not in body, key
        assert "onerror=alert" not in body.replace("&lt;img src=x onerror=alert", ""), key
        assert 'href="javascript:' not in body, key
        assert "<iframe" not in body, key
        assert "alert('summary')" not in page  # the stored HTML summary is never shown
    page = client.get(f"/c/{desk.ids['raw']}").text
    assert "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(&#39;text&#39;)&gt;" in page
    queue = client.get("/?status=all").text
    assert_harmless(queue)
    assert "<script>alert" not in queue and "&lt;script&gt;alert(" in queue


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def assert_harmless(html: str) -> None:
    """No element or attribute in `html` that could run script or frame another page.

    The one script allowed is the desk's own file, /static/desk.js.
    """
    parser = _Tags()
    parser.feed(html)
    for tag, attrs in parser.tags:
        if tag == "script" and dict(attrs).get("src") == "/static/desk.js":
            continue
        assert tag not in ("script", "iframe", "svg", "object", "embed", "frame", "style"), tag
        for name, value in attrs:
            assert not name.lower().startswith("on"), (tag, name)
            v = re.sub(r"[\s\x00-\x20]", "", (value or "")).lower()
            assert not v.startswith(("javascript:", "vbscript:", "data:text")), (tag, name, value)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.anchors: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.anchors.append(dict(attrs))


def test_links_to_originals_open_in_a_new_tab_without_referrer(desk: Desk,
                                                               client: FlaskClient) -> None:
    cur = desk.curator()
    cur.feature(desk.ids["s230"], "note with [a link](https://example.org/x)", editor="maria")
    cur.close()
    pages = ["/?status=all", f"/c/{desk.ids['s230']}", "/published", "/sources"]
    externals = 0
    for path in pages:
        parser = _Links()
        parser.feed(client.get(path).text)
        for a in parser.anchors:
            href = a.get("href") or ""
            assert not href.lower().startswith("javascript:"), (path, href)
            if a.get("target") == "_blank":
                rel = set((a.get("rel") or "").split())
                assert {"noopener", "noreferrer"} <= rel, (path, a)
                externals += 1
    assert externals >= 5
    page = client.get(f"/c/{desk.ids['s230']}").text
    assert ('href="https://example.org/news/section-230" target="_blank" '
            'rel="noopener noreferrer"') in page
    # Both sources that carried it are listed.
    assert "Carried by 2 sources" in page
    assert "Watchdog Weekly" in page and "Tech Ledger" in page


def test_queue_filters_search_highlight_and_pages(tmp_path: Path) -> None:
    desk = build_desk(tmp_path, extra_new=30)
    client = desk.app.test_client()
    login(client)
    page = client.get("/").text
    assert "<mark>Section 230</mark>" in page
    assert "lawmakers grilled platforms on <mark>content moderation</mark> and <mark>Section 230" \
        in page.lower().replace("<mark>section 230", "<mark>Section 230")
    assert 'class="chip__topic">Platform accountability' in page
    # Newest first: the 5-hours-old story comes after the 2-hours-old one.
    assert page.index("chip merger") < page.index("Senators push")
    # 35 new candidates, 25 to a page: the five recent ones, then fillers 00 to 19.
    assert 'rel="next"' in page and 'rel="prev"' not in page
    assert "Antitrust filler story 19" in page and "Antitrust filler story 20" not in page
    page2 = client.get("/?page=2").text
    assert "Page 2" in page2 and 'rel="prev"' in page2
    assert "Antitrust filler story 20" in page2 and "Antitrust filler story 29" in page2
    assert "Antitrust filler story 19" not in page2 and 'rel="next"' not in page2

    page = client.get("/?topic=surveillance").text
    assert "Court limits geofence warrants" in page
    assert "Senators push" not in page

    page = client.get("/?source=" + LEDGER).text
    assert "chip merger" in page and "Senators push" in page and "geofence" not in page

    page = client.get("/?q=chipmakers").text
    assert "chip merger" in page and "Senators push" not in page

    cur = desk.curator()
    cur.reject(desk.ids["geofence"], editor="sam")
    cur.close()
    assert "Court limits geofence warrants" not in client.get("/").text
    page = client.get("/?status=rejected").text
    assert "Court limits geofence warrants" in page and "Senators push" not in page
    # Unknown filter values are ignored rather than failing.
    assert client.get("/?topic=nope&status=bogus&page=x&source=zzz").status_code == 200


def test_unknown_candidate_is_404(client: FlaskClient) -> None:
    resp = client.get("/c/424242")
    assert resp.status_code == 404
    assert "no candidate 424242" in resp.text
    assert client.post("/c/424242/reject", data={"csrf_token": token(client)}).status_code == 404


# ------------------------------------------------------------------ the public feeds


def test_feeds_are_served_with_validators_and_304(desk: Desk, client: FlaskClient) -> None:
    post(client, f"/c/{desk.ids['s230']}/feature", {"note": "Read *this* one."})
    post(client, "/publish")
    anon = desk.app.test_client()
    for path, mime, marker in [("/feed.xml", "application/rss+xml", b"<rss"),
                               ("/atom.xml", "application/atom+xml", b"<feed")]:
        resp = anon.get(path)
        assert resp.status_code == 200
        assert resp.mimetype == mime
        assert marker in resp.data and b"Read <em>this</em> one." in resp.data.replace(
            b"&lt;", b"<").replace(b"&gt;", b">")
        etag, modified = resp.headers["ETag"], resp.headers["Last-Modified"]
        assert etag and modified
        again = anon.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.data == b""
        since = anon.get(path, headers={"If-Modified-Since": modified})
        assert since.status_code == 304
        stale = anon.get(path, headers={"If-None-Match": '"something-else"'})
        assert stale.status_code == 200
        head = anon.head(path)
        assert head.status_code == 200 and head.headers["ETag"] == etag
    # A publish that changes the feed changes the ETag.
    old = anon.get("/feed.xml").headers["ETag"]
    desk.clock.advance(minutes=1)
    post(client, f"/c/{desk.ids['geofence']}/feature", {"note": "Also this."})
    post(client, "/publish")
    resp = anon.get("/feed.xml", headers={"If-None-Match": old})
    assert resp.status_code == 200 and resp.headers["ETag"] != old


# ------------------------------------------------------------------ headers and cookies


def test_security_headers_on_every_response(desk: Desk, client: FlaskClient) -> None:
    post(client, "/publish")
    anon = desk.app.test_client()
    responses = [client.get("/"), client.get(f"/c/{desk.ids['s230']}"), client.get("/published"),
                 client.get("/sources"), client.get("/c/999999"), anon.get("/login"),
                 anon.get("/"), anon.get("/static/desk.css"), anon.get("/feed.xml"),
                 anon.post("/publish"), client.post("/publish")]
    for resp in responses:
        csp = resp.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert resp.headers["Referrer-Policy"]
    assert client.get("/").headers["Cache-Control"] == "no-store"
    # Pages carry no inline script or style for the CSP to have to allow.
    for path in ["/", f"/c/{desk.ids['s230']}", "/published", "/sources"]:
        page = client.get(path).text
        assert " style=" not in page, path
        assert_harmless(page)


def _session_cookie(resp: Any) -> str:
    cookies = [v for v in resp.headers.getlist("Set-Cookie") if v.startswith("curator_session=")]
    assert cookies, resp.headers
    return cookies[-1]


def test_session_cookie_flags_over_http_and_https(desk: Desk) -> None:
    plain = desk.app.test_client()
    cookie = _session_cookie(login(plain))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie
    assert plain.get("/").status_code == 200  # the cookie works over plain HTTP

    tls = desk.app.test_client()
    base = "https://desk.example.org"
    page = tls.get("/login", base_url=base)
    resp = tls.post("/login", base_url=base,
                    data={"username": "maria", "password": PASSWORD,
                          "csrf_token": token_from(page.text)},
                    headers={"Referer": base + "/login"})
    assert resp.status_code == 302
    cookie = _session_cookie(resp)
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert tls.get("/", base_url=base).status_code == 200
    # Over HTTPS, a POST from another origin is refused even with a token (Flask-WTF's check).
    resp = tls.post("/publish", base_url=base, data={"csrf_token": token_from(
        tls.get("/", base_url=base).text)}, headers={"Referer": "https://evil.example/"})
    assert resp.status_code == 400


def test_published_page_lists_who_published_newest_first(desk: Desk, client: FlaskClient
                                                         ) -> None:
    post(client, "/publish")  # the first publish writes the (empty) feeds: it changed them
    desk.clock.advance(minutes=10)
    sam = desk.app.test_client()
    login(sam, name="sam", password=OTHER_PASSWORD)
    post(sam, f"/c/{desk.ids['merger']}/feature", {"note": "Chips."})
    post(sam, "/publish")
    desk.clock.advance(minutes=10)
    post(sam, f"/c/{desk.ids['geofence']}/feature", {"note": "Warrants."})
    # `curator run` publishes by itself: no editor, shown as the scheduler.
    from curator.schedule import tick

    cur = desk.curator()
    try:
        tick(cur)
    finally:
        cur.close()
    assert [(a, e, d) for a, _, e, _, d in desk.activity()] == [
        ("publish", "maria", "0 items"), ("publish", "sam", "1 item"),
        ("publish", None, "2 items")]
    page = client.get("/published").text
    assert "Last published by <span" in page and ">curator run</span>" in page
    listed = re.findall(r"<strong>(.*?)</strong> published (\d+ items?)", page)
    assert [(re.sub(r"<[^>]+>", "", who), what) for who, what in listed] == [
        ("curator run", "2 items"), ("sam", "1 item"), ("maria", "0 items")]


def test_names_in_the_activity_log_are_shown_as_text(desk: Desk) -> None:
    cur = desk.curator()
    cur.add_editor("<i>eve</i>", PASSWORD)
    cur.close()
    eve = desk.app.test_client()
    assert login(eve, name="<i>eve</i>").status_code == 302
    post(eve, "/sources/enable", {"source": RAW})
    post(eve, "/publish")
    for path in ("/sources", "/published"):
        page = eve.get(path).text
        assert "&lt;i&gt;eve&lt;/i&gt;" in page and "<i>eve</i>" not in page


def refuse(cur: Curator, name: str, event: str, message: str) -> None:
    """A trigger that makes every `event` fail with `message`, on either backend."""
    if cur.store.postgres:
        cur.store.conn.execute(f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS"
                               f" $$ BEGIN RAISE EXCEPTION '{message}'; END $$")
        cur.store.conn.execute(f"CREATE TRIGGER {name} BEFORE {event} FOR EACH ROW"
                               f" EXECUTE FUNCTION {name}()")
    else:
        cur.store.conn.execute(f"CREATE TRIGGER {name} BEFORE {event}"
                               f" BEGIN SELECT RAISE(ABORT, '{message}'); END")


def test_an_enable_or_publish_is_recorded_exactly_when_it_happens(desk: Desk,
                                                                 client: FlaskClient) -> None:
    cur = desk.curator()
    ledger = cur.store.find_source(LEDGER).id
    cur.store.update_source(ledger, disabled="HTTP 410 Gone", failures=1)
    # The log refuses every row: the enable it would record must not happen either.
    refuse(cur, "refuse_log", "INSERT ON activity_log", "log refused")
    cur.close()
    before = desk.snapshot()
    assert post(client, "/sources/enable", {"source": LEDGER}).status_code == 500
    assert post(client, "/publish").status_code == 500
    assert desk.snapshot()[:2] == before[:2] and desk.activity() == []
    cur = desk.curator()
    assert cur.store.find_source(LEDGER).disabled == "HTTP 410 Gone"
    assert cur.needs_publish()  # the publish's own state was rolled back with its record
    # And the other way round: when the source cannot be changed, nothing is logged.
    cur.store.conn.execute("DROP TRIGGER refuse_log"
                           + (" ON activity_log" if cur.store.postgres else ""))
    refuse(cur, "refuse_enable", "UPDATE OF disabled ON sources", "source locked")
    cur.close()
    assert post(client, "/sources/enable", {"source": LEDGER}).status_code == 500
    assert desk.activity() == []
    # The failed publish had already written the feed files; this one finds them as it would
    # write them, and is recorded all the same: it is the first publish of them that committed.
    assert post(client, "/publish").status_code == 302
    assert [a for a, *_ in desk.activity()] == ["publish"]


def test_the_real_server_logs_requests_and_trusts_a_local_tls_proxy(
        desk: Desk, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="curator.web")
    with serving(desk) as base:
        with urllib.request.urlopen(base + "/login", timeout=5) as resp:
            plain = resp.headers.get_all("Set-Cookie")
            assert resp.headers["X-Frame-Options"] == "DENY"
        proxied = urllib.request.Request(base + "/login", headers={"X-Forwarded-Proto": "https"})
        with urllib.request.urlopen(proxied, timeout=5) as resp:
            secure = resp.headers.get_all("Set-Cookie")
    assert plain and "Secure" not in plain[0] and "HttpOnly" in plain[0]
    assert secure and "Secure" in secure[0]
    assert any(re.search(r"127\.0\.0\.1 GET /login 200 \d+ ms", r.getMessage())
               for r in caplog.records)


WARM_DESK = """
import re, sys
import curator.web as web
from curator import config
made = []
create = web.create_app
web.create_app = lambda *a, **kw: made.append(create(*a, **kw)) or made[-1]
web.make_server(config.load(sys.argv[1]), "127.0.0.1", 0, warm=True)  # as `curator web` makes it
env = made[0].jinja_env
compiled, compile_ = [], env.compile
env.compile = lambda source, name=None, *a, **kw: compiled.append(name) or compile_(source, name, *a, **kw)
before = set(sys.modules)
c = made[0].test_client()
def token(html):
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
c.post("/login", data={"username": "maria", "password": sys.argv[2],
                       "csrf_token": token(c.get("/login").text)})
cid = re.search(r'href="/c/([0-9]+)"', c.get("/").text).group(1)
page = c.get(f"/c/{cid}").text
c.post(f"/c/{cid}/feature", data={"note": "*Why* it matters", "csrf_token": token(page)})
assert "<em>Why</em> it matters" in c.get(f"/c/{cid}").text  # its note, rendered
print(" ".join(compiled))
print(" ".join(sorted({m.split(".")[0] for m in set(sys.modules) - before})))
"""


def test_the_desk_compiles_and_loads_before_it_answers_what_its_first_pages_need(
        tmp_path: Path) -> None:
    """`curator web` is ready before its first editor: the queue, a candidate and its note's
    preview then compile no template and load no module of curator or of the parser and
    renderer they use (which cost the first candidate page 20 times its own work)."""
    import subprocess
    import sys

    desk = build_desk(tmp_path)
    out = subprocess.run([sys.executable, "-c", WARM_DESK, str(desk.config.path), PASSWORD],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    compiled, loaded = out.stdout.splitlines()
    assert compiled == ""
    assert not set(loaded.split()) & {"curator", "feedparser", "bs4", "nh3", "lxml",
                                      "markdown_it", "feedgen", "jinja2"}, loaded


def test_the_desk_follows_feeds_yaml_edits_as_curator_run_does(
        desk: Desk, client: FlaskClient, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """An edit reaches the desk without a restart, and the desk never re-syncs the sources of a
    feeds.yaml it started with over the ones `curator run` took in since (they share the DB)."""
    added = "https://added.example.com/feed.xml"
    edited = write_config(tmp_path, [{"url": WATCHDOG, "name": "Watchdog Weekly"},
                                     {"url": LEDGER, "name": "Tech Ledger"},
                                     {"url": added, "name": "Added Later"}])
    run = Curator(config_mod.load(edited), now=desk.clock)  # a `curator run` started afterwards
    try:
        run.sync_sources()
        page = client.get("/sources").text
        assert "Added Later" in page and "Hostile Feed" not in page
        in_config = {s.url for s in run.store.sources()}
        assert in_config == {WATCHDOG, LEDGER, added}
        assert "Added Later" in client.get("/").text  # the queue's source filter too

        # A broken edit: the desk keeps working on the last good file and says so once.
        good = edited.read_text()
        edited.write_text(good.replace("title: Test Watch", "title: [Test Watch"))
        with caplog.at_level(logging.ERROR, logger="curator"):
            for _ in range(3):
                assert "Added Later" in client.get("/sources").text
        assert sum("feeds.yaml not reloaded" in r.getMessage() for r in caplog.records) == 1
        assert {s.url for s in run.store.sources()} == {WATCHDOG, LEDGER, added}
    finally:
        run.close()


def test_an_edited_output_section_shows_on_the_desk_as_not_yet_published(
        desk: Desk, client: FlaskClient, tmp_path: Path) -> None:
    assert post(client, "/publish", {}).status_code == 302
    assert "Feeds are up to date" in client.get("/published").text
    text = desk.config.path.read_text()
    desk.config.path.write_text(text.replace("title: Test Watch", "title: Renamed Watch"))
    assert "Changes not yet published" in client.get("/published").text
    assert "Renamed Watch" in desk.app.test_client().get("/login").text
    assert post(client, "/publish", {}).status_code == 302
    assert "Feeds are up to date" in client.get("/published").text
    assert b"Renamed Watch" in desk.config.output.rss.read_bytes()
