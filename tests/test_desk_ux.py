"""The desk as an editor uses it (Flask test client): counts, highlights, notes, errors, banners."""

from __future__ import annotations

import re
from pathlib import Path

from flask.testing import FlaskClient
from test_web import Desk, post

from curator.core import Curator


def tab_counts(html: str) -> dict[str, int]:
    tabs = re.search(r'<nav class="tabs".*?</nav>', html, re.S)
    assert tabs
    return {label: int(n) for label, n in re.findall(
        r'>(\w+) <span class="tabs__count">(\d+)</span>', tabs.group(0))}


def test_tab_counts_follow_the_search_and_filters(desk: Desk, client: FlaskClient) -> None:
    cur = Curator(desk.config, now=desk.clock)
    cur.feature(desk.ids["merger"], "Watch this", editor="sam")
    cur.close()
    assert tab_counts(client.get("/").text) == {"New": 4, "Seen": 0, "Featured": 1,
                                                "Rejected": 0, "All": 5}
    page = client.get("/?q=geofence").text
    assert tab_counts(page) == {"New": 1, "Seen": 0, "Featured": 0, "Rejected": 0, "All": 1}
    assert "4 new · 1 featured" in page  # the heading still counts everything
    assert tab_counts(client.get("/?status=featured&q=chip").text) == {
        "New": 0, "Seen": 0, "Featured": 1, "Rejected": 0, "All": 1}
    assert tab_counts(client.get("/?topic=antitrust").text)["All"] == 1


def test_searched_words_are_marked_in_titles_and_excerpts(desk: Desk,
                                                          client: FlaskClient) -> None:
    page = client.get("/?q=GEOFENCE+court").text
    assert '<mark class="hit">Court</mark> limits <mark class="hit">geofence</mark>' in page
    assert 'federal <mark class="hit">court</mark> said <mark class="hit">geofence</mark>' in page
    # Markup in a title stays text even when a searched word sits inside it.
    page = client.get("/?q=script").text
    assert "&lt;<mark class=\"hit\">script</mark>&gt;" in page and "<script>alert" not in page


def test_featured_rows_show_the_note_and_published_items_open_for_editing(
        desk: Desk, client: FlaskClient) -> None:
    cur = Curator(desk.config, now=desk.clock)
    cur.feature(desk.ids["merger"], "Chip **consolidation** <script>x()</script> keeps coming.",
                editor="sam")
    cur.close()
    page = client.get("/?status=featured").text
    note = re.search(r'<p class="row__note" data-row-note>(.*?)</p>', page, re.S)
    assert note and "consolidation" in note.group(1)
    assert "**" not in note.group(1) and "<script" not in note.group(1)
    page = client.get("/published").text
    link = f'href="/c/{desk.ids["merger"]}#note" data-edit-item'
    assert link in page
    assert "Edit the note" in client.get(f"/c/{desk.ids['merger']}").text


def test_a_bad_candidate_address_is_a_styled_404(client: FlaskClient) -> None:
    for path in ("/c/abc", "/c/12abc", "/c/-1"):
        resp = client.get(path)
        assert resp.status_code == 404, path
        assert "desk.css" in resp.text and "candidates are numbered" in resp.text, path
        assert "Back to the queue" in resp.text


def test_a_broken_feeds_yaml_shows_a_banner_with_the_line(desk: Desk,
                                                          client: FlaskClient) -> None:
    path = desk.config.path
    good = path.read_text()
    assert "data-config-problem" not in client.get("/").text
    path.write_text(good.replace("sources:", "sources: [\n", 1))
    page = client.get("/sources").text
    banner = re.search(r'<div class="alert alert--config".*?</div>', page, re.S)
    assert banner, page
    assert "feeds.yaml does not load" in banner.group(0)
    assert re.search(r"\(line \d+\)", banner.group(0))
    assert "Watchdog Weekly" in page  # the desk goes on with the last good file
    path.write_text(good)
    assert "data-config-problem" not in client.get("/").text


def test_publishing_into_an_unwritable_folder_says_so_on_the_page(desk: Desk,
                                                                  client: FlaskClient) -> None:
    Curator(desk.config, now=desk.clock).feature(desk.ids["merger"], "x", editor="sam")
    path = desk.config.path
    # /sys refuses new files even to root: a folder no one may write into.
    path.write_text(path.read_text().replace("rss: public/feed.xml", "rss: /sys/curator.xml"))
    resp = post(client, "/publish")
    assert resp.status_code == 302
    page = client.get(resp.headers["Location"]).text
    assert "Nothing was published: cannot write curator.xml into /sys (permission denied)" in page
    assert "/sys/tmp" not in page and ".tmp" not in page
    assert 'role="alert"' in page


