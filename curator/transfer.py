"""Moving an editor's work and the source list between installs: the export (JSON or CSV) and its
import, OPML out of the stored sources and into feeds.yaml, and copies of the whole database
(backup and restore) and into another database, of either backend (copy-db).
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .clock import iso, parse_iso
from .documents import article_json, entry_json, review_json
from .exceptions import CuratorError, UsageError
from .files import create_private, private_folder
from .store import check_backup, new_guid
from .text import strip_invisible
from .types import MAX_NOTE_CHARS

if TYPE_CHECKING:
    from .feedsfile import AddResult
    from .store import Store

EXPORT_CSV_FIELDS = ["url", "title", "status", "note", "guid", "featured_at", "note_updated_at",
                     "published", "source", "sources", "topics", "feed", "site"]
_EXPORT_HELP = "expected what `curator export` writes: JSON, or CSV with a header row"


def read_export(data: bytes) -> list[Any]:
    """The items of an export, JSON or CSV; UsageError for anything else."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UsageError(f"not a curator export: not UTF-8 text ({_EXPORT_HELP})") from e
    stripped = text.strip()
    if not stripped:
        raise UsageError(f"nothing to import: the input is empty ({_EXPORT_HELP})")
    if stripped.startswith(("{", "[")):
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as e:
            raise UsageError(f"not a valid JSON export: {e}") from e
        items = doc.get("items") if isinstance(doc, dict) else doc
        if not isinstance(items, list):
            raise UsageError("not a curator export: a JSON export is an object with an "
                             "`items` list")
        return items
    import csv

    try:
        reader = csv.DictReader(io.StringIO(text))
        header = [h.strip() for h in reader.fieldnames or []]
        if "url" not in header or not {"title", "status", "note"} & set(header):
            raise UsageError(f"not a curator export ({_EXPORT_HELP} naming url, title, status,"
                             " note…)")
        rows: list[Any] = list(reader)
    except csv.Error as e:
        raise UsageError(f"not a valid CSV export: {e}") from e
    for r in rows:
        r.pop(None, None)  # cells beyond the header
        r["topics"] = [t.strip() for t in (r.get("topics") or "").split(";") if t.strip()]
        for k in ("guid", "featured_at", "note_updated_at", "published", "note", "feed",
                  "site"):
            r[k] = r.get(k) or None
        if r.get("feed"):
            # One copy, the first source's: a CSV has no room for the others or the history.
            r["entries"] = [{"source": r.get("source") or None, "feed": r["feed"],
                             "site": r.get("site"), "title": r.get("title"), "link": r["url"],
                             "published": r.get("published")}]
    return rows


def _text_field(raw: dict[str, Any], key: str, n: int, *, required: bool = False
                ) -> str | None:
    value = raw.get(key)
    if value is None or value == "":
        if required:
            raise UsageError(f"item {n}: needs {key}")
        return None
    if not isinstance(value, str):
        raise UsageError(f"item {n}: {key} must be text")
    return strip_invisible(value)


def _time_field(raw: dict[str, Any], key: str, n: int) -> str | None:
    value = _text_field(raw, key, n)
    if value is not None:
        try:
            parse_iso(value)
        except ValueError as e:
            raise UsageError(f"item {n}: {key} must look like 2026-11-24T12:00:00Z") from e
    return value


def _http_field(raw: dict[str, Any], key: str, n: int, *, required: bool = False) -> str | None:
    from urllib.parse import urlsplit

    value = _text_field(raw, key, n, required=required)
    if value is not None:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise UsageError(f"item {n}: {key} {value!r} is not an http(s) URL")
        value = value.strip()
    return value


