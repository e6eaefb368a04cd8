"""The one place where SQLite and PostgreSQL differ: telling them apart, connecting, dialect.

The store's statements are written once, portable to both (`?` placeholders, `ON CONFLICT DO
NOTHING`, `RETURNING id`, no rowid). What cannot be portable is here:

- `is_postgres(target)`: a `postgresql://` or `postgres://` URL, else a SQLite path;
  `redact(url)` names the server without the password, for every message.
- `PgConnection`: a psycopg 3 connection shaped like sqlite3's, in autocommit with explicit
  BEGIN/COMMIT as the SQLite side does; `?` becomes `%s` (cached per statement), and numeric
  results load as int or float, never Decimal.
- `Dialect`: how a write transaction begins, case-insensitive LIKE.
- `db_errors()`: the exception classes the store turns into StoreError. psycopg is imported only
  when a PostgreSQL database is opened: SQLite users never load it.
"""

from __future__ import annotations

import functools
import re
import sqlite3
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from ..dburl import describe, is_postgres, redact
from ..exceptions import DatabaseUnavailable, StoreError

__all__ = ["POSTGRES", "SQLITE", "Connection", "Dialect", "PgConnection", "connect_pg", "db_errors",
           "describe", "integrity_errors", "is_postgres", "redact"]

#: Seconds a connection attempt may take before the server counts as down.
CONNECT_TIMEOUT_S = 10


def db_errors() -> tuple[type[BaseException], ...]:
    """The database errors the store converts: sqlite3's, and psycopg's once it is loaded."""
    psycopg = sys.modules.get("psycopg")
    return (sqlite3.Error,) if psycopg is None else (sqlite3.Error, psycopg.Error)


def integrity_errors() -> tuple[type[BaseException], ...]:
    """A broken constraint (a unique name taken, say), on either backend."""
    psycopg = sys.modules.get("psycopg")
    if psycopg is None:
        return (sqlite3.IntegrityError,)
    return (sqlite3.IntegrityError, psycopg.IntegrityError)


class Connection(Protocol):
    """What the store uses of a connection: sqlite3.Connection, or PgConnection."""

    @property
    def in_transaction(self) -> bool: ...

    def execute(self, sql: str, parameters: Any = ..., /) -> Any: ...

    def executemany(self, sql: str, parameters: Any, /) -> Any: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Dialect:
    """The few words of SQL that differ between the two backends."""

    name: str
    #: Begins a write transaction: SQLite takes the write lock up front so it waits, not fails.
    begin: str
    #: Case-insensitive (ASCII) LIKE, as SQLite's LIKE is.
    like: str
    #: Begins a read transaction that sees one moment of the database throughout.
    snapshot: str


SQLITE = Dialect("sqlite", begin="BEGIN IMMEDIATE", like="LIKE", snapshot="BEGIN")
POSTGRES = Dialect("postgresql", begin="BEGIN", like="ILIKE",
                   snapshot="BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")


# ----------------------------------------------------------------------------- PostgreSQL

_TOKENS = re.compile(r"'(?:[^']|'')*'|\"[^\"]*\"|--[^\n]*|\?|%")


@functools.lru_cache(maxsize=2048)
def translate(sql: str) -> str:
    """A statement written for sqlite3 (`?` placeholders) as psycopg takes it (`%s`, `%%`)."""

    def sub(m: re.Match[str]) -> str:
        token = m.group(0)
        if token == "?":
            return "%s"
        return token.replace("%", "%%")  # psycopg reads % everywhere, quoted or not

    return _TOKENS.sub(sub, sql)


def _loaders(conn: Any) -> None:
    """numeric as int (no fraction) or float: sum() and `count(*) * 1.0` as SQLite gives them."""
    from psycopg.adapt import Loader
    from psycopg.pq import Format

    class Numeric(Loader):
        format = Format.TEXT

        def load(self, data: Any) -> int | float:
            text = bytes(data)
            if b"." in text or b"N" in text or b"e" in text or b"I" in text:
                return float(text)
            return int(text)

    conn.adapters.register_loader("numeric", Numeric)


