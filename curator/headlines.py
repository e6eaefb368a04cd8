"""What a headline says, word by word: the lexicon and the parsing the story judgement reads.

Pure: no I/O but the word table (curator/wordtable.py) and the stemmer, loaded on first use.
curator/stories.py turns these into an article's signature and judges pairs of signatures; this
module only reads text: each word's stem and how rare it is, the names a title writes (runs of
capitals, and the initials of multi-word names: "Federal Trade Commission" is "FTC"), the amounts
and figures (three significant figures, so "$69bn" and "$69 billion" are one), what the title
says happened (sued, ruled, convicted: the kind of event), and which court acted.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from functools import lru_cache
from itertools import islice
from typing import Any

#: A name's words this rare or rarer tell it apart (in "Signature Bank", "Bank" names the kind).
NAME_WEIGHT = 1.0
WORD = re.compile(r"[^\W\d_](?:[\w'’.-]*\w)?", re.UNICODE)
# An amount: optional currency, a number with separators, optional scale or percent.
_AMOUNT = re.compile(
    r"(?P<cur>US\$|[$€£¥₹]|\b(?:USD|EUR|GBP|INR|Rs\.?)(?=\s?\d))?\s?"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?:\s?(?P<scale>trillion|billion|million|thousand|trln|bln|mln|tn|bn|mn|lakh|crore|[bmk])\b"
    r"|(?P<pct>\s?%|\s?per\s?cent\b))?",
    re.IGNORECASE)
# Currencies by their codes, glued to the number or not ("EUR310m", "USD 5bn", "Rs 500 crore").
_CURRENCIES = {"us$": "$", "usd": "$", "eur": "€", "gbp": "£", "inr": "₹", "rs": "₹", "rs.": "₹"}
# What an amount may have before its first digit, at most: its currency and a space ("US$ ").
_AMOUNT_LEAD = 12
_DIGIT = re.compile(r"\d")
# A number's currency by the word after it ("1.8 billion euros").
_CURRENCY_AFTER = re.compile(r"\s*(dollars|euros|pounds|yen)\b", re.IGNORECASE)
_CURRENCY_WORDS = {"dollars": "$", "euros": "€", "pounds": "£", "yen": "¥"}
# Scales as agencies and other countries write them too: Reuters' "310 mln", India's lakh (a
# hundred thousand) and crore (ten million).
_SCALES = {"trillion": 1e12, "tn": 1e12, "trln": 1e12, "billion": 1e9, "bn": 1e9, "bln": 1e9,
           "b": 1e9, "million": 1e6, "mn": 1e6, "mln": 1e6, "m": 1e6, "crore": 1e7, "lakh": 1e5,
           "thousand": 1e3, "k": 1e3}
TOKEN = re.compile(r"[^\W\d_](?:[\w'’.-]*\w)?|[^\w\s]|\d+", re.UNICODE)
_CONNECTORS = {"and", "of", "for", "the", "&"}
# Titles made only of these words (and numbers, dates, punctuation) are a format, not a story.
_GENERIC = {
    "live", "updates", "update", "latest", "news", "morning", "evening", "afternoon", "night",
    "briefing", "briefings", "brief", "podcast", "episode", "ep", "newsletter", "daily", "weekly",
    "digest", "roundup", "round", "up", "open", "thread", "today", "todays", "this", "week",
    "weeks", "weekend", "the", "a", "in", "of", "and", "our", "your", "what", "you", "need",
    "to", "know", "headlines", "top", "stories", "story", "edition", "bulletin", "show", "part",
    "chapter", "links", "link", "reading", "read", "watch", "listen", "blog", "video", "photos",
    "pictures", "day", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
    "sunday", "january", "february", "march", "april", "may", "june", "july", "august",
    "september", "october", "november", "december", "jan", "feb", "mar", "apr", "jun", "jul",
    "aug", "sep", "sept", "oct", "nov", "dec", "am", "pm", "as", "it", "happened", "follow",
    "everything", "all", "quiz", "crossword", "puzzle", "sudoku", "wordle", "letters",
    "comment", "comments", "opinion", "editorial", "recap", "highlights", "minute", "by",
}
_DATES = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
          "january", "february", "march", "april", "may", "june", "july", "august", "september",
          "october", "november", "december"}
# Words that every news story uses: they say nothing about which story it is.
_NEWSY = {
    "say", "says", "said", "saying", "new", "news", "report", "reports", "reported", "year",
    "years", "week", "month", "months", "day", "days", "today", "company", "companies", "firm",
    "group", "chief", "executive", "ceo", "boss", "official", "officials", "people", "first",
    "after", "over", "amid", "could", "would", "will", "also", "more", "than", "its", "us",
    "uk", "world", "global", "time", "since", "last", "latest", "announce", "announces",
    "announced", "make", "makes", "made", "move", "plan", "plans", "set", "sets", "get", "gets",
    "take", "takes", "back", "one", "two", "three", "four", "five", "six", "million", "billion",
    "trillion", "per", "cent", "percent", "according", "including", "told", "tell", "tells",
}


# What happened, by the title's verbs: a lawsuit, the ruling on it, the appeal, the settlement, the
# verdict, the sentence are each their own story about the same people. Word forms, not stems
# ("rules" as in "tech rules" is no ruling; see event_kinds).
_EVENT_WORDS = {
    "sue": "sue sues sued suing lawsuit lawsuits countersues accuse accuses accused",
    "rule": "ruled ruling rulings upholds upheld uphold overturns overturned overturn dismisses "
            "dismissed dismissal voids voided invalidates",
    "appeal": "appeal appeals appealed appealing",
    "settle": "settle settles settled settlement settlements",
    "verdict": "convicts convicted conviction verdict verdicts acquitted acquits acquittal",
    "plea": "plead pleads pleaded pleading admits admitted",
    "sentence": "sentenced sentencing prison jailed jail jails",
    "probe": "probe probes investigation investigations investigate investigates investigating "
             "inquiry raid raided raids",
    "fine": "fine fines fined penalty penalties penalise penalises penalised penalize penalizes "
            "penalized",
    "arrest": "arrest arrests arrested detained detains detain custody",
    "charge": "charged indicted indicts indictment",
    "trial": "trial trials hearing hearings hears arguments testifies testify testified testimony grilled",
    "enact": "passes passed clears cleared approve approves approved approval vote votes voted adopts "
             "adopted greenlights greenlit okays",
    "advance": "advances advanced",
    "in-force": "force effect",
    "depart": "fired ousted ouster oust ousts resigns resigned resignation quits quit sacks "
              "sacked retires retire retiring retirement departs departure exits",
    "hire": "hires hired appoints appointed reinstated reinstates rehired rehires return returns",
    "sign": "signs signed",
    "layoff": "layoffs layoff",
    "abandon": "abandon abandons abandoned abandoning scrap scraps scrapped scrapping",
    # (and "order": a regulator or a government ordering someone, not a court; see event_kinds)
    "hack": "hack hacked hacks hacking hacker hackers compromised cyberattack cyberattacks "
            "cyber-attack cyber-attacks ransomware",
}
_EVENTS = {w: frozenset(c for c, ws in _EVENT_WORDS.items() if w in ws.split())
           for ws in _EVENT_WORDS.values() for w in ws.split()}
# Making a judgment (an award, damages) be paid is its next step, not the judgment itself; these
# words say so only beside one ("to satisfy the judgment", "seize assets to enforce the award"),
# not of a regulator enforcing its rules or the police seizing drugs.
_ENFORCE = {"enforce", "enforces", "enforcing", "satisfy", "seize", "seizes", "seized", "seizing",
            "garnish", "garnishes", "garnished", "turnover"}
_JUDGMENTS = {"judgment", "judgments", "judgement", "judgements", "award", "awards", "damages",
              "verdict", "debt", "debts", "creditor", "creditors", "arbitration", "bondholders"}
# Cutting what: jobs (a layoff), not prices or rates.
_CUTS = {"cut", "cuts", "cutting", "slash", "slashes", "slashing", "axe", "axes", "axing", "shed",
         "sheds", "shedding", "eliminate", "eliminates", "eliminating"}
_STAFF = {"jobs", "job", "staff", "workers", "employees", "roles", "positions", "workforce"}
_CUT_NOUNS = {"cuts", "losses", "cull"}
# ... and how a title says it in the passive ("jobs are being cut").
_PASSIVE = {"being", "be", "been", "are", "were"}
# What ends a trial for one side.
_OUTCOMES = {"win", "wins", "won", "lose", "loses", "lost", "beat", "beats"}
# Two words that say what happened where neither alone does.
_PHRASES = {("becomes", "law"): "sign", ("become", "law"): "sign", ("became", "law"): "sign",
            ("royal", "assent"): "sign", ("now", "law"): "sign", ("into", "law"): "sign",
            ("data", "breach"): "hack", ("cyber", "attack"): "hack", ("cyber", "attacks"): "hack",
            ("to", "court"): "sue",
            ("green", "light"): "enact", ("green", "lights"): "enact",
            ("call", "off"): "abandon", ("calls", "off"): "abandon", ("called", "off"): "abandon",
            ("walk", "away"): "abandon", ("walks", "away"): "abandon",
            ("steps", "down"): "depart", ("step", "down"): "depart", ("stepping", "down"): "depart",
            ("pushes", "out"): "depart", ("pushed", "out"): "depart", ("forced", "out"): "depart"}
_NEGATIONS = {"without", "not", "no", "never"}
# A deal (or a plan, a bid) that "sinks" or is "killed" is abandoned; a ship is not a deal.
_PLANS = {"plan", "plans", "project", "bid", "offer"}
_DEAL_ENDS = {"sinks", "sank", "sunk", "kills", "killed", "ends", "ended", "drops", "dropped",
              "terminates", "terminated"}
# These read as a ruling only from a court.
_COURT_EVENTS = {"rules": "rule", "finds": "rule", "rejects": "rule", "denies": "rule",
                 "blocks": "rule", "backs": "rule", "sides": "rule", "strikes": "rule",
                 "loses": "rule", "wins": "rule", "win": "rule", "sidesteps": "rule",
                 "punts": "rule", "declines": "rule", "refuses": "rule", "keeps": "rule",
                 "sends": "rule", "leaves": "rule", "says": "rule", "blocked": "rule",
                 "halts": "rule", "halted": "rule", "pauses": "rule", "paused": "rule",
                 "enjoins": "rule", "enjoined": "rule"}
_COURTS = {"court", "courts", "judge", "judges", "justices", "circuit", "tribunal", "jury"}
# A court that "clears" something has ruled (not voted); a law or ban blocked, halted or put on
# hold was so by a court, named or not ("Florida's social media ban is on hold").
_COURT_CLEARS = {"clears", "cleared"}
_LAWS = {"law", "laws", "ban", "statute"}
_HALTS = {"blocks", "blocked", "halts", "halted", "pauses", "paused", "enjoins", "enjoined"}
# A deal closing is another story than its announcement or a regulator blocking it.
_COMPLETES = {"completes", "completed", "closes", "closed", "finalises", "finalised", "finalizes",
              "finalized"}
_DEALS = {"deal", "deals", "takeover", "takeovers", "acquisition", "acquisitions", "merger",
          "mergers", "buyout", "purchase"}
# Which court: a ruling and the appeal of it are two stories, and so are two circuits' rulings.
_SUPREME = re.compile(r"\bsupreme court|\bjustices\b|\btop court\b|\bscotus\b", re.IGNORECASE)
_APPELLATE = re.compile(r"\bappeals? (?:court|panel)|\bcourt of appeals?\b|\bappellate\b|"
                        r"\bcircuit\b", re.IGNORECASE)
_TRIAL = re.compile(r"\b(?:judge|district court|trial court)\b", re.IGNORECASE)
_CIRCUIT = re.compile(
    r"\b(first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|federal|"
    r"d\.?c\.?|1st|2nd|3rd|[4-9]th|1[01]th)\s+circuit\b", re.IGNORECASE)
_ORDINALS = {"first": "1", "second": "2", "third": "3", "fourth": "4", "fifth": "5", "sixth": "6",
             "seventh": "7", "eighth": "8", "ninth": "9", "tenth": "10", "eleventh": "11",
             "federal": "fed", "dc": "dc", "d.c.": "dc", "d.c": "dc", "dc.": "dc"}


@lru_cache(maxsize=1)
def _stemmer() -> object:
    import snowballstemmer

    stemmer = snowballstemmer.stemmer("english")
    # PyStemmer, the C stemmer that snowballstemmer hands out when it is installed, keeps the
    # last 10,000 words it stemmed: about 2 MB in each process that signs articles (the poll's
    # and every parse worker), which only saved stemming again a word that `_kept` had dropped
    # (a word is stemmed only when `_kept` has no reading of it). Off.
    if hasattr(stemmer, "maxCacheSize"):
        stemmer.maxCacheSize = 0
    return stemmer


def stem_word(word: str) -> str:
    return str(_stemmer().stemWord(word))  # type: ignore[attr-defined]


def rarity(word: str) -> float:
    """How much sharing this word says: rare words much, common ones nothing (0 to 3.5).
    wordtable.zipf is exact above its floor, 2.8, below which every word weighs 3.5 alike."""
    from . import wordtable
    if word in _NEWSY or len(word) < 2:
        return 0.0
    zipf = wordtable.zipf(word)
    return max(0.0, min(3.5, 6.3 - zipf))


def _pieces(word: str) -> tuple[tuple[str, float], ...]:
    word = word.replace("’", "'").strip("'.-")
    if word.endswith("'s"):
        word = word[:-2]
    if "." in word and len(word) <= 8:
        word = word.replace(".", "")  # "A.I." is "AI", "C.E.O.s" are "CEOs"
    out = []
    for piece in word.split("-") if "-" in word else (word,):
        weight = rarity(piece)
        if weight > 0:
            out.append((stem_word(piece), weight))
    return tuple(out)


#: Words whose reading (`written`, `stem_rarity`) is kept, at most: one cache for all of them,
#: in the poll's process and in each parse worker. Past this, the oldest quarter is dropped,
#: and a word still in use is read again the next time. The words of 600 news-mix feeds (21,763
#: distinct) left 3,331 readings kept in 2.7 MB with this cap, 13,571 in 10.7 MB with four times
#: it (with their stems, about 800 bytes a reading). On 4,000 feeds of the bench's news mix
#: (20,460 readings) 94.4% of look-ups hit with this cap, 95.7% with four times it, 96.3% with
#: no cap; a signature cost the same within the noise.
WORDS_KEPT = 1 << 12
_kept: dict[str, Any] = {}


def _keep(key: str, value: Any) -> Any:
    kept = _kept
    if len(kept) >= WORDS_KEPT:
        for old in list(islice(kept, WORDS_KEPT // 4)):
            del kept[old]
    kept[key] = value
    return value


def word_pieces(word: str) -> tuple[tuple[str, float], ...]:
    """A lower-cased word's stems and rarities: possessive dropped, hyphenated parts apart."""
    got = _kept.get(word)
    return (got if got is not None else written(word))[0]


