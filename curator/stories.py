"""Which articles report the same story: a signature per article, a sameness judgement, grouping.

Pure: no SQL, no I/O. The store keeps the index (a story's keys, first-seen time) and asks this
module two things: what to index an article under (`Signature.keys`) and whether an arriving
article belongs to a story it found through those keys (`best_story`).

Word overlap alone confuses "FTC sues Amazon over Prime" with "FTC's Amazon monopoly case", so
the judgement combines several signals: how rare the shared words are in English (wordfreq),
names folded with their initials ("Federal Trade Commission" is "FTC"), amounts and figures that
agree or contradict, the titles' character similarity (rapidfuzz), the time apart, what the titles
say happened (sued, ruled, sentenced: the next step of a case is another story) and whom they
name (the same state suing another company; another bank). Reading those out of a title is
curator/headlines.py's; weighing them is this module's. Precision matters more than recall: a
missed grouping costs the editor a second look, a wrong one hides a story.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

from .headlines import (
    ACRONYM,
    ALIAS_WEIGHT,
    CAPITALISED,
    LOWER,
    NAME_WEIGHT,
    SYMBOLS,
    WORD,
    aliases,
    amount_keys,
    amounts_agree,
    courts_named,
    happened,
    initials,
    is_generic,
    name_runs,
    rarity,
    same_party,
    stem_word,
    title_text,
    word_pieces,
    written,
)
from .meaning import similarity

#: An arriving article joins a story when its best score against the story reaches this.
THRESHOLD = 0.28
#: Below this share of words other than names in common, sharing names is not enough.
CONTENT_MIN = 0.08
#: A score is multiplied by this when the titles report different kinds of event.
EVENT_CONFLICT = 0.4
#: ... and raised by this when they report the same kind and share a name (both say "sues").
EVENT_AGREE = 0.05
#: ... multiplied by this when they report the same kind, each naming someone the other does not
#: (a state suing Snap, the same state suing Meta).
NAME_CONFLICT = 0.5
#: ... and by this when one names a bank (court, act...) and the other another one.
KIND_CONFLICT = 0.5
#: A near miss (the words give a story MEANING_FLOOR to THRESHOLD) is decided by what the two
#: mean as well, unless the two say different things happened or the same thing happened to
#: another party (`_set_apart`): a logistic rule over the pair's signals (see `_near_features`:
#: the words' score, the meanings' cosine, and what used to veto a near miss outright, now
#: weighed with the rest: a rare word shared by the titles, amounts that contradict, another
#: court), its weights fitted on the labeled sets by bench/stories_learn.py, which prints them
#: (and measures the rule on each set left out of the fit); the story is joined when the mean
#: of its articles' NEAR_WEIGHTS · features + NEAR_INTERCEPT is 0 or more. The intercept is moved
#: until the training pairs it joins are 90% right: precision matters more than recall.
MEANING_FLOOR = 0.05
NEAR_WEIGHTS = (0.774, 0.602, 0.621, -0.178, -0.904, -0.641, 0.386, -4.714, -1.416, -0.931)
NEAR_INTERCEPT = -0.133
#: The near-miss rule counts the days apart only beyond this many hours: outlets' copies of one
#: story come within a working day (other time zones, later editions, explainers), and a flat
#: penalty from the first hour, fitted on sets whose outlets mostly reported within hours, turned
#: them down (bench/stories_learn.py, each set left out: 0.972 / 0.695 -> 0.978 / 0.710).
NEAR_HOURS_FREE = 8.0
#: A cosine of the meanings above this counts once more (the hinge of `_near_features`).
MEANING_FROM = 0.4
#: ... and a near miss whose meanings are further apart than this (the mean cosine over the
#: story's articles) is never joined, whatever else ties them: the other signals say only that
#: the two are close in words, and that is what made them a near miss.
MEANING_MIN = 0.4
#: Added to the words' score when both titles write the same figure and share a name and another
#: telling word (`_tied`): "Discord says 70,000 users ..." / "... ID photos of 70,000 users".
TIE = 0.1
#: A title word at least this rare, shared by both titles, anchors a near miss (a feature of
#: the rule, no longer a veto: bench/stories_learn.py measured more found, none of the sets
#: under 0.9 precision).
ANCHOR = 1.5
#: Two different stems that start with this many letters in common count as nearly the same
#: ("monopolized" and "monopolist"); shorter ones must match whole.
PREFIX = 5
#: ... among an article's this many rarest such words.
MAX_STARTS = 8
#: Index keys per article: its rarest terms and its figures.
MAX_KEYS = 10
#: ... and its title's this many rarest terms (of at least TITLE_KEY_MIN: not "says" or "now").
TITLE_KEYS = 5
TITLE_KEY_MIN = 1.0
#: An arriving article is compared with at most this many of a story's articles (a story carried
#: by hundreds of outlets costs no more than one carried by a dozen).
MAX_COMPARED = 6
#: Of a long summary, only the lede (a sentence or two) says what the story is; the rest is detail.
MAX_TEXT_CHARS = 300
#: A key that more of the window's stories share than this is a word of the beat or of a
#: template ("antitrust", "filing"): it tells no story apart, so it finds none of them (the
#: store's index, `Grouper`) and anchors no near miss (see `_anchored`).
COMMON = 64


class Signature(NamedTuple):
    """What the judgement needs of one article: weighted terms, figures, title, keys.

    A named tuple: computed in the parse workers and sent back to the poll, it pickles as a
    plain tuple (about 450 bytes, a few microseconds each way).
    """

    terms: dict[str, float]
    norm: float
    names: frozenset[str]     # terms written as names (capitalised mid-sentence, acronyms)
    amounts: frozenset[str]   # figures with a scale or a percent sign, with their currency
    figures: frozenset[str]   # other numbers of three digits or more
    title: str
    generic: bool
    keys: tuple[str, ...]
    events: frozenset[str]    # what the title says happened (see _EVENT_WORDS)
    # The title's names, each as its telling stems and the kind it ends with ("bank" or "").
    runs: tuple[tuple[tuple[str, ...], str], ...]
    # Each PREFIX-letter beginning of its longer terms, and the heaviest term that has it.
    starts: dict[str, str]
    # What the embedding of its meaning reads (the title and lede; see meaning_of); "" for none.
    text: str = ""
    # Which court the title says acted (a trial judge, an appeals court, the Supreme Court) and
    # the numbered circuit it names (see courts_named).
    courts: frozenset[str] = frozenset()
    # The amounts and figures its title writes (keys as in amounts and figures).
    marks: frozenset[str] = frozenset()
    # Its events were read from its summary's first sentence (its title says none), and whether
    # it has no summary at all.
    lede_told: bool = False
    bare: bool = False


@dataclass(frozen=True)
class Article:
    """One article as the grouping sees it."""

    id: int
    source: str
    title: str
    text: str
    seen: datetime


def warm() -> None:
    """Load the word tables and the stemmer now.

    Called in a process about to fork its parse workers, so that they share the tables rather
    than each loading its own copy (a few tenths of a second each).
    """
    from . import wordtable
    wordtable.load()
    stem_word("warm")




def _mentions(sig: Signature, stem: str) -> bool:
    """Whether the article mentions the name: "Snap" and "Snapchat's" are one, and so are a
    party's other names in its title ("Meta" and "Facebook owner"; see headlines.same_party:
    a lede that names YouTube as Meta's rival does not make it about Google)."""
    terms = sig.terms
    if stem in terms:
        return True
    others = same_party(stem)
    if others and not others.isdisjoint(sig.title.split()):
        return True
    return len(stem) >= 4 and any(
        len(t) >= 4 and (t.startswith(stem) or stem.startswith(t)) for t in terms)


