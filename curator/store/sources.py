"""Sources and their health: following feeds.yaml, finding a source, recording each poll."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..clock import iso, read_iso
from ..exceptions import NotFound, UsageError
from .backend import insert_rows
from .base import converts_errors
from .logs import LogStore

if TYPE_CHECKING:
    from ..polltypes import PollOutcome
    from ..rows import Enabled
    from ..sourcerow import Source


def _poll_columns(outcome: PollOutcome) -> tuple[list[str], list[Any]]:
    """The SET clauses and values that record a poll's outcome on its source row."""
    from ..polltypes import Failed, Refreshed  # only a poll records one: loaded then

    cols: dict[str, Any] = {"status": outcome.status, "last_polled": iso(outcome.polled_at)}
    if isinstance(outcome, Refreshed):
        cols.update(last_ok=iso(outcome.polled_at), failures=0, error=outcome.warning,
                    failing_since=None, retry_after=None, max_age=outcome.max_age)
        if outcome.validators is not None:
            cols.update(etag=outcome.validators[0], last_modified=outcome.validators[1])
    elif isinstance(outcome, Failed):
        cols.update(failures=outcome.failures, error=outcome.message,
                    failing_since=iso(outcome.failing_since))
        if outcome.retry_after is not None:
            cols["retry_after"] = iso(outcome.retry_after)
        if outcome.disabled is not None:
            cols["disabled"] = outcome.disabled
    if outcome.moved_to:
        cols["url_in_use"] = outcome.moved_to
    cols["next_due"] = iso(outcome.next_due)
    sets = [f"{k} = ?" for k in cols]
    values = list(cols.values())
    if isinstance(outcome, Refreshed) and outcome.body is not None:
        # A feed that stops saying its title or site keeps the ones it said before.
        feed = outcome.body.feed
        sets += ["title = coalesce(?, title)", "link = coalesce(?, link)", "interval_hint = ?",
                 "body_hash = ?"]
        values += [feed.title or None, feed.link or None, feed.interval_hint,
                   outcome.body.body_hash]
    return sets, values


_SOURCE_TIMES = ("last_polled", "last_ok", "failing_since", "next_due", "retry_after", "added")


@functools.cache
def _source_type() -> tuple[type[Source], frozenset[str], Callable[[dict[str, Any]], Source]]:
    """Source, loaded by the first command that reads sources (not by every one), its fields
    that are columns (all but `stale`), and what makes one from a row that has them all.

    That is one line per field, made here from Source's fields: each sets the field's slot
    from its column, read as `to_source` reads it (or to the field's default, for `stale`).
    The frozen dataclass's __init__ sets each through object.__setattr__, at twice the cost,
    and a poll builds each source twice (2,000 in a round of 1,000 feeds). Source has no
    __post_init__."""
    from ..sourcerow import Source

    names = {f.name: f for f in fields(Source)}
    env: dict[str, Any] = {"new": object.__new__, "Source": Source, "read_iso": read_iso,
                           "bool": bool, "int": int}
    lines = ["def build(row):", "    made = new(Source)"]
    for name, f in names.items():
        env[f"set_{name}"] = getattr(Source, name).__set__
        if name == "stale":
            env[f"default_{name}"] = f.default
            value = f"default_{name}"
        elif name in _SOURCE_TIMES:
            value = f"read_iso(row[{name!r}])"
        elif name == "in_config":
            value = f"bool(row[{name!r}])"
        elif name == "failures":
            value = f"int(row[{name!r}] or 0)"
        else:
            value = f"row[{name!r}]"
        lines.append(f"    set_{name}(made, {value})")
    lines.append("    return made")
    exec("\n".join(lines), env)
    return Source, frozenset(names) - {"stale"}, env["build"]


def to_source(row: dict[str, Any]) -> Source:
    """A sources row as the typed Source (the one place rows become Sources)."""
    source, columns, build = _source_type()
    if row.keys() >= columns:  # every column (a `SELECT *`)
        return build(row)
    values = {k: v for k, v in row.items() if k in columns}
    for k in _SOURCE_TIMES:
        if k in values:
            values[k] = read_iso(values[k])
    values["in_config"] = bool(values.get("in_config", 1))
    values["failures"] = int(values.get("failures") or 0)
    return source(**values)  # a partial row: the dataclass's defaults, or its TypeError


