"""A per-user cache of validated feeds.yaml files, so a command does not parse YAML it has seen.

Every command reads feeds.yaml, and reading it is the bulk of a quick command's own work: libyaml
composes about 50,000 nodes a second, so 10,000 sources cost about 200 ms before `curator
candidates` can run its 1 ms query. The validated `Config` is therefore kept, pickled, in
`$CURATOR_CACHE_DIR` (default `$XDG_CACHE_HOME/curator`, else `~/.cache/curator`), and used only
when the file's whole text, its resolved path, curator's version and the code that validates it
are exactly what they were. Anything else (an edit, an upgrade, a damaged or foreign file) is a
miss, and a miss only costs the parse the command would have done anyway. `CURATOR_CACHE_DIR=off`
turns the cache off.

A pickle runs code when loaded, so the trust rule is that of Python's own `__pycache__`: a cache
file is read only when it is a regular file owned by this user and not writable by anyone else, in
a folder made private (0700) to this user.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import stat
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from . import __version__

#: Bump when the shape of what is stored changes.
FORMAT = 1
OFF = "off"


def cache_dir() -> Path | None:
    """Where cached configs live, or None when the cache is off."""
    chosen = os.environ.get("CURATOR_CACHE_DIR")
    if chosen is not None:
        return None if chosen.strip().lower() in (OFF, "") else Path(chosen)
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "curator"
    home = os.environ.get("HOME")
    return Path(home) / ".cache" / "curator" if home else None


def _code_stamp(code: Sequence[str]) -> tuple[tuple[int, int], ...]:
    # The validating code itself (the caller names its files): an edited config.py or types.py
    # (a checkout, not a release) must not be served a Config its older self built.
    stamps = []
    for file in code:
        st = os.stat(file)
        stamps.append((st.st_mtime_ns, st.st_size))
    return tuple(stamps)


def _key(path: Path, text: str, code: Sequence[str]) -> tuple[Any, ...]:
    return (FORMAT, __version__, _code_stamp(code), str(path.resolve()), text)


def _file(folder: Path, path: Path) -> Path:
    # Named after the config's resolved path; a clash of two paths is only a miss (the key
    # inside holds the whole path).
    return folder / f"config-{zlib.crc32(str(path.resolve()).encode()):08x}.pickle"


def get(path: Path, text: str, code: Sequence[str]) -> Any:
    """What was kept for this file's text by the code in the files `code`, or None."""
    folder = cache_dir()
    if folder is None:
        return None
    try:
        fd = os.open(_file(folder, path), os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if (not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid()
                or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)):
            return None
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read()
    except OSError:
        return None
    finally:
        os.close(fd)
    try:
        key, config = pickle.loads(data)
        return config if key == _key(path, text, code) else None
    except Exception:  # noqa: BLE001 - a damaged or foreign cache file is a miss, whatever it holds
        return None


def put(path: Path, text: str, config: Any, code: Sequence[str]) -> None:
    """Keep a validated Config (built by the code in the files `code`) for the next command; a
    cache that cannot be written is skipped."""
    folder = cache_dir()
    if folder is None:
        return
    target = _file(folder, path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        data = pickle.dumps((_key(path, text, code), config), protocol=pickle.HIGHEST_PROTOCOL)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, target)  # readers see the old file or the new one, never half of one
    except (OSError, TypeError, pickle.PicklingError):
        with contextlib.suppress(OSError):
            tmp.unlink()


def folder(name: str) -> Path | None:
    """The cache folder's subfolder `name`, made if missing, for another module's own files
    (Jinja2's compiled templates): None when the cache is off, when it cannot be made, or when
    it or the cache folder is not this user's alone to write (the trust rule above: what is read
    from it runs as code)."""
    root = cache_dir()
    if root is None:
        return None
    path = root / name
    try:
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.mkdir(mode=0o700, exist_ok=True)
        for made in (root, path):
            st = os.stat(made, follow_symlinks=False)
            if (not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid()
                    or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)):
                return None
    except OSError:
        return None
    return path


def keep(name: str, write: Callable[[BinaryIO], object]) -> bool:
    """Write the cache folder's file `name` with `write(file)`, atomically and private to this
    user (other modules keep what they make once there: the stories' word table, the sentence
    encoder's weights). False when the cache is off or cannot be written: only a slower start."""
    folder = cache_dir()
    if folder is None:
        return False
    target = folder / name
    tmp = target.with_name(f".{name}.{os.getpid()}.tmp")
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, target)  # readers see the old file or the new one, never half of one
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        return False
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return True
