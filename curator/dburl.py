"""What `database:` names: a SQLite file (a path) or a PostgreSQL database (a URL).

Here, not in the store, so that reading feeds.yaml loads no database code; the store's backend
module re-exports these names.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

_SCHEMES = ("postgresql://", "postgres://")


def is_postgres(target: str | Path | None) -> bool:
    """Whether `database:` names a PostgreSQL server (a URL) rather than a SQLite file."""
    return isinstance(target, str) and target.strip().lower().startswith(_SCHEMES)


def is_url(text: str) -> bool:
    """Whether the text is a URL of any scheme (a database curator may not know)."""
    head, sep, _ = text.partition("://")
    return bool(sep) and head.replace("+", "").isalnum() and "/" not in head


def redact(url: str) -> str:
    """The URL without its password or options: `postgresql://USER@HOST:PORT/NAME`."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or "localhost"
        port = parts.port or 5432
    except ValueError:  # a port that is not a number: say as little as can be said safely
        return "postgresql://(a URL that could not be read)"
    if ":" in host:
        host = f"[{host}]"
    user = f"{unquote(parts.username)}@" if parts.username else ""
    name = unquote(parts.path.lstrip("/")) or unquote(parts.username or "") or "(default)"
    return f"postgresql://{user}{host}:{port}/{name}"


def describe(target: str | Path) -> str:
    """How messages name a database: its path, or its server and name without the password."""
    return redact(str(target)) if is_postgres(target) else str(target)
