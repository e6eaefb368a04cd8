"""Atomic file replacement, and private files (0600 in a 0700 folder) whatever the umask."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path


def write_atomic(path: Path, data: bytes) -> bool:
    """Replace `path` with `data` atomically; False (and nothing written) when it already holds it."""
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    import tempfile  # here: opening the database imports this module, and start-up time counts

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    # The rename is durable only once the folder itself is on disk.
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    except OSError:  # some file systems refuse fsync on a folder; the rename is still atomic
        pass
    finally:
        os.close(dir_fd)
    return True


# ------------------------------------------------------------------ private files
# The database and everything copied from it hold the session-signing key and the password
# hashes: other local users must not read them, nor plant a file or a link where curator writes
# one. Modes are set explicitly because the umask only ever removes bits.

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def _loose(mode: int, wanted: int) -> bool:
    return bool(stat.S_IMODE(mode) & ~wanted)


def private_folder(folder: Path, *, parents: bool = True) -> bool:
    """Make `folder` 0700 if it is missing (True); parents it needs are made as usual."""
    if folder.is_dir():
        return False
    if parents:
        folder.parent.mkdir(parents=True, exist_ok=True)
    try:
        folder.mkdir(mode=PRIVATE_DIR)
    except FileExistsError:
        if not folder.is_dir():
            raise
        return False  # made by another process meanwhile
    os.chmod(folder, PRIVATE_DIR)
    return True


def create_private(path: Path) -> bool:
    """Create `path` empty with mode 0600 unless it exists; never follows a planted link."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     PRIVATE_FILE)
    except FileExistsError:
        return False
    try:
        os.fchmod(fd, PRIVATE_FILE)
    finally:
        os.close(fd)
    return True


def tighten(path: Path, wanted: int) -> int | None:
    """Take group and other bits off `path` (ours, not a link); its old mode when it changed."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(st.st_mode) or st.st_uid != os.geteuid() or not _loose(st.st_mode, wanted):
        return None
    os.chmod(path, stat.S_IMODE(st.st_mode) & wanted)
    return stat.S_IMODE(st.st_mode)


def open_private_lock(path: Path) -> int:
    """Open (creating 0600) a lock file that only this user can open; an fd to flock.

    Refuses a link, anything but a regular file, and a file another user owns: such a file
    would let that user hold the lock for ever.
    """
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, PRIVATE_FILE)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise OSError(e.errno, "it is a symbolic link; remove it", str(path)) from e
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "not a regular file; remove it", str(path))
        if st.st_uid != os.geteuid():
            raise OSError(errno.EPERM, f"it belongs to another user (uid {st.st_uid}), so that "
                          "user could hold the lock; remove it", str(path))
        if _loose(st.st_mode, PRIVATE_FILE):
            os.fchmod(fd, PRIVATE_FILE)
    except BaseException:
        os.close(fd)
        raise
    return fd
