"""Start-up benchmark: this curator against an earlier build of it, on the same database.

    .venv/bin/python bench/startup_bench.py                          # against 9255e6f (76 ms)
    .venv/bin/python bench/startup_bench.py --baseline REV --entries 40000 --runs 15
    .venv/bin/python bench/startup_bench.py --postgres               # candidates on PostgreSQL too

The commands a user feels at the command line cost mostly start-up (importing Python modules),
which does not grow with the database, so this compares builds rather than absolute times, and
measures CPU time (user + system of the child process), which the rest of a shared machine
disturbs less than wall time:

  1. REV's `curator` package is taken from git into bench/out/ (and run with PYTHONPATH, with
     this environment's libraries);
  2. one database is filled by REV's own bench filler (so its schema is REV's) and copied for
     this build, which migrates it on its first command;
  3. each command runs as a whole process, the two builds alternating run by run, --runs times:
     `--help`, `candidates --json`, `publish --json` with nothing changed, after the feed files
     were deleted (rendered again, notes cached), and after a note was edited (one note to
     render; the readers' site, which REV did not have, renders the pages that show it);
  4. it prints, per command and build, the minimum and median CPU and wall time, and the ratio
     of this build's minimum CPU to REV's (under 1: this build is cheaper).

With --postgres, `candidates --json` is also timed on PostgreSQL (a throwaway server, as
bench/pg_bench.py starts it; the database copied with `curator copy-db`), with `-X importtime`
of that process: what its start-up is made of.

Nothing here is a test: the figures are this machine's, in this run; the load average is
printed beside them.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from poll_bench import OUT, machine  # noqa: E402
from query_bench import drop_outputs, edit_a_note  # noqa: E402

#: The commit whose figures the README's "Measured" table gives (candidates --json in 76 ms).
BASELINE = "9255e6f"
#: Where every timed process starts: `python -m` and `-c` put their working folder first on
#: sys.path, so from the repository's root they would import its curator, whatever PYTHONPATH
#: names. This folder holds no curator package.
CWD = OUT


def checkout(rev: str, into: Path) -> Path:
    """REV's curator package and bench scripts, extracted under `into`; the folder."""
    root = into / f"rev-{rev}"
    if not (root / "curator").is_dir():
        data = subprocess.run(["git", "-C", str(HERE.parent), "archive", rev, "curator", "bench"],
                              capture_output=True, check=True).stdout
        root.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            tar.extractall(root, filter="data")
    return root


def fill(root: Path, work: Path, entries: int, sources: int) -> Path:
    """A database and feeds.yaml in `work`, by the build in `root` (its schema, its filler)."""
    code = (
        "import sys; from pathlib import Path\n"
        f"sys.path.insert(0, {str(root / 'bench')!r})\n"
        "from query_bench import Filler, write_config\n"
        "from curator.store import Store\n"
        f"work = Path({str(work)!r})\n"
        f"config = write_config(work, {sources}, None)\n"
        "Store(work / 'curator.db').close()\n"
        f"f = Filler(work / 'curator.db', {sources}, 360)\n"
        f"f.sources(); f.entries({entries}); f.review(featured=200, rejected=800); f.close()\n"
    )
    subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(root)},
                   cwd=CWD,
                   check=True)
    return work / "feeds.yaml"


def run_child(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """CPU seconds (user + system) and wall seconds of one whole process, and its output:
    the child is reaped with wait4, which gives its own resource usage."""
    import tempfile

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=err, cwd=CWD)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed: {err.read().decode()[-2000:]}")
        return usage.ru_utime + usage.ru_stime, wall, out.read().decode()


