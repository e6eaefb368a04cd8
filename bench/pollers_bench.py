"""Several pollers on one PostgreSQL database: each feed fetched exactly once per round.

    .venv/bin/python bench/pollers_bench.py                  # 3 pollers, 3,000 feeds, 2 rounds
    .venv/bin/python bench/pollers_bench.py --pollers 2 --feeds 1000
    .venv/bin/python bench/pollers_bench.py --database postgresql://USER:PW@HOST:5432/NAME

It generates synthetic RSS feeds (poll_bench.py's generator), serves them on 127.0.0.1 from a
small aiohttp server that logs every request it answers, and runs rounds of `curator poll`:
N processes started together on one database, then, on a fresh database, one process alone.
Round 1 is a first poll (every feed fetched, parsed, stored); before each later round every
source is made due again, and the server answers the conditional requests with 304. From the
server's log it counts how many times each feed was fetched in each round: exactly once each is
the claim's promise. It prints the wall time of each round (start of the first poller to the end
of the last) and the CPU time of all the pollers together, N pollers against one.

Without --database it starts a throwaway PostgreSQL cluster (tests/pg.py: initdb, pg_ctl, a
loopback port) and removes it afterwards. The figures are for this machine, in this run; nothing
here is a test.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from pg_bench import SERVER_SETTINGS, with_database  # noqa: E402
from poll_bench import (  # noqa: E402
    curator_cmd,
    free_port,
    generate,
    machine,
    measure,
    wait_port,
    write_curator_config,  # noqa: E402
)


def serve(root: str, port: str, log: str) -> None:
    """The feed server: static files with ETag/Last-Modified (304s), one log line a request."""
    from aiohttp import web

    base = Path(root)
    out = open(log, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 - lives as the server

    async def handle(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        path = base / name
        if "/" in name or not path.is_file():
            raise web.HTTPNotFound()
        out.write(f"/{name}\n")
        return web.FileResponse(path, headers={"Content-Type": "application/rss+xml"})

    app = web.Application()
    app.router.add_get("/{name}", handle)
    web.run_app(app, host="127.0.0.1", port=int(port), print=None, access_log=None,
                backlog=4096)


class FeedServer:
    def __init__(self, root: Path, log: Path) -> None:
        self.port = free_port()
        self.log = log
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "_serve", str(root), str(self.port), str(log)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        wait_port(self.port)
        self._seen = 0

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    def round_fetches(self) -> collections.Counter[str]:
        """The requests logged since the last call, by path."""
        time.sleep(0.2)  # the last lines reach the file
        lines = self.log.read_text(encoding="utf-8").splitlines()
        new, self._seen = lines[self._seen:], len(lines)
        return collections.Counter(new)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def make_due(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE sources SET next_due = '2000-01-01T00:00:00Z'")


def run_round(config: Path, pollers: int) -> tuple[float, float, list[str], list[str]]:
    """Start `pollers` polls together: wall s (first start to last end), CPU s, what each
    poller's summary said (fetched/not modified/failed/skipped), and the pollers that failed."""
    results: list[tuple[float, float, int, str, str]] = [(0.0, 0.0, 0, "", "")] * pollers
    cmd = [*curator_cmd(), "--config", str(config), "-q", "poll", "--json"]

    def one(i: int) -> None:
        wall, cpu, _, _, _, rc, out, err = measure(cmd)
        results[i] = (wall, cpu, rc, out, err)

    started = time.perf_counter()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(pollers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    failures = [err.strip()[-500:] for _, _, rc, _, err in results if rc != 0]
    shares = []
    for *_, out, _ in results:
        try:
            d = json.loads(out)
            shares.append(f"{d['fetched']}/{d['not_modified']}/{d['failed']}/{d['skipped']}")
        except (ValueError, KeyError):
            shares.append("?")
    return wall, sum(r[1] for r in results), shares, failures


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pollers", type=int, default=3, help="pollers run together (default 3)")
    p.add_argument("--feeds", type=int, default=3000, help="how many feeds (default 3000)")
    p.add_argument("--items", type=int, default=30, help="items per feed (default 30)")
    p.add_argument("--rounds", type=int, default=2, help="rounds (default 2: first poll, 304s)")
    p.add_argument("--concurrency", type=int, default=64, help="poll.concurrency (default 64)")
    p.add_argument("--database", metavar="URL",
                   help="a PostgreSQL server to make two databases on (default: a throwaway "
                        "cluster); the URL names any database there that the user may use")
    args = p.parse_args(argv)

    info = machine()
    print(f"machine: {info['nproc']} CPUs ({info['cpu']}), {info['ram']} RAM, {info['os']}, "
          f"Python {info['python']}", file=sys.stderr)
    root = generate(args.feeds, args.items) / "v1"
    names = sorted(f.name for f in root.iterdir())[:args.feeds]
    work = Path(tempfile.mkdtemp(prefix="pollers-bench-"))
    server = FeedServer(root, work / "requests.log")
    cluster = None
    try:
        if args.database:
            import psycopg

            base = args.database

            def create(name: str) -> str:
                with psycopg.connect(base, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
                    conn.execute(f'CREATE DATABASE "{name}"')
                head, _, _ = base.rpartition("/")
                return f"{head}/{name}"
        else:
            from pg import Cluster

            cluster = Cluster(settings=SERVER_SETTINGS)  # pg_bench's: a server as deployed

            def create(name: str) -> str:
                assert cluster is not None
                return cluster.url(cluster.create())

        urls = [server.url(n) for n in names]
        table = []
        ok = True
        for pollers in (args.pollers, 1):
            db = create(f"pollers_bench_{pollers}")
            folder = work / f"x{pollers}"
            config = with_database(write_curator_config(folder, urls, args.concurrency), db)
            server.round_fetches()
            for r in range(1, args.rounds + 1):
                if r > 1:
                    make_due(db)
                wall, cpu, shares, failures = run_round(config, pollers)
                counts = server.round_fetches()
                once = sum(1 for n in names if counts.get(f"/{n}") == 1)
                twice = sum(1 for n in names if counts.get(f"/{n}", 0) > 1)
                missed = sum(1 for n in names if not counts.get(f"/{n}"))
                ok &= once == len(names) and not failures
                table.append((pollers, r, wall, cpu, once, twice, missed, shares, failures))
        print(f"\n{args.feeds} feeds x {args.items} items, poll.concurrency {args.concurrency}, "
              f"PostgreSQL; each round's fetches counted from the server's log\n")
        print("| pollers | round | wall s | CPU s (all pollers) | fetched once | more than once "
              "| not fetched | each poller: fetched/304/failed/skipped |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        by_round = {(n, r): (w, c) for n, r, w, c, *_ in table}
        for n, r, wall, cpu, once, twice, missed, shares, failures in table:
            print(f"| {n} | {r}{' (first poll)' if r == 1 else ' (304s)'} | {wall:.1f} | "
                  f"{cpu:.1f} | {once} | {twice} | {missed} | {', '.join(shares)} |")
            for f in failures:
                print(f"  a poller failed: {f}", file=sys.stderr)
        for r in range(1, args.rounds + 1):
            (w_n, c_n), (w_1, c_1) = by_round[(args.pollers, r)], by_round[(1, r)]
            print(f"round {r}: {args.pollers} pollers take {w_n / w_1:.2f}x the wall time and "
                  f"{c_n / c_1:.2f}x the CPU of one")
        print("every feed fetched exactly once in every round" if ok else
              "NOT every feed was fetched exactly once in every round")
        return 0 if ok else 1
    finally:
        server.stop()
        if cluster is not None:
            cluster.close()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_serve":
        serve(*sys.argv[2:5])
    else:
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
        sys.exit(main())