def written(raw: str) -> tuple[tuple[tuple[str, float], ...], int]:
    """A word as a text writes it: its stems and rarities (`word_pieces` of it lower-cased), and
    how it is written: ACRONYM (capitals throughout, "FTC"), CAPITALISED ("Meta"), LOWER
    ("sues"), or 0 (neither: it begins with an uncased letter). One look-up per word a
    signature reads, where each took a lower-casing and two case tests."""
    got = _kept.get(raw)
    if got is not None:
        return got  # type: ignore[no-any-return]
    case = (ACRONYM if raw.isupper() and len(raw) > 1 else CAPITALISED if raw[:1].isupper()
            else LOWER if raw[:1].islower() else 0)
    return _keep(raw, (_pieces(raw.lower()), case))  # type: ignore[no-any-return]


def stem_rarity(word: str) -> tuple[str, float]:
    """A lower-cased word's stem and rarity, whole (its hyphens and possessive kept): ("", 0.0)
    for a word that says nothing. Kept with `written`'s readings, under a key of its own."""
    key = "\0" + word
    got = _kept.get(key)
    if got is None:
        weight = rarity(word)
        got = _keep(key, (stem_word(word), weight) if weight > 0 else ("", 0.0))
    return got  # type: ignore[no-any-return]


def cache_counts() -> int:
    """How many word readings are kept (for the benchmarks)."""
    return len(_kept)


