"""The desk in a real headless Chromium (Debian's, driven by Playwright) on a real waitress server."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from test_web import PASSWORD, Desk, build_desk, serving

from curator.core import MAX_NOTE_CHARS, Curator

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]
SHOTS = Path(__file__).resolve().parents[1] / "test-output"
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# How long a browser step may wait: a guard against a hang, not a speed claim; a loaded 2-core
# machine running the suite in parallel can take several seconds for one navigation.
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        # Never skipped: `make test` installs Debian's chromium; without it the UI is untested.
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (or apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@dataclass
class Live:
    """A desk served by waitress on 127.0.0.1, plus what the browser saw go wrong."""

    desk: Desk
    base: str
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def watch(self, page: Any) -> Any:
        """Record dialogs, script errors and console errors; answer off-site requests locally."""
        page.set_default_timeout(TIMEOUT_MS)

        def on_dialog(d: Any) -> None:
            self.dialogs.append(f"{d.type}: {d.message}")
            d.dismiss()

        page.on("dialog", on_dialog)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("console", lambda m: self.errors.append(f"console: {m.text}")
                if m.type == "error" else None)
        return page

    def context(self, browser: Any, viewport: dict[str, int]) -> Any:
        ctx = browser.new_context(viewport=viewport, base_url=self.base)
        # No network here but 127.0.0.1: originals and remote images get a stand-in page.
        ctx.route(lambda url: not url.startswith(self.base),
                  lambda route: route.fulfill(status=200, content_type="text/html",
                                              body="<title>original</title><p>original</p>"))
        return ctx

    def login(self, page: Any, name: str = "maria", password: str = PASSWORD) -> None:
        page.goto("/")
        assert "/login" in page.url
        page.get_by_label("Name").fill(name)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(self.base + "/")


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    desk = build_desk(tmp_path)
    with serving(desk) as base:
        yield Live(desk=desk, base=base)


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def selected_title(page: Any) -> str:
    return str(page.locator("[data-row].is-selected [data-row-link]").inner_text())


def test_filter_feature_by_keyboard_publish_and_read_the_feed(browser: Any, live: Live) -> None:
    ctx = live.context(browser, LAPTOP)
    page = live.watch(ctx.new_page())
    live.login(page)
    titles = page.locator("[data-row-link]").all_inner_texts()
    assert "Senators push Section 230 reform after hearing" in titles
    shot(page, "queue-laptop")

    # j/k move the selection (and focus) through the queue.
    page.keyboard.press("j")
    assert selected_title(page) == titles[0]
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    assert selected_title(page) == titles[1]

    # o opens the selected original in a new tab, with no opener and no referrer.
    with ctx.expect_page() as opened:
        page.keyboard.press("o")
    original = opened.value
    original.wait_for_load_state()
    assert original.url == page.locator("[data-row].is-selected").get_attribute("data-original")
    assert original.evaluate("window.opener") is None
    assert original.evaluate("document.referrer") == ""
    original.close()

    # x rejects the selected candidate and the queue comes back without it.
    rejected = selected_title(page)
    page.keyboard.press("x")
    page.wait_for_load_state()
    page.get_by_text(f"Rejected “{rejected[:30]}").wait_for()
    assert rejected not in page.locator("[data-row-link]").all_inner_texts()

    # Filter by topic: the select submits itself.
    page.get_by_label("Topic", exact=True).select_option("platform-accountability")
    page.wait_for_url("**/?topic=platform-accountability")
    assert page.locator("[data-row-link]").all_inner_texts() == [
        "Senators push Section 230 reform after hearing"]

    # f goes to the candidate with the note focused; Ctrl+Enter features it.
    page.keyboard.press("j")
    page.keyboard.press("f")
    page.wait_for_url("**/c/*#note")
    assert page.evaluate("document.activeElement.id") == "note"
    page.keyboard.type("Keys **all the way**: a *sharp* take.")
    page.locator("[data-preview] em", has_text="sharp").wait_for()  # the live preview
    assert page.locator("[data-preview] strong").inner_text() == "all the way"
    page.keyboard.press("Control+Enter")
    page.wait_for_url("**/?topic=platform-accountability")
    page.get_by_text("Featured “Senators push Section 230 reform").wait_for()

    # ? shows the shortcuts.
    page.keyboard.press("?")
    assert page.locator("#help").is_visible()
    page.keyboard.press("Escape")
    assert not page.locator("#help").is_visible()

    # Publish, then read the public feed as a reader would.
    page.get_by_role("link", name="Published").click()
    page.get_by_role("button", name="Publish now").click()
    page.get_by_text("Published 1 item.").wait_for()
    with urllib.request.urlopen(live.base + "/feed.xml", timeout=5) as resp:
        assert resp.headers["Content-Type"].startswith("application/rss+xml")
        feed = resp.read().decode()
    assert "Senators push Section 230 reform after hearing" in feed
    assert "&lt;strong&gt;all the way&lt;/strong&gt;" in feed or "<strong>all the way" in feed

    c = Curator(live.desk.config)
    try:
        row = c.candidate(live.desk.ids["s230"])
        assert row.status == "featured" and row.history[-1].editor == "maria"
        assert row.note == "Keys **all the way**: a *sharp* take."
    finally:
        c.close()
    assert live.dialogs == [] and live.errors == []
    ctx.close()


def test_hostile_candidate_runs_nothing_and_csp_blocks_inline_script(browser: Any,
                                                                    live: Live) -> None:
    ctx = live.context(browser, LAPTOP)
    page = live.watch(ctx.new_page())
    live.login(page)
    for key in ("hostile", "raw"):
        resp = page.goto(f"/c/{live.desk.ids[key]}")
        assert "script-src 'self'" in resp.headers["content-security-policy"]
        page.wait_for_load_state("load")
    # The raw entry's markup is on the page as text.
    assert "<script>alert('title')</script>" in page.locator("h1").inner_text()
    # A hostile note in the live preview renders sanitised: nothing runs.
    page.locator("#note").fill("<img src=x onerror=alert(1)> <a href='javascript:alert(2)'>a</a>"
                               "<script>alert(3)</script> **done**")
    page.locator("[data-preview] strong", has_text="done").wait_for()
    page.locator("[data-preview] a").click()  # a javascript: link would fire here
    page.goto("/?status=all")
    page.wait_for_load_state("load")
    assert live.dialogs == [], live.dialogs
    assert live.errors == [], live.errors

    # The CSP itself refuses inline script, whatever might get into a page.
    page.evaluate("""() => {
        window.__violations = [];
        document.addEventListener('securitypolicyviolation', e => window.__violations.push(
            e.violatedDirective));
        const s = document.createElement('script');
        s.textContent = 'window.__ran = true';
        document.body.appendChild(s);
        const d = document.createElement('div');
        d.innerHTML = '<img src="data:," onerror="window.__ran2 = true">';
        document.body.appendChild(d);
    }""")
    # A function: an expression would be evaluated again with eval(), which the CSP refuses.
    page.wait_for_function("() => window.__violations.length >= 2")
    assert page.evaluate("window.__ran === undefined && window.__ran2 === undefined")
    assert all(v.startswith("script-src") for v in page.evaluate("window.__violations"))
    assert live.dialogs == []
    ctx.close()


def test_screenshots_on_laptop_and_phone(browser: Any, live: Live) -> None:
    c = Curator(live.desk.config, now=live.desk.clock)
    try:
        c.feature(live.desk.ids["merger"], "Chip **consolidation** keeps coming; this review "
                  "is the one to watch.\n\n- two chipmakers\n- one regulator", editor="sam")
        c.reject(live.desk.ids["raw"], editor="sam")
        c.feature(live.desk.ids["s230"], "A first draft.", editor="sam")
        live.desk.clock.advance(minutes=20)
        c.reset(live.desk.ids["s230"], editor="maria")
        live.desk.clock.advance(minutes=40)
        c.store.update_source(c.store.find_source("Hostile Feed").id, failures=4,
                              error="HTTP 410 Gone", disabled="HTTP 410 Gone; run `curator "
                              "enable` to try again", status=410)
    finally:
        c.close()
    for size, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
        ctx = live.context(browser, viewport)
        page = live.watch(ctx.new_page())
        if size == "phone":
            page.goto("/login")
            shot(page, "login-phone")
        live.login(page)
        if size == "phone":
            shot(page, "queue-phone")
        page.goto(f"/c/{live.desk.ids['s230']}")
        page.locator("#note").fill("Both sides agree *something* must change; "
                                   "**nobody agrees** on what.")
        page.locator("[data-preview] strong").wait_for()
        shot(page, f"candidate-{size}")
        page.goto("/published")
        shot(page, f"published-{size}")
        page.goto("/sources")
        shot(page, f"sources-{size}")
        for path in ("/", f"/c/{live.desk.ids['s230']}", "/published", "/sources"):
            page.goto(path)
            # Nothing sticks out sideways: the page fits the screen it is on.
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= viewport["width"], (size, path, width)
        ctx.close()
    assert live.dialogs == [] and live.errors == []


def test_a_pasted_note_over_the_limit_is_kept_and_refused_with_a_message(browser: Any,
                                                                        live: Live) -> None:
    cid = live.desk.ids["s230"]
    ctx = live.context(browser, LAPTOP)
    page = live.watch(ctx.new_page())
    live.login(page)
    page.goto(f"/c/{cid}")
    note = page.locator("#note")
    note.click()
    too_long = MAX_NOTE_CHARS + 5
    page.keyboard.insert_text("z" * too_long)  # as a paste: a maxlength would cut it short
    assert note.evaluate("n => n.value.length") == too_long
    page.get_by_text("100,005 of 100,000 characters").wait_for()
    page.locator("[data-preview]").get_by_text("Shorten it by 5").wait_for()
    page.get_by_role("button", name="Feature").click()
    page.locator("#note-error").wait_for()
    assert "a note can have at most 100,000" in page.locator("#note-error").inner_text()
    assert page.locator("#note").evaluate("n => n.value.length") == too_long
    assert live.desk.candidate(cid).status == "new"
    # Shortened by five, it saves.
    page.locator("#note").focus()
    page.keyboard.press("End")
    for _ in range(5):
        page.keyboard.press("Backspace")
    page.get_by_role("button", name="Feature").click()
    page.wait_for_url(lambda url: f"/c/{cid}" not in url)
    row = live.desk.candidate(cid)
    assert row.status == "featured" and row.note == "z" * MAX_NOTE_CHARS
    # The refused POST itself is the only thing the console reports.
    assert [e for e in live.errors if "status of 422" not in e] == [], live.errors
    ctx.close()
