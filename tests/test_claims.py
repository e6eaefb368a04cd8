"""Many pollers on one database: each due source fetched once per round, claims that lapse when
their poller dies, and the claim rules themselves."""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import db_rows, write_config

from curator.claims import LEASE_MIN, lease_seconds, this_machine
from curator.config import load as load_config
from curator.core import Curator
from curator.store import Store


def feed(n: int, items: int = 5, shared: int = 0) -> str:
    """Feed n: `items` articles of its own, then `shared` that every feed carries (in an order
    that differs from feed to feed, as wire stories do)."""
    parts = [f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
             f"<title>Feed {n}</title><link>https://f{n}.example.org/</link>"
             "<description>A feed</description>"]
    for i in range(items):
        parts.append(f"<item><title>Antitrust story {n}-{i}</title>"
                     f"<link>https://f{n}.example.org/story/{i}</link><guid>f{n}-{i}</guid>"
                     "<description>A merger ruling.</description></item>")
    order = list(range(shared)) if n % 2 else list(reversed(range(shared)))
    for i in order:
        parts.append(f"<item><title>Wire: antitrust merger blocked, part {i}</title>"
                     f"<link>https://wire.example.org/story/{i}</link><guid>wire-{i}</guid>"
                     "<description>A merger ruling.</description></item>")
    return "".join(parts) + "</channel></rss>"


def fetches(server: Any) -> collections.Counter[str]:
    return collections.Counter(path for path, _ in server.requests)


