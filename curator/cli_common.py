"""What every `curator` command shares: logging set-up, the context that opens Curator once, and
the small formatting helpers of the CLI's text output."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from .core import Curator


# ------------------------------------------------------------------ logging


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + "Z",
               "level": record.levelname.lower(), "logger": record.name,
               "message": record.getMessage()}
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False)


# Control characters, C1 controls and the Unicode line separators: a log message carries text
# from requests and feeds, and none of it may start a line of its own in the text log.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _escape_control(m: re.Match[str]) -> str:
    ch = m.group()
    named = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(ch)
    if named:
        return named
    return f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}"


class _TextFormatter(logging.Formatter):
    """One event, one line: control characters in the message are shown escaped."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        record.message = _CONTROLS.sub(_escape_control, record.message)
        return super().formatMessage(record)


def setup_logging(fmt: str, level: int) -> None:
    """One line per event on stderr, as text or JSON."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(_TextFormatter("%(asctime)sZ %(levelname)s %(message)s",
                                            "%Y-%m-%dT%H:%M:%S"))
    handler.formatter.converter = __import__("time").gmtime  # type: ignore[union-attr]
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Third-party chatter only when asked for.
    for noisy in ("apscheduler", "aiohttp", "asyncio", "werkzeug"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


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


def editor_name() -> str:
    """Who is editing from the command line: $CURATOR_EDITOR, else the login name."""
    # Only what can be shown as it is: no control, bidi or zero-width characters in the log.
    name = "".join(c for c in os.environ.get("CURATOR_EDITOR", "") if c.isprintable()).strip()
    if name:
        return name
    try:
        import getpass  # here: every command would pay for it at start-up

        return getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        return "cli"


def emit_json(doc: Any) -> None:
    click.echo(json.dumps(doc, ensure_ascii=False, indent=2))


def _short(value: str | None, width: int) -> str:
    value = value or ""
    return value if len(value) <= width else value[: width - 1] + "…"


def _date(when: datetime | None) -> str:
    """A stored UTC time as local time to the minute, with its zone: `2026-11-24 13:00 CET`."""
    if when is None:
        return ""
    local = when.astimezone()  # the zone of $TZ, else the system's
    return f"{local:%Y-%m-%d %H:%M} {local.strftime('%Z') or local.strftime('%z')}"


def _count(n: int, word: str, plural: str | None = None) -> str:
    """`1 source`, `2 sources`, `1 entry`, `3 entries`."""
    return f"{n} {word if n == 1 else plural or word + 's'}"


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
