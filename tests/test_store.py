"""The store: migrations, WAL, dedup by canonical URL, review log, retention.

Tests taking `store` run on both backends: a SQLite file and a PostgreSQL database.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import suppress
from datetime import UTC, datetime, timedelta

import pytest

from curator.clock import iso
from curator.exceptions import NotFound, StoreError
from curator.polltypes import EntryData
from curator.schema import MIGRATIONS
from curator.store import Store
from curator.store.migrations import SCHEMA_VERSION

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def entry(key: str, url: str | None, title: str = "T", text: str = "", **kw) -> EntryData:
    return EntryData(key=key, url=url, link=url, title=title, summary=f"<p>{text}</p>",
                     content="", text=text, **kw)


@pytest.fixture
def store(backend):
    s = Store(backend)
    s.sync_sources([("https://a.example/feed", "A", None), ("https://b.example/feed", None, 900)],
                   T0)
    yield s
    s.close()


def ids(store):
    return {s.url: s.id for s in store.sources()}


def test_schema_wal_and_version(tmp_path):
    store = Store(tmp_path / "db" / "c.db")
    conn = store.db.conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    tables = set(store.db.table_names())
    assert {"sources", "entries", "entry_topics", "candidates", "candidate_topics", "review_log",
            "editors", "state", "_sqlite_migrations"} <= tables
    assert conn.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0] == SCHEMA_VERSION


def test_reopening_applies_nothing_and_a_newer_database_is_refused(tmp_path):
    path = tmp_path / "c.db"
    Store(path).close()
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at)"
                 " VALUES ('curator', '9999_from_the_future', 'x')")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="newer curator"):
        Store(path)


def test_upgrade_takes_a_backup_first(tmp_path, monkeypatch):
    from curator.store import migrations as m

    path = tmp_path / "c.db"
    Store(path).close()

    def m9999_extra(db):
        db.execute("CREATE TABLE extra (x)")

    m.migrations(name="9999_test_extra")(m9999_extra)
    monkeypatch.setattr("curator.store.base.MIGRATIONS", (*MIGRATIONS, "9999_test_extra"))
    try:
        s = Store(path)
        assert "extra" in s.db.table_names()
        s.close()
        backups = list(tmp_path.glob("c.db.before-9999_test_extra.bak"))
        assert len(backups) == 1
        old = sqlite3.connect(backups[0])
        assert "extra" not in {r[0] for r in old.execute("SELECT name FROM sqlite_master")}
        assert old.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        m.migrations._migrations.pop()


def test_same_url_from_two_sources_is_one_candidate(store):
    a, b = ids(store)["https://a.example/feed"], ids(store)["https://b.example/feed"]
    r1 = store.save_entries(a, [entry("1", "https://x.example/story", "Story")], [["t1"]], T0)
    r2 = store.save_entries(b, [entry("z", "https://x.example/story", "Story (B)")], [["t2"]], T0)
    assert (r1.new, r1.new_candidates) == (1, 1)
    assert (r2.new, r2.new_candidates) == (1, 0)
    [c] = store.candidates()
    assert c.sources == ("A", "https://b.example/feed")
    assert c.topics == ("t1", "t2")
    assert c.title == "Story"


def test_identity_update_in_place_and_unmatched_entries_kept(store):
    a = ids(store)["https://a.example/feed"]
    store.save_entries(a, [entry("1", "https://x.example/1", "One"),
                           entry("2", "https://x.example/2", "Two")], [["t"], []], T0)
    again = store.save_entries(a, [entry("1", "https://x.example/1", "One"),
                                   entry("2", "https://x.example/2", "Two")], [["t"], []], T0)
    assert (again.new, again.updated) == (0, 0)
    changed = store.save_entries(a, [entry("1", "https://x.example/1", "One, corrected")],
                                 [["t"]], T0)
    assert (changed.new, changed.updated) == (0, 1)
    assert store.entry_count() == 2
    assert [c.title for c in store.candidates()] == ["One, corrected"]


def test_an_update_that_no_longer_matches_drops_only_new_candidates(store):
    a = ids(store)["https://a.example/feed"]
    store.save_entries(a, [entry("1", "https://x.example/1", "One", "match")], [["t"]], T0)
    store.save_entries(a, [entry("1", "https://x.example/1", "One", "nothing")], [[]], T0)
    assert store.candidates(status="all") == []
    store.save_entries(a, [entry("2", "https://x.example/2", "Two", "match")], [["t"]], T0)
    [c] = store.candidates()
    store.set_status(c.id, "featured", editor="ed", now=T0, note="Note")
    store.save_entries(a, [entry("2", "https://x.example/2", "Two", "nothing")], [[]], T0)
    assert [x.id for x in store.candidates(status="featured")] == [c.id]


def test_feature_edit_reject_reset_and_the_log(store):
    a = ids(store)["https://a.example/feed"]
    store.save_entries(a, [entry("1", "https://x.example/1", "One")], [["t"]], T0)
    [c] = store.candidates()
    f = store.set_status(c.id, "featured", editor="ann", now=T0, note="First")
    guid = f.guid
    assert f.status == "featured" and iso(f.featured_at) == "2026-11-26T12:00:00Z"
    later = T0 + timedelta(hours=1)
    e = store.set_status(c.id, "featured", editor="bob", now=later, note="Second")
    assert e.guid == guid and e.featured_at == f.featured_at
    assert iso(e.note_updated_at) == "2026-11-26T13:00:00Z"
    same = store.set_status(c.id, "featured", editor="bob", now=later, note="Second")
    assert len(same.history) == 2  # an unchanged note is not logged twice
    r = store.set_status(c.id, "rejected", editor="cy", now=later)
    assert r.guid is None and r.featured_at is None
    n = store.set_status(c.id, "new", editor="cy", now=later)
    assert n.status == "new" and n.note == "Second"
    again = store.set_status(c.id, "featured", editor="ann", now=later)
    assert again.guid != guid and again.note == "Second"
    assert [(h.action, h.editor) for h in again.history] == [
        ("feature", "ann"), ("edit-note", "bob"), ("reject", "cy"), ("reset", "cy"),
        ("feature", "ann")]
    with pytest.raises(NotFound):
        store.set_status(999, "rejected", editor="x", now=T0)


def test_prune_keeps_reviewed_candidates(store):
    a = ids(store)["https://a.example/feed"]
    store.save_entries(a, [entry("old", "https://x.example/old", "Old"),
                           entry("kept", "https://x.example/kept", "Kept")], [["t"], ["t"]], T0)
    kept = [c for c in store.candidates() if c.title == "Kept"][0]
    store.set_status(kept.id, "rejected", editor="ed", now=T0)
    later = T0 + timedelta(days=200)
    store.save_entries(a, [entry("new", "https://x.example/new", "New")], [["t"]], later)
    removed = store.prune(later - timedelta(days=90))
    assert removed == 1
    assert {c.title for c in store.candidates(status="all")} == {"Kept", "New"}


def test_sources_removed_from_config_keep_their_entries(store):
    a = ids(store)["https://a.example/feed"]
    store.save_entries(a, [entry("1", "https://x.example/1", "One")], [["t"]], T0)
    store.sync_sources([("https://b.example/feed", None, None)], T0)
    assert [s.url for s in store.sources()] == ["https://b.example/feed"]
    assert store.entry_count() == 1 and len(store.candidates()) == 1
    assert store.candidates()[0].sources == ("A",)


def test_backup_is_a_consistent_copy(tmp_path):
    store = Store(tmp_path / "db" / "c.db")
    store.sync_sources([("https://a.example/feed", "A", None)], T0)
    a = ids(store)["https://a.example/feed"]
    store.save_entries(a, [entry("1", "https://x.example/1", "One")], [["t"]], T0)
    target = tmp_path / "backups" / "copy.db"
    target.parent.mkdir()  # the store writes into a folder its caller chose (and made)
    store.backup(target)
    copy = Store(target)
    assert copy.entry_count() == 1
    assert copy.db.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    copy.close()


def test_unreadable_database_is_a_store_error(tmp_path):
    bad = tmp_path / "junk.db"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="junk.db"):
        Store(bad)


def test_rematch_lets_other_writers_in_while_it_matches(store, tmp_path):
    a = ids(store)["https://a.example/feed"]
    store.save_entries(a, [entry(str(i), f"https://x.example/{i}", f"Story {i}", "match")
                           for i in range(50)], [["t"]] * 50, T0)
    other = Store(store.target)
    if not store.postgres:
        other.conn.execute("PRAGMA busy_timeout = 200")  # would fail fast if rematch held the lock
    wrote = []

    def match(title: str, text: str) -> list[str]:
        if not wrote:
            [c] = other.candidates(limit=1)
            other.set_status(c.id, "featured", editor="desk", now=T0, note="meanwhile")
            wrote.append(c.id)
        return ["t"] if title.endswith("7") else []

    entries, new, dropped = store.rematch(match, T0)
    assert entries == 50 and wrote
    assert [c.id for c in store.candidates(status="featured")] == wrote  # never dropped
    assert {c.title for c in store.candidates()} == {"Story 7", "Story 17", "Story 27",
                                                        "Story 37", "Story 47"} - {
        c.title for c in store.candidates(status="featured")}
    other.close()


def test_prune_works_in_small_batches(store):
    a = ids(store)["https://a.example/feed"]
    store.save_entries(a, [entry(str(i), f"https://x.example/{i}", f"S{i}", "m")
                           for i in range(23)], [["t"]] * 23, T0)
    later = T0 + timedelta(days=200)
    assert store.prune(later, batch=5) == 23
    assert store.entry_count() == 0 and store.candidates(status="all") == []


def test_stored_times_read_back_as_written_and_an_odd_imported_spelling_still_reads():
    from curator.clock import parse_iso, read_iso

    for value in ("2026-11-26T12:00:00Z", "1999-01-02T03:04:05Z", "2026-1-5T1:2:3Z"):
        assert read_iso(value) == parse_iso(value)
        assert read_iso(value).tzinfo is not None  # type: ignore[union-attr]
    assert read_iso(None) is None and read_iso("") is None


def test_times_are_written_as_strftime_writes_them_in_any_zone_and_year():
    import random
    from datetime import timezone
    from zoneinfo import ZoneInfo

    rng = random.Random(7)
    zones = [UTC, None, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8)),
             ZoneInfo("Europe/Paris"), ZoneInfo("UTC")]
    for _ in range(5000):
        dt = datetime(rng.choice([rng.randint(1, 999), rng.randint(1000, 9998)]),
                      rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23),
                      rng.randint(0, 59), rng.randint(0, 59), rng.randint(0, 999_999),
                      tzinfo=rng.choice(zones))
        aware = dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
        assert iso(dt) == aware.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert iso(None) is None


def test_a_sources_row_becomes_the_source_its_constructor_makes(store):
    from dataclasses import FrozenInstanceError, fields

    from curator.clock import read_iso
    from curator.rows import Source
    from curator.store.sources import to_source

    sid = ids(store)["https://a.example/feed"]
    store.update_source(sid, etag='"e"', failures=3, failing_since=iso(T0), disabled="gone",
                        next_due=iso(T0 + timedelta(hours=1)))
    row = store._one("SELECT * FROM sources WHERE id = ?", (sid,))
    assert row is not None and "claimed_by" in row  # a column Source has no field for
    built = to_source(row)
    columns = {f.name for f in fields(Source)} - {"stale"}
    values = {k: v for k, v in row.items() if k in columns}
    for k in ("last_polled", "last_ok", "failing_since", "next_due", "retry_after", "added"):
        values[k] = read_iso(values[k])
    expected = Source(**values | {"in_config": bool(values["in_config"])})
    assert (built.etag, built.failures, built.failing_since, built.disabled, built.next_due) == (
        '"e"', 3, T0, "gone", T0 + timedelta(hours=1))
    assert built == expected and repr(built) == repr(expected) and hash(built) == hash(expected)
    assert built.added is not None and built.added.tzinfo is not None and not built.stale
    # Every slot set (an unset one would raise here), and no instance dict (a poll holds a
    # Source per source it polls: slots take a sixth of the memory).
    assert [getattr(built, f.name) for f in fields(Source)] == [
        getattr(expected, f.name) for f in fields(Source)]
    assert not hasattr(built, "__dict__") and not hasattr(expected, "__dict__")
    with pytest.raises(FrozenInstanceError):
        built.etag = "x"  # type: ignore[misc]
    # A row without every column gets the dataclass's defaults, or its error for a required one.
    partial = to_source({"id": 5, "url": "u", "url_in_use": "u", "failures": None})
    assert partial == Source(id=5, url="u", url_in_use="u")
    with pytest.raises(TypeError):
        to_source({"id": 5, "url": "u"})


def test_outcomes_recorded_together_are_recorded_as_one_by_one(tmp_path):
    # A quiet poll records its 304s and failures in one statement per shape; each source must
    # end up exactly as recording it alone leaves it.
    from curator.polltypes import Failed, NewBody, Refreshed, SourceData

    later = T0 + timedelta(minutes=30)
    outcomes = [
        Refreshed(how="not modified", polled_at=later, status=304, next_due=later, max_age=None,
                  validators=None),
        Refreshed(how="not modified", polled_at=later, status=304, next_due=later, max_age=60,
                  validators=('"e2"', None), moved_to="https://c.example/moved"),
        Failed(polled_at=later, status=503, message="busy", failures=2, failing_since=T0,
               next_due=later + timedelta(hours=1), retry_after=later + timedelta(hours=1)),
        Refreshed(how="fetched", polled_at=later, status=200, next_due=later, max_age=None,
                  validators=(None, "Mon, 01 Jan 2024"), warning="no entries found",
                  body=NewBody(SourceData("Feed title", "https://c.example/"), "h", 0)),
    ]
    urls = [f"https://{n}.example/feed" for n in "abcd"]
    stores = [Store(tmp_path / "together.db"), Store(tmp_path / "alone.db")]
    for s in stores:
        s.sync_sources([(u, None, None) for u in urls], T0)
    together, alone = stores
    ids_t, ids_a = ids(together), ids(alone)
    together.record_polls([(ids_t[u], o) for u, o in zip(urls, outcomes, strict=True)])
    for u, o in zip(urls, outcomes, strict=True):
        alone.record_poll(ids_a[u], o)
    assert [s for s in together.sources()] == [s for s in alone.sources()]
    assert [s.status for s in together.sources()] == [304, 304, 503, 200]
    for s in stores:
        s.close()


def test_new_entries_ids_follow_the_largest_as_sqlite_gives_them(tmp_path):
    # On SQLite a source's new entries take their ids before they are written (one more than
    # the largest, in the feed's order: what SQLite itself gives a row without one), so that
    # a matched entry needs no INSERT ... RETURNING of its own. Checked against SQLite's own
    # numbering, after the largest entry was deleted (retention can delete it) too.
    s = Store(tmp_path / "c.db")
    plain = sqlite3.connect(tmp_path / "plain.db")
    try:
        s.sync_sources([("https://a.example/feed", "A", None)], T0)
        [src] = s.sources()
        s.save_entries(src.id, [entry(f"old{i}", f"https://a.example/old{i}") for i in range(5)],
                       [[] for _ in range(5)], T0)
        s.conn.execute("DELETE FROM entries WHERE key IN ('old4', 'old3')")
        plain.execute("CREATE TABLE entries (id INTEGER PRIMARY KEY, key TEXT)")
        plain.executemany("INSERT INTO entries (id, key) VALUES (?, ?)",
                          s.conn.execute("SELECT id, key FROM entries ORDER BY id").fetchall())
        keys = ["q1", "m1", "q2", "q3", "m2", "m3", "q4"]
        es = [entry(k, f"https://a.example/{k}", f"Story {k}") for k in keys]
        topics = [["t"] if k.startswith("m") else [] for k in keys]
        with s.write_batch():
            s.save_entries(src.id, es, topics, T0 + timedelta(hours=1))
        for k in keys:  # SQLite's numbering, one row at a time in the feed's order
            plain.execute("INSERT INTO entries (key) VALUES (?)", (k,))
        want = plain.execute("SELECT id, key FROM entries ORDER BY id").fetchall()
        got = s.conn.execute("SELECT id, key FROM entries ORDER BY id").fetchall()
        assert got == want and [k for _, k in got[-7:]] == keys
        # The matched entries' topics and candidates name their own rows.
        assert sorted(s.conn.execute(
            "SELECT e.key, c.url FROM candidates c JOIN entries e ON e.id = c.entry_id"
            " JOIN entry_topics t ON t.entry_id = e.id").fetchall()) == [
            (k, f"https://a.example/{k}") for k in ("m1", "m2", "m3")]
    finally:
        plain.close()
        s.close()


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs Linux's /proc")
def test_a_write_batch_journals_its_sources_in_memory(tmp_path):
    # Each source's savepoint journals the pages it changes; SQLite wrote that journal to a
    # temporary file (deleted as it is opened, open until the transaction ends): for the worst
    # mix's first poll more bytes than the WAL and the database together.
    def temp_files() -> list[str]:
        names = []
        for fd in os.listdir("/proc/self/fd"):
            with suppress(OSError):
                names.append(os.readlink(f"/proc/self/fd/{fd}"))
        return [n for n in names if "etilqs" in n]

    s = Store(tmp_path / "c.db")
    try:
        s.sync_sources([(f"https://{n}.example/feed", n, None) for n in "abc"], T0)
        a, b, c = (x.id for x in sorted(s.sources(), key=lambda x: x.url))
        text = "word " * 400

        def many(prefix: str) -> list[EntryData]:
            return [entry(f"{prefix}{i}", f"https://{prefix}.example/{i}", f"Story {prefix} {i}",
                          text) for i in range(300)]

        s.save_entries(a, many("a"), [[] for _ in range(300)], T0)
        seen: list[str] = []
        with s.write_batch():
            s.save_entries(b, many("b"), [[] for _ in range(300)], T0)
            s.save_entries(c, many("c"), [[] for _ in range(300)], T0)
            seen = temp_files()
            inside = s.conn.execute("PRAGMA temp_store").fetchone()[0]
        assert seen == [] and inside == 2
        assert s.conn.execute("PRAGMA temp_store").fetchone()[0] == 0  # for the batch only
        assert s.entry_count() == 900
    finally:
        s.close()
