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
