"""Text for the desk's pages: highlighted excerpts built from escaped segments, and times."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import urlsplit

from markupsafe import Markup, escape

from ..clock import iso, parse_iso

Spans = Sequence[tuple[int, int]]


def highlight(text: str, spans: Spans, hits: Spans = ()) -> Markup:
    """`text` escaped, with each [start, end) span wrapped in <mark>; nothing else is markup.

    `hits` (the words searched for) are marked `<mark class="hit">`, ahead of topic terms.
    """
    out: list[str] = []
    pos = 0
    # A topic term that overlaps a searched word gives way to it, rather than being cut in two.
    terms = [(s, e, 1) for s, e in spans if not any(s < he and hs < e for hs, he in hits)]
    tagged = sorted([(s, e, 0) for s, e in hits] + terms)
    for start, end, kind in tagged:
        start, end = max(start, pos), min(end, len(text))
        if end <= start:
            continue
        out.append(escape(text[pos:start]))
        tag = Markup('<mark class="hit">') if kind == 0 else Markup("<mark>")
        out.append(tag + escape(text[start:end]) + Markup("</mark>"))
        pos = end
    out.append(escape(text[pos:]))
    return Markup("").join(out)


def marked(text: str, start: str, end: str) -> Markup:
    """`text` escaped, with what lies between the `start` and `end` markers in <mark>.

    The markers are characters no stored text holds; an unpaired one opens or closes nothing
    more, so the result is always balanced.
    """
    out: list[str] = []
    open_ = False
    for part in re.split(f"({re.escape(start)}|{re.escape(end)})", text):
        if part == start:
            if not open_:
                out.append(Markup("<mark>"))
                open_ = True
        elif part == end:
            if open_:
                out.append(Markup("</mark>"))
                open_ = False
        elif part:
            out.append(escape(part))
    if open_:
        out.append(Markup("</mark>"))
    return Markup("").join(out)


def word_spans(text: str, words: Sequence[str]) -> list[tuple[int, int]]:
    """Where each of `words` occurs in `text`, ignoring case, as the queue's search finds them."""
    folded = text.casefold()
    spans: list[tuple[int, int]] = []
    if len(folded) != len(text):  # a character whose case folds longer: fall back to lower()
        folded = text.lower()
        if len(folded) != len(text):
            return spans
    for word in words:
        w = word.casefold() if len(word.casefold()) == len(word) else word.lower()
        if not w:
            continue
        at = folded.find(w)
        while at != -1:
            spans.append((at, at + len(w)))
            at = folded.find(w, at + len(w))
    return sorted(spans)


def _word_start(text: str, i: int) -> int:
    """The start of the word at or after i (so an excerpt never begins mid-word)."""
    if i <= 0:
        return 0
    space = text.find(" ", i)
    return i if space == -1 or space - i > 20 else space + 1


def _word_end(text: str, i: int) -> int:
    """The end of the word before i."""
    if i >= len(text):
        return len(text)
    space = text.rfind(" ", 0, i)
    return i if space == -1 or i - space > 20 else space


def excerpt(text: str, spans: Spans, width: int = 280, lead: int = 60,
            hits: Spans = ()) -> Markup:
    """About `width` characters of `text` around its first highlight (a searched word's, if
    any), escaped and marked."""
    text = text or ""
    if len(text) <= width:
        return highlight(text, spans, hits)
    start = 0
    first = hits[0] if hits else (spans[0] if spans else None)
    if first and first[1] > width - lead:
        # Show the first match with some context before it rather than the article's opening.
        start = _word_start(text, max(0, first[0] - lead))
    end = _word_end(text, min(len(text), start + width))
    if end <= start:
        end = min(len(text), start + width)
    def clip(marks: Spans) -> list[tuple[int, int]]:
        return [(max(s, start) - start, min(e, end) - start) for s, e in marks
                if e > start and s < end]

    body = highlight(text[start:end], clip(spans), clip(hits))
    prefix = Markup("…") if start > 0 else Markup("")
    suffix = Markup("…") if end < len(text) else Markup("")
    return prefix + body + suffix


def iso_time(value: str | datetime | None) -> str:
    """The machine-readable form for <time datetime>."""
    return (iso(value) or "") if isinstance(value, datetime) else (value or "")


def when(value: str | datetime | None) -> str:
    """An ISO time as the desk shows it: `26 Nov 2026, 12:00 UTC`."""
    dt = parse_iso(value) if isinstance(value, str) else value
    if dt is None:
        return "—"
    return f"{dt.day} {dt:%b %Y, %H:%M} UTC"


def ago(value: str | datetime | None, now: datetime) -> str:
    """How long before `now`: `just now`, `5 min ago`, `3 h ago`, `2 days ago`, else the date."""
    dt = parse_iso(value) if isinstance(value, str) else value
    if dt is None:
        return "—"
    seconds = (now - dt).total_seconds()
    if seconds < 0:
        minutes = int(-seconds // 60)
        if minutes < 1:
            return "in a moment"
        if minutes < 60:
            return f"in {minutes} min"
        if minutes < 48 * 60:
            return f"in {minutes // 60} h"
        return when(value)
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 48 * 3600:
        return f"{int(seconds // 3600)} h ago"
    if seconds < 14 * 86400:
        return f"{int(seconds // 86400)} days ago"
    return f"{dt.day} {dt:%b %Y}"


def http_url(value: str | None) -> str | None:
    """`value` if it is an http(s) URL, else None: a link to anything else is never rendered."""
    if not value:
        return None
    try:
        scheme = urlsplit(value.strip()).scheme.lower()
    except ValueError:
        return None
    return value if scheme in ("http", "https") else None
