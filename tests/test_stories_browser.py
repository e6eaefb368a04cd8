"""Stories on the desk in a real headless Chromium: also covered by, link, split, merge."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_web import LEDGER, RAW, START, WATCHDOG, _entry, build_desk, serving
from test_web_browser import LAPTOP, PHONE, Live, browser, shot  # noqa: F401  (browser: the fixture)

from curator.match import Matcher

pytestmark = pytest.mark.browser

STORY = [
    (WATCHDOG, "https://example.org/news/ftc-prime",
     "US FTC sues Amazon, alleging it tricked users into Prime sign-ups and antitrust rules",
     "The Federal Trade Commission sued Amazon, accusing the retailer of enrolling consumers in "
     "Prime without consent and making it hard to cancel; antitrust lawyers watched."),
    (LEDGER, "https://news.example.com/ftc-prime-maze",
     "The FTC is suing Amazon over its 'Iliad' Prime cancellation maze",
     "The agency says Amazon used dark patterns to push shoppers into Prime subscriptions and "
     "designed a cancellation process it called Iliad, an antitrust-adjacent case."),
    (RAW, "https://raw.example.net/amazon-prime",
     "Amazon accused of trapping shoppers in Prime subscriptions",
     "US regulators say the online giant made cancelling its Prime membership deliberately "
     "difficult, in a case watched by antitrust experts."),
]


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    desk = build_desk(tmp_path)
    c = desk.curator()
    try:
        sid = {s.url: s.id for s in c.store.sources()}
        matcher = Matcher(desk.config.topics)
        for n, (source, url, title, text) in enumerate(STORY):
            e = _entry(f"story{n}", url, title, text, START)
            c.store.save_entries(sid[source], [e], [matcher.match(e.title, e.text)], desk.clock())
    finally:
        c.close()
    with serving(desk) as base:
        yield Live(desk=desk, base=base)


def story_id(live: Live) -> int:
    c = live.desk.curator()
    try:
        [row] = [r for r in c.candidates(limit=None) if r.url == STORY[0][1]]
        return int(row.id)
    finally:
        c.close()


def test_the_desk_shows_the_story_and_links_splits_and_merges(browser: Any, live: Live) -> None:  # noqa: F811
    cid = story_id(live)
    ctx = live.context(browser, LAPTOP)
    page = live.watch(ctx.new_page())
    live.login(page)
    # One row for the story in the queue, naming its three outlets.
    row = page.locator("[data-row]", has_text="US FTC sues Amazon")
    assert row.count() == 1
    assert "Raw Wire" in row.inner_text() and "Tech Ledger" in row.inner_text()

    page.goto(f"/c/{cid}")
    also = page.locator("[data-also]")
    assert also.count() == 2
    assert "Also covered by 2 other articles" in page.locator("#story-title").text_content()
    shot(page, "story-laptop")

    # Feature it linking the Tech Ledger article.
    page.get_by_label("Commentary").fill("The Iliad of cancellations.")
    page.locator("[data-link-choice]").get_by_label("Tech Ledger").check()
    page.locator("[data-feature-submit]").click()
    page.wait_for_load_state()
    c = live.desk.candidate(cid)
    assert c.status == "featured" and c.url == STORY[1][1]
    assert STORY[0][1] in [a.url for a in c.also]

    # Split the Raw Wire article off: a candidate of its own.
    page.goto(f"/c/{cid}")
    page.locator("[data-also]", has_text="Raw Wire").get_by_role("button", name="Split off").click()
    page.get_by_text("is a candidate of its own now").wait_for()
    c = live.desk.candidate(cid)
    assert STORY[2][1] not in [a.url for a in c.also]
    desk = live.desk.curator()
    try:
        [split] = [r for r in desk.candidates(limit=None) if r.url == STORY[2][1]]
    finally:
        desk.close()

    # Merge it back by its number.
    page.goto(f"/c/{cid}")
    page.get_by_label("Same story as candidate #").fill(str(split.id))
    page.locator("[data-merge]").click()
    page.get_by_text(f"#{split.id} merged into").wait_for()
    c = live.desk.candidate(cid)
    assert STORY[2][1] in [a.url for a in c.also]
    actions = [h.action for h in c.history]
    assert {"feature", "link", "split", "merge"} <= set(actions)
    assert all(h.editor == "maria" for h in c.history)
    history = page.locator(".history").inner_text()
    assert "Split" in history and "Merged" in history

    # On a phone the story's articles and their buttons still fit.
    phone = live.watch(live.context(browser, PHONE).new_page())
    live.login(phone)
    phone.goto(f"/c/{cid}")
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(phone, "story-phone")
    assert not live.errors and not live.dialogs
