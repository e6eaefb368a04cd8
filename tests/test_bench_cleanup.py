"""bench/: a benchmark stopped with SIGTERM or Ctrl-C stops the tool it measures, too.

The benchmark runs each poll as a child process and waits for it; stopped meanwhile, it must not
leave that child (and its workers) running on the machine.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"

HARNESS = """
import os, signal, subprocess, sys, time
sys.path.insert(0, {bench!r})
import poll_bench
if {starting!r}:
    # A busy machine: Popen has started the child, which runs, but Popen has not returned yet
    # when the stop comes. Held here until the test has sent it.
    start = subprocess.Popen._execute_child

    def slow_start(self, *args, **kw):
        start(self, *args, **kw)
        while not os.path.exists({pidfile!r} + '.sent'):
            time.sleep(0.01)

    subprocess.Popen._execute_child = slow_start
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # as poll_bench.main does
signal.signal(signal.SIGINT, signal.default_int_handler)  # so does this (the test runner's
# workers may have started us with SIGINT ignored)
child = ("import os, time; open({pidfile!r} + '.tmp', 'w').write(str(os.getpid()));"
         " os.rename({pidfile!r} + '.tmp', {pidfile!r}); time.sleep(120)")
poll_bench.measure([sys.executable, "-c", child])
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"  # a zombie has ended; only its parent's wait is missing


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("starting", [False, True], ids=["running", "starting"])
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT])
def test_stopping_the_bench_stops_the_measured_child(tmp_path: Path, how: int,
                                                     starting: bool) -> None:
    pidfile = tmp_path / "child.pid"
    bench = subprocess.Popen(
        [sys.executable, "-c", HARNESS.format(bench=str(BENCH), pidfile=str(pidfile),
                                              starting=starting)],
        stderr=subprocess.PIPE)
    child = 0
    try:
        deadline = time.monotonic() + 30
        while not pidfile.exists():
            assert bench.poll() is None, bench.stderr.read() if bench.stderr else ""
            assert time.monotonic() < deadline, "the measured child never started"
            time.sleep(0.02)
        child = int(pidfile.read_text())
        assert _alive(child)
        bench.send_signal(how)
        Path(f"{pidfile}.sent").touch()
        bench.wait(20)
        deadline = time.monotonic() + 10
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not _alive(child), "the benchmark left the process it measured running"
    finally:
        if bench.poll() is None:
            bench.kill()
            bench.wait()
        if child and _alive(child):
            os.kill(child, signal.SIGKILL)
