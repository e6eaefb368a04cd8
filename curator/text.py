"""Plain-text hygiene shared by every stage: characters that change how text shows, not what it says."""

from __future__ import annotations

import re

__all__ = ["excerpt", "strip_invisible"]

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



def excerpt(text: str, words: int) -> str:
    """The first `words` words of plain text, on one line, with "…" when some were left out.

    0 words is no excerpt. Whitespace of any kind separates words; the text is not reflowed
    beyond that (it is published as plain text, quoted).
    """
    if words <= 0:
        return ""
    # Splitting only as far as needed: an entry's text may be a whole article.
    parts = text.split(None, words)
    if len(parts) <= words:
        return " ".join(parts)
    return " ".join(parts[:words]).rstrip(" ,;:-–—") + " …"
