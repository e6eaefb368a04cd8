"""Operating curator: backup and restore, export and import, OPML, logs, limits, bad input."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import write_config


@pytest.fixture
def polled(server, make_cli, clock):
    url = server.add("/rss20.xml", file="rss20.xml")
    atom = server.add("/atom.xml", file="atom.xml", content_type="application/atom+xml")
    cli = make_cli([{"url": url, "name": "Policy Desk"}, {"url": atom}])
    cli("poll", "--json")
    return cli


def test_backup_and_restore_round_trip(polled, tmp_path):
    cli = polled
    cand = cli("candidates", "--json")[0]
    cli("feature", str(cand["id"]), "--note", "Before the backup")
    out = cli("backup", str(tmp_path / "backups") + "/")
    backups = list((tmp_path / "backups").glob("curator-*.db"))
    assert len(backups) == 1 and str(backups[0]) in out.stdout
    cli("feature", str(cand["id"]), "--note", "After the backup")
    cli("reject", str(cand["id"]))
    cli("restore", str(backups[0]))
    shown = cli("show", str(cand["id"]), "--json")
    assert shown["status"] == "featured" and shown["note"] == "Before the backup"
    kept = list((tmp_path / "db").glob("curator.db.before-restore-*.bak"))
    assert len(kept) == 1  # the database that was replaced is kept


def test_restore_refuses_what_is_not_a_curator_database(polled, tmp_path):
    cli = polled
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not sqlite at all" * 64)
    assert "not a usable curator database" in cli("restore", str(junk), code=2).stderr
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    assert "not a curator database" in cli("restore", str(other), code=2).stderr
    assert cli("candidates", "--json")  # untouched


def test_export_and_import_move_an_editors_work(polled, make_cli, server, tmp_path, clock):
    cli = polled
    cands = cli("candidates", "--json")
    cli("feature", str(cands[0]["id"]), "--note", "Note *one*, with \"quotes\", and, commas")
    clock.advance(minutes=1)
    cli("feature", str(cands[1]["id"]), "--note", "Note two")
    cli("reject", str(cands[2]["id"]))
    exported = json.loads(cli("export").stdout)
    assert [i["note"] for i in exported["items"]] == [
        "Note *one*, with \"quotes\", and, commas", "Note two"]
    csv_text = cli("export", "--format", "csv", "--status", "reviewed").stdout
    assert csv_text.splitlines()[0].startswith("url,title,status,note,guid")

    # A second, empty install takes both formats.
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    other = type(cli)(write_config(other_dir, [server.url("/rss20.xml")]))
    (tmp_path / "export.json").write_text(json.dumps(exported))
    assert other("import", str(tmp_path / "export.json"), "--json") == {
        "added": 2, "updated": 0, "unchanged": 0}
    assert other("import", "-", "--json", input=json.dumps(exported)) == {
        "added": 0, "updated": 0, "unchanged": 2}
    assert other("import", "-", "--json", input=csv_text) == {
        "added": 1, "updated": 0, "unchanged": 2}
    featured = other("candidates", "--status", "featured", "--json")
    assert {f["note"] for f in featured} == {"Note *one*, with \"quotes\", and, commas",
                                            "Note two"}
    # The guid moves too, so readers do not see the items again as new.
    out = other("publish", "--json")
    import feedparser

    guids = {e.id for e in feedparser.parse(Path(out["rss"]).read_bytes()).entries}
    assert guids == {i["guid"] for i in exported["items"]}
    other("import", "-", input='{"items": [{"title": "no url"}]}', code=2)


def test_opml_export_and_import_keeps_comments_and_order(polled, tmp_path):
    cli = polled
    opml = cli("opml", "export").stdout
    assert "<opml" in opml and "Policy Desk" in opml and "/atom.xml" in opml
    original = cli.config.read_text()
    cli.config.write_text("# my sources, hand-kept\n" + original.replace(
        "sources:", "sources:  # keep these first"))
    incoming = tmp_path / "subs.opml"
    incoming.write_text(
        '<?xml version="1.0"?><opml version="2.0"><head><title>x</title></head><body>'
        '<outline text="Folder"><outline type="rss" text="New One" '
        'xmlUrl="https://new.example.org/feed.xml"/></outline>'
        '<outline type="rss" text="Dup" xmlUrl="' + yaml.safe_load(original)["sources"][0]["url"]
        + '"/><outline text="ftp" xmlUrl="ftp://nope.example/x"/></body></opml>')
    out = cli("opml", "import", str(incoming))
    assert "1 sources added" in out.stdout
    text = cli.config.read_text()
    assert text.startswith("# my sources, hand-kept\n") and "# keep these first" in text
    doc = yaml.safe_load(text)
    assert doc["sources"][-1] == {"url": "https://new.example.org/feed.xml", "name": "New One"}
    assert [s["url"] for s in doc["sources"][:2]] == [
        s["url"] for s in yaml.safe_load(original)["sources"]]
    bomb = tmp_path / "bomb.opml"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
                    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><opml><body>&b;</body></opml>')
    assert "not a usable OPML" in cli("opml", "import", str(bomb), code=2).stderr
    assert cli.config.read_text() == text


def test_a_huge_note_is_refused_with_the_limit(polled):
    cli = polled
    cand = cli("candidates", "--json")[0]
    result = cli("feature", str(cand["id"]), "--note-file", "-", input="x" * 1_000_000, code=2)
    assert "100,000" in result.stderr
    assert cli("show", str(cand["id"]), "--json")["status"] == "new"


def test_json_logs_one_line_per_event(server, tmp_path):
    url = server.add("/rss20.xml", file="rss20.xml")
    config = write_config(tmp_path, [url])
    proc = subprocess.run([sys.executable, "-m", "curator", "--config", str(config),
                           "--log-format", "json", "poll", "--json"],
                          capture_output=True, text=True, check=True)
    lines = [json.loads(x) for x in proc.stderr.splitlines()]
    assert lines and all({"time", "level", "message"} <= set(x) for x in lines)
    assert any("3 entries" in x["message"] for x in lines)
    assert json.loads(proc.stdout)["fetched"] == 1
    quiet = subprocess.run([sys.executable, "-m", "curator", "--config", str(config), "-q",
                            "poll", "--all"], capture_output=True, text=True, check=True)
    assert quiet.stderr == ""


def test_corrupt_and_read_only_databases_give_clear_errors(tmp_path, server):
    url = server.add("/rss20.xml", file="rss20.xml")
    config = write_config(tmp_path, [url])
    db = tmp_path / "db" / "curator.db"
    db.parent.mkdir()
    db.write_bytes(b"garbage" * 1000)
    proc = subprocess.run([sys.executable, "-m", "curator", "--config", str(config), "candidates"],
                          capture_output=True, text=True)
    assert proc.returncode == 1
    assert "curator.db" in proc.stderr and "Traceback" not in proc.stderr


def _can_mount_read_only() -> bool:
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount --bind /tmp /tmp && "
                            "mount -o remount,bind,ro /tmp"], capture_output=True)
    return probe.returncode == 0


@pytest.mark.skipif(not _can_mount_read_only(),
                    reason="needs root and mount namespaces to make a read-only folder")
def test_a_read_only_database_gives_one_clear_line(server, tmp_path):
    url = server.add("/rss20.xml", file="rss20.xml")
    config = write_config(tmp_path, [url])
    curator = [sys.executable, "-m", "curator", "--config", str(config)]
    subprocess.run([*curator, "poll"], check=True, capture_output=True)
    before = (tmp_path / "db" / "curator.db").read_bytes()
    db_dir = tmp_path / "db"
    for args in (["candidates", "--json"], ["feature", "1", "--note", "x"], ["poll", "--all"]):
        # A private mount namespace: the folder is read-only for this one command only.
        script = (f"mount --bind {db_dir} {db_dir} && mount -o remount,bind,ro {db_dir} && "
                  + " ".join(shlex.quote(a) for a in [*curator, *args]))
        proc = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True,
                              text=True)
        assert proc.returncode == 1, proc.stderr
        assert "read-only" in proc.stderr and "Traceback" not in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert (tmp_path / "db" / "curator.db").read_bytes() == before
