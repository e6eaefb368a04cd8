"""`curator copy-db`: everything moves to another database, checked, or nothing is written."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from conftest import Cli, write_config

WIRE = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Wire</title><link>https://wire.example.net/</link>
<item><title>Regulators open antitrust probe of ad merger</title>
<link>https://wire.example.net/a/1</link><guid>w1</guid>
<description>The merger would join the two largest ad exchanges.</description>
<pubDate>Wed, 25 Nov 2026 08:00:00 GMT</pubDate></item>
<item><title>Geofence warrants challenged in appeals court</title>
<link>https://wire.example.net/a/2</link><guid>w2</guid>
<description>Civil liberties groups say geofence surveillance sweeps up bystanders.</description>
<pubDate>Wed, 25 Nov 2026 09:00:00 GMT</pubDate></item>
<item><title>Age verification law faces first test</title>
<link>https://wire.example.net/a/3</link><guid>w3</guid>
<description>The state's age verification rule reaches the court on Monday.</description>
<pubDate>Wed, 25 Nov 2026 10:00:00 GMT</pubDate></item>
</channel></rss>
"""


@pytest.fixture
def worked(server: Any, make_cli: Any, clock: Any) -> Cli:
    """An install with a bit of everything: polled sources, features, a note edit, a reject, a
    merged story, an editor, a publish, a re-enabled source."""
    rss = server.add("/rss20.xml", file="rss20.xml")
    atom = server.add("/atom.xml", file="atom.xml", content_type="application/atom+xml")
    wire = server.add("/wire.xml", WIRE)
    cli: Cli = make_cli([{"url": rss, "name": "Policy Desk"}, {"url": atom}, {"url": wire}])
    cli("poll", "--json")
    cands = cli("candidates", "--json")
    assert len(cands) >= 6
    cli("feature", str(cands[0]["id"]), "--note", "First *take*")
    clock.advance(minutes=1)
    cli("feature", str(cands[0]["id"]), "--note", "Second take")
    cli("merge", str(cands[1]["id"]), str(cands[3]["id"]))
    cli("feature", str(cands[1]["id"]), "--note", "One story, two outlets")
    cli("reject", str(cands[2]["id"]))
    cli("editor", "add", "maria", "--password-stdin", input="correct horse battery\n")
    cli("enable", "Policy Desk")
    cli("publish", "--json")
    clock.advance(minutes=1)
    return cli


def at(tmp_path: Path, name: str, database: str, sources: list[Any] | None = None) -> Cli:
    """A second install (its own feeds.yaml) whose database is `database`."""
    folder = tmp_path / name
    folder.mkdir()
    return Cli(write_config(folder, sources or [], database=database))


def dump(cli: Cli) -> dict[str, Any]:
    """What a user sees of a database: the export, every candidate, search, sources, editors."""
    return {
        "export": json.loads(cli("export", "--status", "reviewed").stdout)["items"],
        "candidates": {s: cli("candidates", "--status", s, "--limit", "1000", "--json")
                       for s in ("new", "featured", "rejected")},
        "search": cli("search", "Section 230", "--json"),
        "editors": [e["name"] for e in cli("editor", "list", "--json")],
    }


def test_a_copy_to_a_new_sqlite_file_has_everything_and_says_so(worked: Cli, tmp_path: Path
                                                                  ) -> None:
    target = tmp_path / "elsewhere" / "copy.db"
    done = worked("copy-db", str(target), "--json")
    assert done["checked"] is True
    assert done["tables"]["entries"] > 0 and done["tables"]["review_log"] >= 4
    assert done["tables"]["story_articles"] >= 1 and done["tables"]["editors"] == 1
    assert done["rows"] == sum(done["tables"].values())
    conn = sqlite3.connect(tmp_path / "db" / "curator.db")
    mine = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in done["tables"]}
    assert mine == done["tables"]

    copy = at(tmp_path, "copy", str(target))
    original = dump(worked)
    assert original["search"] and original["candidates"]["featured"]
    assert dump(copy) == original
    # The editor signs in on the copy with the same password; ids carry on past the copied ones.
    other = conn.execute("SELECT max(id) FROM review_log").fetchone()[0]
    new_id = original["candidates"]["new"][0]["id"]
    copy("feature", str(new_id), "--note", "Featured on the copy")
    assert sqlite3.connect(target).execute("SELECT max(id) FROM review_log").fetchone()[0] > other


def test_the_text_output_lists_each_table(worked: Cli, tmp_path: Path) -> None:
    out = worked("copy-db", str(tmp_path / "copy.db")).stdout
    first, *lines = out.splitlines()
    assert first.startswith("copied ") and "checked" in first
    assert [line.split()[0] for line in lines][:3] == ["sources", "entries", "entry_topics"]


def test_a_target_holding_data_is_refused_and_left_as_it_was(worked: Cli, tmp_path: Path) -> None:
    target = tmp_path / "copy.db"
    worked("copy-db", str(target))
    before = target.read_bytes()
    worked("copy-db", str(target), code=2)
    err = worked.last.stderr
    assert len(err.strip().splitlines()) == 1
    assert "already holds data" in err and str(target) in err and "--replace" in err
    assert target.read_bytes() == before


