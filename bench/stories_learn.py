"""Fit the near-miss rule of curator.stories on the labeled sets, and measure it on each set left out.

    .venv/bin/python bench/stories_learn.py                # per set: words alone, the rule, left out
    .venv/bin/python bench/stories_learn.py --floor 0.1    # near misses from a higher words' score

curator.stories decides a near miss (the words give a story MEANING_FLOOR to THRESHOLD, the
two do not say different things happened nor the same thing happened to another party, and the
meanings' cosine is MEANING_MIN or more) by a logistic rule over the pair's signals
(stories._near_features: the words' score, the meanings' cosine, the same kind of event, names
that differ, another bank or court, a rare word shared in the titles, days apart (beyond the
first NEAR_HOURS_FREE hours), contradicting amounts, another court).
Its weights are constants in curator/stories.py (NEAR_WEIGHTS, NEAR_INTERCEPT): this script
fits them (scikit-learn's logistic regression over every labeled set's near-miss pairs; the
intercept then moved until the training pairs it joins reach --precision) and prints them, to be
copied into the code when the judgement or the encoder changes.

It measures the rule the honest way: for each labeled set, fitted on every other set, then the
left-out set grouped with it by curator.stories.group (articles in time order, as
tests/test_stories_quality.py does), beside the words alone and beside the rule in the code
(fitted on every set, that one included). It also counts the texts each way embeds over all the
sets (what the encoder costs: about a tenth of a millisecond each). Nothing here is a test.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from stories_quality import DATA, load, measure  # noqa: E402

from curator import meaning, stories  # noqa: E402

Model = tuple[tuple[float, ...], float]


def training_pairs(name: str) -> list[tuple[list[float], bool]]:
    """The set's near-miss pairs, each as the rule's features and whether it is one story."""
    items = load(name)
    sigs = [stories.signature(it["title"], it.get("summary") or "") for it in items]
    out = []
    for i, j in itertools.combinations(range(len(items)), 2):
        a, b = sigs[i], sigs[j]
        if not set(a.keys) & set(b.keys):
            continue  # the index would never compare them
        hours = abs(items[i]["hours"] - items[j]["hours"])
        words = stories.score(a, b, hours)
        if (stories.MEANING_FLOOR <= words < stories.THRESHOLD
                and not stories._set_apart(a, b)):
            near = stories.meanings(a, [b])[0]
            if near < stories.MEANING_MIN:
                continue  # never joined
            out.append((stories._near_features(a, b, hours, words, near),
                        items[i]["story"] == items[j]["story"]))
    return out


def fit(pairs: Sequence[tuple[list[float], bool]], precision: float) -> Model:
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    x = np.array([f for f, _ in pairs])
    y = np.array([same for _, same in pairs])
    model = LogisticRegression(C=1.0, max_iter=5000).fit(x, y)
    z = model.decision_function(x)
    shift = max(z) + 1.0
    for t in sorted(z):
        chosen = z >= t
        if (chosen & y).sum() / max(1, chosen.sum()) >= precision:
            shift = t
            break
    return (tuple(round(float(w), 3) for w in model.coef_[0]),
            round(float(model.intercept_[0] - shift), 3))


@contextmanager
def rule(model: Model | None) -> Iterator[None]:
    """Group with this model's weights (None: the words alone)."""
    saved = stories.NEAR_WEIGHTS, stories.NEAR_INTERCEPT, stories.MEANING_FLOOR
    floor = saved[2]
    if model is None:
        model, floor = saved[:2], stories.THRESHOLD
    stories.NEAR_WEIGHTS, stories.NEAR_INTERCEPT = model
    stories.MEANING_FLOOR = floor
    try:
        yield
    finally:
        stories.NEAR_WEIGHTS, stories.NEAR_INTERCEPT, stories.MEANING_FLOOR = saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--floor", type=float, default=stories.MEANING_FLOOR,
                        help="the words' score from which the rule decides "
                             f"(default {stories.MEANING_FLOOR}, as in the code)")
    parser.add_argument("--precision", type=float, default=0.9,
                        help="the training pairs' precision the intercept is moved to (default 0.9)")
    args = parser.parse_args()
    stories.MEANING_FLOOR = args.floor
    names = sorted(p.stem for p in DATA.glob("*.yaml"))
    pairs = {n: training_pairs(n) for n in names}
    code: Model = (tuple(stories.NEAR_WEIGHTS), stories.NEAR_INTERCEPT)
    columns = ("words", "code", "left out")
    totals = {key: [0, 0, 0] for key in columns}
    embedded = dict.fromkeys(columns, 0)
    real = meaning.embed

    def grouped(key: str, items: list[dict[str, Any]], model: Model | None) -> tuple[int, int, int]:
        def counting(texts: Sequence[str]) -> list[bytes]:
            embedded[key] += len(texts)
            return real(texts)

        meaning._cache.clear()  # each grouping embeds what it needs, as a fresh process would
        meaning.embed = counting
        try:
            with rule(model):
                tp, fp, fn, _ = measure(items)
        finally:
            meaning.embed = real
        totals[key] = [t + v for t, v in zip(totals[key], (tp, fp, fn), strict=True)]
        return tp, fp, fn

    print("| set | words alone P / R | the rule in the code P / R | fitted without the set P / R |")
    print("| --- | --- | --- | --- |")
    for name in names:
        items = load(name)
        left_out = fit([p for other in names if other != name for p in pairs[other]],
                       args.precision)
        row = [grouped("words", items, None), grouped("code", items, code),
               grouped("left out", items, left_out)]
        print(f"| {name} | " + " | ".join(figures(*r) for r in row) + " |")
    print("| every pair of every set | "
          + " | ".join(figures(*totals[key]) for key in columns) + " |")
    print("every pair of every set, tp / fp / fn: " + "; ".join(
        f"{key} {tp} / {fp} / {fn}" for key, (tp, fp, fn) in totals.items()))
    print(f"texts embedded: {embedded['code']} by the rule in the code, "
          f"{embedded['left out']} left out")
    weights, intercept = fit([p for n in names for p in pairs[n]], args.precision)
    print(f"fitted on all {sum(map(len, pairs.values()))} near-miss pairs "
          f"(curator/stories.py's NEAR_WEIGHTS and NEAR_INTERCEPT):\n"
          f"NEAR_WEIGHTS = {weights}\nNEAR_INTERCEPT = {intercept}")


def figures(tp: int, fp: int, fn: int) -> str:
    return f"{tp / max(1, tp + fp):.3f} / {tp / max(1, tp + fn):.3f}"


if __name__ == "__main__":
    main()
