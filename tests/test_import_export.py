"""Moving an editor's work: what `export` writes, `import` takes back whole, and nothing else."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import feedparser
import pytest
from conftest import Cli, write_config


@pytest.fixture
def reviewed(server: Any, make_cli: Any, clock: Any) -> Cli:
    """Two sources, one article carried by both; features, a note edit, a reject, a reset."""
    rss = server.add("/rss20.xml", file="rss20.xml")
    atom = server.add("/atom.xml", file="atom.xml", content_type="application/atom+xml")
    cli: Cli = make_cli([{"url": rss, "name": "Policy Desk"}, {"url": atom}])
    cli("poll", "--json")
    cands = cli("candidates", "--json")
    assert len(cands) >= 3
    cli("feature", str(cands[0]["id"]), "--note", "First *take*")
    clock.advance(minutes=1)
    cli("feature", str(cands[0]["id"]), "--note", "Second take")
    clock.advance(minutes=1)
    cli("feature", str(cands[1]["id"]), "--note", "Note two")
    clock.advance(minutes=1)
    cli("reject", str(cands[2]["id"]))
    clock.advance(minutes=1)
    return cli


def fresh(tmp_path: Path, name: str, sources: list[Any]) -> Cli:
    folder = tmp_path / name
    folder.mkdir()
    return Cli(write_config(folder, sources))


def items(cli: Cli, *args: str) -> list[dict[str, Any]]:
    doc = json.loads(cli("export", "--status", "reviewed", *args).stdout)
    assert doc["curator_export"] == 1
    return list(doc["items"])


def test_export_import_export_round_trips(reviewed: Cli, tmp_path: Path, clock: Any) -> None:
    first = items(reviewed)
    assert {i["status"] for i in first} == {"featured", "rejected"}
    by_note = {i["note"]: i for i in first if i["status"] == "featured"}
    edited = by_note["Second take"]
    assert [h["action"] for h in edited["history"]] == ["feature", "edit-note"]
    assert edited["source"] in edited["sources"]
    assert all(c["feed"].endswith(".xml") for i in first for c in i["entries"])
    assert any(len(i["entries"]) > 1 for i in first)  # one article carried by both sources

    clock.advance(hours=1)
    # A fresh install that polls nothing: no sources in its feeds.yaml at all.
    other = fresh(tmp_path, "other", [])
    data = json.dumps({"curator_export": 1, "items": first})
    assert other("import", "-", "--json", input=data) == {
        "added": len(first), "updated": 0, "unchanged": 0}
    again = items(other)
    assert again == first
    # Importing the same export again changes nothing, history included.
    assert other("import", "-", "--json", input=data) == {
        "added": 0, "updated": 0, "unchanged": len(first)}
    assert items(other) == first


def test_an_imported_item_names_its_source_and_feed(reviewed: Cli, tmp_path: Path,
                                                     server: Any) -> None:
    exported = reviewed("export").stdout
    before = reviewed("publish", "--json")
    other = fresh(tmp_path, "other", [])
    other("import", "-", input=exported)
    out = other("publish", "--json")
    want = feedparser.parse(Path(before["rss"]).read_bytes()).entries
    got = feedparser.parse(Path(out["rss"]).read_bytes()).entries
    assert len(got) == len(want) == 2
    for entry, original in zip(got, want, strict=True):
        assert entry.source.title == original.source.title
        assert entry.source.href == original.source.href  # the source's feed, not the article
        assert entry.source.href in {server.url("/rss20.xml"), server.url("/atom.xml")}
        # "Via" names the source and links its site, as on the install it came from.
        assert entry.description == original.description
        assert entry.link != entry.source.href
    shown = other("show", str(other("candidates", "--status", "featured", "--json")[0]["id"]),
                  "--json")
    assert shown["history"][0]["editor"] != "" and shown["entries"]


def test_the_same_feed_in_feeds_yaml_is_joined_not_duplicated(reviewed: Cli, tmp_path: Path,
                                                               server: Any) -> None:
    exported = reviewed("export").stdout
    other = fresh(tmp_path, "other", [server.url("/rss20.xml")])
    other("import", "-", input=exported)
    other("poll", "--json")
    assert other("sources", "--json")[0]["url"] == server.url("/rss20.xml")
    assert len(other("sources", "--json")) == 1  # the imported-only feed is not polled
    for item in json.loads(other("export").stdout)["items"]:
        feeds = [c["feed"] for c in item["entries"]]
        assert len(feeds) == len(set(feeds)), item  # the poll updated the imported copy


@pytest.mark.parametrize("garbage", [
    b"not json\n",
    b"",
    b"   \n",
    b"\xff\xfe\x00garbage",
    b'{"items": 5}',
    b'{"no": "items"}',
    b"[1, 2]",
    b'{"items": [{"url": "https://a.example/x", "status": "featured"}, {"title": "no url"}]}',
    b'{"items": [{"url": "https://a.example/x", "history": [{"action": "feature"}]}]}',
    b'{"items": [{"url": "https://a.example/x", "entries": [{"feed": "javascript:x"}]}]}',
    b'{"items": [{"url": "https://a.example/x", "featured_at": "yesterday"}]}',
    b"a,b\n1,2\n",
])
def test_import_refuses_what_is_not_an_export_and_changes_nothing(
        reviewed: Cli, tmp_path: Path, garbage: bytes) -> None:
    other = fresh(tmp_path, "other", [])
    other("candidates", "--json")  # creates the database
    db = tmp_path / "other" / "db" / "curator.db"
    before = sqlite3.connect(db).execute("SELECT count(*) FROM candidates").fetchone()[0]
    path = tmp_path / "garbage"
    path.write_bytes(garbage)
    result = other("import", str(path), code=2)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    after = sqlite3.connect(db).execute("SELECT count(*) FROM candidates").fetchone()[0]
    assert after == before == 0


def test_csv_keeps_the_source_and_its_feed(reviewed: Cli, tmp_path: Path, server: Any) -> None:
    csv_text = reviewed("export", "--format", "csv").stdout
    assert csv_text.splitlines()[0].endswith(",feed,site")
    other = fresh(tmp_path, "other", [])
    other("import", "-", input=csv_text)
    featured = other("candidates", "--status", "featured", "--json")
    assert {c["source"] for c in featured} <= {"Policy Desk", "Atom Watch"} | {
        c["source"] for c in reviewed("candidates", "--status", "featured", "--json")}
    out = other("publish", "--json")
    for entry in feedparser.parse(Path(out["rss"]).read_bytes()).entries:
        assert entry.source.href in {server.url("/rss20.xml"), server.url("/atom.xml")}


def test_a_story_round_trips_with_its_other_articles(server: Any, make_cli: Any, clock: Any,
                                                     tmp_path: Path) -> None:
    rss = server.add("/rss20.xml", file="rss20.xml")
    atom = server.add("/atom.xml", file="atom.xml", content_type="application/atom+xml")
    cli: Cli = make_cli([{"url": rss, "name": "Policy Desk"}, {"url": atom}])
    cli("poll", "--json")
    first_cand, second_cand = cli("candidates", "--json")[:2]
    cli("merge", str(first_cand["id"]), str(second_cand["id"]))
    cli("feature", str(first_cand["id"]), "--note", "One story, two outlets")
    first = items(cli)
    [story] = [i for i in first if i["note"] == "One story, two outlets"]
    assert second_cand["url"] in [a["url"] for a in story["also"]]

    fresh_install = fresh(tmp_path, "other", [])
    data = json.dumps({"curator_export": 1, "items": first})
    fresh_install("import", "-", "--json", input=data)
    assert items(fresh_install) == first
    assert fresh_install("import", "-", "--json", input=data)["unchanged"] == len(first)
