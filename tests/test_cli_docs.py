"""Every CLI command has help with an example and appears in the README."""

from __future__ import annotations

from pathlib import Path

import click
from click.testing import CliRunner

from curator.cli import cli

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def commands(group: click.Group, prefix: str = "curator"):
    for name, cmd in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        if isinstance(cmd, click.Group):
            yield from commands(cmd, path)
        else:
            yield path


def test_every_command_has_help_with_an_example_and_is_in_the_readme():
    found = list(commands(cli))
    assert len(found) >= 15
    for path in found:
        args = path.split()[1:] + ["--help"]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, (path, result.output)
        assert "Example" in result.output, path
        assert f"`{path}" in README, f"{path} is not documented in README.md"


def test_readme_starts_with_the_two_commands():
    head = README.split("\n## ", 1)[0]
    assert "make run" in head and "make test" in head
    ci = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text()
    assert "make test" in ci
