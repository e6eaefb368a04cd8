"""Publishing: the featured candidates as items, the rule that skips a publish that would write the
same bytes, rendering (loaded on first use) and the atomic write of both feeds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from . import __version__
from .exceptions import PublishError, UsageError
from .text import excerpt, strip_invisible
from .types import MAX_NOTE_CHARS, Channel, PublishedItem

if TYPE_CHECKING:
    from .config import Config
    from .store import Store

# Bump when render's output changes for the same input (a sanitiser rule, an extension, how
# titles are reduced to text), so notes rendered before are rendered again and the feeds are
# written again even without a new release. 2: bidi overrides and zero-width characters go.
# 3: item bodies quote an excerpt and end "Read the full article at SOURCE".
NOTE_HTML_REVISION = 3


# The renderers load on first use: only a publish that renders needs feedgen, and only rendering
# a note that is not cached in the database needs markdown-it. Every command pays for what it
# imports at start-up, so this keeps `curator publish` with nothing changed quick.
def render_rss(channel: Channel, items: Sequence[PublishedItem],
               bodies: dict[str, str] | None = None) -> bytes:
    """render.render_rss, imported on first use."""
    from .render import render_rss as render

    return render(channel, items, bodies)


def render_atom(channel: Channel, items: Sequence[PublishedItem],
                bodies: dict[str, str] | None = None) -> bytes:
    """render.render_atom, imported on first use."""
    from .render import render_atom as render

    return render(channel, items, bodies)


def render_note(markdown: str) -> str:
    """render.render_note, imported on first use."""
    from .render import render_note as render

    return render(markdown)


def item_html(item: PublishedItem) -> str:
    """render.item_html, imported on first use."""
    from .render import item_html as render

    return render(item)


def clean_note(note: str | None) -> str | None:
    """A note as it may be saved: invisible characters that reorder or hide text have no place in
    a published note, and it stays within MAX_NOTE_CHARS (else a UsageError saying so)."""
    if note is None:
        return None
    note = strip_invisible(note)
    if len(note) > MAX_NOTE_CHARS:
        raise UsageError(f"the note has {len(note):,} characters; the limit is {MAX_NOTE_CHARS:,}")
    return note


def digest(data: bytes) -> str:
    """sha256 of `data`, hex."""
    import hashlib  # here, like the other imports only some commands need

    return hashlib.sha256(data).hexdigest()


def note_html_key(note: str) -> str:
    """What a note's cached HTML must have been rendered from: this note, by this curator version
    and rendering revision.

    Another version may render the same Markdown differently (a new markdown-it, a sanitiser rule),
    so it renders every note again rather than trust the HTML an older one made.
    """
    stamp = f"{__version__}/{NOTE_HTML_REVISION}".encode()
    return digest(stamp + b"\0" + note.encode("utf-8", "surrogatepass"))


# ------------------------------------------------------------------ the skip rule (pure)


@dataclass(frozen=True)
class PublishState:
    """What the last publish left behind, as kept in the database's state."""

    files: str | None = None  # digests of the two files it wrote
    inputs: str | None = None  # digest of what it rendered them from
    marker: str | None = None  # the store's change marker when it ran
    output: str | None = None  # digest of the output settings it used

    KEYS = {"files": "published_files", "inputs": "published_inputs",
            "marker": "published_marker", "output": "published_output"}

    @classmethod
    def of(cls, values: dict[str, str | None]) -> PublishState:
        """Built from the state table's values."""
        return cls(**{f: values.get(key) for f, key in cls.KEYS.items()})

    def as_state(self) -> dict[str, str | None]:
        """The state table's values."""
        return {key: getattr(self, f) for f, key in self.KEYS.items()}


def current(last: PublishState, inputs: str, on_disk: Sequence[str | None]) -> list[bool]:
    """For each part a publish writes (the RSS file, the Atom file, the site), whether the one
    on disk is what rendering would write again, given each part's digest on disk (None:
    missing).

    Rendering is a pure function of its inputs: when they and a part on disk are what the last
    publish left, rendering that part would give the same bytes.
    """
    left = (last.files or "").split(" ") if last.inputs == inputs else []
    return [d is not None and i < len(left) and d == left[i] for i, d in enumerate(on_disk)]


