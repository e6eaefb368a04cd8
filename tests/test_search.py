"""Full-text search over every stored entry, promote, and `rematch --dry-run`.

Tests taking `store` or `desk_cli` run on both backends: SQLite's FTS5, PostgreSQL's text search.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from sqlite_utils import Database

from curator.polltypes import EntryData
from curator.schema import MIGRATIONS
from curator.store import Store, migrations
from curator.store.search import MAX_QUERY, SearchStore, fts_query

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def entry(key: str, title: str, text: str = "", url: str | None = "", content: str = ""
          ) -> EntryData:
    link = f"https://news.example/{key}" if url == "" else url
    return EntryData(key=key, url=link, link=link, title=title, summary=f"<p>{text}</p>",
                     content=content, text=" ".join(x for x in (text, content) if x))


@pytest.fixture
def store(backend):
    s = Store(backend)
    s.sync_sources([("https://a.example/feed", "Desk A", None),
                    ("https://b.example/feed", "Desk B", None)], T0)
    yield s
    s.close()


def source(store: Store, url: str = "https://a.example/feed") -> int:
    return {s.url: s.id for s in store.sources()}[url]


def titles(rows):
    return [r["title"] for r in rows]


# ------------------------------------------------------------------ the query language

HOSTILE = ['"', '""', "'", "AND", "OR", "NOT", "NEAR", "NEAR(a b)", "(", ")", "a AND (", "*",
           "-", "---", "title:x", "text : y", "^x", 'x"y', "a OR", "OR a", "a OR OR b",
           "{title text}: x", "\x00", "🙂", "ü", "a'b", "x*y*", "-\"", "- -a", "col:*",
           "a" * 10_000, " ".join(["w"] * 5000), '"' * 999, "\\", "%", "_"]


@pytest.mark.parametrize("query", HOSTILE)
def test_no_query_is_an_fts_syntax_error(query):
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(title, text)")
    conn.execute("INSERT INTO t VALUES ('a title', 'some text')")
    expr = fts_query(query)
    if expr is not None:
        conn.execute("SELECT * FROM t WHERE t MATCH ?", (expr,)).fetchall()
        assert len(expr) < 4 * MAX_QUERY


@pytest.mark.parametrize(("query", "expr"), [
    ("police doorbell", '("police" AND "doorbell")'),
    ('"age verification" law', '("age verification" AND "law")'),
    ("subpoena*", '("subpoena"*)'),
    ("fine OR penalty", '("fine") OR ("penalty")'),
    ("meta -earnings", '(("meta")) NOT ("earnings")'),
    ("don't", '("don t")'),
    ("", None),
    ("-only -negatives", None),
    ("AND OR NOT", '("AND") OR ("NOT")'),  # FTS5's keywords are read as words
])
def test_the_query_language(query, expr):
    assert fts_query(query) == expr


# ------------------------------------------------------------------ search in the store


def test_search_finds_title_summary_and_content_best_first(store):
    a = source(store)
    store.save_entries(a, [
        entry("1", "Quarterly results", "A passing mention of the doorbell camera maker."),
        entry("2", "Police used doorbell videos without asking owners", "Records show it."),
        entry("3", "Unrelated", "Nothing here.", content="<p>Deep in the body: subpoenaed</p>"),
    ], [[], [], []], T0)
    ss = SearchStore(store)
    rows = ss.search("doorbell")
    assert titles(rows) == ["Police used doorbell videos without asking owners",
                            "Quarterly results"]
    assert set(rows[0]) >= {"entry", "title", "url", "source", "published", "candidate",
                            "snippet"}
    assert rows[0]["source"] == "Desk A" and rows[0]["candidate"] is None
    assert rows[1]["snippet"] == "A passing mention of the \x02doorbell\x03 camera maker."
    # Stems: "subpoena" finds "subpoenaed", which only the content holds.
    assert titles(ss.search("subpoena")) == ["Unrelated"]
    assert ss.search("doorbell", limit=1, offset=1)[0]["title"] == "Quarterly results"
    for query in HOSTILE:
        ss.search(query)  # never raises


def test_one_result_per_article_and_its_candidate(store):
    a, b = source(store), source(store, "https://b.example/feed")
    e = entry("x", "Regulator fines TikTok over teenagers' accounts")
    store.save_entries(a, [e], [["privacy"]], T0)
    store.save_entries(b, [e], [["privacy"]], T0)
    [row] = SearchStore(store).search("tiktok")
    [cand] = store.candidates()
    assert row["candidate"] == cand.id and row["status"] == "new"


def test_the_index_follows_updates_and_deletes(store):
    a = source(store)
    store.save_entries(a, [entry("1", "Old headline about geofence warrants")], [[]], T0)
    ss = SearchStore(store)
    assert titles(ss.search("geofence"))
    store.save_entries(a, [entry("1", "New headline about keyword searches")], [[]],
                       T0 + timedelta(hours=1))
    assert ss.search("geofence") == []
    assert titles(ss.search("keyword")) == ["New headline about keyword searches"]
    # Seen again unchanged: only last_seen moves, and the index stays right.
    store.save_entries(a, [entry("1", "New headline about keyword searches")], [[]],
                       T0 + timedelta(hours=2))
    assert len(ss.search("keyword")) == 1
    assert store.prune(T0 + timedelta(days=1)) == 1
    assert ss.search("keyword") == []
    if not store.postgres:
        assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        store.conn.execute("INSERT INTO entries_fts (entries_fts) VALUES ('integrity-check')")


def _raw_entry(store: Store, source_id: int, key: str, title: str, text: str = "") -> None:
    """An entry written straight into the table, as another program (or an older curator)
    would: not through the store, so nothing indexed it for search."""
    url = f"https://news.example/raw/{key}"
    with store.write():
        store.conn.execute(
            "INSERT INTO entries (url, link, title, text, hash, source_id, key, first_seen,"
            " last_seen) VALUES (?, ?, ?, ?, 'h', ?, ?, ?, ?)",
            (url, url, title, text, source_id, key, "2026-11-26T12:00:00Z",
             "2026-11-26T12:00:00Z"))


def _fts_ok(store: Store) -> None:
    if not store.postgres:
        store.conn.execute("INSERT INTO entries_fts (entries_fts) VALUES ('integrity-check')")
        assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_search_sees_entries_that_no_index_write_followed(store):
    """Entries stored by any writer are found: a search first indexes what is not indexed yet."""
    a = source(store)
    store.save_entries(a, [entry("1", "Geofence warrants reach the court")], [[]], T0)
    _raw_entry(store, a, "r1", "Keyword warrants challenged", "a geofence too")
    _raw_entry(store, a, "r2", "Unrelated earnings")
    ss = SearchStore(store)
    assert sorted(titles(ss.search("geofence"))) == ["Geofence warrants reach the court",
                                                    "Keyword warrants challenged"]
    assert titles(ss.search("earnings")) == ["Unrelated earnings"]
    # Changed and deleted before and after they were indexed: the index stays right.
    _raw_entry(store, a, "r3", "Spyware vendor fined")
    with store.write():
        store.conn.execute("UPDATE entries SET title = 'Spyware vendor cleared' WHERE key = 'r3'")
        store.conn.execute("DELETE FROM entries WHERE key = 'r2'")
    assert titles(ss.search("spyware")) == ["Spyware vendor cleared"]
    assert ss.search("fined") == [] and ss.search("earnings") == []
    _fts_ok(store)


def test_the_newest_entries_pruned_then_new_ones_stored_are_all_searchable(store):
    """Ids of deleted newest entries come back (SQLite reuses them): new entries under those
    ids are indexed, and nothing is indexed twice."""
    a = source(store)
    store.save_entries(a, [entry(str(i), f"Old story number {i} about subpoenas")
                           for i in range(5)], [[]] * 5, T0)
    assert store.prune(T0 + timedelta(days=1)) == 5
    assert SearchStore(store).search("subpoenas") == []
    later = T0 + timedelta(days=2)
    store.save_entries(a, [entry(f"n{i}", f"New story number {i} about warrants")
                           for i in range(3)], [[]] * 3, later)
    assert len(SearchStore(store).search("warrants")) == 3
    assert SearchStore(store).search("subpoenas") == []
    _fts_ok(store)


def test_a_poll_s_entries_are_indexed_a_few_thousand_at_a_time_and_when_it_ends(tmp_path):
    """SQLite: a transaction's new entries are indexed together before it commits (FTS5 made a
    segment per source's savepoint when each insert indexed itself); a poll lets them wait for
    a few thousand (its write batches are often a few sources) and indexes the rest at its end.
    A search meanwhile sees them all."""
    s = Store(tmp_path / "c.db")
    s.sync_sources([("https://a.example/feed", "A", None), ("https://b.example/feed", "B", None)],
                   T0)
    a, b = source(s), source(s, "https://b.example/feed")

    def indexed() -> int:
        return int(s.conn.execute("SELECT count(*) FROM entries_fts_docsize").fetchone()[0])

    with s.write_batch():
        s.save_entries(a, [entry("1", "Doorbell footage shared with police")], [[]], T0)
        s.save_entries(b, [entry("2", "Doorbell maker settles")], [["privacy"]], T0)
        assert indexed() == 0
    assert indexed() == 2
    with s.search_index_deferred(entries=3):
        s.save_entries(a, [entry("3", "Doorbell camera recalls")], [[]], T0)
        s.save_entries(a, [entry("4", "Doorbell app outage")], [[]], T0)
        assert indexed() == 2  # two wait
        assert len(SearchStore(s).search("doorbell")) == 4  # a search indexes what waits
        assert indexed() == 4
        s.save_entries(a, [entry(str(k), "Doorbell news") for k in (5, 6)], [[]] * 2, T0)
        assert indexed() == 4
        s.save_entries(b, [entry("7", "Doorbell news again")], [[]], T0)
        assert indexed() == 7  # three waited: indexed with the commit
        s.save_entries(b, [entry("8", "Doorbell, the last")], [[]], T0)
        assert indexed() == 7
    assert indexed() == 8  # the rest when it ends
    _fts_ok(s)
    s.close()


def _upgraded_from(tmp_path, migration):
    """A database made by the migrations before `migration`, holding two entries, then opened
    (and so upgraded) by today's Store."""
    path = tmp_path / "old.db"
    old = Database(path)
    migrations.migrations.apply(old, stop_before=migration)
    old.close()
    s = Store(path, migrate=False)
    s.sync_sources([("https://a.example/feed", "A", None)], T0)
    s.save_entries(source(s), [entry("1", "Spyware maker sued by WhatsApp"),
                               entry("2", "Earnings beat forecasts")], [[], []], T0)
    s.close()
    return Store(path)


