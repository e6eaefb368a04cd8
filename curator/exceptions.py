"""One tree of errors under CuratorError; each carries what it concerns and chains its cause."""

from __future__ import annotations


class CuratorError(Exception):
    """Root of every error curator raises on purpose."""

    exit_code = 1


class ConfigError(CuratorError):
    """feeds.yaml is missing, unreadable or invalid; names the key and line."""

    exit_code = 2

    def __init__(self, message: str, *, key: str | None = None, line: int | None = None,
                 path: str | None = None) -> None:
        self.key = key
        self.line = line
        self.path = path
        self.message = message
        where = []
        if path:
            where.append(str(path) + (f":{line}" if line else ""))
        elif line:
            where.append(f"line {line}")
        if key:
            where.append(key)
        super().__init__(f"{': '.join(where)}: {message}" if where else message)


class UsageError(CuratorError):
    """The command was asked for something that cannot be (bad argument, unknown id)."""

    exit_code = 2


class NotFound(UsageError):
    """An unknown candidate id or source."""

    def __init__(self, what: str, ident: object) -> None:
        self.what = what
        self.ident = ident
        super().__init__(f"no {what} {ident!r}")


class StoreError(CuratorError):
    """The database could not be read or written."""


class TransactionConflict(StoreError):
    """The database server ended a transaction that collided with another (a deadlock, a
    serialization failure) and undid all of it: running it again is safe. The store does so
    by itself where a call begins its own transaction; this is what is left after that."""


class DatabaseUnavailable(StoreError):
    """The database cannot be used as configured: its server is down or refuses curator's user
    or password, it does not exist, or a newer curator made its schema. Names the database (a
    server without its password); a matter of configuration, so bad usage (exit 2)."""

    exit_code = 2


class PublishError(CuratorError):
    """The feed files could not be written (a read-only or missing folder, a full disk)."""


class ParseError(CuratorError):
    """A body that is not a usable feed."""

    def __init__(self, url: str, message: str) -> None:
        self.url = url
        self.message = message
        super().__init__(f"{url}: {message}")

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        # Parse errors cross from worker processes; the default pickling would call
        # __init__ with one argument and break the pool.
        return (type(self), (self.url, self.message))


class NotAFeed(ParseError):
    """An HTML page (or other document) where a feed was expected."""

    def __init__(self, url: str, message: str, alternate: str | None = None) -> None:
        self.alternate = alternate
        self.plain_message = message
        if alternate:
            message = f"{message}; the page advertises a feed at {alternate}"
        super().__init__(url, message)

    def __reduce__(self) -> tuple[type, tuple[str, str, str | None]]:  # type: ignore[override]
        return (type(self), (self.url, self.plain_message, self.alternate))


class LockedError(CuratorError):
    """Another poll holds the poll lock."""


class ArticleError(CuratorError):
    """An article page (for `curator add`) that cannot be added: one line saying why."""

    def __init__(self, url: str, message: str) -> None:
        super().__init__(f"{url}: {message}")
        self.url = url
        self.message = message
