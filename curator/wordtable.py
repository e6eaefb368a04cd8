"""How common an English word is (wordfreq's Zipf scale), from a compact table.

The stories' judgement (curator/stories.py) weighs a shared word by its rarity, and rarity stops
growing below a Zipf frequency of FLOOR: there, every word is as telling as the rarest. So of
wordfreq's 321,000 English words only the 37,000 above FLOOR matter. wordfreq loads all of them
(about 45 MB in a process, more in each forked parse worker that touches them); this module
keeps those 37,000 in a text file made once from wordfreq's own data (in curator's cache folder,
see configcache.cache_dir; in memory when the cache is off) and reads it in a few milliseconds.

`zipf(word)` is wordfreq's `zipf_frequency(word, "en")` whenever that is above FLOOR, and FLOOR
or less when it is not: the same steps (its tokenizer, numbers folded to zeros, several tokens
combined, the same rounding) over the same frequencies. A plain lower-case word skips the
tokenizer, which would only cut it at its hyphens; anything else goes through wordfreq's
tokenizer (about 16 MB of imports, no word data). tests/test_wordtable.py holds every word of wordfreq's list, and variants
of them, to wordfreq's own answers.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

#: Words at or below this Zipf frequency are told apart by nothing: they are not kept.
FLOOR = 2.8
_LANG = "en"
#: The table's buckets: a word in bucket i has the frequency 10 ** (-i / 100) (wordfreq's
#: centibels), a Zipf frequency of (900 - i) / 100. Above FLOOR: buckets below this.
_BUCKETS = round((9 - FLOOR) * 100)
# Words the tokenizer cuts only at their hyphens and leaves otherwise unchanged: lower-case
# ASCII letters, an apostrophe between two of them ("don't", "o'neill", "t-mobile's").
_PLAIN = re.compile(r"[a-z]+(?:'[a-z]+)*(?:-[a-z]+(?:'[a-z]+)*)*")

_table: dict[str, int] | None = None


def zipf(word: str) -> float:
    """wordfreq's Zipf frequency of the word in English when above FLOOR, else at most FLOOR."""
    table = _table if _table is not None else _load()
    if _PLAIN.fullmatch(word):
        tokens = word.split("-") if "-" in word else [word]
    else:
        tokens = _tokenize(word)
        if not tokens:
            return 0.0
    one_over = 0.0
    for token in tokens:
        smashed = token
        if any(c.isdigit() for c in token):
            smashed = _smash(token)
        bucket = table.get(smashed)
        if bucket is None:
            return FLOOR  # rarer than FLOOR (or unknown): so is any word it is part of
        freq = 10 ** (-bucket / 100)
        if smashed != token:
            freq *= _digit_freq(token)
        one_over += 1.0 / freq
    # As wordfreq rounds: three significant digits, then the Zipf value to two decimals.
    freq = 1.0 / one_over
    freq = round(freq, math.floor(-math.log(freq, 10)) + 3)
    return round(math.log(freq, 10) + 9, 2)


def _tokenize(word: str) -> list[str]:
    from wordfreq.tokens import lossy_tokenize

    return list(lossy_tokenize(word, _LANG))


def _smash(token: str) -> str:
    from wordfreq.numbers import smash_numbers

    return str(smash_numbers(token))


def _digit_freq(token: str) -> float:
    from wordfreq.numbers import digit_freq

    return float(digit_freq(token))


def load() -> None:
    """Read the table, and import the tokenizer, now: a process about to fork its parse
    workers does, so that they share both (words with figures, accents or dots need the
    tokenizer, and a day of news has some)."""
    if _table is None:
        _load()
    _tokenize("warm")


def _load() -> dict[str, int]:
    global _table
    path = _path()
    text = None
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            text = None
    if text is None or not text.startswith(_header()):
        text = _build()
        if path is not None:
            _save(path, text)
    table: dict[str, int] = {}
    for bucket, line in enumerate(text.split("\n")[1:_BUCKETS + 1]):
        for word in line.split(" "):
            if word:
                table[word] = bucket
    _table = table
    return table


def _source() -> Any:
    from importlib import metadata

    return metadata.version("wordfreq")


def _header() -> str:
    return f"curator word table 1 wordfreq {_source()} {_LANG} floor {FLOOR}\n"


def _build() -> str:
    """The table's text from wordfreq's list: a header line, then one line per bucket."""
    from wordfreq import get_frequency_list

    buckets = get_frequency_list(_LANG, "best")[:_BUCKETS]
    lines = [" ".join(w for w in bucket if " " not in w and "\n" not in w) for bucket in buckets]
    lines += [""] * (_BUCKETS - len(lines))
    return _header() + "\n".join(lines) + "\n"


def _path() -> Path | None:
    from .configcache import cache_dir

    folder = cache_dir()
    return folder / f"words-{_LANG}.txt" if folder is not None else None


def _save(path: Path, text: str) -> None:
    """Keep the table in the cache folder; a cache that cannot be written is a slower start."""
    from .configcache import keep

    keep(path.name, lambda f: f.write(text.encode("utf-8")))