ACRONYM, CAPITALISED, LOWER = 3, 2, 1


def amounts_in(text: str) -> Iterator[re.Match[str]]:
    """What `_AMOUNT.finditer(text)` finds, found faster: an amount has a digit, so the pattern
    is tried only from a little before each next digit, not at every character (a text without
    digits, most of them, costs one scan for a digit)."""
    pos = 0
    while digit := _DIGIT.search(text, pos):
        # No match starts before this: it would have a digit before this one, after `pos`.
        m = _AMOUNT.search(text, max(pos, digit.start() - _AMOUNT_LEAD))
        if m is None:  # cannot be (a digit is a number), but never loop on it
            return
        yield m
        pos = m.end()


# A count written in words before its scale ("six million customers" is "6 million").
_WORD_COUNTS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15,
                "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "hundred": 100}
_WORD_AMOUNT = re.compile(r"\b(" + "|".join(_WORD_COUNTS) + r")\s(trillion|billion|million)\b",
                          re.IGNORECASE)


def amount_keys(text: str) -> tuple[set[str], set[str]]:
    amounts: set[str] = set()
    figures: set[str] = set()
    if "illion" in text:
        for m in _WORD_AMOUNT.finditer(text):
            value = _WORD_COUNTS[m.group(1).lower()] * _SCALES[m.group(2).lower()]
            cur = ""
            if after := _CURRENCY_AFTER.match(text, m.end()):
                cur = _CURRENCY_WORDS[after.group(1).lower()]
            amounts.add(cur + figure_key(value))
    for m in amounts_in(text):
        raw = m.group("num").replace(",", "")
        try:
            value = float(raw)
        except ValueError:
            continue
        scale = (m.group("scale") or "").lower()
        # "5m" after a number is a scale, but "5 m" in a sentence may be a word: only glued ones.
        if scale in ("b", "m", "k") and m.group(0).rstrip()[-2:-1] == " ":
            scale = ""
        if m.group("pct"):
            amounts.add(f"{figure_key(value)}%")
        elif m.group("cur") or scale:
            # Its currency too: "$1.3bn" and "€1.2bn" may be one fine, but only roughly.
            cur = (m.group("cur") or "").lower()
            if not cur and (after := _CURRENCY_AFTER.match(text, m.end())):
                cur = _CURRENCY_WORDS[after.group(1).lower()]
            amounts.add(_CURRENCIES.get(cur, cur) + figure_key(value * _SCALES.get(scale, 1.0)))
        elif value >= 100 and not (1900 <= value <= 2100 and "." not in raw):
            figures.add(figure_key(value))
    return amounts, figures