def test_replace_empties_the_target_first(worked: Cli, tmp_path: Path, clock: Any) -> None:
    target = tmp_path / "copy.db"
    worked("copy-db", str(target))
    cands = worked("candidates", "--json")
    worked("reject", str(cands[0]["id"]))
    done = worked("copy-db", str(target), "--replace", "--json")
    assert done["checked"] is True
    assert dump(at(tmp_path, "copy", str(target))) == dump(worked)


def test_the_configured_database_itself_is_refused(worked: Cli, tmp_path: Path) -> None:
    worked("copy-db", str(tmp_path / "db" / "curator.db"), code=2)
    assert "the configured database itself" in worked.last.stderr


def test_a_copy_whose_check_fails_writes_nothing(worked: Cli, tmp_path: Path) -> None:
    """A target that loses rows on the way in (here: a trigger) fails the check; it rolls back."""
    target = tmp_path / "copy.db"
    at(tmp_path, "copy", str(target))("sources", "--json")  # an empty, migrated database
    conn = sqlite3.connect(target)
    conn.execute("CREATE TRIGGER lose AFTER INSERT ON review_log WHEN new.action = 'reject'"
                 " BEGIN DELETE FROM review_log WHERE id = new.id; END")
    conn.commit()
    worked("copy-db", str(target), code=1)
    assert "not committed" in worked.last.stderr and "review_log" in worked.last.stderr
    counts = [conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
              for t in ("sources", "entries", "candidates", "review_log")]
    assert counts == [0, 0, 0, 0]


def test_pages_of_a_few_rows_copy_every_row(worked: Cli, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows are read a page at a time by key, composite keys included: none lost or doubled."""
    import curator.store.copy

    monkeypatch.setattr(curator.store.copy, "PAGE_ROWS", 2)
    target = tmp_path / "copy.db"
    done = worked("copy-db", str(target), "--json")
    assert done["tables"]["entry_topics"] > 2 and done["tables"]["story_keys"] > 2
    assert dump(at(tmp_path, "copy", str(target))) == dump(worked)


def test_every_table_of_the_schema_is_copied_or_said_why_not(backend: Path | str) -> None:
    from curator.store import Store
    from curator.store.copy import COPIED, NOT_COPIED, tables

    store = Store(backend)
    try:
        present = set(tables(store))
        assert present - set(NOT_COPIED) == {t for t, _ in COPIED}
    finally:
        store.close()


def test_the_copy_indexes_what_it_stores_later(worked: Cli, tmp_path: Path, server: Any) -> None:
    """The search index is rebuilt at the end of the copy, and kept up to date after it."""
    target = tmp_path / "copy.db"
    worked("copy-db", str(target))
    late = server.add("/late.xml", WIRE.replace("Wire", "Late Wire").replace("w1", "late1")
                      .replace("/a/1", "/a/late").replace("ad merger", "quokka merger"))
    copy = at(tmp_path, "copy", str(target), [{"url": late}])
    assert copy("search", "Section 230", "--json") == worked("search", "Section 230", "--json")
    assert copy("search", "quokka", "--json") == []
    copy("poll", "--json")
    assert [r["url"] for r in copy("search", "quokka", "--json")] == [
        "https://wire.example.net/a/late"]


# ------------------------------------------------------------------ PostgreSQL, both ways


def test_sqlite_to_postgresql_to_sqlite_keeps_everything(worked: Cli, tmp_path: Path,
                                                       pg_blank_url: str, pg_url: str) -> None:
    original = dump(worked)
    there = worked("copy-db", pg_blank_url, "--json")  # a database without curator's schema
    assert there["checked"] is True and there["tables"]["entries"] > 0
    assert "test-secret-pw" not in json.dumps(there) and there["target"].startswith("postgresql://")
    pg = at(tmp_path, "pg", pg_blank_url)
    assert dump(pg) == original
    # PostgreSQL to PostgreSQL (its generated search column is the target's own) ...
    assert pg("copy-db", pg_url, "--json")["tables"] == there["tables"]
    assert dump(at(tmp_path, "pg2", pg_url)) == original
    # ... and back to SQLite.
    back = tmp_path / "back" / "curator.db"
    assert pg("copy-db", str(back), "--json")["tables"] == there["tables"]
    assert dump(at(tmp_path, "back-install", str(back))) == original
    # New rows on the PostgreSQL copy get ids after the copied ones (else the review log's
    # next row would take id 1 again, and the feature would fail on the duplicate).
    new_id = original["candidates"]["new"][0]["id"]
    pg("feature", str(new_id), "--note", "Featured on PostgreSQL")
    assert [h["action"] for h in pg("show", str(new_id), "--json")["history"]] == ["feature"]


def test_a_postgresql_target_holding_data_is_refused_without_its_password(
        worked: Cli, pg_blank_url: str) -> None:
    worked("copy-db", pg_blank_url)
    worked("copy-db", pg_blank_url, code=2)
    err = worked.last.stderr
    assert len(err.strip().splitlines()) == 1 and "already holds data" in err
    assert "test-secret-pw" not in err and "postgresql://curator@127.0.0.1:" in err


def test_a_postgresql_server_that_is_down_is_one_line_naming_it(worked: Cli) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    worked("copy-db", f"postgresql://curator:s3cret-pw@127.0.0.1:{port}/curator", code=2)
    err = worked.last.stderr
    assert len(err.strip().splitlines()) == 1, err
    assert f"127.0.0.1:{port}" in err and "s3cret-pw" not in err
