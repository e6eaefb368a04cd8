"""Curator: the one facade the edges (cli, web, schedule) call. Orchestration only: no SQL, no HTTP."""

from __future__ import annotations

import dataclasses
import fcntl
import io
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from . import __version__, clock
from .clock import iso, parse_iso
from .config import Config, Follower
from .exceptions import CuratorError, LockedError, ParseError, PublishError, StoreError, UsageError
from .files import create_private, open_private_lock, private_folder
from .store import SaveResult, Store, check_backup
from .store import new_guid as _new_guid
from .text import strip_invisible
from .types import (
    Channel,
    Fetched,
    FetchError,
    FetchRequest,
    FetchResult,
    NotModified,
    ParsedFeed,
    PublishedItem,
    Topic,
)

if TYPE_CHECKING:
    import asyncio
    from concurrent.futures import Executor

    from .feedsfile import AddResult, FeedsFile
    from .fetch import Fetcher
    from .match import Matcher
    from .relevance import Refreshed
    from .searchstore import SearchStore


# The heavy libraries load on first use: a poll that gets only 304s never needs feedparser or bs4
# (workers import them when a body arrives), only publishing needs feedgen, and only rendering a
# note that is not cached in the database needs markdown-it.
# Every command pays for what it imports at start-up, so this keeps `curator poll` and
# `curator candidates` quick to start.
def parse_feed(url: str, content: bytes, headers: dict[str, str]) -> ParsedFeed:
    """parse.parse_feed, imported on first use."""
    from .parse import parse_feed as parse

    return parse(url, content, headers)


def render_rss(channel: Channel, items: Sequence[PublishedItem]) -> bytes:
    """render.render_rss, imported on first use."""
    from .render import render_rss as render

    return render(channel, items)


def render_atom(channel: Channel, items: Sequence[PublishedItem]) -> bytes:
    """render.render_atom, imported on first use."""
    from .render import render_atom as render

    return render(channel, items)


def render_note(markdown: str) -> str:
    """render.render_note, imported on first use."""
    from .render import render_note as render

    return render(markdown)


def item_html(item: PublishedItem) -> str:
    """render.item_html, imported on first use."""
    from .render import item_html as render

    return render(item)


def generate_password_hash(password: str) -> str:
    """werkzeug's salted password hash, imported on first use."""
    from werkzeug.security import generate_password_hash as make

    return make(password)


def check_password_hash(stored: str, password: str) -> bool:
    """werkzeug's password check, imported on first use."""
    from werkzeug.security import check_password_hash as check

    return check(stored, password)


log = logging.getLogger("curator")

DAY = 86400
MAX_RETRY_AFTER = 7 * DAY  # a server asking for more is probably broken; try again in a week
STALE_AFTER = 7 * DAY  # a source failing this long is flagged in `curator sources`
MAX_NOTE_CHARS = 100_000
MIN_PASSWORD = 10
POLL_LOCK_WAIT = 5.0  # seconds a second poll waits for the first before standing down
POOL_THRESHOLD = 8  # fewer bodies than this parse faster in-process than a pool starts

ProgressFn = Callable[[int, int], None]


def _password_hash(password: str) -> str:
    """The stored form of a new password, after the length rule."""
    if len(password) < MIN_PASSWORD:
        raise UsageError(f"the password must have at least {MIN_PASSWORD} characters")
    return generate_password_hash(password)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return generate_password_hash("curator-timing-equaliser")


# ------------------------------------------------------------------ parse workers


@lru_cache(maxsize=4)
def _matcher(topics: tuple[Topic, ...]) -> Matcher:
    from .match import Matcher

    return Matcher(topics)


def parse_and_match(url: str, content: bytes, headers: dict[str, str], topics: tuple[Topic, ...]
                    ) -> tuple[ParsedFeed, list[list[str]]]:
    """Parse a body and match its entries; runs in a worker process (top-level, picklable)."""
    parsed = parse_feed(url, content, headers)
    matcher = _matcher(topics)
    return parsed, [matcher.match(e.title, e.text) for e in parsed.entries]


def _worker_init(parent: int | None) -> None:
    """Set up a parse worker: it leaves stopping to the poll and never outlives it."""
    # Ctrl-C reaches the whole process group; the poll stops its workers itself once they finish
    # the feed in hand. (SIGTERM stays: the pool uses it to end workers when one has crashed.)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Workers hold both ends of the pool's queues, so after a kill -9 of the poll they would wait
    # for work for ever; make the kernel end them with it (Linux), or watch for it (elsewhere).
    if sys.platform == "linux":
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    else:
        first_parent = os.getppid()

        def watch() -> None:
            while os.getppid() == first_parent:
                time.sleep(1.0)
            os._exit(1)

        threading.Thread(target=watch, daemon=True).start()
    if parent is not None and os.getppid() != parent:  # the poll died while this worker started
        os._exit(1)


T = TypeVar("T")


class _WriteBatch:
    """Groups the writes of a poll into few transactions, one source's writes kept together.

    Writing each source in its own transaction costs a commit per source; grouping the sources
    that finish within a few milliseconds of each other keeps the order (a source's entries
    first, its caching headers last) and the atomicity (a crash loses whole sources only, which
    the next poll fetches again) at a fraction of the cost. A source queues its write and moves
    on, so its place in the poll goes to the next source at once; the batch is written when it
    is full, after `delay` seconds at most, and when the poll ends.
    """

    def __init__(self, store: Store, size: int = 64, delay: float = 0.05) -> None:
        self._store = store
        self._size = size
        self._delay = delay
        self._pending: list[tuple[Callable[[], Any], Callable[[Any], None],
                                  Callable[[Exception], None]]] = []
        self._timer: asyncio.TimerHandle | None = None

    def submit(self, fn: Callable[[], T], done: Callable[[T], None],
               failed: Callable[[Exception], None]) -> None:
        """Queue fn for the next transaction; done(result) or failed(error) once it is settled."""
        self._pending.append((fn, done, failed))
        if len(self._pending) >= self._size:
            self.flush()
        elif self._timer is None:
            import asyncio

            self._timer = asyncio.get_running_loop().call_later(self._delay, self.flush)

    def flush(self) -> None:
        """Run every queued write in one transaction, then report each outcome."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending = self._pending, []
        if not batch:
            return
        outcomes: list[tuple[Exception | None, Any]] = []
        try:
            with self._store.write():
                for fn, _, _ in batch:
                    try:
                        outcomes.append((None, fn()))
                    except Exception as e:  # noqa: BLE001 - that source's writes were undone
                        outcomes.append((e, None))
        except CuratorError as e:  # the commit failed: nothing in this batch was stored
            outcomes = [(e, None)] * len(batch)
        for (_, done, failed), (error, value) in zip(batch, outcomes, strict=True):
            if error is None:
                done(value)
            else:
                failed(error)


# ------------------------------------------------------------------ results


@dataclass
class PollSummary:
    sources: int = 0
    fetched: int = 0
    not_modified: int = 0
    failed: int = 0
    skipped: int = 0
    new_entries: int = 0
    updated_entries: int = 0
    new_candidates: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, int]:
        """The shape SPEC.md gives for `curator poll --json`."""
        return {k: getattr(self, k) for k in (
            "sources", "fetched", "not_modified", "failed", "skipped",
            "new_entries", "updated_entries", "new_candidates")}


# The warning on a source whose feed parsed but listed no entries (its failures stay 0).
NO_ENTRIES = "no entries found: the feed is well-formed but lists no items"


def display_name(source: dict[str, Any]) -> str:
    """What a source is called: its name in feeds.yaml, else the feed's title, else its URL."""
    return str(source.get("name") or source.get("title") or source.get("url_in_use")
               or source["url"])