def _normalise_copy(raw: Any, n: int, field: str) -> dict[str, Any]:
    """One copy of an article: one of `entries` (a source's copy of the item's own article:
    its feed is required), or of `also` (a story's other article: its URL is required)."""
    if not isinstance(raw, dict):
        raise UsageError(f"item {n}: each of `{field}` is an object")
    copy = {
        "source": _text_field(raw, "source", n),
        "feed": _http_field(raw, "feed", n, required=field == "entries"),
        "site": _http_field(raw, "site", n),
        "key": _text_field(raw, "key", n),
        "title": _text_field(raw, "title", n),
        "link": _http_field(raw, "link", n),
        "published": _time_field(raw, "published", n),
        "first_seen": _time_field(raw, "first_seen", n),
    }
    if field == "also":
        from .urls import canonicalize

        copy["url"] = canonicalize(_http_field(raw, "url", n, required=True))
        if not copy["url"]:
            raise UsageError(f"item {n}: {raw['url']!r} in `also` is not an http(s) URL")
    return copy


def _normalise_history(raw: Any, n: int) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise UsageError(f"item {n}: each of `history` is an object")
    return {"action": _text_field(raw, "action", n, required=True),
            "editor": _text_field(raw, "editor", n, required=True),
            "at": _time_field(raw, "at", n) or _text_field(raw, "at", n, required=True),
            "note": _text_field(raw, "note", n)}


def _list_field(raw: dict[str, Any], key: str, n: int) -> list[Any]:
    value = raw.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise UsageError(f"item {n}: {key} must be a list")
    return value


def normalise_import(raw: Any, n: int, now: datetime) -> dict[str, Any]:
    """Item `n` of an export, checked and completed as the store takes it."""
    if not isinstance(raw, dict) or not raw.get("url"):
        raise UsageError(f"item {n}: needs a url")
    from .urls import canonicalize

    url = canonicalize(str(raw["url"]))
    if not url:
        raise UsageError(f"item {n}: {raw['url']!r} is not an http(s) URL")
    status = raw.get("status") or "featured"
    if status not in ("featured", "rejected", "new"):
        raise UsageError(f"item {n}: unknown status {status!r}")
    featured_at, note_updated_at, published, changed_at = (
        _time_field(raw, k, n) for k in ("featured_at", "note_updated_at", "published",
                                         "changed_at"))
    note = _text_field(raw, "note", n)
    if note is not None and len(note) > MAX_NOTE_CHARS:
        raise UsageError(f"item {n}: the note is over {MAX_NOTE_CHARS:,} characters")
    topics = _list_field(raw, "topics", n)
    if not all(isinstance(t, str) for t in topics):
        raise UsageError(f"item {n}: topics must be a list of names")
    featured = status == "featured"
    featured_at = (featured_at or iso(now)) if featured else None
    return {
        "url": url, "title": _text_field(raw, "title", n) or url, "status": status,
        "note": note if note is not None else ("" if featured else None),
        "guid": (_text_field(raw, "guid", n) or new_guid()) if featured else None,
        "featured_at": featured_at,
        "note_updated_at": (note_updated_at or featured_at) if featured else None,
        "published": published,
        "changed_by": _text_field(raw, "changed_by", n), "changed_at": changed_at,
        "topics": topics,
        "text": _text_field(raw, "text", n) or "",
        "entries": [_normalise_copy(c, n, "entries") for c in _list_field(raw, "entries", n)],
        "also": [_normalise_copy(a, n, "also") for a in _list_field(raw, "also", n)],
        "history": [_normalise_history(h, n) for h in _list_field(raw, "history", n)],
    }