def amounts_agree(a: str, b: str) -> int:
    """Whether two amounts from `amount_keys` are one: 2 the same ("$25M" and "25 million"),
    1 roughly (one rounded from the other, "$1.4bn" and "$1.375bn"; or in two currencies at some
    exchange rate of this century, "$1.3bn" and "€1.2bn", "€1.06bn" and "$1.45bn" in 2009,
    "¥50bn" and "$450M"), 0 not."""
    if a.endswith("%") or b.endswith("%"):
        return 2 if a == b else 0
    cur_a, cur_b = a[:1] if a[:1] in SYMBOLS else "", b[:1] if b[:1] in SYMBOLS else ""
    x, y = float(a[len(cur_a):]), float(b[len(cur_b):])
    if cur_a and cur_b and cur_a != cur_b:
        (low_a, high_a), (low_b, high_b) = _IN_DOLLARS[cur_a], _IN_DOLLARS[cur_b]
        # Roughly one sum when some pair of rates makes them within a tenth of each other.
        return 1 if x * low_a <= 1.1 * y * high_b and y * low_b <= 1.1 * x * high_a else 0
    if x == y:
        return 2
    digits = min(_digits(a[len(cur_a):]), _digits(b[len(cur_b):]))
    return 1 if figure_key(x, digits) == figure_key(y, digits) else 0


