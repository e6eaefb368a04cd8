"""The first poll's writing process alone, replayed the same way every time: what it stores, and
what it costs.

    .venv/bin/python bench/write_replay.py                    # the worst mix, 1,000 feeds
    .venv/bin/python bench/write_replay.py --feeds 200 --batch 25 --keep /tmp/x.db
    valgrind --tool=callgrind .venv/bin/python bench/write_replay.py --feeds 200

A real first poll is not deterministic: sources arrive in the order their fetches and parses
finish, so two polls of the same feeds store different ids and group a few stories differently
(22,420 against 22,384 candidates in two runs of the same code). This parses the bench feeds
(bench/poll_bench.py's, `--mix worst` by default) once, as the poll's workers do (entries,
topic matches, story signatures), and keeps the result in a pickle under bench/out/. Then it
writes them as the poll's writing process does (`Store.write_batch` around `--batch` sources'
`save_entries`, search indexing deferred to the end), in the feeds' order, with a fixed clock,
into a new SQLite file, and prints a digest of every table's rows (ids included) with the
CPU time of the writes. Two builds that print the same digests stored the same rows; the
writes can be counted by instructions alone (the pickle's load is the only other work).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import sqlite3
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# curator itself comes from PYTHONPATH (this tree's, or another build's, to compare them); the
# feeds and the pickle are this tree's bench/out/.
sys.path.insert(0, str(HERE))

from poll_bench import OUT, generate, write_bench_config  # noqa: E402

#: The clock of every write: the poll's `now` (fixed, so that two runs store the same stamps).
NOW = datetime(2026, 11, 24, 13, 0, tzinfo=UTC)
#: Tables whose rows are the writes' result. Not the migrations' log (when each ran) nor
#: sqlite_stat1 (the planner's statistics), nor the search index's own tables (FTS5's pages:
#: their layout is FTS5's business; what it indexes is checked through `entries_fts` queries).
SKIP = ("_sqlite_migrations", "sqlite_stat1", "sqlite_sequence")


def url_of(i: int) -> str:
    return f"http://127.0.0.1:8000/f{i:05d}.xml"


def parsed_feeds(feeds: int, items: int, mix: str) -> list[tuple[Any, ...]]:
    """(url, parsed feed, topics, signatures, body hash) of every feed, parsed once and kept."""
    cache = OUT / f"replay-{feeds}x{items}-{mix}.pickle"
    root = generate(feeds, items, mix=mix)
    if cache.exists() and cache.stat().st_mtime >= (root / "manifest.json").stat().st_mtime:
        with cache.open("rb") as f:
            loaded: list[tuple[Any, ...]] = pickle.load(f)  # noqa: S301 - our own file
            return loaded
    from curator import config as config_mod
    from curator.poll import _digest, parse_and_match

    with tempfile.TemporaryDirectory(prefix="curator-replay-") as tmp:
        topics = config_mod.load(write_bench_config(Path(tmp), [], [])).topics
    started = time.perf_counter()
    out = []
    for i in range(feeds):
        content = (root / "v1" / f"f{i:05d}.xml").read_bytes()
        parsed, matched, sigs = parse_and_match(url_of(i), content, {}, topics, True)
        out.append((url_of(i), parsed, matched, sigs, _digest(content)))
    cache.write_bytes(pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL))
    print(f"parsed {feeds:,} feeds in {time.perf_counter() - started:.1f}s -> {cache}",
          file=sys.stderr)
    return out


def replay(feeds: list[tuple[Any, ...]], db: Path, batch: int, pragmas: Sequence[str] = ()
           ) -> dict[str, Any]:
    """Write the parsed feeds as a first poll's writing process does; the CPU seconds taken."""
    from curator import config as config_mod
    from curator.parsed import NewBody
    from curator.poll import decide
    from curator.polltypes import Fetched
    from curator.store import Store

    cfg = config_mod.load(write_bench_config(db.parent, [], [u for u, *_ in feeds]))
    store = Store(db)
    store.stories.window = cfg.stories_window
    store.stories.meaning = cfg.stories_meaning
    store.sync_sources(((s.url, s.name, s.interval) for s in cfg.sources), NOW)
    sources = {s.url: s for s in store.sources()}
    for pragma in pragmas:  # to try a setting on the writes
        store.conn.execute(f"PRAGMA {pragma}")
    io = _io()
    started = time.process_time()
    times = os.times()
    with store.search_index_deferred():
        for at in range(0, len(feeds), batch):
            with store.write_batch():
                for url, parsed, topics, sigs, body_hash in feeds[at:at + batch]:
                    source = sources[url]
                    fetched = Fetched(url=url, final_url=url, permanent_url=None, status=200,
                                      content=b"", headers={}, etag=None, last_modified=None,
                                      max_age=None)
                    outcome = decide(source, fetched, NOW, interval=1800, roll=0.5,
                                     body=NewBody(parsed.source, body_hash, len(parsed.entries)))
                    store.save_entries(source.id, parsed.entries, topics, NOW, outcome, sigs)
    cpu = time.process_time() - started
    end = os.times()
    after = _io()
    store.close()
    # What the writes handed the kernel (SQLite's WAL and its checkpoints into the database):
    # the same for the same build, however busy the machine.
    return {"writes_cpu_s": round(cpu, 3),
            "user_s": round(end.user - times.user, 2),
            "system_s": round(end.system - times.system, 2),
            "written_mb": round((after["wchar"] - io["wchar"]) / 1e6, 1),
            "write_calls": after["syscw"] - io["syscw"]}


