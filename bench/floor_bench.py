"""Floors: what the two start-up-bound commands pay before curator's own code does anything.

    .venv/bin/python bench/floor_bench.py                 # the poll's floor (aiohttp) only
    .venv/bin/python bench/floor_bench.py --postgres      # and candidates --json's on PostgreSQL

An all-304 poll and `curator candidates --json` on PostgreSQL are mostly start-up. Part of it is
the libraries they stand on, imported whatever curator does: this measures those parts alone, each
as a whole process (CPU time, user + system, of the child, reaped with wait4), the cases
alternating run by run, and prints the minimum and median of each and the differences that matter:

  - the interpreter (`python -c pass`), and its `site` step (against `-S`);
  - `import asyncio`; `import aiohttp`, and the two TLS contexts aiohttp builds when it is imported
    (the same calls: a verifying one and a non-verifying one, each loading the system's CA file);
  - psycopg as curator loads it (`curator.store.backend.import_psycopg`), and psycopg with a
    connection and one query (with --postgres, on a throwaway server as bench/pg_bench.py starts);
  - LazyLoader: whether deferring a module psycopg imports but a reading command never uses
    (ctypes.util) defers anything. It does not: CPython's import statement reads the `__spec__`
    of a module it finds in sys.modules, and reading any attribute of a lazy module loads it.

Nothing here is a test: the figures are this machine's, in this run; the load average is printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from startup_bench import CWD, instructions, run_child  # noqa: E402

PY = sys.executable

#: Each case: a label and the code its process runs (`python -c`); None: `python -c pass` -S.
TLS = ("import ssl\n"
       "v = ssl.create_default_context()\n"
       "u = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)\n"
       "u.check_hostname = False\n"
       "u.verify_mode = ssl.CERT_NONE\n"
       "u.set_default_verify_paths()\n")
TLS_LABEL = "import ssl + aiohttp's 2 TLS contexts"
LAZY = ("import importlib.util, sys\n"
        "def lazy(name):\n"
        "    spec = importlib.util.find_spec(name)\n"
        "    spec.loader = importlib.util.LazyLoader(spec.loader)\n"
        "    module = importlib.util.module_from_spec(spec)\n"
        "    sys.modules[name] = module\n"
        "    spec.loader.exec_module(module)\n"
        "lazy('ctypes'); lazy('ctypes.util')\n"
        "before = 'subprocess' in sys.modules\n"
        "import ctypes.util  # as psycopg.pq.misc does\n"
        "print(before, 'subprocess' in sys.modules)\n")


def cases(url: str | None) -> list[tuple[str, list[str]]]:
    out = [
        ("python -c pass", [PY, "-c", "pass"]),
        ("python -S -c pass", [PY, "-S", "-c", "pass"]),
        ("import ssl", [PY, "-c", "import ssl"]),
        (TLS_LABEL, [PY, "-c", TLS]),
        ("import asyncio", [PY, "-c", "import asyncio"]),
        ("import aiohttp", [PY, "-c", "import aiohttp"]),
        ("import psycopg (as curator does)",
         [PY, "-c", "from curator.store.backend import import_psycopg; import_psycopg()"]),
    ]
    if url:
        out.append(("psycopg + connect + SELECT 1", [PY, "-c", (
            "from curator.store.backend import import_psycopg\n"
            "psycopg = import_psycopg()\n"
            f"with psycopg.connect({url!r}, autocommit=True) as c:\n"
            "    c.execute('SELECT 1').fetchone()\n")]))
    return out


def measure(todo: list[tuple[str, list[str]]], runs: int) -> dict[str, tuple[float, float]]:
    """Each case's min and median CPU ms, the cases alternating run by run."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE",
                                                            "PYTHONPATH")}
    env["PYTHONPATH"] = str(HERE.parent)  # this checkout's curator, from CWD too
    got: dict[str, list[float]] = {label: [] for label, _ in todo}
    for _ in range(runs):
        for label, cmd in todo:
            cpu, _, _ = run_child(cmd, env)
            got[label].append(cpu * 1000)
    return {label: (min(v), statistics.median(v)) for label, v in got.items()}


def counted(todo: list[tuple[str, list[str]]]) -> dict[str, int | None]:
    """Each case's instructions (valgrind), one run each: the same on a busy machine."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE",
                                                            "PYTHONPATH")}
    env["PYTHONPATH"] = str(HERE.parent)
    return {label: instructions(cmd, env) for label, cmd in todo}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=21)
    p.add_argument("--postgres", action="store_true",
                   help="also psycopg with a connection, on a throwaway PostgreSQL")
    p.add_argument("--instructions", action="store_true",
                   help="also count each case's instructions once (valgrind)")
    args = p.parse_args(argv)
    CWD.mkdir(parents=True, exist_ok=True)
    lazy = subprocess.run([PY, "-c", LAZY], capture_output=True, text=True, check=True,
                          cwd=CWD).stdout.split()
    print(f"LazyLoader on ctypes.util: loaded before the import statement: {lazy[0]}; "
          f"after it: {lazy[1]} (True: the statement loaded it)")
    cluster = None
    url = None
    try:
        if args.postgres:
            sys.path.insert(0, str(HERE.parent / "tests"))
            from pg import Cluster
            from pg_bench import SERVER_SETTINGS

            cluster = Cluster(settings=SERVER_SETTINGS)
            url = cluster.url(cluster.create(template=None))
        load = [os.getloadavg()[0]]
        got = measure(cases(url), args.runs)
        load.append(os.getloadavg()[0])
        insns = counted(cases(url)) if args.instructions else {}
    finally:
        if cluster is not None:
            cluster.close()
    print(f"{args.runs} runs each, alternating; CPU ms of the whole process, min / median "
          f"(load {min(load):.1f}-{max(load):.1f})")
    for label, (low, mid) in got.items():
        n = insns.get(label)
        print(f"  {label:<40} {low:6.1f} / {mid:6.1f}"
              + (f"   {n / 1e6:6.0f} M instructions" if n else ""))

    def extra(a: str, b: str) -> str:
        return f"{got[a][0] - got[b][0]:5.1f} / {got[a][1] - got[b][1]:5.1f}"

    print("differences (min / median):")
    print(f"  site step                               {extra('python -c pass', 'python -S -c pass')}")
    print(f"  aiohttp's import                        {extra('import aiohttp', 'python -c pass')}")
    print(f"  of it, the 2 TLS contexts               {extra(TLS_LABEL, 'import ssl')}")
    print(f"  asyncio's import                        {extra('import asyncio', 'python -c pass')}")
    print(f"  psycopg's import                        "
          f"{extra('import psycopg (as curator does)', 'python -c pass')}")
    if url:
        print(f"  psycopg, a connection and a query       "
              f"{extra('psycopg + connect + SELECT 1', 'python -c pass')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