def test_a_database_indexed_row_by_row_upgrades_to_indexing_per_transaction(tmp_path):
    upgraded = _upgraded_from(tmp_path, "0012_search_index_after_writes")
    assert upgraded.schema_names() == list(MIGRATIONS)
    assert {r[0] for r in upgraded.conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger'")} == {
        "entries_fts_update", "entries_fts_delete"}
    a = source(upgraded)
    upgraded.save_entries(a, [entry("1", "Spyware maker settles with WhatsApp"),
                              entry("3", "Spyware found on phones")], [[], []],
                          T0 + timedelta(hours=1))
    ss = SearchStore(upgraded)
    assert sorted(titles(ss.search("spyware"))) == ["Spyware found on phones",
                                                   "Spyware maker settles with WhatsApp"]
    assert ss.search("sued") == []
    assert upgraded.prune(T0 + timedelta(minutes=30)) == 1  # "Earnings", not seen again
    assert ss.search("earnings") == []
    _fts_ok(upgraded)
    upgraded.close()


def test_the_migration_indexes_what_an_older_database_holds(tmp_path):
    upgraded = _upgraded_from(tmp_path, "0008_search_index")
    assert upgraded.schema_names() == list(MIGRATIONS)
    assert titles(SearchStore(upgraded).search("spyware")) == ["Spyware maker sued by WhatsApp"]
    upgraded.close()


