"""Curator: the one facade the edges (cli, web, schedule) call. Orchestration only: no SQL, no HTTP."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import clock, passwords
from .config import Config, Follower, describe_changes
from .documents import candidate_json, source_json
from .exceptions import UsageError
from .store import Store
from .store.logins import LoginLimits
from .store.search import MAX_QUERY, SNIPPET_END, SNIPPET_START, SearchStore
from .types import MAX_NOTE_CHARS
from .urls import article_url

if TYPE_CHECKING:
    from .documents import PollSummary
    from .feedsfile import AddResult
    from .poll import ProgressFn
    from .publish import Publisher
    from .relevance import Refreshed as RelevanceRefreshed
    from .types import Candidate, Channel, Editor, Enabled, PublishedItem, Source

__all__ = ["MAX_NOTE_CHARS", "MAX_QUERY", "SNIPPET_END", "SNIPPET_START", "Curator",
           "candidate_json", "source_json"]


log = logging.getLogger("curator")


STALE_AFTER = 7 * 86400  # a source failing this long (a week) is flagged in `curator sources`


class Curator:
    """Everything an editor or a scheduler can ask of curator."""

    def __init__(self, config: Config, *, store: Store | None = None,
                 now: Callable[[], datetime] | None = None) -> None:
        self.config = config
        self.store = store or Store(config.database)
        self.store.stories.window = config.stories_window
        self.store.stories.meaning = config.stories_meaning
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
        summary = describe_changes(old, new)
        self.config = new
        self.store.stories.window = new.stories_window
        self.store.stories.meaning = new.stories_meaning
        if new.sources != old.sources:
            self._synced = False  # the next poll brings the stored sources in line
        log.info("%s", summary)
        return summary

    # ------------------------------------------------------------------ poll

    def poll_lock(self, wait: float | None = None) -> AbstractContextManager[None]:
        """Hold the one-poll-at-a-time lock (up to `wait` s); its holder is the only poller."""
        from .poll import poll_lock  # the poll's modules load only for a poll
        return poll_lock(self.config.database, wait, self.store.release_claims)

    def poll(self, *, force: bool = False, only: Sequence[str] = (),
             progress: ProgressFn | None = None) -> PollSummary:
        """Fetch the sources that are due (or `only` those named), store entries, match topics."""
        from .poll import Poll
        self.sync_sources()
        if only:
            chosen = {s.id: s for s in (self.store.find_source(x) for x in only)}
            selected = list(chosen.values())
        else:
            selected = self.store.sources()
        summary = Poll(self.store, self.config, self.now, self.stop_requested).run(
            selected, schedule=not (force or only), progress=progress)
        done = self.refresh_relevance()
        if done is not None:
            summary.new_candidates += done.suggested
        return summary

    # ------------------------------------------------------------------ sources

    def sources(self) -> list[Source]:
        """Every configured source with its health."""
        self.sync_sources()
        now = self.now()
        return [replace(s, stale=True) if s.failing_since
                and (now - s.failing_since).total_seconds() >= STALE_AFTER else s
                for s in self.store.sources()]

    def enable(self, url_or_name: str, *, editor: str | None = None) -> Enabled:
        """Clear a source's disabled state and back-off, so the next poll fetches it.

        The activity log records who did it (and what it cleared) in the same transaction.
        """
        self.sync_sources()
        s = self.store.find_source(url_or_name)
        return self.store.enable_source(s.id, editor=editor, now=self.now())

    def last_enabled(self) -> dict[int, dict[str, Any]]:
        """Who last enabled each source that was ever enabled, and when, by source id."""
        return self.store.last_enabled()

    # ------------------------------------------------------------------ review

    def candidates(self, *, status: str = "new", topic: str | None = None,
                   limit: int | None = 50, source: str | None = None, search: str | None = None,
                   offset: int = 0, sort: str = "newest", seen: bool | None = None) -> list[Candidate]:
        """Candidates, newest first (sort="score": likeliest first; `seen`: marked seen or not)."""
        if topic and topic not in {t.name for t in self.config.topics}:
            known = ", ".join(t.name for t in self.config.topics) or "none"
            raise UsageError(f"unknown topic {topic!r} (topics: {known})")
        source_id = self.store.find_source(source).id if source else None
        return self.store.candidates(status=status, topic=topic, limit=limit,
                                     source_id=source_id, search=search, offset=offset,
                                     sort=sort, seen=seen)

    def candidate(self, candidate_id: int) -> Candidate:
        """One candidate with its summary, sources and history."""
        return self.store.candidate(candidate_id)

    def feature(self, candidate_id: int, note: str | None, *, editor: str,
                link: str | None = None) -> Candidate:
        """Feature a candidate with a Markdown commentary; again to edit the note. `link`: which
        of the story's articles the published item links (default: the first seen)."""
        from .publish import clean_note
        return self.store.set_status(candidate_id, "featured", editor=editor, now=self.now(),
                                     note=clean_note(note), link=article_url(link) if link else None)

    def split(self, candidate_id: int, url: str, *, editor: str) -> Candidate:
        """Make one of a story's other articles a candidate of its own; the new candidate."""
        return self.store.split(candidate_id, article_url(url), editor=editor, now=self.now())

    def merge(self, candidate_id: int, other_id: int, *, editor: str) -> Candidate:
        """Join another candidate's story to this one (it keeps this one's status and note)."""
        return self.store.merge(candidate_id, other_id, editor=editor, now=self.now())

    def reject(self, candidate_id: int, *, editor: str) -> Candidate:
        """Reject a candidate (unfeatures it)."""
        return self.store.set_status(candidate_id, "rejected", editor=editor, now=self.now())

    def reset(self, candidate_id: int, *, editor: str) -> Candidate:
        """Put a candidate back to new (unfeatures it)."""
        return self.store.set_status(candidate_id, "new", editor=editor, now=self.now())

    def rematch(self, *, dry_run: bool = False) -> dict[str, Any]:
        """Apply the current topics to every stored entry; with dry_run, say what would change."""
        from .match import Matcher

        matcher = Matcher(self.config.topics)
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
        return SearchStore(self.store)

    def search(self, query: str, *, limit: int = 20, offset: int = 0) -> list[dict[str, Any]]:
        """Every stored entry matching the query, best match first (one per article)."""
        return self._search().search(query, limit=limit, offset=offset)

    def entry(self, entry_id: int) -> dict[str, Any]:
        """One stored entry, with the candidate its article is (or None)."""
        return self._search().entry(entry_id)

    def promote(self, entry_id: int, *, editor: str) -> Candidate:
        """Make a stored entry's article a candidate (topics []), recorded with the editor."""
        cid, created = self._search().promote(entry_id, editor=editor, now=self.now())
        if created:
            log.info("%s promoted entry %d to candidate %d", editor, entry_id, cid)
        return self.store.candidate(cid)

    def add_article(self, url: str, *, note: str | None, editor: str) -> Candidate:
        """Fetch an article page and make it a candidate (with a note: feature it); adding.py."""
        from .adding import add_article
        self.sync_sources()
        return add_article(self.store, self._search(), self.config, url, note=note,
                           editor=editor, now=self.now())

    def matched_where(self, candidate: Candidate) -> dict[str, list[tuple[str, list[str]]]]:
        """For each topic the candidate matches: each term found, and in which of its fields."""
        from .poll import matcher
        fields = self._search().fields(candidate.entry_id)
        return {} if fields is None else matcher(self.config.topics).where(fields)

    def refresh_relevance(self, *, everything: bool = False) -> RelevanceRefreshed | None:
        """Retrain on changed decisions, score candidates, make suggestions (see relevance.py).
        Never fails the poll or rematch that asks: a failure is logged, the scores stay."""
        from .relevance import refresh
        from .store.relevance import RelevanceStore
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
        self.store.add_editor(passwords.check_name(name), passwords.hash_password(password),
                              self.now())

    def set_editor_password(self, name: str, password: str) -> None:
        """Change an editor's password; their sessions end."""
        self.store.set_editor_password(name, passwords.hash_password(password))

    def end_sessions(self, name: str) -> None:
        """End every session of an editor, on every browser (signing out does this)."""
        self.store.end_editor_sessions(name)

    def remove_editor(self, name: str) -> None:
        """Delete an editor account (their past actions stay in the review log)."""
        self.store.remove_editor(name)

    def editors(self) -> list[Editor]:
        """Every editor's name and creation time."""
        return self.store.editors()

    def check_password(self, name: str, password: str) -> bool:
        """True when `password` is this editor's; as slow for unknown names as for known ones."""
        return passwords.matches(self.store.editor_hash(name), password)

    # ------------------------------------------------------------------ moving work and data

    def backup(self, target: str | Path) -> Path:
        """An online copy of the database, mode 0600; into a folder: a new `curator-<time>.db`."""
        from . import transfer
        return transfer.backup(self.store, self.config.database, target, self.now())

    def restore(self, source: str | Path) -> Path:
        """Replace the database with a backup, after checking it; keeps a copy of the current one."""
        from . import transfer
        keep = transfer.restore(self.store, self.config.database, source, self.now())
        self.store = Store(self.config.database)  # migrates a backup from an older version
        self._synced = False
        return keep

    def copy_db(self, target: str, *, replace: bool = False,
                progress: Callable[[str, int, int], None] | None = None) -> dict[str, Any]:
        """Copy everything into another database (SQLite or PostgreSQL), checked; rows per table."""
        from .transfer import copy_db

        return copy_db(self.store, self.config.database, target, replace=replace, now=self.now(),
                       progress=progress)

    def export(self, fmt: str, statuses: Sequence[str] = ("featured",)) -> str:
        """The editor's reviewed items with notes, as JSON or CSV, to move to another install."""
        from . import transfer
        return transfer.export(self.store, fmt, statuses, self.now())

    def import_items(self, data: bytes, *, editor: str) -> dict[str, int]:
        """Apply an export (JSON or CSV) whole or not at all; items match candidates by URL."""
        from . import transfer
        self.sync_sources()  # an item's copies find their sources by feed URL
        return transfer.import_items(self.store, data, editor=editor, now=self.now())

    def opml(self) -> bytes:
        """The configured sources as OPML 2.0."""
        self.sync_sources()
        from . import transfer
        return transfer.opml(self.store, self.config.output.title, self.now())

    def import_opml(self, data: bytes, where: str) -> AddResult:
        """Add an OPML file's feeds to feeds.yaml, changing only the lines added; returns what
        was added and what was skipped (already there, listed twice, not http/https)."""
        from . import transfer
        return transfer.import_opml(self.config.path, data, where)

    # ------------------------------------------------------------------ for the desk

    def get_state(self, key: str) -> str | None:
        """A small named value kept in the database (the desk's signing key, for one)."""
        return self.store.get_state(key)

    def set_state(self, key: str, value: str | None, *, keep: bool = False) -> str | None:
        """Keep a small named value in the database (`keep`: one already there); what it is now."""
        return self.store.set_state(key, value, keep=keep)

    def login_limits(self) -> LoginLimits:
        """The desk's sign-in counters, kept in the database for every `curator web` process."""
        return LoginLimits(self.store)

    def counts(self, *, topic: str | None = None, source: str | None = None,
               search: str | None = None) -> dict[str, int]:
        """How many candidates have each status, of those the filters let through."""
        source_id = self.store.find_source(source).id if source else None
        return self.store.counts(topic=topic, source_id=source_id, search=search)

    def session_stamp(self, name: str) -> str | None:
        """What an editor's sessions are bound to, or None for no such editor: it changes
        with the password and at `end_sessions`, and every session begun before then ends."""
        found = self.store.editor_session(name)
        return None if found is None else f"{found[1]}:{found[0]}"

    def stored_sources(self) -> list[Source]:
        """The configured sources as stored, without syncing feeds.yaml first (read-only)."""
        return self.store.sources()

    def preview_note(self, markdown: str) -> str:
        """The commentary as readers will see it: the published feed's renderer and sanitiser."""
        from .publish import render_note
        return render_note(markdown)

    def published_preview(self) -> list[tuple[int, PublishedItem, str]]:
        """Each published item's candidate id, the item, and the HTML body readers get."""
        from .publish import item_html
        return [(cid, item, item_html(item)) for cid, item in self._publisher.featured()]

    def highlight_spans(self, text: str) -> list[tuple[int, int]]:
        """Where the topics' terms match in `text`, for highlighting."""
        from .poll import matcher
        return matcher(self.config.topics).spans(text)

    def matched_terms(self, title: str, text: str) -> dict[str, list[str]]:
        """Which terms of which topics matched."""
        from .poll import matcher
        return matcher(self.config.topics).explain(title, text)

    # ------------------------------------------------------------------ publish

    @property
    def _publisher(self) -> Publisher:
        from .publish import Publisher  # only a publish (or the desk's preview) needs it
        return Publisher(self.store, self.config, self.now)

    def channel(self) -> Channel:
        """The outgoing feed's own metadata, from feeds.yaml."""
        return self._publisher.channel()

    def published_items(self) -> list[PublishedItem]:
        """The featured candidates as they go into the feeds, newest feature first."""
        return [item for _, item in self._publisher.featured()]

    def publish(self, *, editor: str | None = None) -> dict[str, Any]:
        """Write the feeds and the site; unchanged content leaves them byte-identical. A publish
        that changed them is logged with `editor` (None: curator itself, as `curator run`'s are)."""
        return self._publisher.publish(editor=editor)

    def publishes(self, limit: int = 5) -> list[dict[str, Any]]:
        """The newest publishes that changed the feeds: who (None: `curator run`), when, what."""
        return self.store.activity("publish", limit)

    def needs_publish(self) -> bool:
        """True when a feature, note, status or the output settings changed since the last publish."""
        return self._publisher.needs_publish()
