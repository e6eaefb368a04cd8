"""The learned score and suggestions: train on the editors' own decisions, persist, score.

What the editors featured are the positives; what they rejected, and a sample of the entries they
never saw (no topic matched them, and most of what a beat's sources carry is off the beat), are
the negatives, the unseen ones weighted far less since some of them are stories the topics missed.
Each entry becomes a set of tokens (title words, summary words, word pairs, its source and its
topics), an L2-normalised binary vector; a logistic regression (scikit-learn) learns a weight per
token.

Scoring is a sum of the weights of an entry's tokens, so it needs neither scikit-learn nor numpy:
the model is kept in the database as JSON (token -> weight; never a pickle, so reading it runs no
code) and a poll scores its new entries without importing scikit-learn, which alone costs about a
CPU-second. Only a retrain (after the decisions changed) imports it.
"""

from __future__ import annotations

import json
import math
import re
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import repeat
from typing import Any, Protocol

from .clock import iso
from .match import fold
from .types import RelevanceSettings

#: Bump when the tokens or the stored layout change: a stored model of another format is rebuilt
#: rather than read.
FORMAT = 2
TEXT_WORDS = 60  # a summary's first words carry the story; a full article only adds noise
TEXT_CHARS = 600  # enough characters for TEXT_WORDS words, so the rest is never even read
WEAK_WEIGHT = 0.05  # an unseen entry is weak evidence: some are stories the topics missed
MAX_WEAK = 5000  # unseen entries sampled per training (the newest)
MIN_WEAK = 1000
MAX_DECISIONS = 20_000  # the newest decisions teach; older ones only slow training down
C = 4.0  # inverse regularisation strength of the logistic regression
MIN_FEATURES = 3  # fewer features than this: the topic score alone
MIN_NEGATIVES = 3
PRUNE = 1e-4  # weights smaller than this are not kept (they move no score by a millionth)
SIMILAR = 0.2  # cosine at which a featured item counts as "like" a suggestion
#: After a retrain, the unseen entries of this long ago are looked at again for suggestions (at
#: most LOOKBACK_MAX of them, the newest); `curator rematch` looks at every one.
LOOKBACK = timedelta(days=1)
LOOKBACK_MAX = 10_000

_WORD = re.compile(r"\w\w+")


@dataclass(frozen=True)
class Doc:
    """What the model sees of an entry."""

    title: str
    text: str
    source: str  # a stable name for the source within this database (its id)
    topics: tuple[str, ...] = ()


@dataclass(frozen=True)
class Example:
    """A training example: a document, its label and its weight."""

    doc: Doc
    label: int  # 1 featured, 0 rejected or never seen
    weight: float = 1.0


def tokens(doc: Doc) -> frozenset[str]:
    """The document's distinct tokens: title words (also as title words), text words, pairs of
    neighbouring words, its source and its topics."""
    title = _WORD.findall(fold(doc.title[:TEXT_CHARS]))
    words = title + _WORD.findall(fold(doc.text[:TEXT_CHARS]))[:TEXT_WORDS]
    out = {"t:" + w for w in title}
    out.update(words)
    out.update(map(" ".join, zip(words, words[1:], strict=False)))
    out.add("s:" + doc.source)
    out.update("k:" + t for t in doc.topics)
    return frozenset(out)


