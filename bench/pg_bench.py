"""PostgreSQL benchmark: the same curator on PostgreSQL and on SQLite, in the same run.

    .venv/bin/python bench/pg_bench.py                       # 1,000 feeds; 1,000,000 entries
    .venv/bin/python bench/pg_bench.py --entries 200000      # quicker
    .venv/bin/python bench/pg_bench.py --skip-query          # the poll only
    .venv/bin/python bench/pg_bench.py --skip-poll
    .venv/bin/python bench/pg_bench.py --skip-query --profile   # where the server's time goes
    .venv/bin/python bench/pg_bench.py --skip-query --baseline-cmd '/old/.venv/bin/curator'

A throwaway PostgreSQL server (tests/pg.py: initdb and pg_ctl in a temporary folder, on a loopback
port) is started with settings as durable as SQLite's in curator (fsync on; synchronous_commit
off, which like SQLite's WAL with synchronous=NORMAL may lose the last commits at a power cut but
never corrupts), and then:

  1. first poll   poll_bench's synthetic feeds served on 127.0.0.1, a fresh database each time,
                  `curator poll --all --json` as a whole process, SQLite and PostgreSQL
                  alternating, median of --repeat runs. Target: PostgreSQL within 1.5x of SQLite.
                  Each PostgreSQL run also says the server's CPU (its processes, ended ones
                  included); with --profile, the statements that took the server's time
                  (pg_stat_statements): calls, total and mean time, rows.
  2. copy-db      query_bench's filler writes --entries entries into SQLite; `curator copy-db`
                  moves them to PostgreSQL: its time, and its peak memory (it streams), as
                  sampled from /proc while it runs.
  3. queries      `curator candidates --json` as a whole process on both, median of --runs.
                  Target: under 100 ms on PostgreSQL. Then every statement it runs on
                  PostgreSQL, with its plan (EXPLAIN ANALYZE, by auto_explain in the server log).

Nothing here is a test: the figures are this machine's, in this run.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from poll_bench import (  # noqa: E402
    OUT,
    Run,
    Server,
    curator_cmd,
    generate,
    machine,
    measure,
    write_curator_config,
)
from query_bench import Filler, timed_cmd, write_config  # noqa: E402

#: As durable as curator's SQLite (WAL, synchronous=NORMAL); sized for a small server.
SERVER_SETTINGS = {"fsync": "on", "synchronous_commit": "off", "full_page_writes": "on",
                   "shared_buffers": "256MB", "effective_cache_size": "1GB",
                   "max_wal_size": "2GB", "work_mem": "16MB"}


def with_database(config: Path, database: str) -> Path:
    """The same feeds.yaml with another `database:`."""
    text = config.read_text()
    lines = [f"database: {database}" if line.startswith("database:") else line
             for line in text.splitlines()]
    config.write_text("\n".join(lines) + "\n")
    return config


def server_cpu(cluster: object) -> float:
    """CPU seconds the server has used: the postmaster, its live processes and those ended."""
    tick = os.sysconf("SC_CLK_TCK")
    root = int((Path(cluster.data) / "postmaster.pid").read_text().split()[0])  # type: ignore[attr-defined]

    def times(pid: int, children: bool) -> float:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            return 0.0
        used = int(fields[11]) + int(fields[12])  # utime, stime
        if children:
            used += int(fields[13]) + int(fields[14])  # cutime, cstime: reaped backends
        return used / tick

    total = times(root, True)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == root:
                total += times(int(entry.name), False)
    return total


class ServerWatch:
    """While a run lasts: the CPU each of the server's processes used, by kind (the backends
    serving curator, the WAL writer, autovacuum, ...), sampled from /proc."""

    def __init__(self, cluster: object) -> None:
        import threading

        self.root = int((Path(cluster.data) / "postmaster.pid").read_text().split()[0])  # type: ignore[attr-defined]
        self.seen: dict[int, tuple[str, float]] = {}
        self.start = {pid: used for pid, (_, used) in self._sample().items()}
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _sample(self) -> dict[int, tuple[str, float]]:
        tick = os.sysconf("SC_CLK_TCK")
        out = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
                if int(fields[1]) != self.root:
                    continue
                title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
            except (OSError, IndexError, ValueError):
                continue
            kind = title.removeprefix("postgres: ").split(" ")[0] if "curator" not in title \
                else "backends"
            out[int(entry.name)] = (kind or "backends", (int(fields[11]) + int(fields[12])) / tick)
        return out

    def _run(self) -> None:
        while not self.stopping.wait(0.2):
            self.seen.update(self._sample())

    def stop(self) -> dict[str, float]:
        self.stopping.set()
        self.thread.join()
        self.seen.update(self._sample())
        kinds: dict[str, float] = {}
        # Each backend serving curator apart (the poll's own, its search filler's, ...).
        backends = sorted((used - self.start.get(pid, 0.0) for pid, (kind, used)
                           in self.seen.items() if kind == "backends"), reverse=True)
        for pid, (kind, used) in self.seen.items():
            if kind != "backends":
                kinds[kind] = kinds.get(kind, 0.0) + used - self.start.get(pid, 0.0)
        for n, used in enumerate(backends, 1):
            kinds[f"backend {n}"] = used
        return kinds


def slow_plans(log: Path, start: int, top: int = 6) -> None:
    """The plans auto_explain logged since `start`, the commonest statements first."""
    import collections

    with open(log, "rb") as f:
        f.seek(start)
        text = f.read().decode("utf-8", "replace")
    plans: collections.Counter[str] = collections.Counter()
    example: dict[str, str] = {}
    for chunk in text.split(" LOG:  duration: ")[1:]:
        body = chunk.split("\n20")[0]  # up to the next log line's timestamp
        query = body.split("Query Text:", 1)[-1].strip().split("\n")[0][:100]
        plans[query] += 1
        example.setdefault(query, body)
    print(f"    statements over 3 ms: {sum(plans.values()):,}")
    for query, n in plans.most_common(top):
        print(f"    {n:6,}x {query}")
        for line in example[query].splitlines()[1:14]:
            print("          " + line.strip()[:150])


def statements_report(url: str, top: int = 15) -> list[str]:
    """The statements that took the server's time in one database, from pg_stat_statements."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT calls, total_exec_time, rows, query FROM pg_stat_statements"
            " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " ORDER BY total_exec_time DESC").fetchall()
    calls = sum(r[0] for r in rows)
    total = sum(r[1] for r in rows)
    out = [f"    server: {calls:,} statements, {total / 1000:.2f}s executing"]
    def line(n: int, ms: float, nrows: int, query: str) -> str:
        text = " ".join(query.split())
        return (f"    {ms / 1000:7.2f}s {100 * ms / total:5.1f}% {n:7,} calls "
                f"{ms * 1000 / n:8.0f} us {nrows:8,} rows  {text[:110]}")

    out += [line(*r) for r in rows[:top]]
    # A multi-row INSERT's every row count is a statement of its own to pg_stat_statements:
    # the same statement cut at its first parameter, summed.
    kinds: dict[str, list[float]] = {}
    for n, ms, nrows, query in rows:
        kind = " ".join(query.split()).split("$")[0][:90]
        was = kinds.setdefault(kind, [0, 0.0, 0])
        was[0] += n
        was[1] += ms
        was[2] += nrows
    out.append("    by statement, cut at its first parameter:")
    out += [line(int(n), ms, int(nrows), kind) for kind, (n, ms, nrows) in
            sorted(kinds.items(), key=lambda kv: -kv[1][1])[:top + 10]]
    out.append("    the most frequent:")
    out += [line(*r) for r in sorted(rows, key=lambda r: -r[0])[:top // 2]]
    return out


def first_polls(cluster: object, args: argparse.Namespace, work: Path) -> dict[str, object]:
    """A 1,000-feed first poll on SQLite and on PostgreSQL, alternating; medians."""
    root = generate(args.feeds, args.items)
    server = Server("nginx" if shutil.which("nginx") else "python", work)
    urls = [f"http://127.0.0.1:{server.port}/f{i:05d}.xml" for i in range(args.feeds)]
    server.start(root / "v1", validators=True)
    kinds = ("sqlite", "postgres") + (("baseline",) if args.baseline_cmd else ())
    walls: dict[str, list[Run]] = {k: [] for k in kinds}
    try:
        for n in range(args.repeat):
            for kind in kinds:
                folder = work / f"poll-{kind}-{n}"
                config = write_curator_config(folder, urls, args.concurrency)
                url = ""
                if kind != "sqlite":
                    name = cluster.create(template=None)  # type: ignore[attr-defined]
                    url = cluster.url(name)  # type: ignore[attr-defined]
                    with_database(config, url)
                    if args.profile:
                        import psycopg

                        with psycopg.connect(url, autocommit=True) as conn:
                            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
                            conn.execute("SELECT pg_stat_statements_reset()")
                else:
                    with_database(config, str(folder / "curator.db"))
                before = server_cpu(cluster)
                watch = ServerWatch(cluster) if args.profile and kind != "sqlite" else None
                env = None
                if watch is not None:
                    # The plans of the statements that took 3 ms or more, in the server's log.
                    env = {**os.environ, "PGOPTIONS": " ".join(f"-c {k}={v}" for k, v in {
                        "session_preload_libraries": "auto_explain",
                        "auto_explain.log_min_duration": "3", "log_min_messages": "log"}.items())}
                    log_at = (Path(cluster.root) / "log").stat().st_size  # type: ignore[attr-defined]
                cmd = shlex.split(args.baseline_cmd) if kind == "baseline" else curator_cmd()
                wall, cpu, pss, _rss, maxrss, rc, out, err = measure(
                    [*cmd, "--config", str(config), "-q", "poll", "--all", "--json"],
                    env=env)
                time.sleep(0.5)  # the backend that served the poll ends, and is counted once
                served = server_cpu(cluster) - before
                if watch is not None:
                    print("    server CPU by process: " + ", ".join(
                        f"{k} {v:.1f}s" for k, v in sorted(watch.stop().items(),
                                                          key=lambda kv: -kv[1]) if v >= 0.05))
                if rc != 0:
                    raise RuntimeError(f"the {kind} poll failed: {err[-2000:]}")
                run = Run("first poll", kind, wall, cpu, pss, 0.0, maxrss, args.feeds, rc,
                          detail=json.loads(out))
                run.detail["server_cpu_s"] = served
                walls[kind].append(run)
                print(f"  first poll on {kind:<8} {wall:6.2f}s wall, {cpu:6.1f}s CPU, "
                      f"{run.detail['new_entries']:,} entries"
                      + (f", server {served:.1f}s CPU" if kind != "sqlite" else "")
                      + f" (load {os.getloadavg()[0]:.1f})", flush=True)
                if args.profile and kind != "sqlite":
                    print("\n".join(statements_report(url)), flush=True)
                    slow_plans(Path(cluster.root) / "log", log_at)  # type: ignore[attr-defined]
    finally:
        server.stop()
    med = {k: statistics.median(r.wall for r in v) for k, v in walls.items()}
    ratio = med["postgres"] / med["sqlite"]
    print(f"first poll of {args.feeds:,} feeds, median of {args.repeat}: SQLite "
          f"{med['sqlite']:.2f}s, PostgreSQL {med['postgres']:.2f}s: {ratio:.2f}x "
          f"(target within 1.5x: {'met' if ratio <= 1.5 else 'NOT met'})")
    cpus = {k: statistics.median(r.cpu for r in v) for k, v in walls.items()}
    served = statistics.median(float(r.detail["server_cpu_s"])  # type: ignore[arg-type]
                               for r in walls["postgres"])
    print(f"  curator's CPU, median: SQLite {cpus['sqlite']:.1f}s, PostgreSQL "
          f"{cpus['postgres']:.1f}s (+ the server's {served:.1f}s)")
    if args.baseline_cmd:
        base = float(statistics.median(float(r.detail["server_cpu_s"])  # type: ignore[arg-type]
                                       for r in walls["baseline"]))
        print(f"  the baseline build on PostgreSQL: {med['baseline']:.2f}s wall, "
              f"{med['baseline'] / med['sqlite']:.2f}x SQLite; this build "
              f"{med['postgres'] / med['baseline']:.2f}x the baseline's wall; CPU "
              f"{cpus['baseline']:.1f}s + the server's {base:.1f}s")
    return {"sqlite_s": med["sqlite"], "postgres_s": med["postgres"], "ratio": ratio,
            "sqlite_cpu_s": cpus["sqlite"], "postgres_cpu_s": cpus["postgres"],
            "server_cpu_s": served}


def fill(db: Path, sources: int, days: int, entries: int) -> None:
    """query_bench's synthetic entries, candidates and reviews, into the SQLite file `db`."""
    filler = Filler(db, sources, days)
    filler.sources()
    filler.entries(entries)
    filler.review(featured=200, rejected=800)
    filler.close()


def queries(cluster: object, args: argparse.Namespace, work: Path) -> dict[str, object]:
    """Fill SQLite, copy it to PostgreSQL with copy-db, time `candidates --json` on both."""
    from curator.store import Store

    folder = work / "query"
    config = write_config(folder, args.sources, None)
    db = folder / "curator.db"
    Store(db).close()
    started = time.perf_counter()
    # In a process of its own: the fill holds hundreds of MB (its SQLite cache), and a child
    # this process starts afterwards would count them as its own (below).
    import multiprocessing

    filling = multiprocessing.get_context("fork").Process(
        target=fill, args=(db, args.sources, args.days, args.entries))
    filling.start()
    filling.join()
    if filling.exitcode != 0:
        raise RuntimeError(f"the fill failed (exit {filling.exitcode})")
    print(f"filled {args.entries:,} entries into SQLite in {time.perf_counter() - started:.0f}s",
          flush=True)
    name = cluster.create(template=None)  # type: ignore[attr-defined]
    url = cluster.url(name)  # type: ignore[attr-defined]
    os.environ["CURATOR_CACHE_DIR"] = str(work / "config-cache")
    # Its memory is the peak of what /proc shows it holding, sampled: getrusage's maxrss of a
    # child counts the pages of the parent it was forked from (before it ran curator), so a
    # benchmark that had filled a million entries itself read 374 MB there.
    wall, cpu, pss, rss, maxrss, rc, out, err = measure(
        [*curator_cmd(), "--config", str(config), "copy-db", url, "--json"])
    if rc != 0:
        raise RuntimeError(f"copy-db failed: {err[-2000:]}")
    copied = json.loads(out)
    print(f"copy-db SQLite -> PostgreSQL: {copied['rows']:,} rows in {wall:.1f}s "
          f"({copied['rows'] / wall:,.0f} rows/s, {cpu:.1f}s CPU, load "
          f"{os.getloadavg()[0]:.1f}), peak RSS {rss:.0f} MB (PSS {pss:.0f} MB; getrusage "
          f"{maxrss:.0f} MB)", flush=True)
    pg_config = with_database(write_config(work / "query-pg", args.sources, None), url)
    results: dict[str, object] = {"copy_db_s": wall, "copy_db_rows": copied["rows"],
                                  "copy_db_peak_rss_mb": rss, "copy_db_peak_pss_mb": pss}
    for kind, cfg in (("sqlite", config), ("postgres", pg_config)):
        cmd = [*curator_cmd(), "--config", str(cfg), "candidates", "--json"]
        timed_cmd(cmd, 1)  # warms the config cache and the server's buffers
        med, best, out = timed_cmd(cmd, args.runs)
        results[f"candidates_{kind}_ms"] = med * 1000
        print(f"curator candidates --json on {kind:<8} {med * 1000:6.1f} ms median "
              f"({best * 1000:.1f} min), {len(json.loads(out))} candidates", flush=True)
    pg_ms = float(results["candidates_postgres_ms"])  # type: ignore[arg-type]
    print(f"target under 100 ms on PostgreSQL: {'met' if pg_ms < 100 else 'NOT met'}")
    print("\nwhat `curator candidates --json` runs on PostgreSQL (EXPLAIN ANALYZE):")
    for line in explained(cluster, [*curator_cmd(), "--config", str(pg_config), "candidates",
                                    "--json"]):
        print(line)
    return results


def explained(cluster: object, cmd: list[str]) -> list[str]:
    """Run cmd once with auto_explain on its connection; the plans from the server's log."""
    log = Path(cluster.root) / "log"  # type: ignore[attr-defined]
    start = log.stat().st_size if log.exists() else 0
    env = {**os.environ, "PGOPTIONS": " ".join(
        f"-c {k}={v}" for k, v in {"session_preload_libraries": "auto_explain",
                                   "auto_explain.log_min_duration": "0",
                                   "auto_explain.log_analyze": "on",
                                   "auto_explain.log_buffers": "on",
                                   "log_min_messages": "log"}.items())}
    import subprocess

    subprocess.run(cmd, env=env, capture_output=True, check=True)
    time.sleep(0.5)  # the server writes its log asynchronously
    with open(log, "rb") as f:
        f.seek(start)
        text = f.read().decode("utf-8", "replace")
    lines = []
    for line in text.splitlines():
        line = line.split(" LOG:  ", 1)[-1].strip()  # the time and process are noise here
        if line.startswith("duration:"):
            lines.append("")
        if line:
            lines.append("  " + (line if len(line) <= 160 else line[:160] + " …"))
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--feeds", type=int, default=1000)
    p.add_argument("--items", type=int, default=30)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--repeat", type=int, default=3, help="first polls per backend (median)")
    p.add_argument("--entries", type=int, default=1_000_000)
    p.add_argument("--sources", type=int, default=1000)
    p.add_argument("--days", type=int, default=360)
    p.add_argument("--runs", type=int, default=7, help="runs per query timing (median)")
    p.add_argument("--skip-poll", action="store_true")
    p.add_argument("--skip-query", action="store_true")
    p.add_argument("--profile", action="store_true",
                   help="after each PostgreSQL poll, the statements that took the server's time")
    p.add_argument("--baseline-cmd", default="",
                   help="another build of curator (a command line), polled on PostgreSQL too,"
                        " alternating, for before/after: e.g. 'env PYTHONPATH=/old/tree python"
                        " -m curator'")
    p.add_argument("--json-out", type=Path)
    args = p.parse_args(argv)

    import compileall

    import curator

    compileall.compile_dir(Path(curator.__file__).parent, quiet=1)
    from pg import Cluster

    info = machine()
    print(f"machine: {info['nproc']} CPUs ({info['cpu']}), {info['ram']} RAM, "
          f"Python {info['python']}, SQLite {info['sqlite']}")
    OUT.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="pg-", dir=OUT))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    settings = dict(SERVER_SETTINGS)
    if args.profile:
        settings.update({"shared_preload_libraries": "pg_stat_statements",
                         "pg_stat_statements.track": "all"})
    cluster = Cluster(settings=settings)
    results: dict[str, object] = {"machine": info, "server": SERVER_SETTINGS}
    try:
        print(f"PostgreSQL {cluster.version()} on 127.0.0.1:{cluster.port}: "
              + ", ".join(f"{k}={v}" for k, v in SERVER_SETTINGS.items()), flush=True)
        if not args.skip_poll:
            results["first_poll"] = first_polls(cluster, args, work)
        if not args.skip_query:
            results["queries"] = queries(cluster, args, work)
    finally:
        cluster.close()
        shutil.rmtree(work, ignore_errors=True)
    if args.json_out:
        args.json_out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
