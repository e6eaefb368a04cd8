"""A throwaway PostgreSQL cluster for the tests: initdb and pg_ctl in a temporary folder.

The server runs as an unprivileged user (PostgreSQL refuses to run as root: under root the
commands run as the `postgres` user through runuser), listens on a free loopback port only, with
password authentication, and with fsync off: it is thrown away at the end of the session. Each
pytest-xdist worker starts its own. Databases for the tests are copies of a migrated template.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

USER = "curator"
PASSWORD = "test-secret-pw"
TEMPLATE = "curator_template"
#: A throwaway server: nothing is synced to disk.
TEST_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
                 "shared_buffers": "32MB", "max_connections": "60", "log_min_messages": "fatal"}


def bindir() -> Path | None:
    """The folder holding initdb and pg_ctl (Debian keeps them out of PATH), or None."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
                      key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit()
                      else 0)
    return versions[-1].parent if versions else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep(bin_dir: Path, as_user: list[str]) -> None:
    """Stop and remove the clusters of test runs that were killed before they could."""
    for root in Path(tempfile.gettempdir()).glob("curator-pg-*"):
        try:
            owner = int((root / "owner").read_text())
        except (OSError, ValueError):
            continue
        if _alive(owner):
            continue
        subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(root / "data"), "-m",
                        "immediate", "-w", "stop"], capture_output=True, check=False)
        shutil.rmtree(root, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """One PostgreSQL server in a temporary folder, on 127.0.0.1:port."""

    def __init__(self, settings: dict[str, str] | None = None) -> None:
        #: Server settings: fast and throwaway for the tests; bench/pg_bench.py passes durable ones.
        self.settings = {**TEST_SETTINGS, **(settings or {})}
        found = bindir()
        if found is None:
            raise RuntimeError("PostgreSQL is not installed (make test installs it)")
        self.bin = found
        self.as_user: list[str] = []
        owner = None
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        sweep(self.bin, self.as_user)
        self.root = Path(tempfile.mkdtemp(prefix="curator-pg-"))
        (self.root / "owner").write_text(str(os.getpid()))
        self.data = self.root / "data"
        pwfile = self.root / "pw"
        pwfile.write_text(PASSWORD + "\n")
        if owner is not None:
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            os.chown(pwfile, owner.pw_uid, owner.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", USER, f"--pwfile={pwfile}",
                  "--auth=scram-sha-256", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8")
        self.port = 0
        self._names = itertools.count(1)
        self._spare: list[str] = []
        self._shape = ""
        self.start()

    def _run(self, tool: str, *args: str) -> None:
        out = subprocess.run([*self.as_user, str(self.bin / tool), *args], capture_output=True,
                             text=True, check=False)
        if out.returncode != 0:
            raise RuntimeError(f"{tool} failed: {out.stdout}{out.stderr}")

    def start(self) -> None:
        """Start the server (again), on a new free port unless it had one."""
        for _ in range(5):
            port = self.port or _free_port()
            opts = (f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories="
                    f"{self.root} " + " ".join(f"-c {k}={v}" for k, v in self.settings.items()))
            try:
                self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-w",
                          "-t", "30", "-o", opts, "start")
            except RuntimeError:
                if self.port:
                    raise
                continue
            self.port = port
            return
        raise RuntimeError(f"could not start PostgreSQL: {(self.root / 'log').read_text()}")

    def version(self) -> str:
        """The server's version, as `postgres --version` says it."""
        out = subprocess.run([str(self.bin / "postgres"), "--version"], capture_output=True,
                             text=True, check=False)
        found = re.search(r"\(PostgreSQL\) (\S+)", out.stdout)
        return found.group(1) if found else out.stdout.strip()

    def stop(self) -> None:
        """Stop the server (fast: open connections are ended)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def url(self, name: str, *, password: str | None = PASSWORD) -> str:
        auth = USER if password is None else f"{USER}:{password}"
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{name}"

    @contextlib.contextmanager
    def admin(self) -> Iterator[Any]:
        """An autocommit connection to the maintenance database."""
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            yield conn

    def create(self, *, template: str | None = None) -> str:
        """A new database (a copy of `template`, else empty); returns its name."""
        name = f"t{os.getpid()}_{next(self._names)}"
        with self.admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"'
                         + (f' TEMPLATE "{template}" STRATEGY FILE_COPY' if template else ""))
        return name

    def drop(self, name: str) -> None:
        from curator.store.backend import drain

        drain(self.url(name))  # the connections kept for the next Store
        with self.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def checkout(self) -> str:
        """An empty, migrated database for one test: a clean one used before, else a copy of
        the template (emptying one costs a few ms; making one, a checkpoint or two)."""
        return self._spare.pop() if self._spare else self.create(template=TEMPLATE)

    def checkin(self, name: str) -> None:
        """Empty the test's database for the next test, or drop it if its schema was changed."""
        import psycopg

        from curator.store.backend import drain

        drain(self.url(name))
        try:
            with psycopg.connect(self.url(name), autocommit=True) as conn:
                # Whatever the test left open (a transaction, a session lock) ends here.
                conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE"
                             " datname = current_database() AND pid <> pg_backend_pid()")
                if _shape(conn) != self._shape:
                    raise ValueError("the test changed the schema")
                tables = [r[0] for r in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                    " AND tablename <> 'curator_migrations'")]
                conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY")
        except (psycopg.Error, ValueError):
            self.drop(name)
            return
        self._spare.append(name)

    def make_template(self) -> None:
        """The migrated, empty database each test's database is copied from."""
        from curator.store import Store

        with self.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{TEMPLATE}"')
        from curator.store.backend import drain

        Store(self.url(TEMPLATE)).close()
        drain(self.url(TEMPLATE))
        import psycopg

        with psycopg.connect(self.url(TEMPLATE), autocommit=True) as conn:
            self._shape = _shape(conn)

    def close(self) -> None:
        with contextlib.suppress(RuntimeError):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def _shape(conn: Any) -> str:
    """The schema as tables, columns, indexes, triggers, functions and the applied migrations:
    what a test must not have changed for its database to serve the next test."""
    row = conn.execute(
        "SELECT string_agg(c.relname || '.' || a.attname || ':' || a.atttypid::text, ','"
        " ORDER BY c.relname, a.attnum) FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " JOIN pg_attribute a ON a.attrelid = c.oid"
        " WHERE n.nspname = 'public' AND a.attnum > 0 AND NOT a.attisdropped").fetchone()
    names = conn.execute("SELECT string_agg(migration_set || ':' || name, ',' ORDER BY id)"
                         " FROM curator_migrations").fetchone()
    # A trigger or function a test added (to make a write fail, say) would act in the next.
    code = conn.execute(
        "SELECT (SELECT string_agg(tgname, ',' ORDER BY tgname) FROM pg_trigger"
        " WHERE NOT tgisinternal), (SELECT string_agg(p.proname, ',' ORDER BY p.proname)"
        " FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
        " WHERE n.nspname = 'public')").fetchone()
    return f"{row[0]}|{names[0]}|{code[0]}|{code[1]}"


def wait_for(port: int, timeout: float = 10.0) -> None:
    """Until something accepts connections on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(port)
