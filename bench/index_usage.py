"""Which of the schema's indexes a query plan uses: EXPLAIN QUERY PLAN of every statement curator
runs, gathered from the test suite's own runs of the poll, the commands, publish and the desk.

    .venv/bin/python bench/index_usage.py               # the default test files, about 2 minutes
    .venv/bin/python bench/index_usage.py tests/test_web.py -k feature

It runs pytest (SQLite only) with this file as a plugin: every SQLite connection the tests open
records each statement it prepares (sqlite3's trace callback). The distinct statements (literals
folded) are then explained on a database with curator's current schema, and each index is listed
with the statements whose plan uses it; an index no plan uses is flagged, with what else may need
it (a UNIQUE constraint, a foreign key's child side, whose lookups EXPLAIN does not show).
Nothing here is a test: it is the proof behind the indexes a migration drops.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_TESTS = ["tests/test_web.py", "tests/test_loop.py", "tests/test_store.py",
                 "tests/test_stories_e2e.py", "tests/test_stories_placement.py",
                 "tests/test_search.py", "tests/test_search_web.py", "tests/test_relevance.py",
                 "tests/test_operations.py", "tests/test_desk_ux.py", "tests/test_publish_rule.py",
                 "tests/test_site.py", "tests/test_claims.py", "tests/test_import_export.py",
                 "tests/test_url_upgrade.py", "tests/test_add.py", "tests/test_cli_output.py"]
_LITERALS = re.compile(r"'(?:[^']|'')*'|\b\d+(?:\.\d+)?\b")
_INDEX = re.compile(r"USING (?:COVERING )?INDEX (\w+)")
_OUT = "CURATOR_INDEX_USAGE_OUT"
BIG_TABLES = ("entries", "e", "candidates", "c", "entry_topics", "t", "candidate_topics",
              "story_articles", "a", "story_keys", "review_log", "r")

# ---------------------------------------------------------------- the pytest plugin


def pytest_configure(config: Any) -> None:
    """Record every statement of every SQLite connection opened in this process."""
    out = os.environ.get(_OUT)
    if not out:
        return
    real = sqlite3.connect
    path = f"{out}.{os.getpid()}"

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = real(*args, **kwargs)
        log = open(path, "a", encoding="utf-8")  # noqa: SIM115 - lives with the connection

        def trace(sql: str) -> None:
            log.write(" ".join(sql.split()) + "\n")

        conn.set_trace_callback(trace)
        return conn

    sqlite3.connect = connect  # type: ignore[assignment]


# ---------------------------------------------------------------- the report


def shape(sql: str) -> str:
    return _LITERALS.sub("?", sql)


def statements(folder: Path) -> list[str]:
    seen: dict[str, str] = {}
    for f in folder.glob("sql.*"):
        for line in f.read_text(encoding="utf-8", errors="replace").splitlines():
            head = line.split(" ", 1)[0].upper()
            if head not in ("SELECT", "WITH", "UPDATE", "DELETE", "INSERT", "REPLACE"):
                continue  # BEGIN, PRAGMA, trigger bodies (-- TRIGGER), DDL
            if "sqlite_master" in line or "_sqlite_migrations" in line or "pragma_" in line:
                continue
            seen.setdefault(shape(line), line)
    return sorted(seen.values())


def schema_db(folder: Path) -> sqlite3.Connection:
    sys.path.insert(0, str(ROOT))
    from curator.store import Store

    store = Store(folder / "schema.db")
    store.close()
    return sqlite3.connect(folder / "schema.db")


def indexes(conn: sqlite3.Connection) -> dict[str, tuple[str, str]]:
    """Every index: (table, its SQL or what made it)."""
    out = {}
    for name, table, sql in conn.execute(
            "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index'"):
        out[name] = (table, sql or "UNIQUE or PRIMARY KEY constraint")
    return out


def foreign_children(conn: sqlite3.Connection) -> dict[str, list[str]]:
    """table -> the columns other tables' foreign keys point from (child side)."""
    out: dict[str, list[str]] = defaultdict(list)
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
        for row in conn.execute(f"PRAGMA foreign_key_list('{table}')"):
            out[table].append(row[3])
    return out


def report(folder: Path) -> int:
    conn = schema_db(folder)
    sqls = statements(folder)
    used: dict[str, list[str]] = defaultdict(list)
    walks: list[str] = []  # a big table read without an index
    failed = 0
    for sql in sqls:
        try:
            plan = conn.execute("EXPLAIN QUERY PLAN " + sql).fetchall()
        except sqlite3.Error:
            failed += 1  # a statement for an older schema (an upgrade test), or a temp table
            continue
        for row in plan:
            for name in _INDEX.findall(row[-1]):
                used[name].append(sql)
            words = row[-1].split()
            if (words[:1] in (["SCAN"], ["SEARCH"]) and len(words) > 1
                    and words[1] in BIG_TABLES and " USING " not in row[-1]):
                walks.append(f"{row[-1]}  <-  {sql[:200]}")
    print(f"{len(sqls)} distinct statements ({failed} not on the current schema, skipped)\n")
    children = foreign_children(conn)
    unused = []
    for name, (table, sql) in sorted(indexes(conn).items(), key=lambda kv: (kv[1][0], kv[0])):
        n = len(used.get(name, []))
        print(f"{table:18} {name:34} used by {n:3} statement(s)")
        for s in sorted(used.get(name, []), key=len)[:2]:
            print(f"{'':20}e.g. {s[:150]}")
        if n == 0:
            unused.append((table, name, sql))
    print("\na big table read row by row, without an index (a full scan, or a min()/max()"
          " walking the table in id order):")
    for w in sorted(set(walks)):
        print(f"  {w}")
    print("\nno plan uses:")
    for table, name, sql in unused:
        cols = re.findall(r"\(([^)]*)\)", sql)
        first = cols[0].split(",")[0].strip() if cols else ""
        why = []
        if sql.startswith("UNIQUE"):
            why.append("a constraint: it stays")
        if first and first in children.get(table, []):
            why.append(f"child side of a foreign key ({table}.{first}): cascades and checks use it")
        print(f"  {name} on {table}: {sql}" + (f"  [{'; '.join(why)}]" if why else ""))
    return 0


def main(argv: list[str]) -> int:
    tests = [a for a in argv if not a.startswith("-")] or DEFAULT_TESTS
    extra = [a for a in argv if a.startswith("-")]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env = {**os.environ, _OUT: str(folder / "sql"),
               "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "index_usage", "-p", "no:randomly",
               "-n", "2", "-k", "not postgres and not browser", *extra, *tests]
        print("running:", " ".join(cmd), file=sys.stderr, flush=True)
        proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True,
                              check=False)
        print(proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else "", file=sys.stderr)
        return report(folder)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
