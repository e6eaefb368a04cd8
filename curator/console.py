"""What the command line shares without click: logging set-up, who is editing, the output of the
commands `curator.quick` answers, and the choices both it and the click commands accept.

Nothing here imports click at start-up: the quick commands (see `curator.quick`) run without it,
and print exactly what the click commands print for the same command line.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .core import Curator
    from .documents import PollSummary
    from .poll import ProgressFn

# The choices of `curator candidates` and the group's --log-format: one definition for click's
# options and for the quick parser.
STATUSES = ("new", "featured", "rejected", "all")
SORTS = ("newest", "score")
LOG_FORMATS = ("text", "json")
DEFAULT_LIMIT = 50


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


def log_level(quiet: bool, verbose: bool) -> int:
    """The level the group's -q and -v ask for (-v wins)."""
    return logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO


# ------------------------------------------------------------------ who, and what is printed


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


def count(n: int, word: str, plural: str | None = None) -> str:
    """`1 source`, `2 sources`, `1 entry`, `3 entries`."""
    return f"{n} {word if n == 1 else plural or word + 's'}"


def json_text(doc: Any) -> str:
    """A document as the commands print it with --json."""
    return json.dumps(doc, ensure_ascii=False, indent=2)


def publish_line(result: dict[str, Any]) -> str:
    """What `curator publish` says when it is neither quiet nor --json."""
    state = "written" if result["changed"] else "unchanged"
    return f"{count(result['items'], 'item')}, {state}: {result['rss']} {result['atom']}"


def poll_line(summary: PollSummary) -> str:
    """What `curator poll` says when it is neither quiet nor --json."""
    return (f"{count(summary.sources, 'source')}: {summary.fetched} fetched, "
            f"{summary.not_modified} not modified, {summary.failed} failed, "
            f"{summary.skipped} skipped; {count(summary.new_entries, 'new entry', 'new entries')}"
            f", {summary.updated_entries} updated, "
            f"{count(summary.new_candidates, 'new candidate')}")


def poll(curator: Curator, *, force: bool, only: Sequence[str], as_json: bool, quiet: bool,
         progress: Callable[[], AbstractContextManager[ProgressFn | None]] | None = None,
         ) -> None:
    """`curator poll`, for the click command and the quick one: poll under the poll lock, prune,
    and say what happened; a poll already running is a success (cron overlaps are normal)."""
    from .exceptions import LockedError

    try:
        with curator.poll_lock():
            with progress() if progress is not None else nullcontext(None) as bar:
                summary = curator.poll(force=force, only=only, progress=bar)
            curator.prune()
    except LockedError as e:
        # Standing down: --json still gets its one document, every source skipped.
        echo(f"curator: {e}", err=True)
        if as_json:
            from .documents import PollSummary

            n = len(only) if only else len(curator.config.sources)
            echo(json_text(PollSummary(sources=n, skipped=n).as_json()))
        return
    if as_json:
        echo(json_text(summary.as_json()))
    elif not quiet:
        echo(poll_line(summary))


def echo(text: str, *, err: bool = False) -> None:
    """One line on stdout (or stderr), exactly as `click.echo` writes it.

    click writes a str to the stream itself when the stream takes UTF-8 and the text holds no
    escape sequence (which it strips when the stream is not a terminal); anything else is left
    to click.echo, loaded then.
    """
    stream = sys.stderr if err else sys.stdout
    encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "").replace("_", "")
    if stream is None or "\x1b" in text or encoding != "utf8":
        import click

        click.echo(text, err=err)
        return
    stream.write(text + "\n")
    stream.flush()