def test_a_sqlite_file_upgraded_by_a_postgresql_only_migration_keeps_no_copy(tmp_path):
    # 0013 changes PostgreSQL's schema only: a SQLite file is not copied aside for it.
    upgraded = _upgraded_from(tmp_path, "0013_entries_compressed_with_lz4")
    assert upgraded.schema_names() == list(MIGRATIONS)
    assert not list(tmp_path.glob("*.bak"))
    assert titles(SearchStore(upgraded).search("spyware")) == ["Spyware maker sued by WhatsApp"]
    upgraded.close()


# ------------------------------------------------------------------ PostgreSQL: vectors filled later


def _waiting(s: Store) -> int:
    return int(s.conn.execute("SELECT count(*) FROM entries WHERE search IS NULL").fetchone()[0])


def _vectors_right(s: Store) -> bool:
    from curator.store.pg_schema import SEARCH_VECTOR

    return bool(s.conn.execute(f"SELECT bool_and(search = {SEARCH_VECTOR}) FROM entries"
                               ).fetchone()[0])


def test_postgresql_finds_entries_whose_search_vector_waits(pg_url):
    # A poll's write batches store entries without their vector, for its filler: a search
    # finds them meanwhile, as it finds those that have one, ranked alike.
    s = Store(pg_url)
    s.sync_sources([("https://a.example/feed", "A", None)], T0)
    a = source(s)
    s.save_entries(a, [entry("1", "Court fines the spyware maker", "a ruling on Monday")],
                   [[]], T0)
    with s.write():
        s.conn.execute(s.dialect.search_later)  # as a poll's write batch does
        s.save_entries(a, [entry("2", "Spyware fined again", "the court said"),
                           entry("3", "Earnings beat forecasts", "no fine this time"),
                           entry("4", "Nestlé recalls", "baby food")], [[], [], []], T0)
    assert _waiting(s) == 3
    ss = SearchStore(s)
    assert titles(ss.search("fined")) == ["Spyware fined again", "Court fines the spyware maker",
                                          "Earnings beat forecasts"]  # titles first, stems
    assert titles(ss.search('"spyware fined"')) == ["Spyware fined again"]
    assert titles(ss.search("fine -spyware")) == ["Earnings beat forecasts"]
    assert titles(ss.search("nestle")) == ["Nestlé recalls"]
    assert "\x02" in ss.search("baby")[0]["snippet"]
    assert _waiting(s) == 3  # a search writes nothing
    s.close()


