"""The `curator` command's entry point: the commands scripts and cron run most are answered here
without loading click, and every other command line goes to click (`curator.cli`) unchanged.

A command's start-up is most of what `curator candidates --json` or a cron's `curator -q publish`
costs, and click with the forty commands it defines is a fifth of it. So a command line made only
of what this module knows (the group's --config, --log-format, -q/--quiet, -v/--verbose, then
`candidates --json` with its filters, `sources --json`, `publish` with or without --json, or `poll`
with --all, --source and --json, unless it shows an interactive progress bar) runs here, with the
same set-up, the same output and the same exit codes as the click command; anything else (another
command or option, a value click would read differently, --help) is click's, which also words every
usage error.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from . import console
from .console import (
    DEFAULT_LIMIT,
    LOG_FORMATS,
    SORTS,
    STATUSES,
    echo,
    editor_name,
    json_text,
    log_level,
    publish_line,
    setup_logging,
)

#: The group's options: flags, and those that take a value (with its choices, if any).
_GROUP_FLAGS = {"-q": "quiet", "--quiet": "quiet", "-v": "verbose", "--verbose": "verbose"}
_GROUP_VALUES: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "--config": ("config", None), "--log-format": ("log_format", LOG_FORMATS)}

#: Each quick command's flags and valued options; None: any text; "count": a whole number >= 1;
#: "many": any text, the option repeatable.
_COMMANDS: dict[str, tuple[dict[str, str], dict[str, tuple[str, tuple[str, ...] | str | None]]]] = {
    "candidates": ({"--json": "json"}, {"--topic": ("topic", None),
                                        "--status": ("status", STATUSES),
                                        "--sort": ("sort", SORTS),
                                        "--limit": ("limit", "count")}),
    "publish": ({"--json": "json"}, {}),
    "sources": ({"--json": "json"}, {}),
    "poll": ({"--all": "force", "--json": "json"}, {"--source": ("only", "many")}),
}


def main() -> None:
    """Console-script entry point."""
    plan = parse(sys.argv[1:])
    if plan is None:
        from .cli import main as click_main

        click_main()
        return
    code = run(*plan)
    # The command is done and the process ends: the interpreter's last collections at exit
    # would walk every object it made (about 5% of `candidates --json`'s instructions) to find
    # next to nothing. Frozen, those objects are left to the end of the process, as the rest
    # is; the exit handlers (logging's flush among them) run as before.
    import gc

    gc.freeze()
    sys.exit(code)


def parse(args: list[str]) -> tuple[str, dict[str, Any]] | None:
    """The quick command and its options, or None when the command line is click's."""
    opts: dict[str, Any] = {"config": None, "log_format": LOG_FORMATS[0], "quiet": False,
                            "verbose": False, "json": False, "topic": None,
                            "status": STATUSES[0], "sort": SORTS[0], "limit": DEFAULT_LIMIT,
                            "force": False, "only": []}
    i = _options(args, 0, _GROUP_FLAGS, _GROUP_VALUES, opts)
    if i is None or i >= len(args) or args[i] not in _COMMANDS:
        return None
    command = args[i]
    flags, values = _COMMANDS[command]
    end = _options(args, i + 1, flags, values, opts)
    if end != len(args) or (command in ("candidates", "sources") and not opts["json"]):
        return None  # an argument, or a table (click formats its dates)
    if command == "poll" and not opts["json"] and sys.stderr.isatty():
        return None  # the progress bar of an interactive poll
    return command, opts


def _options(args: list[str], i: int, flags: Mapping[str, str],
             values: Mapping[str, tuple[str, tuple[str, ...] | str | None]],
             opts: dict[str, Any]) -> int | None:
    """Read options from args[i] on into opts, up to the first argument that is not one; its
    index, or None when something there is not what this module reads as click does."""
    while i < len(args) and args[i].startswith("-"):
        arg = args[i]
        name, eq, attached = arg.partition("=")
        if not eq and arg in flags:
            opts[flags[arg]] = True
            i += 1
            continue
        if name not in values:
            return None  # --help, --version, an unknown option, `--`, `-qv`: click's
        if eq:
            value = attached
            i += 1
        elif i + 1 < len(args) and not args[i + 1].startswith("-"):
            value = args[i + 1]
            i += 2
        else:
            return None
        key, kind = values[name]
        if kind == "count":
            if not (value.isascii() and value.isdigit()) or int(value) < 1:
                return None
            opts[key] = int(value)
        elif kind == "many":
            opts[key] = [*opts[key], value]
        elif kind is not None and value not in kind:
            return None
        else:
            opts[key] = value
    return i


def run(command: str, opts: dict[str, Any]) -> int:
    """Run a parsed quick command as its click command does; the exit code."""
    setup_logging(opts["log_format"], log_level(opts["quiet"], opts["verbose"]))
    from .exceptions import CuratorError

    curator = None
    try:
        try:
            from .loading import loading

            with loading():  # the modules and the database, with no collections meanwhile
                from .config import load
                from .core import Curator

                curator = Curator(load(opts["config"]))
            if command == "candidates":
                from .documents import candidate_json

                rows = curator.candidates(status=opts["status"], topic=opts["topic"],
                                          limit=opts["limit"], sort=opts["sort"])
                echo(json_text([candidate_json(r) for r in rows]))
            elif command == "sources":
                from .documents import source_json

                echo(json_text([source_json(r) for r in curator.sources()]))
            elif command == "poll":
                console.poll(curator, force=opts["force"], only=tuple(opts["only"]),
                             as_json=opts["json"], quiet=opts["quiet"])
            else:
                result = curator.publish(editor=editor_name())
                if opts["json"]:
                    echo(json_text(result))
                elif not opts["quiet"]:
                    echo(publish_line(result))
        except CuratorError as e:  # said before the database is let go, as click's group does
            echo(f"curator: error: {e}", err=True)
            return e.exit_code
        finally:
            if curator is not None:
                curator.close()
    except (EOFError, KeyboardInterrupt):
        echo("", err=True)
        echo("Aborted!", err=True)
        return 1
    except BrokenPipeError:
        # Exit 1 as click does, and write nothing more to the closed pipe, not even the flush
        # at exit (Python's documented way: stdout pointed at /dev/null).
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    return 0
