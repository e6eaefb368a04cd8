"""The desk as an editor uses it (Flask test client): counts, highlights, notes, errors, banners."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from test_web import Desk, build_desk, login, post

from curator.core import Curator


@pytest.fixture
def desk(tmp_path: Path) -> Desk:
    return build_desk(tmp_path)


@pytest.fixture
def client(desk: Desk) -> FlaskClient:
    c = desk.app.test_client()
    assert login(c).status_code == 302
    return c


def tab_counts(html: str) -> dict[str, int]:
    tabs = re.search(r'<nav class="tabs".*?</nav>', html, re.S)
    assert tabs
    return {label: int(n) for label, n in re.findall(
        r'>(\w+) <span class="tabs__count">(\d+)</span>', tabs.group(0))}


def test_tab_counts_follow_the_search_and_filters(desk: Desk, client: FlaskClient) -> None:
    cur = Curator(desk.config, now=desk.clock)
    cur.feature(desk.ids["merger"], "Watch this", editor="sam")
    cur.close()
    assert tab_counts(client.get("/").text) == {"New": 4, "Featured": 1, "Rejected": 0, "All": 5}
    page = client.get("/?q=geofence").text
    assert tab_counts(page) == {"New": 1, "Featured": 0, "Rejected": 0, "All": 1}
    assert "4 new · 1 featured" in page  # the heading still counts everything
    assert tab_counts(client.get("/?status=featured&q=chip").text) == {
        "New": 0, "Featured": 1, "Rejected": 0, "All": 1}
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
