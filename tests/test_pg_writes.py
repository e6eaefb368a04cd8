"""PostgreSQL's writes under load: plans that hold as tables grow, and transactions that a
deadlock or a serialization failure ends, run again.

Against a real throwaway PostgreSQL server (tests/pg.py).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from curator.exceptions import TransactionConflict
from curator.poll import WriteBatch
from curator.polltypes import EntryData, Failed
from curator.store import Store
from curator.store.backend import redact

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def entry(key: str, title: str, text: str = "") -> EntryData:
    url = f"https://news.example/{key}"
    return EntryData(key=key, url=url, link=url, title=title, summary=f"<p>{text}</p>",
                     content="", text=text)


def _seq_rows(store: Store, table: str) -> int:
    """Rows this transaction has read from `table` by sequential scans so far."""
    row = store.conn.execute("SELECT seq_tup_read FROM pg_stat_xact_user_tables"
                             " WHERE relname = ?", (table,)).fetchone()
    return int(row[0]) if row else 0


# ------------------------------------------------------------------ plans as tables grow


def test_a_first_poll_s_lookups_keep_to_the_indexes_as_entries_grow(pg_url: str) -> None:
    # A first poll begins with `entries` empty: statements run often then are prepared with
    # the plan that suits an empty table. Those whose plan depends on the table's size must
    # not keep a sequential scan while the table grows to tens of thousands of rows.
    s = Store(pg_url)
    try:
        s.sync_sources([(f"https://f{n}.example/feed", None, None) for n in range(2)], T0)
        a, b = s.sources()
        for i in range(12):
            s.save_entries(a.id, [entry(f"a{i}-{j}", f"Story {i} {j}") for j in range(5)],
                           [[] for _ in range(5)], T0)
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO entries (source_id, key, url, title, hash, first_seen, last_seen)"
                " SELECT %s, 'bulk' || i, 'https://bulk.example/' || i || '?utm_source=x',"
                " 'Bulk ' || i, 'h', 'x', 'x' FROM generate_series(1, 20000) i", (a.id,))
        with s.write():
            before = _seq_rows(s, "entries")
            s.save_entries(b.id, [entry(f"b{j}", f"Other story {j}") for j in range(5)],
                           [[] for _ in range(5)], T0)
            read = _seq_rows(s, "entries") - before
        assert read < 1000, f"{read:,} rows of entries read by sequential scans"
        assert s.entry_count() == 12 * 5 + 20000 + 5
    finally:
        s.close()


# ------------------------------------------------------------------ deadlocks


class Other:
    """Another session on the database, which locks rows when told to, to make a deadlock with
    the store's transaction, the same way every time: it holds one row (b); the store's
    transaction takes another (a) and, before it asks for b, waits at a gate (a trigger the
    test adds) until this session waits for a; then it asks for b and closes the circle.
    PostgreSQL ends the session whose deadlock check runs first after that: the store's (its
    check runs 50 ms after it began waiting for b; this session's, 60 s after it began
    waiting for a), so the store's side is the one ended, whatever the machine's load."""

    def __init__(self, url: str, store: Store, gated: int) -> None:
        self.conn = psycopg.connect(url, autocommit=True)
        self.conn.execute("SET deadlock_timeout = '60s'")
        store.conn.execute("SET deadlock_timeout = '50ms'")
        self.victim = store.conn.raw.info.backend_pid  # type: ignore[attr-defined]
        # The gate: the store's first write of row `gated` holds the row and waits there
        # until another session waits for it (once: a transaction run again passes).
        self.conn.execute("CREATE SEQUENCE test_gate")
        self.conn.execute(
            "CREATE FUNCTION test_gate() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            f" IF OLD.id = {int(gated)} AND current_setting('application_name') = 'curator'"
            " THEN IF nextval('test_gate') = 1 THEN"
            " PERFORM pg_advisory_xact_lock(4242, 1);"  # seen by `close_the_circle`
            " FOR i IN 1..3000 LOOP"
            " EXIT WHEN EXISTS (SELECT 1 FROM pg_stat_activity"
            " WHERE pg_backend_pid() = ANY (pg_blocking_pids(pid)));"
            " PERFORM pg_sleep(0.01); END LOOP; END IF; END IF; RETURN NEW; END $$")
        self.conn.execute("CREATE TRIGGER test_gate BEFORE UPDATE ON sources FOR EACH ROW"
                          " EXECUTE FUNCTION test_gate()")

    def hold(self, source_id: int) -> None:
        self.conn.execute("BEGIN")
        self.conn.execute("UPDATE sources SET title = 'other' WHERE id = %s", (source_id,))

    def close_the_circle(self, source_id: int) -> None:
        """Once the store's transaction holds `source_id` (at the gate): ask for it, then
        commit."""
        deadline = time.monotonic() + 30
        while not self.conn.execute(
                "SELECT 1 FROM pg_locks WHERE pid = %s AND locktype = 'advisory' AND classid = 4242"
                " AND objid = 1 AND granted", (self.victim,)).fetchone():
            assert time.monotonic() < deadline, "the store's transaction never reached the gate"
            time.sleep(0.01)
        self.conn.execute("UPDATE sources SET title = 'other' WHERE id = %s", (source_id,))
        self.conn.execute("COMMIT")

    def close(self) -> None:
        with suppress(psycopg.Error):
            self.conn.execute("ROLLBACK")
            self.conn.execute("DROP TRIGGER IF EXISTS test_gate ON sources")
            self.conn.execute("DROP FUNCTION IF EXISTS test_gate()")
            self.conn.execute("DROP SEQUENCE IF EXISTS test_gate")
        self.conn.close()


def in_thread(fn: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["result"] = fn()
        except BaseException as e:  # noqa: BLE001 - the test reads it
            out["error"] = e

    t = threading.Thread(target=run)
    t.start()
    return t, out


def _two_sources(store: Store) -> tuple[int, int]:
    store.sync_sources([("https://a.example/feed", "A", None), ("https://b.example/feed", "B",
                                                                None)], T0)
    a, b = store.sources()
    return a.id, b.id


def _deadlock_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "deadlock detected" in r.getMessage()]


@contextmanager
def collision(pg_url: str) -> Iterator[tuple[Store, Other, int, int]]:
    """A store with two sources, a and b, and another session holding b."""
    s = Store(pg_url)
    other = None
    try:
        a, b = _two_sources(s)
        other = Other(pg_url, s, gated=a)
        other.hold(b)
        yield s, other, a, b
    finally:
        if other is not None:
            other.close()
        s.close()


def deadlocked_rename(pg_url: str) -> tuple[dict[str, Any], list[tuple[Any, ...]]]:
    """An edit of feeds.yaml (from the desk, say) renames two sources, a first, then b, while
    another session holds b and then asks for a: what the edit came to, and the sources'
    names and titles afterwards."""
    with collision(pg_url) as (s, other, a, _):
        t, out = in_thread(lambda: s.sync_sources([("https://a.example/feed", "A2", None),
                                                   ("https://b.example/feed", "B2", None)], T0))
        other.close_the_circle(a)
        t.join(30)
        return out, [(x.name, x.title) for x in s.sources()]


def test_a_write_ended_by_a_deadlock_runs_again_and_succeeds(
        pg_url: str, caplog: pytest.LogCaptureFixture) -> None:
    out, sources = deadlocked_rename(pg_url)
    assert "error" not in out, out
    assert sources == [("A2", "other"), ("B2", "other")]
    logged = _deadlock_logged(caplog)
    assert len(logged) == 1 and "running it again" in logged[0]
    assert redact(pg_url) in logged[0] and "test-secret-pw" not in logged[0]


def test_a_write_still_ended_by_deadlocks_fails_whole(
        pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("curator.store.base.RETRIES", 0)
    out, sources = deadlocked_rename(pg_url)
    assert isinstance(out.get("error"), TransactionConflict)
    assert "deadlock detected" in str(out["error"]) and redact(pg_url) in str(out["error"])
    # Nothing of it was written: a's new name went with the transaction.
    assert sources == [("A", "other"), ("B", "other")]


def test_a_poll_s_write_batch_ended_by_a_deadlock_is_written_again_whole(
        pg_url: str, caplog: pytest.LogCaptureFixture) -> None:
    with collision(pg_url) as (s, other, a, b):
        done: list[int] = []
        failed: list[Exception] = []

        def outcome(n: int) -> Failed:
            return Failed(polled_at=T0, status=500, message=f"server error {n}", failures=1,
                          failing_since=T0, next_due=T0 + timedelta(hours=1))

        async def poll_writes() -> None:
            batch = WriteBatch(s, size=2)
            for sid in (a, b):
                batch.record(sid, outcome(sid), lambda _, sid=sid: done.append(sid),
                             failed.append)  # the second fills the batch: it is written

        t, out = in_thread(lambda: asyncio.run(poll_writes()))
        other.close_the_circle(a)
        t.join(30)
        assert "error" not in out, out
        assert failed == [] and sorted(done) == [a, b]
        assert [(x.error, x.failures, x.title) for x in s.sources()] == [
            (f"server error {a}", 1, "other"), (f"server error {b}", 1, "other")]
        assert len(_deadlock_logged(caplog)) == 1


def test_a_poll_s_write_batch_plans_no_parallel_workers_nor_sequential_scans(pg_url: str
                                                                            ) -> None:
    # Its reads are a few rows by an index each; on a table grown since it was last analysed
    # PostgreSQL would start parallel workers for them, at 15-30 ms a statement, or read the
    # whole table it still takes for a small one.
    s = Store(pg_url)
    try:
        def setting(name: str) -> str:
            return str(s.conn.execute(f"SHOW {name}").fetchone()[0])

        workers = setting("max_parallel_workers_per_gather")
        with s.write_batch():
            assert setting("max_parallel_workers_per_gather") == "0"
            assert setting("enable_seqscan") == "off"
        # The rest of the session as configured.
        assert setting("max_parallel_workers_per_gather") == workers != "0"
        assert setting("enable_seqscan") == "on"
    finally:
        s.close()


def test_a_first_poll_analyses_the_tables_it_doubles(pg_url: str) -> None:
    # autovacuum's statistics lag a minute or more behind a first poll: the poll's own
    # ANALYZE, each time it has doubled `entries`, keeps the planner's picture of the tables.
    s = Store(pg_url)
    try:
        s.sync_sources([("https://a.example/feed", "A", None)], T0)
        [src] = s.sources()

        def analysed() -> list[Any]:
            return [r[0] for r in s.conn.execute(
                "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'entries'")]

        def stats_rows() -> float:
            return float(s.conn.execute("SELECT reltuples FROM pg_class"
                                        " WHERE relname = 'entries'").fetchone()[0])

        for n in range(9):
            with s.write_batch():
                s.save_entries(src.id, [entry(f"{n}-{i}", f"Story {n} {i}") for i in range(100)],
                               [[] for _ in range(100)], T0)
        assert analysed() == [None]  # 900 entries: not yet
        with s.write_batch():
            s.save_entries(src.id, [entry(f"9-{i}", f"Story 9 {i}") for i in range(100)],
                           [[] for _ in range(100)], T0)
        assert analysed() != [None] and stats_rows() == 1000
        # From a small sample (Growth.STATISTICS): a histogram of 11 bounds, not the
        # server's 101; the session's own target is left as it was.
        bounds = s.conn.execute("SELECT histogram_bounds::text FROM pg_stats WHERE"
                                " tablename = 'entries' AND attname = 'key'").fetchone()[0]
        assert len(bounds.strip("{}").split(",")) == 11
        assert s.conn.execute("SHOW default_statistics_target").fetchone()[0] == "100"
        for n in range(10, 19):  # up to 1,900: not doubled since
            with s.write_batch():
                s.save_entries(src.id, [entry(f"{n}-{i}", f"Story {n} {i}")
                                        for i in range(100)], [[] for _ in range(100)], T0)
        assert stats_rows() == 1000
        with s.write_batch():
            s.save_entries(src.id, [entry(f"19-{i}", f"Story 19 {i}") for i in range(100)],
                           [[] for _ in range(100)], T0)
        assert stats_rows() == 2000
    finally:
        s.close()


# ------------------------------------------------------------------ pipelined write batches


def _refuse_title(store: Store, title: str) -> None:
    """Make the database refuse an entry with this title (a stand-in for any error a
    statement can meet), on either backend."""
    if store.postgres:
        store.conn.execute(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            f" IF NEW.title = '{title}' THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW;"
            " END $$")
        store.conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON entries FOR EACH ROW"
                           " EXECUTE FUNCTION refuse()")
    else:
        store.conn.execute(f"CREATE TRIGGER refuse BEFORE INSERT ON entries WHEN NEW.title ="
                           f" '{title}' BEGIN SELECT RAISE(ABORT, 'refused'); END")


def test_a_source_whose_write_fails_in_a_batch_fails_alone(backend: Any) -> None:
    # On PostgreSQL the batch's statements are pipelined, their errors read later: a source's
    # error must still be its own, and the batch's other sources stored.
    s = Store(backend)
    try:
        s.sync_sources([(f"https://{n}.example/feed", n, None) for n in "abc"], T0)
        a, b, c = (x.id for x in sorted(s.sources(), key=lambda x: x.url))
        _refuse_title(s, "Refused")
        done: dict[int, Any] = {}
        failed: dict[int, Exception] = {}

        def save(sid: int, titles: list[str], matched: bool) -> Callable[[], Any]:
            return lambda: s.save_entries(
                sid, [entry(f"{sid}-{i}", t) for i, t in enumerate(titles)],
                [["news"] if matched else [] for _ in titles], T0)

        async def poll_writes() -> None:
            batch = WriteBatch(s, size=3)
            for sid, titles, matched in ((a, ["One", "Two"], False),
                                         (b, ["Three", "Refused", "Four"], False),
                                         (c, ["Five story", "Six story"], True)):
                batch.submit(save(sid, titles, matched), lambda r, sid=sid: done.update({sid: r}),
                             lambda e, sid=sid: failed.update({sid: e}))

        asyncio.run(poll_writes())
        assert sorted(done) == [a, c] and list(failed) == [b]
        assert "refused" in str(failed[b])
        titles = {sid: sorted(e[0] for e in s.conn.execute(
            "SELECT title FROM entries WHERE source_id = ?", (sid,)).fetchall())
            for sid in (a, b, c)}
        assert titles == {a: ["One", "Two"], b: [], c: ["Five story", "Six story"]}
        assert len(s.candidates(limit=None)) == 2
    finally:
        s.close()


@pytest.mark.parametrize("failing", [0, 1, 2])
def test_a_source_that_made_a_story_and_failed_leaves_nothing_of_it(backend: Any,
                                                                    failing: int) -> None:
    # A source whose write fails after one of its entries made a candidate (and its story's
    # index rows, which wait for the batch's end): the batch's other sources are stored, and
    # nothing names the candidate that is no more. On PostgreSQL a source's errors are read
    # with the next source's first answer (or at the batch's end, for the last): the failure
    # is still its own, and the next source is written whole.
    from curator.stories import signature

    s = Store(backend)
    try:
        s.sync_sources([(f"https://{n}.example/feed", n, None) for n in "abc"], T0)
        ids = [x.id for x in sorted(s.sources(), key=lambda x: x.url)]
        _refuse_title(s, "Refused")
        titles = [["Volcano Krakatoa erupts again near Jakarta"],
                  ["Zorvex chipmaker unveils its Pentaflux processor"],
                  ["Lighthouse keeper rescues Baltic ferry crew"]]
        titles[failing] = ["Senator Halvorsen resigns over Quillbrook bribery case", "Refused"]
        done: dict[int, Any] = {}
        failed: dict[int, Exception] = {}

        def save(sid: int, titles: list[str]) -> Callable[[], Any]:
            es = [entry(f"{sid}-{i}", t) for i, t in enumerate(titles)]
            return lambda: s.save_entries(sid, es, [["news"] for _ in es], T0,
                                          signatures=[signature(e.title, e.text) for e in es])

        async def poll_writes() -> None:
            batch = WriteBatch(s, size=3)
            for sid, ts in zip(ids, titles, strict=True):
                batch.submit(save(sid, ts), lambda r, sid=sid: done.update({sid: r}),
                             lambda e, sid=sid: failed.update({sid: e}))

        asyncio.run(poll_writes())
        assert list(failed) == [ids[failing]] and "refused" in str(failed[ids[failing]])
        assert sorted(done) == sorted(set(ids) - {ids[failing]})
        assert all(r.new == 1 and r.new_candidates == 1 for r in done.values())
        assert sorted(c.title for c in s.candidates(limit=None)) == sorted(
            t[0] for n, t in enumerate(titles) if n != failing)
        assert s.conn.execute("SELECT count(*) FROM story_keys WHERE candidate_id NOT IN"
                              " (SELECT id FROM candidates)").fetchone()[0] == 0
    finally:
        s.close()


def test_a_source_s_new_entries_wait_for_the_server_twice(pg_url: str) -> None:
    # Pipelined: a source's reads go together, its writes are not waited for one by one; its
    # end waits once, for their errors. Each statement waited for alone was ~30 per source.
    from curator.store.backend import round_trips

    s = Store(pg_url)
    try:
        s.sync_sources([("https://a.example/feed", "A", None)], T0)
        [src] = s.sources()
        with s.write_batch():
            before = round_trips()
            s.save_entries(src.id, [entry(f"k{i}", f"Story {i}") for i in range(30)],
                           [[] for _ in range(30)], T0)
            assert round_trips() - before == 2
        assert s.entry_count() == 30
    finally:
        s.close()


def test_a_poll_s_sources_wait_for_the_server_once_each(pg_url: str) -> None:
    # In a poll's write batch a source's end (its errors) is read with the next source's
    # first read: one wait per source, where each waited twice.
    from curator.store.backend import round_trips

    s = Store(pg_url)
    try:
        s.sync_sources([(f"https://{n}.example/feed", n, None) for n in "abcdef"], T0)
        ids = [x.id for x in sorted(s.sources(), key=lambda x: x.url)]
        saved: list[Any] = []

        async def poll_writes() -> None:
            batch = WriteBatch(s, size=len(ids))
            for sid in ids:
                es = [entry(f"{sid}-{i}", f"Story {sid} {i}") for i in range(10)]
                batch.submit(lambda sid=sid, es=es: s.save_entries(sid, es, [[]] * 10, T0),
                             saved.append, pytest.fail)

        before = round_trips()
        asyncio.run(poll_writes())
        # One per source, and the batch's own six (its BEGIN and settings, the pipeline's
        # start, the last source's end, the pipeline's end, its COMMIT); each source waited
        # twice before.
        assert round_trips() - before == len(ids) + 6
        assert [r.new for r in saved] == [10] * len(ids) and s.entry_count() == 60
    finally:
        s.close()


def test_matched_entries_see_what_earlier_ones_made_of_their_urls(backend: Any) -> None:
    # On PostgreSQL a source's matched entries take their ids and their URLs' candidates and
    # stories ahead, with its other reads; what an earlier entry of the same source made of
    # the same URL must still count, and ids still follow the feed's order.
    s = Store(backend)
    try:
        s.sync_sources([(f"https://{n}.example/feed", n, None) for n in "ab"], T0)
        a, b = (x.id for x in sorted(s.sources(), key=lambda x: x.url))
        s.save_entries(a, [entry("one", "Regulator fines the cloud giant"),
                           entry("fires", "Chipmaker recalls its flagship phone over battery"
                                          " fires")], [["cloud"], ["chips"]], T0)

        def at(key: str, title: str, url_key: str) -> EntryData:
            e = entry(key, title)
            url = f"https://news.example/{url_key}"
            return EntryData(key=e.key, url=url, link=url, title=e.title, summary=e.summary,
                             content="", text=e.text)

        with s.write_batch():
            s.save_entries(b, [at("b1", "Quiet one", "q1"),
                               at("b2", "Regulator fines the cloud giant", "one"),
                               at("b3", "Quiet two", "q2"),
                               at("b4", "Chipmaker recalls its flagship", "two"),
                               at("b5", "Chipmaker recalls its flagship again", "two"),
                               at("b6", "Quiet three", "q3"),
                               # A candidate of its own first, then, under the same URL, the
                               # story another outlet has: it stays the candidate it is.
                               at("b7", "Stadium opens downtown", "three"),
                               at("b8", "Chipmaker recalls its flagship phone over battery"
                                        " fires", "three")],
                           [[], ["cloud"], [], ["chips"], ["chips", "recalls"], [], ["local"],
                            ["chips"]], T0)
        cands = {c.url: (sorted(c.topics), [x.url for x in c.also])
                 for c in s.candidates(limit=None)}
        # "two" joins the other outlet's story, and its second copy lends it its topics.
        assert cands == {"https://news.example/one": (["cloud"], []),
                         "https://news.example/fires": (["chips", "recalls"],
                                                        ["https://news.example/two"]),
                         "https://news.example/three": (["chips", "local"], [])}
        keys = [r[0] for r in s.conn.execute(
            "SELECT key FROM entries WHERE source_id = ? ORDER BY id", (b,)).fetchall()]
        assert keys == ["b1", "b2", "b3", "b4", "b5", "b6", "b7", "b8"]
    finally:
        s.close()


def test_new_sources_are_written_in_few_round_trips(pg_url: str) -> None:
    # A first `poll` of 1,000 new sources waited for the server once per source before it
    # fetched anything.
    from curator.store.backend import round_trips

    s = Store(pg_url)
    try:
        before = round_trips()
        s.sync_sources([(f"https://{i}.example/feed", f"S{i}", None) for i in range(1000)], T0)
        assert round_trips() - before <= 10
        assert [x.name for x in s.sources()] == [f"S{i}" for i in range(1000)]
    finally:
        s.close()


def test_a_source_listed_twice_keeps_its_first_place_and_its_last_name(backend: Any) -> None:
    s = Store(backend)
    try:
        s.sync_sources([("https://a.example/feed", "A", None), ("https://b.example/feed", "B", 60),
                        ("https://a.example/feed", "A again", 30)], T0)
        assert [(x.url, x.name, x.interval) for x in s.sources()] == [
            ("https://a.example/feed", "A again", 30), ("https://b.example/feed", "B", 60)]
        s.sync_sources([("https://b.example/feed", "B2", 60)], T0)
        assert [(x.url, x.name) for x in s.sources()] == [("https://b.example/feed", "B2")]
        assert [(x.url, x.in_config) for x in s.sources(in_config=False)] == [
            ("https://a.example/feed", False), ("https://b.example/feed", True)]
    finally:
        s.close()


def test_an_article_joining_a_story_waits_for_the_server_with_its_placement(pg_url: str) -> None:
    # What joining reads of the story (how many articles it has, when it was first seen) is
    # sent with the placement's own reads, not waited for alone: a first poll joined ~700
    # stories, each a wait of its own.
    from curator.store.backend import round_trips
    from curator.stories import signature

    s = Store(pg_url)
    try:
        s.sync_sources([(f"https://{n}.example/feed", n, None) for n in "ab"], T0)
        a, b = (x.id for x in sorted(s.sources(), key=lambda x: x.url))
        title = "Chipmaker Zorvex recalls its flagship phone over battery fires"
        s.save_entries(a, [entry("one", title)], [["chips"]], T0)
        two = entry("two", title + " in Europe")
        with s.write_batch():
            before = round_trips()
            # As a poll's parse workers give them: with its signature.
            s.save_entries(b, [two], [["chips"]], T0 + timedelta(minutes=5),
                           signatures=[signature(two.title, two.text)])
            # Its reads; the story's articles and sources, with what joining reads; its end.
            assert round_trips() - before == 3
        [c] = s.candidates(limit=None)
        assert [x.url for x in c.also] == ["https://news.example/two"]
    finally:
        s.close()


def test_a_poll_s_new_candidates_wait_for_the_server_with_their_source(pg_url: str) -> None:
    # A new candidate's id is taken ahead with its source's reads: its INSERT is not waited
    # for alone (a first poll made ~700 candidates, each a wait of its own).
    from curator.store.backend import round_trips
    from curator.stories import signature

    s = Store(pg_url)
    try:
        s.sync_sources([(f"https://{n}.example/feed", n, None) for n in "abcd"], T0)
        ids = [x.id for x in sorted(s.sources(), key=lambda x: x.url)]
        saved: list[Any] = []
        words = iter(["Krakatoa", "Pentaflux", "Halvorsen", "Quillbrook", "Zorvex", "Baltic",
                      "Lighthouse", "Jakarta", "Senator", "Ferry", "Chipmaker", "Volcano"])

        async def poll_writes() -> None:
            batch = WriteBatch(s, size=len(ids))
            for sid in ids:
                # Three matched entries each, none of them like another: three new stories.
                es = [entry(f"{sid}-{i}", f"{next(words)} {sid} {i}") for i in range(3)]
                # As a poll's parse workers give them: with their signatures.
                batch.submit(lambda sid=sid, es=es: s.save_entries(
                    sid, es, [["news"]] * 3, T0, signatures=[signature(e.title, e.text)
                                                             for e in es]),
                             saved.append, pytest.fail)

        before = round_trips()
        asyncio.run(poll_writes())
        # One per source and the batch's own six, as for entries that match nothing.
        assert round_trips() - before == len(ids) + 6
        assert [(r.new, r.new_candidates) for r in saved] == [(3, 3)] * len(ids)
        cands = s.conn.execute("SELECT c.id, e.id, e.source_id, e.key FROM candidates c"
                               " JOIN entries e ON e.id = c.entry_id ORDER BY c.id").fetchall()
        # In the order they were made, as when each waited for its id.
        assert [(sid, key) for _, _, sid, key in cands] == [
            (sid, f"{sid}-{i}") for sid in ids for i in range(3)]
        assert [eid for _, eid, _, _ in cands] == sorted(eid for _, eid, _, _ in cands)
        assert s.conn.execute("SELECT count(*) FROM candidate_topics").fetchone()[0] == 12
    finally:
        s.close()


@pytest.mark.parametrize("racing", ["a", "b"])
def test_a_candidate_made_meanwhile_by_another_connection_makes_the_batch_run_again(
        pg_url: str, caplog: pytest.LogCaptureFixture, racing: str) -> None:
    # A source read that its URL was no candidate, and took an id ahead for it; another
    # connection (a desk's `add`) stores that URL before the INSERT: the batch is written
    # again whole, and the entry joins that candidate, as it would have had it read it.
    # The collision shows with the next source's first answers (a) or at the batch's end (b).
    from curator.clock import iso

    s = Store(pg_url)
    try:
        s.sync_sources([(f"https://{n}.example/feed", n, None) for n in "ab"], T0)
        a, b = (x.id for x in sorted(s.sources(), key=lambda x: x.url))
        done: dict[int, Any] = {}
        failed: dict[int, Exception] = {}
        place = s.stories.place
        raced: list[str] = []

        def racing_place(conn: Any, entry_id: int, source_id: int, e: EntryData,
                         *args: Any) -> Any:
            if e.url.endswith(f"/{racing}-1") and not raced:
                raced.append(e.url)
                with psycopg.connect(pg_url, autocommit=True) as other:
                    when = iso(T0 - timedelta(hours=1))
                    other.execute("INSERT INTO candidates (url, title, sort_time, first_seen)"
                                  " VALUES (%s, 'Added by hand', %s, %s)", (e.url, when, when))
            return place(conn, entry_id, source_id, e, *args)

        s.stories.place = racing_place  # type: ignore[method-assign]
        titles = {"a": ["Volcano Krakatoa erupts again near Jakarta",
                        "Lighthouse keeper rescues Baltic ferry crew",
                        "Senator Halvorsen resigns over Quillbrook bribery case"],
                  "b": ["Zorvex chipmaker unveils its Pentaflux processor",
                        "Marathon runner Okonkwo breaks the Andean course record",
                        "Orchestra of Tallinn cancels its winter tour"]}

        async def poll_writes() -> None:
            batch = WriteBatch(s, size=2)
            for sid, key in ((a, "a"), (b, "b")):
                es = [entry(f"{key}-{i}", title) for i, title in enumerate(titles[key])]
                batch.submit(lambda sid=sid, es=es: s.save_entries(sid, es, [["news"]] * 3, T0),
                             lambda r, sid=sid: done.update({sid: r}),
                             lambda e, sid=sid: failed.update({sid: e}))

        with caplog.at_level("WARNING", logger="curator"):
            asyncio.run(poll_writes())
        url = f"https://news.example/{racing}-1"
        assert raced == [url]
        assert failed == {} and sorted(done) == [a, b]
        assert (done[a].new, done[b].new) == (3, 3)
        # The racing one joined the candidate made meanwhile; the others made their own.
        assert [done[a].new_candidates, done[b].new_candidates] == [
            2 if racing == "a" else 3, 2 if racing == "b" else 3]
        rows = s.conn.execute("SELECT c.url, c.title, t.topic FROM candidates c LEFT JOIN"
                              " candidate_topics t ON t.candidate_id = c.id WHERE c.url = ?",
                              (url,)).fetchall()
        assert rows == [(url, "Added by hand", "news")]
        assert s.entry_count() == 6 and len(s.candidates(limit=None)) == 6
        logged = [r.getMessage() for r in caplog.records if "running it again" in r.getMessage()]
        assert len(logged) == 1 and "another connection" in logged[0]
    finally:
        s.close()


def test_a_candidate_made_meanwhile_inside_a_caller_s_batch_ends_it_as_a_collision(
        pg_url: str) -> None:
    # The same collision in a write batch of the caller's own (not a poll's WriteBatch): the
    # source's block is read at its end, and the batch ends as a deadlock would end it, for
    # the caller to write it again; nothing of it is stored.
    from curator.clock import iso

    s = Store(pg_url)
    try:
        s.sync_sources([("https://a.example/feed", "A", None)], T0)
        [src] = s.sources()
        place = s.stories.place

        def racing_place(conn: Any, entry_id: int, source_id: int, e: EntryData,
                         *args: Any) -> Any:
            with psycopg.connect(pg_url, autocommit=True) as other:
                when = iso(T0)
                other.execute("INSERT INTO candidates (url, title, sort_time, first_seen)"
                              " VALUES (%s, 'Added by hand', %s, %s)", (e.url, when, when))
            return place(conn, entry_id, source_id, e, *args)

        s.stories.place = racing_place  # type: ignore[method-assign]
        with pytest.raises(TransactionConflict, match="another connection"), s.write_batch():
            s.save_entries(src.id, [entry("one", "Volcano Krakatoa erupts again near Jakarta")],
                           [["news"]], T0)
        assert s.entry_count() == 0
        assert [c.title for c in s.candidates(limit=None)] == ["Added by hand"]
    finally:
        s.close()
