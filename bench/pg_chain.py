"""Where a PostgreSQL first poll's writing thread spends its time: waiting for the server, or
computing, for one or more builds of curator, alternating.

    .venv/bin/python bench/pg_chain.py                                  # this tree, 1,000 feeds
    .venv/bin/python bench/pg_chain.py --tree . --tree /tmp/old --repeat 3   # before/after

On PostgreSQL a poll's write batches go through a thread of their own (writes.py), in
PostgreSQL's pipeline mode: the thread computes a source's writes and sends them, and waits for
the server only when it reads an answer. Whatever it waits for at that point (the server
executing what was sent before, and the answer's round trip) is time the thread and the server
did not overlap. On a shared machine the wall time of a poll swings with the load; how many
times the writing thread waited, for which statements, and how much of its time was waiting
against its own CPU show what a change did to that chain without a quiet machine.

Each poll is `curator poll --all --json` as a whole process on a fresh database of a throwaway
PostgreSQL server (tests/pg.py, with pg_bench's durable settings), run through this file's
child mode, which times the writing thread from inside (psycopg's waits for a pipelined answer,
its syncs, statements sent outside a pipeline, each batch's wall and thread CPU) and then runs
curator as the `curator` command would. Nothing here is a test: the figures are this
machine's, in this run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
#: The statements waited for longest, listed for each poll.
TOP = 6


def child(stats_path: str, argv: list[str]) -> None:
    """Run `curator ARGV` with the writing thread timed; its figures go to stats_path (JSON)."""
    from curator import writes
    from curator.store import backend

    stats: dict[str, Any] = {"waits": 0, "wait_s": 0.0, "syncs": 0, "sync_s": 0.0,
                             "unpipelined": 0, "unpipelined_s": 0.0, "batches": 0,
                             "batches_s": 0.0, "batches_cpu_s": 0.0}
    waited: dict[str, list[float]] = {}
    sent: dict[int, str] = {}  # a pipelined statement's cursor -> its first words
    main_pid = os.getpid()

    def writing() -> bool:
        return threading.current_thread().name.startswith("curator-writes")

    ready = backend.PgCursor._ready

    def timed_ready(self: Any) -> Any:
        cur = self._cur
        if cur is None or cur.pgresult is not None or cur.connection._pipeline is None:
            return ready(self)
        started = time.perf_counter()
        try:
            return ready(self)
        finally:
            if writing():
                took = time.perf_counter() - started
                stats["waits"] += 1
                stats["wait_s"] += took
                what = waited.setdefault(sent.pop(id(cur), "?"), [0, 0.0])
                what[0] += 1
                what[1] += took

    execute = backend.PgConnection.execute

    def timed_execute(self: Any, sql: str, params: Any = (), /) -> Any:
        if self._pipe is not None:
            cursor = execute(self, sql, params)
            if writing() and cursor._cur is not None:
                sent[id(cursor._cur)] = " ".join(sql.split()[:6])[:64]
            return cursor
        started = time.perf_counter()
        try:
            return execute(self, sql, params)
        finally:
            if writing():
                stats["unpipelined"] += 1
                stats["unpipelined_s"] += time.perf_counter() - started

    sync = backend.PgConnection.sync

    def timed_sync(self: Any) -> None:
        started = time.perf_counter()
        try:
            sync(self)
        finally:
            if writing():
                stats["syncs"] += 1
                stats["sync_s"] += time.perf_counter() - started

    written = writes.WriteBatch._written

    def timed_written(self: Any, batch: Any, recorded: Any) -> Any:
        started, cpu = time.perf_counter(), time.thread_time()
        try:
            return written(self, batch, recorded)
        finally:
            stats["batches"] += 1
            stats["batches_s"] += time.perf_counter() - started
            stats["batches_cpu_s"] += time.thread_time() - cpu

    backend.PgCursor._ready = timed_ready  # type: ignore[method-assign]
    backend.PgConnection.execute = timed_execute  # type: ignore[method-assign]
    backend.PgConnection.sync = timed_sync  # type: ignore[method-assign]
    writes.WriteBatch._written = timed_written  # type: ignore[method-assign]

    def dump() -> None:
        if os.getpid() != main_pid:  # a forked parse worker
            return
        stats["round_trips"] = backend.round_trips()
        stats["waited"] = sorted(([k, *v] for k, v in waited.items()), key=lambda r: -r[2])
        Path(stats_path).write_text(json.dumps(stats))

    import atexit

    atexit.register(dump)
    sys.argv = ["curator", *argv]
    from curator.quick import main

    main()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tree", action="append", type=Path,
                   help="a checkout of curator to poll with (repeat for several; default: this"
                        " one); each is imported from its own folder")
    p.add_argument("--feeds", type=int, default=1000)
    p.add_argument("--items", type=int, default=30)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--repeat", type=int, default=1, help="polls per tree, alternating")
    args = p.parse_args(argv)

    sys.path.insert(0, str(HERE))
    sys.path.insert(0, str(HERE.parent / "tests"))
    from pg import Cluster
    from pg_bench import SERVER_SETTINGS, server_cpu, with_database
    from poll_bench import OUT, Server, generate, measure, write_curator_config

    trees = [t.resolve() for t in args.tree or [HERE.parent]]
    import compileall

    for tree in trees:
        compileall.compile_dir(tree / "curator", quiet=1)
    OUT.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="pg-chain-", dir=OUT))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    root = generate(args.feeds, args.items)
    server = Server("nginx" if shutil.which("nginx") else "python", work)
    urls = [f"http://127.0.0.1:{server.port}/f{i:05d}.xml" for i in range(args.feeds)]
    server.start(root / "v1", validators=True)
    cluster = Cluster(settings=dict(SERVER_SETTINGS))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    try:
        for n in range(args.repeat):
            for t, tree in enumerate(trees):
                folder = work / f"poll-{t}-{n}"
                config = write_curator_config(folder, urls, args.concurrency)
                with_database(config, cluster.url(cluster.create(template=None)))
                stats = folder / "chain.json"
                before = server_cpu(cluster)
                wall, cpu, _, _, _, rc, out, err = measure(
                    [sys.executable, str(Path(__file__).resolve()), "--child", str(stats), "--",
                     "--config", str(config), "-q", "poll", "--all", "--json"],
                    env={**env, "PYTHONPATH": str(tree)})
                time.sleep(0.5)  # the backend that served the poll ends, and is counted once
                served = server_cpu(cluster) - before
                if rc != 0 or not stats.exists():
                    raise RuntimeError(f"the poll with {tree} failed: {err[-2000:]}")
                s = json.loads(stats.read_text())
                busy = s["batches_s"]
                print(f"{tree}: {wall:.2f} s wall, curator {cpu:.1f} s CPU, the server's "
                      f"{served:.1f} s, {json.loads(out)['new_entries']:,} entries (load "
                      f"{os.getloadavg()[0]:.1f})\n  writing thread: busy {busy:.2f} s in "
                      f"{s['batches']} batches, {s['batches_cpu_s']:.2f} s of it on the CPU; "
                      f"waited {s['waits']:,} times for pipelined answers ({s['wait_s']:.2f} s), "
                      f"{s['syncs']} syncs ({s['sync_s']:.2f} s), {s['unpipelined']} statements "
                      f"outside a pipeline ({s['unpipelined_s']:.2f} s); the process's round "
                      f"trips {s['round_trips']:,}", flush=True)
                for what, count, took in s["waited"][:TOP]:
                    print(f"    {count:6,} waits {took:7.2f} s  {what}")
    finally:
        server.stop()
        cluster.close()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 3 and sys.argv[1] == "--child" and sys.argv[3] == "--":
        child(sys.argv[2], sys.argv[4:])
    else:
        sys.exit(main())