def test_a_postgresql_poll_fills_the_vectors_its_batches_left_before_it_ends(pg_url):
    import time

    s = Store(pg_url)
    s.sync_sources([("https://a.example/feed", "A", None)], T0)
    a = source(s)
    with s.search_index_deferred():
        with s.write_batch():
            s.save_entries(a, [entry(str(i), f"Warrant story {i}") for i in range(50)],
                           [[]] * 50, T0)
        assert _waiting(s) <= 50
        deadline = time.monotonic() + 30
        while _waiting(s) and time.monotonic() < deadline:  # filled beside the poll
            time.sleep(0.01)
        assert _waiting(s) == 0
        with s.write_batch():
            s.save_entries(a, [entry(f"b{i}", f"Subpoena story {i}") for i in range(50)],
                           [[]] * 50, T0)
    assert _waiting(s) == 0 and _vectors_right(s)  # the rest when it ends
    assert len(SearchStore(s).search("subpoena", limit=100)) == 50
    s.close()


def test_postgresql_computes_the_vector_as_any_other_writer_stores_an_entry(pg_url):
    s = Store(pg_url)
    s.sync_sources([("https://a.example/feed", "A", None)], T0)
    a = source(s)
    s.save_entries(a, [entry("1", "Spyware vendor fined")], [[]], T0)
    with s.write():
        s.conn.execute("UPDATE entries SET title = 'Spyware vendor cleared' WHERE key = '1'")
    s.conn.execute("INSERT INTO entries (source_id, key, title, text, hash, first_seen,"
                   " last_seen) VALUES (?, 'raw', 'Geofence warrants', 'a court', 'h', 'x', 'x')",
                   (a,))
    assert _waiting(s) == 0 and _vectors_right(s)
    assert titles(SearchStore(s).search("cleared")) == ["Spyware vendor cleared"]
    assert SearchStore(s).search("fined") == []
    s.close()


