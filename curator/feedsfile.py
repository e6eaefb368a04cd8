"""Edits to feeds.yaml that change only the lines they mean to.

The one writer of feeds.yaml: `curator opml import` and the desk's Sources and Topics pages all
go through `FeedsFile`. The file is read with ruamel.yaml's round-trip loader (which knows where
every source and topic starts); each edit re-renders only the source or topic it touches, in the
file's own indentation, and splices those lines into the original text. Everything else (comments,
blank lines, quoting, key order, the layout of other entries) stays byte for byte. The result must
load as the intended data and as a valid configuration before it replaces the file, atomically.
"""

from __future__ import annotations

import io
import logging
import os
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .config import Config, parse
from .exceptions import ConfigError, NotFound, UsageError

log = logging.getLogger("curator.feedsfile")

# Two editors saving at once in one desk process take turns; a change made meanwhile by anyone
# else (a text editor, another process) is caught by comparing the file with what was read.
_LOCK = threading.Lock()

TERM_KEYS = ("any", "all", "none")


def _put_second(item: Any, key: str, value: str | None) -> None:
    """Set `key` in place, or as the entry's second key (after its url or name); drop it if empty."""
    if not value:
        if key in item:
            del item[key]  # CommentedMap's own __delitem__ keeps the comments in order
    elif key in item:
        item[key] = value
    else:
        item.insert(1, key, value)


@dataclass(frozen=True)
class Skipped:
    """A source an import left out, and why."""

    url: str
    reason: str


@dataclass(frozen=True)
class AddResult:
    added: list[str]
    skipped: list[Skipped]


def _yaml(indent: tuple[int, int, int] | None = None) -> Any:
    from ruamel.yaml import YAML

    ry = YAML()  # round-trip mode: comments, quoting and key order survive
    ry.preserve_quotes = True
    ry.width = 4096  # never fold a long line the file did not fold
    if indent:
        ry.indent(mapping=indent[0], sequence=indent[1], offset=indent[2])
    return ry