def prior_score(n_topics: int) -> float:
    """The score before any decision: from the topic matches alone (one topic 0.5, two 0.67…)."""
    return round(n_topics / (n_topics + 1.0), 6)


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@dataclass(frozen=True)
class Model:
    """Weights learned from one set of decisions; score() needs no library."""

    weights: dict[str, float]
    intercept: float
    fingerprint: str  # the decisions it learned from (see RelevanceStore.fingerprint)
    meta: dict[str, int] = field(default_factory=dict, compare=False)

    def score(self, doc: Doc) -> float:
        """The estimated chance that the editors feature this document, 0 to 1."""
        return self.score_tokens(tokens(doc))

    def score_tokens(self, toks: frozenset[str]) -> float:
        """The score of an already tokenised document."""
        # map() with two iterables calls dict.get in C: a quarter cheaper than a generator.
        total = sum(map(self.weights.get, toks, repeat(0.0)))
        return round(_sigmoid(self.intercept + total / math.sqrt(len(toks) or 1)), 6)

    def reasons(self, doc: Doc, n: int = 3) -> list[str]:
        """The words that raised this document's score most, for "why was this suggested"."""
        w = self.weights
        found = [(w[t], t) for t in tokens(doc)
                 if t in w and w[t] > 0 and not t.startswith(("s:", "k:", "t:"))]
        found.sort(key=lambda p: (-p[0], p[1]))
        return [t for _, t in found[:n]]

    # -------------------------------------------------------------- stored form

    def to_blob(self) -> bytes:
        """The weights as compressed JSON (what the database keeps)."""
        doc = {"intercept": self.intercept, "weights": self.weights}
        return zlib.compress(json.dumps(doc, sort_keys=True, ensure_ascii=False).encode(), 6)

    @classmethod
    def from_blob(cls, blob: Any, fingerprint: str, meta: dict[str, int] | None = None
                  ) -> Model | None:
        """A model from its stored form, or None when it is damaged (it is then rebuilt)."""
        try:
            doc = json.loads(zlib.decompress(blob))
            intercept = float(doc["intercept"])
            weights = {str(k): float(v) for k, v in doc["weights"].items()}
        except (TypeError, ValueError, KeyError, AttributeError, zlib.error):
            return None
        if not math.isfinite(intercept) or not all(map(math.isfinite, weights.values())):
            return None
        return cls(weights=weights, intercept=intercept, fingerprint=fingerprint, meta=meta or {})


def train(examples: Sequence[Example], fingerprint: str) -> Model | None:
    """Fit the model on these examples, or None when they cannot teach one (one class only).

    Deterministic: the same examples in the same order give the same weights (the columns are
    numbered in sorted token order, and the solver's visiting order is seeded).
    """
    n_pos = sum(1 for e in examples if e.label == 1)
    n_neg = len(examples) - n_pos
    if n_pos < MIN_FEATURES or n_neg < MIN_NEGATIVES:
        return None
    from scipy.sparse import csr_matrix
    from sklearn.linear_model import LogisticRegression

    docs = [tokens(e.doc) for e in examples]
    vocab = {t: i for i, t in enumerate(sorted(set().union(*docs)))}
    indptr = [0]
    indices: list[int] = []
    data: list[float] = []
    for toks in docs:
        value = 1.0 / math.sqrt(len(toks) or 1)
        indices.extend(sorted(vocab[t] for t in toks))
        data.extend([value] * len(toks))
        indptr.append(len(indices))
    x = csr_matrix((data, indices, indptr), shape=(len(docs), len(vocab)))
    # The dual solver: with more tokens than examples it converges ten times faster than the
    # primal one, to the same scores (within 1e-3); random_state fixes its visiting order.
    clf = LogisticRegression(C=C, solver="liblinear", dual=True, max_iter=1000, random_state=0)
    clf.fit(x, [e.label for e in examples], sample_weight=[e.weight for e in examples])
    names = sorted(vocab, key=vocab.__getitem__)
    weights = {t: round(float(w), 6) for t, w in zip(names, clf.coef_[0], strict=True)
               if abs(w) >= PRUNE}
    meta = {"features": n_pos,
            "rejects": sum(1 for e in examples if e.label == 0 and e.weight >= 1.0),
            "unseen": sum(1 for e in examples if e.weight < 1.0)}
    return Model(weights=weights, intercept=round(float(clf.intercept_[0]), 6),
                 fingerprint=fingerprint, meta=meta)


def similar_count(toks: frozenset[str], featured: Iterable[frozenset[str]],
                  threshold: float = SIMILAR) -> int:
    """How many featured items are at least `threshold` alike (cosine of token sets)."""
    n = 0
    for other in featured:
        if other and toks and len(toks & other) / math.sqrt(len(toks) * len(other)) >= threshold:
            n += 1
    return n


@dataclass(frozen=True)
class Refreshed:
    """What one refresh did."""

    trained: bool  # the model was (re)built from changed decisions
    model: bool  # a model scores (else the topic matches do)
    scored: int  # candidates scored
    suggested: int  # new suggestions
    withdrawn: int  # undecided suggestions taken back