def candidate_json(row: dict[str, Any]) -> dict[str, Any]:
    """A candidate object exactly as SPEC.md gives it."""
    return {
        "id": row["id"],
        "title": row["title"],
        "url": row["url"],
        "source": row.get("source_name") or (row["sources"][0] if row.get("sources") else None),
        "sources": list(row.get("sources") or []),
        "published": row["published"],
        "topics": list(row.get("topics") or []),
        "status": row["status"],
        "note": row["note"],
        "featured_at": row["featured_at"],
        "score": candidate_score(row),
        "suggested": bool(row.get("suggested")),
        "also": [{"title": a["title"], "url": a["url"], "source": a["source"]}
                 for a in row.get("also") or []],
    }


def search_json(row: dict[str, Any]) -> dict[str, Any]:
    """A search result exactly as SPEC.md gives it."""
    return {"entry": row["entry"], "title": row["title"], "url": row["url"],
            "source": row["source"], "published": row["published"],
            "candidate": row["candidate"]}


def candidate_score(row: dict[str, Any]) -> float:
    """A candidate's stored score; one not scored yet (stored a moment ago) scores by topics."""
    score = row.get("score")
    if score is None:
        return round(len(row.get("topics") or []) / (len(row.get("topics") or []) + 1.0), 6)
    return float(min(1.0, max(0.0, score)))


def suggestion_reason(row: dict[str, Any]) -> str | None:
    """Why a suggestion was suggested, in the desk's words ("like 7 items you featured: …")."""
    if not row.get("suggested"):
        return None
    try:
        why = json.loads(row.get("suggestion") or "{}")
        like = int(why.get("like") or 0)
        words = [str(w) for w in why.get("words") or []][:3]
    except (ValueError, TypeError, AttributeError):
        like, words = 0, []
    if like > 0:
        text = f"like {like} item{'' if like == 1 else 's'} you featured"
    else:
        text = "like what you featured"
    return text + (f" ({', '.join(words)})" if words else "")


def source_json(row: dict[str, Any]) -> dict[str, Any]:
    """A source row exactly as SPEC.md gives it for `curator sources --json`."""
    return {
        "url": row["url_in_use"],
        "name": row.get("name") or row.get("title"),
        "status": row["status"],
        "last_polled": row["last_polled"],
        "last_ok": row["last_ok"],
        "next_due": row["next_due"],
        "failures": row["failures"],
        "error": row["error"],
        "disabled": row["disabled"],
    }


EXPORT_CSV_FIELDS = ["url", "title", "status", "note", "guid", "featured_at", "note_updated_at",
                     "published", "source", "sources", "topics", "feed", "site"]
_EXPORT_HELP = "expected what `curator export` writes: JSON, or CSV with a header row"


def _read_export(data: bytes) -> list[Any]:
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


def _normalise_import(raw: Any, n: int, now: datetime) -> dict[str, Any]:
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
        "guid": (_text_field(raw, "guid", n) or _new_guid()) if featured else None,
        "featured_at": featured_at,
        "note_updated_at": (note_updated_at or featured_at) if featured else None,
        "published": published,
        "changed_by": _text_field(raw, "changed_by", n), "changed_at": changed_at,
        "topics": topics,
        "entries": [_normalise_copy(c, n, "entries") for c in _list_field(raw, "entries", n)],
        "also": [_normalise_copy(a, n, "also") for a in _list_field(raw, "also", n)],
        "history": [_normalise_history(h, n) for h in _list_field(raw, "history", n)],
    }


def _digest(data: bytes) -> str:
    import hashlib  # here, like the other imports only some commands need

    return hashlib.sha256(data).hexdigest()


# Bump when render's output changes for the same input (a sanitiser rule, an extension, how
# titles are reduced to text), so notes rendered before are rendered again and the feeds are
# written again even without a new release. 2: bidi overrides and zero-width characters go.
NOTE_HTML_REVISION = 2


def note_html_key(note: str) -> str:
    """What a note's cached HTML must have been rendered from: this note, by this curator version
    and rendering revision.

    Another version may render the same Markdown differently (a new markdown-it, a sanitiser rule),
    so it renders every note again rather than trust the HTML an older one made.
    """
    stamp = f"{__version__}/{NOTE_HTML_REVISION}".encode()
    return _digest(stamp + b"\0" + note.encode("utf-8", "surrogatepass"))


def _with_note_html(featured: Sequence[tuple[int, PublishedItem]]
                    ) -> tuple[list[PublishedItem], list[tuple[int, str, str]]]:
    """Every item with its note's HTML, and the notes that had to be rendered, for the store.

    Only a note with no valid cached HTML is rendered, so only then is Markdown loaded.
    """
    items, rendered = [], []
    for candidate_id, item in featured:
        if item.note_html is None:
            html = render_note(item.note)
            item = dataclasses.replace(item, note_html=html)
            rendered.append((candidate_id, html, note_html_key(item.note)))
        items.append(item)
    return items, rendered