def export(store: Store, fmt: str, statuses: Sequence[str], now: datetime) -> str:
    """The reviewed items with notes, as JSON or CSV, to move to another install."""
    rows = store.reviewed(statuses)
    items = [{
        "url": c.url, "title": c.title, "status": c.status, "note": c.note, "guid": c.guid,
        "featured_at": iso(c.featured_at), "note_updated_at": iso(c.note_updated_at),
        "published": iso(c.published), "source": c.source, "sources": list(c.sources),
        "topics": list(c.topics), "changed_by": c.changed_by, "changed_at": iso(c.changed_at),
        # The article's text: the published item quotes it, on the other install as here.
        "text": c.text or "",
        "entries": [entry_json(e) for e in c.entries],
        "also": [article_json(a) for a in c.also],
        "history": [review_json(h) for h in c.history],
    } for c in rows]
    if fmt == "json":
        return json.dumps({"curator_export": 1, "exported_at": iso(now),
                           "items": items}, ensure_ascii=False, indent=2) + "\n"
    if fmt == "csv":
        buf = io.StringIO()
        import csv

        w = csv.DictWriter(buf, fieldnames=EXPORT_CSV_FIELDS, extrasaction="ignore")
        w.writeheader()
        for c, item in zip(rows, items, strict=True):
            first = c.entries[0] if c.entries else None
            w.writerow({**item, "sources": "; ".join(c.sources), "topics": "; ".join(c.topics),
                        "feed": first and first.feed, "site": first and first.site})
        return buf.getvalue()
    raise UsageError(f"unknown export format {fmt!r} (json or csv)")


def import_items(store: Store, data: bytes, *, editor: str, now: datetime) -> dict[str, int]:
    """Apply an export (JSON or CSV) whole or not at all; items match candidates by URL."""
    # Every item is checked before anything is written: a bad one changes nothing.
    items = [normalise_import(raw, n, now) for n, raw in enumerate(read_export(data), 1)]
    return store.import_reviewed(items, editor=editor, now=now)


def opml(store: Store, title: str, now: datetime) -> bytes:
    """The configured sources as OPML 2.0."""
    from .opml import Outline, export_opml

    outlines = [Outline(url=s.url, title=s.name or s.title, site=s.link)
                for s in store.sources()]
    return export_opml(title, outlines, now)


def import_opml(config_path: Path, data: bytes, where: str) -> AddResult:
    """Add an OPML file's feeds to feeds.yaml, changing only the lines added; returns what
    was added and what was skipped (already there, listed twice, not http/https)."""
    from .feedsfile import add_sources
    from .opml import parse_opml

    outlines = parse_opml(data, where)
    return add_sources(config_path, [(o.url, o.title) for o in outlines])


# ------------------------------------------------------------------ copies of the database


def _reserve(folder: Path, prefix: str, suffix: str, when: datetime) -> Path:
    """Claim a new file `<prefix><UTC time to the ms>Z<suffix>` in `folder` (0600, empty).

    Names sort in the order taken; one taken in the same millisecond (or by a frozen clock)
    moves on a millisecond, so no copy ever replaces another.
    """
    utc = when.astimezone(UTC)
    while True:
        path = folder / f"{prefix}{utc:%Y%m%dT%H%M%S}.{utc.microsecond // 1000:03d}Z{suffix}"
        if create_private(path):
            return path
        utc += timedelta(milliseconds=1)


def _sqlite_only(database: Path | str) -> Path:
    """The SQLite file; on PostgreSQL, backups are the server's own tools' work."""
    if not isinstance(database, Path):
        from .store.base import SQLITE_ONLY

        raise UsageError(SQLITE_ONLY)
    return database


def backup(store: Store, database: Path | str, target: str | Path, now: datetime) -> Path:
    """An online copy of the database (safe while polls and editors write), mode 0600.

    A folder (or a path ending in /) gets a new `curator-<time>.db`, never one already there;
    a missing last folder is made (0700), a missing path above it is refused, like mkdir.
    """
    database = _sqlite_only(database)
    path = Path(target)
    into_folder = path.is_dir() or str(target).endswith(("/", os.sep))
    folder = path if into_folder else path.parent
    try:
        if not folder.is_dir():
            if not folder.parent.is_dir():
                raise UsageError(f"no folder {folder.parent} to put the backup in; "
                                 "make it first (curator backup makes only the last folder)")
            private_folder(folder, parents=False)
        if into_folder:
            path = _reserve(folder, "curator-", ".db", now)
        elif path.resolve() == database.resolve():
            raise UsageError("the backup must not be the database itself")
        try:
            store.backup(path)
        except BaseException:
            if into_folder:
                path.unlink(missing_ok=True)
            raise
    except OSError as e:
        raise UsageError(f"cannot write the backup {path}: {e.strerror or e}") from e
    return path


