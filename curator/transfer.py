"""Moving an editor's work and the source list between installs: the export (JSON or CSV) and its
import, OPML out of the stored sources and into feeds.yaml, and copies of the whole database
(backup and restore).
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .clock import iso, parse_iso
from .documents import review_json
from .exceptions import CuratorError, UsageError
from .files import create_private, private_folder
from .store import check_backup, new_guid
from .types import MAX_NOTE_CHARS

if TYPE_CHECKING:
    from .feedsfile import AddResult
    from .store import Store

EXPORT_CSV_FIELDS = ["url", "title", "status", "note", "guid", "featured_at", "note_updated_at",
                     "published", "source", "sources", "topics"]


def read_export(text: str) -> list[dict[str, Any]]:
    """The items of an export, JSON or CSV (told apart by the first character)."""
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as e:
            raise UsageError(f"not a valid JSON export: {e}") from e
        items = doc.get("items") if isinstance(doc, dict) else doc
        if not isinstance(items, list):
            raise UsageError("a JSON export has an `items` list")
        return items
    import csv

    rows = list(csv.DictReader(io.StringIO(text)))
    if rows and "url" not in rows[0]:
        raise UsageError("a CSV export needs a `url` column")
    for r in rows:
        r["topics"] = [t.strip() for t in (r.get("topics") or "").split(";") if t.strip()]
        for k in ("guid", "featured_at", "note_updated_at", "published", "note"):
            r[k] = r.get(k) or None
    return rows


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
    for k in ("featured_at", "note_updated_at", "published"):
        if raw.get(k):
            try:
                parse_iso(raw[k])
            except ValueError as e:
                raise UsageError(f"item {n}: {k} must look like 2026-11-24T12:00:00Z") from e
    note = raw.get("note")
    if note is not None and len(note) > MAX_NOTE_CHARS:
        raise UsageError(f"item {n}: the note is over {MAX_NOTE_CHARS:,} characters")
    featured = status == "featured"
    featured_at = (raw.get("featured_at") or iso(now)) if featured else None
    return {
        "url": url, "title": raw.get("title") or url, "status": status,
        "note": note if note is not None else ("" if featured else None),
        "guid": (raw.get("guid") or new_guid()) if featured else None,
        "featured_at": featured_at,
        "note_updated_at": (raw.get("note_updated_at") or featured_at) if featured else None,
        "published": raw.get("published") or None,
        "topics": [str(t) for t in raw.get("topics") or []],
    }


def export(store: Store, fmt: str, statuses: Sequence[str], now: datetime) -> str:
    """The reviewed items with notes, as JSON or CSV, to move to another install."""
    rows = store.reviewed(statuses)
    items = [{
        "url": c.url, "title": c.title, "status": c.status, "note": c.note, "guid": c.guid,
        "featured_at": iso(c.featured_at), "note_updated_at": iso(c.note_updated_at),
        "published": iso(c.published), "source": c.source, "sources": list(c.sources),
        "topics": list(c.topics), "history": [review_json(h) for h in c.history],
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
            w.writerow({**item, "sources": "; ".join(c.sources), "topics": "; ".join(c.topics)})
        return buf.getvalue()
    raise UsageError(f"unknown export format {fmt!r} (json or csv)")


def import_items(store: Store, text: str, *, editor: str, now: datetime) -> dict[str, int]:
    """Apply an export (JSON or CSV); items match existing candidates by canonical URL."""
    items = read_export(text)
    counts = {"added": 0, "updated": 0, "unchanged": 0}
    for n, raw in enumerate(items, 1):
        item = normalise_import(raw, n, now)
        counts[store.import_reviewed(item, editor=editor, now=now)] += 1
    return counts


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


def backup(store: Store, database: Path, target: str | Path, now: datetime) -> Path:
    """An online copy of the database (safe while polls and editors write), mode 0600.

    A folder (or a path ending in /) gets a new `curator-<time>.db`, never one already there;
    a missing last folder is made (0700), a missing path above it is refused, like mkdir.
    """
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


def restore(store: Store, database: Path, source: str | Path, now: datetime) -> Path:
    """Replace the database with a backup, after checking it; keeps a copy of the current one
    and returns its path. `store` is closed: the caller opens the database again (which
    migrates a backup from an older version)."""
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
