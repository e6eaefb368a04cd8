"""What the desk edits beyond one candidate: feeds.yaml's sources and topics (through the one
writer, feedsfile), a source's disabled state, the seen marks, and the preview of a topic edit.
Every change is recorded with the editor in the activity log. It is used as
`Editing(curator)`: it works through the Curator it is given."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .types import Source, Topic

if TYPE_CHECKING:
    from .core import Curator
    from .feedsfile import FeedsFile

# The activity-log actions that change what is polled or matched (the Sources page lists them).
CONFIG_ACTIONS = ("enable", "disable", "source-add", "source-rename", "source-remove",
                  "topic-add", "topic-edit", "topic-remove")


class Editing:
    """The desk's edits on one Curator (its database, its feeds.yaml)."""

    def __init__(self, c: Curator) -> None:
        self.c = c

    def disable(self, url_or_name: str, *, editor: str | None = None) -> Source:
        """Stop polling a source (it stays in feeds.yaml) until `enable`; logged with the editor."""
        self.c.sync_sources()
        s = self.c.store.find_source(url_or_name)
        if s.disabled:
            return s
        reason = f"disabled by {editor}" if editor else "disabled"
        return self.c.store.disable_source(s.id, reason, editor=editor, now=self.c.now())

    def edit_config(self, edit: Callable[[FeedsFile], str | None], *, editor: str | None,
                    action: str, source: str | None = None) -> str | None:
        """Change feeds.yaml through `edit` (which returns the log's line of detail), write it
        with only the edited lines changed, take the new configuration in, and log the change
        with the editor. Nothing is written or logged when the edit or the result is refused."""
        from .feedsfile import FeedsFile

        f = FeedsFile(self.c.config.path)
        detail = edit(f)
        if not f.changed():
            return detail
        config = replace(f.check(), database=self.c.config.database)
        now = self.c.now()

        def save() -> None:
            with self.c.store.write():
                self.c.store.sync_sources(((s.url, s.name, s.interval) for s in config.sources),
                                          now)
                source_id = self.c.store.source_id(source) if source else None
                self.c.store.log_activity(action, editor=editor, now=now, source_id=source_id,
                                          detail=detail)
                # The file is written last: if that fails, the log and the sources roll back.
                f.save()

        self.c.store.retrying(save, "a change to feeds.yaml")
        self.c.config = config  # this request goes on with the file as written
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
        old = next((s.name for s in self.c.config.sources if s.url == url), None)

        def edit(f: FeedsFile) -> str:
            f.rename_source(url, name)
            return f"{old or url} → {(name or '').strip() or url}"

        self.edit_config(edit, editor=editor, action="source-rename", source=url)

    def remove_source(self, url: str, *, editor: str | None) -> None:
        """Take a source out of feeds.yaml; what it brought in stays stored."""
        old = next((s.name for s in self.c.config.sources if s.url == url), None)

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

        f = FeedsFile(self.c.config.path)
        edit(f)
        return f.check().topics

    def source_activity(self, limit: int = 10) -> list[dict[str, Any]]:
        """The newest changes to the sources and topics, newest first."""
        return self.c.store.activity(CONFIG_ACTIONS, limit, sources=True)


    def mark_seen(self, ids: Sequence[int], *, editor: str, seen: bool = True) -> list[int]:
        """Mark new candidates as seen by `editor` (or not seen again); returns those changed.

        Seen is not a decision: the candidate stays new, and nothing is published or learnt.
        """
        return self.c.store.mark_seen(list(ids), editor=editor, now=self.c.now(), seen=seen)


    def rematch_preview(self, topics: Sequence[Topic]) -> dict[str, Any]:
        """What `rematch` would add, drop and re-topic with these topics in place of
        feeds.yaml's, changing nothing (the same dry run as `curator rematch --dry-run`)."""
        from .match import Matcher
        from .store.search import SearchStore

        matcher = Matcher(tuple(topics))
        return SearchStore(self.c.store).rematch_preview(lambda t, x: matcher.match(t, x))

    def source_counts(self) -> dict[int, dict[str, int]]:
        """Per source id: entries stored, and the candidates among them."""
        return self.c.store.source_counts()

    def topic_counts(self) -> dict[str, dict[str, int]]:
        """Per topic: how many candidates it matched, by status."""
        return self.c.store.topic_counts()
