"""Stories benchmark: what grouping costs a first poll, and whether it stays flat as data grows.

    .venv/bin/python bench/stories_bench.py                       # both parts
    .venv/bin/python bench/stories_bench.py --part poll           # 1,000-feed first poll only
    .venv/bin/python bench/stories_bench.py --part growth --sizes 10000,100000,1000000

1. poll: the first poll of poll_bench.py's 1,000 synthetic feeds x 30 items (fresh database,
   every feed fetched, parsed, stored, matched), as a whole separate process, with grouping off
   (`stories.window: 0`) and on (the default 48h), alternating, median of --repeat runs each.
   Reported: the process tree's CPU seconds, and how much grouping adds. The synthetic articles are
   word salads over one small vocabulary, so their rarer words are shared by many stories: the
   index finds more stories per arrival than real news would give it, a harsh case.
2. growth: databases of growing size (query_bench.py's filler: a year of entries, 6% matched, as
   polls would leave them), and into each the same stream of matched articles arriving through
   Store.save_entries, grouping on and off. Reported: CPU microseconds per arriving article that
   grouping adds, at each size; flat means the index looks at the window's stories only.

Ratios and differences measured in this run on this machine; nothing here is a test.
"""

from __future__ import annotations

import argparse
import random
import shutil
import signal
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from poll_bench import (  # noqa: E402
    OUT,
    Server,
    generate,
    machine,
    run_curator,
    write_bench_config,
)
from query_bench import Filler  # noqa: E402

# ---------------------------------------------------------------- 1. the first poll


def poll_part(feeds: int, items: int, repeat: int) -> dict[str, float]:
    root = generate(feeds, items)
    OUT.mkdir(exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="stories-", dir=OUT))
    kind = "nginx" if shutil.which("nginx") else "python"
    server = Server(kind, tmp)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    urls = [f"http://127.0.0.1:{server.port}/f{i:05d}.xml" for i in range(feeds)]
    cpu: dict[str, list[float]] = {"off": [], "on": []}
    candidates: dict[str, int] = {}
    try:
        server.start(root / "v1", validators=True)
        for n in range(repeat):
            for mode, window in (("off", "0"), ("on", "48h")):
                work = tmp / f"{mode}-{n}"
                config = write_bench_config(work, [
                    "poll:", "  interval: 30m", "  timeout: 60s", "  concurrency: 64",
                    "  per_host: 64", "stories:", f"  window: {window}"], urls)
                run = run_curator("first poll", config, feeds)
                if run.rc != 0:
                    raise SystemExit(f"curator failed: {run.detail}")
                cpu[mode].append(run.cpu)
                candidates[mode] = int(run.detail["candidates_stored"])  # type: ignore[call-overload]
                print(f"  first poll, grouping {mode}: {run.wall:.2f}s wall, {run.cpu:.2f}s CPU, "
                      f"{candidates[mode]:,} candidates", file=sys.stderr, flush=True)
                shutil.rmtree(work, ignore_errors=True)
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    off, on = statistics.median(cpu["off"]), statistics.median(cpu["on"])
    return {"off": off, "on": on, "added": (on - off) / off, "cands_off": candidates["off"],
            "cands_on": candidates["on"]}


# ---------------------------------------------------------------- 2. growth

_NAMES = [f"{a}{b}" for a in ("Vor", "Kel", "Tam", "Bri", "Osk", "Lun", "Dra", "Fen", "Mar", "Zel")
          for b in ("ex", "ora", "ind", "ant", "ulo", "essa", "ock", "ari", "ton", "ima")]
_EVENTS = ("sues", "fines", "acquires", "recalls", "bans", "settles with", "investigates",
           "appeals", "cuts jobs at", "launches", "delays", "wins case against")
_OBJECTS = ("cloud unit", "chip plant", "payments app", "ad network", "smart glasses",
            "satellite fleet", "data centre", "streaming service", "battery maker", "bank")


def arrivals(n: int, seed: int, start: datetime) -> list[tuple[str, str]]:
    """n (title, text) articles: distinct stories, a third of them also told by another outlet."""
    rng = random.Random(seed)
    out: list[tuple[str, str]] = []
    while len(out) < n:
        a, b = rng.sample(_NAMES, 2)
        amount = f"${rng.randint(2, 900)}{rng.choice(['m', 'bn'])}"
        event, thing = rng.choice(_EVENTS), rng.choice(_OBJECTS)
        out.append((f"{a} {event} {b} over {thing} in {amount} deal",
                    f"{a} said on {start:%A} it {event} {b}; the {thing} is worth {amount}."))
        if rng.random() < 0.33:
            out.append((f"{b} faces {a} in {amount} {thing} dispute",
                        f"The {amount} move by {a} over {b}'s {thing} came on {start:%A}."))
    return out[:n]