def test_a_postgresql_database_from_before_keeps_its_vectors_and_fills_later(
        pg_blank_url, monkeypatch):
    from curator.store import pg_migrate

    # Made by the version before the vectors left the write path.
    monkeypatch.setattr(pg_migrate, "MIGRATIONS",
                        MIGRATIONS[:MIGRATIONS.index("0014_search_off_the_write_path")])
    old = Store(pg_blank_url)
    old.sync_sources([("https://a.example/feed", "A", None)], T0)
    old.save_entries(source(old), [entry("1", "Spyware maker sued by WhatsApp")], [[]], T0)
    assert old.conn.execute("SELECT is_generated FROM information_schema.columns WHERE"
                            " table_name = 'entries' AND column_name = 'search'"
                            ).fetchone()[0] == "ALWAYS"
    old.close()
    monkeypatch.undo()
    s = Store(pg_blank_url)
    assert s.schema_names() == list(MIGRATIONS)
    assert _waiting(s) == 0 and _vectors_right(s)
    with s.search_index_deferred(), s.write_batch():
        s.save_entries(source(s), [entry("2", "Spyware found on phones")], [[]], T0)
    assert _waiting(s) == 0 and _vectors_right(s)
    assert len(SearchStore(s).search("spyware")) == 2
    s.close()


def _search_calls(s: Store) -> int:
    """How many times this connection has called the search trigger's function, as far as
    its statistics not yet reported say (count the difference within a transaction)."""
    return int(s.conn.execute("SELECT coalesce(pg_stat_get_xact_function_calls("
                              "'curator_entry_search'::regproc), 0)").fetchone()[0])


def test_postgresql_calls_the_search_trigger_only_for_a_vector_it_computes(pg_url):
    # The triggers' own conditions keep a poll's inserts (and an update that leaves the title
    # and the text as they were) from calling the function at all.
    s = Store(pg_url)
    s.sync_sources([("https://a.example/feed", "A", None)], T0)
    a = source(s)
    with s.write():
        s.conn.execute("SET LOCAL track_functions = 'pl'")
        s.conn.execute(s.dialect.search_later)  # as a poll's write batch does
        was = _search_calls(s)
        s.save_entries(a, [entry(str(i), f"Warrant story {i}") for i in range(20)],
                       [[]] * 20, T0)
        assert _search_calls(s) == was
        s.conn.execute("UPDATE entries SET title = 'Warrant story, updated' WHERE key = '1'")
        assert _search_calls(s) == was + 1  # its vector waits again, for the filler
    assert _waiting(s) == 20
    with s.write():
        s.conn.execute("SET LOCAL track_functions = 'pl'")
        was = _search_calls(s)
        s.conn.execute("UPDATE entries SET last_seen = 'y', search = NULL")
        assert _search_calls(s) == was  # title and text unchanged: nothing to compute
        s.conn.execute("UPDATE entries SET title = title, text = text WHERE key = '2'")
        assert _search_calls(s) == was
        s.conn.execute("UPDATE entries SET text = 'a geofence' WHERE key = '3'")
        s.save_entries(a, [entry("new", "Geofence warrants")], [[]], T0)
        assert _search_calls(s) == was + 2
    assert _waiting(s) == 19
    s.conn.execute("UPDATE entries SET search = NULL WHERE search IS NOT NULL")
    from curator.store.searchindex import fill

    while fill(s.conn):
        pass
    assert _waiting(s) == 0 and _vectors_right(s)
    assert titles(SearchStore(s).search("geofence")) == ["Geofence warrants", "Warrant story 3"]
    s.close()


