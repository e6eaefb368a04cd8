"""Stories benchmark: what grouping costs a first poll, and whether it stays flat as data grows.

    .venv/bin/python bench/stories_bench.py                       # both parts
    .venv/bin/python bench/stories_bench.py --part poll           # 1,000-feed first poll only
    .venv/bin/python bench/stories_bench.py --part poll --mix news  # on the news mix only
    .venv/bin/python bench/stories_bench.py --part growth --sizes 10000,100000,1000000

1. poll: the first poll of poll_bench.py's 1,000 synthetic feeds (fresh database, every feed
   fetched, parsed, stored, matched), as a whole separate process, with grouping off
   (`stories.window: 0`) and on (the default 48h), alternating, median of --repeat runs each.
   Reported: the process tree's CPU seconds, and how much grouping adds. Two mixes (--mix):
   `escaped`, whose articles are word salads over one small vocabulary, so that their rarer words
   are shared by many stories and the index finds more stories per arrival than real news would
   give it (a harsh case); and `news`, articles written from templates with varied companies,
   people, places and amounts, most of them the only report of their event and a fifth carried
   by 2 to 10 outlets, each in its own words.
2. growth: databases of growing size (query_bench.py's filler: a year of entries, 6% matched, as
   polls would leave them), and into each the same stream of matched articles arriving through
   Store.save_entries, grouping on and off. Reported: CPU microseconds per arriving article that
   grouping adds, at each size; flat means the index looks at the window's stories only.

Ratios and differences measured in this run on this machine; nothing here is a test.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
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


#: The modes a first poll runs in: grouping off, on, and on with the words alone
#: (`stories.meaning: false`: the sentence encoder never loaded).
MODES = {"off": ["  window: 0"], "on": ["  window: 48h"],
         "words": ["  window: 48h", "  meaning: false"]}


def poll_part(feeds: int, items: int, repeat: int, mix: str, modes: list[str]
              ) -> dict[str, float]:
    root = generate(feeds, items, mix=mix)
    OUT.mkdir(exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="stories-", dir=OUT))
    kind = "nginx" if shutil.which("nginx") else "python"
    server = Server(kind, tmp)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    urls = [f"http://127.0.0.1:{server.port}/f{i:05d}.xml" for i in range(feeds)]
    cpu: dict[str, list[float]] = {mode: [] for mode in modes}
    quality: dict[str, float] = {}
    candidates: dict[str, int] = {}
    try:
        server.start(root / "v1", validators=True)
        for n in range(repeat):
            for mode in modes:
                work = tmp / f"{mode}-{n}"
                config = write_bench_config(work, [
                    "poll:", "  interval: 30m", "  timeout: 60s", "  concurrency: 64",
                    "  per_host: 64", "stories:", *MODES[mode]], urls)
                run = run_curator("first poll", config, feeds)
                if run.rc != 0:
                    raise SystemExit(f"curator failed: {run.detail}")
                cpu[mode].append(run.cpu)
                candidates[mode] = int(run.detail["candidates_stored"])  # type: ignore[call-overload]
                if mode == "on" and (root / "truth.json").exists():
                    quality = grouping_quality(work / "curator.db",
                                               json.loads((root / "truth.json").read_text()))
                print(f"  {mix}: first poll, grouping {mode}: {run.wall:.2f}s wall, "
                      f"{run.cpu:.2f}s CPU, "
                      f"{candidates[mode]:,} candidates", file=sys.stderr, flush=True)
                shutil.rmtree(work, ignore_errors=True)
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    out: dict[str, float] = {**quality}
    for mode in modes:
        out[mode] = statistics.median(cpu[mode])
        out[f"cands_{mode}"] = candidates[mode]
        if mode != "off":
            out[f"added_{mode}"] = (out[mode] - out["off"]) / out["off"]
    return out


_ITEM = re.compile(r"//(site\d+\.example\.com)/\d{4}/\d{2}/(item-\d+)")


def grouping_quality(db: Path, truth: dict[str, int]) -> dict[str, float]:
    """Pairwise precision and recall of the stories the poll made, over the matched articles,
    against the events the generator wrote them from."""
    with sqlite3.connect(db) as conn:
        story = {url: cid for cid, url in conn.execute("SELECT id, url FROM candidates")}
        story.update(conn.execute("SELECT url, candidate_id FROM story_articles"))
    events: dict[int, list[int]] = {}
    made: dict[int, list[int]] = {}
    for url, cid in story.items():
        m = _ITEM.search(url or "")
        if m:
            events.setdefault(truth[f"{m[1]}/{m[2]}"], []).append(cid)
            made.setdefault(cid, []).append(truth[f"{m[1]}/{m[2]}"])
    true_pairs = sum(len(v) * (len(v) - 1) // 2 for v in events.values())
    found = sum(len(v) * (len(v) - 1) // 2 for v in made.values())
    right = sum(n * (n - 1) // 2 for v in made.values() for n in Counter(v).values())
    return {"precision": right / max(1, found), "recall": right / max(1, true_pairs),
            "pairs": true_pairs, "articles": len(story)}


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
    """Store the articles as polls would, 20 per source, 64 sources per write batch; CPU
    seconds it took."""
    from curator.polltypes import EntryData

    started = time.process_time()
    for b in range(0, len(articles), 20 * 64):
        with store.write_batch():  # type: ignore[attr-defined]
            for k in range(b, min(b + 20 * 64, len(articles)), 20):
                source = sources[(k // 20) % len(sources)]
                batch = [EntryData(key=f"{tag}-{k + i}",
                                   url=f"https://o{source}.example/{tag}/{k + i}", link=None,
                                   title=t, summary="", content="", text=x,
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
        sources = [s.id for s in store.sources()]
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
    p.add_argument("--mix", default="escaped,news",
                   help="poll_bench.py feed mixes to poll, comma-separated (default: its word "
                        "salad, escaped, and news: mostly distinct stories, some carried by "
                        "2 to 10 outlets in their own words)")
    p.add_argument("--words", action="store_true",
                   help="also poll with grouping on and the meaning signal off "
                        "(stories.meaning: false), to see what the sentence encoder costs")
    p.add_argument("--sizes", default="10000,100000,1000000",
                   help="database sizes in entries, comma-separated")
    p.add_argument("--arrivals", type=int, default=2000,
                   help="matched articles arriving at each size (and as many to fill the window)")
    args = p.parse_args(argv)
    info = machine()
    print(f"machine: {info['nproc']} CPUs ({info['cpu']}), {info['ram']} RAM, "
          f"Python {info['python']}, SQLite {info['sqlite']}")
    if args.part in ("poll", "both"):
        modes = ["off", "on", *(["words"] if args.words else [])]
        results = {mix: poll_part(args.feeds, args.items, args.repeat, mix, modes)
                   for mix in args.mix.split(",") if mix}
        print(f"\nfirst poll of {args.feeds:,} feeds ({args.items} items each, or a third to "
              f"three times that in the news mix), CPU of the process tree, median of "
              f"{args.repeat}:")
        print("| feeds | grouping off: CPU s | candidates | grouping on: CPU s | candidates |"
              " grouping adds |\n| --- | --- | --- | --- | --- | --- |")
        for mix, r in results.items():
            print(f"| {mix} | {r['off']:.2f} | {int(r['cands_off']):,} | {r['on']:.2f} | "
                  f"{int(r['cands_on']):,} | {r['added_on']:+.1%} |")
            if "words" in r:
                print(f"| {mix}, words alone (meaning: false) | {r['off']:.2f} | "
                      f"{int(r['cands_off']):,} | {r['words']:.2f} | {int(r['cands_words']):,} | "
                      f"{r['added_words']:+.1%} |")
        for mix, r in results.items():
            if "precision" in r:
                print(f"{mix}: of the {int(r['articles']):,} matched articles, "
                      f"{int(r['pairs']):,} pairs report the same event; grouping's pairwise "
                      f"precision {r['precision']:.2f}, recall {r['recall']:.2f}")
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
