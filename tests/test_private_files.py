"""The database and every copy of it are private to the user who runs curator, whatever the umask.

They hold the session-signing key and the password hashes: another local user must not read them,
plant a file where curator writes one, nor hold the poll lock. Also how backups are named and
where they may be written, and that a restore leaves nothing beside the backup it read.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Cli, write_config

from curator.config import load
from curator.core import Curator
from curator.exceptions import LockedError, StoreError
from curator.store import Store

# Acting as another local user needs root, and a Python that user may run (not one under /root).
OTHER_PYTHON = shutil.which("python3", path="/usr/bin:/usr/local/bin:/bin")
as_root = pytest.mark.skipif(os.geteuid() != 0 or OTHER_PYTHON is None,
                             reason="acting as another user needs root and a system Python")


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture(autouse=True)
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.fixture
def polled(server: Any, make_cli: Any, clock: Any) -> Any:
    url = server.add("/rss20.xml", file="rss20.xml")
    cli = make_cli([{"url": url, "name": "Policy Desk"}])
    cli("poll", "--json")
    return cli


def db_files(tmp_path: Path) -> dict[str, int]:
    return {p.name: mode(p) for p in (tmp_path / "db").iterdir()}


def as_nobody(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run Python code as another local user (nobody), as an attacker on the same host would."""
    assert OTHER_PYTHON
    return subprocess.run([OTHER_PYTHON, "-I", "-c", code, *args], user="nobody",
                          group="nogroup", extra_groups=[], capture_output=True, text=True,
                          timeout=30, cwd="/", env={})


@pytest.fixture
def reachable(server: Any, clock: Any) -> Iterator[tuple[Any, Path]]:
    """An install in a folder other users can reach (pytest's own folders are private)."""
    top = Path(tempfile.mkdtemp(prefix="curator-test-"))
    top.chmod(0o755)
    url = server.add("/rss20.xml", file="rss20.xml")
    cli = Cli(write_config(top, [{"url": url, "name": "Policy Desk"}]))
    cli("poll", "--json")
    yield cli, top
    shutil.rmtree(top)


# ------------------------------------------------------------------ modes


def test_database_wal_shm_and_lock_are_0600_in_a_0700_folder(polled: Any, tmp_path: Path) -> None:
    cur = Curator(load(polled.config))
    with cur.poll_lock():  # a reader elsewhere keeps -wal and -shm present
        files = db_files(tmp_path)
    cur.close()
    assert mode(tmp_path / "db") == 0o700
    assert {"curator.db", "curator.db-wal", "curator.db-shm", "curator.db.poll.lock"} <= set(files)
    assert files == {name: 0o600 for name in files}


def test_backups_and_the_copy_kept_by_restore_are_0600(polled: Any, tmp_path: Path) -> None:
    out = polled("backup", str(tmp_path / "backups") + "/").stdout
    [backup] = (tmp_path / "backups").iterdir()
    assert str(backup) in out
    assert mode(tmp_path / "backups") == 0o700 and mode(backup) == 0o600
    polled("backup", str(tmp_path / "named.db"))
    assert mode(tmp_path / "named.db") == 0o600
    polled("restore", str(backup))
    [kept] = (tmp_path / "db").glob("curator.db.before-restore-*.bak")
    assert mode(kept) == 0o600


def test_the_copy_an_upgrade_takes_is_0600(tmp_path: Path, monkeypatch: Any) -> None:
    from curator.schema import MIGRATIONS
    from curator.store import migrations as m

    path = tmp_path / "db" / "c.db"
    Store(path).close()

    def m9999_private(db: Any) -> None:
        db.execute("CREATE TABLE private_extra (x)")

    m.migrations(name="9999_test_private")(m9999_private)
    monkeypatch.setattr("curator.store.base.MIGRATIONS", (*MIGRATIONS, "9999_test_private"))
    try:
        Store(path).close()
        [bak] = path.parent.glob("c.db.before-9999_test_private.bak")
        assert mode(bak) == 0o600
    finally:
        m.migrations._migrations.pop()


def make_loose_database(folder: Path) -> Path:
    """A database as an older curator left it under umask 022: 0755 folder, 0644 files."""
    folder.mkdir(mode=0o755)
    path = folder / "curator.db"
    Store(path).close()
    conn = sqlite3.connect(path)  # keep a connection so the -wal and -shm stay
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE IF NOT EXISTS held (x)")
    conn.commit()
    folder.chmod(0o755)
    for p in folder.iterdir():
        p.chmod(0o644)
    conn.close()
    return path