class SourceStore(LogStore):
    """The `sources` table."""

    @converts_errors
    def sync_sources(self, configured: Iterable[tuple[str, str | None, int | None]],
                     now: datetime) -> None:
        """Make the sources table follow feeds.yaml; sources removed from it keep their entries."""
        rows = list(configured)
        stamp = iso(now)
        with self.write():
            conn = self.conn
            # Only the rows that change are written: every poll syncs, and a row written here
            # is locked until the commit, so pollers sharing a database would skip it.
            have = {url: (name, interval, in_config) for url, name, interval, in_config
                    in conn.execute("SELECT url, name, interval, in_config FROM sources")}
            wanted = {url for url, _, _ in rows}
            gone = [(url,) for url, (_, _, in_config) in have.items()
                    if in_config == 1 and url not in wanted]
            conn.executemany("UPDATE sources SET in_config = 0 WHERE url = ?", gone)
            # A URL listed twice takes its first place (its id) and its last name and interval.
            latest: dict[str, tuple[str | None, int | None]] = {}
            for url, name, interval in rows:
                latest[url] = (name, interval)
            # In as few statements as the backend likes (on PostgreSQL, a first `poll` of
            # 1,000 new sources waited for the server 1,000 times here, before fetching any).
            insert_rows(conn, "INSERT INTO sources (url, url_in_use, name, interval, in_config,"
                        " next_due, added)",
                        [(url, url, name, interval, 1, stamp, stamp)
                         for url, (name, interval) in latest.items()
                         if have.get(url) != (name, interval, 1)],
                        " ON CONFLICT (url) DO UPDATE SET name = excluded.name,"
                        " interval = excluded.interval, in_config = 1")

    @converts_errors
    def sources(self, *, in_config: bool = True) -> list[Source]:
        """Every source (those in feeds.yaml unless in_config=False), in feeds.yaml order of adding."""
        where = "WHERE in_config = 1" if in_config else ""
        return [to_source(r) for r in self._q(f"SELECT * FROM sources {where} ORDER BY id")]

    @converts_errors
    def source(self, source_id: int) -> Source:
        """One source by id."""
        row = self._one("SELECT * FROM sources WHERE id = ?", (source_id,))
        if row is None:
            raise NotFound("source", source_id)
        return to_source(row)

    @converts_errors
    def find_source(self, url_or_name: str) -> Source:
        """A configured source by its feeds.yaml URL, its URL in use, or its name (any case)."""
        rows = self._q(
            "SELECT * FROM sources WHERE in_config = 1 AND (url = ? OR url_in_use = ? "
            "OR lower(name) = lower(?) OR (name IS NULL AND lower(title) = lower(?)))",
            (url_or_name, url_or_name, url_or_name, url_or_name))
        if not rows:
            raise NotFound("source", url_or_name)
        if len(rows) > 1:
            raise UsageError(f"{url_or_name!r} names {len(rows)} sources; use the URL")
        return to_source(rows[0])

    @converts_errors
    def source_id(self, url: str) -> int | None:
        """The id of the source with this feeds.yaml URL, in feeds.yaml or not; None if none."""
        row = self._one("SELECT id FROM sources WHERE url = ?", (url,))
        return int(row["id"]) if row else None

    @converts_errors
    def disable_source(self, source_id: int, reason: str, *, editor: str | None,
                       now: datetime) -> Source:
        """Stop polling a source until it is enabled again, and log who did it: together."""
        with self.write():
            self.conn.execute("UPDATE sources SET disabled = ? WHERE id = ?", (reason, source_id))
            self.log_activity("disable", editor=editor, now=now, source_id=source_id,
                              detail=reason)
            return self.source(source_id)

    @converts_errors
    def source_counts(self) -> dict[int, dict[str, int]]:
        """Per source id: entries stored, and the candidates among them."""
        out: dict[int, dict[str, int]] = {}
        for sid, n in self.conn.execute(
                "SELECT source_id, count(*) FROM entries GROUP BY source_id"):
            out[sid] = {"entries": n, "candidates": 0}
        for sid, n in self.conn.execute(
                "SELECT e.source_id, count(DISTINCT c.id) FROM candidates c"
                " JOIN entries e ON e.url = c.url GROUP BY e.source_id"):
            out.setdefault(sid, {"entries": 0, "candidates": 0})["candidates"] = n
        return out

    @converts_errors
    def update_source(self, source_id: int, **fields: Any) -> None:
        """Set a source's columns (its own transaction, unless inside one)."""
        if not fields:
            return
        cols = ", ".join(f"{k} = ?" for k in fields)
        with self.write():
            self.conn.execute(f"UPDATE sources SET {cols} WHERE id = ?",
                                 (*fields.values(), source_id))

    @converts_errors
    def record_poll(self, source_id: int, outcome: PollOutcome) -> None:
        """Record a poll's outcome on its source (its own transaction, unless inside one)."""
        self.record_polls([(source_id, outcome)])

    @converts_errors
    def record_polls(self, outcomes: Sequence[tuple[int, PollOutcome]]) -> None:
        """Record many sources' outcomes (a poll's 304s and failures): one statement for each
        set of columns they change, all or none of them (a savepoint inside a transaction)."""
        shapes: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
        for source_id, outcome in outcomes:
            columns, values = _poll_columns(outcome)
            shapes.setdefault(tuple(columns), []).append((*values, source_id))
        with self._isolated("record_polls"):
            for shape, rows in shapes.items():
                self.conn.executemany(f"UPDATE sources SET {', '.join(shape)} WHERE id = ?", rows)

    def _record_poll(self, source_id: int, outcome: PollOutcome) -> None:
        sets, values = _poll_columns(outcome)
        # The outcome's write also ends the poller's claim on the source (see claim_sources).
        if self.has_claims:
            sets.append("claimed_until = NULL")
        self.conn.execute(f"UPDATE sources SET {', '.join(sets)} WHERE id = ?",
                          (*values, source_id))

    # ------------------------------------------------------------------ claims

    @converts_errors
    def claim_sources(self, ids: Sequence[int], *, worker: str, now: datetime, lease: float,
                      schedule: bool) -> list[Source]:
        """Claim those of `ids` that are still free to poll, for `lease` seconds, for `worker`.

        Free: not disabled, outside a Retry-After, due (when `schedule`; both by `now`), and
        claimed by no poller or by one whose claim has lapsed. The lease is reckoned by the
        database's clock on PostgreSQL (pollers on other machines, whose clocks may be a few
        seconds off, agree on it), by `now` on SQLite. One short transaction (on PostgreSQL rows
        another poller's claim is taking are passed over, never waited for); the rows come back
        as they are now (another poller may have polled one since the caller read it), by id.
        """
        if not ids:
            return []
        if not self.has_claims:
            return [self.source(i) for i in ids]  # the caller checked they are due
        stamp = iso(now)
        until, until_param = self.dialect.lease_time(now, lease)
        at, at_param = self.dialect.lease_time(now)
        due = "" if not schedule else " AND (next_due IS NULL OR next_due <= ?)"
        marks = ",".join("?" * len(ids))
        params: list[Any] = [worker, until_param, *ids, stamp]
        if schedule:
            params.append(stamp)
        params.append(at_param)
        with self.write():
            rows = self._q(
                f"UPDATE sources SET claimed_by = ?, claimed_until = {until} WHERE id IN ("
                f"SELECT id FROM sources WHERE id IN ({marks}) AND disabled IS NULL"
                f" AND (retry_after IS NULL OR retry_after <= ?){due}"
                f" AND (claimed_until IS NULL OR claimed_until <= {at}){self.dialect.lock_rows})"
                " RETURNING *", params)
        return sorted((to_source(r) for r in rows), key=lambda s: s.id)

    @converts_errors
    def renew_claims(self, worker: str, *, now: datetime, lease: float) -> int:
        """Extend every claim `worker` still holds to `lease` seconds from now (the database's
        clock on PostgreSQL, `now` on SQLite); how many it holds."""
        if not self.has_claims:
            return 0
        until, param = self.dialect.lease_time(now, lease)
        with self.write():
            cur = self.conn.execute(
                f"UPDATE sources SET claimed_until = {until} WHERE claimed_by = ?"
                " AND claimed_until IS NOT NULL", (param, worker))
            return int(cur.rowcount)

    @converts_errors
    def claimants(self) -> list[str]:
        """The pollers holding claims now (lapsed ones included)."""
        if not self.has_claims:
            return []
        return [r[0] for r in self.conn.execute(
            "SELECT DISTINCT claimed_by FROM sources WHERE claimed_until IS NOT NULL")]

    @converts_errors
    def release_claims(self, worker: str | None = None) -> int:
        """End the claims `worker` holds (None: every poller's); how many there were."""
        where, params = ("claimed_by = ? AND ", (worker,)) if worker else ("", ())
        if not self.has_claims:
            return 0
        with self.write():
            cur = self.conn.execute(
                f"UPDATE sources SET claimed_until = NULL WHERE {where}claimed_until IS NOT NULL",
                params)
            return int(cur.rowcount)

    @converts_errors
    def enable_source(self, source_id: int, *, editor: str | None, now: datetime) -> Enabled:
        """Clear a source's disabled state and back-off, due now, and log who did it: together.

        When there was nothing to clear, nothing is changed or logged.
        """
        from ..rows import Enabled

        with self.write():
            # Read inside the transaction: the log says what this enable cleared, not what a
            # poll that finished a moment earlier had left.
            row = self.source(source_id)
            if row.disabled:
                cleared: str | None = "disabled"
            elif row.failures or (row.retry_after and row.retry_after > now):
                cleared = "back-off"
            else:
                return Enabled(source=row, cleared=None, cleared_failures=0)
            self.conn.execute(
                "UPDATE sources SET disabled = NULL, failures = 0, retry_after = NULL,"
                " failing_since = NULL, error = NULL, next_due = ? WHERE id = ?",
                (iso(now), source_id))
            self.log_activity("enable", editor=editor, now=now, source_id=source_id,
                              detail=row.disabled or row.error)
            return Enabled(source=self.source(source_id), cleared=cleared,
                           cleared_failures=row.failures)
