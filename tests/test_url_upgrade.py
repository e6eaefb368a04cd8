"""A longer tracking-parameter list must not split what is already stored into duplicates."""

from __future__ import annotations

import json
from typing import Any

import pytest

import curator.urls

ARTICLE = "https://news.example.org/2026/court-ruling"


def rss(items: list[tuple[str, str]]) -> str:
    body = "".join(f"<item><title>{title}</title><link>{link}</link><guid>{link}</guid></item>"
                   for title, link in items)
    return ('<?xml version="1.0"?><rss version="2.0"><channel><title>S</title>'
            f"<link>https://news.example.org/</link><description>d</description>{body}"
            "</channel></rss>")


@pytest.fixture
def older_rules(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The rules of an earlier curator, which kept at_medium, maca and traffic_source."""
    newer = curator.urls.TRACKING_PARAMS
    monkeypatch.setattr(curator.urls, "TRACKING_PARAMS",
                        newer - {"at_medium", "at_campaign", "maca", "traffic_source"})
    return lambda: monkeypatch.setattr(curator.urls, "TRACKING_PARAMS", newer)


def test_new_copies_join_the_candidate_stored_under_older_rules(
        server: Any, make_cli: Any, clock: Any, older_rules: Any) -> None:
    old_link = f"{ARTICLE}?at_medium=RSS&at_campaign=rss"
    first = server.add("/first.xml", rss([("Court ruling on Section 230", old_link)]))
    second = server.add("/second.xml", rss([]))
    cli = make_cli([{"url": first, "name": "First"}, {"url": second, "name": "Second"}])
    cli("poll", "--json")
    [cand] = cli("candidates", "--json")
    assert cand["url"] == old_link  # what the older version stored
    cli("feature", str(cand["id"]), "--note", "Featured before the upgrade")

    older_rules()  # the upgrade
    clock.advance(hours=1)
    # Another source carries the same article, its link spelt with other tracking codes; the
    # first feed changes the title, so its entry is updated in place.
    server.add("/second.xml", rss([("Court ruling on Section 230",
                                    f"{ARTICLE}?traffic_source=rss")]))
    server.add("/first.xml", rss([("Court ruling on Section 230 (updated)", old_link)]))
    out = cli("poll", "--all", "--json")
    assert out["new_candidates"] == 0
    cands = cli("candidates", "--status", "all", "--json")
    assert len(cands) == 1, cands
    [after] = cands
    assert after["id"] == cand["id"] and after["url"] == old_link  # stable
    assert after["status"] == "featured"
    assert sorted(after["sources"]) == ["First", "Second"]
    # A rematch does not split them either.
    cli("rematch", "--json")
    assert [c["id"] for c in cli("candidates", "--status", "all", "--json")] == [cand["id"]]


def test_an_import_of_the_new_spelling_finds_the_stored_candidate(
        server: Any, make_cli: Any, clock: Any, older_rules: Any) -> None:
    old_link = f"{ARTICLE}?maca=en-rss"
    url = server.add("/first.xml", rss([("Court ruling on Section 230", old_link)]))
    cli = make_cli([{"url": url}])
    cli("poll", "--json")
    older_rules()
    doc = json.dumps({"items": [{"url": ARTICLE, "status": "featured", "note": "n"}]})
    assert cli("import", "-", "--json", input=doc) == {"added": 0, "updated": 1, "unchanged": 0}
    [cand] = cli("candidates", "--status", "all", "--json")
    assert cand["url"] == old_link and cand["status"] == "featured"


def test_a_new_entry_under_the_new_spelling_is_stored_under_the_old_one(
        server: Any, make_cli: Any, clock: Any, older_rules: Any) -> None:
    # The titles share no words, so only the URL can tell these are one article. A poll checks
    # the stored spellings for a whole feed at once; this one must still be found.
    old_link = f"{ARTICLE}?at_medium=RSS"
    first = server.add("/first.xml", rss([("Court ruling on Section 230", old_link)]))
    second = server.add("/second.xml", rss([]))
    cli = make_cli([{"url": first, "name": "First"}, {"url": second, "name": "Second"}])
    cli("poll", "--json")
    older_rules()
    clock.advance(hours=1)
    server.add("/second.xml", rss([("Unrelated words entirely", "https://news.example.org/x"),
                                   ("Judges decide platform immunity",
                                    f"{ARTICLE}?traffic_source=rss")]))
    assert cli("poll", "--all", "--json")["new_candidates"] == 0
    [cand] = cli("candidates", "--status", "all", "--json")
    assert cand["url"] == old_link and sorted(cand["sources"]) == ["First", "Second"]


def test_a_poll_of_many_new_entries_finds_each_older_spelling(
        server: Any, make_cli: Any, clock: Any, older_rules: Any, backend: Any) -> None:
    """The spellings of a poll's new entries are looked up a hundred at a time: each still finds
    its own, in the candidates or only in the entries, and URLs sharing a path stay apart."""
    other = "https://news.example.org/2026/weather"
    first = server.add("/first.xml", rss([("Court ruling on Section 230",
                                           f"{ARTICLE}?at_medium=RSS"),
                                          ("Weather for the weekend", f"{other}?maca=x1")]))
    cli = make_cli([{"url": first, "name": "First"}], database=str(backend))
    cli("poll", "--json")
    older_rules()
    clock.advance(hours=1)
    many = [(f"Section 230 story {n}", f"https://news.example.org/s/{n}") for n in range(230)]
    second = server.add("/second.xml", rss([
        *many[:120], ("Court ruling on Section 230", f"{ARTICLE}?traffic_source=rss"),
        ("Section 230 sequel", f"{ARTICLE}-sequel?at_medium=RSS"),
        ("Weather for the weekend", other), *many[120:]]))
    cli.config.write_text(cli.config.read_text().replace(
        "sources:\n", f"sources:\n- url: {second}\n  name: Second\n", 1))
    cli("poll", "--json")
    court = [c for c in cli("candidates", "--status", "all", "--limit", "500", "--json")
             if c["url"].startswith(ARTICLE)]
    assert sorted((c["url"], tuple(sorted(c["sources"]))) for c in court) == [
        (f"{ARTICLE}-sequel", ("Second",)), (f"{ARTICLE}?at_medium=RSS", ("First", "Second"))]
    # The weather entry was never a candidate: its older spelling is found among the entries.
    assert [r["url"] for r in cli("search", "weekend", "--json")] == [f"{other}?maca=x1"]
