"""What the search index costs a poll, and what each way of keeping it costs.

    .venv/bin/python bench/search_index_bench.py                 # the mix: 1,000 feeds
    .venv/bin/python bench/search_index_bench.py --mix worst --feeds 300

Parses the benchmark's generated feeds (`poll_bench.py --mix ...`, generated if missing) once,
then stores their entries into fresh databases the way a poll does (`Store.save_entries`, the
sources grouped 64 to a transaction) and measures, as CPU time of this process (SQLite runs in
it), median of `--repeat` runs, each way of keeping the FTS5 index:

  none             no index at all (the floor: what the entry rows themselves cost)
  inline           a trigger indexes each entry as it is inserted (curator before migration 0012)
  per transaction  the entries a transaction stored, indexed together before it commits (curator,
                   outside a poll)
  a poll           2,000 at a time before a commit, and the rest at the end (curator's poll)
  at the end       every entry indexed in one statement after all the writes
  per transaction, SETTING   with FTS5's automerge or crisismerge changed, or `detail=column`
                   (which cannot answer phrase queries: measured to say what it would save),
                   or `drop=INDEX` (without one of the schema's indexes: what it costs inserts)

and the size of the index. Nothing here is a test; the figures are ratios within one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from poll_bench import generate, machine  # noqa: E402

from curator.store import Store  # noqa: E402

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def parsed_feeds(root: Path, limit: int) -> list[list[Any]]:
    from curator.parse import parse_feed

    feeds = []
    for path in sorted((root / "v1").glob("f*.xml"))[:limit]:
        parsed = parse_feed(f"http://bench/{path.name}", path.read_bytes(), {})
        feeds.append(list(parsed.entries))
    return feeds


def fresh_store(folder: Path, n_sources: int) -> Store:
    path = Path(tempfile.mkdtemp(dir=folder)) / "bench.db"
    store = Store(path)
    with store.write():
        store.conn.executemany(
            "INSERT INTO sources (url, url_in_use, added) VALUES (?, ?, ?)",
            [(f"http://bench/f{i:05d}.xml",) * 2 + ("2026-11-25T12:00:00Z",)
             for i in range(n_sources)])
    return store


BATCH = [64]  # sources per transaction (--batch)


def save_all(store: Store, feeds: list[list[Any]]) -> None:
    ids = [r[0] for r in store.conn.execute("SELECT id FROM sources ORDER BY id")]
    size = BATCH[0]
    for start in range(0, len(feeds), size):
        with store.write_batch():
            for sid, entries in zip(ids[start:start + size], feeds[start:start + size],
                                    strict=False):
                store.save_entries(sid, entries, [[] for _ in entries], NOW)


def strip_triggers(store: Store, recreate: str | None = None) -> None:
    """Drop every trigger that writes the index (and optionally make the index anew with other
    options)."""
    with store.write():
        for (name,) in store.conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'entries'"
                " AND name LIKE 'entries_fts_%'").fetchall():
            store.conn.execute(f"DROP TRIGGER {name}")
        if recreate is not None:
            store.conn.execute("DROP TABLE entries_fts")
            store.conn.execute(
                "CREATE VIRTUAL TABLE entries_fts USING fts5(title, text, content='entries',"
                f" content_rowid='id', tokenize='porter unicode61 remove_diacritics 2'{recreate})")


def fts_bytes(store: Store) -> int:
    try:
        return int(store.conn.execute(
            "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'entries_fts%'").fetchone()[0] or 0)
    except Exception:  # noqa: BLE001 - dbstat is not compiled in everywhere
        return 0


def run_variant(name: str, folder: Path, feeds: list[list[Any]]) -> tuple[float, int]:
    from curator.store.searchindex import index_new

    store = fresh_store(folder, len(feeds))
    conn = store.conn
    final: Callable[[], None] | None = None
    if name == "none":
        strip_triggers(store)
        with store.write():
            conn.execute("DROP TABLE entries_fts")
        store.has_search_index = False  # type: ignore[misc]
    elif name == "inline":
        # As before migration 0012: a trigger indexes each entry as it is inserted.
        conn.execute(
            "CREATE TRIGGER entries_fts_insert AFTER INSERT ON entries BEGIN"
            " INSERT INTO entries_fts (rowid, title, text) VALUES (new.id, new.title,"
            " new.text); END")
    elif name == "a poll":
        pass  # what a poll does (see below): a few thousand at a time, the rest when it ends
    elif name == "at the end":
        store.has_search_index = False  # type: ignore[misc]

        def final() -> None:
            with store.write():
                index_new(conn)
    elif name.startswith("per transaction"):
        arg = name.partition(",")[2].strip()
        if arg == "detail=column":
            strip_triggers(store, ", detail=column")
        elif arg.startswith("drop="):  # what one index costs the inserts
            conn.execute(f"DROP INDEX {arg.partition('=')[2]}")
        elif arg:
            key, _, value = arg.partition("=")
            conn.execute(f"INSERT INTO entries_fts (entries_fts, rank) VALUES ('{key}', {value})")
    else:
        raise SystemExit(f"unknown variant {name!r}")
    cpu = time.process_time()
    if name == "a poll":
        with store.search_index_deferred():
            save_all(store, feeds)
    else:
        save_all(store, feeds)
    if final is not None:
        final()
    cpu = time.process_time() - cpu
    size = fts_bytes(store)
    store.close()
    return cpu, size


VARIANTS = ["none", "inline", "per transaction", "a poll", "at the end", "per transaction, automerge=8",
            "per transaction, automerge=2", "per transaction, crisismerge=64",
            "per transaction, detail=column"]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--feeds", type=int, default=1000)
    p.add_argument("--items", type=int, default=30)
    p.add_argument("--mix", default="mixed", choices=["escaped", "mixed", "worst", "news"])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--batch", type=int, default=64,
                   help="sources per transaction (a poll writes what finished within 50 ms, up"
                        " to 64: a few when the workers are the limit)")
    p.add_argument("--variants", default=";".join(VARIANTS), help="separated by ;")
    args = p.parse_args(argv)
    BATCH[0] = args.batch
    info = machine()
    print(f"machine: {info['nproc']} CPUs ({info['cpu']}), SQLite {info['sqlite']}; "
          f"load {os.getloadavg()[0]:.1f}", file=sys.stderr)
    root = generate(args.feeds, args.items, mix=args.mix)
    feeds = parsed_feeds(root, args.feeds)
    n = sum(len(f) for f in feeds)
    print(f"{len(feeds)} feeds, {n:,} entries ({args.mix})", file=sys.stderr)
    variants = [v.strip() for v in args.variants.split(";")]
    times: dict[str, list[float]] = {v: [] for v in variants}
    sizes: dict[str, int] = {}
    with tempfile.TemporaryDirectory(dir=HERE / "out") as tmp:
        for _ in range(args.repeat):
            for v in variants:  # alternating, so a moment's load touches every variant alike
                cpu, size = run_variant(v, Path(tmp), feeds)
                times[v].append(cpu)
                sizes[v] = size
                print(f"  {v}: {cpu:.2f} s", file=sys.stderr, flush=True)
    base = statistics.median(times["none"]) if "none" in times else None
    print(f"\n{n:,} entries, median of {args.repeat}, CPU seconds of storing them (load "
          f"{os.getloadavg()[0]:.1f} at the end)")
    print(f"{'variant':40} {'CPU s':>7} {'index CPU':>10} {'µs/entry':>9} {'index MB':>9}")
    for v in variants:
        med = statistics.median(times[v])
        extra = med - base if base is not None else float("nan")
        print(f"{v:40} {med:7.2f} {extra:10.2f} {extra / n * 1e6:9.0f} {sizes[v] / 1e6:9.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
