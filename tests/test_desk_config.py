"""Editing sources and topics from the desk: feeds.yaml keeps its comments and layout, the
change is recorded with the editor, and a topic edit is previewed before it is applied."""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from test_web import LEDGER, START, WATCHDOG, Desk, build_desk, post

from curator import config as config_mod
from curator.polltypes import EntryData

HAND_NOTE = "# kept by hand: do not reorder\n"


@pytest.fixture
def desk(tmp_path: Path) -> Desk:
    d = build_desk(tmp_path)
    # A comment and a layout of the editor's own, which every edit must leave alone.
    path = d.config.path
    path.write_text(HAND_NOTE + path.read_text().replace("sources:\n", "sources:  # the feeds\n"))
    # And an entry no topic matches yet.
    cur = d.curator()
    sid = cur.store.find_source(LEDGER).id
    cur.store.save_entries(sid, [EntryData(
        key="fab", url="https://example.com/fab", link="https://example.com/fab",
        title="A new chip fab breaks ground", summary="<p>Construction starts.</p>",
        content="", text="Construction starts.", published=START)], [[]], d.clock())
    cur.close()
    return d


def diff(before: str, after: str) -> tuple[list[str], list[str]]:
    removed, added = [], []
    for line in difflib.unified_diff(before.splitlines(), after.splitlines(), n=0, lineterm=""):
        if not line.startswith(("---", "+++", "@@")):
            (removed if line[0] == "-" else added).append(line[1:])
    return removed, added