SYMBOLS = "$€£¥₹"
# What one unit of each currency has been worth in dollars since 2000, lowest and highest (the
# euro 0.83 in 2000 to 1.60 in 2008; the pound 1.04 in 2022 to 2.11 in 2007; the yen 1/160 in
# 2024 to 1/76 in 2011; the rupee 1/89 in 2025 to 1/39 in 2007): an editor reads "€1.06bn" and
# "$1.45bn" as one fine in 2009.
_IN_DOLLARS = {"$": (1.0, 1.0), "€": (0.83, 1.6), "£": (1.04, 2.11), "¥": (1 / 160, 1 / 76),
               "₹": (1 / 89, 1 / 39)}


def _digits(key: str) -> int:
    """How many significant figures a key from figure_key gives ("1.4e+09": 2)."""
    mantissa = key.split("e")[0].replace(".", "").lstrip("0")
    return max(1, len(mantissa.rstrip("0")) if "e" in key or "." in key else len(mantissa))


def figure_key(value: float, significant: int = 3) -> str:
    """Three significant figures: "$69bn" and "$69 billion" and "69,000,000,000" are one key."""
    if value == 0:
        return "0"
    digits = significant - int(math.floor(math.log10(abs(value)))) - 1
    return f"{round(value, digits):g}"


# Bodies written in several ways, each read as one name: the Justice Department is the DOJ, the
# Supreme Court SCOTUS, Brussels (for its rules and fines) and the European Commission the EU.
_ALIASES = (
    (re.compile(r"\b(?:justice department|department of justice|doj)\b", re.IGNORECASE), "doj"),
    (re.compile(r"\b(?:supreme court|scotus)\b", re.IGNORECASE), "scotus"),
    (re.compile(r"\b(?:brussels|european commission|eu commission|european union|eu)\b",
                re.IGNORECASE), "eu"),
)
# One party under several names, as an editor reads them (a maintained table, each line a fact
# about the world, not about any labeled set): before the "/", the party's own names, any of which
# is the party (a company and its former or parent's name: Facebook is Meta, Google is Alphabet,
# Square is Block; a country and its adjective: "French watchdog", "fined in France"); after it,
# its brands or services ("ChatGPT maker" is OpenAI, "TikTok owner" ByteDance), each the party
# but not one another (Instagram and WhatsApp are two of Meta's services, fined apart). Read only
# where the judgement asks whether an article mentions a party the other's title names
# (stories._mentions), never as a shared word. Words the prefix test already joins ("India" and
# "Indian", "Snap" and "Snapchat") and words that are common besides ("X", "Block", "Threads")
# are left out.
_PARTY_LINES = (
    "meta facebook / instagram whatsapp oculus",
    "alphabet google / youtube waymo deepmind fitbit",
    "bytedance / tiktok douyin capcut",
    "openai / chatgpt",
    "anthropic / claude",
    "microsoft / linkedin github xbox bing skype",
    "amazon / aws twitch alexa audible zappos",
    "apple / iphone ipad itunes siri",
    "tencent / wechat",
    "alibaba / taobao aliexpress",
    "spacex / starlink",
    "france french",
    "britain british",
    "netherlands dutch holland",
    "china chinese beijing",
    "russia russian kremlin",
    "spain spanish",
    "switzerland swiss",
    "ireland irish",
    "canada canadian",
    "mexico mexican",
    "turkey turkish",
    "sweden swedish",
    "norway norwegian",
    "denmark danish",
    "belgium belgian",
    "greece greek",
    "philippines filipino philippine",
    "vietnam vietnamese",
    "thailand thai",
    "pakistan pakistani",
    "bangladesh bangladeshi",
    "argentina argentine argentinian",
    "portugal portuguese",
    "finland finnish",
    "iceland icelandic",
    "peru peruvian",
    "chile chilean",
)