def _config_changes(old: Config, new: Config) -> str:
    """One line saying what an edit of feeds.yaml changed, for the log."""
    before = {s.url: s for s in old.sources}
    after = {s.url: s for s in new.sources}
    counts = [(len(after.keys() - before.keys()), "added"),
              (len(before.keys() - after.keys()), "removed"),
              (sum(after[u] != before[u] for u in after.keys() & before.keys()), "edited")]
    parts: list[str] = []
    for n, what in counts:
        if n:
            noun = "" if parts else (" source" if n == 1 else " sources")
            parts.append(f"{n}{noun} {what}")
    if not parts and new.sources != old.sources:
        parts.append("sources reordered")
    for name, section in (("poll settings", "poll"), ("output", "output"),
                          ("retention", "retention")):
        if getattr(new, section) != getattr(old, section):
            parts.append(f"{name} changed")
    if new.topics != old.topics:
        parts.append("topics changed (for entries stored from now on; `curator rematch` applies "
                     "them to those already stored)")
    return "feeds.yaml changed: " + ", ".join(parts or ["nothing curator uses"])


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


def _unwritable(e: OSError, *paths: Path) -> str:
    """Why the feeds could not be written, naming the folder (never a temporary file's name)."""
    failed = Path(e.filename) if e.filename else paths[0]
    target = next((p for p in paths if failed in (p, p.parent) or failed.parent == p.parent),
                  paths[0])
    reason = (e.strerror or str(e)).lower()
    return (f"nothing was published: cannot write {target.name} into {target.parent} "
            f"({reason}). Make that folder writable for the user running curator, or set "
            "output.rss and output.atom in feeds.yaml to a folder it can write.")


# The activity-log actions that change what is polled or matched (the Sources page lists them).
CONFIG_ACTIONS = ("enable", "disable", "source-add", "source-rename", "source-remove",
                  "topic-add", "topic-edit", "topic-remove")


def _jitter(seconds: float, spread: float = 0.1) -> float:
    # Spreads polls of sources added together, so they do not all fall due in the same second.
    import random

    return seconds * (1 + random.uniform(0, spread))