def test_an_older_databases_folder_and_files_are_tightened_once_with_a_log_line(
        tmp_path: Path, caplog: Any) -> None:
    path = make_loose_database(tmp_path / "db")
    keep = sqlite3.connect(path)  # another process's reader: -wal and -shm remain
    keep.execute("SELECT 1 FROM sqlite_master").fetchall()
    for p in path.parent.iterdir():
        p.chmod(0o644)
    path.parent.chmod(0o755)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="curator"):
        Store(path).close()
        Store(path).close()
    keep.close()
    assert mode(path.parent) == 0o700
    assert {p.name: mode(p) for p in path.parent.iterdir()} == {
        p.name: 0o600 for p in path.parent.iterdir()}
    said = [r.getMessage() for r in caplog.records if "private" in r.getMessage()]
    assert len(said) == 1, said
    assert "curator.db (was 644)" in said[0] and "db/ (was 755)" in said[0]
    assert "curator.db-wal (was 644)" in said[0]


def test_a_folder_shared_with_other_files_is_left_alone_but_its_curator_files_are_not(
        tmp_path: Path, caplog: Any) -> None:
    shared = tmp_path / "project"
    shared.mkdir(mode=0o755)
    (shared / "index.html").write_text("published by a web server")
    with caplog.at_level(logging.WARNING, logger="curator"):
        Store(shared / "curator.db").close()
    assert mode(shared) == 0o755  # a web root or project folder keeps working for others
    assert mode(shared / "curator.db") == 0o600
    assert any("folder of its own" in r.getMessage() for r in caplog.records)


@as_root
def test_another_user_can_read_nothing_of_the_database(reachable: Any) -> None:
    cli, top = reachable
    db = top / "db"
    probe = top / "probe"
    probe.write_text("readable")  # proves the other user gets this far
    read = ("import pathlib, sys\n"
            "for p in sys.argv[1:]:\n"
            "    try: pathlib.Path(p).read_bytes(); print('read', p)\n"
            "    except OSError: pass\n")
    result = as_nobody(read, str(probe), str(db / "curator.db"), str(db / "curator.db-wal"))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"read {probe}\n"
    # Even with the folder opened up by hand, the files themselves refuse.
    db.chmod(0o755)
    result = as_nobody(read, *(str(p) for p in db.iterdir()))
    assert result.stdout == ""


# ------------------------------------------------------------------ the poll lock


def test_another_process_cannot_take_a_held_poll_lock(polled: Any, tmp_path: Path) -> None:
    cur = Curator(load(polled.config))
    lock = tmp_path / "db" / "curator.db.poll.lock"
    take = ("import fcntl, os, sys\n"
            "fd = os.open(sys.argv[1], os.O_RDONLY)\n"
            "try: fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB); print('took it')\n"
            "except BlockingIOError: print('busy')\n")
    with cur.poll_lock():
        result = subprocess.run([sys.executable, "-c", take, str(lock)], capture_output=True,
                                text=True, timeout=30)
        assert result.stdout.strip() == "busy"
        other = Curator(load(polled.config))
        with pytest.raises(LockedError), other.poll_lock(wait=0):
            pass
        other.close()
    cur.close()


@as_root
def test_another_user_can_neither_open_nor_plant_the_poll_lock(reachable: Any) -> None:
    cli, top = reachable
    cur = Curator(load(cli.config))
    with cur.poll_lock():
        pass
    lock = top / "db" / "curator.db.poll.lock"
    take = ("import fcntl, os, sys\n"
            "try:\n"
            "    fd = os.open(sys.argv[1], os.O_RDONLY | os.O_CREAT, 0o644)\n"
            "    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
            "    print('took it')\n"
            "except OSError as e: print(type(e).__name__)\n")
    result = as_nobody(take, str(lock))
    assert result.stdout.strip() == "PermissionError", result
    lock.unlink()  # nor make one in its place
    assert as_nobody(take, str(lock)).stdout.strip() == "PermissionError"
    with cur.poll_lock():
        pass
    # Not even with the folder opened up by hand: the file itself is 0600.
    lock.parent.chmod(0o755)
    assert as_nobody(take, str(lock)).stdout.strip() == "PermissionError"
    cur.close()


@as_root
def test_a_lock_file_another_user_owns_is_refused(polled: Any, tmp_path: Path) -> None:
    lock = tmp_path / "db" / "curator.db.poll.lock"
    lock.touch(mode=0o644)
    nobody = int(subprocess.run(["id", "-u", "nobody"], capture_output=True, text=True,
                                check=True).stdout)
    os.chown(lock, nobody, -1)
    # That user could hold it for ever and make every poll stand down: refuse, do not stand down.
    out = polled("poll", "--json", code=1)
    assert "belongs to another user" in out.stderr and str(lock) in out.stderr


