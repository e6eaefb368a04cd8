"""Editor accounts: names and password hashes (the rules are curator.passwords')."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from ..clock import iso, read_iso
from ..exceptions import NotFound, UsageError
from .backend import integrity_errors
from .base import Base, converts_errors

if TYPE_CHECKING:
    from ..rows import Editor


def _time(stamp: str) -> datetime:
    at = read_iso(stamp)
    assert at is not None  # the column is NOT NULL
    return at


class EditorStore(Base):
    """The `editors` table."""

    @converts_errors
    def add_editor(self, name: str, password_hash: str, now: datetime) -> None:
        """Create an editor account."""
        with self.write():
            try:
                self.conn.execute(
                    "INSERT INTO editors (name, password_hash, created) VALUES (?, ?, ?)",
                    (name, password_hash, iso(now)))
            except integrity_errors() as e:
                raise UsageError(f"editor {name!r} exists already") from e

    @converts_errors
    def set_editor_password(self, name: str, password_hash: str) -> None:
        """Change an editor's password."""
        with self.write():
            if self.conn.execute(
                    "UPDATE editors SET password_hash = ?,"
                    " session_generation = session_generation + 1 WHERE name = ?",
                    (password_hash, name)).rowcount == 0:
                raise NotFound("editor", name)

    @converts_errors
    def end_editor_sessions(self, name: str) -> None:
        """Move an editor to a new session generation: every session begun before ends."""
        with self.write():
            if self.conn.execute(
                    "UPDATE editors SET session_generation = session_generation + 1"
                    " WHERE name = ?", (name,)).rowcount == 0:
                raise NotFound("editor", name)

    @converts_errors
    def editor_session(self, name: str) -> tuple[str, int] | None:
        """An editor's password hash and session generation, or None."""
        row = self._one("SELECT password_hash, session_generation FROM editors WHERE name = ?",
                        (name,))
        return None if row is None else (str(row["password_hash"]), int(row["session_generation"]))

    @converts_errors
    def editors(self) -> list[Editor]:
        """Every editor, without password hashes."""
        from ..rows import Editor

        return [Editor(name=name, created=_time(created)) for name, created in
                self.conn.execute("SELECT name, created FROM editors ORDER BY name")]

    @converts_errors
    def editor_hash(self, name: str) -> str | None:
        """The stored password hash of an editor, or None."""
        row = self._one("SELECT password_hash FROM editors WHERE name = ?", (name,))
        return None if row is None else str(row["password_hash"])

    @converts_errors
    def remove_editor(self, name: str) -> None:
        """Delete an editor account; their past actions stay in the review log."""
        with self.write():
            if self.conn.execute("DELETE FROM editors WHERE name = ?", (name,)).rowcount == 0:
                raise NotFound("editor", name)
