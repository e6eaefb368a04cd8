"""The desk's sign-in counters, in the database so that every `curator web` process (on this
machine or another) counts the same attempts. The rules are the desk's (web/security.py); this
module only keeps the numbers, changing them one attempt at a time."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from .base import Base, converts_errors

if TYPE_CHECKING:
    from ..rows import LoginCounter

T = TypeVar("T")

#: A change: the counters found for the keys asked (missing ones absent) -> a result, and the
#: counters to write (None: delete).
Change = Callable[[dict[str, "LoginCounter"]], tuple[T, dict[str, "LoginCounter | None"]]]


class LoginLimits:
    """The `login_limits` table, as the desk's LoginThrottle uses it."""

    def __init__(self, store: Base) -> None:
        self.store = store

    def change(self, keys: Sequence[str], change: Change[T]) -> T:
        """Read the counters of `keys`, let `change` decide, write what it changed: all in one
        transaction, and one such transaction at a time across every desk process."""
        return _change(self.store, keys, change)

    def forget(self, before: float, keep: int) -> int:
        """Drop counters untouched since `before` (back-offs long over, buckets full again),
        then the oldest beyond `keep`; how many went."""
        return _forget(self.store, before, keep)


@converts_errors
def _change(self: Base, keys: Sequence[str], change: Change[T]) -> T:
    from ..rows import LoginCounter  # the desk's: no command needs it

    with self.write():
        self.serialize("login_limits")
        marks = ",".join("?" * len(keys))
        found = {key: LoginCounter(float(n), at, since) for key, n, at, since in self.conn.execute(
            f"SELECT key, n, at, since FROM login_limits WHERE key IN ({marks})", list(keys))}
        result, changed = change(found)
        gone = [(k,) for k, c in changed.items() if c is None]
        if gone:
            self.conn.executemany("DELETE FROM login_limits WHERE key = ?", gone)
        kept = [(k, c.n, c.at, c.since) for k, c in changed.items() if c is not None]
        if kept:
            self.conn.executemany(
                "INSERT INTO login_limits (key, n, at, since) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET n = excluded.n, at = excluded.at,"
                " since = excluded.since", kept)
        return result


@converts_errors
def _forget(self: Base, before: float, keep: int) -> int:
    with self.write():
        self.serialize("login_limits")
        cur = self.conn.execute(
            "DELETE FROM login_limits WHERE (at IS NULL OR at < ?)"
            " AND (since IS NULL OR since < ?)", (before, before))
        gone = max(0, int(cur.rowcount))
        left = int(self.conn.execute("SELECT count(*) FROM login_limits").fetchone()[0])
        if left > keep:
            cur = self.conn.execute(
                "DELETE FROM login_limits WHERE key IN (SELECT key FROM login_limits"
                " ORDER BY coalesce(since, at) LIMIT ?)", (left - keep,))
            gone += max(0, int(cur.rowcount))
        return gone
