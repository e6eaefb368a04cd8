"""The quick commands (curator/quick.py): `curator candidates --json`, `curator publish` and a
non-interactive `curator poll` answered without click, exactly as click's commands answer the
same command line; anything else is click's.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from curator.quick import parse

# The same command line through click, as the console script ran it before the quick path.
CLICK = [sys.executable, "-c", "import sys; from curator.cli import main; sys.argv[0] = 'curator'; "
         "main()"]
QUICK = [sys.executable, "-m", "curator"]


@pytest.fixture
def polled(polled):
    """conftest's polled desk, with a candidate featured (so publish has an item to write)."""
    first = polled("candidates", "--json")[0]
    polled("feature", str(first["id"]), "--note", "Why it *matters*")
    return polled


def _both(config, *args: str, env: dict[str, str] | None = None,
          ) -> tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]:
    """The quick path's run and click's, of `curator --config CONFIG ARGS`."""
    runs = []
    for cmd in (QUICK, CLICK):
        runs.append(subprocess.run([*cmd, "--config", str(config), *args], capture_output=True,
                                   text=True, env={**os.environ, **(env or {})},
                                   cwd=config.parent))
    return runs[0], runs[1]


def _same(quick: subprocess.CompletedProcess[str], slow: subprocess.CompletedProcess[str]) -> None:
    assert (quick.returncode, quick.stdout) == (slow.returncode, slow.stdout)
    # Log lines start with their time: compare what follows it.
    def lines(err: str) -> list[str]:
        return [line.split("Z ", 1)[-1] for line in err.splitlines()]
    assert lines(quick.stderr) == lines(slow.stderr)


@pytest.mark.parametrize("args", [
    ["-q", "candidates", "--json"],
    ["candidates", "--json", "--status", "all", "--sort", "score", "--limit", "2"],
    ["--log-format=json", "-v", "candidates", "--status=featured", "--json"],
    ["-q", "candidates", "--json", "--topic", "child-safety"],
    ["candidates", "--json", "--topic", "no-such-topic"],  # a usage error: exit 2
    ["-q", "--config", "missing.yaml", "candidates", "--json"],  # the last --config wins
])
def test_candidates_print_what_the_click_command_prints(polled, args):
    quick, slow = _both(polled.config, *args)
    _same(quick, slow)
    assert quick.returncode == (0 if "no-such-topic" not in args and "missing.yaml" not in args
                                else 2)


def test_sources_print_what_the_click_command_prints(polled):
    for args in (["-q", "sources", "--json"], ["sources", "--json"]):
        quick, slow = _both(polled.config, *args)
        _same(quick, slow)
        assert quick.returncode == 0 and '"Policy Desk"' in quick.stdout


def test_publish_says_and_writes_what_the_click_command_does(polled, tmp_path):
    polled("publish")
    for args in (["publish"], ["-q", "publish"], ["publish", "--json"]):
        quick, slow = _both(polled.config, *args)
        _same(quick, slow)  # both: unchanged
        assert quick.returncode == 0
    quick, _ = _both(polled.config, "-q", "publish")
    assert quick.stdout == ""
    feed = tmp_path / "public" / "feed.xml"
    feed.unlink()
    quick = subprocess.run([*QUICK, "--config", str(polled.config), "publish", "--json"],
                           capture_output=True, text=True, check=True)
    assert '"changed": true' in quick.stdout and feed.exists()


def test_a_poll_says_what_the_click_command_says(polled):
    # Every source answers 304 now, so each run finds the same: both say it alike.
    for args in (["-q", "poll", "--all", "--json"], ["poll", "--all"],
                 ["-q", "poll", "--source", "Policy Desk", "--json"],
                 ["-q", "poll", "--source", "no such source"]):
        quick, slow = _both(polled.config, *args)
        assert (quick.returncode, quick.stdout) == (slow.returncode, slow.stdout), args
        if "-q" in args:  # otherwise each source's line says how long it took
            _same(quick, slow)
    quick, _ = _both(polled.config, "-q", "poll", "--all", "--json")
    assert '"not_modified": 2' in quick.stdout


def test_a_quick_command_loads_no_click(polled):
    for args in (["candidates", "--json"], ["-q", "publish"], ["-q", "poll", "--json"],
                 ["sources", "--json"]):
        proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "curator", "--config", str(polled.config), *args],
                              capture_output=True, text=True, check=True)
        assert " click" not in proc.stderr.replace("|", " "), args


def test_a_closed_pipe_ends_the_command_quietly_with_exit_1(polled):
    cmd = [*QUICK, "--config", str(polled.config), "candidates", "--json", "--status", "all"]
    code = ("import subprocess, sys\n"
            f"p = subprocess.Popen({cmd!r}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)\n"
            "p.stdout.close()\n"
            "err = p.stderr.read()\n"
            "sys.exit(f'{p.wait()} {err!r}')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stderr.strip() == "1 b''"


@pytest.mark.parametrize("args", [
    [], ["--help"], ["candidates", "--help"], ["--version"], ["candidates"],  # the table
    ["-qv", "candidates", "--json"], ["candidates", "--json", "--limit", "0"],
    ["candidates", "--json", "--limit", "+3"], ["candidates", "--json", "--status", "New"],
    ["candidates", "--json", "--topic"], ["candidates", "--json", "--topic", "--json"],
    ["candidates", "--json", "extra"], ["candidates", "--", "--json"],
    ["candidates", "-q", "--json"], ["--config"], ["--log-format", "xml", "publish"],
    ["sources"], ["sources", "--all"], ["publish", "--force"], ["poll", "--source"],
    ["poll", "--since"], ["show", "1", "--json"],
])
def test_anything_else_is_left_to_click(args):
    assert parse(args) is None


def test_what_the_quick_parser_reads():
    assert parse(["candidates", "--json"]) == ("candidates", {
        "config": None, "log_format": "text", "quiet": False, "verbose": False, "json": True,
        "topic": None, "status": "new", "sort": "newest", "limit": 50, "force": False,
        "only": []})
    command, opts = parse(["--config", "a.yaml", "--config=b.yaml", "-q", "--log-format", "json",
                           "candidates", "--limit=7", "--json", "--topic", "x y", "--sort",
                           "score", "--status", "rejected"]) or ("", {})
    assert command == "candidates"
    assert opts | {} == {"config": "b.yaml", "log_format": "json", "quiet": True,
                         "verbose": False, "json": True, "topic": "x y", "status": "rejected",
                         "sort": "score", "limit": 7, "force": False, "only": []}
    assert parse(["--verbose", "publish"]) == ("publish", {
        "config": None, "log_format": "text", "quiet": False, "verbose": True, "json": False,
        "topic": None, "status": "new", "sort": "newest", "limit": 50, "force": False,
        "only": []})
    command, opts = parse(["-q", "poll", "--source", "a", "--all", "--source=b c", "--json"]) \
        or ("", {})
    assert (command, opts["only"], opts["force"], opts["json"]) == ("poll", ["a", "b c"], True,
                                                                   True)