@dataclass(frozen=True)
class Row:
    """An entry or candidate as the model sees it, with what storing its outcome needs."""

    id: int  # entry id, or candidate id for a candidate
    doc: Doc
    url: str | None = None
    published: str | None = None


class RelevanceStore(Protocol):
    """What a refresh asks of the database (curator.store.relevance implements it)."""

    def fingerprint(self) -> str: ...
    def examples(self) -> list[Example]: ...
    def featured_docs(self) -> list[Doc]: ...
    def load_model(self) -> Model | None: ...
    def save_model(self, model: Model | None, fingerprint: str, now: datetime) -> None: ...
    def candidates_to_score(self, everything_new: bool) -> Iterator[list[Row]]: ...
    def set_scores(self, scores: Sequence[tuple[int, float]]) -> None: ...
    def unseen(self, *, after_id: int = 0, since: str | None = None,
               limit: int | None = None) -> Iterator[list[Row]]: ...
    def newest_entry(self) -> int: ...
    def suggest(self, suggestions: Sequence[tuple[Row, float, dict[str, Any]]], now: datetime
                ) -> int: ...
    def drop_suggestions(self, below: float | None = None) -> int: ...
    def unsuggest_matched(self) -> None: ...
    def watermark(self) -> int | None: ...
    def set_watermark(self, entry_id: int) -> None: ...
    def untrainable(self) -> str | None: ...


def refresh(rs: RelevanceStore, settings: RelevanceSettings, now: datetime, *,
            everything: bool = False) -> Refreshed:
    """Bring the model, the scores and the suggestions up to date with the database.

    Retrains when the decisions changed since the stored model learned (or it is missing or
    damaged); scores every candidate without a score, and every undecided one after a retrain;
    makes suggestions of the entries stored since the last refresh (after a retrain, of the last
    day's; with `everything`, as `curator rematch` asks, of every stored entry).
    """
    rs.unsuggest_matched()  # a topic (edited, or another source's copy) now matches them
    fingerprint = rs.fingerprint()
    model = rs.load_model()
    trained = False
    if (model is None or model.fingerprint != fingerprint) and rs.untrainable() != fingerprint:
        model = train(rs.examples(), fingerprint)
        rs.save_model(model, fingerprint, now)
        trained = True
    elif model is not None and model.fingerprint != fingerprint:
        model = None  # decisions changed to a set that teaches none (resets): topics alone
    watermark = rs.watermark()
    newest = rs.newest_entry()
    # A page of candidates at a time, their scores written together (one transaction, as one
    # refresh's scores always were): only the scores are held, not every candidate's text.
    scores = [(r.id, model.score(r.doc) if model else prior_score(len(r.doc.topics)))
              for rows in rs.candidates_to_score(
                  everything_new=trained or everything or watermark is None)
              for r in rows]
    rs.set_scores(scores)
    suggested = withdrawn = 0
    if not settings.suggest or model is None:
        withdrawn = rs.drop_suggestions()
    else:
        if trained or everything:
            withdrawn = rs.drop_suggestions(below=settings.suggest_above)
        if everything:
            batches = rs.unseen()
        elif trained or watermark is None:
            batches = rs.unseen(since=iso(now - LOOKBACK), limit=LOOKBACK_MAX)
        else:
            batches = rs.unseen(after_id=watermark)
        picks: list[tuple[Row, float]] = []
        for batch in batches:
            for row in batch:
                score = model.score(row.doc)
                if score >= settings.suggest_above:
                    picks.append((row, score))
        if picks:
            suggested = rs.suggest(_with_reasons(model, picks, rs.featured_docs()), now)
    rs.set_watermark(newest)
    return Refreshed(trained=trained, model=model is not None, scored=len(scores),
                     suggested=suggested, withdrawn=withdrawn)


def _with_reasons(model: Model, picks: Sequence[tuple[Row, float]], featured: Sequence[Doc]
                  ) -> list[tuple[Row, float, dict[str, Any]]]:
    """Each suggestion with why: how many featured items it is like, and its strongest words."""
    vectors = [tokens(d) for d in featured]
    out = []
    for row, score in picks:
        like = similar_count(tokens(row.doc), vectors)
        out.append((row, score, {"like": like, "words": model.reasons(row.doc)}))
    return out