def _names_differ(a: Signature, b: Signature) -> bool:
    """Each title names someone the other article never mentions."""
    def unmatched(x: Signature, y: Signature) -> bool:
        return any(not any(_mentions(y, t) for t in run) for run, _ in x.runs)
    return unmatched(a, b) and unmatched(b, a)


def _other_of_kind(a: Signature, b: Signature) -> bool:
    """a's title names a bank (court, act...), b's title names another that a's title does not,
    and b never mentions a's."""
    return any(head == other_head and (other, head) not in a.runs
               and not any(_mentions(b, t) for t in run)
               for run, head in a.runs if head for other, other_head in b.runs)



def signature(title: str, text: str) -> Signature:
    """The article's terms weighted by rarity, its figures, and the keys to index it under."""
    title = (title or "").strip()
    body = (text or "").strip()[:MAX_TEXT_CHARS]
    generic = is_generic(title)
    # A generic title says nothing; the summary of a "Morning briefing" is boilerplate as well,
    # so such an article is never judged the same as another (see same_story).
    full = body if generic else f"{title}. {body}"
    terms: dict[str, float] = {}
    names: set[str] = set()
    lower: set[str] = set()
    in_title: set[str] = set()
    # In a Title Case title every word is capitalised: there, capitals say nothing.
    title_words = WORD.findall(title)
    title_case = sum(w[:1].isupper() for w in title_words) > 0.6 * max(1, len(title_words))
    get = terms.get
    for part_text, case_counts in ((title, not title_case and not generic), (body, True)):
        if part_text is title and generic:
            continue
        for n, (raw, start) in enumerate(_sentence_words(part_text)):
            pieces, case = written(raw)
            for stem, weight in pieces:
                if part_text is title:
                    in_title.add(stem)
                if weight > get(stem, 0.0):
                    terms[stem] = weight
                if case_counts:
                    # A sentence's first word is capitalised anyway: a name only if it is rare.
                    if case == ACRONYM or case == CAPITALISED and (
                            n > 0 and not start or weight >= 2.5):
                        names.add(stem)
                    elif case == LOWER:
                        lower.add(stem)
    if not generic and title_words and _first_is_name(title, title_words, body, title_case):
        names.update(stem for stem, weight in word_pieces(title_words[0].lower())
                     if weight >= NAME_WEIGHT)
    for alias in aliases(full):
        terms[alias] = max(terms.get(alias, 0.0), ALIAS_WEIGHT)
        names.add(alias)
    for acronym in initials(full):
        weight = rarity(acronym)
        if weight > 0:
            terms[acronym] = max(terms.get(acronym, 0.0), weight)
            names.add(acronym)
    names -= lower
    amounts, figures = amount_keys(full)
    marks: frozenset[str] = _NONE
    if not generic and (_DIGIT.search(title) or "illion" in title):
        title_amounts, title_figures = amount_keys(title)
        marks = frozenset(title_amounts | title_figures)
    events, lede_told = (_NONE, False) if generic else happened(title, body)
    norm = math.sqrt(sum(w * w for w in terms.values()))
    ranked_all = sorted(terms, key=lambda t: (-terms[t], t))
    # The title's own telling words index it too: outlets share the title's words more than
    # the lede's rarest, where each tells its own detail.
    titled = [t for t in ranked_all if t in in_title and terms[t] >= TITLE_KEY_MIN][:TITLE_KEYS]
    ranked = list(dict.fromkeys(titled + ranked_all[:MAX_KEYS - min(4, len(amounts))]))
    starts: dict[str, str] = {}
    for t in ranked_all:
        if len(t) >= PREFIX and len(starts) < MAX_STARTS:
            starts.setdefault(t[:PREFIX], t)
    keys = tuple(ranked) + tuple(dict.fromkeys(f"#{a.lstrip(SYMBOLS)}" for a in sorted(amounts)[:4]))
    return Signature(terms=terms, norm=norm, names=frozenset(names), amounts=frozenset(amounts),
                     figures=frozenset(figures), title=title_text(title), generic=generic,
                     keys=keys, events=events,
                     runs=() if generic else name_runs(title, names, lower, title_case),
                     starts=starts,
                     courts=frozenset() if generic else courts_named(title, body),
                     text="" if generic else f"{title}. {body}",
                     marks=marks, lede_told=lede_told, bare=not body)


