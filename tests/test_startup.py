"""Start-up: a command imports only what it does. Every `curator` command pays at start-up for each
module it imports (and each dataclass those define), so the quick reading commands must not load
the poll's or the publisher's code."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import write_config

# What only a poll (curator.poll and the fetch, parse and outcome types) or a publish needs.
POLL_ONLY = {"curator.poll", "curator.polltypes", "curator.fetch", "curator.parse"}
PUBLISH_ONLY = {"curator.publish", "curator.render", "curator.site"}


def _imported(config, *args: str) -> set[str]:
    """The modules `curator ARGS` imported, in its own process."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "curator", "--config",
                           str(config), "-q", *args], capture_output=True, text=True, check=True)
    return {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()
            if line.startswith("import time:")}


def test_reading_commands_load_neither_the_poll_nor_the_publisher(tmp_path):
    config = write_config(tmp_path, ["https://feeds.example/a.xml"])
    for args in (["candidates", "--json"], ["sources", "--json"], ["--help"]):
        modules = _imported(config, *args)
        assert "curator.core" in modules or args == ["--help"]
        assert modules & (POLL_ONLY | PUBLISH_ONLY) == set(), args


# Standard modules that only a rarer path needs (a retry's jitter, a file written, a child
# process, psycopg's or asyncio's machinery): each costs every command that imports it. (shutil
# stays: click sizes its help to the terminal with it.)
RARE_STDLIB = {"random", "tempfile", "subprocess", "asyncio", "importlib.metadata",
               "email.message", "zipfile"}


def test_reading_commands_load_no_standard_module_only_a_rarer_path_needs(tmp_path):
    # SQLite: on PostgreSQL psycopg itself imports asyncio (see README "PostgreSQL, measured").
    config = write_config(tmp_path, ["https://feeds.example/a.xml"], database="db/curator.db")
    _imported(config, "sources", "--json")  # the first command makes the database (sqlite-utils)
    for args in (["candidates", "--json"], ["sources", "--json"], ["--help"]):
        assert _imported(config, *args) & RARE_STDLIB == set(), args


