"""The desk's defences that are not Flask-WTF's: login back-off, the session cookie, headers."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from flask import Flask, Response, abort, current_app, has_request_context, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.routing import IntegerConverter
from werkzeug.wrappers import Response as BaseResponse

from ..types import LoginCounter

# No inline script or style anywhere: the desk's own JS and CSS are files under /static/.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
       "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")

HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    # same-origin, not no-referrer: Flask-WTF checks the Referer of POSTs made over HTTPS.
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def add_security_headers(response: Response) -> Response:
    """Set the security headers on every response (unless a view chose its own)."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response


class RowIdConverter(IntegerConverter):
    """`<int:…>` in the desk's URLs: a row id, so at most what SQLite can hold.

    A longer number would reach SQLite as an overflow (a 500), and one of thousands of digits
    would fail Python's int() itself; either is simply a page that does not exist (404).
    """

    regex = r"\d{1,19}"

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(map, *args, **kwargs)


def check_referrer() -> None:
    """Before Flask-WTF's same-origin check of HTTPS POSTs: a Referer (or Host) that is not a
    URL is a bad request (400), where the check itself would fail on it (500)."""
    if request.method in ("GET", "HEAD", "OPTIONS", "TRACE") or not request.is_secure:
        return
    for url in (request.referrer, f"https://{request.host}/"):
        if not url:
            continue
        try:
            parts = urlsplit(url)
            _ = parts.hostname, parts.port
        except ValueError:
            abort(400, "The form did not come from this desk (its Referer is not a valid URL).")


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, marked Secure whenever the request itself came over HTTPS.

    A fixed SESSION_COOKIE_SECURE=True would break logging in over plain HTTP on 127.0.0.1;
    False would leak the cookie on an HTTPS install that is also reachable over HTTP.
    """

    def get_cookie_secure(self, app: Flask) -> bool:
        """Secure when configured so, or when this request arrived over HTTPS."""
        if app.config.get("SESSION_COOKIE_SECURE"):
            return True
        return has_request_context() and request.is_secure


def client_network(address: str | None) -> str:
    """What limits count a client by: its IPv4 address, or its IPv6 /64 (one subscriber's
    network; rotating through its addresses costs nothing)."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return address or "?"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


@dataclass(frozen=True)
class Rate:
    """A token bucket: `burst` attempts at once, then one every `every` seconds."""

    burst: int
    every: float


@dataclass(frozen=True)
class Attempt:
    """A login attempt, counted before its password is checked."""

    backoff: tuple[str, ...]  # the key of its own back-off
    buckets: tuple[tuple[str, ...], ...]  # the shared limits it took from


@dataclass(frozen=True)
class Refused:
    """A login attempt refused before its password was checked."""

    wait: float  # seconds
    limit: str  # "back-off" (this client's own), or a shared one: "address", "name", "all"

    @property
    def shared(self) -> bool:
        """Refused by a limit shared with others, not by this client's own back-off."""
        return self.limit != "back-off"


class LoginCounters(Protocol):
    """Where the throttle keeps its numbers: the database's `login_limits`, so every desk
    process on it counts the same attempts (see Curator.login_limits)."""

    def change(self, keys: Sequence[str], change: Callable[
            [dict[str, LoginCounter]], tuple[Any, dict[str, LoginCounter | None]]]) -> Any: ...

    def forget(self, before: float, keep: int) -> int: ...


Key = tuple[str, ...]


def _stored(key: Key) -> str:
    return json.dumps(key, ensure_ascii=False)