def feed_arrivals(store: object, sources: list[int], articles: list[tuple[str, str]],
                  tag: str, now: datetime) -> float:
    """Store the articles as polls would, 20 per source; CPU seconds it took."""
    from curator.polltypes import EntryData

    started = time.process_time()
    for k in range(0, len(articles), 20):
        source = sources[(k // 20) % len(sources)]
        batch = [EntryData(key=f"{tag}-{k + i}", url=f"https://o{source}.example/{tag}/{k + i}",
                           link=None, title=t, summary="", content="", text=x,
                           published=now - timedelta(minutes=5))
                 for i, (t, x) in enumerate(articles[k:k + 20])]
        store.save_entries(source, batch, [["antitrust"]] * len(batch), now)  # type: ignore[attr-defined]
    return time.process_time() - started


def growth_part(sizes: list[int], n_arrivals: int) -> list[dict[str, float]]:
    from curator.store import Store

    rows = []
    for size in sizes:
        work = OUT / f"stories-growth-{size}"
        if work.exists():
            shutil.rmtree(work)
        work.mkdir(parents=True)
        db = work / "curator.db"
        Store(db).close()
        started = time.perf_counter()
        filler = Filler(db, 1000, 360)
        filler.sources()
        filler.entries(size)
        filler.close()
        print(f"  filled {size:,} entries in {time.perf_counter() - started:.0f}s",
              file=sys.stderr, flush=True)
        store = Store(db)
        sources = [int(r["id"]) for r in store.sources()]
        now = datetime.now(UTC)
        # The window fills first: a day of arrivals indexed before the ones measured.
        store.stories.window = 48 * 3600
        feed_arrivals(store, sources, arrivals(n_arrivals, 1, now), "warm", now)
        measured = arrivals(n_arrivals, 2, now)
        store.stories.window = 0
        off = feed_arrivals(store, sources, measured, "off", now)
        store.stories.window = 48 * 3600
        on = feed_arrivals(store, sources, measured, "on", now)
        keys = store.conn.execute("SELECT count(*) FROM story_keys").fetchone()[0]
        grouped = store.conn.execute("SELECT count(*) FROM story_articles").fetchone()[0]
        store.close()
        rows.append({"size": size, "off_us": off / n_arrivals * 1e6, "on_us": on / n_arrivals * 1e6,
                     "added_us": (on - off) / n_arrivals * 1e6, "keys": keys, "grouped": grouped})
        print(f"  {size:>9,} entries: {rows[-1]['added_us']:.0f} µs added per article "
              f"({keys:,} keys in the index)", file=sys.stderr, flush=True)
        shutil.rmtree(work, ignore_errors=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--part", choices=["poll", "growth", "both"], default="both")
    p.add_argument("--feeds", type=int, default=1000)
    p.add_argument("--items", type=int, default=30)
    p.add_argument("--repeat", type=int, default=3, help="first polls per mode (median shown)")
    p.add_argument("--sizes", default="10000,100000,1000000",
                   help="database sizes in entries, comma-separated")
    p.add_argument("--arrivals", type=int, default=2000,
                   help="matched articles arriving at each size (and as many to fill the window)")
    args = p.parse_args(argv)
    info = machine()
    print(f"machine: {info['nproc']} CPUs ({info['cpu']}), {info['ram']} RAM, "
          f"Python {info['python']}, SQLite {info['sqlite']}")
    if args.part in ("poll", "both"):
        r = poll_part(args.feeds, args.items, args.repeat)
        print(f"\nfirst poll of {args.feeds:,} feeds x {args.items} items, CPU of the process tree "
              f"(median of {args.repeat}):")
        print("| grouping | CPU s | candidates |\n| --- | --- | --- |")
        print(f"| off (`stories.window: 0`) | {r['off']:.2f} | {r['cands_off']:,} |")
        print(f"| on (48h) | {r['on']:.2f} | {r['cands_on']:,} |")
        print(f"grouping adds {r['added']:+.1%} to the first poll's CPU")
    if args.part in ("growth", "both"):
        sizes = [int(s) for s in args.sizes.split(",") if s]
        rows = growth_part(sizes, args.arrivals)
        print(f"\n{args.arrivals:,} matched articles arriving into a database of growing size "
              "(CPU per article):")
        print("| entries in the database | storing, grouping off | grouping on | grouping adds |"
              " index keys | articles grouped |")
        print("| --- | --- | --- | --- | --- | --- |")
        for row in rows:
            print(f"| {int(row['size']):,} | {row['off_us']:.0f} µs | {row['on_us']:.0f} µs | "
                  f"{row['added_us']:.0f} µs | {int(row['keys']):,} | {int(row['grouped']):,} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