def test_a_long_body_is_cut_the_same_by_the_trigger_and_the_filler(pg_url):
    s = Store(pg_url)
    s.sync_sources([("https://a.example/feed", "A", None)], T0)
    a = source(s)
    # Over 200,000 bytes but not characters (two-byte letters), and over both: the vector
    # reads the first 200,000 characters either way.
    bodies = {"bytes": "é" * 150_000 + " tailword", "chars": "a " * 100_000 + "tailword"}
    for key, body in bodies.items():
        s.save_entries(a, [entry(key, "Long", body)], [[]], T0)
    rows = s.conn.execute("SELECT key, search::text LIKE '%tailword%' FROM entries ORDER BY key"
                          ).fetchall()
    assert rows == [("bytes", True), ("chars", False)]
    computed = s.conn.execute("SELECT search FROM entries ORDER BY key").fetchall()
    s.conn.execute("UPDATE entries SET search = NULL")
    from curator.store.searchindex import fill

    fill(s.conn)
    assert s.conn.execute("SELECT search FROM entries ORDER BY key").fetchall() == computed
    assert _vectors_right(s)
    s.close()


# ------------------------------------------------------------------ promote


def test_promote_makes_a_candidate_that_topics_never_drop(store):
    a = source(store)
    store.save_entries(a, [entry("1", "Police used doorbell videos without asking owners"),
                           entry("2", "Matched story", "match")], [[], ["t"]], T0)
    ss = SearchStore(store)
    [hit] = ss.search("doorbell")
    cid, created = ss.promote(hit["entry"], editor="maria", now=T0)
    assert created
    cand = store.candidate(cid)
    assert cand.topics == () and cand.status == "new"
    assert [(h.action, h.editor) for h in cand.history] == [("promote", "maria")]
    assert ss.promote(hit["entry"], editor="bob", now=T0) == (cid, False)
    # A rematch with topics that match nothing, and a poll that changes the entry, keep it.
    store.rematch(lambda title, text: [], T0)
    assert [c.id for c in store.candidates()] == [cid]
    store.save_entries(a, [entry("1", "Police used doorbell videos, records show")], [[]], T0)
    assert store.candidate(cid).title
    assert [c.id for c in store.candidates()] == [cid]
    assert ss.search("doorbell")[0]["candidate"] == cid


def test_promote_refuses_an_unknown_entry_or_one_without_a_link(store):
    from curator.exceptions import NotFound, UsageError

    store.save_entries(source(store), [entry("1", "No link", url=None)], [[]], T0)
    ss = SearchStore(store)
    with pytest.raises(NotFound):
        ss.promote(999, editor="maria", now=T0)
    [hit] = ss.search("link")
    with pytest.raises(UsageError, match="no link"):
        ss.promote(hit["entry"], editor="maria", now=T0)
    assert store.candidates() == []


# ------------------------------------------------------------------ rematch --dry-run


