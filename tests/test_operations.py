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
from conftest import Cli, write_config
from sqlite_utils import Database

from curator import publish
from curator.config import load
from curator.core import Curator
from curator.publish import note_html_key
from curator.schema import MIGRATIONS
from curator.store import Store
from curator.store.migrations import migrations


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
    assert "1 source added" in out.stdout
    assert "already in feeds.yaml" in out.stdout and "only http and https" in out.stdout
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


# ------------------------------------------------------------------ the note cache


def _db(cli):
    return cli.config.parent / "db" / "curator.db"


def _cached(cli, candidate_id):
    conn = sqlite3.connect(_db(cli))
    try:
        return conn.execute("SELECT note_html, note_html_key FROM candidates WHERE id = ?",
                            (candidate_id,)).fetchone()
    finally:
        conn.close()


def _drop_outputs(out):
    for path in (out["rss"], out["atom"]):
        Path(path).unlink()


def _descriptions(out):
    import feedparser

    return [e.description for e in feedparser.parse(Path(out["rss"]).read_bytes()).entries]


def test_an_edited_note_is_published_with_its_new_html(polled):
    cli = polled
    cand = cli("candidates", "--json")[0]
    cli("feature", str(cand["id"]), "--note", "First *take*.")
    out = cli("publish", "--json")
    assert "<em>take</em>" in _descriptions(out)[0]
    assert _cached(cli, cand["id"]) == ("<p>First <em>take</em>.</p>",
                                        note_html_key("First *take*."))

    cli("feature", str(cand["id"]), "--note", "Second **take**.")
    out = cli("publish", "--json")
    assert out["changed"] is True
    [body] = _descriptions(out)
    assert "<strong>take</strong>" in body and "First" not in body
    assert _cached(cli, cand["id"]) == ("<p>Second <strong>take</strong>.</p>",
                                        note_html_key("Second **take**."))

    # Rendering again from the cache gives the very same files.
    files = [Path(out[k]).read_bytes() for k in ("rss", "atom")]
    _drop_outputs(out)
    again = cli("publish", "--json")
    assert [Path(again[k]).read_bytes() for k in ("rss", "atom")] == files