def _no_nul(params: Sequence[Any]) -> tuple[Any, ...]:
    """The parameters, with NUL characters dropped from text: PostgreSQL's text cannot hold
    them (SQLite's can). What curator stores has them stripped already; this keeps a stray one
    (a hostile query string, a YAML "\\0") from failing a whole statement."""
    if any(isinstance(p, str) and "\x00" in p for p in params):
        return tuple(p.replace("\x00", "") if isinstance(p, str) else p for p in params)
    return tuple(params)


class PgCursor:
    """A psycopg cursor answering as much of sqlite3.Cursor as the store uses."""

    __slots__ = ("_cur",)

    def __init__(self, cur: Any) -> None:
        self._cur = cur

    @property
    def description(self) -> Any:
        return self._cur.description

    @property
    def rowcount(self) -> int:
        return int(self._cur.rowcount)

    def fetchone(self) -> Any:
        return self._cur.fetchone() if self._cur.description is not None else None

    def fetchall(self) -> list[Any]:
        return self._cur.fetchall() if self._cur.description is not None else []

    def fetchmany(self, size: int) -> list[Any]:
        return self._cur.fetchmany(size) if self._cur.description is not None else []

    def __iter__(self) -> Iterator[Any]:
        if self._cur.description is None:
            return iter(())
        return iter(self._cur)


class PgConnection:
    """One psycopg 3 connection, in autocommit: transactions are the store's BEGIN and COMMIT."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.where = redact(url)
        self.raw = self._connect()

    def _connect(self) -> Any:
        import psycopg

        try:
            conn = psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S,
                                   application_name="curator")
        except psycopg.Error as e:
            raise DatabaseUnavailable(f"database {self.where}: {_reason(e, self.url)}") from None
        _loaders(conn)
        return conn

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        return bool(self.raw.info.transaction_status != TransactionStatus.IDLE)

    def _ready(self) -> None:
        """Outside a transaction, a connection the server dropped is made again (a retry)."""
        if self.raw.broken or self.raw.closed:
            if self.raw.closed and not self.raw.broken:
                raise StoreError(f"database {self.where}: the connection is closed")
            self.raw = self._connect()

    def execute(self, sql: str, params: Sequence[Any] = (), /) -> PgCursor:
        if not self.in_transaction or self.raw.broken:
            self._ready()
        cur = self.raw.cursor()
        cur.execute(translate(sql), _no_nul(params))
        return PgCursor(cur)

    def executemany(self, sql: str, seq: Any, /) -> PgCursor:
        cur = self.raw.cursor()
        rows = [_no_nul(p) for p in seq]
        if rows:
            cur.executemany(translate(sql), rows)
        return PgCursor(cur)

    def close(self) -> None:
        self.raw.close()


def _reason(e: BaseException, url: str) -> str:
    """One line saying why a connection failed, never the password."""
    text = " ".join(str(e).split())
    parts = urlsplit(url)
    if parts.password:
        text = text.replace(parts.password, "***").replace(unquote(parts.password), "***")
    low = text.lower()
    if "password authentication failed" in low or "no password supplied" in low:
        return "the server refused the user name or password"
    if "does not exist" in low and "database" in low:
        return "no such database on the server (create it first: createdb NAME)"
    if "connection refused" in low or "could not connect" in low or "timeout" in low:
        return "cannot reach the server (is PostgreSQL running there, on that port?)"
    return text


def connect_pg(url: str) -> PgConnection:
    """A connection to the PostgreSQL database at `url`; a one-line StoreError if there is none."""
    try:
        import psycopg  # noqa: F401
    except ImportError as e:
        raise StoreError(f"database {redact(url)}: PostgreSQL needs the psycopg package "
                         f"(pip install 'psycopg[binary]')") from e
    return PgConnection(url)
