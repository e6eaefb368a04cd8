"""`curator topics test`: measure the topics against labelled headlines; pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .exceptions import UsageError
from .match import Matcher
from .types import Topic

__all__ = ["Example", "evaluate", "read_examples"]

#: Labels of a line that is off the beat; `1` (or a topic's name) marks one that is on it.
NEGATIVE = frozenset({"0", "-"})
POSITIVE = "1"


@dataclass(frozen=True)
class Example:
    """One labelled headline: `topic` is None for `1`/`0`, else the topic it belongs to."""

    line: int
    positive: bool
    topic: str | None
    title: str
    summary: str


def read_examples(text: str, where: str, topics: Sequence[str]) -> list[Example]:
    """Parse `label<TAB>title<TAB>summary` lines; blank lines and `#` comments are skipped.

    A bad line is a UsageError naming the file and the line.
    """
    known = set(topics)
    out: list[Example] = []
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip("\r")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) not in (2, 3):
            raise UsageError(f"{where}, line {n}: expected label<TAB>title<TAB>summary, "
                             f"found {len(fields)} tab-separated fields")
        label, title = fields[0].strip(), fields[1].strip()
        summary = fields[2].strip() if len(fields) == 3 else ""
        if not title:
            raise UsageError(f"{where}, line {n}: the title is empty")
        if label in NEGATIVE:
            out.append(Example(n, False, None, title, summary))
        elif label == POSITIVE:
            out.append(Example(n, True, None, title, summary))
        elif label in known:
            out.append(Example(n, True, label, title, summary))
        else:
            raise UsageError(f"{where}, line {n}: label {label!r} is not 1, 0, - "
                             f"or the name of a topic in feeds.yaml")
    return out


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def _scores(tp: int, fp: int, fn: int) -> dict[str, Any]:
    return {"precision": _ratio(tp, tp + fp), "recall": _ratio(tp, tp + fn),
            "tp": tp, "fp": fp, "fn": fn}


def evaluate(examples: Sequence[Example], topics: Sequence[Topic]) -> dict[str, Any]:
    """Precision and recall in all and per topic, with the misses and the false hits.

    In all, a line counts as matched when any topic matches it. Per topic, a match on an
    off-beat line is a false hit; recall is known only from lines labelled with the topic's
    name (a line labelled `1` says it is on the beat, not which topic should find it), and a
    line labelled with another topic that this one also matches counts neither way.
    """
    matcher = Matcher(topics)
    names = [t.name for t in topics]
    per = {name: [0, 0, 0] for name in names}  # tp, fp, fn
    named = {name: 0 for name in names}
    tp = fp = fn = 0
    misses: list[str] = []
    false_hits: list[str] = []
    detail: list[dict[str, Any]] = []
    for ex in examples:
        found = matcher.explain(ex.title, ex.summary)
        if ex.topic is not None:
            named[ex.topic] += 1
            if ex.topic not in found:
                per[ex.topic][2] += 1
        for name in found:
            if not ex.positive:
                per[name][1] += 1
            elif ex.topic is None or ex.topic == name:
                per[name][0] += 1
        if ex.positive and found:
            tp += 1
        elif ex.positive:
            fn += 1
            misses.append(ex.title)
        elif found:
            fp += 1
            false_hits.append(ex.title)
        if ex.positive != bool(found):
            detail.append({"line": ex.line, "title": ex.title, "positive": ex.positive,
                           "terms": found})
    topic_scores = {}
    for name in names:
        t_tp, t_fp, t_fn = per[name]
        scores = _scores(t_tp, t_fp, t_fn)
        if not named[name]:
            scores["recall"] = None
        topic_scores[name] = scores
    return {**_scores(tp, fp, fn), "lines": len(examples), "topics": topic_scores,
            "misses": misses, "false_hits": false_hits, "wrong": detail}