def _publish_importing(cli):
    """`curator publish` in its own process; its JSON and the modules it imported."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "curator", "--config",
                           str(cli.config), "-q", "publish", "--json"],
                          capture_output=True, text=True, check=True)
    modules = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()
               if line.startswith("import time:")}
    return json.loads(proc.stdout), modules


def test_a_publish_with_every_note_cached_never_loads_markdown(polled):
    cli = polled
    cands = cli("candidates", "--json")
    cli("feature", str(cands[0]["id"]), "--note", "A note with *emphasis*.")
    cli("feature", str(cands[1]["id"]), "--note", "A [link](https://example.org/).")
    first = cli("publish", "--json")  # renders both notes and keeps their HTML
    files = [Path(first[k]).read_bytes() for k in ("rss", "atom")]

    _drop_outputs(first)  # so this publish must render the feeds
    out, modules = _publish_importing(cli)
    assert out["changed"] is True and out["items"] == 2
    assert "feedgen.feed" in modules  # it did render
    assert not {m for m in modules if m.split(".")[0] == "markdown_it"}
    assert [Path(out[k]).read_bytes() for k in ("rss", "atom")] == files

    # An edited note is rendered, so Markdown loads again, for that publish only.
    cli("feature", str(cands[1]["id"]), "--note", "An **edited** note.")
    out, modules = _publish_importing(cli)
    assert "markdown_it" in modules
    assert any("<strong>edited</strong>" in d for d in _descriptions(out))
    _drop_outputs(out)
    out, modules = _publish_importing(cli)
    assert out["changed"] is True and "markdown_it" not in modules


def test_a_deleted_feed_file_is_written_again_without_rendering_the_site(polled):
    cli = polled
    cand = cli("candidates", "--json")[0]
    cli("feature", str(cand["id"]), "--note", "Why it matters.")
    first = cli("publish", "--json")
    rss, atom = Path(first["rss"]), Path(first["atom"])
    site = rss.parent
    pages = {p: p.read_bytes() for p in site.rglob("*.html")}
    assert pages and (site / "feed.json").exists()
    before = {p: p.stat().st_mtime_ns for p in pages}
    atom_bytes, rss_bytes = atom.read_bytes(), rss.read_bytes()

    rss.unlink()
    out, modules = _publish_importing(cli)
    assert out["changed"] is True and rss.read_bytes() == rss_bytes
    assert atom.read_bytes() == atom_bytes
    # Only the RSS file was rendered: neither the site's code nor its templates loaded.
    assert "curator.site" not in modules and "jinja2" not in modules
    assert {p: p.stat().st_mtime_ns for p in pages} == before

    # A page of the site edited by hand is written again: the site, not the feeds.
    index = site / "index.html"
    index.write_text("defaced")
    out, modules = _publish_importing(cli)
    assert out["changed"] is True and "curator.site" in modules
    assert index.read_bytes() == pages[index] and rss.read_bytes() == rss_bytes
    assert cli("publish", "--json")["changed"] is False


def test_the_cache_key_names_the_note_and_the_version(monkeypatch):
    key = publish.note_html_key("A note")
    assert key == publish.note_html_key("A note")
    assert key != publish.note_html_key("A note.")
    monkeypatch.setattr(publish, "__version__", "99.0.0")
    assert publish.note_html_key("A note") != key


def test_a_new_version_renders_every_cached_note_again(polled, monkeypatch):
    cli = polled
    cand = cli("candidates", "--json")[0]
    cli("feature", str(cand["id"]), "--note", "The *real* note.")
    out = cli("publish", "--json")
    html, key = _cached(cli, cand["id"])
    # The publish trusts HTML whose key matches (a stand-in for what an older renderer made)...
    conn = sqlite3.connect(_db(cli))
    conn.execute("UPDATE candidates SET note_html = '<p>from before</p>' WHERE id = ?",
                 (cand["id"],))
    conn.commit()
    conn.close()
    _drop_outputs(out)
    assert "from before" in _descriptions(cli("publish", "--json"))[0]
    # ...until the version changes.
    monkeypatch.setattr(publish, "__version__", "99.0.0")
    out = cli("publish", "--json")
    assert out["changed"] is True
    body = _descriptions(out)[0]
    assert "from before" not in body and "<em>real</em>" in body
    assert _cached(cli, cand["id"]) == (html, publish.note_html_key("The *real* note."))
    assert publish.note_html_key("The *real* note.") != key


def test_a_database_from_schema_0002_with_featured_items_publishes(server, tmp_path, clock):
    url = server.add("/rss20.xml", file="rss20.xml")
    config = write_config(tmp_path, [{"url": url, "name": "Policy Desk"}])
    path = tmp_path / "db" / "curator.db"
    path.parent.mkdir()
    old = Database(path)
    migrations.apply(old, stop_before="0003_note_html_cache")
    old.close()
    # What curator before the note cache left behind: polled, two items featured with notes.
    cur = Curator(load(config), store=Store(path, migrate=False))
    cur.poll()
    cands = cur.candidates()
    cur.feature(cands[0].id, "Why *this* matters.", editor="alice")
    cur.feature(cands[1].id, "", editor="alice")
    columns = {r[1] for r in cur.store.conn.execute("PRAGMA table_info(candidates)")}
    assert "note_html" not in columns and cur.store.schema_names() == list(MIGRATIONS[:2])
    cur.close()

    cli = Cli(config)
    out = cli("publish", "--json")
    assert out["items"] == 2 and out["changed"] is True
    bodies = _descriptions(out)
    assert sum("<em>this</em> matters" in b for b in bodies) == 1
    assert all('<p class="via">' in b for b in bodies)
    assert (tmp_path / "db" / "curator.db.before-0003_note_html_cache.bak").exists()
    assert _cached(cli, cands[0].id)[0] == "<p>Why <em>this</em> matters.</p>"
    assert _cached(cli, cands[1].id)[0] == ""
    assert cli("publish", "--json")["changed"] is False


# ------------------------------------------------------------------ the activity log


def _activity(cli):
    conn = sqlite3.connect(_db(cli))
    try:
        return conn.execute("SELECT action, source_id, editor, at, detail FROM activity_log"
                            " ORDER BY id").fetchall()
    finally:
        conn.close()


def test_cli_enable_and_publish_record_curator_editor(server, make_cli, clock, monkeypatch):
    url = server.add("/gone.xml", b"", status=410, validators=False)
    cli = make_cli([{"url": url, "name": "Gone"}])
    cli("poll", "--json")
    assert cli("sources", "--json")[0]["disabled"]
    monkeypatch.setenv("CURATOR_EDITOR", "olga")
    clock.advance(minutes=5)
    out = cli("enable", "Gone")
    assert out.stdout == "enabled Gone; it will be polled next time\n"  # output unchanged
    [(action, source_id, editor, at, detail)] = _activity(cli)
    assert (action, source_id, editor, at) == ("enable", 1, "olga", "2026-11-26T12:05:00Z")
    assert "410" in detail  # what the enable cleared
    clock.advance(minutes=5)
    result = cli("publish", "--json")
    assert set(result) == {"rss", "atom", "items", "changed"} and result["changed"] is True
    assert _activity(cli)[1:] == [("publish", None, "olga", "2026-11-26T12:10:00Z", "0 items")]
    assert cli("publish", "--json")["changed"] is False
    assert len(_activity(cli)) == 2  # nothing changed, nothing recorded
    # `curator sources --json` keeps the shape SPEC.md gives it.
    assert set(cli("sources", "--json")[0]) == {
        "url", "name", "status", "last_polled", "last_ok", "next_due", "failures", "error",
        "disabled"}


def _schema_0003(tmp_path, last_publish=None):
    path = tmp_path / "db" / "curator.db"
    path.parent.mkdir()
    old = Database(path)
    migrations.apply(old, stop_before="0004_activity_log")
    if last_publish is not None:  # what the desk kept of its last publish before 0004
        old.execute("INSERT INTO state (key, value) VALUES ('web_last_publish', ?)",
                    [last_publish])
        old.conn.commit()
    old.close()
    return path


def test_a_database_from_schema_0003_gets_the_activity_log(server, tmp_path, clock, monkeypatch):
    url = server.add("/gone.xml", b"", status=410, validators=False)
    config = write_config(tmp_path, [{"url": url, "name": "Gone"}])
    path = _schema_0003(tmp_path, json.dumps(
        {"editor": "maria", "at": "2026-11-20T09:00:00Z", "items": 3}))
    # What curator before the activity log left behind: a source disabled by a 410.
    cur = Curator(load(config), store=Store(path, migrate=False))
    cur.poll()
    assert cur.store.schema_names() == list(MIGRATIONS[:3])
    assert cur.store.source(1).disabled
    cur.close()

    monkeypatch.setenv("CURATOR_EDITOR", "olga")
    cli = Cli(config)
    cli("enable", "Gone")
    cli("publish", "--json")
    store = Store(path)
    try:
        assert store.schema_names() == list(MIGRATIONS)
        assert store.get_state("web_last_publish") is None  # now the log's first row
        assert store.activity("publish") == [
            {"id": 3, "action": "publish", "source_id": None, "editor": "olga",
             "at": "2026-11-26T12:00:00Z", "detail": "0 items"},
            {"id": 1, "action": "publish", "source_id": None, "editor": "maria",
             "at": "2026-11-20T09:00:00Z", "detail": "3 items"}]
        assert store.last_enabled()[1]["editor"] == "olga"
    finally:
        store.close()
    assert (tmp_path / "db" / "curator.db.before-0004_activity_log.bak").exists()


@pytest.mark.parametrize("value", ["not json", '{"editor": "maria"}', "[1, 2]", "null"])
def test_an_unreadable_last_publish_is_left_alone_by_the_upgrade(tmp_path, value):
    path = _schema_0003(tmp_path, value)
    store = Store(path)
    try:
        assert store.schema_names() == list(MIGRATIONS)
        assert store.activity("publish") == []
        assert store.get_state("web_last_publish") == value
    finally:
        store.close()
