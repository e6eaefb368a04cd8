"""The desk's search over everything stored, promote, and why a candidate is in the queue."""

from __future__ import annotations

from datetime import timedelta

import pytest
from test_web import START, WATCHDOG, Desk, _entry, build_desk, post, token

from curator.core import Curator


@pytest.fixture
def desk(tmp_path) -> Desk:
    d = build_desk(tmp_path)
    c = Curator(d.config, now=d.clock)
    try:
        sid = {s.url: s.id for s in c.store.sources()}
        # Matches no topic: only search finds it.
        c.store.save_entries(sid[WATCHDOG], [_entry(
            "w9", "https://example.org/news/doorbell",
            "Police used doorbell videos without asking owners",
            "Officers obtained footage from a home-camera company.",
            START - timedelta(hours=6))], [[]], d.clock())
    finally:
        c.close()
    return d


def test_search_lists_every_stored_entry_with_its_place_in_the_queue(desk, client):
    page = client.get("/search?q=doorbell").text
    assert "Police used doorbell videos without asking owners" in page
    assert "Not a candidate" in page and "Make candidate" in page
    assert "<mark>doorbell</mark>" not in page or "footage" in page
    # A candidate's result links to it instead.
    page = client.get("/search?q=geofence").text
    assert f'href="/c/{desk.ids["geofence"]}"' in page and "Make candidate" not in page
    assert "Court limits <mark>geofence</mark> warrants" not in page  # titles stay plain
    assert "<mark>geofence</mark>" in page  # the snippet marks the words found


@pytest.mark.parametrize("q", ['"', "AND (", "NEAR(", "title:x", "-", "*", "x" * 100_000,
                               "<script>alert(1)</script>", "%00", "\u202e", "a OR OR b"])
def test_hostile_queries_are_answered_never_a_500(client, q):
    resp = client.get("/search", query_string={"q": q, "page": "abc"})
    assert resp.status_code == 200
    assert "<script>alert(1)</script>" not in resp.text


def test_a_source_s_markup_in_results_is_text(client):
    page = client.get("/search?q=CSAM").text
    results = page[page.index("data-results"):page.index("</ol>")]
    assert "CSAM" in results
    assert "<script" not in results and "<img" not in results and "<iframe" not in results
    assert "&lt;script&gt;" in results


def test_promote_needs_the_token_then_the_candidate_can_be_featured(desk, client):
    c = Curator(desk.config, now=desk.clock)
    try:
        [hit] = c.search("doorbell")
    finally:
        c.close()
    before = len(client.get("/?status=all").text)
    resp = client.post(f"/e/{hit['entry']}/promote", data={})
    assert resp.status_code in (400, 403)
    c = Curator(desk.config, now=desk.clock)
    try:
        assert c.search("doorbell")[0]["candidate"] is None
    finally:
        c.close()
    resp = post(client, f"/e/{hit['entry']}/promote")
    assert resp.status_code == 302
    cid = int(resp.headers["Location"].rsplit("/", 1)[1])
    page = client.get(f"/c/{cid}").text
    assert "Made a candidate from search by maria" in page
    assert "is a candidate now" in page
    assert "Police used doorbell videos without asking owners" in client.get("/").text
    assert len(client.get("/?status=all").text) > before
    resp = post(client, f"/c/{cid}/feature", {"note": "Found by search."}, follow_redirects=True)
    assert desk.candidate(cid).status == "featured"
    # The result now says so; promoting again only opens it.
    assert "Featured" in client.get("/search?q=doorbell").text
    assert post(client, f"/e/{hit['entry']}/promote").headers["Location"] == f"/c/{cid}"
    assert post(client, "/e/999999/promote").status_code == 404


def test_a_candidate_page_says_which_terms_matched_where(desk, client):
    page = client.get(f"/c/{desk.ids['geofence']}").text
    assert "Why it is here" in page
    assert "<mark>geofence</mark> in title, summary" in page
    assert token(client, f"/c/{desk.ids['geofence']}")


def test_marked_escapes_everything_and_balances_the_marks():
    from curator.web.text import marked

    assert str(marked("a \x02<b>\x03 c", "\x02", "\x03")) == "a <mark>&lt;b&gt;</mark> c"
    assert str(marked("\x03x\x02y", "\x02", "\x03")) == "x<mark>y</mark>"
    assert str(marked("\x02\x02a\x03\x03", "\x02", "\x03")) == "<mark>a</mark>"


def test_a_suggestion_says_why_it_is_here(desk, client):
    c = Curator(desk.config, now=desk.clock)
    try:
        [hit] = c.search("doorbell")
        cid = c.promote(hit["entry"], editor="maria").id
        # As the learned queue marks a suggestion (not an editor's promote).
        c.store.conn.execute("DELETE FROM review_log WHERE candidate_id = ?", (cid,))
        c.store.conn.execute("UPDATE candidates SET suggested = 1, suggestion = ? WHERE id = ?",
                             ('{"like": 3, "words": ["police"]}', cid))
    finally:
        c.close()
    page = client.get(f"/c/{cid}").text
    assert "Suggested by the learned queue: like 3 items you featured (police)." in page
