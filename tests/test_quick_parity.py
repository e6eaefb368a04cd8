"""quick.py reads a few command lines without click: it must read each exactly as click does.

For thousands of generated command lines (group options in any order and form, each quick
command's options in `--opt v` and `--opt=v` forms, repeated, with bad values, unknown options,
`--`, combined short flags, stray arguments), whenever `quick.parse` takes a command line, click
parses the same line without an error into the same command and the same values. A line quick.py
cannot read exactly (or an option it does not know, such as one added to the click command later)
must be left to click (parse returns None), so the two parsers cannot drift apart unnoticed.
"""

from __future__ import annotations

import random
import warnings
from typing import Any

import click
import pytest

from curator.cli import cli
from curator.quick import parse

GROUP = [["-q"], ["--quiet"], ["-v"], ["--verbose"], ["-qv"], ["--config", "a.yaml"],
         ["--config=b c.yaml"], ["--config="], ["--config"], ["--log-format", "json"],
         ["--log-format=text"], ["--log-format", "xml"], ["--log-format", "-q"], ["--version"],
         ["--help"], ["-h"], ["--unknown"]]
COMMAND = {
    "candidates": [["--json"], ["--json=1"], ["--topic", "x y"], ["--topic=-x"], ["--topic", "-x"],
                   ["--topic"], ["--status", "all"], ["--status=rejected"], ["--status", "NEW"],
                   ["--sort", "score"], ["--sort=oldest"], ["--sort", "best"], ["--limit", "7"],
                   ["--limit=07"], ["--limit", "0"], ["--limit", "+3"], ["--limit", "-1"],
                   ["--limit", "1_000"], ["--limit", "٣"], ["--limit"], ["-q"], ["--"], ["extra"],
                   ["--help"]],
    "publish": [["--json"], ["--json=yes"], ["--force"], ["-q"], ["--"], ["extra"], ["--help"]],
    "sources": [["--json"], ["--json=yes"], ["--all"], ["--"], ["extra"], ["--help"]],
    "poll": [["--all"], ["--json"], ["--source", "a"], ["--source=b c"], ["--source", "-a"],
             ["--source"], ["--since", "1h"], ["--all=1"], ["--"], ["extra"], ["--help"]],
}
#: Other commands' options, offered to every command (click refuses those a command lacks).
for _options in COMMAND.values():
    _options += [["--since", "1h"], ["--source", "a"], ["--all"], ["--force"], ["--note", "x"]]
#: quick.py's names for click's parameters where they differ.
NAMES = {"config_path": "config", "as_json": "json"}


def command_lines(count: int) -> list[list[str]]:
    rng = random.Random(20261201)
    lines = [[name, "--json", *option] for name in COMMAND for option in COMMAND[name]]
    for _ in range(count):
        name = rng.choice([*COMMAND, "show", "Candidates"])
        line: list[str] = []
        for part in rng.sample(GROUP, rng.choice([0, 0, 1, 2, 3])):
            line += part
        line.append(name)
        options = COMMAND.get(name, COMMAND["publish"])
        good = [o for o in options if len(o) > 1 or o[0] in ("--json", "--all")][:6]
        for _ in range(rng.choice([0, 1, 2, 3, 4, 5])):
            line += rng.choice(good if rng.random() < 0.6 else options)
        lines.append(line)
    return lines


def clicks_reading(line: list[str]) -> tuple[str, dict[str, Any]] | None:
    """The command and every parameter's value as click parses the line; None when it would not
    run a command (a usage error, --help, --version)."""
    try:
        ctx = cli.make_context("curator", list(line))
        with warnings.catch_warnings():  # click 8.2+ deprecates protected_args (where the
            warnings.simplefilter("ignore", DeprecationWarning)  # command name still is)
            rest = [*getattr(ctx, "protected_args", []), *ctx.args]
        name, command, args = cli.resolve_command(ctx, rest)
        assert name is not None and command is not None
        sub = command.make_context(name, args, parent=ctx)
    except (click.exceptions.Exit, click.UsageError):
        return None
    values = {NAMES.get(k, k): v for k, v in {**ctx.params, **sub.params}.items()}
    return name, {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}


@pytest.mark.parametrize("chunk", range(4))
def test_quick_reads_a_command_line_as_click_does_or_leaves_it(chunk: int) -> None:
    taken = 0
    for line in command_lines(4000)[chunk::4]:
        quick = parse(line)
        if quick is None:
            continue
        taken += 1
        reading = clicks_reading(line)
        assert reading is not None, line
        name, values = reading
        command, opts = quick
        assert command == name, line
        assert {k: opts[k] for k in values} == values, line
    assert taken > 50  # the generator reaches the quick paths, not only click's
