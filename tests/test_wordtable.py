"""The compact word table answers as wordfreq does, for every word the stories could ask about."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from curator import headlines, wordtable

wordfreq = pytest.importorskip("wordfreq")
FLOOR = wordtable.FLOOR
DATA = Path(__file__).parent / "data" / "stories"


def _words() -> list[str]:
    """wordfreq's whole English list, what the labeled articles say, and variants of both."""
    listed = list(wordfreq.iter_wordlist("en"))
    seen: set[str] = set()
    for path in sorted(DATA.glob("*.yaml")):
        for item in yaml.safe_load(path.read_text())["items"]:
            seen.update(re.findall(r"[\w'’.-]+", f"{item['title']} {item.get('summary') or ''}"))
    odd = ["Don't", "don’t", "o'neill", "O’Neill", "rock'n'roll", "'tis", "it's", "covid19",
           "covid-19", "19", "2024", "1,000", "3.5", "g7", "5g", "f-35", "café", "naïve",
           "zürich", "São", "straße", "ﬁne", "u.s", "u.s.", "a.i", "e.g", "co-op", "x",
           "mcdonald's", "l'oréal", "aujourd'hui", "don''t", "a'", "ŉ", "İstanbul", "ǅemal",
           "東京", "ß", "Ω", "ABC", "Nvidia", "nvidia's", "tiktok", "x.com", "wi-fi", "", "-",
           "''", "1st", "2nd", "10th", "000", "3m", "$5bn", "50%", "k-pop", "t-mobile's",
           "first-of-its-kind", "-x", "x-", "a--b", "don't-stop", "covid-19", "x-’s"]
    variants = [v for w in listed[:40000] for v in (w.capitalize(), w.upper(), f"{w}'s")]
    hyphened = [f"{a}-{b}" for a, b in zip(listed[:60000:3], listed[1:60000:3], strict=False)]
    hyphened += [f"{a}-{b}-{c}" for a, b, c in zip(listed[::97], listed[1::97], listed[2::97],
                                                   strict=False)]
    return listed + sorted(seen) + odd + variants + hyphened


def test_every_word_has_wordfreqs_frequency_above_the_floor() -> None:
    words = _words()
    assert len(words) > 400_000
    wrong = [(w, wordtable.zipf(w), wordfreq.zipf_frequency(w, "en")) for w in words
             if max(FLOOR, wordtable.zipf(w)) != max(FLOOR, wordfreq.zipf_frequency(w, "en"))]
    assert wrong == []


def test_the_judgement_reads_no_frequency_below_the_floor(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """Words rarer than the floor weigh the same in the judgement, so the table may stop there:
    every word's rarity is the one wordfreq's own frequencies give."""
    words = _words()[::7]
    rarity = headlines.rarity  # not cached: the one cache is headlines.written's
    fast = [rarity(w) for w in words]
    monkeypatch.setattr(wordtable, "zipf", lambda w: wordfreq.zipf_frequency(w, "en"))
    assert [rarity(w) for w in words] == fast


def _run(code: str, cache: Path | str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env={"CURATOR_CACHE_DIR": str(cache), "PATH": "/usr/bin"})


LOOKUP = ("import sys; from curator import wordtable; "
          "print(wordtable.zipf('antitrust'), wordtable.zipf('the'), wordtable.zipf('zorvex'), "
          "'wordfreq' in sys.modules)")


def test_the_table_is_made_once_and_read_without_wordfreq(tmp_path: Path) -> None:
    first = _run(LOOKUP, tmp_path)
    [table] = tmp_path.glob("words-*.txt")
    assert first.stdout.split()[:3] == [str(wordfreq.zipf_frequency(w, "en"))
                                         for w in ("antitrust", "the")] + [str(FLOOR)]
    again = _run(LOOKUP, tmp_path)
    assert again.stdout == first.stdout.replace("True", "False")  # wordfreq never loaded
    assert table.stat().st_size < 600_000
    # A damaged or foreign table is made again.
    table.write_text("something else\n")
    assert _run(LOOKUP, tmp_path).stdout == first.stdout
    assert table.read_text().startswith("curator word table")
    # Without a cache folder, the table is made in memory.
    assert _run(LOOKUP, "off").stdout == first.stdout
