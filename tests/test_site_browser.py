"""The readers' site in a real headless Chromium (Debian's, through Playwright), served by
`curator web` (waitress) on 127.0.0.1: axe-core finds no serious or critical accessibility
violation on the index, an item page and a topic page, in light and dark mode; the pages fit a
phone; nothing loads from elsewhere and no script runs; screenshots go to test-output/.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_web import build_desk, serving
from test_web_browser import LAPTOP, PHONE, SHOTS, TIMEOUT_MS
from test_web_browser import browser as browser  # the same headless Chromium fixture

from curator.core import Curator

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[1] / ".browser/node_modules/axe-core/axe.min.js"


@pytest.fixture(scope="module")
def axe() -> Path:
    if not AXE.exists():
        # Never skipped, like Chromium: without axe-core the pages' accessibility is untested.
        pytest.fail(f"{AXE} is missing: run `make browser` (it installs axe-core with npm)")
    return AXE


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    desk = build_desk(tmp_path_factory.mktemp("site"))
    c = Curator(desk.config, now=desk.clock)
    try:
        c.feature(desk.ids["s230"], "Why it matters: the **hearing** set the terms of the "
                  "reform debate. [The bill](https://example.org/bill) is next.", editor="maria")
        desk.clock.advance(minutes=5)
        c.feature(desk.ids["hostile"], "", editor="maria")  # no note: still a valid page
        desk.clock.advance(minutes=5)
        c.feature(desk.ids["merger"], "A *merger* to watch.", editor="maria")
        c.publish(editor="maria")
    finally:
        c.close()
    folder = desk.config.output.site_folder
    feed = json.loads((folder / "feed.json").read_bytes())
    with serving(desk) as base:
        yield {"base": base, "desk": desk, "feed": feed,
               "item": "/" + feed["items"][0]["url"].split("/", 3)[3],
               "topic": "/topics/platform-accountability/index.html"}


def open_page(browser: Any, base: str, path: str, viewport: dict[str, int], *,
              scheme: str = "light", bypass_csp: bool = False) -> tuple[Any, Any, list[str]]:
    ctx = browser.new_context(viewport=viewport, base_url=base, color_scheme=scheme,
                              bypass_csp=bypass_csp, java_script_enabled=bypass_csp)
    outside: list[str] = []

    def elsewhere(route: Any) -> None:
        outside.append(route.request.url)
        route.abort()

    ctx.route(lambda url: not url.startswith(base), elsewhere)
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning")
            else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    resp = page.goto(path)
    assert resp is not None and resp.status == 200, path
    page.wait_for_load_state("load")
    problems.extend(f"loaded from elsewhere: {u}" for u in outside)
    return ctx, page, problems


def serious(browser: Any, base: str, path: str, viewport: dict[str, int], scheme: str
            ) -> list[str]:
    """axe-core's serious and critical violations on the page (axe injected past the CSP)."""
    ctx, page, _ = open_page(browser, base, path, viewport, scheme=scheme, bypass_csp=True)
    try:
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    finally:
        ctx.close()
    return [f"{v['id']} ({v['impact']}): {v['help']} — "
            + "; ".join(n["html"][:120] for n in v["nodes"][:3])
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("which", ["index", "item", "topic"])
def test_axe_finds_no_serious_violation(browser: Any, axe: Path, site: dict[str, Any],
                                        which: str, scheme: str) -> None:
    path = {"index": "/index.html", "item": site["item"], "topic": site["topic"]}[which]
    for viewport in (LAPTOP, PHONE):
        assert serious(browser, site["base"], path, viewport, scheme) == [], (path, viewport)


@pytest.mark.parametrize("which", ["index", "item", "topic"])
def test_pages_render_without_script_fit_a_phone_and_load_nothing_else(
        browser: Any, site: dict[str, Any], which: str) -> None:
    path = {"index": "/index.html", "item": site["item"], "topic": site["topic"]}[which]
    SHOTS.mkdir(exist_ok=True)
    for label, viewport, scheme in (("laptop", LAPTOP, "light"), ("phone", PHONE, "light"),
                                    ("phone-dark", PHONE, "dark")):
        ctx, page, problems = open_page(browser, site["base"], path, viewport, scheme=scheme)
        try:
            # The page's own CSP blocks nothing it needs (a violation is a console error).
            assert problems == [], problems
            assert page.locator("h1").count() == 1
            # Styled by the inline stylesheet, in the reader's colour scheme.
            background = page.evaluate("getComputedStyle(document.body).backgroundColor")
            assert background == ("rgb(22, 22, 24)" if scheme == "dark" else "rgb(253, 253, 252)")
            if viewport is PHONE:
                # No sideways scrolling on a phone.
                assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
            page.screenshot(path=str(SHOTS / f"site-{which}-{label}.png"), full_page=True)
        finally:
            ctx.close()


def test_the_index_shows_the_picks_and_reads_on(browser: Any, site: dict[str, Any]) -> None:
    ctx, page, problems = open_page(browser, site["base"], "/index.html", LAPTOP)
    try:
        titles = page.locator("article h2").all_inner_texts()
        assert titles == [i["title"] for i in site["feed"]["items"]]
        first = page.locator("article").first
        assert first.get_by_role("link", name="Read the full article at Tech Ledger").count() == 1
        first.get_by_role("link", name="Permalink").click()
        page.wait_for_url(site["base"] + site["item"])
        assert page.locator("h1").inner_text() == titles[0]
    finally:
        ctx.close()