# The weights `compact` shares between signatures (a few hundred values: rarity is rounded).
_WEIGHTS: dict[float, float] = {}
_NONE: frozenset[str] = frozenset()
# The sets of events, figures and courts that `compact` shares between signatures, one copy of
# each: of 10,000 news-mix signatures, 6,512 sets of events were 45 distinct ones, and 2,447 of
# figures 98 (the sets of names and amounts are mostly each article's own: not shared).
_SHARED: dict[Any, Any] = {}


def compact(sig: Signature) -> Signature:
    """The same signature, equal field for field, sharing what other signatures share: one copy
    of each word (interned), of each weight, and of the empty set.

    A signature built in a parse worker arrives pickled, with its own copy of every word; the
    poll keeps thousands of them for the stories it compares, and most of their memory was
    copies of the same words and weights."""
    from sys import intern

    weights = _WEIGHTS
    if len(weights) > 8192:  # rarity is rounded, so this never fills; if it did, start over
        weights.clear()
    shared = _SHARED
    if len(shared) > 1024:  # a few hundred on news; if it fills, start over
        shared.clear()
    # Each word interned (the one copy every kept signature shares; a word of its terms is the
    # same object in its other fields), each weight shared: in C loops, not one call a word.
    values = sig.terms.values()
    terms = dict(zip(map(intern, sig.terms), map(weights.setdefault, values, values),
                     strict=True))

    def words(xs: frozenset[str]) -> frozenset[str]:
        return frozenset(map(intern, xs)) if xs else _NONE

    def few(xs: frozenset[str]) -> frozenset[str]:
        if not xs:
            return _NONE
        made = frozenset(map(intern, xs))  # the key is this copy too, not the one that arrived
        return shared.setdefault(made, made)  # type: ignore[no-any-return]

    starts = sig.starts
    return Signature(
        terms=terms, norm=sig.norm, names=words(sig.names), amounts=words(sig.amounts),
        figures=few(sig.figures), title=sig.title, generic=sig.generic,
        keys=tuple(map(intern, sig.keys)), events=few(sig.events),
        runs=tuple((tuple(map(intern, run)), intern(head)) for run, head in sig.runs),
        starts=dict(zip(map(intern, starts), map(intern, starts.values()), strict=True)),
        text=sig.text, courts=few(sig.courts), marks=few(sig.marks), lede_told=sig.lede_told,
        bare=sig.bare)