class LoginThrottle:
    """Limits on password checks: guessing stays slow, and nobody can lock an editor out.

    Every attempt is counted before its password is checked (as a failure, until it succeeds),
    so concurrent guesses at one name wait for each other's outcome rather than all being
    checked. The limits:

    - a back-off per name and client address: 1 s, 2 s, 4 s … 15 min after each failure;
    - per client address, across names: a burst of 20 attempts, then one every 30 s;
    - per name, across addresses: a burst of 20, then one a minute;
    - everyone together: a burst of 60, then one a second.

    A browser that has signed in as the editor before (it holds a signed device cookie, see
    `known_device`) is held only to its own back-off: the shared limits, which anyone can use
    up, never keep an editor out of a browser they already use. Password hashing, slow and
    memory-hungry on purpose, runs a few at a time whatever the number of server threads.
    The counters live in the database (`counters`), so every desk process on it shares them,
    and a restart forgets nothing; the clock is the wall clock, which those processes share.
    """

    def __init__(self, counters: LoginCounters, clock: Callable[[], float] = time.time, *,
                 base: float = 1.0, cap: float = 900.0, max_keys: int = 10_000,
                 hashing: int = 2, checking: float = 60.0) -> None:
        self.counters = counters
        self.clock = clock
        self.base = base
        self.cap = cap
        self.max_keys = max_keys
        #: An attempt still "being checked" after this many seconds died with its process.
        self.checking = checking
        self.rates = {"address": Rate(burst=20, every=30.0), "name": Rate(burst=20, every=60.0),
                      "all": Rate(burst=60, every=1.0)}
        self._begun = 0
        # Known browsers have slots of their own: a flood of strangers cannot queue them out.
        self._hashing = {False: threading.BoundedSemaphore(hashing),
                         True: threading.BoundedSemaphore(hashing)}

    def _keys(self, name: str, address: str | None, device: str | None
              ) -> tuple[Key, tuple[Key, ...]]:
        who = name.strip().casefold()
        if len(who) > 200:  # no editor has such a name; keep the key small all the same
            who = "sha256:" + hashlib.sha256(who.encode("utf-8", "replace")).hexdigest()
        if device:
            return ("device", device), ()
        where = client_network(address)
        return ("name+address", who, where), (("address", where), ("name", who), ("all",))

    def _tokens(self, key: Key, found: LoginCounter | None, now: float) -> float:
        rate = self.rates[key[0]]
        tokens, at = (found.n, found.at or now) if found else (float(rate.burst), now)
        return min(float(rate.burst), tokens + max(0.0, now - at) / rate.every)

    def _delay(self, count: int) -> float:
        return min(self.cap, self.base * 2.0 ** min(count - 1, 30))

    def begin(self, name: str, address: str | None, device: str | None = None
              ) -> Attempt | Refused:
        """Count an attempt at `name` before checking it, or refuse it: how long to wait."""
        backoff, buckets = self._keys(name, address, device)
        now = self.clock()

        def change(found: dict[str, LoginCounter]
                   ) -> tuple[Attempt | Refused, dict[str, LoginCounter | None]]:
            mine = found.get(_stored(backoff))
            if mine is not None and mine.since is not None and now - mine.since < self.checking:
                return Refused(self.base, "back-off"), {}  # its outcome comes first
            if mine is not None and mine.at is not None and mine.at > now:
                return Refused(mine.at - now, "back-off"), {}
            levels = {key: self._tokens(key, found.get(_stored(key)), now) for key in buckets}
            waits = [Refused((1.0 - tokens) * self.rates[key[0]].every, key[0])
                     for key, tokens in levels.items() if tokens < 1.0]
            if waits:
                return max(waits, key=lambda r: r.wait), {}
            count = int(mine.n) if mine is not None else 0
            changed: dict[str, LoginCounter | None] = {
                _stored(backoff): LoginCounter(count + 1, mine.at if mine else None, now)}
            for key, tokens in levels.items():
                changed[_stored(key)] = LoginCounter(tokens - 1.0, now)
            return Attempt(backoff, buckets), changed

        result: Attempt | Refused = self.counters.change(
            [_stored(k) for k in (backoff, *buckets)], change)
        if isinstance(result, Attempt):
            self._begun += 1
            if self._begun % max(1, self.max_keys // 10) == 0:
                self._forget(now)
        return result

    def failed(self, attempt: Attempt) -> float:
        """The attempt's password was wrong (or could not be checked): the seconds before
        this client may try again, counted from now."""
        key = _stored(attempt.backoff)

        def change(found: dict[str, LoginCounter]
                   ) -> tuple[float, dict[str, LoginCounter | None]]:
            mine = found.get(key)
            count = int(mine.n) if mine is not None else 1
            delay = self._delay(count)
            return delay, {key: LoginCounter(count, self.clock() + delay)}

        delay: float = self.counters.change([key], change)
        return delay

    def succeeded(self, attempt: Attempt) -> None:
        """The attempt's password was right: forget the client's failures, give back its turn."""
        now = self.clock()

        def change(found: dict[str, LoginCounter]) -> tuple[None, dict[str, LoginCounter | None]]:
            changed: dict[str, LoginCounter | None] = {_stored(attempt.backoff): None}
            for key in attempt.buckets:
                rate = self.rates[key[0]]
                tokens = self._tokens(key, found.get(_stored(key)), now)
                changed[_stored(key)] = LoginCounter(min(float(rate.burst), tokens + 1.0), now)
            return None, changed

        self.counters.change([_stored(k) for k in (attempt.backoff, *attempt.buckets)], change)

    @contextmanager
    def hashing(self, known: bool, timeout: float = 1.0) -> Iterator[bool]:
        """A slot to check a password in (False: all taken for `timeout` seconds)."""
        slots = self._hashing[known]
        got = slots.acquire(timeout=timeout)
        try:
            yield got
        finally:
            if got:
                slots.release()

    def _forget(self, now: float) -> None:
        # A flood of names and addresses must not grow the table without bound: drop what is
        # untouched for longer than any limit remembers (a back-off over for `cap`, a bucket
        # full again), then, if still too many, the least recent.
        horizon = max([self.cap] + [r.burst * r.every for r in self.rates.values()])
        self.counters.forget(now - horizon, self.max_keys)


DEVICE_COOKIE = "curator_device"
DEVICE_DAYS = 365


def _devices() -> Any:
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(str(current_app.secret_key), salt="curator-device")


def known_device(name: str) -> str | None:
    """This browser's device id when it has signed in as `name` before, else None."""
    from itsdangerous import BadData

    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw:
        return None
    try:
        data = _devices().loads(raw, max_age=DEVICE_DAYS * 86400)
    except BadData:
        return None
    if not isinstance(data, dict) or data.get("name") != name.strip().casefold():
        return None
    device = data.get("device")
    return device if isinstance(device, str) and device else None


def remember_device(response: BaseResponse, name: str, device: str | None) -> None:
    """After a sign-in: mark this browser as one `name` uses (the shared limits spare it)."""
    value = _devices().dumps({"name": name.strip().casefold(),
                              "device": device or secrets.token_urlsafe(16)})
    response.set_cookie(DEVICE_COOKIE, value, max_age=DEVICE_DAYS * 86400, path="/login",
                        secure=request.is_secure, httponly=True, samesite="Strict")


def safe_next(target: str | None, default: str) -> str:
    """`target` if it is a path on this site, else `default` (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target
