"""What every click command of `curator` shares: the context that opens Curator once, and the small
formatting helpers of the CLI's text output (logging set-up and the rest that needs no click are
in `curator.console`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from .console import json_text

if TYPE_CHECKING:
    from .core import Curator


# ------------------------------------------------------------------ helpers


class Ctx:
    def __init__(self, config_path: str | None, quiet: bool = False) -> None:
        self.config_path = config_path
        self.quiet = quiet  # cron: no summary line on success, only warnings and errors
        self._curator: Curator | None = None

    def curator(self) -> Curator:
        if self._curator is None:
            # Loaded here, not at start-up: `--help` and a usage error need neither.
            from .config import load
            from .core import Curator

            self._curator = Curator(load(self.config_path))
        return self._curator

    def close(self) -> None:
        if self._curator is not None:
            self._curator.close()


pass_ctx = click.make_pass_decorator(Ctx)


def emit_json(doc: Any) -> None:
    click.echo(json_text(doc))


def _short(value: str | None, width: int) -> str:
    value = value or ""
    return value if len(value) <= width else value[: width - 1] + "…"


def _date(when: datetime | None) -> str:
    """A stored UTC time as local time to the minute, with its zone: `2026-11-24 13:00 CET`."""
    if when is None:
        return ""
    local = when.astimezone()  # the zone of $TZ, else the system's
    return f"{local:%Y-%m-%d %H:%M} {local.strftime('%Z') or local.strftime('%z')}"


@contextmanager
def _progress(enabled: bool, what: str = "polling"
              ) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on stderr for interactive polls (and copies)."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(what, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update