def _sentence_words(text: str) -> list[tuple[str, bool]]:
    """The text's words, each with whether it begins a new sentence inside the text (after ":",
    "?" or "!"), where a capital says nothing ("ANOM: Hundreds arrested")."""
    if ":" not in text and "?" not in text and "!" not in text:
        return [(word, False) for word in WORD.findall(text)]  # most texts: one scan
    # No word holds a break, so each piece between breaks has the words the whole text has
    # there; a piece's first word begins a sentence when some word came before the break.
    out: list[tuple[str, bool]] = []
    for piece in _BREAKS.split(text):
        words = WORD.findall(piece)
        if words:
            out.append((words[0], bool(out)))
            out.extend((word, False) for word in words[1:])
    return out


_BREAKS = re.compile(r"[:?!]")
_DIGIT = re.compile(r"\d")


def _first_is_name(title: str, words: list[str], body: str, title_case: bool) -> bool:
    """Whether a title's first word, capitalised anyway, is a name: when the summary begins with
    it too ("Microsoft said..."), or the title goes on with "to", "and" or a comma ("Meta to pay",
    "Adobe, Figma abandon"), with its possessive ("Apple's"), or with another capitalised word in
    a title written in sentence case ("Justice Department sues")."""
    first = words[0]
    if not first[:1].isupper() or first.isupper():
        return False
    if WORD.match(body) and WORD.match(body).group(0) == first:  # type: ignore[union-attr]
        return True
    if first.endswith(("'s", "’s")):
        return True
    rest = title[title.index(first) + len(first):].lstrip()
    after = rest[1:].lstrip()[:1] if rest[:1] in (",", "&") else ""
    return (after.isupper() or rest.split(" ", 1)[0] in ("to", "and")
            or not title_case and len(words) > 1 and words[1][:1].isupper())


