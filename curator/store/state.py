"""Small named values (the publish state, the desk's signing key) and the change marker."""

from __future__ import annotations

from collections.abc import Sequence

from .base import Base, converts_errors


class StateStore(Base):
    """The `state` table: a key-value store for what curator keeps between runs."""

    @converts_errors
    def get_state(self, key: str) -> str | None:
        """A small named value (publish marker and the like)."""
        row = self._one("SELECT value FROM state WHERE key = ?", (key,))
        return None if row is None else row["value"]

    @converts_errors
    def get_states(self, keys: Sequence[str]) -> dict[str, str | None]:
        """Several small named values at once (None for those never set)."""
        marks = ",".join("?" * len(keys))
        found = dict(self.conn.execute(f"SELECT key, value FROM state WHERE key IN ({marks})",
                                       list(keys)).fetchall())
        return {k: found.get(k) for k in keys}

    @converts_errors
    def set_state(self, key: str, value: str | None, *, keep: bool = False) -> str | None:
        """Set a small named value (`keep`: unless one is there already); the value it has now.

        With `keep`, processes starting together (two desks making the signing key) all end up
        with the first one's value.
        """
        if not keep:
            self.set_states({key: value})
            return value
        with self.write():
            self.conn.execute("INSERT INTO state (key, value) VALUES (?, ?)"
                              " ON CONFLICT (key) DO NOTHING", (key, value))
            return self.get_state(key)

    @converts_errors
    def set_states(self, values: dict[str, str | None]) -> None:
        """Set several small named values in one transaction."""
        with self.write():
            self.conn.executemany(
                "INSERT INTO state (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value", list(values.items()))