def can_skip(last: PublishState, inputs: str, on_disk: Sequence[str | None]) -> bool:
    """True when rendering would write the bytes already on disk, every part of them."""
    return all(current(last, inputs, on_disk))


def stale_pages(last: dict[str, tuple[str, str]], keys: dict[str, str],
                on_disk: dict[str, str | None]) -> list[str]:
    """The files of the site to render again: those whose key (what they show) differs from
    the one the last publish recorded (`last`: path -> key, digest), and those not on disk as
    it left them (`on_disk`: path -> digest, None when missing)."""
    return [path for path, key in keys.items()
            if (record := last.get(path)) is None or record != (key, on_disk.get(path))]


def unpublished(last: PublishState, *, files_exist: bool, marker: str, output: str) -> bool:
    """True when a feature, note, status or the output settings changed since the last publish."""
    return not files_exist or last.output != output or last.marker != marker


# ------------------------------------------------------------------ publishing


def _unwritable(e: OSError, *paths: Path) -> str:
    """Why the feeds could not be written, naming the folder (never a temporary file's name)."""
    failed = Path(e.filename) if e.filename else paths[0]
    target = next((p for p in paths if failed in (p, p.parent) or failed.parent == p.parent),
                  paths[0])
    reason = (e.strerror or str(e)).lower()
    return (f"nothing was published: cannot write {target.name} into {target.parent} "
            f"({reason}). Make that folder writable for the user running curator, or set "
            "output.rss, output.atom and output.site in feeds.yaml to a folder it can write.")


# The feeds of the readers' site (per topic, and the JSON Feed): a change to one is a WebSub ping.
_FEED_FILES = ("feed.xml", "atom.xml", "feed.json")
# Feeds whose WebSub ping the hub has not taken yet (newline-separated self URLs).
WEBSUB_PENDING = "websub_pending"
# The files of the readers' site the last publish wrote: a line for each, its path in the
# site's folder, its key (site.keys: what it shows) and the digest of its bytes, tab-separated.
SITE_FILES = "site_files"


def _site_digest(files: dict[str, str]) -> str:
    """One digest of every file of the site: each one's path and digest."""
    return digest("\n".join(f"{p} {files[p]}" for p in sorted(files)).encode())


def _site_record(value: str | None) -> dict[str, tuple[str, str]]:
    """SITE_FILES' value as path -> (key, digest); a path recorded without them (by a curator
    from before keys) gets empty ones, so its file is rendered again."""
    record = {}
    for line in (value or "").split("\n"):
        path, _, rest = line.partition("\t")
        key, _, file_digest = rest.partition("\t")
        if path:
            record[path] = (key, file_digest)
    return record