@lru_cache(maxsize=1)
def _parties() -> dict[str, frozenset[str]]:
    """Each name's stem → the stems of the other names of its party (see _PARTY_LINES)."""
    out: dict[str, set[str]] = {}
    for line in _PARTY_LINES:
        own, _, brands = line.partition("/")
        own_stems = [stem_word(w) for w in own.split()]
        brand_stems = [stem_word(w) for w in brands.split()]
        for stem in own_stems:
            out.setdefault(stem, set()).update(s for s in own_stems + brand_stems if s != stem)
        for stem in brand_stems:
            out.setdefault(stem, set()).update(own_stems)
    return {stem: frozenset(others) for stem, others in out.items()}


def same_party(stem: str) -> frozenset[str]:
    """The stems of the party's other names ("facebook": "meta", its brands...), or none."""
    return _parties().get(stem, _NO_PARTY)


_NO_PARTY: frozenset[str] = frozenset()


#: How much an alias weighs as a shared term: a named body, telling but common in the news.
ALIAS_WEIGHT = 2.0


def aliases(text: str) -> list[str]:
    """The bodies the text names by any of their names (see _ALIASES), each once."""
    lower = _ascii_lower(text)
    return [name for (pattern, name), needles in zip(_ALIASES, _ALIAS_NEEDLES, strict=True)
            if _may_say(text, lower, needles) and pattern.search(text)]


# What each of _ALIASES needs in a text (lower case) before it can match.
_ALIAS_NEEDLES = (("justice", "doj"), ("supreme", "scotus"), ("brussels", "eu"))


def initials(text: str) -> list[str]:
    """"Federal Trade Commission" also reads as "ftc", so the name matches its acronym."""
    out: list[str] = []
    run: list[str] = []

    def flush() -> None:
        while run and run[-1].lower() in _CONNECTORS:
            run.pop()
        while run and run[0].lower() in _CONNECTORS:
            run.pop(0)
        caps = [w for w in run if w.lower() not in _CONNECTORS]
        if 3 <= len(caps) <= 6:
            out.append("".join(w[0] for w in caps).lower())
        elif len(caps) == 2 and "-" in caps[1] and all(stem_rarity(w.lower())[1] > 0 for w in caps[:1]):
            # A person's double-barrelled name: "Sam Bankman-Fried" is "SBF".
            parts = [caps[0], *caps[1].split("-")]
            if len(parts) == 3 and all(p[:1].isupper() for p in parts):
                out.append("".join(p[0] for p in parts).lower())
        run.clear()

    for word in re.findall(r"[\w'’&-]+|[^\w\s]", text):
        if word[:1].isupper() and word[:1].isalpha() and not word.isupper():
            run.append(word.split("'")[0].split("’")[0])
        elif run and word.lower() in _CONNECTORS:
            run.append(word)
        elif run:
            flush()
    flush()
    return out