class Curator:
    """Everything an editor or a scheduler can ask of curator."""

    def __init__(self, config: Config, *, store: Store | None = None,
                 now: Callable[[], datetime] | None = None) -> None:
        self.config = config
        self.store = store or Store(config.database)
        self.store.stories.window = config.stories_window
        self._now = now or clock.now
        self.stop_requested = threading.Event()
        self._synced = False
        self._follower = Follower(config)  # feeds.yaml as edited since (see reload_config)

    def now(self) -> datetime:
        """The current time (the one clock tests may fake)."""
        return self._now()

    def close(self) -> None:
        """Release the database."""
        self.store.close()

    def sync_sources(self) -> None:
        """Bring the stored sources in line with feeds.yaml (once per Curator)."""
        if not self._synced:
            self.store.sync_sources(((s.url, s.name, s.interval) for s in self.config.sources),
                                    self.now())
            self._synced = True

    def reload_config(self) -> str | None:
        """Take in feeds.yaml if it changed; returns a one-line summary of what changed, or None.

        For a long-running process (`curator run`): an edit takes effect without a restart. A
        file that no longer loads leaves the config in use as it is (see config.Follower).
        """
        old = self.config
        new = self._follower.refresh()
        if new is None:
            return None
        summary = _config_changes(old, new)
        self.config = new
        self.store.stories.window = new.stories_window
        if new.sources != old.sources:
            self._synced = False  # the next poll brings the stored sources in line
        log.info("%s", summary)
        return summary

    # ------------------------------------------------------------------ poll

    @contextmanager
    def poll_lock(self, wait: float | None = None) -> Iterator[None]:
        """Hold the one-poll-at-a-time lock, waiting up to `wait` seconds for it."""
        wait = POLL_LOCK_WAIT if wait is None else wait
        path = self.config.database.with_name(self.config.database.name + ".poll.lock")
        # Beside the database, in its private folder (see Store), and 0600: another user can
        # neither take the lock nor plant the file; one that another user owns is refused.
        try:
            fd = open_private_lock(path)
        except OSError as e:
            raise StoreError(f"poll lock {path}: {e.strerror or e}") from e
        try:
            deadline = time.monotonic() + wait
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise LockedError("another poll is running; this one stands down") from None
                    time.sleep(0.1)
            yield
        finally:
            os.close(fd)

    def poll(self, *, force: bool = False, only: Sequence[str] = (),
             progress: ProgressFn | None = None) -> PollSummary:
        """Fetch the sources that are due (or `only` those named), store entries, match topics."""
        self.sync_sources()
        now = self.now()
        if only:
            chosen = {s["id"]: s for s in (self.store.find_source(x) for x in only)}
            selected = list(chosen.values())
        else:
            selected = self.store.sources()
        summary = PollSummary(sources=len(selected))
        due = []
        for s in selected:
            if self._held_back(s, now, schedule=not (force or only)):
                summary.skipped += 1
            else:
                due.append(s)
        if due:
            import asyncio  # here, not at the top: only polling needs it

            with self._parser(len(due)) as pool:
                asyncio.run(self._poll_async(due, summary, pool, progress))
        done = self.refresh_relevance()
        if done is not None:
            summary.new_candidates += done.suggested
        return summary

    @staticmethod
    def _held_back(source: dict[str, Any], now: datetime, *, schedule: bool) -> bool:
        """Disabled, or inside a server's Retry-After (always), or not due yet (by schedule)."""
        if source["disabled"]:
            return True
        retry_after = parse_iso(source["retry_after"])
        if retry_after and retry_after > now:
            return True
        next_due = parse_iso(source["next_due"])
        return bool(schedule and next_due and next_due > now)

    @contextmanager
    def _parser(self, n: int) -> Iterator[Executor | None]:
        workers = os.cpu_count() or 1
        if n < POOL_THRESHOLD or workers < 2:
            yield None
            return
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # Fork (cheapest) only while this process has one thread, before the event loop starts
        # any: a fork beside other threads (`curator run`'s scheduler) can copy a held lock. Then,
        # and off Linux, workers come from a fork server that loads the parser once.
        ctx: multiprocessing.context.BaseContext
        if sys.platform == "linux" and threading.active_count() == 1:
            ctx = multiprocessing.get_context("fork")
            parent: int | None = os.getpid()
        else:
            server = multiprocessing.get_context("forkserver")
            server.set_forkserver_preload(["curator.core", "curator.parse", "curator.match"])
            ctx = server
            parent = None  # workers are the fork server's children, not this process's
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx,
                                   initializer=_worker_init, initargs=(parent,))
        try:
            pool.submit(int).result()  # start the workers now, while this process has one thread
            yield pool
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    async def _poll_async(self, due: list[dict[str, Any]], summary: PollSummary,
                          pool: Executor | None, progress: ProgressFn | None) -> None:
        import asyncio

        settings = self.config.poll.fetch_settings()
        # Bounds the bodies held in memory at once, fetched or waiting for a parser.
        gate = asyncio.Semaphore(max(settings.concurrency, (os.cpu_count() or 1) * 4))
        done = 0
        from .fetch import Fetcher

        writes = _WriteBatch(self.store)
        if progress:
            progress(0, len(due))  # the bar shows the total before the first source is done
        async with Fetcher(settings) as fetcher:

            async def one(source: dict[str, Any]) -> None:
                nonlocal done
                async with gate:
                    if self.stop_requested.is_set():
                        return
                    try:
                        await self._poll_one(fetcher, source, summary, pool, writes)
                    except CuratorError as e:  # a store failure: report it, keep polling others
                        log.error("poll %s: %s", display_name(source), e)
                        summary.failed += 1
                        summary.errors.append((source["url"], str(e)))
                done += 1
                if progress:
                    progress(done, len(due))

            tasks = [asyncio.create_task(one(s)) for s in due]
            stopper = asyncio.create_task(self._watch_stop(tasks))
            try:
                await asyncio.gather(*tasks, return_exceptions=True)
            finally:
                stopper.cancel()
                writes.flush()

    async def _watch_stop(self, tasks: list[asyncio.Task[None]]) -> None:
        import asyncio

        while not self.stop_requested.is_set():
            await asyncio.sleep(0.2)
        for t in tasks:
            t.cancel()

    async def _poll_one(self, fetcher: Fetcher, source: dict[str, Any], summary: PollSummary,
                        pool: Executor | None, writes: _WriteBatch | None = None) -> None:
        import asyncio

        started = time.monotonic()
        name = display_name(source)
        req = FetchRequest(url=source["url_in_use"], etag=source["etag"],
                           last_modified=source["last_modified"])
        result: FetchResult = await fetcher.fetch(req)
        now = self.now()
        moved = {"url_in_use": result.permanent_url} if result.permanent_url else {}
        if moved:
            log.info("poll %s: moved permanently to %s", name, result.permanent_url)

        if isinstance(result, FetchError):
            self._record_failure(source, now, result.message, status=result.status,
                                 retry_after=result.retry_after, gone=result.gone, extra=moved)
            summary.failed += 1
            summary.errors.append((source["url"], result.message))
            return

        ok = {"status": result.status, "last_polled": iso(now), "last_ok": iso(now),
              "failures": 0, "error": None, "failing_since": None, "retry_after": None,
              "max_age": result.max_age, **moved}
        if result.etag or result.last_modified or isinstance(result, Fetched):
            ok.update(etag=result.etag, last_modified=result.last_modified)

        def write(fn: Callable[[], T], then: Callable[[T], None]) -> None:
            # Stored with other sources' writes (the summary counts it once committed), or at
            # once when polling without a batch.
            if writes is None:
                then(fn())
                return

            def failed(e: Exception) -> None:
                log.error("poll %s: %s", name, e)
                summary.failed += 1
                summary.errors.append((source["url"], str(e)))

            writes.submit(fn, then, failed)

        def not_modified(how: str) -> Callable[[None], None]:
            def then(_: None) -> None:
                summary.not_modified += 1
                log.info("poll %s: %s (%.2fs)", name, how, time.monotonic() - started)

            return then

        if not source["failures"]:
            # A warning from the last parse ("no entries found") holds while the body is the same.
            del ok["error"]
        if isinstance(result, NotModified):
            ok["next_due"] = self._next_due(source, now, max_age=result.max_age)
            write(lambda: self.store.update_source(source["id"], **ok),
                  not_modified("not modified"))
            return

        assert isinstance(result, Fetched)
        body_hash = _digest(result.content)
        if body_hash == source["body_hash"]:
            # Same bytes as last time, though the server sent no validators: nothing to parse.
            ok["next_due"] = self._next_due(source, now, max_age=result.max_age)
            write(lambda: self.store.update_source(source["id"], **ok),
                  not_modified("unchanged body"))
            return

        try:
            args = (result.final_url, result.content, result.headers, self.config.topics)
            if pool is None:
                parsed, topics = parse_and_match(*args)
            else:
                loop = asyncio.get_running_loop()
                parsed, topics = await loop.run_in_executor(pool, parse_and_match, *args)
        except ParseError as e:
            self._record_failure(source, now, e.message, status=result.status, extra=moved)
            summary.failed += 1
            summary.errors.append((source["url"], e.message))
            return
        except Exception as e:  # a parser crash must not stop the other sources
            log.exception("poll %s: parser failed", name)
            message = f"could not parse the feed: {type(e).__name__}: {e}"
            self._record_failure(source, now, message, status=result.status, extra=moved)
            summary.failed += 1
            summary.errors.append((source["url"], message))
            return

        now = self.now()
        ok.update(
            title=parsed.source.title or source["title"],
            link=parsed.source.link or source["link"],
            interval_hint=parsed.source.interval_hint,
            body_hash=body_hash,
            next_due=self._next_due(source, now, hint=parsed.source.interval_hint,
                                    max_age=result.max_age),
        )
        entries = parsed.entries
        # A well-formed feed that lists nothing is a feed (not `failed`), but rarely what the
        # editor meant to subscribe to: say so where the source's health is shown.
        ok["error"] = None if entries else NO_ENTRIES

        def saved(counts: SaveResult) -> None:
            summary.fetched += 1
            summary.new_entries += counts.new
            summary.updated_entries += counts.updated
            summary.new_candidates += counts.new_candidates
            log.info("poll %s: %d entries (%d new, %d updated), %d new candidates (%.2fs)", name,
                     len(entries), counts.new, counts.updated, counts.new_candidates,
                     time.monotonic() - started)

        write(lambda: self.store.save_entries(source["id"], entries, topics, now, ok), saved)

    def _record_failure(self, source: dict[str, Any], now: datetime, message: str, *,
                        status: int | None, retry_after: datetime | None = None,
                        gone: bool = False, extra: dict[str, Any] | None = None) -> None:
        failures = int(source["failures"] or 0) + 1
        fields: dict[str, Any] = {
            "status": status, "last_polled": iso(now), "failures": failures, "error": message,
            "failing_since": source["failing_since"] or iso(now), **(extra or {}),
        }
        if retry_after:
            retry_after = min(retry_after, now + timedelta(seconds=MAX_RETRY_AFTER))
            fields["retry_after"] = iso(retry_after)
        if gone:
            fields["disabled"] = f"{message} (since {iso(now)}); run `curator enable` to try again"
        fields["next_due"] = self._next_due(source, now, failures=failures, retry_after=retry_after)
        self.store.update_source(source["id"], **fields)
        when = f"; next try {fields['next_due']}" if not gone else "; disabled"
        log.warning("poll %s: failed (%d in a row): %s%s", display_name(source), failures,
                    message, when)

    def _next_due(self, source: dict[str, Any], now: datetime, *, failures: int = 0,
                  hint: int | None = None, max_age: int | None = None,
                  retry_after: datetime | None = None) -> str | None:
        interval = int(source["interval"] or self.config.poll.interval)
        if failures:
            delay = min(_jitter(interval * 2 ** min(failures - 1, 20), 0.25), DAY)
        else:
            # The feed's own hints are a floor on the interval, never more than a day.
            floor = max(min(hint or 0, DAY), min(max_age or 0, DAY))
            delay = _jitter(max(interval, floor))
        due = now + timedelta(seconds=int(delay))
        if retry_after and retry_after > due:
            due = retry_after
        return iso(due)

    # ------------------------------------------------------------------ sources

    def sources(self) -> list[dict[str, Any]]:
        """Every configured source with its health."""
        self.sync_sources()
        rows = self.store.sources()
        now = self.now()
        for r in rows:
            since = parse_iso(r["failing_since"])
            r["display_name"] = display_name(r)
            r["stale"] = bool(since and (now - since).total_seconds() >= STALE_AFTER)
        return rows

    def enable(self, url_or_name: str, *, editor: str | None = None) -> dict[str, Any]:
        """Clear a source's disabled state and back-off, so the next poll fetches it.

        The activity log records who did it (and what it cleared) in the same transaction.
        """
        self.sync_sources()
        s = self.store.find_source(url_or_name)
        return self.store.enable_source(s["id"], editor=editor, now=self.now())

    def disable(self, url_or_name: str, *, editor: str | None = None) -> dict[str, Any]:
        """Stop polling a source (it stays in feeds.yaml) until `enable`; logged with the editor."""
        self.sync_sources()
        s = self.store.find_source(url_or_name)
        if s["disabled"]:
            return s
        reason = f"disabled by {editor}" if editor else "disabled"
        return self.store.disable_source(s["id"], reason, editor=editor, now=self.now())

    # ------------------------------------------------------------------ editing feeds.yaml

    def edit_config(self, edit: Callable[[FeedsFile], str | None], *, editor: str | None,
                    action: str, source: str | None = None) -> str | None:
        """Change feeds.yaml through `edit` (which returns the log's line of detail), write it
        with only the edited lines changed, take the new configuration in, and log the change
        with the editor. Nothing is written or logged when the edit or the result is refused."""
        from .feedsfile import FeedsFile

        f = FeedsFile(self.config.path)
        detail = edit(f)
        if not f.changed():
            return detail
        config = dataclasses.replace(f.check(), database=self.config.database)
        now = self.now()
        with self.store.write():
            self.store.sync_sources(((s.url, s.name, s.interval) for s in config.sources), now)
            row = self.store._one("SELECT id FROM sources WHERE url = ?", (source,)) \
                if source else None
            self.store.log_activity(action, editor=editor, now=now,
                                    source_id=row["id"] if row else None, detail=detail)
            # The file is written last: if that fails, the log and the sources roll back.
            f.save()
        self.config = config
        self._synced = True
        return detail

    def add_source(self, url: str, name: str | None = None, *, editor: str | None) -> str:
        """Add a source to feeds.yaml (only its lines are added); returns its URL."""
        url = url.strip()
        def edit(f: FeedsFile) -> str:
            f.add_source(url, name)
            return f"{name} ({url})" if name else url

        self.edit_config(edit, editor=editor, action="source-add", source=url)
        return url

    def rename_source(self, url: str, name: str | None, *, editor: str | None) -> None:
        """Set or clear a source's name in feeds.yaml."""
        old = next((s.name for s in self.config.sources if s.url == url), None)

        def edit(f: FeedsFile) -> str:
            f.rename_source(url, name)
            return f"{old or url} → {(name or '').strip() or url}"

        self.edit_config(edit, editor=editor, action="source-rename", source=url)

    def remove_source(self, url: str, *, editor: str | None) -> None:
        """Take a source out of feeds.yaml; what it brought in stays stored."""
        old = next((s.name for s in self.config.sources if s.url == url), None)

        def edit(f: FeedsFile) -> str:
            f.remove_source(url)
            return f"{old} ({url})" if old else url

        self.edit_config(edit, editor=editor, action="source-remove", source=url)

    def put_topic(self, name: str, *, title: str | None, any_terms: Sequence[Any],
                  all_terms: Sequence[Any] = (), none_terms: Sequence[Any] = (),
                  create: bool = False, editor: str | None) -> None:
        """Create a topic in feeds.yaml, or change one's title and terms (then `rematch`)."""
        def edit(f: FeedsFile) -> str:
            f.put_topic(name, title=title, any_terms=any_terms, all_terms=all_terms,
                        none_terms=none_terms, create=create)
            n = len(any_terms) + len(all_terms) + len(none_terms)
            return f"{name}: {n} term{'' if n == 1 else 's'}"

        self.edit_config(edit, editor=editor, action="topic-add" if create else "topic-edit")

    def remove_topic(self, name: str, *, editor: str | None) -> None:
        """Take a topic out of feeds.yaml (then `rematch`)."""
        def edit(f: FeedsFile) -> str:
            f.remove_topic(name)
            return name

        self.edit_config(edit, editor=editor, action="topic-remove")

    def topics_after(self, edit: Callable[[FeedsFile], Any]) -> tuple[Topic, ...]:
        """The topics feeds.yaml would have after `edit`, without writing anything."""
        from .feedsfile import FeedsFile

        f = FeedsFile(self.config.path)
        edit(f)
        return f.check().topics

    def source_activity(self, limit: int = 10) -> list[dict[str, Any]]:
        """The newest changes to the sources and topics, newest first."""
        return self.store.activity(CONFIG_ACTIONS, limit, sources=True)

    def last_enabled(self) -> dict[int, dict[str, Any]]:
        """Who last enabled each source that was ever enabled, and when, by source id."""
        return self.store.last_enabled()

    # ------------------------------------------------------------------ review

    def candidates(self, *, status: str = "new", topic: str | None = None,
                   limit: int | None = 50, source: str | None = None, search: str | None = None,
                   offset: int = 0, sort: str = "newest", seen: bool | None = None
                   ) -> list[dict[str, Any]]:
        """Candidates, newest first (sort="score": the likeliest to be featured first;
        `seen`: only those an editor marked seen, or only the others)."""
        if topic and topic not in {t.name for t in self.config.topics}:
            known = ", ".join(t.name for t in self.config.topics) or "none"
            raise UsageError(f"unknown topic {topic!r} (topics: {known})")
        source_id = self.store.find_source(source)["id"] if source else None
        return self.store.candidates(status=status, topic=topic, limit=limit,
                                     source_id=source_id, search=search, offset=offset, sort=sort,
                                     seen=seen)

    def candidate(self, candidate_id: int) -> dict[str, Any]:
        """One candidate with its summary, sources and history."""
        return self.store.candidate(candidate_id)

    def feature(self, candidate_id: int, note: str | None, *, editor: str,
                link: str | None = None) -> dict[str, Any]:
        """Feature a candidate with a Markdown commentary; again to edit the note.

        `link`: which of the story's articles the published item links (default: the first seen).
        """
        if note is not None:
            # Invisible characters that reorder or hide text have no place in a published note.
            note = strip_invisible(note)
        if note is not None and len(note) > MAX_NOTE_CHARS:
            raise UsageError(f"the note has {len(note):,} characters; the limit is "
                             f"{MAX_NOTE_CHARS:,}")
        return self.store.set_status(candidate_id, "featured", editor=editor, now=self.now(),
                                     note=note, link=link)

    def split(self, candidate_id: int, url: str, *, editor: str) -> dict[str, Any]:
        """Make one of a story's other articles a candidate of its own; the new candidate."""
        return self.store.split(candidate_id, url, editor=editor, now=self.now())

    def merge(self, candidate_id: int, other_id: int, *, editor: str) -> dict[str, Any]:
        """Join another candidate's story to this one (it keeps this one's status and note)."""
        return self.store.merge(candidate_id, other_id, editor=editor, now=self.now())

    def reject(self, candidate_id: int, *, editor: str) -> dict[str, Any]:
        """Reject a candidate (unfeatures it)."""
        return self.store.set_status(candidate_id, "rejected", editor=editor, now=self.now())

    def mark_seen(self, ids: Sequence[int], *, editor: str, seen: bool = True) -> list[int]:
        """Mark new candidates as seen by `editor` (or not seen again); returns those changed.

        Seen is not a decision: the candidate stays new, and nothing is published or learnt.
        """
        return self.store.mark_seen(list(ids), editor=editor, now=self.now(), seen=seen)

    def reset(self, candidate_id: int, *, editor: str) -> dict[str, Any]:
        """Put a candidate back to new (unfeatures it)."""
        return self.store.set_status(candidate_id, "new", editor=editor, now=self.now())

    def rematch(self, *, dry_run: bool = False,
                topics: Sequence[Topic] | None = None) -> dict[str, Any]:
        """Apply the current topics to every stored entry; with dry_run, say what would change
        (with `topics`, what these would change in place of feeds.yaml's: the desk's preview)."""
        from .match import Matcher

        if topics is not None and not dry_run:
            raise UsageError("only a dry run can try other topics")
        matcher = Matcher(tuple(self.config.topics if topics is None else topics))
        if dry_run:
            return self._search().rematch_preview(lambda t, x: matcher.match(t, x))
        entries, new, dropped = self.store.rematch(lambda t, x: matcher.match(t, x), self.now())
        done = self.refresh_relevance(everything=True)
        if done is not None:
            new += done.suggested
            dropped += done.withdrawn
        return {"entries": entries, "new_candidates": new, "dropped": dropped}

    # ------------------------------------------------------------------ search and promote

    def _search(self) -> SearchStore:
        from .searchstore import SearchStore

        return SearchStore(self.store)

    def search(self, query: str, *, limit: int = 20, offset: int = 0) -> list[dict[str, Any]]:
        """Every stored entry matching the query, best match first (one per article)."""
        return self._search().search(query, limit=limit, offset=offset)

    def entry(self, entry_id: int) -> dict[str, Any]:
        """One stored entry, with the candidate its article is (or None)."""
        return self._search().entry(entry_id)

    def promote(self, entry_id: int, *, editor: str) -> dict[str, Any]:
        """Make a stored entry's article a candidate (topics []), recorded with the editor."""
        cid, created = self._search().promote(entry_id, editor=editor, now=self.now())
        if created:
            log.info("%s promoted entry %d to candidate %d", editor, entry_id, cid)
        return self.store.candidate(cid)

    def matched_where(self, candidate: dict[str, Any]) -> dict[str, list[tuple[str, list[str]]]]:
        """For each topic the candidate matches: each term found, and in which of its fields."""
        from .match import Matcher

        fields = self._search().fields(candidate.get("entry_id"))
        if fields is None:
            return {}
        return Matcher(self.config.topics).where(fields)

    def refresh_relevance(self, *, everything: bool = False) -> Refreshed | None:
        """Retrain on changed decisions, score candidates, make suggestions (see relevance.py).

        Never fails the poll or rematch that asks: a failure is logged, and the scores stay as
        they were (or the topic matches' until a refresh works).
        """
        from .relevance import refresh
        from .relevance_store import RelevanceStore

        try:
            done = refresh(RelevanceStore(self.store), self.config.relevance, self.now(),
                           everything=everything)
        except Exception:  # noqa: BLE001 - the learned queue is a help, never a stop
            log.exception("relevance: could not update the scores")
            return None
        if done.trained:
            log.info("relevance: retrained on the editors' decisions (%s)",
                     "model ready" if done.model else "too few to learn from yet")
        if done.suggested or done.withdrawn:
            log.info("relevance: %d new suggestions, %d withdrawn", done.suggested, done.withdrawn)
        return done

    def prune(self) -> int:
        """Apply `retention`: delete old entries no reviewed candidate needs."""
        if not self.config.retention:
            return 0
        return self.store.prune(self.now() - timedelta(seconds=self.config.retention))

    # ------------------------------------------------------------------ editors

    def add_editor(self, name: str, password: str) -> None:
        """Create an editor account; the password is kept only as a slow salted hash."""
        name = name.strip()
        # isprintable() also refuses the bidi overrides and zero-width characters (format
        # characters) that would make one name look like another in the review history.
        if (not name or len(name) > 64 or any(c.isspace() for c in name)
                or not name.isprintable()):
            raise UsageError("an editor name is 1 to 64 printable characters with no spaces")
        self.store.add_editor(name, _password_hash(password), self.now())

    def set_editor_password(self, name: str, password: str) -> None:
        """Change an editor's password; their sessions end."""
        self.store.set_editor_password(name, _password_hash(password))

    def end_sessions(self, name: str) -> None:
        """End every session of an editor, on every browser (signing out does this)."""
        self.store.end_editor_sessions(name)

    def remove_editor(self, name: str) -> None:
        """Delete an editor account (their past actions stay in the review log)."""
        self.store.remove_editor(name)

    def editors(self) -> list[dict[str, Any]]:
        """Every editor's name and creation time."""
        return self.store.editors()

    def check_password(self, name: str, password: str) -> bool:
        """True when `password` is this editor's; as slow for unknown names as for known ones."""
        stored = self.store.editor_hash(name)
        if stored is None:
            check_password_hash(_dummy_hash(), password)  # same cost, so names cannot be probed
            return False
        return check_password_hash(stored, password)

    # ------------------------------------------------------------------ moving work and data

    def backup(self, target: str | Path) -> Path:
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
                path = _reserve(folder, "curator-", ".db", self.now())
            elif path.resolve() == self.config.database.resolve():
                raise UsageError("the backup must not be the database itself")
            try:
                self.store.backup(path)
            except BaseException:
                if into_folder:
                    path.unlink(missing_ok=True)
                raise
        except OSError as e:
            raise UsageError(f"cannot write the backup {path}: {e.strerror or e}") from e
        return path

    def restore(self, source: str | Path) -> Path:
        """Replace the database with a backup, after checking it; keeps a copy of the current one."""
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
        db = self.config.database
        keep = _reserve(db.parent, f"{db.name}.before-restore-", ".bak", self.now())
        self.store.backup(keep)
        self.store.restore_from(src)
        self.store.close()
        self.store = Store(self.config.database)  # migrates a backup from an older version
        self._synced = False
        return keep

    def export(self, fmt: str, statuses: Sequence[str] = ("featured",)) -> str:
        """The editor's reviewed items with notes, as JSON or CSV, to move to another install."""
        rows = self.store.reviewed(statuses)
        items = [{
            "url": r["url"], "title": r["title"], "status": r["status"], "note": r["note"],
            "guid": r["guid"], "featured_at": r["featured_at"],
            "note_updated_at": r["note_updated_at"], "published": r["published"],
            "source": r["source_name"] or (r["sources"][0] if r["sources"] else None),
            "sources": r["sources"], "topics": r["topics"],
            "changed_by": r["changed_by"], "changed_at": r["changed_at"],
            "entries": r["carriers"], "also": r.get("also") or [], "history": r["history"],
        } for r in rows]
        if fmt == "json":
            return json.dumps({"curator_export": 1, "exported_at": iso(self.now()),
                               "items": items}, ensure_ascii=False, indent=2) + "\n"
        if fmt == "csv":
            buf = io.StringIO()
            import csv

            w = csv.DictWriter(buf, fieldnames=EXPORT_CSV_FIELDS, extrasaction="ignore")
            w.writeheader()
            for item in items:
                first = item["entries"][0] if item["entries"] else {}
                w.writerow({**item, "sources": "; ".join(item["sources"]),
                            "topics": "; ".join(item["topics"]),
                            "feed": first.get("feed"), "site": first.get("site")})
            return buf.getvalue()
        raise UsageError(f"unknown export format {fmt!r} (json or csv)")

    def import_items(self, data: bytes, *, editor: str) -> dict[str, int]:
        """Apply an export (JSON or CSV) whole or not at all; items match candidates by URL."""
        now = self.now()
        # Every item is checked before anything is written: a bad one changes nothing.
        items = [_normalise_import(raw, n, now) for n, raw in enumerate(_read_export(data), 1)]
        self.sync_sources()
        return self.store.import_reviewed(items, editor=editor, now=now)

    def opml(self) -> bytes:
        """The configured sources as OPML 2.0."""
        self.sync_sources()
        from .opml import Outline, export_opml

        outlines = [Outline(url=s["url"], title=s["name"] or s["title"], site=s["link"])
                    for s in self.store.sources()]
        return export_opml(self.config.output.title, outlines, self.now())

    def import_opml(self, data: bytes, where: str) -> AddResult:
        """Add an OPML file's feeds to feeds.yaml, changing only the lines added; returns what
        was added and what was skipped (already there, listed twice, not http/https)."""
        from .feedsfile import add_sources
        from .opml import parse_opml

        outlines = parse_opml(data, where)
        return add_sources(self.config.path, [(o.url, o.title) for o in outlines])

    # ------------------------------------------------------------------ for the desk

    def get_state(self, key: str) -> str | None:
        """A small named value kept in the database (the desk's signing key, for one)."""
        return self.store.get_state(key)

    def set_state(self, key: str, value: str | None) -> None:
        """Keep a small named value in the database."""
        self.store.set_state(key, value)

    def counts(self, *, topic: str | None = None, source: str | None = None,
               search: str | None = None) -> dict[str, int]:
        """How many candidates have each status, of those the filters let through."""
        source_id = self.store.find_source(source)["id"] if source else None
        return self.store.counts(topic=topic, source_id=source_id, search=search)

    def session_stamp(self, name: str) -> str | None:
        """What an editor's sessions are bound to, or None for no such editor: it changes
        with the password and at `end_sessions`, and every session begun before then ends."""
        found = self.store.editor_session(name)
        return None if found is None else f"{found[1]}:{found[0]}"

    def stored_sources(self) -> list[dict[str, Any]]:
        """The configured sources as stored, without syncing feeds.yaml first (read-only)."""
        return self.store.sources()

    def preview_note(self, markdown: str) -> str:
        """The commentary as readers will see it: the published feed's renderer and sanitiser."""
        return render_note(markdown)

    def published_preview(self) -> list[tuple[int, PublishedItem, str]]:
        """Each published item's candidate id, the item, and the HTML body readers get."""
        return [(cid, item, item_html(item)) for cid, item in self._featured()]

    def highlight_spans(self, text: str) -> list[tuple[int, int]]:
        """Where the topics' terms match in `text`, for highlighting."""
        return _matcher(self.config.topics).spans(text)

    def matched_terms(self, title: str, text: str) -> dict[str, list[str]]:
        """Which terms of which topics matched."""
        return _matcher(self.config.topics).explain(title, text)

    # ------------------------------------------------------------------ publish

    def channel(self) -> Channel:
        """The outgoing feed's own metadata, from feeds.yaml."""
        o = self.config.output
        return Channel(title=o.title, link=o.link, description=o.description,
                       author_name=o.author_name, author_email=o.author_email,
                       rss_url=o.rss_url, atom_url=o.atom_url,
                       topic_titles=tuple((t.name, t.title) for t in self.config.topics))

    def published_items(self) -> list[PublishedItem]:
        """The featured candidates as they go into the feeds, newest feature first."""
        return [item for _, item in self._featured()]

    def _featured(self) -> list[tuple[int, PublishedItem]]:
        """Each featured candidate's id and item; the item carries its note's cached HTML when
        that was rendered from this note by this version (else note_html is None)."""
        items = []
        for r in self.store.featured(self.config.output.max_items):
            featured_at = parse_iso(r["featured_at"])
            assert featured_at is not None
            note = r["note"] or ""
            cached = r["note_html"] if r["note_html_key"] == note_html_key(note) else None
            items.append((r["id"], PublishedItem(
                guid=r["guid"],
                title=r["title"] or r["url"],
                url=r["url"],
                note=note,
                source_name=r["source_name"] or (r["sources"][0] if r["sources"] else r["url"]),
                source_url=r["source_url_in_use"] or r["url"],
                source_link=r["source_link"],
                topics=tuple(r["topics"]),
                featured_at=featured_at,
                updated_at=parse_iso(r["note_updated_at"]) or featured_at,
                published=parse_iso(r["published"]),
                editor=r["changed_by"],
                note_html=cached,
                also=tuple((a["title"] or "", a["url"], a["source"] or "")
                           for a in r.get("also") or []),
            )))
        return items

    def publish(self, *, editor: str | None = None) -> dict[str, Any]:
        """Write the RSS and Atom files; unchanged content leaves them byte-identical.

        A publish that changed the files is logged with `editor`: the editor who asked, or None
        for curator itself. `curator run`'s publishes are logged too (as None): while it runs,
        they are how most changes reach readers. A publish that changed nothing is not logged.
        """
        marker = self.store.change_marker()
        featured = self._featured()
        items = [item for _, item in featured]
        channel = self.channel()
        out = self.config.output
        result = {"rss": str(out.rss), "atom": str(out.atom), "items": len(items),
                  "changed": False}
        # Rendering is a pure function of these inputs: when they and the files on disk are
        # what the last publish left, the output would be the same bytes, so skip building it
        # (and importing the renderers) — the common case for a publish from cron. The items'
        # note_html is left out of their repr: it follows from the note and the version.
        inputs = _digest(repr((__version__, NOTE_HTML_REVISION, channel, items)).encode())
        output = self._output_digest()
        if self.store.get_state("published_inputs") == inputs and self._files_as_published():
            if (self.store.get_state("published_marker") != marker
                    or self.store.get_state("published_output") != output):
                self.store.set_states({"published_marker": marker, "published_output": output})
            return result
        from .files import write_atomic

        items, rendered = _with_note_html(featured)
        try:
            rss, atom = render_rss(channel, items), render_atom(channel, items)
            changed_rss = write_atomic(out.rss, rss)
            changed_atom = write_atomic(out.atom, atom)
        except OSError as e:
            raise PublishError(_unwritable(e, out.rss, out.atom)) from e
        result["changed"] = changed_rss or changed_atom
        files = _digest(rss) + " " + _digest(atom)
        with self.store.write():
            # Logged when the files changed, or when they differ from what the last recorded
            # publish wrote: the files are written before this transaction, so a publish whose
            # commit failed left them changed, and the next one must not find them "unchanged"
            # and go unrecorded.
            logged = result["changed"] or self.store.get_state("published_files") != files
            if rendered:
                self.store.set_note_html(rendered)
            self.store.set_states({"published_files": files, "published_inputs": inputs,
                                   "published_marker": marker, "published_output": output})
            if logged:
                n = len(items)
                self.store.log_activity("publish", editor=editor, now=self.now(),
                                        detail=f"{n} item{'' if n == 1 else 's'}")
        return result

    def publishes(self, limit: int = 5) -> list[dict[str, Any]]:
        """The newest publishes that changed the feeds: who (None: `curator run`), when, what."""
        return self.store.activity("publish", limit)

    def _files_as_published(self) -> bool:
        """Both feed files exist with the bytes the last publish wrote."""
        out = self.config.output
        try:
            found = _digest(out.rss.read_bytes()) + " " + _digest(out.atom.read_bytes())
        except OSError:
            return False
        return found == self.store.get_state("published_files")

    def _output_digest(self) -> str:
        # The output settings as of this publish: any process (the desk, cron, `curator run`)
        # can then tell that an edit of feeds.yaml's output section is not published yet.
        # Topic titles are the feeds' category labels: a renamed topic is an output change too.
        titles = tuple((t.name, t.title) for t in self.config.topics)
        return _digest(repr((__version__, NOTE_HTML_REVISION, self.config.output, titles)).encode())

    def needs_publish(self) -> bool:
        """True when a feature, note, status or the output settings changed since the last publish."""
        out = self.config.output
        if not out.rss.exists() or not out.atom.exists():
            return True
        if self.store.get_state("published_output") != self._output_digest():
            return True
        return self.store.get_state("published_marker") != self.store.change_marker()