def _plain(value: Any) -> Any:
    """ruamel's commented containers and scalar strings as plain Python values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def _is_filler(line: str) -> bool:
    """A blank or comment-only line: it belongs between entries, not to one."""
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


class FeedsFile:
    """feeds.yaml opened for editing. Make changes, then `save()`; nothing is written before."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.original = self._read()
        # A file that does not load is not edited: the editor fixes it first (the desk shows why).
        self.config = parse(self.original, self.path)
        self.lines = self.original.splitlines(keepends=True)
        if self.lines and not self.lines[-1].endswith("\n"):
            self.lines[-1] += "\n"
        self.doc = _yaml().load(self.original)
        self.indent = self._guess_indent()
        # Line ranges [start, end) of the original replaced by new text; None: the whole file.
        self._splices: list[tuple[int, int, str]] = []
        self._whole = False

    # ------------------------------------------------------------------ reading

    def _read(self) -> str:
        """The file's text as it is on disk (line endings untranslated)."""
        try:
            return self.path.read_bytes().decode("utf-8")
        except OSError as e:
            raise ConfigError(f"cannot read: {e.strerror or e}", path=str(self.path)) from e
        except UnicodeDecodeError as e:
            raise ConfigError(f"not UTF-8 text: {e}", path=str(self.path)) from e

    def _guess_indent(self) -> tuple[int, int, int]:
        """(mapping, sequence, offset) as the file's own sources list is indented."""
        mapping, sequence, offset = 2, 4, 2
        poll = self.doc.get("poll") or self.doc.get("output")
        if hasattr(poll, "lc") and poll and not poll.fa.flow_style():
            col = poll.lc.key(next(iter(poll)))[1]
            if col > 0:
                mapping = col
        for key in ("sources", "topics"):
            seq = self.doc.get(key)
            if not hasattr(seq, "lc") or not seq or seq.fa.flow_style():
                continue
            line, col = seq.lc.item(0)
            dash = self._dash_col(line, col)
            if dash is not None:
                return mapping, max(col, dash + 2), dash
        return mapping, sequence, offset

    def _dash_col(self, line: int, col: int) -> int | None:
        """The column of the `-` that opens a block-sequence item whose content is at (line, col)."""
        text = self.lines[line] if line < len(self.lines) else ""
        m = re.match(r"^( *)- +$", text[:col])
        return len(m.group(1)) if m else None

    def sources(self) -> list[Any]:
        seq = self.doc.get("sources")
        return list(seq) if seq else []

    def _source_index(self, url: str) -> int:
        for i, item in enumerate(self.sources()):
            if str(item.get("url") if hasattr(item, "get") else item) == url:
                return i
        raise NotFound("source", url)

    def topic(self, name: str) -> Any:
        return self.doc["topics"][self._topic_index(name)]

    def _topic_index(self, name: str) -> int:
        for i, item in enumerate(self.doc.get("topics") or []):
            if str(item.get("name")) == name:
                return i
        raise NotFound("topic", name)

    # ------------------------------------------------------------------ sources

    def add_sources(self, new: Iterable[tuple[str, str | None]]) -> AddResult:
        """Append sources (url, name); returns what was added and what was skipped, and why."""
        from ruamel.yaml.comments import CommentedMap

        have = {s.url for s in self.config.sources}
        batch: set[str] = set()
        names = {s.name.casefold() for s in self.config.sources if s.name}
        added: list[str] = []
        skipped: list[Skipped] = []
        items = []
        for url, name in new:
            url = url.strip()
            reason = _unsupported(url)
            if reason:
                skipped.append(Skipped(url, reason))
                continue
            if url in batch:
                skipped.append(Skipped(url, "listed twice"))
                continue
            if url in have:
                skipped.append(Skipped(url, "already in feeds.yaml"))
                continue
            item = CommentedMap()
            item["url"] = url
            name = " ".join((name or "").split())
            if name and name.casefold() not in names:
                item["name"] = name
                names.add(name.casefold())
            items.append(item)
            batch.add(url)
            added.append(url)
        if items:
            self._append("sources", items)
        return AddResult(added, skipped)

    def add_source(self, url: str, name: str | None = None) -> str:
        """Add one source; refuses a duplicate URL or name, or an unsupported URL."""
        name = " ".join((name or "").split()) or None
        if name and any(s.name and s.name.casefold() == name.casefold()
                        for s in self.config.sources):
            raise UsageError(f"a source is already named {name!r}")
        result = self.add_sources([(url, name)])
        if result.skipped:
            raise UsageError(f"{url}: {result.skipped[0].reason}")
        return result.added[0]

    def rename_source(self, url: str, name: str | None) -> None:
        """Set (or, with an empty name, remove) a source's display name."""
        from ruamel.yaml.comments import CommentedMap

        i = self._source_index(url)
        name = " ".join((name or "").split()) or None
        if name and any(s.name and s.name.casefold() == name.casefold() and s.url != url
                        for s in self.config.sources):
            raise UsageError(f"another source is already named {name!r}")
        seq = self.doc["sources"]
        item = seq[i]
        if not isinstance(item, dict):  # a bare URL becomes a mapping to carry the name
            if not name:
                return
            seq[i] = item = CommentedMap([("url", item)])
        _put_second(item, "name", name)
        self._replace("sources", i)

    def remove_source(self, url: str) -> None:
        """Take a source out of feeds.yaml (its stored entries stay, as for a hand edit)."""
        self._remove("sources", self._source_index(url))

    # ------------------------------------------------------------------ topics

    def put_topic(self, name: str, *, title: str | None, any_terms: Sequence[Any],
                  all_terms: Sequence[Any] = (), none_terms: Sequence[Any] = (),
                  create: bool = False) -> None:
        """Create a topic (`create`) or change an existing one's title and terms.

        Terms kept from before keep their quoting and comments; each list keeps its style.
        """
        from ruamel.yaml.comments import CommentedMap

        topics = self.doc.get("topics")
        if create:
            if topics and any_name(topics, name):
                raise UsageError(f"a topic named {name!r} already exists")
            item = CommentedMap()
            item["name"] = name
            if title and title != name:
                item["title"] = title
            for key, terms in (("any", any_terms), ("all", all_terms), ("none", none_terms)):
                if terms:
                    item[key] = _term_seq(None, terms, flow=key != "any")
            self._append("topics", [item])
            return
        i = self._topic_index(name)
        item = self.doc["topics"][i]
        _put_second(item, "title", title if title != name else None)
        position = list(item).index("title") + 1 if "title" in item else 1
        for key, terms in (("any", any_terms), ("all", all_terms), ("none", none_terms)):
            old = item.get(key)
            if terms:
                seq = _term_seq(old, terms, flow=key != "any")
                if key in item:
                    item[key] = seq
                else:
                    item.insert(position, key, seq)
            elif key in item:
                del item[key]
            if key in item:
                position = list(item).index(key) + 1
        self._replace("topics", i)

    def remove_topic(self, name: str) -> None:
        self._remove("topics", self._topic_index(name))

    # ------------------------------------------------------------------ splicing

    def _item_range(self, key: str, i: int) -> tuple[int, int, int] | None:
        """Original lines [start, end) of item i of a top-level block list, and its dash column."""
        seq = self.doc.get(key)
        if not seq or seq.fa.flow_style() or self._whole:
            return None
        line, col = seq.lc.item(i)
        dash = self._dash_col(line, col)
        if dash is None:
            return None
        if i + 1 < len(seq):
            end = seq.lc.item(i + 1)[0]
        else:
            keys = list(self.doc)
            later = keys[keys.index(key) + 1:]
            end = self.doc.lc.key(later[0])[0] if later else len(self.lines)
        while end > line + 1 and _is_filler(self.lines[end - 1]):
            end -= 1
        return line, end, dash

    def _render(self, items: Sequence[Any], dash: int) -> str:
        """Block-list items as the file's own indentation would write them at this column."""
        buf = io.StringIO()
        _yaml(self.indent).dump(list(items), buf)
        lines = buf.getvalue().splitlines(keepends=True)
        while lines and _is_filler(lines[-1]):  # comments ruamel carried from the next entry
            lines.pop()
        first = lines[0] if lines else ""
        shift = dash - (len(first) - len(first.lstrip(" ")))
        if shift >= 0:
            text = "".join(" " * shift + ln if ln.strip() else ln for ln in lines)
        else:
            text = "".join(ln[-shift:] if ln[:-shift].strip() == "" else ln for ln in lines)
        if self.lines and self.lines[0].endswith("\r\n"):  # the file's own line endings
            text = text.replace("\r\n", "\n").replace("\n", "\r\n")
        return text

    def _overlaps(self, start: int, end: int) -> bool:
        return any(s < end and start < e or (s == e == start) for s, e, _ in self._splices)

    def _replace(self, key: str, i: int) -> None:
        where = self._item_range(key, i)
        if where is None or self._overlaps(where[0], where[1]):
            self._whole = True
            return
        start, end, dash = where
        self._splices.append((start, end, self._render([self.doc[key][i]], dash)))

    def _remove(self, key: str, i: int) -> None:
        where = self._item_range(key, i)
        seq = self.doc[key]
        if where is None or self._overlaps(where[0], where[1]):
            self._whole = True
        else:
            start, end, _ = where
            if i == 0 or not self.lines[start - 1].strip():
                # The blank lines that set it apart go too, so none are left doubled.
                while end < len(self.lines) and not self.lines[end].strip():
                    end += 1
            self._splices.append((start, end, ""))
        del seq[i]
        # ruamel's line marks of the later items stay those of the original text, as splices need.

    def _append(self, key: str, items: Sequence[Any]) -> None:
        from ruamel.yaml.comments import CommentedSeq

        seq = self.doc.get(key)
        n = len(seq) if seq else 0
        where = self._item_range(key, n - 1) if n else None
        if seq is None:
            seq = CommentedSeq()
            if key in self.doc:
                self.doc[key] = seq
            else:
                self.doc.insert(len(self.doc), key, seq)
            self._whole = True
        for item in items:
            seq.append(item)
        if where is None:
            self._whole = True
            return
        _, end, dash = where
        # New entries go straight after the last one: a comment below it stays below them.
        self._splices.append((end, end, self._render(items, dash)))

    # ------------------------------------------------------------------ writing

    def text(self) -> str:
        """The edited file's text."""
        if not self._whole:
            out: list[str] = []
            at = 0
            for start, end, new in sorted(self._splices, key=lambda s: (s[0], s[1])):
                out.extend(self.lines[at:start])
                out.append(new)
                at = end
            out.extend(self.lines[at:])
            text = "".join(out)
            try:
                if _plain(_yaml().load(text)) == _plain(self.doc):
                    return text
            except Exception as e:  # noqa: BLE001 - any failure here means: write it whole
                log.debug("splicing feeds.yaml failed (%s); writing it whole", e)
            log.warning("%s: could not change only the edited lines; rewrote the file", self.path)
        buf = io.StringIO()
        _yaml(self.indent).dump(self.doc, buf)
        return buf.getvalue()

    def check(self) -> Config:
        """The configuration the edited text gives (ConfigError if it would not load)."""
        return parse(self.text(), self.path)

    def changed(self) -> bool:
        return self._whole or bool(self._splices)

    def save(self) -> Config:
        """Validate the edited text and replace the file atomically; returns the new config.

        Refused when feeds.yaml changed since it was read (nothing is lost: try again).
        """
        from .files import write_atomic

        config = self.check()  # never write a file that would not load
        if not self.changed():
            return config
        text = self.text()
        with _LOCK:
            if self._read() != self.original:
                raise UsageError(f"{self.path} changed while this edit was being made; "
                                 "nothing was written: try again")
            try:
                mode = self.path.stat().st_mode & 0o777
                write_atomic(self.path, text.encode("utf-8"))
                os.chmod(self.path, mode)  # a hand-set mode (say 0600) stays as it was
            except OSError as e:
                raise UsageError(f"cannot write {self.path}: {e.strerror or e}") from e
        return config


