"""Shared fixtures: a real HTTP feed server on 127.0.0.1, a fake clock, config files, the CLI."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True, scope="session")
def _private_config_cache(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Parsed feeds.yaml files are cached per user; keep the suite's out of ~/.cache."""
    mp = pytest.MonkeyPatch()
    mp.setenv("CURATOR_CACHE_DIR", str(tmp_path_factory.mktemp("config-cache")))
    yield
    mp.undo()


#: Files whose tests take longest (whole seconds each: processes killed and restarted, every
#: word of the frequency table, real Chromium, the Nu checker), run first: with `make test`'s
#: `--dist worksteal` a worker that runs out of tests takes half of the other's queue, so the
#: two finish together only if no long test is left for the end. Each file keeps its order.
LONGEST_FIRST = ["test_durability.py", "test_wordtable.py", "test_claims.py", "test_quick.py",
                 "test_relevance.py", "test_poll_rounds.py", "test_site.py",
                 "test_web_browser.py", "test_desk_browser.py", "test_stories_browser.py",
                 "test_search_browser.py", "test_relevance_browser.py", "test_site_browser.py"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


@dataclass
class Route:
    body: bytes = b""
    content_type: str = "application/rss+xml; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    validators: bool = True  # send ETag / Last-Modified and answer conditional GETs with 304
    delay: float = 0.0


class FeedServer:
    """A real threaded HTTP server serving feed files, with ETag/Last-Modified and 304s."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                route = server.routes.get(self.path)
                if route is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if route.delay:
                    time.sleep(route.delay)
                etag = '"' + hashlib.sha1(route.body).hexdigest()[:16] + '"'
                if (route.validators and route.status == 200
                        and self.headers.get("If-None-Match") == etag):
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                self.send_header("Content-Length", str(len(route.body)))
                if route.validators and route.status == 200:
                    self.send_header("ETag", etag)
                    self.send_header("Last-Modified", formatdate(1700000000, usegmt=True))
                for k, v in route.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(route.body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def add(self, path: str, body: bytes | str | None = None, *, file: str | None = None,
            **kw: Any) -> str:
        if file is not None:
            body = (DATA / "feeds" / file).read_bytes()
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.routes[path] = Route(body=body or b"", **kw)
        return self.url(path)

    def hits(self, path: str) -> list[dict[str, str]]:
        return [h for p, h in self.requests if p == path]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = FeedServer()
    yield s
    s.close()


class FakeClock:
    """The only fake in the suite: time, which tests move by hand."""

    def __init__(self, start: datetime) -> None:
        self.t = start

    def __call__(self) -> datetime:
        return self.t

    def advance(self, **kw: float) -> datetime:
        self.t = self.t + timedelta(**kw)
        return self.t


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock(datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC))
    import curator.clock

    monkeypatch.setattr(curator.clock, "now", fake)
    return fake


TOPICS = [
    {"name": "platform-accountability", "title": "Platform accountability",
     "any": ["Section 230", "content moderation", "design defect*"], "none": ["sponsored"]},
    {"name": "child-safety", "any": ["trafficking", "age verification", "CSAM"]},
    {"name": "surveillance", "any": ["subpoena*", "geofence", "surveillance", "warrants"]},
    {"name": "antitrust", "any": ["antitrust", "monopol*", "merger"]},
]


#: The database a written feeds.yaml names unless a test says: SQLite, or with
#: CURATOR_TEST_BACKEND=postgres each test's own PostgreSQL database (see _config_backend).
CONFIG_DATABASE = {"default": "db/curator.db"}


@pytest.fixture(autouse=True)
def _config_backend(request):
    """CURATOR_TEST_BACKEND=postgres runs the tests that write a feeds.yaml on PostgreSQL."""
    if os.environ.get("CURATOR_TEST_BACKEND", "sqlite") != "postgres":
        yield
        return
    CONFIG_DATABASE["default"] = request.getfixturevalue("pg_url")
    yield
    CONFIG_DATABASE["default"] = "db/curator.db"


def write_config(tmp_path: Path, sources: list[Any], topics: list[dict[str, Any]] | None = None,
                 **extra: Any) -> Path:
    """Write a feeds.yaml into tmp_path and return its path."""
    doc: dict[str, Any] = {
        "database": CONFIG_DATABASE["default"],
        "poll": {"interval": "30m", "timeout": "5s", "max_bytes": "1MB"},
        "output": {"title": "Test Watch", "link": "https://watch.example.org/",
                   "description": "Curated test feed",
                   "author": {"name": "The Editors", "email": "editors@example.org"},
                   "rss": "public/feed.xml", "atom": "public/atom.xml", "max_items": 50},
        "sources": sources,
        "topics": TOPICS if topics is None else topics,
    }
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(doc.get(k), dict):
            doc[k].update(v)
        else:
            doc[k] = v
    path = tmp_path / "feeds.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


class Cli:
    """Runs `curator` in-process (so the fake clock applies) and parses --json output."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None, code: int = 0) -> Any:
        from curator.cli import cli

        result = self.runner.invoke(cli, ["--config", str(self.config), "-q", *args], input=input,
                                    catch_exceptions=False)
        assert result.exit_code == code, (result.exit_code, result.output, result.stderr)
        self.last = result
        if "--json" in args and code == 0:
            return json.loads(result.stdout)
        return result


@pytest.fixture
def make_cli(tmp_path):
    def make(sources: list[Any], topics: list[dict[str, Any]] | None = None, **extra: Any) -> Cli:
        return Cli(write_config(tmp_path, sources, topics, **extra))
    return make


@pytest.fixture
def polled(server, make_cli, clock):
    """A desk of two feeds (RSS 2.0 and Atom from tests/data) polled once."""
    url = server.add("/rss20.xml", file="rss20.xml")
    atom = server.add("/atom.xml", file="atom.xml", content_type="application/atom+xml")
    cli = make_cli([{"url": url, "name": "Policy Desk"}, {"url": atom}])
    cli("poll", "--json")
    return cli


# ------------------------------------------------------------------ the desk (web UI) tests

@pytest.fixture
def desk(tmp_path: Path) -> Any:
    """The desk over a small database (test_web's `build_desk`); a module may define its own."""
    from test_web import build_desk

    return build_desk(tmp_path)


@pytest.fixture
def client(desk: Any) -> Any:
    """A Flask test client logged in as maria, on whichever `desk` the module uses."""
    from test_web import login

    c = desk.app.test_client()
    resp = login(c)
    assert resp.status_code == 302, resp.text
    return c


# ------------------------------------------------------------------ PostgreSQL


@pytest.fixture(scope="session")
def pg_server():
    """A throwaway PostgreSQL cluster for this test process (see tests/pg.py), with a migrated
    template database that each test's database is copied from."""
    from pg import Cluster, bindir

    if bindir() is None:
        pytest.skip("PostgreSQL is not installed (make test installs it)")
    cluster = Cluster()
    try:
        cluster.make_template()
        yield cluster
    finally:
        cluster.close()


@pytest.fixture
def pg_url(pg_server):
    """The URL of an empty, migrated PostgreSQL database of the test's own (emptied after the
    test for a later one, or dropped if the test changed its schema)."""
    name = pg_server.checkout()
    yield pg_server.url(name)
    pg_server.checkin(name)


@pytest.fixture
def pg_blank_url(pg_server):
    """The URL of a fresh PostgreSQL database with no schema at all."""
    name = pg_server.create()
    yield pg_server.url(name)
    pg_server.drop(name)


def db_rows(target: Path | str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """A query's rows on a test's database, SQLite or PostgreSQL (`?` placeholders): how the tests
    look inside without going through curator."""
    if isinstance(target, str) and target.startswith("postgresql://"):
        import psycopg

        from curator.store.backend import translate

        with psycopg.connect(target) as conn:
            return [tuple(r) for r in conn.execute(translate(sql), params).fetchall()]
    import sqlite3

    conn = sqlite3.connect(target)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request, tmp_path):
    """Where a test's database lives: a SQLite path, or a fresh PostgreSQL database's URL.

    `database:` in feeds.yaml takes either as it is: write_config(..., database=str(backend)).
    """
    if request.param == "sqlite":
        return tmp_path / "db" / "curator.db"
    return request.getfixturevalue("pg_url")
