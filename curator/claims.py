"""The poll's claims on sources: who a poller is, how long its claims last, and taking them.

Several pollers (processes, machines) may share one database. Before fetching a source a
poller claims it, the write that stores its outcome ends the claim, and claims lapse `lease`
seconds after they were last renewed, so a poller killed mid-round holds nothing for long.

Leases are reckoned by the database's clock on PostgreSQL (the store writes and compares them
with the server's time), so pollers whose own clocks disagree still agree on when a claim ends;
on SQLite, whose pollers all run on one machine, by that machine's clock (`clock.now`).

A claim names its poller: `HOST:BOOT:PID:ROUND`. HOST is the host name, or CURATOR_HOST when set
(containers that share a host name); BOOT is this boot of the kernel and its process namespace,
so two containers on one kernel never take each other's process ids for their own. Only a
poller of the same HOST:BOOT may free a claim whose process has ended before its lease is up.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING

from .exceptions import CuratorError

if TYPE_CHECKING:
    from .store import Store
    from .types import Source

log = logging.getLogger("curator")

LEASE_MIN = 60.0  # seconds: the shortest claim, whatever poll.timeout says
#: Names this machine in claims instead of its host name.
HOST_ENV = "CURATOR_HOST"


def lease_seconds(timeout: float) -> float:
    """How long a claim lasts unless renewed: three fetch deadlines (`poll.timeout`), at least
    a minute. A live poller renews its claims every third of that, so a source waiting its
    turn behind others of the same host keeps its claim; a killed one's lapse within it."""
    return max(LEASE_MIN, 3.0 * timeout)


@lru_cache(maxsize=1)
def _boot() -> str:
    """This boot of the kernel, and this process namespace in it (a container has its own)."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            boot = f.read().strip()[:8]
    except OSError:
        boot = "-"
    try:
        space = os.readlink("/proc/self/ns/pid")  # "pid:[4026531836]"
        boot += "." + "".join(ch for ch in space if ch.isdigit())
    except OSError:
        pass
    return boot


def this_machine() -> str:
    """This machine as claims name it: its host name (or CURATOR_HOST) and this boot of it."""
    host = os.environ.get(HOST_ENV, "").strip()
    if not host:
        import socket

        host = socket.gethostname()
    return f"{host.replace(':', '_')}:{_boot()}"


def worker_name() -> str:
    """Who holds a claim: this machine (and boot), this process, and one poll round of it."""
    import secrets

    return f"{this_machine()}:{os.getpid()}:{secrets.token_hex(3)}"


def _gone(pid: int) -> bool:
    """Whether process `pid` of this machine has ended (a zombie has)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rpartition(")")[2].split()[0] == "Z"
    except (OSError, IndexError):
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def dead_claimants(claimants: Sequence[str]) -> list[str]:
    """Of the pollers holding claims, those that ran on this machine, this boot, and have
    ended: their claims can go at once (another machine's wait for their lease)."""
    here = this_machine() + ":"
    dead = []
    for name in claimants:
        if not name.startswith(here):
            continue  # another machine's: its process ids mean nothing here
        pid = name[len(here):].partition(":")[0]
        if pid.isdigit() and int(pid) != os.getpid() and _gone(int(pid)):
            dead.append(name)
    return dead


class Claims:
    """One poll round's claims on the sources it means to poll, taken a chunk at a time.

    A poller claims a chunk in a short transaction of its own (on PostgreSQL with SKIP LOCKED,
    so no poller waits for another), fetches outside any transaction, and the write that stores
    each outcome ends its claim. A source already claimed, or polled by another since this
    round read it (no longer due), is passed over.
    """

    def __init__(self, store: Store, now: Callable[[], datetime], ids: Sequence[int], *,
                 schedule: bool, lease: float, chunk: int) -> None:
        self.store = store
        self.now = now
        self.ids = ids
        self.schedule = schedule
        self.lease = lease
        self.chunk = max(1, min(chunk, 500))
        self.worker = worker_name()
        self._at = 0

    def take_over(self) -> None:
        """Give back the claims of pollers of this machine that have ended (a kill -9, a
        crash): their sources need not wait for the lease."""
        try:
            for name in dead_claimants(self.store.claimants()):
                n = self.store.release_claims(name)
                log.warning("poll: %d sources were claimed by %s, which has ended; "
                            "they are free again", n, name)
        except CuratorError as e:
            log.warning("poll: could not look for the claims of ended pollers: %s", e)

    def next(self) -> tuple[list[Source], int] | None:
        """Claim the next chunk: the sources now this round's, and how many were passed over;
        None when every id was offered."""
        if self._at >= len(self.ids):
            return None
        ids = self.ids[self._at:self._at + self.chunk]
        self._at += len(ids)
        claimed = self.store.claim_sources(ids, worker=self.worker, now=self.now(),
                                           lease=self.lease, schedule=self.schedule)
        return claimed, len(ids) - len(claimed)

    async def keep_alive(self, call: Callable[[Callable[[], None]], Awaitable[None]] | None = None
                         ) -> None:
        """Renew this round's claims every third of the lease while it runs (through `call`,
        which runs what uses the store where the poll's writes run, when given)."""
        import asyncio

        def renew() -> None:
            self.store.renew_claims(self.worker, now=self.now(), lease=self.lease)

        while True:
            await asyncio.sleep(self.lease / 3)
            try:
                if call is None:
                    renew()
                else:
                    await call(renew)
            except CuratorError as e:  # the write that stores each outcome still ends its claim
                log.warning("poll: could not renew the claims of %s: %s", self.worker, e)

    def release(self) -> None:
        """Give back the claims still held (sources a stop or a failed write left unpolled)."""
        try:
            self.store.release_claims(self.worker)
        except CuratorError as e:
            log.warning("poll: could not give back the claims of %s (they lapse within %gs): "
                        "%s", self.worker, self.lease, e)