def test_a_failed_publish_from_the_cli_names_the_folder_not_a_temp_file(tmp_path: Path) -> None:
    from conftest import Cli, write_config

    config = write_config(tmp_path, ["https://feeds.example.org/x.xml"],
                          output={"rss": "/sys/curator.xml"})
    result = Cli(config)("publish", code=1)
    assert "cannot write curator.xml into /sys (permission denied)" in result.stderr
    assert "/sys/tmp" not in result.stderr


# ------------------------------------------------------------------ several at once


def row_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-row data-id="(\d+)"', html)]


def test_mark_seen_and_reject_the_selected_or_all_shown_with_undo(desk: Desk,
                                                                  client: FlaskClient) -> None:
    ids = desk.ids
    page = client.get("/").text
    shown = row_ids(page)
    assert len(shown) == 5 and 'name="shown"' in page
    # The selected ones, marked seen: gone from New, listed under Seen, recorded with the editor.
    resp = post(client, "/bulk", {"action": "seen", "ids": str(ids["s230"])})
    assert resp.status_code == 302
    post(client, "/bulk", {"action": "seen", "ids": [str(ids["geofence"]), str(ids["raw"])]})
    page = client.get("/").text
    assert set(row_ids(page)) == {ids["merger"], ids["hostile"]}
    assert tab_counts(page)["Seen"] == 3 and tab_counts(page)["New"] == 2
    assert set(row_ids(client.get("/?status=seen").text)) == {ids["s230"], ids["geofence"],
                                                              ids["raw"]}
    seen = desk.candidate(ids["geofence"])
    assert (seen.status, seen.seen_by) == ("new", "maria") and seen.seen_at
    assert "seen by maria" in client.get(f"/c/{ids['geofence']}").text
    # Undo (as the confirmation offers it) brings them back among the new.
    resp = post(client, "/bulk", {"action": "unseen", "ids": f"{ids['geofence']},{ids['raw']}"})
    follow = client.get(resp.headers["Location"]).text
    assert "2 candidates back among the new." in follow
    assert ids["geofence"] in row_ids(follow) and ids["raw"] in row_ids(follow)
    # Reject all shown: every row on the page, in one go, each in the review log; featured
    # candidates are never taken down by a bulk reject.
    cur = Curator(desk.config, now=desk.clock)
    cur.feature(ids["merger"], "keep", editor="sam")
    cur.close()
    shown = row_ids(client.get("/?status=all").text)
    resp = post(client, "/bulk?scope=shown", {"action": "reject", "next": "/?status=all",
                                              "shown": ",".join(map(str, shown))})
    assert resp.headers["Location"] == "/?status=all"
    page = client.get("/?status=all").text
    assert "Rejected 4 candidates. 1 featured candidate left as it was." in page
    statuses = {k: desk.candidate(v).status for k, v in ids.items()}
    assert statuses["merger"] == "featured"
    assert all(s == "rejected" for k, s in statuses.items() if k != "merger")
    history = desk.candidate(ids["s230"]).history
    assert (history[-1].action, history[-1].editor) == ("reject", "maria")
    # The confirmation's Undo puts back exactly those four.
    undo = re.search(r'name="action" value="reset">\s*<input type="hidden" name="ids" '
                     r'value="([\d,]+)"', page)
    assert undo and sorted(map(int, undo.group(1).split(","))) == sorted(
        v for k, v in ids.items() if k != "merger")
    post(client, "/bulk", {"action": "reset", "ids": undo.group(1)})
    assert {desk.candidate(v).status for k, v in ids.items() if k != "merger"} == {"new"}


def test_bulk_refuses_without_a_token_and_with_nonsense(desk: Desk, client: FlaskClient) -> None:
    before = desk.snapshot()
    assert client.post("/bulk", data={"action": "reject",
                                      "ids": str(desk.ids["s230"])}).status_code == 400
    assert post(client, "/bulk", {"action": "delete", "ids": "1"}).status_code == 400
    assert post(client, "/bulk", {"action": "reject",
                                  "ids": ",".join(map(str, range(1, 300)))}).status_code == 400
    resp = post(client, "/bulk", {"action": "reject", "ids": "abc,-1,1e3"})
    assert resp.status_code == 302
    assert "Select some candidates first" in client.get("/").text
    assert desk.snapshot() == before
    anon = desk.app.test_client()
    assert anon.post("/bulk", data={"action": "reject", "ids": "1"}).status_code == 401
    assert anon.post("/prefs/density", data={"density": "compact"}).status_code == 401


def test_compact_list_is_remembered_for_the_session(client: FlaskClient) -> None:
    assert "density-comfortable" in client.get("/").text
    resp = post(client, "/prefs/density", {"density": "compact", "next": "/?status=all"})
    assert resp.headers["Location"] == "/?status=all"
    page = client.get("/").text
    assert "density-compact" in page and 'aria-pressed="true"' in page
    post(client, "/prefs/density", {"density": "comfortable"})
    assert "density-comfortable" in client.get("/").text