def text(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


def activity(desk: Desk) -> list[tuple[str, str, str]]:
    return [(a, e, d) for a, _, e, _, d in desk.activity()]


def test_add_rename_disable_and_remove_a_source(desk: Desk, client: FlaskClient) -> None:
    path = desk.config.path
    before = path.read_text()
    resp = post(client, "/sources/add", {"url": " https://new.example.org/feed.xml ",
                                         "name": "New  Desk"})
    assert resp.status_code == 302
    after = path.read_text()
    assert diff(before, after) == ([], ["- url: https://new.example.org/feed.xml",
                                        "  name: New Desk"])
    assert after.startswith(HAND_NOTE) and "sources:  # the feeds" in after
    page = client.get("/sources").text
    assert "Added “New Desk”" in page and "https://new.example.org/feed.xml" in page
    assert activity(desk)[-1] == ("source-add", "maria",
                                  "New Desk (https://new.example.org/feed.xml)")

    # Rename: one line changes.
    before = path.read_text()
    post(client, "/sources/rename", {"source": LEDGER, "name": "The Ledger"})
    assert diff(before, path.read_text()) == (["  name: Tech Ledger"], ["  name: The Ledger"])
    assert activity(desk)[-1] == ("source-rename", "maria", "Tech Ledger → The Ledger")
    assert "The Ledger" in client.get("/").text  # the queue's source filter follows at once

    # Disable: polling stops, feeds.yaml is untouched, the log says who.
    before = path.read_text()
    post(client, "/sources/disable", {"source": WATCHDOG})
    cur = desk.curator()
    assert cur.store.find_source(WATCHDOG).disabled == "disabled by maria"
    cur.close()
    assert path.read_text() == before
    assert activity(desk)[-1] == ("disable", "maria", "disabled by maria")
    page = client.get("/sources").text
    assert "Re-enable" in page and "maria disabled “Watchdog Weekly”" in text(page)

    # Remove: its lines go, what it brought in stays, and Undo adds it back.
    resp = post(client, "/sources/remove", {"source": LEDGER})
    removed, added = diff(before, path.read_text())
    assert added == [] and removed == [f"- url: {LEDGER}", "  name: The Ledger"]
    page = client.get("/sources").text
    assert "Removed “The Ledger” from feeds.yaml" in page and LEDGER not in re.sub(
        r'<div class="flash.*?</div>', "", page, flags=re.S).split("Recent changes")[0]
    undo = re.search(r'<form method="post" action="/sources/add" class="inline" data-undo>'
                     r'.*?</form>', page, re.S)
    assert undo and f'name="url" value="{LEDGER}"' in undo.group(0)
    assert 'name="name" value="The Ledger"' in undo.group(0)
    cur = desk.curator()
    assert cur.candidates(status="all", source=None, limit=None)  # nothing stored was lost
    cur.close()
    post(client, "/sources/add", {"url": LEDGER, "name": "The Ledger"})
    assert LEDGER in {s.url for s in config_mod.load(path).sources}
    assert [a for a, _, _ in activity(desk)][-4:] == [
        "source-rename", "disable", "source-remove", "source-add"]


def test_refused_source_edits_change_nothing_and_keep_the_draft(desk: Desk,
                                                                 client: FlaskClient) -> None:
    path = desk.config.path
    before = path.read_text()
    for data, why in (({"url": WATCHDOG}, "already in feeds.yaml"),
                      ({"url": "javascript:alert(1)"}, "only http and https"),
                      ({"url": "https://x.example/f", "name": "tech ledger"}, "already named"),
                      ({"url": ""}, "no URL")):
        resp = post(client, "/sources/add", data)
        assert resp.status_code == 400, data
        assert why in resp.text and 'role="alert"' in resp.text
        if data["url"]:
            assert f'value="{data["url"]}"' in resp.text  # the draft is kept
    assert post(client, "/sources/rename", {"source": "https://no.example/x",
                                            "name": "x"}).status_code == 400
    assert path.read_text() == before and activity(desk) == []
    # A broken feeds.yaml is never rewritten from the desk: the error says where it is.
    path.write_text(before + "topics: [\n")
    resp = post(client, "/sources/add", {"url": "https://x.example/f"})
    assert resp.status_code == 400 and "line" in resp.text
    assert path.read_text() == before + "topics: [\n"


def test_every_config_change_needs_a_token_and_a_login(desk: Desk, client: FlaskClient) -> None:
    path = desk.config.path
    before = path.read_text()
    routes = [("/sources/add", {"url": "https://x.example/f"}),
              ("/sources/rename", {"source": LEDGER, "name": "x"}),
              ("/sources/remove", {"source": LEDGER}), ("/sources/disable", {"source": LEDGER}),
              ("/topics/save", {"original": "antitrust", "any": "x", "action": "save"}),
              ("/topics/save", {"original": "antitrust", "action": "remove"})]
    anon = desk.app.test_client()
    for route, data in routes:
        assert client.post(route, data=data).status_code == 400, route
        assert anon.post(route, data=data).status_code == 401, route
    assert path.read_text() == before and activity(desk) == []
    for page in ("/topics", "/topics/antitrust", "/topics/new"):
        assert anon.get(page).status_code == 302


def test_source_page_counts_entries_and_candidates(client: FlaskClient) -> None:
    page = client.get("/sources").text
    counts = dict(re.findall(r'data-source="([^"]+)".*?data-counts><span class="num">([\d,]+)'
                             r"</span>", page, re.S))
    assert counts[WATCHDOG] == "2" and counts[LEDGER] == "3"
    # The Ledger's third entry matches no topic: 3 entries, 2 candidates.
    assert re.search(r'data-source="https://news.example.com/ledger.rss".*?'
                     r'<span class="num">2</span> candidates', page, re.S)


def test_a_topic_edit_is_previewed_then_saved_and_applied(desk: Desk,
                                                          client: FlaskClient) -> None:
    path = desk.config.path
    before = path.read_text()
    snapshot = desk.snapshot()
    topic = client.get("/topics/antitrust").text
    assert "antitrust" in topic and "merger" in topic
    # Drop "merger" and "antitrust", add "fab": the preview names what would change.
    form = {"original": "antitrust", "title": "Competition", "any": "monopol*\nfab\n",
            "all": "", "none": "sponsored"}
    resp = post(client, "/topics/save", {**form, "action": "preview"})
    assert resp.status_code == 200
    page = resp.text
    assert re.search(r"data-would-add>1<", page) and re.search(r"data-would-drop>1<", page)
    assert "Regulators open antitrust review of chip merger" in page  # dropped
    assert "A new chip fab breaks ground" in page  # added
    assert path.read_text() == before and desk.snapshot() == snapshot  # nothing changed yet
    assert 'value="Competition"' in page and "monopol*\nfab" in page  # the draft is kept
    # Save: only the topic's lines change, and the rematch does what the preview said.
    post(client, "/topics/save", {**form, "action": "save"})
    removed, added = diff(before, path.read_text())
    assert all(not line.startswith(("- url", "  name: ")) or "antitrust" in line
               for line in removed + added)
    assert path.read_text().startswith(HAND_NOTE)
    topics = {t.name: t for t in config_mod.load(path).topics}
    assert topics["antitrust"].any == ("monopol*", "fab")
    assert topics["antitrust"].none == ("sponsored",)
    assert topics["antitrust"].title == "Competition"
    page = client.get("/topics").text
    assert "Saved the topic “Competition”" in page
    assert "1 new candidate, 1 dropped" in page
    cur = desk.curator()
    assert [r.title for r in cur.candidates(topic="antitrust")] == [
        "A new chip fab breaks ground"]
    cur.close()
    assert activity(desk)[-1] == ("topic-edit", "maria", "antitrust: 3 terms")
    assert "maria changed the topic: antitrust: 3 terms" in text(page)


def test_new_and_removed_topics_and_bad_terms(desk: Desk, client: FlaskClient) -> None:
    path = desk.config.path
    resp = post(client, "/topics/save", {"original": "", "name": "Bad Name", "any": "x",
                                         "action": "save"})
    assert resp.status_code == 400 and "must be a slug" in resp.text
    resp = post(client, "/topics/save", {"original": "", "name": "chips", "any": "",
                                         "action": "preview"})
    assert resp.status_code == 400 and "has no terms" in resp.text
    post(client, "/topics/save", {"original": "", "name": "chips", "title": "Chips",
                                  "any": "chipmakers", "action": "save"})
    assert "chips" in {t.name for t in config_mod.load(path).topics}
    assert "chips" in desk.candidate(desk.ids["merger"]).topics
    # Removing previews first, then applies.
    resp = post(client, "/topics/save", {"original": "chips", "action": "remove-preview"})
    assert "If this topic is removed" in resp.text and "data-confirm-remove" in resp.text
    assert "chips" in {t.name for t in config_mod.load(path).topics}
    post(client, "/topics/save", {"original": "chips", "action": "remove"})
    assert "chips" not in {t.name for t in config_mod.load(path).topics}
    assert [a for a, _, _ in activity(desk)] == ["topic-add", "topic-remove"]
