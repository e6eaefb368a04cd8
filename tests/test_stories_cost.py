"""The story grouping's shortcuts (what keeps its cost down) give exactly what the plain way
gives: each is checked here against the plain way on every labeled article and on odd strings."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from curator import headlines

DATA = Path(__file__).parent / "data" / "stories"

ODD = ["", "no digits at all", "5", "$5", "US$ 5bn", "USD 20m and EUR 3.5 billion", "€€5",
       "a1b2c3", "1 2 3 4 5 6 7 8 9 10", "costs $ 1,200.50 per cent more", "5 m people, 5m fine",
       "GBP5k", "x" * 40 + "US$12", "12" * 30, "1,234,567.89%", "£1.2bn fine; €390M; ¥3tn",
       "Ünïcode ７ digits ٣ and US$٣", "2024 was the year; 2,024 people; 19.5%"]


def _texts() -> list[str]:
    out = list(ODD)
    for path in sorted(DATA.glob("*.yaml")):
        for it in yaml.safe_load(path.read_text())["items"]:
            out.append(f"{it['title']}. {it.get('summary') or ''}")
    return out


@pytest.mark.parametrize("text", _texts())
def test_amounts_are_found_as_a_scan_of_every_character_finds_them(text: str) -> None:
    plain = [(m.span(), m.groupdict()) for m in headlines._AMOUNT.finditer(text)]
    assert [(m.span(), m.groupdict()) for m in headlines.amounts_in(text)] == plain


class _EveryWord:
    """A stand-in for headlines._TRIGGERS that lets every word through (the plain loop)."""

    def isdisjoint(self, _: object) -> bool:
        return False

    def __contains__(self, _: object) -> bool:
        return True


def test_event_kinds_looking_only_at_trigger_words_finds_what_every_word_finds(
        monkeypatch: pytest.MonkeyPatch) -> None:
    texts = []
    for text in _texts():
        title, _, lede = text.partition(". ")
        texts += [title, lede, text, text.lower(), text.title()]
    quick = [headlines.event_kinds(t) for t in texts]
    assert sum(bool(kinds) for kinds in quick) > len(texts) // 10
    monkeypatch.setattr(headlines, "_TRIGGERS", _EveryWord())
    assert quick == [headlines.event_kinds(t) for t in texts]


def test_a_compact_signature_is_the_same_with_its_words_shared() -> None:
    from curator.stories import compact, signature

    texts = _texts()
    kept = []
    for text in texts:
        title, _, lede = text.partition(". ")
        sig = signature(title, lede)
        small = compact(sig)
        assert small == sig
        assert list(small.terms) == list(sig.terms) and list(small.starts) == list(sig.starts)
        kept.append(small)
    # One copy of each word across signatures, in every field.
    first: dict[str, str] = {}
    for sig in kept:
        fields = [*sig.terms, *sig.names, *sig.keys, *sig.starts, *sig.starts.values(),
                  *(w for run, head in sig.runs for w in (*run, head))]
        for word in fields:
            assert first.setdefault(word, word) is word


def test_index_rows_added_in_any_order_stay_sorted_and_unique() -> None:
    import random

    from curator.store.stories import _add_row

    rng = random.Random(7)
    for _ in range(200):
        rows: tuple[list[str], list[int]] = ([], [])
        added: set[tuple[str, int]] = set()
        for _ in range(rng.randrange(1, 40)):
            # Mostly later times and higher ids (a poll's), some earlier, some repeated.
            t = f"2026-12-02T05:{rng.randrange(0, 6):02d}:00Z"
            cid = rng.randrange(1, 30)
            assert _add_row(rows, t, cid) == ((t, cid) not in added)
            added.add((t, cid))
            assert list(zip(*rows, strict=True)) == sorted(added)
