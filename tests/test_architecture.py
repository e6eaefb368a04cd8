"""The code's shape, as ARCHITECTURE.md states it: module sizes, SQL only in the store, no import
circle, the edges calling only the facade."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "curator"
SQL = re.compile(r"\b(SELECT\s+\S.*\bFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|"
                 r"DELETE\s+FROM|CREATE\s+(TABLE|INDEX)|ALTER\s+TABLE|PRAGMA\s+\w+)\b")


def modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        name = ".".join(path.relative_to(ROOT.parent).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """Every curator module `name` imports, at the top or inside functions."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1]
                                + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            named = {f"{base}.{a.name}" for a in node.names} & known.keys()
            out |= named or ({base} & known.keys())
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names} & known.keys()
    out.discard(name)
    return out


def test_no_module_is_over_700_lines_and_the_facade_under_400():
    sizes = {n: len(p.read_text(encoding="utf-8").splitlines()) for n, p in modules().items()}
    assert {n: s for n, s in sizes.items() if s > 700} == {}
    assert sizes["curator.core"] < 400


def test_sql_is_written_only_in_the_store():
    outside = [n for n, p in modules().items()
               if not n.startswith("curator.store") and SQL.search(p.read_text(encoding="utf-8"))]
    assert outside == []


def test_no_import_circle():
    known = modules()
    graph = {n: imports(n, p, known) for n, p in known.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    assert cycles == []


def test_the_edges_reach_the_store_and_the_poll_only_through_the_facade():
    known = modules()
    edges = [n for n in known if n in ("curator.cli", "curator.quick", "curator.schedule")
             or n.startswith("curator.web")]
    inner = ("curator.store", "curator.poll", "curator.fetch", "curator.parse")
    reached = {n: sorted(i for i in imports(n, known[n], known) if i.startswith(inner))
               for n in edges}
    assert {n: i for n, i in reached.items() if i} == {}