def _io() -> dict[str, int]:
    """This process's I/O counters (Linux's /proc/self/io; zeros elsewhere)."""
    try:
        text = Path("/proc/self/io").read_text()
    except OSError:
        return {"wchar": 0, "syscw": 0}
    return {k: int(v) for k, v in (line.split(": ") for line in text.splitlines())}


def digests(db: Path) -> dict[str, str]:
    """A digest of each table's rows (every column, rows in order), and of what search finds."""
    conn = sqlite3.connect(db)
    out: dict[str, str] = {}
    names = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%'"
        " AND name NOT LIKE 'entries_fts%' ORDER BY name")]
    for name in names:
        if name in SKIP:
            continue
        cols = [r[1] for r in conn.execute(f"PRAGMA table_info({name})")]
        order = ", ".join(f'"{c}"' for c in cols)
        h = hashlib.sha256()
        n = 0
        for row in conn.execute(f'SELECT * FROM "{name}" ORDER BY {order}'):  # noqa: S608
            h.update(repr(row).encode())
            n += 1
        out[name] = f"{n} rows {h.hexdigest()[:16]}"
    h = hashlib.sha256()
    for word in ("antitrust", "surveillance", "moderation", "senators", "the"):
        rows = conn.execute("SELECT rowid FROM entries_fts WHERE entries_fts MATCH ?"
                            " ORDER BY rowid", (word,)).fetchall()
        h.update(f"{word}:{[r[0] for r in rows]}".encode())
    out["entries_fts (searches)"] = h.hexdigest()[:16]
    conn.close()
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--feeds", type=int, default=1000, help="how many feeds (default 1000)")
    p.add_argument("--items", type=int, default=30, help="items per feed (default 30)")
    p.add_argument("--mix", default="worst", help="poll_bench's mix (default worst)")
    p.add_argument("--batch", type=int, default=25,
                   help="sources per write transaction (default 25)")
    p.add_argument("--pragma", action="append", default=[],
                   help="a PRAGMA for the writing connection, e.g. cache_size=-65536 (repeatable)")
    p.add_argument("--profile", type=Path, help="write a cProfile of the writes here")
    p.add_argument("--keep", type=Path, help="write the database here (a new file) and keep it")
    p.add_argument("--json-out", type=Path, help="also write the figures and digests as JSON")
    args = p.parse_args(argv)
    feeds = parsed_feeds(args.feeds, args.items, args.mix)
    with tempfile.TemporaryDirectory(prefix="curator-replay-") as tmp:
        db = args.keep or Path(tmp) / "curator.db"
        if db.exists():
            p.error(f"{db} exists: --keep wants a new file")
        if args.profile:
            import cProfile

            with cProfile.Profile() as prof:
                figures = replay(feeds, db, args.batch, args.pragma)
            prof.dump_stats(args.profile)
        else:
            figures = replay(feeds, db, args.batch, args.pragma)
        figures["digests"] = digests(db)
        figures["db_bytes"] = db.stat().st_size + sum(
            f.stat().st_size for f in (Path(f"{db}-wal"),) if f.exists())
    print(json.dumps(figures, indent=2))
    if args.json_out:
        args.json_out.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
