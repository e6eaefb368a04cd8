"""The learned queue in the desk, in a real headless Chromium: "Best first" and a suggestion."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from test_relevance import FILLER, MISSED, OFF, ON_BEAT, TRAPS
from test_web import START, WATCHDOG, _entry
from test_web_browser import LAPTOP, Live, browser, live, shot  # noqa: F401 - fixtures

from curator.match import Matcher

pytestmark = pytest.mark.browser


def teach(live: Live) -> None:  # noqa: F811 - the fixture, passed on
    """The editors featured the beat and rejected the traps; then a story no topic matches."""
    c = live.desk.curator()
    try:
        sid = next(s.id for s in c.store.sources() if s.url == WATCHDOG)
        matcher = Matcher(c.config.topics)

        def save(rows: list[tuple[str, str, str]]) -> None:
            entries = [_entry(key, f"https://example.org/learn/{key}", t, s,
                              START - timedelta(hours=2)) for key, t, s in rows]
            c.store.save_entries(sid, entries, [matcher.match(e.title, e.text) for e in entries],
                                 live.desk.clock())

        save([(f"beat{i}", t, s) for i, (t, s) in enumerate(ON_BEAT)]
             + [(f"trap{i}", t, s) for i, (t, s) in enumerate(TRAPS)]
             + [(f"fill{i}", t, s) for i, (t, s) in enumerate(FILLER)])
        for r in c.candidates(limit=None):
            if "/learn/beat" in r.url:
                c.feature(r.id, "Why it matters.", editor="maria")
            elif "/learn/trap" in r.url:
                c.reject(r.id, editor="maria")
        save([("missed", *MISSED), ("off", *OFF)])
        done = c.refresh_relevance()
        assert done is not None and done.suggested == 1
    finally:
        c.close()


def test_best_first_and_why_a_suggestion_was_made(browser: Any, live: Live) -> None:  # noqa: F811
    teach(live)
    ctx = live.context(browser, LAPTOP)
    page = live.watch(ctx.new_page())
    live.login(page)

    # The suggestion is in the queue, marked, with its reason.
    row = page.locator("[data-row]", has_text=MISSED[0])
    chip = row.locator("[data-suggested]")
    assert "Suggested" in chip.inner_text()
    assert "you featured" in chip.inner_text()
    assert OFF[0] not in page.locator("[data-row-link]").all_inner_texts()

    # "Best first" orders by score (the select submits itself) and shows each score.
    page.get_by_label("Order").select_option("score")
    page.wait_for_url("**/?sort=score")
    scores = [int(s.rstrip("%")) for s in page.locator("[data-score]").all_inner_texts()]
    assert scores and scores == sorted(scores, reverse=True)
    titles = page.locator("[data-row-link]").all_inner_texts()
    assert titles.index(MISSED[0]) < len(titles) // 2
    shot(page, "queue-best-first")

    # Filters keep the order; the candidate page says why it was suggested too.
    row = page.locator("[data-row]", has_text=MISSED[0])
    row.locator("[data-row-link]").click()
    page.wait_for_url("**/c/*")
    assert "you featured" in page.locator("[data-suggested]").inner_text()

    # Rejecting the suggestion takes it out of the queue (and teaches the next refresh).
    page.get_by_role("button", name="Reject").first.click()
    page.wait_for_load_state()
    page.goto("/?sort=score")
    assert MISSED[0] not in page.locator("[data-row-link]").all_inner_texts()
    assert live.errors == []
    ctx.close()
