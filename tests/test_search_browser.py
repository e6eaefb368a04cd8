"""Search everything stored, make a result a candidate and feature it, in headless Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from test_web import START, WATCHDOG, _entry, build_desk, serving
from test_web_browser import LAPTOP, Live, browser, shot  # noqa: F401  (browser is a fixture)

from curator.core import Curator

pytestmark = pytest.mark.browser

TITLE = "Police used doorbell videos without asking owners"


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    desk = build_desk(tmp_path)
    c = Curator(desk.config, now=desk.clock)
    try:
        sid = {s.url: s.id for s in c.store.sources()}
        c.store.save_entries(sid[WATCHDOG], [_entry(
            "w9", "https://example.org/news/doorbell", TITLE,
            "Officers obtained footage from a home-camera company without a court order.",
            START - timedelta(hours=6))], [[]], desk.clock())
    finally:
        c.close()
    with serving(desk) as base:
        yield Live(desk=desk, base=base)


def test_find_a_story_the_topics_missed_and_feature_it(request: Any, live: Live) -> None:
    ctx = live.context(request.getfixturevalue("browser"), LAPTOP)
    page = live.watch(ctx.new_page())
    live.login(page)
    assert TITLE not in page.locator("[data-row-link]").all_inner_texts()

    page.get_by_role("link", name="Search").click()
    page.get_by_label("Words").fill("doorbell footage")
    page.get_by_role("button", name="Search").click()
    result = page.locator("[data-result]").filter(has_text=TITLE)
    result.wait_for()
    assert result.locator("mark").first.inner_text().lower() in ("doorbell", "footage")
    shot(page, "search-laptop")

    result.get_by_role("button", name="Make candidate").click()
    page.locator("[data-promoted]").wait_for()
    assert "by maria" in page.locator("[data-promoted]").inner_text()
    cid = int(page.url.rsplit("/", 1)[1])
    page.get_by_label("Commentary").fill("Found by search: police helped themselves.")
    page.get_by_role("button", name="Feature", exact=True).click()
    page.wait_for_load_state()
    cand = live.desk.candidate(cid)
    assert cand.status == "featured" and cand.topics == ()
    assert [h.action for h in cand.history] == ["promote", "feature"]

    # Hostile words come back as a page, never an error.
    page.goto('/search?q=%22%20AND%20(%20NEAR(')
    assert page.locator("h1").inner_text() == "Search everything stored"
    assert live.errors == [] and live.dialogs == []