def instructions(cmd: list[str], env: dict[str, str]) -> int | None:
    """The user-space instructions one whole process runs, counted by valgrind's callgrind
    (None without valgrind): a figure the rest of a busy machine does not move, for comparing
    builds or a command with its floor (kernel time, page faults and cache misses not in it)."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return None
    err = subprocess.run([valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", *cmd],
                         env=env, cwd=CWD, capture_output=True, text=True, check=True).stderr
    for line in err.splitlines():
        if "Collected :" in line:
            return int(line.split(":")[-1])
    return None


Case = tuple[str, list[str], Callable[[Path], object] | None]
CASES: list[Case] = [
    ("--help", ["--help"], None),
    ("candidates --json", ["candidates", "--json"], None),
    ("publish, nothing changed", ["publish", "--json"], None),
    ("publish, feed files deleted", ["publish", "--json"], drop_outputs),
    ("publish, a note edited", ["publish", "--json"],
     lambda work: edit_a_note(work / "curator.db")),
]


def compare(builds: dict[str, tuple[Path, dict[str, str]]], runs: int,
            cases: list[Case]) -> dict[str, dict[str, dict[str, float]]]:
    """Each case on each build, alternating; min/median CPU and wall in ms."""
    results: dict[str, dict[str, dict[str, float]]] = {}
    for label, argv, before in cases:
        samples: dict[str, list[tuple[float, float]]] = {b: [] for b in builds}
        loads = []
        for _ in range(runs):
            for name, (config, env) in builds.items():
                if before is not None:
                    before(config.parent)
                cmd = [sys.executable, "-m", "curator", "--config", str(config), "-q", *argv]
                cpu, wall, _ = run_child(cmd, env)
                samples[name].append((cpu * 1000, wall * 1000))
            loads.append(os.getloadavg()[0])
        results[label] = {}
        for name, got in samples.items():
            cpus, walls = [c for c, _ in got], [w for _, w in got]
            results[label][name] = {"cpu_min": min(cpus), "cpu_median": statistics.median(cpus),
                                    "wall_min": min(walls),
                                    "wall_median": statistics.median(walls)}
        names = list(builds)
        base, head = results[label][names[0]], results[label][names[-1]]
        ratio = head["cpu_min"] / base["cpu_min"]
        results[label]["ratio_cpu_min"] = {"value": ratio}
        results[label]["load"] = {"min": min(loads), "max": max(loads)}
        row = "  ".join(f"{n}: CPU {r['cpu_min']:6.1f} / {r['cpu_median']:6.1f}, wall "
                        f"{r['wall_min']:6.1f} / {r['wall_median']:6.1f}"
                        for n, r in ((n, results[label][n]) for n in names))
        print(f"{label:<30} {row}  ratio {ratio:.2f}  (load {min(loads):.1f}-{max(loads):.1f})",
              flush=True)
    return results


def modules(config: Path, env: dict[str, str]) -> tuple[int, dict[str, int]]:
    """How many modules `candidates --json` imports, and the top-level imports' cumulative
    microseconds (`-X importtime`)."""
    err = subprocess.run([sys.executable, "-X", "importtime", "-m", "curator", "--config",
                          str(config), "-q", "candidates", "--json"], env=env, cwd=CWD,
                         capture_output=True, text=True, check=True).stderr
    count, top = 0, {}
    for line in err.splitlines():
        if line.startswith("import time:") and "cumulative" not in line:
            count += 1
            _, cumulative, name = line.split("|")
            if not name.startswith("  ") and name.strip():
                top[name.strip()] = int(cumulative)
    return count, top


def postgres(head_config: Path, env: dict[str, str], runs: int,
             before: tuple[str, Path] | None, instructions_too: bool = False
             ) -> dict[str, object]:
    """`candidates --json` on PostgreSQL: whole process (against SQLite, and against the build
    `before` names, on the same database), and what its start-up imports."""
    sys.path.insert(0, str(HERE.parent / "tests"))
    from pg import Cluster
    from pg_bench import SERVER_SETTINGS, with_database

    cluster = Cluster(settings=SERVER_SETTINGS)
    try:
        url = cluster.url(cluster.create(template=None))
        subprocess.run([sys.executable, "-m", "curator", "--config", str(head_config), "-q",
                        "copy-db", url], env=env, cwd=CWD, check=True, capture_output=True)
        work = head_config.parent.parent / "head-pg"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        config = with_database(Path(shutil.copy(head_config, work / "feeds.yaml")), url)
        print("candidates --json, SQLite against PostgreSQL (this build):")
        builds = {"sqlite": (head_config, env), "postgres": (config, env)}
        results: dict[str, object] = {"candidates": compare(builds, runs, [CASES[1]])}
        if before is not None:
            rev, root = before
            print(f"candidates --json on PostgreSQL, {rev} against this build:")
            # A cache folder of its own: the config cache is keyed on the code that read it, so
            # two builds sharing one would each parse feeds.yaml again at every run.
            results["before"] = compare({f"postgres {rev}": (config, {
                **env, "PYTHONPATH": str(root), "CURATOR_CACHE_DIR": str(work / "cache-before")}),
                "postgres": (config, env)}, runs, [CASES[1]])
        if instructions_too:
            counted = {}
            for name, (cfg, build_env) in {"sqlite": (head_config, env),
                                           "postgres": (config, env),
                                           **({f"postgres {before[0]}": (config, {
                                               **env, "PYTHONPATH": str(before[1]),
                                               "CURATOR_CACHE_DIR": str(work / "cache-before")})}
                                              if before else {})}.items():
                cmd = [sys.executable, "-m", "curator", "--config", str(cfg), "-q",
                       "candidates", "--json"]
                run_child(cmd, build_env)  # its config cached first
                counted[name] = instructions(cmd, build_env)
            print("  instructions of one whole process (valgrind): " + ", ".join(
                f"{n} {c / 1e6:.0f} M" for n, c in counted.items() if c is not None))
            results["instructions"] = counted
        count, top = modules(config, env)
        ranked = sorted(top.items(), key=lambda kv: -kv[1])[:8]
        print(f"  {count} modules; -X importtime, top-level imports (cumulative ms): "
              + ", ".join(f"{n} {us / 1000:.1f}" for n, us in ranked))
        results["imports_ms"] = {n: us / 1000 for n, us in ranked}
        return results
    finally:
        cluster.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--baseline", default=BASELINE, help="the git revision to compare with")
    p.add_argument("--entries", type=int, default=40_000)
    p.add_argument("--sources", type=int, default=1000)
    p.add_argument("--runs", type=int, default=15, help="runs per command and build")
    p.add_argument("--postgres", action="store_true", help="candidates --json on PostgreSQL too")
    p.add_argument("--pg-baseline", metavar="REV",
                   help="with --postgres: also time this revision on the same PostgreSQL database")
    p.add_argument("--instructions", action="store_true",
                   help="with --postgres: also count each candidates --json's instructions "
                        "(valgrind)")
    p.add_argument("--json-out", type=Path)
    args = p.parse_args(argv)

    info = machine()
    print(f"machine: {info['nproc']} CPUs ({info['cpu']}), {info['ram']} RAM, "
          f"Python {info['python']}, SQLite {info['sqlite']}")
    folder = OUT / "startup"
    root = checkout(args.baseline, folder)
    base_work, head_work = folder / "base", folder / "head"
    for work in (base_work, head_work):
        shutil.rmtree(work, ignore_errors=True)
    base_config = fill(root, base_work, args.entries, args.sources)
    shutil.copytree(base_work, head_work)
    head_config = head_work / "feeds.yaml"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE",
                                                            "PYTHONPATH")}
    builds = {
        args.baseline: (base_config, {**env, "PYTHONPATH": str(root),
                                      "CURATOR_CACHE_DIR": str(folder / "cache-base")}),
        # This checkout's curator, whatever the environment has installed.
        "this": (head_config, {**env, "PYTHONPATH": str(HERE.parent),
                               "CURATOR_CACHE_DIR": str(folder / "cache-head")}),
    }
    for config, build_env in builds.values():  # migrate, cache the config, render the notes
        for argv in (["candidates", "--json"], ["publish", "--json"]):
            subprocess.run([sys.executable, "-m", "curator", "--config", str(config), "-q",
                            *argv], env=build_env, cwd=CWD, check=True, capture_output=True)
    for name, (config, build_env) in builds.items():
        where = subprocess.run([sys.executable, "-c", "import curator; print(curator.__file__)"],
                               env=build_env, cwd=CWD, capture_output=True, text=True,
                               check=True).stdout.strip()
        count, _ = modules(config, build_env)
        print(f"{name}: {where}; `candidates --json` imports {count} modules")
    print(f"{args.entries:,} entries, {args.runs} runs each, builds alternating; CPU and wall "
          f"in ms, min / median; ratio: this build's min CPU over {args.baseline}'s")
    results: dict[str, object] = {"machine": info, "baseline": args.baseline,
                                  "compare": compare(builds, args.runs, CASES)}
    if args.postgres:
        before = None
        if args.pg_baseline:
            before = (args.pg_baseline, checkout(args.pg_baseline, folder))
        results["postgres"] = postgres(head_config, builds["this"][1], args.runs, before,
                                       args.instructions)
    if args.json_out:
        args.json_out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