def poll_process(config: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "curator", "--config", str(config), "-q",
                             "poll", "--json", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture
def feeds(server: Any) -> list[str]:
    return [server.add(f"/f{n}.xml", feed(n, shared=6), delay=0.02) for n in range(40)]


def make_due(config: Path, now: datetime) -> None:
    """Every source due again (as the next round finds them), without waiting an interval."""
    store = Store(load_config(config).database)
    try:
        for s in store.sources():
            store.update_source(s.id, next_due=now.strftime("%Y-%m-%dT%H:%M:%SZ"))
    finally:
        store.close()


# ------------------------------------------------------------------ several pollers at once


def test_pollers_in_one_process_share_a_round_and_fetch_each_source_once(
        server: Any, tmp_path: Path, feeds: list[str], clock: Any, backend: Path | str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("curator.poll.POOL_THRESHOLD", 10**6)  # parse in-process: threads here
    config = load_config(write_config(tmp_path, feeds, poll={"concurrency": 4},
                                      database=str(backend)))
    pollers = [Curator(config) for _ in range(3)]
    pollers[0].sync_sources()
    summaries: list[Any] = []
    errors: list[BaseException] = []

    def run(c: Curator) -> None:
        try:
            summaries.append(c.poll())
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    for round_ in (1, 2):
        threads = [threading.Thread(target=run, args=(c,)) for c in pollers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors
        counts = fetches(server)
        assert set(counts) == {f"/f{n}.xml" for n in range(40)}
        assert set(counts.values()) == {round_}, counts  # each feed once per round
        done = summaries[-3:]
        assert [s.errors for s in done] == [[], [], []]  # no write lost to another's
        assert sum(s.fetched + s.not_modified for s in done) == 40
        # Small claims as the pool drains: the work was shared, not taken whole by one.
        assert sum(1 for s in done if s.fetched + s.not_modified) >= 2, done
        assert all(s.skipped == 40 - s.fetched - s.not_modified for s in done)
        clock.advance(hours=2)
    entries = pollers[0].store.conn.execute("SELECT count(*) FROM entries").fetchone()[0]
    assert entries == 40 * (5 + 6)  # nothing stored twice
    wire = pollers[0].store.conn.execute(
        "SELECT count(*) FROM candidates WHERE url LIKE 'https://wire.example.org/%'").fetchone()[0]
    assert wire == 6  # one candidate per shared article, whichever poller stored it first
    claimed = pollers[0].store.conn.execute(
        "SELECT count(*) FROM sources WHERE claimed_until IS NOT NULL").fetchone()[0]
    assert claimed == 0  # every claim ended with its source's write
    for c in pollers:
        c.close()


def test_poll_processes_on_one_database_fetch_each_feed_once_per_round(
        server: Any, tmp_path: Path, feeds: list[str], backend: Path | str) -> None:
    # On SQLite the poll lock lets one run at a time (the others wait, then find nothing due);
    # on PostgreSQL all three poll at once and share the round through their claims.
    config = write_config(tmp_path, feeds, poll={"concurrency": 8, "per_host": 8},
                          database=str(backend))
    for round_ in (1, 2):
        procs = [poll_process(config) for _ in range(3)]
        outs = [p.communicate(timeout=120) for p in procs]
        assert [p.returncode for p in procs] == [0, 0, 0], outs
        assert [json.loads(out)["failed"] for out, _ in outs] == [0, 0, 0], outs
        counts = fetches(server)
        assert len(counts) == 40 and set(counts.values()) == {round_}, counts
        make_due(config, datetime.now(UTC))


# ------------------------------------------------------------------ a poller that dies


def test_a_killed_pollers_sources_are_polled_at_once_by_the_next_poll_on_its_machine(
        server: Any, tmp_path: Path, clock: Any, backend: Path | str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Two "machines" on one database: CURATOR_HOST names each (containers sharing a host name
    # are told apart so). The poller on "alpha" is killed holding every source.
    slow = [server.add(f"/slow{n}.xml", feed(n), delay=30) for n in range(3)]
    path = write_config(tmp_path, slow, poll={"timeout": "40s", "per_host": 4},
                        database=str(backend))
    proc = subprocess.Popen([sys.executable, "-m", "curator", "--config", str(path), "-q",
                             "poll"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "CURATOR_HOST": "alpha"})
    try:
        deadline = time.monotonic() + 60
        while len(fetches(server)) < 3:  # every source claimed and being fetched
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    for route in server.routes.values():
        route.delay = 0
    clock.t = datetime.now(UTC).replace(microsecond=0)
    other = Curator(load_config(path))
    try:
        held = other.store.claimants()
        assert len(held) == 1 and held[0].startswith("alpha:") and f":{proc.pid}:" in held[0]
        # A poller on another machine cannot tell whether alpha's process lives (its process
        # ids are not this machine's): it leaves the claims to their lease.
        monkeypatch.setenv("CURATOR_HOST", "beta")
        passed = other.poll()
        assert passed.skipped == 3 and passed.fetched == 0
        assert set(fetches(server).values()) == {1}
        assert len(other.store.claimants()) == 1
        # On alpha the process is gone: no need to wait for the lease.
        monkeypatch.setenv("CURATOR_HOST", "alpha")
        assert other.poll().fetched == 3
        assert set(fetches(server).values()) == {2}
        assert other.store.claimants() == []
    finally:
        other.close()


def test_a_pollers_claims_from_another_machine_lapse_with_the_lease(
        server: Any, tmp_path: Path, clock: Any, backend: Path | str) -> None:
    urls = [server.add(f"/f{n}.xml", feed(n)) for n in range(3)]
    c = Curator(load_config(write_config(tmp_path, urls, poll={"timeout": "40s"},
                                         database=str(backend))))
    try:
        c.sync_sources()
        ids = [s.id for s in c.store.sources()]
        assert lease_seconds(40.0) == 120.0
        # A short lease, so that it runs out within the test on PostgreSQL, whose leases go by
        # the server's clock (the faked one of this test is not the server's). Stored to the
        # second, a lease of 1 s could end before the first poll below on a loaded machine.
        lease = 3.0
        # One on another machine that died (or is alive: from here, no telling) ...
        far = c.store.claim_sources(ids[:2], worker="elsewhere:0badf00d:4242:ab", now=clock(),
                                    lease=lease, schedule=True)
        # ... and one alive on this machine (this test's parent process).
        near = c.store.claim_sources(ids[2:], worker=f"{this_machine()}:{os.getppid()}:cd",
                                     now=clock(), lease=lease, schedule=True)
        assert len(far) == 2 and len(near) == 1
        held = c.poll()
        assert held.skipped == 3 and held.fetched == 0 and fetches(server) == {}
        clock.advance(seconds=lease + 1)
        if isinstance(backend, str):
            time.sleep(lease + 1.0)  # a lease time is stored to the second
        later = c.poll()
        assert later.fetched == 3 and later.skipped == 0
    finally:
        c.close()


def test_machines_whose_clocks_disagree_agree_on_a_lease_by_the_servers_clock(
        server: Any, tmp_path: Path, pg_url: str) -> None:
    # Two machines against one PostgreSQL, alpha's clock 5 s slow and beta's 5 s fast: each
    # poller passes its own clock, and the lease goes by the server's all the same.
    urls = [server.add(f"/f{n}.xml", feed(n)) for n in range(4)]
    config = load_config(write_config(tmp_path, urls, database=pg_url))
    alpha, beta = Store(pg_url), Store(pg_url)
    try:
        def slow() -> datetime:
            return datetime.now(UTC) - timedelta(seconds=5)

        def fast() -> datetime:
            return datetime.now(UTC) + timedelta(seconds=5)

        Curator(config, store=alpha, now=slow).sync_sources()
        ids = [s.id for s in alpha.sources()]

        lease = 2.0
        assert len(alpha.claim_sources(ids, worker="alpha:1:10:aa", now=slow(), lease=lease,
                                       schedule=True)) == 4
        started = time.monotonic()
        # By beta's clock alpha's claims ended 8 s ago; by the server's they run 2 s more.
        assert beta.claim_sources(ids, worker="beta:2:20:bb", now=fast(), lease=lease,
                                  schedule=True) == []
        # Alpha renews by its slow clock: the claims still last `lease` by the server's.
        assert alpha.renew_claims("alpha:1:10:aa", now=slow(), lease=lease) == 4
        assert beta.claim_sources(ids, worker="beta:2:20:bb", now=fast(), lease=lease,
                                  schedule=True) == []
        renewed = time.monotonic()
        time.sleep(lease + 0.2)
        taken = beta.claim_sources(ids, worker="beta:2:20:bb", now=fast(), lease=lease,
                                   schedule=True)
        assert len(taken) == 4 and time.monotonic() - started >= lease
        assert time.monotonic() - renewed >= lease
        rows = db_rows(pg_url, "SELECT DISTINCT claimed_by FROM sources")
        assert rows == [("beta:2:20:bb",)]
    finally:
        alpha.close()
        beta.close()


def test_a_machine_is_named_by_its_host_or_curator_host_and_its_boot(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from curator.claims import dead_claimants, worker_name

    monkeypatch.delenv("CURATOR_HOST", raising=False)
    host, boot = this_machine().split(":")
    assert host == socket.gethostname().replace(":", "_") and boot
    monkeypatch.setenv("CURATOR_HOST", "poller-2")
    assert this_machine() == f"poller-2:{boot}"
    assert worker_name().startswith(f"poller-2:{boot}:{os.getpid()}:")
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)
    pid = int(ended.stdout)
    mine, theirs = f"poller-2:{boot}:{pid}:ab", f"poller-1:{boot}:{pid}:ab"
    # Only this machine's ended pollers are known to have ended.
    assert dead_claimants([mine, theirs, f"poller-2:{boot}:{os.getpid()}:cd"]) == [mine]


def test_on_sqlite_the_next_poll_takes_over_a_killed_pollers_claims_at_once(
        server: Any, tmp_path: Path, clock: Any) -> None:
    urls = [server.add(f"/f{n}.xml", feed(n)) for n in range(3)]
    c = Curator(load_config(write_config(tmp_path, urls)))
    try:
        c.sync_sources()
        ids = [s.id for s in c.store.sources()]
        # A poller that died holding every source (its process is gone, its claims are not).
        dead = c.store.claim_sources(ids, worker="gone:1:ab", now=clock(), lease=3600,
                                     schedule=True)
        assert len(dead) == 3
        assert c.poll().skipped == 3
        # The poll lock proves no other poller runs on this file: its holder takes them over.
        with c.poll_lock():
            assert c.poll().fetched == 3
    finally:
        c.close()


# ------------------------------------------------------------------ the claim rules


def test_a_claim_takes_only_free_due_sources_and_the_outcome_ends_it(
        server: Any, tmp_path: Path, clock: Any, backend: Path | str) -> None:
    urls = [server.add(f"/f{n}.xml", feed(n)) for n in range(4)]
    c = Curator(load_config(write_config(tmp_path, urls, database=str(backend))))
    store = c.store
    try:
        c.sync_sources()
        a, b, d, e = (s.id for s in store.sources())
        now = clock()
        later = now + timedelta(minutes=4)
        store.update_source(d, disabled="gone")
        store.update_source(e, next_due="2099-01-01T00:00:00Z")
        got = store.claim_sources([a, b, d, e], worker="one", now=now, lease=120, schedule=True)
        assert [s.id for s in got] == [a, b]  # not the disabled one, nor the one not due
        forced = store.claim_sources([e], worker="one", now=now, lease=120, schedule=False)
        assert [s.id for s in forced] == [e]  # a forced poll takes one not due yet
        assert store.claim_sources([a, b], worker="two", now=now, lease=120,
                                   schedule=True) == []  # held by "one"
        assert store.renew_claims("one", now=now, lease=180) == 3
        # Lapsed claims are free again.
        store.update_source(a, claimed_until="2000-01-01T00:00:00Z")
        taken = store.claim_sources([a], worker="two", now=later, lease=120, schedule=True)
        assert [s.id for s in taken] == [a]
        assert store.release_claims("one") == 2  # b and e; a is two's now
        # Storing a poll's outcome ends the claim on its source.
        clock.t = later
        assert c.poll(only=[urls[0]]).skipped == 1  # a is two's
        store.release_claims("two")
        assert c.poll(only=[urls[0]]).fetched == 1
        row = store.conn.execute("SELECT claimed_by, claimed_until FROM sources WHERE id = ?",
                                 (a,)).fetchone()
        assert row[0] and row[0] != "two" and row[1] is None  # the last poller, no claim
    finally:
        c.close()


def test_the_lease_follows_the_fetch_timeout() -> None:
    assert lease_seconds(5.0) == LEASE_MIN == 60.0
    assert lease_seconds(20.0) == 60.0  # the default timeout
    assert lease_seconds(90.0) == 270.0


def test_following_an_unchanged_feeds_yaml_writes_no_row(tmp_path: Path, clock: Any) -> None:
    # Every poll syncs the sources first; rows it wrote would be locked from other pollers.
    urls = [f"https://f{n}.example.org/feed.xml" for n in range(5)]
    store = Store(tmp_path / "db" / "curator.db")
    try:
        store.sync_sources(((u, None, None) for u in urls), clock())
        before = store.conn.total_changes
        store.sync_sources(((u, None, None) for u in urls), clock())
        assert store.conn.total_changes == before
        store.sync_sources(((u, "Renamed" if u == urls[0] else None, None) for u in urls[:4]),
                           clock())
        assert store.conn.total_changes == before + 2  # one renamed, one no longer configured
        assert [s.name for s in store.sources()] == ["Renamed", None, None, None]
    finally:
        store.close()