def restore(store: Store, database: Path | str, source: str | Path, now: datetime) -> Path:
    """Replace the database with a backup, after checking it; keeps a copy of the current one
    and returns its path. `store` is closed: the caller opens the database again (which
    migrates a backup from an older version)."""
    database = _sqlite_only(database)
    src = Path(source)
    if not src.is_file():
        raise UsageError(f"no backup file at {src}")
    try:
        ok, version = check_backup(src)  # read as it is: nothing is written beside it
    except CuratorError as e:
        raise UsageError(f"{src} is not a usable curator database: {e}") from e
    if not ok:
        raise UsageError(f"{src} fails SQLite's integrity check; not restored")
    if not version:
        raise UsageError(f"{src} is not a curator database (no curator schema)")
    db = database
    keep = _reserve(db.parent, f"{db.name}.before-restore-", ".bak", now)
    store.backup(keep)
    store.restore_from(src)
    store.close()
    return keep


def copy_db(store: Store, database: str | Path, target: str, *, replace: bool, now: datetime,
            progress: Callable[[str, int, int], None] | None = None) -> dict[str, Any]:
    """Copy everything in `store` into the database `target`, in one transaction there, checked.

    A target that holds data is refused unless `replace` (then it is emptied in the same
    transaction). Before committing, the row counts of every table must agree on both sides and
    `export` of both must be the same, else nothing is written. Returns the rows per table.
    """
    from .dburl import describe, is_postgres
    from .store import Store
    from .store.copy import copy_tables, held, row_counts

    if not str(target).strip():
        raise UsageError("copy-db needs a target: a SQLite file or a postgresql:// URL")
    shown = describe(target)  # never the password
    same = (shown == describe(database) if is_postgres(target) else
            not is_postgres(database) and Path(target).resolve() == Path(database).resolve())
    if same:
        raise UsageError(f"the target {shown} is the configured database itself")
    dest = Store(target, migrate=False)
    try:
        there = held(dest)
        if there and not replace:
            rows = ", ".join(f"{n:,} in {t}" for t, n in sorted(there.items(), key=lambda x: -x[1]))
            raise UsageError(f"{shown} already holds data ({rows}); copy-db writes only into an "
                             "empty database (--replace empties it first)")
    finally:
        dest.close()
    dest = Store(target)  # now migrated to this version's schema
    dest.stories.window = store.stories.window
    try:
        with store.snapshot():
            totals = row_counts(store)
            tick = None if progress is None else (
                lambda table, n: progress(table, n, totals[table]))
            with dest.write():
                copied = copy_tables(store, dest, replace=replace, progress=tick)
                _check_copy(store, dest, shown, totals, copied, now)
    finally:
        dest.close()
    return {"target": shown, "tables": copied, "rows": sum(copied.values()), "checked": True}


def _check_copy(store: Store, dest: Store, target: str, totals: dict[str, int],
                copied: dict[str, int], now: datetime) -> None:
    """Raise (so the copy's transaction rolls back) unless the copy has what the original has."""
    from .store.copy import row_counts

    theirs = row_counts(dest)
    wrong = [f"{t}: {totals[t]:,} here, {theirs[t]:,} there" for t in totals
             if not totals[t] == copied[t] == theirs[t]]
    if wrong:
        raise CuratorError(f"copy to {target} not committed: the row counts differ "
                           f"({'; '.join(wrong)})")
    reviewed = ("featured", "rejected")
    if export(store, "json", reviewed, now) != export(dest, "json", reviewed, now):
        raise CuratorError(f"copy to {target} not committed: `curator export` of the copy differs "
                           "from the original's")