def _courts_differ(a: Signature, b: Signature) -> bool:
    """The titles name different courts: a judge's ruling and the appeals court's, or rulings of
    two numbered circuits (neither shared)."""
    levels = [{c for c in x.courts if c.startswith("level:")} for x in (a, b)]
    circuits = [{c for c in x.courts if c.startswith("circuit:")} for x in (a, b)]
    return (all(levels) and not levels[0] & levels[1]
            or all(circuits) and not circuits[0] & circuits[1])



@lru_cache(maxsize=1)
def _fuzz() -> Any:
    from rapidfuzz import fuzz

    return fuzz


def _title_ratio(a: str, b: str) -> float:
    """Character similarity of two titles' stems, 0 to 100, word order aside."""
    return float(_fuzz().token_sort_ratio(a, b))


def score(a: Signature, b: Signature, hours_apart: float = 0.0,
          told: frozenset[str] | None = None) -> float:
    """How surely the words say a and b report the same story, from 0 up (THRESHOLD and above:
    the same; a near miss below it may still be, by what the two mean: see `_near`).

    `told` is what happened by the titles of b's story, when b is one of a story's articles.
    """
    if a.generic or b.generic or not a.norm or not b.norm:
        return 0.0
    at, bt, an, bn = a.terms, b.terms, a.names, b.names
    dot = content = 0.0
    for t in at.keys() & bt.keys():
        product = at[t] * bt[t]
        dot += product
        if t not in an and t not in bn:
            content += product
    if a.starts and b.starts:
        dot += _near_terms(a, b)
    cosine = dot / (a.norm * b.norm)
    title = _title_ratio(a.title, b.title) / 100.0 if a.title and b.title else 0.0
    value = 0.75 * cosine + 0.25 * title
    # The same kind of event on both sides, each naming someone the other never mentions: the
    # same attorney general suing another company. Agreeing amounts say it is one fine or deal,
    # whoever each names ("Dutch watchdog" and "EU").
    same_kind = a.events & b.events if a.events else a.events
    same_amounts, other_amounts = _amounts(a, b)
    parallel = bool(same_kind) and not same_amounts and _names_differ(a, b)
    if same_kind and a.names & b.names and not parallel:
        # The same people, and the same thing happened to them: one event, in other words.
        value += EVENT_AGREE
    elif content / (a.norm * b.norm) < CONTENT_MIN:
        # The same people and companies with nothing else in common: another event in their story.
        value *= 0.7
    # Both titles say what happened, and it differs: the next step in the same case.
    events = _events(a, b)
    told = _events(b, a) if told is None else told
    conflict = bool(events and told and not events & told and not (
        same_amounts and events | told <= _PAYMENTS or events | told <= _CUSTODY))
    if conflict:
        value *= EVENT_CONFLICT
    # Another bank, court or act than the one the other names; another court or circuit.
    if a.runs and b.runs and (_other_of_kind(a, b) or _other_of_kind(b, a)) or (
            a.courts and b.courts and _courts_differ(a, b)):
        value *= KIND_CONFLICT
    if parallel:
        value *= NAME_CONFLICT
    tied = not conflict and not parallel and _tied(a, b)
    if tied:
        # One actor, one figure, one object in both titles: what an editor joins at once.
        value += TIE
    if same_amounts:
        value += 0.12 * min(2, same_amounts)
    elif other_amounts and not tied:
        # Both give figures and none agree: a different deal, fine or result.
        value -= 0.1
    if a.figures & b.figures:
        value += 0.08
    # Stories fade: two articles a day and a half apart need to agree more.
    value -= 0.1 * max(0.0, hours_apart - 3.0) / 12.0
    return value