def test_rematch_preview_says_what_rematch_does_and_changes_nothing(store):
    a = source(store)
    store.save_entries(a, [entry("1", "Stays", "alpha"), entry("2", "Goes", "alpha"),
                           entry("3", "Arrives", "beta"), entry("4", "Featured", "alpha"),
                           entry("5", "Promoted", "zeta")],
                       [["a"], ["a"], [], ["a"], []], T0)
    ss = SearchStore(store)
    feat = next(c for c in store.candidates() if c.title == "Featured")
    store.set_status(feat.id, "featured", editor="maria", now=T0, note="n")
    promoted, _ = ss.promote(ss.search("promoted")[0]["entry"], editor="maria", now=T0)

    def match(title: str, text: str) -> list[str]:
        return {"Stays": ["a", "b"], "Arrives": ["b"]}.get(title, [])

    before = [(c.id, c.topics) for c in store.candidates(status="all")]
    preview = ss.rematch_preview(match)
    assert [(c.id, c.topics) for c in store.candidates(status="all")] == before
    assert preview["entries"] == 5
    assert [a["title"] for a in preview["add"]] == ["Arrives"]
    assert preview["add"][0]["topics"] == ["b"]
    assert [d["title"] for d in preview["drop"]] == ["Goes"]
    assert {(c["title"], tuple(c["before"]), tuple(c["after"])) for c in preview["changed"]} == {
        ("Stays", ("a",), ("a", "b")), ("Featured", ("a",), ())}
    entries, new, dropped = store.rematch(match, T0)
    assert (entries, new, dropped) == (preview["entries"], preview["new_candidates"],
                                       preview["dropped"])
    assert {c.title for c in store.candidates()} == {"Stays", "Arrives", "Promoted"}
    assert store.candidate(promoted).status == "new"