def test_candidates_define_only_the_dataclasses_they_build(tmp_path):
    # Each dataclass costs start-up time: the rows other commands build (sources, review
    # events, editors, published items...) and the poll's types are not even defined.
    config = write_config(tmp_path, ["https://feeds.example/a.xml"])
    code = ("import dataclasses, sys\n"
            "from curator.quick import parse, run\n"
            f"assert run(*parse(['--config', {str(config)!r}, '-q', 'candidates', '--json'])) == 0\n"
            "print(' '.join(sorted({n for m in list(sys.modules.values())\n"
            "                       if getattr(m, '__name__', '').startswith('curator')\n"
            "                       for n, v in vars(m).items()\n"
            "                       if isinstance(v, type) and dataclasses.is_dataclass(v)})))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    defined = set(out.stdout.split()[-1:] and out.stdout.strip().splitlines()[-1].split())
    assert {"Candidate", "Entry", "Topic"} <= defined
    assert defined & {"Source", "ReviewEvent", "Enabled", "Editor", "LoginCounter", "Channel",
                      "PublishedItem", "FetchSettings", "EntryData"} == set()


def test_commands_that_read_sources_define_no_other_row(tmp_path):
    # A poll (and `sources`) builds Source rows and none of curator.rows' six others.
    config = write_config(tmp_path, ["https://feeds.example/a.xml"])
    code = ("import dataclasses, sys\n"
            "from curator.quick import parse, run\n"
            f"assert run(*parse(['--config', {str(config)!r}, '-q', 'sources', '--json'])) == 0\n"
            "assert 'curator.rows' not in sys.modules\n"
            "from curator.rows import Source, Enabled\n"
            "from curator.types import Source as S\n"
            "import curator.sourcerow as s\n"
            "assert Source is S is s.Source and Enabled.__module__ == 'curator.rows'\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_publish_loads_the_publisher_but_not_the_poll(tmp_path):
    config = write_config(tmp_path, ["https://feeds.example/a.xml"])
    modules = _imported(config, "publish", "--json")
    assert "curator.publish" in modules
    assert modules & POLL_ONLY == set()


def test_the_poll_types_and_rows_are_still_found_in_curator_types():
    # Code written against curator.types before the poll's types and the rows moved keeps
    # working; the names load on first use.
    code = ("import sys, curator.types as t\n"
            "assert 'curator.polltypes' not in sys.modules\n"
            "from curator.types import EntryData, Refreshed, FetchSettings\n"
            "import curator.polltypes as p\n"
            "assert EntryData is p.EntryData and Refreshed is p.Refreshed\n"
            "assert FetchSettings is p.FetchSettings and 'curator.rows' not in sys.modules\n"
            "from curator.types import Source, ReviewEvent, PublishedItem, LoginCounter\n"
            "import curator.rows as r\n"
            "assert Source is r.Source and LoginCounter is r.LoginCounter\n"
            "assert not hasattr(t, 'NoSuchType') and not hasattr(t, '__path__')\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_psycopg_loads_without_package_metadata_and_knows_its_versions():
    # importlib.metadata costs a sixth of `import psycopg`: the versions come from the
    # dist-info folders' names instead, and are the ones importlib.metadata gives.
    code = ("import sys\n"
            "from curator.store.backend import import_psycopg\n"
            "psycopg = import_psycopg()\n"
            "assert 'importlib.metadata' not in sys.modules\n"
            "import psycopg._cmodule as c, psycopg.pq as pq\n"
            "from importlib import metadata\n"
            "assert psycopg.__version__ == metadata.version('psycopg')\n"
            "if pq.__impl__ in ('binary', 'c'):\n"
            "    assert c.__version__ == metadata.version('psycopg-' + pq.__impl__)\n"
            "assert import_psycopg() is psycopg\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_package_with_two_dist_infos_keeps_its_own_version_lookup(tmp_path, monkeypatch):
    from curator.store.backend import _seed_versions

    for name in ("one_pkg", "two_pkg"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("")
    (tmp_path / "one_pkg-1.2.3.dist-info").mkdir()
    (tmp_path / "two_pkg-1.0.dist-info").mkdir()
    (tmp_path / "two_pkg-2.0.dist-info").mkdir()  # a stale one left beside: which is it?
    monkeypatch.delitem(sys.modules, "one_pkg.version", raising=False)
    seeded = _seed_versions(["one_pkg", "two_pkg", "no_such_pkg"], [str(tmp_path)])
    try:
        assert seeded == ["one_pkg.version"]
        assert sys.modules["one_pkg.version"].__version__ == "1.2.3"
    finally:
        for name in seeded:
            sys.modules.pop(name, None)


def test_parse_workers_share_the_ctypes_their_parent_loaded():
    # Each parse worker needs ctypes for its parent-death signal: loaded before the fork, the
    # workers share the parent's copy instead of each importing its own (half of a worker's
    # start-up, paid by every poll round, a round of 304s too).
    import os

    import pytest

    if sys.platform != "linux" or (os.cpu_count() or 1) < 2:
        pytest.skip("workers are forked on Linux with two CPUs or more")
    code = ("import sys\n"
            "from curator.poll import parser_pool\n"
            "assert 'ctypes' not in sys.modules\n"
            "def where():\n"
            "    import sys\n"
            "    return id(sys.modules['ctypes'])\n"
            "with parser_pool(100, preload=False) as (pool, _):\n"
            "    assert pool is not None\n"
            "    seen = pool.submit(where).result()\n"
            "assert seen == id(sys.modules['ctypes']), 'the worker imported ctypes itself'\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_loading_holds_off_the_collector_and_gives_it_back_as_it_was():
    import gc

    import pytest

    from curator.loading import loading

    assert gc.isenabled()
    with loading():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ImportError), loading():
        import curator.no_such_module  # noqa: F401
    assert gc.isenabled()  # given back after a failed import too
    gc.disable()
    try:
        with loading():
            assert not gc.isenabled()
        assert not gc.isenabled()  # a caller that had it off keeps it off
    finally:
        gc.enable()


def test_a_quick_command_loads_and_opens_its_database_without_collections(tmp_path):
    # Loading the config, the facade, the store and its database made 40 to 60 collections,
    # each walking the objects just made to free next to nothing; now only what follows does.
    config = write_config(tmp_path, ["https://feeds.example/a.xml"], database="db/curator.db")
    code = ("import gc, sys\n"
            "from curator.quick import parse, run\n"
            "assert 'curator.core' not in sys.modules\n"
            "before = sum(s['collections'] for s in gc.get_stats())\n"
            f"assert run(*parse(['--config', {str(config)!r}, '-q', 'candidates', '--json'])) == 0\n"
            "made = sum(s['collections'] for s in gc.get_stats()) - before\n"
            "assert made <= 3 and gc.isenabled(), made\n")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_a_quick_command_leaves_its_objects_to_the_end_of_the_process(tmp_path):
    # The interpreter's last collections at exit are skipped: everything is frozen first, and
    # the exit handlers still run.
    config = write_config(tmp_path, ["https://feeds.example/a.xml"], database="db/curator.db")
    code = ("import atexit, gc, sys\n"
            "atexit.register(lambda: print('frozen', gc.get_freeze_count() > 0))\n"
            f"sys.argv = ['curator', '--config', {str(config)!r}, '-q', 'candidates', '--json']\n"
            "from curator.quick import main\n"
            "main()\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["[]", "frozen", "True"]


DEFERRED_PACKAGE = {
    "__init__.py": "import sys\nsys.ran.append(__name__)\nfrom .early import *\nfrom .late import *\n"
                   "__all__ = early.__all__ + late.__all__\n",
    "early.py": "import sys\nsys.ran.append(__name__)\n__all__ = ['Early']\nclass Early: pass\n",
    "late.py": "import sys\nsys.ran.append(__name__)\n__all__ = ['Late']\nclass Late: pass\n",
}


def test_a_deferred_module_runs_when_a_name_it_lacks_is_first_read(tmp_path, monkeypatch):
    import threading

    from curator.loading import deferred

    for name in ("pkg_one", "pkg_two", "pkg_three"):
        (tmp_path / name).mkdir()
        for file, text in DEFERRED_PACKAGE.items():
            (tmp_path / name / file).write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "ran", [], raising=False)
    try:
        # The import statement, and one of a submodule, find it and run none of its code.
        module = deferred("pkg_one", parts=("early",))
        assert module is sys.modules["pkg_one"]
        assert deferred("pkg_one") is None  # already there: left alone
        import pkg_one
        assert pkg_one is module and sys.ran == []
        # A name one of `parts` has: that submodule alone runs.
        from pkg_one import Early
        assert sys.ran == ["pkg_one.early"] and Early is sys.modules["pkg_one.early"].Early
        # Any other: the package's own code, once; then it is the whole package.
        assert pkg_one.Late.__module__ == "pkg_one.late"
        assert sys.ran == ["pkg_one.early", "pkg_one", "pkg_one.late"]
        assert pkg_one.__all__ == ["Early", "Late"] and pkg_one.Early is Early
        assert "__getattr__" not in vars(pkg_one)
        with pytest.raises(AttributeError):
            pkg_one.Nothing  # noqa: B018
        assert sys.ran.count("pkg_one") == 1
        # Without parts, the first name read runs it; `from pkg import sub` runs only sub.
        deferred("pkg_two")
        from pkg_two import late
        assert sys.ran[3:] == ["pkg_two.late"] and late.Late
        import pkg_two
        assert pkg_two.Early and sys.ran[4:] == ["pkg_two", "pkg_two.early"]
        # Threads reading it at once: it runs once, each gets the name.
        deferred("pkg_three")
        import pkg_three
        got: list[object] = []
        start = threading.Barrier(4)

        def read() -> None:
            start.wait()
            got.append(pkg_three.Late)

        threads = [threading.Thread(target=read) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(got) == 4 and len(set(map(id, got))) == 1
        assert sys.ran.count("pkg_three") == 1
    finally:
        for name in [m for m in sys.modules if m.split(".")[0].startswith("pkg_")]:
            del sys.modules[name]


def test_psycopg_leaves_what_a_synchronous_connection_never_uses_until_it_is_used(pg_url):
    # asyncio's event loops and ssl (with what they import) are about a fifteenth of a
    # `candidates --json` on PostgreSQL; they run when something uses them, and work then.
    code = ("import sys\n"
            "from curator.store import Store\n"
            f"store = Store({pg_url!r})\n"
            "assert store.candidates(limit=5) == []\n"
            "store.close()\n"
            "loaded = [m for m in ('asyncio.base_events', 'asyncio.unix_events', '_ssl',"
            " 'tempfile') if m in sys.modules]\n"
            "assert loaded == [], loaded\n"
            "import asyncio, ssl, ctypes.util\n"
            "assert asyncio.run(asyncio.sleep(0, 'slept')) == 'slept'\n"
            "assert ssl.create_default_context().verify_mode == ssl.CERT_REQUIRED\n"
            "assert callable(ctypes.util.find_library)\n"
            "assert '__getattr__' not in vars(asyncio) and '__getattr__' not in vars(ssl)\n")
    subprocess.run([sys.executable, "-c", code], check=True)
