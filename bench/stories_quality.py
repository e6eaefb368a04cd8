"""Grouping quality on the labeled sets: pairwise precision and recall per set, and what it got wrong.

    .venv/bin/python bench/stories_quality.py                 # every set's figures
    .venv/bin/python bench/stories_quality.py --show held_out_6  # with the pairs missed and wrongly joined

The same measurement as tests/test_stories_quality.py (articles placed in time order by
curator.stories.group, then every pair of a set compared with the labels), for looking at the
mistakes while developing the judgement. Nothing here is a test.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from curator import stories  # noqa: E402

DATA = ROOT / "tests" / "data" / "stories"
BASE = datetime(2026, 3, 2, 8, tzinfo=UTC)


def load(name: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = yaml.safe_load((DATA / f"{name}.yaml").read_text())["items"]
    return items


def articles(items: list[dict[str, Any]]) -> list[stories.Article]:
    return [stories.Article(id=i, source=it["source"], title=it["title"],
                            text=it.get("summary") or "", seen=BASE + timedelta(hours=it["hours"]))
            for i, it in enumerate(items)]


def measure(items: list[dict[str, Any]]) -> tuple[int, int, int, list[tuple[int, int, bool]]]:
    """tp, fp, fn, and the wrong pairs (i, j, whether they are the same story)."""
    story_of = stories.group(articles(items))
    tp = fp = fn = 0
    wrong = []
    for i, j in itertools.combinations(range(len(items)), 2):
        same = items[i]["story"] == items[j]["story"]
        grouped = story_of[i] == story_of[j]
        tp += same and grouped
        fp += grouped and not same
        fn += same and not grouped
        if same != grouped:
            wrong.append((i, j, same))
    return tp, fp, fn, wrong


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--show", action="append", default=[], help="a set whose mistakes to list")
    args = parser.parse_args()
    names = sorted(p.stem for p in DATA.glob("*.yaml"))
    for name in names:
        items = load(name)
        tp, fp, fn, wrong = measure(items)
        print(f"{name:16} precision {tp / max(1, tp + fp):.3f} recall {tp / max(1, tp + fn):.3f}"
              f"  (tp {tp}, fp {fp}, fn {fn})")
        if name not in args.show:
            continue
        sigs = [stories.signature(it["title"], it.get("summary") or "") for it in items]
        for i, j, same in wrong:
            hours = abs(items[i]["hours"] - items[j]["hours"])
            value = stories.score(sigs[i], sigs[j], hours)
            near = stories.meanings(sigs[i], [sigs[j]])[0]
            features = stories._near_features(sigs[i], sigs[j], hours, value, near)
            print(f"  {'MISSED' if same else 'JOINED'} {value:.3f} cos {near:.2f} "
                  f"rule {stories._near(features):.2f} "
                  f"features {' '.join(f'{f:g}' for f in features)}")
            print(f"    {items[i]['title']}  [{sorted(sigs[i].events)}]")
            print(f"    {items[j]['title']}  [{sorted(sigs[j].events)}]")


if __name__ == "__main__":
    main()