class Publisher:
    """Turns the featured candidates into the RSS and Atom files feeds.yaml names."""

    def __init__(self, store: Store, config: Config, now: Callable[[], datetime]) -> None:
        self.store = store
        self.config = config
        self.now = now

    def channel(self) -> Channel:
        """The outgoing feed's own metadata, from feeds.yaml."""
        o = self.config.output
        return Channel(title=o.title, link=o.link, description=o.description,
                       author_name=o.author_name, author_email=o.author_email,
                       rss_url=o.rss_url, atom_url=o.atom_url,
                       topic_titles=tuple((t.name, t.title) for t in self.config.topics),
                       json_url=urljoin(o.link, "feed.json"), hub=o.websub_hub)

    def featured(self) -> list[tuple[int, PublishedItem]]:
        """Each featured candidate's id and item; the item carries its note's cached HTML when
        that was rendered from this note by this version (else note_html is None)."""
        items = []
        for c in self.store.featured(self.config.output.max_items):
            assert c.featured_at is not None and c.guid is not None  # as every feature has
            note = c.note or ""
            cached = c.note_html if c.note_html_key == note_html_key(note) else None
            items.append((c.id, PublishedItem(
                guid=c.guid,
                title=c.title or c.url,
                url=c.url,
                note=note,
                source_name=c.source or c.url,
                source_url=c.source_url_in_use or c.url,
                source_link=c.source_link,
                topics=c.topics,
                featured_at=c.featured_at,
                updated_at=c.note_updated_at or c.featured_at,
                published=c.published,
                editor=c.changed_by,
                note_html=cached,
                also=tuple((a.title or "", a.url or "", a.source or "") for a in c.also),
                excerpt=excerpt(c.text or "", self.config.output.excerpt_words),
            )))
        return items

    def last(self) -> PublishState:
        """What the last publish left."""
        return PublishState.of(self.store.get_states(list(PublishState.KEYS.values())))

    def output_digest(self) -> str:
        """The output settings as of this publish: any process (the desk, cron, `curator run`)
        can then tell that an edit of feeds.yaml's output section is not published yet."""
        # Topic titles are the feeds' category labels: a renamed topic is an output change too.
        titles = tuple((t.name, t.title) for t in self.config.topics)
        return digest(repr((__version__, NOTE_HTML_REVISION, self.config.output, titles)).encode())

    def files_on_disk(self, site: dict[str, str | None] | None = None) -> list[str | None]:
        """The digests of the RSS file, the Atom file and the site as they are on disk; None
        for one that is missing (or a file of the site). `site` is filled with the digest of
        each file of the site the last publish recorded."""
        out = self.config.output
        folder = out.site_folder

        def read(path: Path) -> str | None:
            try:
                return digest(path.read_bytes())
            except OSError:
                return None

        pages = {p: read(folder / p) for p in _site_record(self.store.get_state(SITE_FILES))}
        if site is not None:
            site.update(pages)
        whole = None if None in pages.values() else _site_digest(
            {p: d for p, d in pages.items() if d is not None})
        return [read(out.rss), read(out.atom), whole]

    def _site(self, channel: Channel, items: Sequence[PublishedItem],
              on_disk: dict[str, str | None], bodies: dict[str, str] | None
              ) -> tuple[list[str], str, str]:
        """Render and write the files of the readers' site (curator.site) whose key changed or
        that are not on disk as the last publish left them, and remove those it no longer has;
        the paths whose bytes changed, the site's digest and its SITE_FILES record."""
        from .site import build, keys, remove_stale, write

        last = _site_record(self.store.get_state(SITE_FILES))
        feeds = self._site_feeds()
        topics = self.config.topics
        planned = keys(channel, items, topics, feeds, f"{__version__}/{NOTE_HTML_REVISION}")
        folder = self.config.output.site_folder
        files = build(channel, items, topics, feeds, only=set(stale_pages(last, planned, on_disk)),
                      bodies=bodies)
        changed = write(folder, files)
        remove_stale(folder, last, planned)  # never raises: it logs
        digests = {p: digest(files[p]) if p in files else last[p][1] for p in planned}
        record = "\n".join(f"{p}\t{planned[p]}\t{digests[p]}" for p in sorted(planned))
        return changed, _site_digest(digests), record

    def _site_feeds(self) -> list[Any]:
        """The feeds every page of the site names (site.SiteFeed)."""
        from .site import ATOM_TYPE, JSON_TYPE, RSS_TYPE, SiteFeed

        out = self.config.output
        folder = out.site_folder

        def href(path: Path, url: str) -> str:
            # A feed inside the site's folder is linked relatively: the pages then work
            # wherever the folder is served (or opened from disk).
            try:
                return path.resolve().relative_to(folder.resolve()).as_posix()
            except ValueError:
                return url

        return [SiteFeed("RSS", RSS_TYPE, href(out.rss, out.rss_url)),
                SiteFeed("Atom", ATOM_TYPE, href(out.atom, out.atom_url)),
                SiteFeed("JSON Feed", JSON_TYPE, "feed.json")]

    def publish(self, *, editor: str | None = None) -> dict[str, Any]:
        """Write the RSS and Atom files; unchanged content leaves them byte-identical.

        A publish that changed the files is logged with `editor`: the editor who asked, or None
        for curator itself. A publish that changed nothing is not logged.
        """
        marker = self.store.change_marker()
        featured = self.featured()
        items = [item for _, item in featured]
        channel = self.channel()
        out = self.config.output
        result = {"rss": str(out.rss), "atom": str(out.atom), "items": len(items),
                  "changed": False}
        # The items' note_html is left out of their repr: it follows from the note and the
        # version. Skipping also skips importing the renderers: the common case from cron.
        inputs = digest(repr((__version__, NOTE_HTML_REVISION, channel, items)).encode())
        output = self.output_digest()
        last = self.last()
        site_on_disk: dict[str, str | None] = {}
        on_disk = self.files_on_disk(site_on_disk)
        if can_skip(last, inputs, on_disk):
            if last.marker != marker or last.output != output:
                now = dataclasses.replace(last, marker=marker, output=output)
                self.store.set_states(now.as_state())
            self._websub(())  # feeds a failing hub missed last time
            return result
        from .files import write_atomic

        items, rendered = self._with_note_html(featured)
        folder = out.site_folder
        # Only the parts that are not current are rendered: after a feed file was deleted (or
        # edited by hand), the site, the costliest part, is left as it is; and of the site only
        # the files that show what changed (a note edit: the item's page, the front page, its
        # topics' pages and feeds).
        rss_ok, atom_ok, site_ok = current(last, inputs, on_disk)
        digests = list(on_disk)
        changed_rss = changed_atom = False
        changed_site: list[str] = []
        site_record = self.store.get_state(SITE_FILES)
        bodies: dict[str, str] | None = None  # each item's body, when the feeds need them
        try:
            if not (rss_ok and atom_ok):
                bodies = {item.guid: item_html(item) for item in items}
            if not rss_ok:
                rss = render_rss(channel, items, bodies)
                changed_rss, digests[0] = write_atomic(out.rss, rss), digest(rss)
            if not atom_ok:
                atom = render_atom(channel, items, bodies)
                changed_atom, digests[1] = write_atomic(out.atom, atom), digest(atom)
            if not site_ok:
                changed_site, digests[2], site_record = self._site(channel, items, site_on_disk,
                                                                   bodies)
        except OSError as e:
            raise PublishError(_unwritable(e, out.rss, out.atom, folder / "index.html")) from e
        result["changed"] = changed_rss or changed_atom or bool(changed_site)
        files = " ".join(d or "" for d in digests)

        def record() -> None:
            with self.store.write():
                # Logged when the files changed, or when they differ from what the last
                # recorded publish wrote: the files are written before this transaction, so a
                # publish whose commit failed left them changed, and the next one must not find
                # them "unchanged" and go unrecorded.
                logged = result["changed"] or self.store.get_state("published_files") != files
                if rendered:
                    self.store.set_note_html(rendered)
                self.store.set_states({**PublishState(files=files, inputs=inputs, marker=marker,
                                                      output=output).as_state(),
                                       SITE_FILES: site_record})
                if logged:
                    n = len(items)
                    self.store.log_activity("publish", editor=editor, now=self.now(),
                                            detail=f"{n} item{'' if n == 1 else 's'}")

        self.store.retrying(record, "publish")
        changed_feeds = [url for url, changed in ((out.rss_url, changed_rss),
                                                  (out.atom_url, changed_atom)) if changed]
        changed_feeds += [urljoin(out.link, p) for p in changed_site if p.endswith(_FEED_FILES)]
        self._websub(changed_feeds)
        return result

    def _websub(self, changed: Sequence[str]) -> None:
        """Ping the WebSub hub for the feeds that changed and those a failing hub missed before.

        A hub that fails is logged and its feeds kept for the next publish; it never fails this
        one. Without a hub, nothing is pending.
        """
        hub = self.config.output.websub_hub
        before = [u for u in (self.store.get_state(WEBSUB_PENDING) or "").split("\n") if u]
        if hub is None:
            if before:
                self.store.set_state(WEBSUB_PENDING, None)
            return
        urls = list(dict.fromkeys([*before, *changed]))
        if not urls:
            return
        from .websub import notify

        poll = self.config.poll
        failed = notify(hub, urls, timeout=poll.timeout, user_agent=poll.user_agent)
        if failed != before:
            self.store.set_state(WEBSUB_PENDING, "\n".join(failed) or None)

    @staticmethod
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

    def needs_publish(self) -> bool:
        """True when a feature, note, status or the output settings changed since the last publish."""
        out = self.config.output
        return unpublished(self.last(), files_exist=out.rss.exists() and out.atom.exists(),
                           marker=self.store.change_marker(), output=self.output_digest())
