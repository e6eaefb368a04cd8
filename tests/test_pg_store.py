"""PostgreSQL as curator's database: the schema, the errors a user meets, the dialect, search.

Against a real throwaway PostgreSQL server (tests/pg.py); the store's own behaviour is tested on
both backends in test_store.py, test_search.py and others through the `backend` fixture.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import write_config

from curator.config import load
from curator.exceptions import ConfigError, StoreError
from curator.polltypes import EntryData
from curator.schema import MIGRATIONS
from curator.store import Store
from curator.store.backend import describe, is_postgres, redact, translate
from curator.store.pg_schema import BASELINE_NAMES, STEPS
from curator.store.search import ts_query

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def entry(key: str, title: str, text: str = "") -> EntryData:
    url = f"https://news.example/{key}"
    return EntryData(key=key, url=url, link=url, title=title, summary=f"<p>{text}</p>",
                     content="", text=text)


# ------------------------------------------------------------------ naming the database


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql://ann:s3cret@db.example:6543/news", "postgresql://ann@db.example:6543/news"),
    ("postgres://ann:s3cret@db.example/news?sslmode=require&password=s3cret",
     "postgresql://ann@db.example:5432/news"),
    ("postgresql://ann:p%40ss%3Aword@[::1]:5433/news", "postgresql://ann@[::1]:5433/news"),
    ("postgresql:///news", "postgresql://localhost:5432/news"),
    ("postgresql://ann:s3cret@db.example:port/news", "postgresql://(a URL that could not be read)"),
])
def test_a_server_is_named_without_its_password(url, shown):
    assert is_postgres(url)
    assert redact(url) == shown == describe(url)
    assert "s3cret" not in shown and "p%40ss" not in shown


def test_paths_are_not_postgres():
    assert not is_postgres(Path("postgresql:/x"))
    assert not is_postgres("db/curator.db")
    assert not is_postgres(None)
    assert describe(Path("db/c.db")) == "db/c.db"


def test_placeholders_and_percent_signs_translate():
    assert translate("SELECT ? FROM t WHERE a = ? AND b LIKE '%?%'") == (
        "SELECT %s FROM t WHERE a = %s AND b LIKE '%%?%%'")
    assert translate("SELECT \"a?\" -- what?\n, 5 % 2") == "SELECT \"a?\" -- what?\n, 5 %% 2"


def test_feeds_yaml_takes_a_url_and_refuses_other_databases(tmp_path):
    url = "postgresql://ann:s3cret@db.example:5432/news"
    assert load(write_config(tmp_path, [], database=url)).database == url
    assert load(write_config(tmp_path, [], database="db/x.db")).database == tmp_path / "db/x.db"
    with pytest.raises(ConfigError, match="postgresql:// URL") as e:
        load(write_config(tmp_path, [], database="mysql://ann:s3cret@db.example/news"))
    assert "s3cret" not in str(e.value)
    with pytest.raises(ConfigError, match="name the database") as e:
        load(write_config(tmp_path, [], database="postgresql://ann:s3cret@db.example:5432"))
    assert "s3cret" not in str(e.value)


# ------------------------------------------------------------------ the schema


def test_every_migration_has_a_postgresql_step():
    assert MIGRATIONS[:len(BASELINE_NAMES)] == BASELINE_NAMES
    missing = [m for m in MIGRATIONS[len(BASELINE_NAMES):] if m not in STEPS]
    assert not missing, f"add the PostgreSQL DDL of {missing} to curator/store/pg_schema.STEPS"
    assert set(STEPS) <= set(MIGRATIONS)


def _pg_columns(store: Store) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for table, column in store.conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema()"):
        out.setdefault(table, set()).add(column)
    return out


def test_the_same_tables_and_columns_as_sqlite(pg_url, tmp_path):
    lite = Store(tmp_path / "c.db")
    expected: dict[str, set[str]] = {}
    for (table,) in lite.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"
                                      " AND name NOT LIKE 'entries_fts%'"
                                      " AND name NOT LIKE '%sqlite%'"):
        expected[table] = {r[1] for r in lite.conn.execute(f"PRAGMA table_info({table})")}
    lite.close()
    pg = Store(pg_url)
    assert pg.has_column("candidates", "suggested") and not pg.has_column("candidates", "nope")
    got = _pg_columns(pg)
    got.pop("curator_migrations")
    got["entries"].discard("search")  # the text search index, where SQLite has entries_fts
    assert got == expected
    assert pg.schema_names() == list(MIGRATIONS)
    pg.close()


def test_a_new_database_gets_the_schema_once_even_when_opened_twice_at_once(pg_blank_url):
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            Store(pg_blank_url).close()
        except BaseException as e:  # noqa: BLE001 (reported below)
            errors.append(e)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    s = Store(pg_blank_url)
    assert s.schema_names() == list(MIGRATIONS)
    assert s.conn.execute("SELECT count(*) FROM curator_migrations").fetchone()[0] == len(
        MIGRATIONS)
    s.close()


def test_a_newer_schema_is_refused_naming_the_server(pg_url):
    s = Store(pg_url)
    s.conn.execute("INSERT INTO curator_migrations (migration_set, name, applied_at)"
                   " VALUES ('curator', '9999_from_the_future', 'x')")
    s.close()
    with pytest.raises(StoreError, match="newer curator") as e:
        Store(pg_url)
    assert redact(pg_url) in str(e.value) and "test-secret-pw" not in str(e.value)


def test_a_database_holding_another_apps_tables_is_left_alone(pg_blank_url):
    import psycopg

    with psycopg.connect(pg_blank_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE sources (id int)")
    with pytest.raises(StoreError, match="did not make"):
        Store(pg_blank_url)
    with psycopg.connect(pg_blank_url, autocommit=True) as conn:
        assert conn.execute("SELECT to_regclass('curator_migrations')").fetchone()[0] is None


def test_a_later_migration_runs_its_postgresql_step(pg_url, monkeypatch):
    from curator.store import pg_migrate

    monkeypatch.setattr(pg_migrate, "MIGRATIONS", (*MIGRATIONS, "9999_test_extra"))
    monkeypatch.setitem(pg_migrate.STEPS, "9999_test_extra",
                        "CREATE TABLE extra (x BIGINT);\nALTER TABLE sources ADD COLUMN y TEXT")
    s = Store(pg_url)
    assert s.schema_names()[-1] == "9999_test_extra"
    assert s.conn.execute("SELECT count(*) FROM extra").fetchone()[0] == 0
    s.close()


def _compression(store: Store) -> dict[str, str]:
    return dict(store.conn.execute(
        "SELECT attname, attcompression FROM pg_attribute WHERE attrelid = 'entries'::regclass"
        " AND attname IN ('summary', 'content', 'text', 'search')").fetchall())


def test_long_entry_text_is_compressed_with_lz4_where_the_server_has_it(pg_blank_url,
                                                                       monkeypatch):
    import psycopg

    from curator.store import pg_migrate
    from curator.store.search import SearchStore

    step = "0013_entries_compressed_with_lz4"
    # A server built without lz4 refuses it: the migration leaves pglz, and goes on.
    monkeypatch.setitem(pg_migrate.STEPS, step, pg_migrate.STEPS[step].replace("lz4", "nosuch"))
    upto = MIGRATIONS[:MIGRATIONS.index(step) + 1]  # a curator whose last migration it was
    monkeypatch.setattr(pg_migrate, "MIGRATIONS", upto)
    s = Store(pg_blank_url)
    assert set(_compression(s).values()) == {""} and s.schema_names() == list(upto)
    s.close()
    monkeypatch.undo()
    with psycopg.connect(pg_blank_url, autocommit=True) as conn:  # made again, as it was
        conn.execute("DELETE FROM curator_migrations WHERE name = %s", (step,))
    s = Store(pg_blank_url)
    assert s.schema_names() == list(MIGRATIONS)
    assert _compression(s) == {"summary": "l", "content": "l", "text": "l", "search": "l"}
    s.sync_sources([("https://a.example/feed", "A", None)], T0)
    [src] = s.sources()
    body = " ".join(f"word{i} court ruling" for i in range(3000))
    s.save_entries(src.id, [entry("1", "Court rules on the long case", body)], [[]], T0)
    [found] = SearchStore(s).search("word2999")
    assert found["title"] == "Court rules on the long case"
    assert s.conn.execute("SELECT text FROM entries").fetchone()[0] == body
    s.close()


def test_a_failing_migration_leaves_nothing_half_made(pg_url, monkeypatch):
    from curator.store import pg_migrate

    monkeypatch.setattr(pg_migrate, "MIGRATIONS", (*MIGRATIONS, "9999_test_broken"))
    monkeypatch.setitem(pg_migrate.STEPS, "9999_test_broken",
                        "CREATE TABLE extra (x BIGINT);\nALTER TABLE nowhere ADD COLUMN y TEXT")
    with pytest.raises(StoreError, match="nowhere"):
        Store(pg_url)
    monkeypatch.undo()
    s = Store(pg_url)
    assert "9999_test_broken" not in s.schema_names()
    assert s.conn.execute("SELECT to_regclass('extra')").fetchone()[0] is None
    s.close()


# ------------------------------------------------------------------ a server that says no


def _cli(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "curator", "--config", str(config),
                           "candidates", "--json"], capture_output=True, text=True, timeout=60)


def _one_clear_line(out: subprocess.CompletedProcess[str], server: str, *why: str) -> None:
    assert out.returncode == 2, out
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert server in lines[0] and "test-secret-pw" not in lines[0]
    for word in why:
        assert word in lines[0], lines[0]


def test_wrong_password_missing_database_and_no_server_are_one_line_each(pg_server, tmp_path):
    from pg import PASSWORD, USER

    wrong = pg_server.url("postgres", password="not-the-" + PASSWORD)
    out = _cli(write_config(tmp_path, [], database=wrong))
    _one_clear_line(out, f"{USER}@127.0.0.1:{pg_server.port}/postgres", "password")
    assert "not-the-" not in out.stderr

    missing = pg_server.url("no_such_db")
    out = _cli(write_config(tmp_path, [], database=missing))
    _one_clear_line(out, "/no_such_db", "no such database")

    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    down = f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{port}/news"
    out = _cli(write_config(tmp_path, [], database=down))
    _one_clear_line(out, f"127.0.0.1:{port}/news", "cannot reach")


def test_a_user_who_may_not_make_tables_is_told_what_to_do(pg_server, pg_blank_url, tmp_path):
    from pg import PASSWORD

    name = pg_blank_url.rsplit("/", 1)[1]
    with pg_server.admin() as admin:
        admin.execute("DROP ROLE IF EXISTS reader")
        admin.execute(f"CREATE ROLE reader LOGIN PASSWORD '{PASSWORD}'")
    try:
        url = pg_blank_url.replace("//curator:", "//reader:")
        out = _cli(write_config(tmp_path, [], database=url))
        _one_clear_line(out, f"reader@127.0.0.1:{pg_server.port}/{name}", "createdb --owner")
    finally:
        from curator.store.backend import drain

        drain()
        with pg_server.admin() as admin:
            admin.execute("REASSIGN OWNED BY reader TO curator")
            admin.execute("DROP ROLE reader")


def test_backups_point_to_postgresql_s_tools(pg_url, tmp_path):
    from curator.core import Curator

    cur = Curator(load(write_config(tmp_path, [], database=pg_url)))
    from curator.exceptions import UsageError

    with pytest.raises(UsageError, match="pg_dump"):
        cur.backup(tmp_path / "b.db")
    with pytest.raises(UsageError, match="pg_dump"):
        cur.restore(tmp_path / "b.db")
    cur.close()


# ------------------------------------------------------------------ nothing half-written


def _kill_connections(pg_server, url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with pg_server.admin() as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                      " WHERE datname = %s AND pid != pg_backend_pid()", (name,))


def test_a_connection_dropped_mid_write_loses_the_whole_write_then_reconnects(pg_server, pg_url):
    s = Store(pg_url)
    s.sync_sources([("https://a.example/feed", "A", None)], T0)
    [src] = s.sources()
    with pytest.raises(StoreError) as e, s.write():
        s.save_entries(src.id, [entry("1", "Court fines platform", "first")], [["t"]], T0)
        _kill_connections(pg_server, pg_url)
        s.save_entries(src.id, [entry("2", "Second story", "second")], [["t"]], T0)
    assert redact(pg_url) in str(e.value) and "test-secret-pw" not in str(e.value)
    # The next use connects again; the interrupted transaction left nothing behind.
    assert s.entry_count() == 0 and s.candidates(status="all") == []
    s.save_entries(src.id, [entry("1", "Court fines platform", "first")], [["t"]], T0)
    assert s.entry_count() == 1
    s.close()


def test_a_connection_dropped_in_a_poll_s_batch_fails_the_batch_then_reconnects(pg_server,
                                                                                pg_url):
    # A poll's batch is pipelined: the loss shows when answers are read, and at the batch's
    # end. Each source is told, as a StoreError naming the server; nothing of it was saved.
    import asyncio

    from curator.poll import WriteBatch

    s = Store(pg_url)
    s.sync_sources([(f"https://{n}.example/feed", n, None) for n in "ab"], T0)
    a, b = (x.id for x in sorted(s.sources(), key=lambda x: x.url))
    failed: list[Exception] = []
    done: list[object] = []

    async def poll_writes() -> None:
        batch = WriteBatch(s, size=2)
        batch.submit(lambda: s.save_entries(a, [entry("1", "Court fines platform", "x")],
                                            [[]], T0), done.append, failed.append)

        def killed_then_saved() -> object:
            _kill_connections(pg_server, pg_url)
            return s.save_entries(b, [entry("2", "Second story", "y")], [["t"]], T0)

        batch.submit(killed_then_saved, done.append, failed.append)

    asyncio.run(poll_writes())
    assert done == [] and len(failed) == 2
    assert all(isinstance(e, StoreError) and redact(pg_url) in str(e) for e in failed)
    assert s.entry_count() == 0
    s.save_entries(a, [entry("1", "Court fines platform", "x")], [[]], T0)
    assert s.entry_count() == 1
    s.close()


def test_a_server_restart_is_an_error_while_it_is_down_then_work_goes_on(pg_server, pg_url):
    from curator.exceptions import DatabaseUnavailable

    s = Store(pg_url)
    s.sync_sources([("https://a.example/feed", "A", None)], T0)
    pg_server.stop()
    try:
        # The connection dies with the server: that statement fails (naming the server) ...
        with pytest.raises(StoreError) as e:
            s.sources()
        assert redact(pg_url) in str(e.value)
        # ... and the next ones try to connect again, saying the server is down.
        with pytest.raises(DatabaseUnavailable, match="cannot reach") as e:
            s.sources()
        assert redact(pg_url) in str(e.value) and "test-secret-pw" not in str(e.value)
    finally:
        pg_server.start()
    assert [x.name for x in s.sources()] == ["A"]  # the same Store, connected again
    s.close()


def test_an_error_inside_a_write_rolls_back_on_postgresql_too(pg_url):
    s = Store(pg_url)
    s.sync_sources([("https://a.example/feed", "A", None)], T0)
    [src] = s.sources()
    with pytest.raises(RuntimeError), s.write():
        s.save_entries(src.id, [entry("1", "Court fines platform")], [["t"]], T0)
        raise RuntimeError("boom")
    assert s.entry_count() == 0
    s.close()


def test_a_unique_name_taken_is_a_usage_error_on_postgresql(pg_url):
    from curator.exceptions import UsageError

    s = Store(pg_url)
    s.add_editor("ann", "hash", T0)
    with pytest.raises(UsageError, match="exists already"):
        s.add_editor("ann", "hash", T0)
    s.add_editor("bob", "hash", T0)  # the failed insert left the connection usable
    assert [e.name for e in s.editors()] == ["ann", "bob"]
    s.close()


def test_a_nul_character_never_fails_a_statement(pg_url):
    s = Store(pg_url)
    s.sync_sources([("https://a.example/feed", "Desk\x00A", None)], T0)
    [src] = s.sources()
    assert src.name == "DeskA"
    s.save_entries(src.id, [entry("1", "Court\x00 fines platform", "text")], [["t"]], T0)
    assert [c.title for c in s.candidates(search="court\x00")] == ["Court fines platform"]
    # Entries matching no topic go in multi-row INSERTs, numbered as PostgreSQL numbers them.
    s.save_entries(src.id, [entry(str(n), f"Quiet\x00 {n}", "te\x00xt") for n in range(2, 5)],
                   [[]] * 3, T0)
    assert sorted(r[0] for r in s.conn.execute(
        "SELECT title FROM entries WHERE key != '1'").fetchall()) == ["Quiet 2", "Quiet 3",
                                                                     "Quiet 4"]
    s.close()


def _backend_pid(store: Store) -> int:
    return int(store.conn.execute("SELECT pg_backend_pid()").fetchone()[0])


def test_a_closed_store_s_connection_serves_the_next_one(pg_server, pg_url):
    a = Store(pg_url)
    pid = _backend_pid(a)
    a.close()
    b = Store(pg_url)
    assert _backend_pid(b) == pid  # no new connection: the desk opens a Store per request
    # One that held a session lock is closed for real, never handed on.
    b.conn.pin()
    b.close()
    c = Store(pg_url)
    assert _backend_pid(c) != pid
    c.close()
    # A kept connection the server ended meanwhile is replaced, not handed out broken.
    _kill_connections(pg_server, pg_url)
    d = Store(pg_url)
    assert d.candidates() == []
    d.close()


# ------------------------------------------------------------------ search


HOSTILE = ['"', "'", "AND", "OR", "NOT", "(", ")", "a AND (", "*", "-", "title:x", "a:b", "a&b",
           "a|b", "!a", "a <-> b", "a:*", "\\", "%", "_", "\x00", "🙂", "ü", "a'b", "x*y*",
           "'a' & 'b'", "a" * 5000, " ".join(["w"] * 500), '"' * 99, "the", "the OR a"]


def test_no_query_is_a_tsquery_error(pg_url):
    s = Store(pg_url)
    for query in HOSTILE:
        expr = ts_query(query)
        if expr is not None:
            s.conn.execute("SELECT to_tsquery('english', ?)", (expr,)).fetchone()
    s.close()


@pytest.mark.parametrize(("query", "expr"), [
    ("police doorbell", "(('police') & ('doorbell'))"),
    ('"age verification" law', "(('age' <-> 'verification') & ('law'))"),
    ("subpoena*", "(('subpoena':*))"),
    ("fine OR penalty", "(('fine')) | (('penalty'))"),
    ("meta -earnings", "((('meta'))) & !(('earnings'))"),
    ("", None),
])
def test_the_query_language_on_postgresql(query, expr):
    assert ts_query(query) == expr


def test_search_reads_the_query_language_alike_on_both(pg_url, tmp_path):
    from curator.store.search import SearchStore

    found: list[dict[str, list[str]]] = []
    for target in (tmp_path / "c.db", pg_url):
        s = Store(target)
        s.sync_sources([("https://a.example/feed", "A", None)], T0)
        [src] = s.sources()
        s.save_entries(src.id, [
            entry("5", "Nestlé and the café chain", "São Paulo's regulator looks again."),
            entry("1", "Court fines platform over age verification", "The ruling was long."),
            entry("2", "Age limits for apps", "Verification of age is coming."),
            entry("3", "Subpoenas reach the doorbell maker", "Police asked for videos."),
            entry("4", "Penalty for the merger", "Antitrust regulators fined both."),
        ], [[], [], [], [], []], T0)
        ss = SearchStore(s)
        found.append({q: sorted(r["title"] for r in ss.search(q)) for q in (
            "age verification", '"age verification"', "subpoena*", "fine OR penalty",
            "age -apps", "verification", "doorbell videos", "nothing-like-this", "nestle",
            "Café", "sao paulo")})
        s.close()
    sqlite_found, pg_found = found
    assert pg_found == sqlite_found
    assert sqlite_found['"age verification"'] == ["Court fines platform over age verification"]
    assert len(sqlite_found["age verification"]) == 2
    assert sqlite_found["nestle"] == sqlite_found["sao paulo"] == ["Nestlé and the café chain"]


def test_without_unaccent_search_works_with_accents_as_written(pg_blank_url, monkeypatch):
    from curator.store import pg_migrate
    from curator.store.search import SearchStore

    monkeypatch.setattr(pg_migrate, "UNACCENT", "CREATE EXTENSION no_such_extension")
    s = Store(pg_blank_url)
    s.sync_sources([("https://a.example/feed", "A", None)], T0)
    [src] = s.sources()
    s.save_entries(src.id, [entry("1", "Nestlé and the café chain")], [[]], T0)
    ss = SearchStore(s)
    assert [r["title"] for r in ss.search("nestlé")] == ["Nestlé and the café chain"]
    assert ss.search("nestle") == []
    s.close()


def test_an_enormous_entry_is_stored_and_found(pg_url):
    s = Store(pg_url)
    s.sync_sources([("https://a.example/feed", "A", None)], T0)
    [src] = s.sources()
    words = " ".join(f"w{i}" for i in range(400_000))  # a tsvector of it would pass 1 MB
    s.save_entries(src.id, [entry("1", "Huge page about geofences", words)], [[]], T0)
    from curator.store.search import SearchStore

    assert [r["title"] for r in SearchStore(s).search("geofence")] == [
        "Huge page about geofences"]
    s.close()


def test_sqlite_users_never_load_psycopg(tmp_path):
    config = write_config(tmp_path, [])
    out = subprocess.run(
        [sys.executable, "-c", "import sys; from curator.cli import main; sys.argv = ['curator', "
         f"'--config', {str(config)!r}, 'candidates', '--json']\ntry:\n main()\nexcept SystemExit:"
         "\n pass\nprint('psycopg' in sys.modules)"],
        capture_output=True, text=True, timeout=60)
    assert out.stdout.strip().splitlines()[-1] == "False", out
    assert sqlite3.sqlite_version_info >= (3, 35)  # RETURNING, which the store's SQL uses


def test_a_text_array_literal_reads_back_exactly(pg_url: str) -> None:
    # The URL look-ups send their arrays as one text[] literal: quotes, backslashes, commas,
    # braces, spaces, the word NULL and the empty string each read back as they were.
    from curator.store.backend import PgConnection, text_array

    items = ['a"b', "c\\d", "e,f{}", " x ", "NULL", "", "https://x.example/a?b=1&c=\"2\""]
    conn = PgConnection(pg_url)
    try:
        got = conn.execute("SELECT CAST(? AS TEXT[])", (text_array(items),)).fetchone()[0]
        assert got == items
        assert conn.execute("SELECT CAST(? AS TEXT[])", (text_array([]),)).fetchone()[0] == []
    finally:
        conn.close()
