"""Plain-text hygiene shared by every stage: characters that change how text shows, not what it says."""

from __future__ import annotations

import re

__all__ = ["strip_invisible"]

# Bidi embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) reorder what follows
# them: "invoice\u202efdp.exe" shows as "invoiceexe.pdf". The marks (U+200E, U+200F, U+061C)
# only nudge neutral characters and right-to-left text needs them, so they stay.
_BIDI_CONTROLS = "\u202a-\u202e\u2066-\u2069"
# Zero-width space, word joiner and the invisible operators, the zero-width no-break space (a
# BOM inside text) and the Mongolian vowel separator: invisible, they hide a word from search
# and from topic terms ("Sec\u200btion 230") without changing how it reads.
_ZERO_WIDTH = "\u200b\u2060-\u2064\ufeff\u180e"
# The zero-width (non-)joiners are letters' business in Persian, Arabic and the Indic scripts,
# and glue emoji sequences together: kept between two non-ASCII characters, stripped elsewhere
# (inside a Latin word they only ever hide it).
_INVISIBLE = re.compile(
    f"[{_BIDI_CONTROLS}{_ZERO_WIDTH}]"
    r"|[\u200c\u200d](?![^\s\x00-\x7f])"
    r"|(?<![^\s\x00-\x7f])[\u200c\u200d]"
)


# Any of the characters above: a plain class that the regex engine scans for quickly, so the
# common text (none of them) skips the slower pattern with its lookarounds.
_ANY_INVISIBLE = re.compile(f"[{_BIDI_CONTROLS}{_ZERO_WIDTH}\u200c\u200d]")


def strip_invisible(text: str) -> str:
    """text without bidi overrides/isolates and zero-width characters (joiners kept in scripts)."""
    if text.isascii() or _ANY_INVISIBLE.search(text) is None:
        return text
    return _INVISIBLE.sub("", text)