def name_runs(title: str, names: set[str], lower: set[str],
               title_case: bool) -> tuple[tuple[tuple[str, ...], str], ...]:
    """The names in a title: each its telling stems and the kind it ends with, if it says one.

    "Signature Bank" is (("signatur",), "bank"); "Snap" is (("snap",), ""). In a Title Case
    title a capital says nothing: there a word is a name if the summary writes it as one.
    """
    runs: list[tuple[tuple[str, ...], str]] = []
    run: list[tuple[str, float]] = []
    spelled = False  # whether the run has a word that is not an acronym
    tokens = TOKEN.findall(title) + [","]
    for n, raw in enumerate(tokens):
        # Dates are no one's name ("Update about the October 4th outage", "Sunday shutdown").
        pieces = word_pieces(raw.lower()) if raw[:1].isalpha() and (
            raw.lower() not in _DATES) else ()
        if n and tokens[n - 1] in (":", "?", "!"):
            n = 0  # a new sentence: "ANOM: Hundreds arrested"
        # A capitalised word after a name goes on with it ("Signature Bank"), though the
        # summary writes "bank" in lower case too.
        name = bool(pieces) and (raw.isupper() and len(raw) > 1 or raw[:1].isupper() and (
            run and not title_case or all(
                stem not in lower and (stem in names or weight >= 3.0 or not title_case and n > 0)
                for stem, weight in pieces)))
        if name:
            run.extend(pieces)
            spelled = spelled or not raw.isupper()
        elif run:
            # "Signature Bank", "Fifth Circuit": a common last word names the kind, the rest which.
            head = run.pop()[0] if len(run) > 1 and run[-1][1] < 2.0 else ""
            telling = tuple(stem for stem, weight in run if weight >= NAME_WEIGHT)
            # An acronym alone ("DOJ", "FTC") may stand for a name the other spells out.
            if telling and spelled:
                runs.append((telling, head))
            run = []
            spelled = False
    return tuple(runs)


# The words that add a kind of event in `event_kinds` (each of its tests needs one of them).
_TRIGGERS = frozenset({*_EVENTS, *_CUTS, *_DEAL_ENDS, *_COMPLETES, *_COURT_EVENTS,
                       *_COURT_CLEARS, *_HALTS, *_ENFORCE, *(first for first, _ in _PHRASES),
                       "lays", "laid", "laying", "lay", "job", "guilty", "control", "orders",
                       "ordered", "on"})
_NO_EVENTS: frozenset[str] = frozenset()


def event_kinds(title: str) -> frozenset[str]:
    """The kinds of event the title reports: "sue", "rule", "settle", "sentence"..."""
    raw = WORD.findall(title)
    words = [w.lower().replace("’", "'").removesuffix("'s") for w in raw]
    # Only a word of _TRIGGERS adds a kind (the others only look around it): a title with none
    # reports none, and the loop below looks at its trigger words alone.
    if _TRIGGERS.isdisjoint(words):
        return _NO_EVENTS
    court = any(w in _COURTS for w in words)
    deal = any(w in _DEALS for w in words)
    plan = deal or any(w in _PLANS for w in words)
    judged = any(w in _JUDGMENTS for w in words)
    law = not deal and any(w in _LAWS for w in words)
    # In a title written in sentence case, a capitalised word after the first is a name's
    # ("Advanced Data Protection"), not a verb.
    title_case = sum(w[:1].isupper() for w in raw) > 0.6 * len(raw)
    out: set[str] = set()
    for n, word in enumerate(words):
        if word not in _TRIGGERS or n and not title_case and raw[n][:1].isupper():
            continue
        after = words[n + 1] if n + 1 < len(words) else ""
        if word == "appeals" and after in ("court", "courts", "judges", "panel"):
            continue  # the court's name, not an appeal
        if word == "hearing" and after in ("aid", "aids", "loss") or word == "passes" and (
                after == "away"):
            continue
        if word in ("force", "effect") and (n == 0 or words[n - 1] not in ("into", "take",
                                                                             "takes", "in")):
            continue
        before = words[n - 1] if n else ""
        if (before in _NEGATIONS or after in ("no", "not")
                or n > 1 and words[n - 2] in _NEGATIONS and before in ("a", "an", "any")):
            continue  # "admitted no wrongdoing", "without admitting": it did not happen
        if word in ("return", "returns") and after != "as":
            continue  # "returns as CEO" is a hiring; "returns to the App Store" is not
        if word in ("lays", "laid", "laying", "lay") and after == "off" or word in _CUTS and any(
                w in _STAFF for w in words[n + 1:n + 4]) or word == "job" and after in _CUT_NOUNS:
            out.add("layoff")  # "lays off", "to cut 10,000 jobs", "job cuts"
        if word in _CUTS and before in _PASSIVE and any(w in _STAFF for w in words[max(0, n - 4):n]):
            out.add("layoff")  # "jobs are being cut", "1,000 roles to be axed"
        if word == "guilty":
            # "pleads guilty" is a plea; "found guilty", "guilty on all counts" a verdict.
            out.add("plea" if before in _EVENT_WORDS["plea"].split() else "verdict")
        if phrase := _PHRASES.get((word, after)):
            out.add(phrase)
        if word in _DEAL_ENDS and plan:
            out.add("abandon")  # "scrutiny sinks Adobe's acquisition"
        if court and word in _COURT_CLEARS or law and word in _HALTS:
            out.add("rule")
            continue
        if law and word == "on" and after == "hold":
            out.add("rule")
        out.update(_EVENTS.get(word, ()))
        if word in _ENFORCE and judged:
            out.add("enforce")
        if word in _COMPLETES and deal or word == "control" and before in ("takes", "took",
                                                                             "taking"):
            out.add("complete")  # a deal closing (not a shop), a buyer taking control
        if word in ("orders", "ordered") and not court and not judged and (
                after == "to" or n + 1 < len(raw) and raw[n + 1][:1].isupper()):
            # A verb, by what follows: "FTC orders Meta...", "ordered to"; not "their buy orders"
            # (nor "orders airline", missed: a name after it is the common case).
            out.add("order")
        if word in ("blocks", "blocked") and not court:
            out.add("block")  # a regulator's (a court's is a ruling, below)
        if court and word in _COURT_EVENTS:
            # A jury's finding is a verdict; a judge's, a ruling.
            out.add("verdict" if "jury" in words else _COURT_EVENTS[word])
    if "trial" in out and any(word in ("trial", "trials")
                              and _OUTCOMES.intersection(words[max(0, n - 4):n])
                              for n, word in enumerate(words)):
        # A trial won, lost or beaten in has ended: its verdict ("Epic beats Google in jury
        # trial", "Google loses antitrust trial": the jury's finding; not "wins a ruling, but
        # will face trial").
        out.discard("trial")
        out.add("verdict")
    if "appeal" in out and any(word in ("appeal", "appeals")
                               and _OUTCOMES.intersection(words[max(0, n - 4):n])
                               for n, word in enumerate(words)):
        # An appeal won or lost has been ruled on ("Microsoft wins landmark appeal", "Apple
        # loses final appeal"): the ruling, as the court's own words say it.
        out.discard("appeal")
        out.add("rule")
    return frozenset(out)


