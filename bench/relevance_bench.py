"""Relevance benchmark: does the learned queue help an editor, and what does it cost?

    .venv/bin/python bench/relevance_bench.py              # everything (a few minutes)
    .venv/bin/python bench/relevance_bench.py --skip-poll  # without the 1,000-feed poll

Replays bench/relevance_stream.py (30 days of labeled tech headlines, about 7% on the
tech-accountability beat) into a real curator database, day by day, through the same code a poll
runs (store the entries with their topic matches, then the relevance refresh: retrain on changed
decisions, score, suggest). Each day an editor decides every new candidate: features the on-beat
ones, rejects the rest. It reports:

  * ROC AUC of `score` among each day's new candidates, from a model trained on the decisions
    made before that day (pooled over the days after the first ~50 decisions, and day by day);
  * precision and recall of suggestions: recall among the on-beat entries that no topic matched,
    precision among the suggestions made;
  * the cost of training on 10,000 decisions (and on 100,000, which curator caps);
  * the share of a 1,000-feed first poll's CPU that scoring takes, with a model in place
    (poll_bench's feeds served on 127.0.0.1, polled in-process; CPU of the poll process and its
    parse workers against the CPU of the relevance refresh).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from relevance_stream import Item, stream  # noqa: E402

from curator import config as config_mod  # noqa: E402
from curator.core import Curator  # noqa: E402
from curator.match import Matcher  # noqa: E402
from curator.polltypes import EntryData  # noqa: E402
from curator.relevance import MAX_DECISIONS  # noqa: E402
from curator.store.relevance import RelevanceStore  # noqa: E402

START = datetime(2026, 10, 1, 6, 0, tzinfo=UTC)

# The topics curator shipped with before issue 13 (a fixed copy, so the figures do not move when
# feeds.yaml's topics are tuned): they catch about two thirds of the stream's on-beat stories.
TOPICS = """
topics:
  - name: platform-accountability
    any: ["Section 230", "Communications Decency Act", "content moderation",
          "Digital Services Act", "Online Safety Act", "duty of care", KOSA, "design defect*",
          "product liability", "Oversight Board", "transparency report*"]
    none: [sponsored]
  - name: child-safety
    any: ["child safety", "child sexual abuse", CSAM, "child exploitation", sextortion,
          grooming, "age verification", trafficking, "trafficker*", NCMEC, "teen safety",
          "parental controls"]
    none: [sponsored, "drug trafficking"]
  - name: surveillance
    any: [warrant, warrants, warrantless, "subpoena*", geofence, "facial recognition", spyware,
          Pegasus, "data broker*", "location data", "end-to-end encryption", surveillance]
  - name: antitrust
    any: [antitrust, "monopol*", anticompetitive, "competition law", FTC, "Justice Department",
          "merger*", "app store"]
"""


def write_config(work: Path, sources: list[str], extra: str = "") -> Path:
    # Story grouping off: the stream's templates would make unrelated stories look alike, and
    # this measures the score, not the grouping. The database in a folder curator keeps private.
    lines = ["database: db/curator.db", "stories: {window: 0}", "output:", "  title: Bench",
             "  link: https://example.org/bench/", "  description: relevance benchmark",
             "sources:"]
    lines += [f"  - url: https://{i}.feeds.example.org/rss\n    name: {name}"
              for i, name in enumerate(sources)]
    path = work / "feeds.yaml"
    path.write_text("\n".join(lines) + "\n" + TOPICS + extra)
    return path


class Clock:
    def __init__(self, t: datetime) -> None:
        self.t = t

    def __call__(self) -> datetime:
        return self.t


def auc(scores: list[float], labels: list[int]) -> float | None:
    if len(set(labels)) < 2:
        return None
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores))


def cpu() -> float:
    """CPU seconds of this process and its reaped children."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def timed_refresh(cur: Curator, everything: bool = False) -> tuple[Any, float]:
    started = time.process_time()
    done = cur.refresh_relevance(everything=everything)
    return done, time.process_time() - started


def store_day(cur: Curator, matcher: Matcher, items: list[tuple[int, Item]], day: int,
              source_ids: dict[str, int]) -> dict[str, tuple[int, Item]]:
    """Store a day's entries as a poll would (topic matches included); url -> (index, item)."""
    now = cur.now()
    by_source: dict[str, list[tuple[int, Item]]] = {}
    for idx, it in items:
        by_source.setdefault(it.source, []).append((idx, it))
    urls: dict[str, tuple[int, Item]] = {}
    for source, rows in by_source.items():
        entries, topics = [], []
        for idx, it in rows:
            url = f"https://news.example.org/{day}/{idx}"
            urls[url] = (idx, it)
            entries.append(EntryData(key=url, url=url, link=url, title=it.title,
                                     summary=f"<p>{it.summary}</p>", content="",
                                     text=it.summary, published=now - timedelta(hours=1)))
            topics.append(matcher.match(it.title, it.summary))
        cur.store.save_entries(source_ids[source], entries, topics, now)
    return urls


