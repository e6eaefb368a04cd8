"""Query benchmark: curator's reading side on a big database.

    .venv/bin/python bench/query_bench.py                    # 1,000,000 entries
    .venv/bin/python bench/query_bench.py --entries 200000   # quicker

Fills a database with synthetic entries (straight SQL, in a few big transactions, through the schema
that curator's own migrations create), then:

  * times `curator candidates --json` and `curator publish --json`, as whole processes and
    in-process (Curator.candidates() / Curator.publish()), median of several runs; publish both
    with nothing changed (the fast path) and with the files deleted first, which makes it render
    both feeds (with the notes the first publish rendered and kept);
  * prints EXPLAIN QUERY PLAN for every statement those commands run, flagging a full scan of a
    big table;
  * reports the database size per entry at each quarter of the fill (it should stay flat: linear
    growth);
  * applies `retention` (Curator.prune()) and shows what it removes, what it keeps (entries
    behind featured and rejected candidates), and that new entries reuse the freed pages.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from poll_bench import (  # noqa: E402
    OUT,
    _paragraph_pool,
    curator_cmd,
    machine,
    write_bench_config,
)

_LITERALS = re.compile(r"'(?:[^']|'')*'|\b\d+\b")
BIG_TABLES = ("entries", "candidates", "entry_topics", "candidate_topics")
TOPICS = ["platform-accountability", "child-safety", "antitrust", "surveillance"]


def iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_config(work: Path, n_sources: int, retention: str | None) -> Path:
    return write_bench_config(work, [f"retention: {retention}"] if retention else [],
                              (f"http://127.0.0.1:9/feed{i}.xml" for i in range(n_sources)))


class Filler:
    """Appends synthetic entries, matches and candidates, as a poll would leave them."""

    def __init__(self, db: Path, n_sources: int, days: int, seed: int = 7) -> None:
        self.conn = sqlite3.connect(db, isolation_level=None)
        self.conn.execute("PRAGMA synchronous = OFF")  # a fill, not a poll: nothing to lose
        self.conn.execute("PRAGMA cache_size = -262144")
        self.rng = random.Random(seed)
        self.n_sources = n_sources
        self.days = days
        self.now = datetime.now(UTC)
        pool = _paragraph_pool(self.rng, 600)
        self.bodies = []
        for i in range(600):
            html = "".join(pool[(i + k * 37) % len(pool)] for k in range(3))
            text = " ".join(p.replace("<p>", "").replace("</p>", "") for p in
                            html.split("</p>") if p)
            self.bodies.append((html, text))
        self.next_id = 1 + (self.conn.execute("SELECT max(id) FROM entries").fetchone()[0] or 0)

    def sources(self) -> None:
        stamp = iso(self.now)
        self.conn.execute("BEGIN")
        self.conn.executemany(
            "INSERT OR IGNORE INTO sources (url, url_in_use, title, link, in_config, next_due,"
            " added, last_ok, status, etag) VALUES (?, ?, ?, ?, 1, ?, ?, ?, 200, ?)",
            [(f"http://127.0.0.1:9/feed{i}.xml", f"http://127.0.0.1:9/feed{i}.xml",
              f"Source {i}", f"https://site{i}.example.com/", stamp, stamp, stamp, f'"e{i}"')
             for i in range(self.n_sources)])
        self.conn.execute("COMMIT")

    def entries(self, n: int, *, newest_days_ago: float = 0.0, span_days: float | None = None,
                matched: float = 0.06, chunk: int = 50_000) -> None:
        """n entries seen over span_days, ending newest_days_ago; 6% match a topic."""
        span = self.days if span_days is None else span_days
        rng = self.rng
        done = 0
        while done < n:
            m = min(chunk, n - done)
            rows, topics, cands, ctopics = [], [], [], []
            for k in range(m):
                eid = self.next_id
                self.next_id += 1
                age = newest_days_ago + span * (1 - (done + k) / n)  # oldest first, like polls
                seen = self.now - timedelta(days=age, seconds=rng.random() * 3600)
                published = seen - timedelta(minutes=rng.randrange(600))
                src = eid % self.n_sources + 1
                is_match = rng.random() < matched
                # 10% of the matched stories are carried by two sources: one candidate.
                if is_match and rng.random() < 0.1 and eid > 2:
                    url = f"https://wire.example.net/story/{eid - 1}"
                else:
                    url = f"https://site{src}.example.com/{seen:%Y/%m}/story-{eid}"
                html, text = self.bodies[eid % len(self.bodies)]
                title = f"Story {eid}: " + " ".join(rng.sample(html.split(), 6))[:80]
                rows.append((eid, src, f"site{src}-{eid}", url, url, title, html, "", text,
                             f"Reporter {eid % 40}", iso(published), None, f"{eid:064x}",
                             iso(seen), iso(seen)))
                if is_match:
                    names = [TOPICS[eid % 4]] + ([TOPICS[(eid + 1) % 4]] if eid % 5 == 0 else [])
                    topics += [(eid, t) for t in names]
                    cands.append((url, eid, title, iso(published), iso(published), iso(seen)))
                    ctopics.append((url, names))
            self.conn.execute("BEGIN")
            self.conn.executemany(
                "INSERT INTO entries (id, source_id, key, url, link, title, summary, content,"
                " text, author, published, updated, hash, first_seen, last_seen)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            self.conn.executemany("INSERT INTO entry_topics (entry_id, topic) VALUES (?, ?)",
                                  topics)
            self.conn.executemany(
                "INSERT INTO candidates (url, entry_id, title, published, sort_time, first_seen)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (url) DO NOTHING", cands)
            self.conn.executemany(
                "INSERT OR IGNORE INTO candidate_topics (candidate_id, topic)"
                " SELECT id, ? FROM candidates WHERE url = ?",
                [(t, url) for url, names in ctopics for t in names])
            self.conn.execute("COMMIT")
            done += m

    def review(self, featured: int, rejected: int) -> None:
        """Feature and reject candidates spread over the whole period, with notes and a log."""
        ids = [r[0] for r in self.conn.execute("SELECT id FROM candidates ORDER BY id")]
        picks = self.rng.sample(ids, min(len(ids), featured + rejected))
        self.conn.execute("BEGIN")
        for n, cid in enumerate(picks):
            at = iso(self.now - timedelta(minutes=len(picks) - n))
            if n < featured:
                self.conn.execute(
                    "UPDATE candidates SET status = 'featured', note = ?, guid = ?,"
                    " featured_at = ?, note_updated_at = ?, changed_by = 'bench', changed_at = ?"
                    " WHERE id = ?",
                    (f"Why story {cid} matters: **accountability**, in [context]"
                     f"(https://example.org/{cid}).", f"urn:uuid:bench-{cid}", at, at, at, cid))
                action = "feature"
            else:
                self.conn.execute("UPDATE candidates SET status = 'rejected', changed_by = 'bench',"
                                  " changed_at = ? WHERE id = ?", (at, cid))
                action = "reject"
            self.conn.execute("INSERT INTO review_log (candidate_id, action, editor, at, note)"
                              " VALUES (?, ?, 'bench', ?, NULL)", (cid, action, at))
        self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.conn.close()


def drop_outputs(work: Path) -> None:
    """Delete the published files, so the next publish must render them again."""
    for name in ("feed.xml", "atom.xml"):
        (work / "public" / name).unlink(missing_ok=True)


def edit_a_note(db: Path) -> None:
    """Change the newest featured note, as an editor revising it would: one note to render."""
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE candidates SET note = note || ' Updated.', note_updated_at ="
                     " strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE id = (SELECT id FROM candidates"
                     " WHERE status = 'featured' ORDER BY featured_at DESC LIMIT 1)")


def db_bytes(db: Path) -> int:
    return sum(p.stat().st_size for p in (db, Path(f"{db}-wal")) if p.exists())


def checkpoint(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def timed_cmd(cmd: list[str], runs: int, before: Callable[[], object] | None = None,
              env_extra: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Median and min wall time of `cmd` as a whole process; `before()` runs untimed each time."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(env_extra or {})
    times, out = [], ""
    for _ in range(runs):
        if before is not None:
            before()
        t = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        times.append(time.perf_counter() - t)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr[-2000:]}")
        out = proc.stdout
    return statistics.median(times), min(times), out


def timed_call(fn, runs: int):  # type: ignore[no-untyped-def]
    times, result = [], None
    for _ in range(runs):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), min(times), result


def _ancestors(details: dict[int, tuple[int, str]], node: int):  # type: ignore[no-untyped-def]
    while node in details:
        yield node
        node = details[node][0]


def explain(conn: sqlite3.Connection, statements: list[str]) -> tuple[list[str], int]:
    """EXPLAIN QUERY PLAN of each distinct statement; count full scans of the big tables."""
    lines, scans, seen = [], 0, set()
    for sql in statements:
        head = sql.split()[0].upper() if sql.split() else ""
        shape = _LITERALS.sub("?", sql)
        if head not in ("SELECT", "DELETE", "UPDATE", "WITH") or shape in seen:
            continue
        seen.add(shape)
        shown = sql if len(sql) < 400 else sql[:400] + " …"
        lines.append(f"  {shown}")
        plan = conn.execute("EXPLAIN QUERY PLAN " + sql).fetchall()
        details = {row[0]: (row[1], row[-1]) for row in plan}
        for _node, parent, _, detail in plan:
            words = detail.split()
            full = (len(words) >= 2 and words[0] == "SCAN" and words[1] in BIG_TABLES
                    and "INDEX" not in detail)
            # A scan inside an uncorrelated subquery runs once per statement, not once per row.
            once = False
            up = parent
            while up in details:
                up, above = details[up]
                if above.startswith(("LIST SUBQUERY", "SCALAR SUBQUERY")):
                    once = True
            depth = "  " * sum(1 for _ in _ancestors(details, parent))
            if full and not once:
                scans += 1
                lines.append(f"      {depth}FULL SCAN -> {detail}")
            elif full:
                lines.append(f"      {depth}{detail}   (once per statement)")
            else:
                lines.append(f"      {depth}{detail}")
    return lines, scans


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--entries", type=int, default=1_000_000)
    p.add_argument("--sources", type=int, default=1000)
    p.add_argument("--days", type=int, default=360, help="the entries span this many days")
    p.add_argument("--retention", default="90d", help="the retention to apply (feeds.yaml form)")
    p.add_argument("--runs", type=int, default=5, help="runs per timing (median shown)")
    p.add_argument("--keep", action="store_true", help="keep the database under bench/out/")
    args = p.parse_args(argv)

    import compileall

    import curator

    compileall.compile_dir(Path(curator.__file__).parent, quiet=1)
    from curator import config as config_mod
    from curator.core import Curator, candidate_json
    from curator.store import Store

    info = machine()
    print(f"machine: {info['nproc']} CPUs ({info['cpu']}), {info['ram']} RAM, "
          f"Python {info['python']}, SQLite {info['sqlite']}")
    # The timed processes inherit this environment (PYTHONPATH included), so they import the
    # same tree as this one: say which, since a worktree and the editable install can differ.
    print(f"curator: {Path(curator.__file__).parent} (run as {' '.join(curator_cmd())})")
    work = OUT / f"query-{args.entries}"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    config = write_config(work, args.sources, None)
    db = work / "curator.db"
    Store(db).close()  # the schema, by curator's own migrations

    # ---------------------------------------------------------------- fill, watching the size
    filler = Filler(db, args.sources, args.days)
    filler.sources()
    print(f"\nfilling {args.entries:,} entries from {args.sources:,} sources over {args.days} days")
    sizes = []
    started = time.perf_counter()
    quarter = args.entries // 4
    for q in range(4):
        n = quarter if q < 3 else args.entries - 3 * quarter
        span = args.days / 4
        filler.entries(n, newest_days_ago=span * (3 - q), span_days=span)
        filler.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        total = filler.conn.execute("SELECT count(*) FROM entries").fetchone()[0]
        sizes.append((total, db_bytes(db)))
        print(f"  {total:>9,} entries: {db_bytes(db) / 1e6:8.1f} MB, "
              f"{db_bytes(db) / total:6.0f} bytes per entry "
              f"({time.perf_counter() - started:.0f}s)", flush=True)
    filler.review(featured=200, rejected=800)
    counts = {t: filler.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
              for t in ("entries", "entry_topics", "candidates", "candidate_topics")}
    filler.close()
    print(f"  rows: {json.dumps(counts)}; 200 featured, 800 rejected")
    growth = [(b2 - b1) / (n2 - n1) for (n1, b1), (n2, b2) in zip(sizes, sizes[1:], strict=False)]
    print(f"  each further quarter cost {', '.join(f'{g:.0f}' for g in growth)} bytes per entry:"
          " linear growth")

    # ---------------------------------------------------------------- timings
    cmd = [*curator_cmd(), "--config", str(config)]
    # The parsed feeds.yaml is cached per user (curator/configcache.py); keep the bench's own,
    # warmed by one untimed command, and time the first command after an edit separately.
    os.environ["CURATOR_CACHE_DIR"] = str(work / "config-cache")
    timed_cmd([*cmd, "sources", "--json"], 1)
    print(f"\ntimings, median of {args.runs} (min in brackets):")
    results = {}

    def count(out: str) -> str:
        return f"; {len(json.loads(out))} candidates"

    def published(out: str) -> str:
        doc = json.loads(out)
        return f"; {doc['items']} items, changed: {doc['changed']}"

    # (key, label, arguments, what runs untimed before each run, extra environment, summary)
    cases: list[tuple[str, str, list[str], Callable[[], object] | None, dict[str, str] | None,
                      Callable[[str], str]]] = [
        ("candidates_process", "curator candidates --json", ["candidates", "--json"],
         None, None, count),
        ("candidates_uncached_config_process",
         "curator candidates --json, feeds.yaml just edited (not cached)",
         ["candidates", "--json"], None, {"CURATOR_CACHE_DIR": "off"}, lambda _: ""),
        ("publish_process", "curator publish --json", ["publish", "--json"], None, None,
         published),
        # Without the files the fast path cannot apply: every run renders both feeds again, with
        # the notes the publish above rendered already (a publish after an item changed).
        ("publish_render_process", "curator publish --json, files changed, notes cached",
         ["publish", "--json"], lambda: drop_outputs(work), None, published),
        ("publish_note_edited_process", "curator publish --json, a note edited (renders it)",
         ["publish", "--json"], lambda: edit_a_note(db), None, published),
        ("startup", "curator --help (start-up alone)", ["--help"], None, None, lambda _: ""),
    ]
    for key, label, argv, before, env_extra, summary in cases:
        med, best, out = timed_cmd([*cmd, *argv], args.runs, before=before, env_extra=env_extra)
        results[key] = med
        where = f"  {label:<34}" if len(label) <= 34 else f"  {label}\n{'':36}"
        print(f"{where}whole process {med * 1000:7.1f} ms ({best * 1000:.1f}){summary(out)}")

    cur = Curator(config_mod.load(config))
    statements: list[str] = []
    cur.store.db.conn.set_trace_callback(statements.append)
    def republish() -> dict[str, Any]:
        drop_outputs(work)
        return cur.publish()

    runs = [
        ("Curator.candidates() + JSON", lambda: json.dumps(
            [candidate_json(r) for r in cur.candidates()])),
        ("Curator.candidates(topic=...)", lambda: cur.candidates(topic="antitrust")),
        ("Curator.candidates(status='all')", lambda: cur.candidates(status="all")),
        ("Curator.candidates(status='featured')", lambda: cur.candidates(status="featured")),
        ("Curator.publish()", cur.publish),
        ("Curator.publish(), files changed", republish),
        ("Curator.sources()", cur.sources),
    ]
    for label, fn in runs:
        med, best, _ = timed_call(fn, args.runs)
        results[label] = med
        print(f"  {label:<38} in-process {med * 1000:7.1f} ms ({best * 1000:.1f})")
    cur.store.db.conn.set_trace_callback(None)

    print("\nEXPLAIN QUERY PLAN of every statement above:")
    lines, scans = explain(cur.store.db.conn, statements)
    print("\n".join(lines))
    print(f"  -> {scans} full scan(s) of a big table")

    # ---------------------------------------------------------------- retention
    cur.close()
    config = write_config(work, args.sources, args.retention)
    cur = Curator(config_mod.load(config))
    conn = cur.store.db.conn
    before = conn.execute("SELECT count(*) FROM entries").fetchone()[0]
    reviewed = conn.execute("SELECT count(*) FROM candidates WHERE status != 'new'").fetchone()[0]
    size_before = db_bytes(db)
    prune_sql: list[str] = []
    conn.set_trace_callback(prune_sql.append)
    t = time.perf_counter()
    removed = cur.prune()
    prune_s = time.perf_counter() - t
    conn.set_trace_callback(None)
    results["prune"] = prune_s
    checkpoint(db)
    after = conn.execute("SELECT count(*) FROM entries").fetchone()[0]
    kept = conn.execute(
        "SELECT count(*) FROM candidates c JOIN entries e ON e.id = c.entry_id"
        " WHERE c.status != 'new'").fetchone()[0]
    reviewed_after = conn.execute(
        "SELECT count(*) FROM candidates WHERE status != 'new'").fetchone()[0]
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    page = conn.execute("PRAGMA page_size").fetchone()[0]
    print(f"\nretention {args.retention}: prune took {prune_s:.1f}s and removed {removed:,} of "
          f"{before:,} entries ({after:,} left); reviewed candidates {reviewed} -> "
          f"{reviewed_after}, {kept} of them still with their entry")
    print(f"  file {size_before / 1e6:.0f} MB before, {db_bytes(db) / 1e6:.0f} MB after; "
          f"{free * page / 1e6:.0f} MB of free pages for new entries to reuse")
    # What every poll pays once the backlog is gone: nothing left to delete. (The first run after
    # the big prune also pays its WAL checkpoint, so take the median.)
    again_s, _, _ = timed_call(cur.prune, 5)
    results["prune_again"] = again_s
    print(f"  the next prune, with nothing to remove (it runs after every poll): "
          f"{again_s * 1000:.0f} ms")
    lines, scans = explain(conn, prune_sql)
    print("  EXPLAIN QUERY PLAN of the prune:")
    print("\n".join(lines))
    cur.close()
    # The next 90 days bring as many entries as the prune removed: the file should not grow.
    size_pruned = db_bytes(db)
    refill = Filler(db, args.sources, args.days)
    refill.entries(removed, newest_days_ago=0, span_days=1)
    refill.close()
    print(f"  adding {removed:,} new entries afterwards: file {size_pruned / 1e6:.0f} MB -> "
          f"{db_bytes(db) / 1e6:.0f} MB (freed pages reused, so with retention the file "
          f"stays bounded)")

    (work / "results.json").write_text(json.dumps(
        {"machine": info, "entries": args.entries, "sizes": sizes, "results": results}, indent=2))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