def _anchored(a: Signature, b: Signature, common: Collection[str] = ()) -> bool:
    """Whether the titles share a rarer word than a company's name ("Google", "Intel"), or two
    that begin alike ("monopolized", "monopolist"), and not one of the `common` ones that more
    than COMMON of the window's stories share (a word every story of a beat says)."""
    theirs = [t for t in b.title.split() if b.terms.get(t, 0.0) >= ANCHOR and t not in common]
    return any(t == u or len(t) >= PREFIX and t[:PREFIX] == u[:PREFIX]
               for t in a.title.split() if a.terms.get(t, 0.0) >= ANCHOR and t not in common
               for u in theirs)


def _set_apart(a: Signature, b: Signature) -> bool:
    """Whether a and b say different things happened (a settlement and a fine of one sum are one
    payment, an arrest and the charges one event; else the next step of a case, another event),
    or the same thing happening to another party with no amount in common (the same attorney
    general suing another company). A near miss so set apart is never joined, and what the two
    mean is not asked (see `best_story`)."""
    ae, be = _events(a, b), _events(b, a)
    if not (ae and be):
        return False
    same = _amounts(a, b)[0]
    if not ae & be:
        return not (same and ae | be <= _PAYMENTS or ae | be <= _CUSTODY)
    return bool(a.runs and b.runs and not same and _names_differ(a, b))


def _events(a: Signature, b: Signature) -> frozenset[str]:
    """What happened by a, as judged beside b: nothing when a's summary said it and b has no
    summary (two titles are compared, and a's says nothing happened: a lede's "appeals" is no
    appeal beside a bare "hackers stole ...")."""
    return _NONE if a.lede_told and b.bare else a.events


def _tied(a: Signature, b: Signature) -> bool:
    """Whether both titles write one figure ("70,000 users", "$1 trillion") and share two
    telling words, one of them a name, neither naming someone the other never mentions: the
    same actor, figure and object. (`score` asks only when the two do not say different things
    happened: a lawsuit and the ruling on it share all three.)"""
    if not a.marks or a.marks.isdisjoint(b.marks):
        return False
    at, bt = a.terms, b.terms
    shared = [t for t in set(a.title.split()).intersection(b.title.split())
              if at.get(t, 0.0) >= TITLE_KEY_MIN and bt.get(t, 0.0) >= TITLE_KEY_MIN]
    return len(shared) >= 2 and any(t in a.names or t in b.names for t in shared) and not (
        a.runs and b.runs and _names_differ(a, b))


def _near_features(a: Signature, b: Signature, hours_apart: float, words: float, near: float,
                   common: Collection[str] = ()) -> list[float]:
    """What the near-miss rule weighs for one pair: the words' score; the meanings' cosine
    above MEANING_FROM and in whole; the same kind of event; each title naming someone the
    other never mentions; another bank, court or act; a rare title word shared (not one of the
    `common` ones: see `_anchored`); days apart beyond the first NEAR_HOURS_FREE hours; amounts
    that contradict; another court or circuit."""
    runs = bool(a.runs and b.runs)
    return [words, max(0.0, near - MEANING_FROM), near, float(bool(a.events & b.events)),
            float(runs and _names_differ(a, b)),
            float(runs and (_other_of_kind(a, b) or _other_of_kind(b, a))),
            float(_anchored(a, b, common)),
            max(0.0, min(hours_apart, 48.0) - NEAR_HOURS_FREE) / 24.0,
            float(_amounts(a, b)[1]), float(bool(a.courts and b.courts and _courts_differ(a, b)))]


def _near(features: list[float]) -> float:
    """The near-miss rule's value for one pair: 0 or more says the same story."""
    return sum(w * f for w, f in zip(NEAR_WEIGHTS, features, strict=True)) + NEAR_INTERCEPT