def any_name(topics: Iterable[Any], name: str) -> bool:
    return any(str(t.get("name")) == name for t in topics)


def _term_seq(old: Any, terms: Sequence[Any], *, flow: bool) -> Any:
    """A list of terms reusing the old list's items (quoting, comments) and style where it can."""
    from ruamel.yaml.comments import CommentedSeq

    old_items = list(old) if isinstance(old, list) else []
    seq = CommentedSeq()
    for term in terms:
        plain = _plain(term)
        match = next((j for j, o in enumerate(old_items) if _plain(o) == plain), None)
        if match is not None:
            seq.append(old_items[match])
            comment = old.ca.items.get(match) if hasattr(old, "ca") else None
            if comment:
                seq.ca.items[len(seq) - 1] = comment
        else:
            seq.append(term if isinstance(term, str) else CommentedSeq(term))
    if isinstance(old, CommentedSeq) and old_items:
        if old.fa.flow_style():
            seq.fa.set_flow_style()
        else:
            seq.fa.set_block_style()
    elif flow:
        seq.fa.set_flow_style()
    else:
        seq.fa.set_block_style()
    return seq


def _unsupported(url: str) -> str | None:
    """Why a URL cannot be a source, or None."""
    if not url:
        return "no URL"
    if any(c.isspace() or ord(c) < 32 for c in url):
        return "the URL contains spaces or control characters"
    try:
        parts = urlsplit(url)
    except ValueError:
        return "not a valid URL"
    if parts.scheme.lower() not in ("http", "https"):
        return f"only http and https feeds are supported, not {parts.scheme or 'this'}:"
    if not parts.hostname:
        return "the URL has no host"
    return None


def add_sources(path: str | os.PathLike[str], new: Sequence[tuple[str, str | None]]
                ) -> AddResult:
    """Append sources to feeds.yaml, changing only the lines added; reports what was skipped."""
    f = FeedsFile(path)
    result = f.add_sources(new)
    if result.added:
        f.save()
    return result