def open_stream(work: Path, days: int) -> tuple[list[Item], Clock, Curator, dict[str, int]]:
    """The stream's items, and a curator on a new database with one source per outlet."""
    items = list(stream(days=days))
    sources = sorted({it.source for it in items})
    clock = Clock(START)
    cur = Curator(config_mod.load(write_config(work, sources)), now=clock)
    cur.sync_sources()
    return items, clock, cur, {s["name"]: s["id"] for s in cur.store.sources()}


def replay(work: Path, days: int, out: Callable[[str], None]) -> Path:
    items, clock, cur, source_ids = open_stream(work, days)
    matcher = Matcher(cur.config.topics)
    decisions = 0
    pooled_scores: list[float] = []
    pooled_labels: list[int] = []
    sugg_tp = sugg_fp = misses = sugg_recovered = 0
    train_times: list[float] = []
    beat = sum(i.beat for i in items)
    out(f"{len(items):,} entries over {days} days, {beat:,} on the beat ({beat / len(items):.1%}),"
        f" {sum(i.label for i in items):,} that the editor features")
    out("")
    out("| day | decisions before | new candidates | AUC | topic misses (on beat) | "
        "suggested | featured |")
    out("| --- | --- | --- | --- | --- | --- | --- |")
    for day in range(days):
        clock.t = START + timedelta(days=day)
        todays = [(i, it) for i, it in enumerate(items) if it.day == day]
        urls = store_day(cur, matcher, todays, day, source_ids)
        done, took = timed_refresh(cur)
        if done is not None and done.trained:
            train_times.append(took)
        new = [c for c in cur.candidates(status="new", limit=None) if c["url"] in urls]
        scores = [float(c["score"]) for c in new]
        labels = [urls[c["url"]][1].label for c in new]
        day_auc = auc(scores, labels)
        missed = {u for u, (_, it) in urls.items()
                  if it.beat and not matcher.match(it.title, it.summary)}
        suggested = [c for c in new if c["suggested"]]
        right = sum(1 for c in suggested if urls[c["url"]][1].label)  # the editor features it
        recovered = sum(1 for c in suggested if c["url"] in missed)
        if decisions >= 50:
            pooled_scores += scores
            pooled_labels += labels
            sugg_tp += right
            sugg_fp += len(suggested) - right
            sugg_recovered += recovered
            misses += len(missed)
        out(f"| {day + 1} | {decisions} | {len(new)} | "
            f"{'-' if day_auc is None else f'{day_auc:.3f}'} | {len(missed)} | {len(suggested)} "
            f"| {right} |")
        # The editor decides every new candidate: features what they like (mostly the beat),
        # rejects the rest.
        clock.t = START + timedelta(days=day, hours=8)
        for c in new:
            if urls[c["url"]][1].label:
                cur.feature(c["id"], "Worth reading.", editor="bench")
            else:
                cur.reject(c["id"], editor="bench")
            decisions += 1
    out("")
    pooled = auc(pooled_scores, pooled_labels)
    precision = sugg_tp / (sugg_tp + sugg_fp) if sugg_tp + sugg_fp else float("nan")
    recall = sugg_recovered / misses if misses else float("nan")
    out(f"After the first 50 decisions (pooled over the days that followed): "
        f"AUC {'-' if pooled is None else f'{pooled:.3f}'} over {len(pooled_scores):,} "
        f"candidates; suggestions recover "
        f"{sugg_recovered} of {misses} on-beat topic misses (recall {recall:.2f}); "
        f"{sugg_tp} of {sugg_tp + sugg_fp} suggestions were featured (precision {precision:.2f})")
    if train_times:
        out(f"Retraining during the replay: median {sorted(train_times)[len(train_times) // 2]:.2f}"
            f" s CPU, at most {max(train_times):.2f} s (with scoring)")
    cur.close()
    return work / "db" / "curator.db"