# ------------------------------------------------------------------ the CLI, end to end

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Tech Desk</title><link>https://news.example/</link>
<description>d</description>
<item><guid>1</guid><title>Police used doorbell videos without asking owners</title>
<link>https://news.example/doorbell</link><pubDate>Mon, 23 Nov 2026 10:00:00 GMT</pubDate>
<description>Officers got footage from a camera company in emergencies.</description></item>
<item><guid>2</guid><title>Court revisits Section 230</title>
<link>https://news.example/230</link><pubDate>Tue, 24 Nov 2026 10:00:00 GMT</pubDate>
<description>The liability shield is back before the judges.</description></item>
<item><guid>3</guid><title>Earnings beat forecasts</title>
<link>https://news.example/earnings</link><pubDate>Wed, 25 Nov 2026 10:00:00 GMT</pubDate>
<description>A doorbell maker's quarter.</description></item>
</channel></rss>"""

CLI_TOPICS = [{"name": "platform-accountability", "any": ["Section 230"]}]


@pytest.fixture
def desk_cli(server, make_cli, clock, monkeypatch, backend):
    monkeypatch.setenv("CURATOR_EDITOR", "maria")
    url = server.add("/feed.xml", RSS)
    cli = make_cli([{"url": url, "name": "Tech Desk"}], CLI_TOPICS, database=str(backend))
    cli("poll", "--json")
    return cli


def test_search_and_promote_from_the_command_line(desk_cli):
    cli = desk_cli
    rows = cli("search", "doorbell", "--json")
    assert [r["title"] for r in rows] == ["Police used doorbell videos without asking owners",
                                          "Earnings beat forecasts"]
    assert set(rows[0]) == {"entry", "title", "url", "source", "published", "candidate"}
    assert rows[0] == {"entry": rows[0]["entry"], "title": rows[0]["title"],
                       "url": "https://news.example/doorbell", "source": "Tech Desk",
                       "published": "2026-11-23T10:00:00Z", "candidate": None}
    assert [r["candidate"] is not None for r in cli("search", "section 230", "--json")] == [True]
    assert len(cli("search", "doorbell", "--limit", "1", "--json")) == 1
    text = cli("search", "doorbell").stdout
    assert "Police used doorbell videos" in text and "not a candidate" in text

    cand = cli("promote", str(rows[0]["entry"]), "--json")
    assert set(cand) >= {"id", "title", "url", "source", "sources", "published", "topics",
                         "status", "note", "featured_at"}
    assert cand["topics"] == [] and cand["status"] == "new"
    assert cand["url"] == "https://news.example/doorbell"
    history = cli("show", str(cand["id"]), "--json")["history"]
    assert [(h["action"], h["editor"]) for h in history] == [("promote", "maria")]
    assert cli("search", "doorbell", "--json")[0]["candidate"] == cand["id"]
    cli("feature", str(cand["id"]), "--note", "Found by search.")
    assert cli("publish", "--json")["items"] == 1
    # Promoting again is harmless; an unknown entry is bad usage.
    assert cli("promote", str(rows[0]["entry"]), "--json")["id"] == cand["id"]
    assert "no entry 9999" in cli("promote", "9999", code=2).stderr


@pytest.mark.parametrize("query", ['"', "AND (", "NEAR(", "x" * 100_000, "-", "title:x"])
def test_hostile_queries_give_results_or_none_never_an_error(desk_cli, query):
    assert isinstance(desk_cli("search", query, "--json"), list)


def test_rematch_dry_run_from_the_command_line(desk_cli):
    import yaml

    cli = desk_cli
    before = cli("candidates", "--status", "all", "--json")
    doc = yaml.safe_load(cli.config.read_text())
    doc["topics"] = [{"name": "police", "any": ["doorbell"]}]
    cli.config.write_text(yaml.safe_dump(doc))
    preview = cli("rematch", "--dry-run", "--json")
    assert preview["entries"] == 3 and preview["new_candidates"] == 2 and preview["dropped"] == 1
    assert [a["url"] for a in preview["add"]] == ["https://news.example/doorbell",
                                                  "https://news.example/earnings"]
    assert [d["title"] for d in preview["drop"]] == ["Court revisits Section 230"]
    assert cli("candidates", "--status", "all", "--json") == before
    text = cli("rematch", "--dry-run").stdout
    assert "2 would become candidates, 1 would be dropped" in text
    assert "+ Police used doorbell videos" in text and "- #" in text
    done = cli("rematch", "--json")
    assert done == {"entries": 3, "new_candidates": 2, "dropped": 1}


def test_an_article_of_a_story_leads_to_its_story_s_candidate(store):
    a, b = source(store), source(store, "https://b.example/feed")
    store.save_entries(a, [entry("1", "Regulator fines TikTok over teen accounts", "t")],
                       [["privacy"]], T0)
    store.save_entries(b, [entry("2", "TikTok hit with fine over children's data")], [[]], T0)
    [cand] = store.candidates()
    # However the story came together, the second article is now one of the candidate's.
    store.conn.execute("INSERT INTO story_articles (url, candidate_id, added)"
                       " VALUES ('https://news.example/2', ?, '2026-11-26T12:00:00Z')"
                       " ON CONFLICT (url) DO UPDATE SET candidate_id = excluded.candidate_id",
                       (cand.id,))
    ss = SearchStore(store)
    [hit] = ss.search("children")
    assert hit["candidate"] == cand.id
    assert ss.promote(hit["entry"], editor="maria", now=T0) == (cand.id, False)
    assert [c.id for c in store.candidates(status="all")] == [cand.id]
    # A rematch preview counts the article's topics as the story's, and adds no candidate.
    preview = ss.rematch_preview(lambda title, text: ["kids"] if "children" in title else [])
    assert preview["add"] == [] and preview["drop"] == []
    assert preview["changed"] == [{"id": cand.id, "url": cand.url, "title": cand.title,
                                   "before": ["privacy"], "after": ["kids"]}]
    store.rematch(lambda title, text: ["kids"] if "children" in title else [], T0)
    assert store.candidate(cand.id).topics == ("kids",)
