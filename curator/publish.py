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

from . import __version__
from .exceptions import PublishError
from .types import Channel, PublishedItem

if TYPE_CHECKING:
    from .config import Config
    from .store import Store

# Bump when render's output changes for the same input (a sanitiser rule, an extension, how
# titles are reduced to text), so notes rendered before are rendered again and the feeds are
# written again even without a new release. 2: bidi overrides and zero-width characters go.
NOTE_HTML_REVISION = 2


# The renderers load on first use: only a publish that renders needs feedgen, and only rendering
# a note that is not cached in the database needs markdown-it. Every command pays for what it
# imports at start-up, so this keeps `curator publish` with nothing changed quick.
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


def can_skip(last: PublishState, inputs: str, files_on_disk: str | None) -> bool:
    """True when rendering would write the bytes already on disk.

    Rendering is a pure function of its inputs: when they and the files on disk are what the
    last publish left, the output would be the same bytes.
    """
    return last.inputs == inputs and files_on_disk is not None and files_on_disk == last.files


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
            "output.rss and output.atom in feeds.yaml to a folder it can write.")


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
                       topic_titles=tuple((t.name, t.title) for t in self.config.topics))

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

    def files_on_disk(self) -> str | None:
        """The digests of both feed files as they are, or None when one is missing."""
        out = self.config.output
        try:
            return digest(out.rss.read_bytes()) + " " + digest(out.atom.read_bytes())
        except OSError:
            return None

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
        if can_skip(last, inputs, self.files_on_disk()):
            if last.marker != marker or last.output != output:
                now = dataclasses.replace(last, marker=marker, output=output)
                self.store.set_states(now.as_state())
            return result
        from .files import write_atomic

        items, rendered = self._with_note_html(featured)
        try:
            rss, atom = render_rss(channel, items), render_atom(channel, items)
            changed_rss = write_atomic(out.rss, rss)
            changed_atom = write_atomic(out.atom, atom)
        except OSError as e:
            raise PublishError(_unwritable(e, out.rss, out.atom)) from e
        result["changed"] = changed_rss or changed_atom
        files = digest(rss) + " " + digest(atom)
        with self.store.write():
            # Logged when the files changed, or when they differ from what the last recorded
            # publish wrote: the files are written before this transaction, so a publish whose
            # commit failed left them changed, and the next one must not find them "unchanged"
            # and go unrecorded.
            logged = result["changed"] or self.store.get_state("published_files") != files
            if rendered:
                self.store.set_note_html(rendered)
            self.store.set_states(PublishState(files=files, inputs=inputs, marker=marker,
                                               output=output).as_state())
            if logged:
                n = len(items)
                self.store.log_activity("publish", editor=editor, now=self.now(),
                                        detail=f"{n} item{'' if n == 1 else 's'}")
        return result

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