def test_a_lock_file_that_is_a_link_is_refused(polled: Any, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_text("")
    lock = tmp_path / "db" / "curator.db.poll.lock"
    lock.unlink(missing_ok=True)
    lock.symlink_to(elsewhere)
    cur = Curator(load(polled.config))
    with pytest.raises(StoreError, match="symbolic link"), cur.poll_lock(wait=0):
        pass
    cur.close()


def test_a_loose_lock_file_from_an_older_curator_is_tightened(polled: Any,
                                                               tmp_path: Path) -> None:
    lock = tmp_path / "db" / "curator.db.poll.lock"
    lock.unlink(missing_ok=True)
    lock.touch(mode=0o644)
    polled("poll", "--json")
    assert mode(lock) == 0o600
    fd = os.open(lock, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # and released after the poll
    finally:
        os.close(fd)


# ------------------------------------------------------------------ backup and restore


def test_backup_into_a_missing_path_is_refused_in_one_line(polled: Any, tmp_path: Path) -> None:
    out = polled("backup", str(tmp_path / "no" / "such" / "backups") + "/", code=2)
    assert out.stderr.count("\n") == 1 and "no folder" in out.stderr
    assert str(tmp_path / "no" / "such") in out.stderr
    assert not (tmp_path / "no").exists()
    out = polled("backup", str(tmp_path / "nowhere" / "deep" / "copy.db"), code=2)
    assert out.stderr.count("\n") == 1 and f"no folder {tmp_path / 'nowhere'} " in out.stderr
    assert not (tmp_path / "nowhere").exists()


def test_backup_makes_only_the_last_folder(polled: Any, tmp_path: Path) -> None:
    polled("backup", str(tmp_path / "nightly") + "/")
    assert len(list((tmp_path / "nightly").glob("curator-*.db"))) == 1
    polled("backup", str(tmp_path / "weekly" / "copy.db"))
    assert (tmp_path / "weekly" / "copy.db").is_file()
    assert mode(tmp_path / "weekly") == 0o700


def test_backups_in_the_same_second_are_all_kept_in_order(polled: Any, tmp_path: Path) -> None:
    cand = polled("candidates", "--json")[0]
    folder = tmp_path / "backups"
    notes = []
    for i in range(3):  # the clock is frozen: the same second, the same millisecond
        notes.append(f"state {i}")
        polled("feature", str(cand["id"]), "--note", notes[-1])
        polled("backup", str(folder) + "/")
    names = sorted(p.name for p in folder.iterdir())
    assert len(names) == 3
    got = []
    for name in names:
        conn = sqlite3.connect(f"file:{folder / name}?mode=ro", uri=True)
        got.append(conn.execute("SELECT note FROM candidates WHERE id = ?",
                                (cand["id"],)).fetchone()[0])
        conn.close()
    assert got == notes  # sorted by name is the order they were taken in


def test_a_backup_is_one_self_contained_file(polled: Any, tmp_path: Path) -> None:
    target = tmp_path / "copy.db"
    polled("backup", str(target))
    assert target.read_bytes()[18:20] == b"\x01\x01"  # rollback journal, not WAL
    conn = sqlite3.connect(f"file:{target}?mode=ro", uri=True)
    assert conn.execute("SELECT count(*) FROM entries").fetchone()[0] > 0
    conn.close()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("copy")) == ["copy.db"]


def test_restore_leaves_nothing_beside_the_backup(polled: Any, tmp_path: Path) -> None:
    folder = tmp_path / "backups"
    polled("backup", str(folder) + "/")
    # And a backup made as older curators made them: a WAL-mode copy.
    old = folder / "old.db"
    live = sqlite3.connect(tmp_path / "db" / "curator.db")
    dest = sqlite3.connect(old)
    live.backup(dest)
    dest.close()
    live.close()
    assert old.read_bytes()[18:20] == b"\x02\x02"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    for name in sorted(before):
        polled("restore", str(folder / name))
        assert polled("candidates", "--json")
    after = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert after == before  # no -wal or -shm, and the backups themselves untouched


def test_restore_reads_a_copied_live_database_with_its_wal(polled: Any, tmp_path: Path) -> None:
    cand = polled("candidates", "--json")[0]
    copy = tmp_path / "copy"
    copy.mkdir()
    writer = sqlite3.connect(tmp_path / "db" / "curator.db")
    writer.execute("PRAGMA wal_autocheckpoint = 0")
    writer.execute("UPDATE candidates SET note = 'only in the wal' WHERE id = ?", (cand["id"],))
    writer.commit()
    for suffix in ("", "-wal"):
        shutil.copy(tmp_path / "db" / f"curator.db{suffix}", copy / f"curator.db{suffix}")
    writer.close()
    polled("feature", str(cand["id"]), "--note", "later")
    polled("restore", str(copy / "curator.db"))
    assert polled("show", str(cand["id"]), "--json")["note"] == "only in the wal"