def is_generic(title: str) -> bool:
    """True for a title that names a format ("Live updates", "Podcast: episode 212"), not a story."""
    words = [w.lower().replace("'", "").replace("’", "") for w in WORD.findall(title)]
    return all(w in _GENERIC for w in words)


def _may_say(text: str, lower: str | None, needles: tuple[str, ...]) -> bool:
    """Whether the text may hold one of the needles, case aside: False only when it is ASCII
    (`lower` its lower case; None when it is not ASCII) and holds none. A pattern that needs one
    of them is searched only then: most texts name no court and no body, and four substring
    tests cost less than one case-blind search."""
    return lower is None or any(n in lower for n in needles)


def _ascii_lower(text: str) -> str | None:
    return text.lower() if text.isascii() else None


def courts_named(title: str, body: str) -> frozenset[str]:
    """Which court the title says acted, and which numbered circuit the title (else the lede's
    first sentence) names.

    "Judge rules Apple must..." is ("level:trial"); "Appeals court denies Apple's bid..." is
    ("level:appeal"); "Fifth Circuit says..." is ("level:appeal", "circuit:5").
    """
    out: set[str] = set()
    lower = _ascii_lower(title)
    if _may_say(title, lower, _SUPREME_NEEDLES) and _SUPREME.search(title):
        out.add("level:supreme")
    if _may_say(title, lower, _APPELLATE_NEEDLES) and _APPELLATE.search(title):
        out.add("level:appeal")
    if not out and _may_say(title, lower, _TRIAL_NEEDLES) and _TRIAL.search(title):
        out.add("level:trial")
    # The title's circuit, else the lede's (which may also name the one it disagrees with).
    for n, text in enumerate((title, body)):
        if not _may_say(text, _ascii_lower(text) if n else lower, ("circuit",)):
            continue  # no circuit named (a lede is part of its body)
        if n:
            text = re.split(r"(?<=[.!?])\s", body, maxsplit=1)[0]
        for m in _CIRCUIT.finditer(text):
            word = m.group(1).lower()
            out.add("circuit:" + _ORDINALS.get(word, word.rstrip("stndrh")))
        if any(c.startswith("circuit:") for c in out):
            break
    return frozenset(out)


# What each court pattern needs in a text (lower case) before it can match.
_SUPREME_NEEDLES = ("supreme", "justices", "top court", "scotus")
_APPELLATE_NEEDLES = ("appe", "circuit")
_TRIAL_NEEDLES = ("judge", "court")


def happened(title: str, body: str) -> tuple[frozenset[str], bool]:
    """What the title says happened or, when it does not say, the summary's first sentence; and
    whether it was the summary that said it."""
    kinds = event_kinds(title)
    if kinds or not body:
        return kinds, False
    kinds = event_kinds(re.split(r"(?<=[.!?])\s", body, maxsplit=1)[0])
    return kinds, bool(kinds)


def title_text(title: str) -> str:
    stems = (stem_rarity(w.lower())[0] for w in WORD.findall(title))
    return " ".join(stem for stem in stems if stem)