# A settlement, a fine and an order to pay of the same sum are one payment ("to pay $25M to
# settle FTC claims", "agrees to $25M penalty", "ordered to pay $25M").
_PAYMENTS = frozenset({"settle", "fine", "order"})
# An arrest and the charges are one event as outlets report it ("Hundreds arrested in global
# sting" / "224 charged in the country's biggest sting"; "arrested and charged"): not its next step.
_CUSTODY = frozenset({"arrest", "charge"})


def _amounts(a: Signature, b: Signature) -> tuple[int, bool]:
    """How many of a's amounts b gives exactly, and whether the two contradict: both give
    amounts and none agree, even roughly ("$1.4bn" and "$1.375bn"; "$1.3bn" and "€1.2bn" are one
    fine, roughly; see headlines.amounts_agree)."""
    same, rough, compared = 0, False, False
    for x in a.amounts:
        # A share and a sum ("10% stake", "$8.9bn") neither agree nor contradict.
        alike = [y for y in b.amounts if y.endswith("%") == x.endswith("%")]
        if alike:
            agree = max(amounts_agree(x, y) for y in alike)
            same += agree == 2
            rough = rough or agree > 0
            compared = True
    return same, compared and not rough


def _near_terms(a: Signature, b: Signature) -> float:
    """What a's and b's words that differ but begin alike add to the dot product, a little less
    than the same word would: "monopolized" and "monopolist", "settles" and "settlement"."""
    near = 0.0
    for start in a.starts.keys() & b.starts.keys():
        at, bt = a.starts[start], b.starts[start]
        if at != bt and at not in b.terms and bt not in a.terms:
            near += 0.8 * min(a.terms[at], b.terms[bt]) ** 2
    return near


def same_story(a: Signature, b: Signature, hours_apart: float = 0.0) -> bool:
    """The judgement: do these two articles report the same story?"""
    value = score(a, b, hours_apart)
    if not MEANING_FLOOR <= value < THRESHOLD or _set_apart(a, b):
        return value >= THRESHOLD
    near = meanings(a, [b])[0]
    return near >= MEANING_MIN and _near(_near_features(a, b, hours_apart, value, near)) >= 0.0


def meanings(sig: Signature, others: Sequence[Signature]) -> list[float]:
    """How close sig's meaning is to each of others' (cosines), embedding in one batch the texts
    not embedded before. Only asked for where the words leave the judgement close (an embedding
    costs about a tenth of a millisecond, half a signature)."""
    from .meaning import meaning_of

    vectors = meaning_of([sig.text, *(o.text for o in others)])
    return [similarity(vectors[0], v) for v in vectors[1:]]


@dataclass
class Story:
    """A story as the grouping holds it: its articles' sources and signatures, first seen."""

    id: int
    first_seen: datetime
    sources: set[str]
    members: list[tuple[datetime, Signature]]