def training_cost(work: Path, n_decisions: int, out: Callable[[str], None]) -> None:
    """Train on n_decisions decisions (and the unseen entries sampled with them)."""
    items, clock, cur, source_ids = open_stream(work, 30)
    everything = Matcher(cur.config.topics)
    # n entries become candidates (with their topics, or "bench") and are decided, a seventh of
    # them featured; 5,000 more stay unseen.
    n = 0
    with cur.store.write():
        while n < n_decisions + 5000:
            batch = [(n + i, items[(n + i) % len(items)]) for i in range(min(2000, n_decisions
                                                                             + 5000 - n))]
            rows: dict[str, list[EntryData]] = {}
            tops: dict[str, list[list[str]]] = {}
            for idx, it in batch:
                url = f"https://news.example.org/x/{idx}"
                rows.setdefault(it.source, []).append(EntryData(
                    key=url, url=url, link=url, title=f"{it.title} ({idx % 97})",
                    summary=it.summary, content="", text=it.summary))
                decided = idx < n_decisions
                tops.setdefault(it.source, []).append(
                    (everything.match(it.title, it.summary) or ["bench"]) if decided else [])
            for source, entries in rows.items():
                cur.store.save_entries(source_ids[source], entries, tops[source], clock.t)
            n += len(batch)
        cur.store.conn.execute(
            "UPDATE candidates SET status = 'featured', featured_at = ?, guid = 'urn:x:' || id"
            " WHERE id IN (SELECT c.id FROM candidates c JOIN entries e ON e.id = c.entry_id"
            " WHERE e.id % 7 = 0)", ("2026-10-01T00:00:00Z",))
        cur.store.conn.execute("UPDATE candidates SET status = 'rejected' WHERE status = 'new'")
    rs = RelevanceStore(cur.store)
    from curator.relevance import train

    started = time.perf_counter()
    examples = rs.examples()
    loaded = time.perf_counter() - started
    import scipy.sparse  # noqa: F401 - imported before timing: a poll that trains pays once
    import sklearn.linear_model  # noqa: F401

    started, cpu_started = time.perf_counter(), time.process_time()
    model = train(examples, rs.fingerprint())
    took, took_cpu = time.perf_counter() - started, time.process_time() - cpu_started
    assert model is not None
    out(f"Training on {n_decisions:,} decisions ({len(examples):,} examples with the unseen "
        f"entries; curator trains on the newest {MAX_DECISIONS:,} decisions at most): "
        f"{took_cpu:.2f} s CPU, {took:.2f} s wall ({loaded:.2f} s more to read them from the "
        f"database)")
    cur.close()


def poll_share(db: Path, work: Path, out: Callable[[str], None], feeds: int, items: int) -> None:
    """CPU of the relevance refresh within a 1,000-feed first poll, with a model in place."""
    import poll_bench

    root = poll_bench.generate(feeds, items)
    server = poll_bench.Server("python", work)
    server.start(root / "v1", validators=True)
    try:
        urls = [f"http://127.0.0.1:{server.port}/f{f:05d}.xml" for f in range(feeds)]
        poll_dir = work / "poll"
        poll_dir.mkdir()
        (poll_dir / "db").mkdir(mode=0o700)
        shutil.copy(db, poll_dir / "db" / "curator.db")
        # Story grouping off here too: it costs a poll CPU of its own, which would make the
        # share of scoring look smaller than it is.
        lines = ["database: db/curator.db", "stories: {window: 0}", "poll:", "  timeout: 60s",
                 "  concurrency: 64",
                 "  per_host: 64", "output:", "  title: Bench",
                 "  link: https://example.org/bench/", "  description: relevance benchmark",
                 "sources:", *(f"  - url: {u}" for u in urls)]
        (poll_dir / "feeds.yaml").write_text("\n".join(lines) + "\n" + TOPICS)
        cfg = config_mod.load(poll_dir / "feeds.yaml")
        cur = Curator(cfg, now=lambda: START + timedelta(days=31))
        assert RelevanceStore(cur.store).load_model() is not None, "the replay left no model"
        spent: list[float] = []
        original = cur.refresh_relevance

        def measured(**kw: Any) -> Any:
            started = time.process_time()
            try:
                return original(**kw)
            finally:
                spent.append(time.process_time() - started)

        cur.refresh_relevance = measured  # type: ignore[method-assign]
        before = cpu()
        wall = time.perf_counter()
        summary = cur.poll(force=True)
        wall = time.perf_counter() - wall
        total = cpu() - before
        cur.close()
    finally:
        server.stop()
    share = sum(spent) / total if total else float("nan")
    out(f"First poll of {feeds:,} feeds x {items} items with a model in place: "
        f"{summary.new_entries:,} new entries, {summary.new_candidates:,} new candidates, "
        f"{wall:.1f} s wall, {total:.1f} s CPU (poll process and parse workers); the relevance "
        f"refresh (scoring every new entry, suggesting) took {sum(spent):.2f} s CPU: "
        f"{share:.1%} of the poll")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--skip-poll", action="store_true", help="leave out the 1,000-feed poll")
    p.add_argument("--skip-training", action="store_true", help="leave out the training costs")
    p.add_argument("--feeds", type=int, default=1000)
    p.add_argument("--items", type=int, default=30)
    args = p.parse_args(argv)

    def out(line: str) -> None:
        print(line, flush=True)

    with tempfile.TemporaryDirectory(prefix="curator-relevance-") as tmp:
        work = Path(tmp)
        (work / "replay").mkdir()
        db = replay(work / "replay", args.days, out)
        if not args.skip_training:
            for n in (10_000, 100_000):
                (work / f"train{n}").mkdir()
                training_cost(work / f"train{n}", n, out)
        if not args.skip_poll:
            poll_share(db, work, out, args.feeds, args.items)
    return 0


if __name__ == "__main__":
    sys.exit(main())
