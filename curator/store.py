"""All of curator's SQL: sources and their health, entries, candidates, features and the review log."""

from __future__ import annotations

import functools
import logging
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from . import storystore
from .clock import iso
from .exceptions import NotFound, StoreError, UsageError
from .files import PRIVATE_DIR, PRIVATE_FILE, create_private, private_folder, tighten
from .schema import MIGRATION_SET, MIGRATIONS
from .storystore import StoryIndex
from .types import EntryData

log = logging.getLogger("curator")

BUSY_TIMEOUT_S = 60.0
STORY_WINDOW_S = 48 * 3600  # the default of feeds.yaml's stories.window
#: Candidates an editor made by hand (`curator promote`): they stay without a topic match.
PROMOTED = "SELECT candidate_id FROM review_log WHERE action = 'promote'"
STATUSES = ("new", "featured", "rejected")
_CHUNK = 500  # SQLite allows 32766 variables; stay well under while keeping round trips few

F = TypeVar("F", bound=Callable[..., Any])


def _converts_errors(fn: F) -> F:
    """Turn sqlite3 errors into StoreError, naming the database: the one place this happens."""

    @functools.wraps(fn)
    def wrapper(self: Store, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(self, *args, **kwargs)
        except sqlite3.Error as e:
            raise StoreError(f"database {self.path}: {e}") from e

    return wrapper  # type: ignore[return-value]


def new_guid() -> str:
    """A new feature's guid: a random UUID URN, stable for the life of the feature."""
    import uuid  # loaded on first feature, not by every command

    return f"urn:uuid:{uuid.uuid4()}"


def entry_hash(e: EntryData) -> str:
    """What decides that a stored entry changed and must be updated in place."""
    import hashlib  # here: a command that only reads never needs it (start-up time)

    h = hashlib.sha256()
    for part in (e.title, e.summary, e.content, e.link or "", e.author or "", iso(e.published) or ""):
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()


@dataclass(frozen=True)
class SaveResult:
    new: int
    updated: int
    new_candidates: int


_warned_shared: set[Path] = set()


def _protect(path: Path) -> None:
    """The database's folder 0700 and its files 0600, whatever the umask; tightens older ones.

    They hold the session-signing key and the password hashes. SQLite gives the -wal, -shm and
    journal files the database file's mode, so creating that one 0600 covers them. A folder that
    also holds other things (a project or web root) is left as it is, with a warning: its
    curator files are still 0600.
    """
    folder = path.parent
    private_folder(folder)
    names = sorted(os.listdir(folder))
    mine = [n for n in names if n.startswith(path.name)]
    changed = []
    if len(mine) == len(names):
        old = tighten(folder, PRIVATE_DIR)
        if old is not None:
            changed.append(f"{folder}/ (was {old:o})")
    elif os.stat(folder).st_mode & 0o077 and folder not in _warned_shared:
        _warned_shared.add(folder)
        log.warning("the database's folder %s is open to other users and holds other files; "
                    "curator's files in it are kept 0600, but give the database a folder of "
                    "its own (the default db/) that curator can keep private", folder)
    create_private(path)
    for name in mine:
        old = tighten(folder / name, PRIVATE_FILE)
        if old is not None:
            changed.append(f"{name} (was {old:o})")
    if changed:
        log.warning("made the database's files private to this user (folder 0700, files 0600): "
                    "%s; they hold the session key and password hashes", ", ".join(changed))


def _applied(conn: sqlite3.Connection) -> list[str]:
    """The curator migrations a database has applied, in order."""
    try:
        rows = conn.execute("SELECT name FROM _sqlite_migrations WHERE migration_set = ?"
                            " ORDER BY rowid", (MIGRATION_SET,)).fetchall()
    except sqlite3.OperationalError:  # no migrations table: a new database
        return []
    return [r[0] for r in rows]


def _open_backup(source: Path) -> sqlite3.Connection:
    """A read-only connection to a backup that writes nothing beside it (no -wal, no -shm)."""
    # A WAL-mode file opened read-only makes -wal and -shm that it cannot remove on close;
    # "immutable" reads the file alone. A -wal already there (a copy of a live database) holds
    # committed data, so then the file is read as a database in use is.
    flag = "mode=ro" if source.with_name(source.name + "-wal").exists() else "immutable=1"
    return sqlite3.connect(f"{source.resolve().as_uri()}?{flag}", uri=True)


def check_backup(source: Path) -> tuple[bool, list[str]]:
    """Whether a backup passes SQLite's integrity check, and the curator migrations it has."""
    try:
        conn = _open_backup(source)
        try:
            ok = conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            return ok, _applied(conn)
        finally:
            conn.close()
    except sqlite3.Error as e:
        raise StoreError(f"database {source}: {e}") from e


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


class Store:
    """One SQLite database, opened with WAL and a busy timeout, migrated on open."""

    def __init__(self, path: str | Path, *, migrate: bool = True) -> None:
        self.path = Path(path)
        #: Story grouping; the window is the config's `stories.window` (Curator sets it).
        self.stories = StoryIndex(STORY_WINDOW_S)
        try:
            if not self.path.name.startswith(":"):
                _protect(self.path)
            existed = self.path.exists() and self.path.stat().st_size > 0
            conn = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_S, isolation_level=None,
                                   check_same_thread=False)
            self.conn = conn
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal" and not self.path.name.startswith(":"):
                raise StoreError(f"database {self.path}: could not switch to WAL (got {mode})")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            if migrate:
                self._migrate(existed)
        except (sqlite3.Error, OSError) as e:
            why = (e.strerror or e) if isinstance(e, OSError) else e
            if not os.access(self.path.parent, os.W_OK) or (
                    self.path.exists() and not os.access(self.path, os.W_OK)):
                raise StoreError(
                    f"database {self.path}: it or its folder is read-only; curator writes the "
                    f"database and its -wal and -shm files beside it ({why})") from e
            raise StoreError(f"database {self.path}: {why}") from e

    # ------------------------------------------------------------ lifecycle

    @functools.cached_property
    def db(self) -> Any:
        """The sqlite-utils view of the connection (migrations, inspection); made on first use."""
        from sqlite_utils import Database

        return Database(self.conn)

    @functools.cached_property
    def has_stories(self) -> bool:
        """False only for a database opened unmigrated from before stories (migration 0005)."""
        return self.conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table'"
                                 " AND name = 'story_articles'").fetchone() is not None

    def _applied(self) -> list[str]:
        return _applied(self.conn)

    def _migrate(self, existed: bool) -> None:
        applied = self._applied()
        if tuple(applied) == MIGRATIONS:
            return  # up to date: the common case costs one query
        from .migrations import migrations

        known = {m.name for m in migrations._migrations}
        unknown = [name for name in applied if name not in known]
        if unknown or len(applied) > len(MIGRATIONS):
            raise StoreError(
                f"database {self.path} was made by a newer curator (schema {len(applied)}, "
                f"this version knows {len(MIGRATIONS)}); upgrade curator or use a backup")
        pending = migrations.pending(self.db)
        if not pending:
            return
        if existed and applied:
            # An upgrade rewrites tables: keep a copy of what the older version wrote.
            backup = self.path.with_name(f"{self.path.name}.before-{pending[0].name}.bak")
            self.backup(backup)
        migrations.apply(self.db)

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    @_converts_errors
    def backup(self, target: str | Path) -> None:
        """Copy the database with SQLite's online backup (safe while others write), mode 0600.

        The copy is one self-contained file (rollback journal, not WAL): opening it later leaves
        no -wal or -shm beside it. Its folder must exist: the caller decides what may be made.
        """
        import tempfile

        target = Path(target)
        # mkstemp makes the file 0600 (the backup API then keeps it) and never follows a link.
        fd, tmp = tempfile.mkstemp(prefix=f"{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
        try:
            dest = sqlite3.connect(tmp)
            try:
                self.conn.backup(dest)
                dest.execute("PRAGMA journal_mode = DELETE")
            finally:
                dest.close()
            os.replace(tmp, target)
        except BaseException:
            with suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    @contextmanager
    def write(self) -> Iterator[None]:
        """One write transaction, taken with BEGIN IMMEDIATE so it waits rather than fails."""
        conn = self.conn
        if conn.in_transaction:
            yield
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as e:
            raise StoreError(f"database {self.path}: {e}") from e
        try:
            yield
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        else:
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as e:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise StoreError(f"database {self.path}: {e}") from e

    def _q(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        cur = self.conn.execute(sql, params)
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]

    def _one(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> dict[str, Any] | None:
        rows = self._q(sql, params)
        return rows[0] if rows else None

    # ------------------------------------------------------------ state

    @_converts_errors
    def get_state(self, key: str) -> str | None:
        """A small named value (publish marker and the like)."""
        row = self._one("SELECT value FROM state WHERE key = ?", (key,))
        return None if row is None else row["value"]

    @_converts_errors
    def set_state(self, key: str, value: str | None) -> None:
        """Set a small named value."""
        self.set_states({key: value})

    @_converts_errors
    def set_states(self, values: dict[str, str | None]) -> None:
        """Set several small named values in one transaction."""
        with self.write():
            self.conn.executemany(
                "INSERT INTO state (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value", list(values.items()))

    @_converts_errors
    def change_marker(self) -> str:
        """Changes whenever anything that the published feed shows may have changed."""
        # An article joining a story changes its "Also covered by"; splits and merges are logged.
        row = self._one("SELECT (SELECT max(id) FROM review_log) AS r, "
                        "(SELECT count(*) FROM candidates WHERE status = 'featured') AS f, "
                        + ("(SELECT max(rowid) FROM story_articles)" if self.has_stories
                           else "NULL") + " AS a")
        assert row is not None
        return f"{row['r'] or 0}:{row['f']}:{row['a'] or 0}"

    # ------------------------------------------------------------ sources

    @_converts_errors
    def sync_sources(self, configured: Iterable[tuple[str, str | None, int | None]],
                     now: datetime) -> None:
        """Make the sources table follow feeds.yaml; sources removed from it keep their entries."""
        rows = list(configured)
        stamp = iso(now)
        with self.write():
            conn = self.conn
            conn.execute("UPDATE sources SET in_config = 0 WHERE in_config = 1")
            for url, name, interval in rows:
                conn.execute(
                    "INSERT INTO sources (url, url_in_use, name, interval, in_config, next_due, added)"
                    " VALUES (?, ?, ?, ?, 1, ?, ?) ON CONFLICT (url) DO UPDATE SET"
                    " name = excluded.name, interval = excluded.interval, in_config = 1",
                    (url, url, name, interval, stamp, stamp))

    @_converts_errors
    def sources(self, *, in_config: bool = True) -> list[dict[str, Any]]:
        """Every source (those in feeds.yaml unless in_config=False), in feeds.yaml order of adding."""
        where = "WHERE in_config = 1" if in_config else ""
        return self._q(f"SELECT * FROM sources {where} ORDER BY id")

    @_converts_errors
    def source(self, source_id: int) -> dict[str, Any]:
        """One source by id."""
        row = self._one("SELECT * FROM sources WHERE id = ?", (source_id,))
        if row is None:
            raise NotFound("source", source_id)
        return row

    @_converts_errors
    def find_source(self, url_or_name: str) -> dict[str, Any]:
        """A configured source by its feeds.yaml URL, its URL in use, or its name (any case)."""
        rows = self._q(
            "SELECT * FROM sources WHERE in_config = 1 AND (url = ? OR url_in_use = ? "
            "OR lower(name) = lower(?) OR (name IS NULL AND lower(title) = lower(?)))",
            (url_or_name, url_or_name, url_or_name, url_or_name))
        if not rows:
            raise NotFound("source", url_or_name)
        if len(rows) > 1:
            raise UsageError(f"{url_or_name!r} names {len(rows)} sources; use the URL")
        return rows[0]

    @_converts_errors
    def update_source(self, source_id: int, **fields: Any) -> None:
        """Record a poll's outcome on a source (its own transaction, unless inside one)."""
        if not fields:
            return
        cols = ", ".join(f"{k} = ?" for k in fields)
        with self.write():
            self.conn.execute(f"UPDATE sources SET {cols} WHERE id = ?",
                                 (*fields.values(), source_id))

    @_converts_errors
    def enable_source(self, source_id: int, *, editor: str | None, now: datetime
                      ) -> dict[str, Any]:
        """Clear a source's disabled state and back-off, due now, and log who did it: together.

        The row comes back with `cleared`: "disabled", "back-off", or None when there was
        nothing to clear (then nothing is changed or logged), and `cleared_failures`.
        """
        stamp = iso(now) or ""
        with self.write():
            # Read inside the transaction: the log says what this enable cleared, not what a
            # poll that finished a moment earlier had left.
            row = self.source(source_id)
            if row["disabled"]:
                cleared: str | None = "disabled"
            elif row["failures"] or (row["retry_after"] or "") > stamp:
                cleared = "back-off"
            else:
                return {**row, "cleared": None, "cleared_failures": 0}
            self.conn.execute(
                "UPDATE sources SET disabled = NULL, failures = 0, retry_after = NULL,"
                " failing_since = NULL, error = NULL, next_due = ? WHERE id = ?",
                (stamp, source_id))
            self.log_activity("enable", editor=editor, now=now, source_id=source_id,
                              detail=row["disabled"] or row["error"])
            return {**self.source(source_id), "cleared": cleared,
                    "cleared_failures": int(row["failures"] or 0)}

    # ------------------------------------------------------------ activity log

    @_converts_errors
    def log_activity(self, action: str, *, editor: str | None, now: datetime,
                     source_id: int | None = None, detail: str | None = None) -> None:
        """Append to the activity log (inside the caller's transaction, when there is one)."""
        with self.write():
            self.conn.execute(
                "INSERT INTO activity_log (action, source_id, editor, at, detail)"
                " VALUES (?, ?, ?, ?, ?)", (action, source_id, editor, iso(now), detail))

    @_converts_errors
    def last_enabled(self) -> dict[int, dict[str, Any]]:
        """Each re-enabled source's newest enable (editor, at, detail), by source id."""
        rows = self._q(
            "SELECT source_id, editor, at, detail FROM activity_log WHERE id IN"
            " (SELECT max(id) FROM activity_log WHERE action = 'enable'"
            " AND source_id IS NOT NULL GROUP BY source_id)")
        return {r["source_id"]: r for r in rows}

    @_converts_errors
    def disable_source(self, source_id: int, reason: str, *, editor: str | None,
                       now: datetime) -> dict[str, Any]:
        """Stop polling a source until it is enabled again, and log who did it: together."""
        with self.write():
            self.conn.execute("UPDATE sources SET disabled = ? WHERE id = ?", (reason, source_id))
            self.log_activity("disable", editor=editor, now=now, source_id=source_id,
                              detail=reason)
            return self.source(source_id)

    @_converts_errors
    def source_counts(self) -> dict[int, dict[str, int]]:
        """Per source id: entries stored, and the candidates among them."""
        out: dict[int, dict[str, int]] = {}
        for sid, n in self.conn.execute(
                "SELECT source_id, count(*) FROM entries GROUP BY source_id"):
            out[sid] = {"entries": n, "candidates": 0}
        for sid, n in self.conn.execute(
                "SELECT e.source_id, count(DISTINCT c.id) FROM candidates c"
                " JOIN entries e ON e.url = c.url GROUP BY e.source_id"):
            out.setdefault(sid, {"entries": 0, "candidates": 0})["candidates"] = n
        return out

    @_converts_errors
    def topic_counts(self) -> dict[str, dict[str, int]]:
        """Per topic: how many candidates it matched, by status."""
        out: dict[str, dict[str, int]] = {}
        for topic, status, n in self.conn.execute(
                "SELECT t.topic, c.status, count(*) FROM candidate_topics t"
                " JOIN candidates c ON c.id = t.candidate_id GROUP BY 1, 2"):
            out.setdefault(topic, dict.fromkeys(STATUSES, 0))[status] = n
        return out

    @_converts_errors
    def activity(self, actions: str | Sequence[str], limit: int = 10, *,
                 sources: bool = False) -> list[dict[str, Any]]:
        """The newest activity-log rows of these kinds, newest first; with `sources`, each
        also names its source (`source_url`, `source_name`)."""
        if isinstance(actions, str):
            actions = (actions,)
        marks = ",".join("?" * len(actions))
        extra = (", s.url AS source_url, coalesce(s.name, s.title, s.url) AS source_name"
                 if sources else "")
        return self._q(
            f"SELECT a.id, a.action, a.source_id, a.editor, a.at, a.detail{extra}"
            " FROM activity_log a LEFT JOIN sources s ON s.id = a.source_id"
            f" WHERE a.action IN ({marks}) ORDER BY a.id DESC LIMIT ?", (*actions, limit))

    # ------------------------------------------------------------ entries

    @contextmanager
    def _isolated(self, name: str) -> Iterator[None]:
        """Inside a caller's transaction, make a block all-or-nothing with a savepoint."""
        conn = self.conn
        if not conn.in_transaction:
            with self.write():
                yield
            return
        conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            try:
                conn.execute(f"ROLLBACK TO {name}")
                conn.execute(f"RELEASE {name}")
            except sqlite3.Error:
                pass  # SQLite already rolled the whole transaction back
            raise
        conn.execute(f"RELEASE {name}")

    @_converts_errors
    def save_entries(self, source_id: int, entries: Sequence[EntryData],
                     topics: Sequence[Sequence[str]], now: datetime,
                     source_fields: dict[str, Any] | None = None) -> SaveResult:
        """Store a source's entries and their topic matches, then the source's own fields.

        One transaction: the entries first and the source's caching headers last, so a crash
        costs only a refetch. Inside a caller's transaction (a poll groups several sources into
        one), a savepoint keeps this source's writes all-or-nothing.
        """
        stamp = iso(now)
        # Feeds sometimes repeat an entry; the first copy wins, as in the feed's order.
        batch: dict[str, tuple[EntryData, Sequence[str]]] = {}
        for e, t in zip(entries, topics, strict=True):
            batch.setdefault(e.key, (e, t))
        new = updated = new_candidates = 0
        with self._isolated("save_entries"):
            conn = self.conn
            existing: dict[str, tuple[int, str]] = {}
            keys = list(batch)
            for chunk in _chunks(keys):
                marks = ",".join("?" * len(chunk))
                for eid, key, h in conn.execute(
                        f"SELECT id, key, hash FROM entries WHERE source_id = ? AND key IN ({marks})",
                        (source_id, *chunk)):
                    existing[key] = (eid, h)
            touched_urls: set[str] = set()
            unchanged: list[str] = []  # new and updated rows get last_seen as they are written
            for key, (e, t) in batch.items():
                h = entry_hash(e)
                if e.url and (key not in existing or existing[key][1] != h):
                    stored = self._stored_spelling(e.url, existing[key][0] if key in existing
                                                   else None)
                    if stored != e.url:
                        e = replace(e, url=stored)
                row = (e.url, e.link, e.title, e.summary, e.content, e.text, e.author,
                       iso(e.published), iso(e.updated), h)
                if key not in existing:
                    cur = conn.execute(
                        "INSERT INTO entries (url, link, title, summary, content, text, author,"
                        " published, updated, hash, source_id, key, first_seen, last_seen)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (*row, source_id, key, stamp, stamp))
                    eid = int(cur.lastrowid or 0)
                    new += 1
                    if t:
                        conn.executemany("INSERT INTO entry_topics (entry_id, topic) VALUES (?, ?)",
                                         [(eid, name) for name in t])
                        new_candidates += self._add_candidate(eid, e, t, stamp, source_id, now)
                else:
                    eid, old_hash = existing[key]
                    if old_hash == h:
                        unchanged.append(key)
                        continue
                    old_url = conn.execute("SELECT url FROM entries WHERE id = ?",
                                           (eid,)).fetchone()[0]
                    conn.execute(
                        "UPDATE entries SET url = ?, link = ?, title = ?, summary = ?, content = ?,"
                        " text = ?, author = ?, published = ?, updated = ?, hash = ?, last_seen = ?"
                        " WHERE id = ?", (*row, stamp, eid))
                    updated += 1
                    conn.execute("DELETE FROM entry_topics WHERE entry_id = ?", (eid,))
                    conn.executemany("INSERT INTO entry_topics (entry_id, topic) VALUES (?, ?)",
                                     [(eid, name) for name in t])
                    if t:
                        new_candidates += self._add_candidate(eid, e, t, stamp, source_id, now)
                    conn.execute(
                        "UPDATE candidates SET title = ?, published = ?,"
                        " sort_time = coalesce(?, first_seen) WHERE entry_id = ?",
                        (e.title, iso(e.published), iso(e.published), eid))
                    touched_urls.update(u for u in (old_url, e.url) if u)
            for url in touched_urls:
                self._refresh_candidate(url)
            if unchanged:
                for chunk in _chunks(unchanged):
                    marks = ",".join("?" * len(chunk))
                    conn.execute(f"UPDATE entries SET last_seen = ? WHERE source_id = ? "
                                 f"AND key IN ({marks}) AND last_seen != ?",
                                 (stamp, source_id, *chunk, stamp))
            if source_fields:
                cols = ", ".join(f"{k} = ?" for k in source_fields)
                conn.execute(f"UPDATE sources SET {cols} WHERE id = ?",
                             (*source_fields.values(), source_id))
        return SaveResult(new=new, updated=updated, new_candidates=new_candidates)

    def _stored_spelling(self, url: str, entry_id: int | None = None) -> str:
        """The spelling under which this article is already stored, else url itself.

        Canonical URLs change when the tracking-parameter list grows: an article stored as
        `…/a?at_medium=RSS` is `…/a` for the new rules. Its candidate keeps the URL it has (it is
        what the editors saw and what the feeds link), and a copy arriving under the new spelling
        joins it rather than making a second candidate.
        """
        from .urls import canonicalize

        conn = self.conn
        if entry_id is not None:
            row = conn.execute("SELECT url FROM entries WHERE id = ?", (entry_id,)).fetchone()
            if row and row[0] and row[0] != url and canonicalize(row[0]) == url:
                return str(row[0])
        path = url.split("?", 1)[0]
        # The same path with the exact query, or with any query (an older spelling has one):
        # two index lookups on each table's URL index.
        for table in ("candidates", "entries"):
            rows = [r[0] for r in conn.execute(
                f"SELECT url FROM {table} WHERE url = ? OR (url >= ? AND url < ?) LIMIT 64",
                (url, path + "?", path + "@"))]
            if url in rows:
                return url
            for stored in rows:
                if stored and canonicalize(stored) == url:
                    return str(stored)
        return url

    def _add_candidate(self, entry_id: int, e: EntryData, topics: Sequence[str], stamp: str | None,
                       source_id: int, now: datetime) -> int:
        """Make the entry's URL a candidate, or join the candidate of its URL or its story.

        1 if it made a new candidate. Only an entry whose URL is new looks for a story: one
        already a candidate, or already in a story, stays where it is (the editor's splits hold).
        """
        if not e.url:
            return 0
        conn = self.conn
        known = conn.execute("SELECT 1 FROM candidates WHERE url = ?", (e.url,)).fetchone()
        if known is None and self.has_stories:
            cid = storystore.story_of(conn, e.url)
            if cid is None:
                cid = self.stories.place(conn, entry_id, source_id, e, now)
                if cid is not None:
                    self.stories.join(conn, cid, entry_id, e, stamp)
            if cid is not None:
                conn.executemany(
                    "INSERT OR IGNORE INTO candidate_topics (candidate_id, topic) VALUES (?, ?)",
                    [(cid, name) for name in topics])
                return 0
        published = iso(e.published)
        cur = conn.execute(
            "INSERT INTO candidates (url, entry_id, title, published, sort_time, first_seen)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (url) DO NOTHING",
            (e.url, entry_id, e.title, published, published or stamp, stamp))
        created = cur.rowcount == 1
        cid = conn.execute("SELECT id FROM candidates WHERE url = ?", (e.url,)).fetchone()[0]
        if created and self.has_stories:
            self.stories.index(conn, cid, entry_id, e)
        conn.executemany("INSERT OR IGNORE INTO candidate_topics (candidate_id, topic) VALUES (?, ?)",
                         [(cid, name) for name in topics])
        return 1 if created else 0

    def _refresh_candidate(self, url: str) -> None:
        """Recompute a candidate's topics from its entries; drop it if it is new and matches none."""
        conn = self.conn
        row = conn.execute("SELECT id, status FROM candidates WHERE url = ?", (url,)).fetchone()
        if row is None:
            return
        cid, status = row
        topics = [r[0] for r in conn.execute(
            "SELECT DISTINCT t.topic FROM entries e JOIN entry_topics t ON t.entry_id = e.id"
            " WHERE e.url = ?", (url,))]
        conn.execute("DELETE FROM candidate_topics WHERE candidate_id = ?", (cid,))
        conn.executemany("INSERT INTO candidate_topics (candidate_id, topic) VALUES (?, ?)",
                         [(cid, t) for t in topics])
        if not topics and status == "new":
            # A suggestion never had topics: the relevance refresh decides whether it stays.
            # One an editor promoted stays.
            conn.execute("DELETE FROM candidates WHERE id = ? AND suggested = 0"
                         f" AND id NOT IN ({PROMOTED})", (cid,))
        elif topics:
            # The entry that made it a candidate may have moved to another URL.
            primary = conn.execute(
                "SELECT e.id, e.title, e.published FROM entries e JOIN entry_topics t"
                " ON t.entry_id = e.id WHERE e.url = ? ORDER BY e.id LIMIT 1", (url,)).fetchone()
            current = conn.execute("SELECT entry_id FROM candidates WHERE id = ?",
                                   (cid,)).fetchone()[0]
            cur_url = conn.execute("SELECT url FROM entries WHERE id = ?", (current,)).fetchone()
            if primary and (cur_url is None or cur_url[0] != url):
                conn.execute("UPDATE candidates SET entry_id = ?, title = ?, published = ?,"
                             " sort_time = coalesce(?, first_seen) WHERE id = ?",
                             (primary[0], primary[1], primary[2], primary[2], cid))

    def match_all(self, match: Callable[[str, str], list[str]]
                  ) -> tuple[int, int, list[tuple[int, str]]]:
        """Apply `match(title, text)` to every stored entry, holding no lock.

        Returns (entries matched, the newest entry id looked at, (entry id, topic) pairs).
        """
        conn = self.conn
        # WAL readers never block writers: at a million entries this takes minutes, and the
        # desk and the scheduler must go on writing meanwhile. Entries stored after this point
        # keep the topics their poll gave them.
        newest = conn.execute("SELECT coalesce(max(id), 0) FROM entries").fetchone()[0]
        pairs: list[tuple[int, str]] = []
        count = last = 0
        while True:
            rows = conn.execute(
                "SELECT id, title, text FROM entries WHERE id > ? AND id <= ? ORDER BY id"
                " LIMIT 2000", (last, newest)).fetchall()
            if not rows:
                break
            for eid, title, text in rows:
                pairs.extend((eid, name) for name in match(title or "", text or ""))
            count += len(rows)
            last = rows[-1][0]
        return count, newest, pairs

    @_converts_errors
    def rematch(self, match: Callable[[str, str], list[str]], now: datetime
                ) -> tuple[int, int, int]:
        """Apply `match(title, text)` to every stored entry; returns (entries, new, dropped)."""
        stamp = iso(now)
        conn = self.conn
        count, newest, pairs = self.match_all(match)
        with self.write():
            before = {r[0] for r in conn.execute("SELECT url FROM candidates")}
            conn.execute("DELETE FROM entry_topics WHERE entry_id <= ?", (newest,))
            # OR IGNORE: an entry deleted by retention meanwhile has no row to attach to anyway.
            conn.executemany("INSERT OR IGNORE INTO entry_topics (entry_id, topic)"
                             " SELECT ?, ? WHERE EXISTS (SELECT 1 FROM entries WHERE id = ?1)",
                             pairs)
            conn.execute("DELETE FROM candidate_topics")
            # Every matched URL becomes (or stays) a candidate; its first matched entry leads it.
            conn.execute(
                "INSERT INTO candidates (url, entry_id, title, published, sort_time, first_seen)"
                " SELECT e.url, e.id, e.title, e.published, coalesce(e.published, ?), ?"
                " FROM entries e WHERE e.id IN (SELECT min(e2.id) FROM entries e2"
                " JOIN entry_topics t ON t.entry_id = e2.id WHERE e2.url IS NOT NULL"
                + (" AND e2.url NOT IN (SELECT url FROM story_articles)" if self.has_stories
                   else "")
                + " GROUP BY e2.url) ORDER BY e.id"
                " ON CONFLICT (url) DO NOTHING", (stamp, stamp))
            conn.execute(
                "INSERT OR IGNORE INTO candidate_topics (candidate_id, topic)"
                " SELECT c.id, t.topic FROM candidates c JOIN entries e ON e.url = c.url"
                " JOIN entry_topics t ON t.entry_id = e.id")
            if self.has_stories:  # a story's other articles lend it their topics
                conn.execute(
                    "INSERT OR IGNORE INTO candidate_topics (candidate_id, topic)"
                    " SELECT a.candidate_id, t.topic FROM story_articles a JOIN entries e"
                    " ON e.url = a.url JOIN entry_topics t ON t.entry_id = e.id")
            # Suggestions match no topic by nature; the relevance refresh that follows a
            # rematch keeps or withdraws them by their score.
            dropped = conn.execute(
                "DELETE FROM candidates WHERE status = 'new' AND suggested = 0 AND id NOT IN"
                f" (SELECT candidate_id FROM candidate_topics) AND id NOT IN ({PROMOTED})"
            ).rowcount
            after = {r[0] for r in conn.execute("SELECT url FROM candidates")}
        return count, len(after - before), dropped

    @_converts_errors
    def entry_count(self) -> int:
        """How many entries are stored."""
        return int(self.conn.execute("SELECT count(*) FROM entries").fetchone()[0])

    @_converts_errors
    def prune(self, older_than: datetime, batch: int = 5000) -> int:
        """Delete entries last seen before `older_than`, except those behind a reviewed candidate.

        In batches, each its own short transaction: a first prune of a year of entries takes
        tens of seconds, and other writers must not wait that long for the lock.
        """
        conn = self.conn
        removed = 0
        while True:
            with self.write():
                # "IN (reviewed)" rather than "!= 'new'": an index finds the few reviewed ones,
                # where "!=" scanned every candidate, once per batch and once per poll.
                cur = conn.execute(
                    "DELETE FROM entries WHERE id IN (SELECT id FROM entries WHERE last_seen < ?"
                    " AND (url IS NULL OR url NOT IN (SELECT url FROM candidates"
                    " WHERE status IN ('featured', 'rejected'))"
                    + (" AND url NOT IN (SELECT a.url FROM story_articles a JOIN candidates c"
                       " ON c.id = a.candidate_id WHERE c.status IN ('featured', 'rejected'))"
                       if self.has_stories else "") + ")"
                    " AND id NOT IN (SELECT entry_id FROM candidates"
                    " WHERE status IN ('featured', 'rejected') AND entry_id IS NOT NULL) LIMIT ?)",
                    (iso(older_than), batch))
                removed += cur.rowcount
            if cur.rowcount < batch:
                break
        if removed:
            with self.write():
                # New candidates whose every entry went with them go too.
                conn.execute(
                    "DELETE FROM candidates WHERE status = 'new' AND NOT EXISTS"
                    " (SELECT 1 FROM entries e WHERE e.url = candidates.url)")
        return removed

    # ------------------------------------------------------------ candidates

    _CANDIDATE_SQL = (
        "SELECT c.*, s.url AS source_url, s.url_in_use AS source_url_in_use,"
        " coalesce(s.name, s.title, s.url) AS source_name, s.link AS source_link,"
        " e.summary AS summary_html, e.text AS text, e.link AS link"
        " FROM candidates c LEFT JOIN entries e ON e.id = c.entry_id"
        " LEFT JOIN sources s ON s.id = e.source_id")

    def _decorate(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Add topics and every source that carried each candidate."""
        if not rows:
            return rows
        conn = self.conn
        by_id = {r["id"]: r for r in rows}
        by_url = {r["url"]: r for r in rows}
        for r in rows:
            r["topics"] = []
            r["sources"] = []
            r["carriers"] = []
        for chunk in _chunks(list(by_id)):
            marks = ",".join("?" * len(chunk))
            for cid, topic in conn.execute(
                    f"SELECT candidate_id, topic FROM candidate_topics WHERE candidate_id IN ({marks})"
                    " ORDER BY topic", chunk):
                by_id[cid]["topics"].append(topic)
        for chunk in _chunks(list(by_url)):
            marks = ",".join("?" * len(chunk))
            for url, name, surl, site, key, title, link, published, first_seen in conn.execute(
                    "SELECT e.url, coalesce(s.name, s.title, s.url), s.url_in_use, s.link, e.key,"
                    " e.title, e.link, e.published, e.first_seen"
                    " FROM entries e JOIN sources s ON s.id = e.source_id"
                    f" WHERE e.url IN ({marks}) ORDER BY e.first_seen, e.id", chunk):
                r = by_url[url]
                if name not in r["sources"]:
                    r["sources"].append(name)
                r["carriers"].append({"source": name, "feed": surl, "site": site, "key": key,
                                      "title": title, "link": link, "published": published,
                                      "first_seen": first_seen})
        # A story's other articles: `also`, and their sources among the candidate's.
        for r in rows:
            r["also"] = []
        for cid, articles in (storystore.also(conn, list(by_id)) if self.has_stories
                              else {}).items():
            r = by_id[cid]
            r["also"] = articles
            for a in articles:
                if a["source"] not in r["sources"]:
                    r["sources"].append(a["source"])
        return rows

    @_converts_errors
    def candidates(self, *, status: str = "new", topic: str | None = None, limit: int | None = 50,
                   source_id: int | None = None, search: str | None = None,
                   offset: int = 0, sort: str = "newest", seen: bool | None = None
                   ) -> list[dict[str, Any]]:
        """Candidates, newest first (or best score first), with their topics and sources
        (`seen`: only those an editor marked seen, or only those not; None: both)."""
        where: list[str] = []
        params: list[Any] = []
        if status != "all":
            if status not in STATUSES:
                raise UsageError(f"unknown status {status!r}")
            where.append("c.status = ?")
            params.append(status)
        self._filter(where, params, topic=topic, source_id=source_id, search=search)
        if seen is not None:
            where.append("c.seen_at IS NOT NULL" if seen else "c.seen_at IS NULL")
        order = ("c.featured_at DESC, c.id DESC" if status == "featured"
                 else "c.sort_time DESC, c.id DESC")
        if sort == "score":
            order = "coalesce(c.score, 0) DESC, " + order
        elif sort != "newest":
            raise UsageError(f"unknown sort {sort!r} (newest or score)")
        sql = self._CANDIDATE_SQL + (" WHERE " + " AND ".join(where) if where else "")
        sql += f" ORDER BY {order}"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            params.extend([limit, offset])
        return self._decorate(self._q(sql, params))

    def _filter(self, where: list[str], params: list[Any], *, topic: str | None,
                source_id: int | None, search: str | None) -> None:
        """The queue's filters as SQL on candidates `c` joined to their entry `e`."""
        if topic:
            where.append("c.id IN (SELECT candidate_id FROM candidate_topics WHERE topic = ?)")
            params.append(topic)
        if source_id is not None:
            where.append("(c.url IN (SELECT url FROM entries WHERE source_id = ? AND url IS NOT NULL)"
                         + (" OR c.id IN (SELECT a.candidate_id FROM story_articles a JOIN entries x"
                            " ON x.url = a.url WHERE x.source_id = ?))" if self.has_stories
                            else " OR ? IS NULL)"))
            params.extend([source_id, source_id])
        if search:
            for word in search.split():
                where.append("(c.title LIKE ? ESCAPE '\\' OR e.text LIKE ? ESCAPE '\\')")
                like = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                params.extend([like, like])

    @_converts_errors
    def candidate(self, candidate_id: int) -> dict[str, Any]:
        """One candidate with its topics, sources and review history."""
        row = self._one(self._CANDIDATE_SQL + " WHERE c.id = ?", (candidate_id,))
        if row is None:
            raise NotFound("candidate", candidate_id)
        self._decorate([row])
        if not row.get("text"):
            # The copy that made it a candidate may have had no summary; another source's may.
            other = self._one("SELECT text FROM entries WHERE url = ? AND text != ''"
                              " ORDER BY first_seen, id LIMIT 1", (row["url"],))
            if other:
                row["text"] = other["text"]
        row["history"] = self._q(
            "SELECT action, editor, at, note FROM review_log WHERE candidate_id = ? ORDER BY id",
            (candidate_id,))
        return row

    @_converts_errors
    def counts(self, *, topic: str | None = None, source_id: int | None = None,
               search: str | None = None) -> dict[str, int]:
        """How many candidates have each status (of those the filters let through), and under
        `seen` how many of the new ones an editor marked seen."""
        out = dict.fromkeys(STATUSES, 0)
        where: list[str] = []
        params: list[Any] = []
        self._filter(where, params, topic=topic, source_id=source_id, search=search)
        seen = 0
        if where:
            sql = ("SELECT c.status, c.seen_at IS NOT NULL, count(*) FROM candidates c"
                   " LEFT JOIN entries e ON e.id = c.entry_id WHERE " + " AND ".join(where)
                   + " GROUP BY 1, 2")
        else:
            sql = ("SELECT status, seen_at IS NOT NULL, count(*) FROM candidates"
                   " GROUP BY 1, 2")
        for status, is_seen, n in self.conn.execute(sql, params):
            out[status] += n
            if status == "new" and is_seen:
                seen += n
        out["seen"] = seen
        return out

    @_converts_errors
    def mark_seen(self, ids: list[int], *, editor: str, now: datetime, seen: bool = True
                  ) -> list[int]:
        """Mark new candidates seen (or not) by `editor`; returns the ids that changed."""
        if not ids:
            return []
        changed: list[int] = []
        with self.write():
            for chunk in _chunks(ids):
                marks = ",".join("?" * len(chunk))
                if seen:
                    rows = self.conn.execute(
                        f"UPDATE candidates SET seen_at = ?, seen_by = ? WHERE id IN ({marks})"
                        " AND status = 'new' AND seen_at IS NULL RETURNING id",
                        (iso(now), editor, *chunk)).fetchall()
                else:
                    rows = self.conn.execute(
                        "UPDATE candidates SET seen_at = NULL, seen_by = NULL"
                        f" WHERE id IN ({marks}) AND seen_at IS NOT NULL RETURNING id",
                        chunk).fetchall()
                changed.extend(r[0] for r in rows)
        return sorted(changed)

    @_converts_errors
    def set_status(self, candidate_id: int, status: str, *, editor: str, now: datetime,
                   note: str | None = None, link: str | None = None) -> dict[str, Any]:
        """Feature (with a note), reject or reset a candidate, and log who did it.

        `link` (with featuring) picks which of the story's articles the item links.
        """
        stamp = iso(now)
        with self.write():
            conn = self.conn
            row = self._one("SELECT * FROM candidates WHERE id = ?", (candidate_id,))
            if row is None:
                raise NotFound("candidate", candidate_id)
            if link is not None and status == "featured" and link != row["url"]:
                storystore.link(conn, candidate_id, link, stamp)
                self._log(candidate_id, "link", editor, stamp, link)
            if status == "featured":
                if row["status"] == "featured":
                    if note is None or note == row["note"]:
                        return self.candidate(candidate_id)
                    conn.execute("UPDATE candidates SET note = ?, note_updated_at = ?,"
                                 " changed_by = ?, changed_at = ? WHERE id = ?",
                                 (note, stamp, editor, stamp, candidate_id))
                    action = "edit-note"
                else:
                    conn.execute(
                        "UPDATE candidates SET status = 'featured', note = ?, guid = ?,"
                        " featured_at = ?, note_updated_at = ?, changed_by = ?, changed_at = ?"
                        " WHERE id = ?",
                        (note if note is not None else (row["note"] or ""),
                         new_guid(), stamp, stamp, editor, stamp, candidate_id))
                    action = "feature"
            elif status in ("rejected", "new"):
                if row["status"] == status:
                    return self.candidate(candidate_id)
                # The note stays as a draft: resetting and featuring again brings it back.
                # Back to new, it is new again: out of the desk's Seen tab too.
                conn.execute(
                    "UPDATE candidates SET status = ?, guid = NULL, featured_at = NULL,"
                    " note_updated_at = NULL, changed_by = ?, changed_at = ?, seen_at = NULL,"
                    " seen_by = NULL WHERE id = ?",
                    (status, editor, stamp, candidate_id))
                action = "reject" if status == "rejected" else "reset"
            else:
                raise UsageError(f"unknown status {status!r}")
            final = conn.execute("SELECT note FROM candidates WHERE id = ?",
                                 (candidate_id,)).fetchone()[0]
            conn.execute("INSERT INTO review_log (candidate_id, action, editor, at, note)"
                         " VALUES (?, ?, ?, ?, ?)",
                         (candidate_id, action, editor, stamp,
                          final if action in ("feature", "edit-note") else None))
            return self.candidate(candidate_id)

    def _log(self, candidate_id: int, action: str, editor: str, stamp: str | None,
             note: str | None) -> None:
        self.conn.execute("INSERT INTO review_log (candidate_id, action, editor, at, note)"
                          " VALUES (?, ?, ?, ?, ?)", (candidate_id, action, editor, stamp, note))

    @_converts_errors
    def split(self, candidate_id: int, url: str, *, editor: str, now: datetime
              ) -> dict[str, Any]:
        """Make one of a story's other articles a candidate of its own; the new candidate."""
        stamp = iso(now)
        with self.write():
            if self._one("SELECT id FROM candidates WHERE id = ?", (candidate_id,)) is None:
                raise NotFound("candidate", candidate_id)
            new_id = storystore.split(self.conn, candidate_id, url, stamp)
            self._log(candidate_id, "split", editor, stamp, url)
            self._log(new_id, "split", editor, stamp, f"from #{candidate_id}")
            return self.candidate(new_id)

    @_converts_errors
    def merge(self, candidate_id: int, other_id: int, *, editor: str, now: datetime
              ) -> dict[str, Any]:
        """Join another candidate's story to this one; the story keeps this one's status and note."""
        stamp = iso(now)
        with self.write():
            if self._one("SELECT id FROM candidates WHERE id = ?", (candidate_id,)) is None:
                raise NotFound("candidate", candidate_id)
            other = self._one("SELECT url FROM candidates WHERE id = ?", (other_id,))
            if other is None:
                raise NotFound("candidate", other_id)
            storystore.merge(self.conn, candidate_id, other_id, stamp)
            self._log(candidate_id, "merge", editor, stamp, f"#{other_id} {other['url']}")
            self._log(other_id, "merge", editor, stamp, f"into #{candidate_id}")
            return self.candidate(candidate_id)

    @_converts_errors
    def featured(self, limit: int) -> list[dict[str, Any]]:
        """Featured candidates for the published feed, newest feature first."""
        return self.candidates(status="featured", limit=limit)

    @_converts_errors
    def set_note_html(self, rendered: Iterable[tuple[int, str, str]]) -> None:
        """Keep rendered notes: (candidate id, HTML, the key saying what it was rendered from)."""
        with self.write():
            self.conn.executemany(
                "UPDATE candidates SET note_html = ?, note_html_key = ? WHERE id = ?",
                [(html, key, cid) for cid, html, key in rendered])

    # ------------------------------------------------------------ editors

    @_converts_errors
    def add_editor(self, name: str, password_hash: str, now: datetime) -> None:
        """Create an editor account."""
        with self.write():
            try:
                self.conn.execute(
                    "INSERT INTO editors (name, password_hash, created) VALUES (?, ?, ?)",
                    (name, password_hash, iso(now)))
            except sqlite3.IntegrityError as e:
                raise UsageError(f"editor {name!r} exists already") from e

    @_converts_errors
    def set_editor_password(self, name: str, password_hash: str) -> None:
        """Change an editor's password."""
        with self.write():
            if self.conn.execute(
                    "UPDATE editors SET password_hash = ?,"
                    " session_generation = session_generation + 1 WHERE name = ?",
                    (password_hash, name)).rowcount == 0:
                raise NotFound("editor", name)

    @_converts_errors
    def end_editor_sessions(self, name: str) -> None:
        """Move an editor to a new session generation: every session begun before ends."""
        with self.write():
            if self.conn.execute(
                    "UPDATE editors SET session_generation = session_generation + 1"
                    " WHERE name = ?", (name,)).rowcount == 0:
                raise NotFound("editor", name)

    @_converts_errors
    def editor_session(self, name: str) -> tuple[str, int] | None:
        """An editor's password hash and session generation, or None."""
        row = self._one("SELECT password_hash, session_generation FROM editors WHERE name = ?",
                        (name,))
        return None if row is None else (str(row["password_hash"]), int(row["session_generation"]))

    @_converts_errors
    def editors(self) -> list[dict[str, Any]]:
        """Every editor, without password hashes."""
        return self._q("SELECT name, created FROM editors ORDER BY name")

    @_converts_errors
    def editor_hash(self, name: str) -> str | None:
        """The stored password hash of an editor, or None."""
        row = self._one("SELECT password_hash FROM editors WHERE name = ?", (name,))
        return None if row is None else str(row["password_hash"])

    @_converts_errors
    def remove_editor(self, name: str) -> None:
        """Delete an editor account; their past actions stay in the review log."""
        with self.write():
            if self.conn.execute("DELETE FROM editors WHERE name = ?", (name,)).rowcount == 0:
                raise NotFound("editor", name)

    # ------------------------------------------------------------ moving an editor's work

    @_converts_errors
    def reviewed(self, statuses: Sequence[str]) -> list[dict[str, Any]]:
        """Reviewed candidates with their notes, sources and history, oldest feature first."""
        rows: list[dict[str, Any]] = []
        for status in statuses:
            rows.extend(self.candidates(status=status, limit=None))
        for r in rows:
            r["history"] = self._q("SELECT action, editor, at, note FROM review_log"
                                   " WHERE candidate_id = ? ORDER BY id", (r["id"],))
        rows.sort(key=lambda r: (r["featured_at"] or r["changed_at"] or "", r["id"]))
        return rows

    @_converts_errors
    def import_reviewed(self, items: Sequence[dict[str, Any]], *, editor: str, now: datetime
                        ) -> dict[str, int]:
        """Apply exported items (matched by canonical URL) in one transaction: all or nothing.

        Returns how many were 'added', 'updated' and 'unchanged'. Each item's copies (`entries`:
        the source's name, feed and site, the article's title, link and dates) and its review
        history come back as exported, so an export, an import into a new database and an export
        again give the same items. The import itself is logged in the activity log.
        """
        counts = {"added": 0, "updated": 0, "unchanged": 0}
        with self.write():
            for item in items:
                counts[self._import_one(item, editor=editor, stamp=iso(now) or "")] += 1
            if counts["added"] or counts["updated"]:
                n = counts["added"] + counts["updated"]
                self.log_activity("import", editor=editor, now=now,
                                  detail=f"{n} item{'' if n == 1 else 's'}")
        return counts

    def _import_one(self, item: dict[str, Any], *, editor: str, stamp: str) -> str:
        fields = ("status", "note", "guid", "featured_at", "note_updated_at")
        conn = self.conn
        item = {**item, "url": self._stored_spelling(item["url"])}
        row = self._one("SELECT * FROM candidates WHERE url = ?", (item["url"],))
        changed = row is None or any(row[k] != item.get(k) for k in fields)
        if row is None:
            cur = conn.execute(
                "INSERT INTO candidates (url, title, published, sort_time, first_seen)"
                " VALUES (?, ?, ?, ?, ?)",
                (item["url"], item.get("title") or item["url"], item.get("published"),
                 item.get("published") or stamp, item.get("first_seen") or stamp))
            cid = int(cur.lastrowid or 0)
        else:
            cid = row["id"]
        first_entry = None
        for copy in item.get("entries") or ():
            eid, added = self._import_entry(item["url"], copy, stamp)
            changed = changed or added
            first_entry = first_entry or eid
        for article in item.get("also") or () if self.has_stories else ():
            changed = self._import_story_article(cid, item["url"], article, stamp) or changed
        if first_entry is not None and (row is None or row["entry_id"] is None):
            conn.execute("UPDATE candidates SET entry_id = ? WHERE id = ?", (first_entry, cid))
        if changed:
            conn.execute(
                "UPDATE candidates SET status = ?, note = ?, guid = ?, featured_at = ?,"
                " note_updated_at = ?, changed_by = ?, changed_at = ? WHERE id = ?",
                (*(item.get(k) for k in fields), item.get("changed_by") or editor,
                 item.get("changed_at") or stamp, cid))
        conn.executemany("INSERT OR IGNORE INTO candidate_topics (candidate_id, topic)"
                         " VALUES (?, ?)", [(cid, t) for t in item.get("topics") or []])
        history = item.get("history")
        if history:
            known = {(h["action"], h["editor"], h["at"], h["note"]) for h in self._q(
                "SELECT action, editor, at, note FROM review_log WHERE candidate_id = ?", (cid,))}
            new = [(cid, h["action"], h["editor"], h["at"], h.get("note")) for h in history
                   if (h["action"], h["editor"], h["at"], h.get("note")) not in known]
            conn.executemany("INSERT INTO review_log (candidate_id, action, editor, at, note)"
                             " VALUES (?, ?, ?, ?, ?)", new)
            changed = changed or bool(new)
        elif changed:
            # An export without history (CSV, or an older curator's): record the import itself.
            conn.execute("INSERT INTO review_log (candidate_id, action, editor, at, note)"
                         " VALUES (?, 'import', ?, ?, ?)", (cid, editor, stamp, item.get("note")))
        if not changed:
            return "unchanged"
        return "added" if row is None else "updated"

    def _import_story_article(self, cid: int, own_url: str, article: dict[str, Any],
                              stamp: str) -> bool:
        """One of a story's other articles (`also`) back in the candidate's story; True if added.

        An article that is already a candidate, or already in a story, stays where it is.
        """
        conn = self.conn
        url = self._stored_spelling(article["url"])
        if url == own_url or conn.execute(
                "SELECT 1 FROM candidates WHERE url = ? UNION ALL"
                " SELECT 1 FROM story_articles WHERE url = ?", (url, url)).fetchone():
            return False
        if article.get("feed"):
            self._import_entry(url, article, stamp)
        # In the order exported: `also` lists a story's articles by when they joined, then rowid.
        conn.execute("INSERT INTO story_articles (url, candidate_id, added) VALUES (?, ?, ?)",
                     (url, cid, stamp))
        return True

    def _import_entry(self, url: str, copy: dict[str, Any], stamp: str) -> tuple[int, bool]:
        """The entry for one exported copy of an article, made if missing: (id, whether made).

        Its source is found by feed URL (as written in feeds.yaml or in use), else added as one
        that is not in feeds.yaml (never polled), so the item keeps naming its source and feed.
        """
        conn = self.conn
        feed = copy["feed"]
        src = conn.execute("SELECT id FROM sources WHERE url = ? OR url_in_use = ?"
                           " ORDER BY in_config DESC, id LIMIT 1", (feed, feed)).fetchone()
        if src is None:
            source_id = int(conn.execute(
                "INSERT INTO sources (url, url_in_use, title, link, in_config, added)"
                " VALUES (?, ?, ?, ?, 0, ?)",
                (feed, feed, copy.get("source"), copy.get("site"), stamp)).lastrowid or 0)
        else:
            source_id = src[0]
            # A source never polled here yet still shows the name and site it had there.
            conn.execute("UPDATE sources SET title = coalesce(title, ?), link = coalesce(link, ?)"
                         " WHERE id = ?", (copy.get("source"), copy.get("site"), source_id))
        key = copy.get("key") or copy.get("link") or url
        # By its key, else (a CSV has no keys) any copy of this article from this source.
        found = conn.execute("SELECT id FROM entries WHERE source_id = ? AND key = ?",
                             (source_id, key)).fetchone() or conn.execute(
            "SELECT id FROM entries WHERE source_id = ? AND url = ? ORDER BY id LIMIT 1",
            (source_id, url)).fetchone()
        if found is not None:
            return int(found[0]), False
        title = copy.get("title") or ""
        # Not the hash a poll computes: the next poll of this feed updates the copy in place.
        digest = "import:" + key
        cur = conn.execute(
            "INSERT INTO entries (url, link, title, published, hash, source_id, key, first_seen,"
            " last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (url, copy.get("link"), title, copy.get("published"), digest, source_id, key,
             copy.get("first_seen") or stamp, stamp))
        return int(cur.lastrowid or 0), True

    @_converts_errors
    def restore_from(self, source: Path) -> None:
        """Replace this database's content with `source`'s, through SQLite's backup API."""
        src = _open_backup(source)
        try:
            src.backup(self.conn)
        finally:
            src.close()

    @_converts_errors
    def schema_names(self) -> list[str]:
        """The curator migrations this database has applied."""
        return self._applied()
