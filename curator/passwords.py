"""Editor accounts' rules: what a name and a password must be, and how passwords are kept and
checked (werkzeug's slow salted hashes, loaded on first use). The desk's login and the CLI's
`curator editor` both go through these, beside the desk's own defences in web/security.py.
"""

from __future__ import annotations

from functools import lru_cache

from .exceptions import UsageError

MIN_PASSWORD = 10
MAX_NAME = 64


def check_name(name: str) -> str:
    """An editor's name, stripped, after the rule: 1 to 64 printable characters, no spaces."""
    name = name.strip()
    # isprintable() also refuses the bidi overrides and zero-width characters (format
    # characters) that would make one name look like another in the review history.
    if (not name or len(name) > MAX_NAME or any(c.isspace() for c in name)
            or not name.isprintable()):
        raise UsageError(f"an editor name is 1 to {MAX_NAME} printable characters with no "
                         "spaces")
    return name


def hash_password(password: str) -> str:
    """The stored form of a new password, after the length rule."""
    if len(password) < MIN_PASSWORD:
        raise UsageError(f"the password must have at least {MIN_PASSWORD} characters")
    from werkzeug.security import generate_password_hash

    return generate_password_hash(password)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    from werkzeug.security import generate_password_hash

    return generate_password_hash("curator-timing-equaliser")


def matches(stored: str | None, password: str) -> bool:
    """True when `password` is the one behind `stored`; as slow when there is no account
    (stored is None), so names cannot be probed by timing."""
    from werkzeug.security import check_password_hash

    if stored is None:
        check_password_hash(_dummy_hash(), password)
        return False
    return check_password_hash(stored, password)