def best_story(article: Article, sig: Signature, stories: Iterable[Story], *,
               meaning: bool = True, common: Collection[str] = ()) -> Story | None:
    """The story the article joins, or None: the best-scoring one at THRESHOLD or above; when
    none is, the near miss that the near-miss rule (`_near`) judges surest, if any.

    A story scores the mean of the article's scores against its first MAX_COMPARED articles, or
    the score against one of them that it ties with (`_tied`: the same actor, figure and object
    in both titles) when that reaches THRESHOLD.

    A story that already has an article from the same source is not joined: one outlet's second
    article on a story is a follow-up, and it stays a candidate of its own. With `meaning` False
    the words alone decide (the sentence encoder is never loaded). `common` are the article's
    keys that more than COMMON of the window's stories share: they anchor no near miss (see
    `_near_features`).
    """
    if sig.generic or not sig.norm:
        return None
    scored: list[tuple[float, int, Story]] = []
    close: list[tuple[int, Story, list[tuple[Signature, float, float]]]] = []
    far = min(MEANING_FLOOR, THRESHOLD / 2) if meaning else THRESHOLD / 2
    for order, story in enumerate(stories):
        if article.source in story.sources:
            continue
        # The mean over the story's first articles, not the best match: an article that merely
        # shares a theme with one of them (a roundup, a follow-up) does not chain two stories.
        members = story.members[:MAX_COMPARED]
        # What the story's titles say happened: an article that says something else happened (the
        # verdict, to a story of the sentencing) is the next step, though it shares every name.
        told = (frozenset().union(*(_events(other, sig) for _, other in members))
                if sig.events and len(members) > 1 else None)
        pairs = []
        for seen, other in members:
            hours = abs((article.seen - seen).total_seconds()) / 3600.0
            pairs.append((other, hours, score(sig, other, hours, told)))
            if len(pairs) == 1 and len(members) > 1 and pairs[0][2] < far:
                break  # far from the story's first article: taken as another story, unscored
        top = sum(p[2] for p in pairs) / len(members) if len(pairs) == len(members) else 0.0
        if top < THRESHOLD and len(pairs) == len(members) > 1 and any(
                p[2] >= THRESHOLD and _tied(sig, p[0]) for p in pairs):
            # ... unless it is the same actor, figure and object as one of them, and nothing the
            # story's titles say happened sets it apart: then that article speaks for the story.
            top = max(p[2] for p in pairs)
        if top >= THRESHOLD:
            scored.append((top, -order, story))
        elif meaning and top >= MEANING_FLOOR and not any(
                _set_apart(sig, o) for o, _, _ in pairs):
            close.append((order, story, pairs))  # what they mean decides (below)
    if not scored and close:
        # Close, and nothing sets the story's articles apart from it as another event: the
        # near-miss rule decides, every text the near misses need embedded in one batch.
        nears = iter(meanings(sig, [other for _, _, pairs in close for other, _, _ in pairs]))
        for order, story, pairs in close:
            cosines = [next(nears) for _ in pairs]
            value = sum(_near(_near_features(sig, other, hours, words, near, common))
                        for (other, hours, words), near in zip(pairs, cosines, strict=True))
            if value >= 0.0 and sum(cosines) >= MEANING_MIN * len(pairs):
                scored.append((value / len(pairs), -order, story))
    # The best score; of equal ones, the first story.
    return max(scored, key=lambda x: x[:2])[2] if scored else None


class Grouper:
    """Groups articles arriving in time order, in memory: the model of what the store does.

    The store does the same through its own index (story keys in a table); this class serves the
    tests and the quality measurement, and is how `group()` answers for a batch.
    """

    def __init__(self, window_hours: float = 48.0) -> None:
        self.window_hours = window_hours
        self.stories: dict[int, Story] = {}
        self._index: dict[str, set[int]] = {}
        self.story_of: dict[int, int] = {}

    def add(self, article: Article) -> int:
        """Place the article: the id of the story it joins, or its own id for a new story."""
        sig = signature(article.title, article.text)
        found: set[int] = set()
        common: set[str] = set()
        for key in sig.keys:
            recent = [sid for sid in self._index.get(key, ())
                      if self._recent(self.stories[sid], article.seen)]
            if len(recent) > COMMON:
                common.add(key)  # tells no story apart: finds none (as the store's index)
            else:
                found.update(recent)
        near = [self.stories[sid] for sid in sorted(found)]
        story = best_story(article, sig, near, common=common)
        if story is None:
            story = Story(id=article.id, first_seen=article.seen, sources=set(), members=[])
            self.stories[story.id] = story
        story.sources.add(article.source)
        story.members.append((article.seen, sig))
        for key in sig.keys:
            self._index.setdefault(key, set()).add(story.id)
        self.story_of[article.id] = story.id
        return story.id

    def _recent(self, story: Story, seen: datetime) -> bool:
        return abs((seen - story.first_seen).total_seconds()) <= self.window_hours * 3600


def group(articles: Sequence[Article], window_hours: float = 48.0) -> dict[int, int]:
    """Article id → story id for articles in the order they arrived."""
    grouper = Grouper(window_hours)
    for article in sorted(articles, key=lambda a: (a.seen, a.id)):
        grouper.add(article)
    return grouper.story_of
