"""The desk's defences that are not Flask-WTF's: login back-off, the session cookie, headers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, abort, has_request_context, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.routing import IntegerConverter

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


class LoginThrottle:
    """Back-off after failed logins, per (username, client address): 1 s, 2 s, 4 s … 15 min.

    Kept in memory: a restart forgets it, which costs an attacker a restart they cannot cause.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, *, base: float = 1.0,
                 cap: float = 900.0, max_keys: int = 10_000) -> None:
        self.clock = clock
        self.base = base
        self.cap = cap
        self.max_keys = max_keys
        self._lock = threading.Lock()
        self._failures: dict[tuple[str, str], tuple[int, float]] = {}  # key -> (count, until)

    @staticmethod
    def _key(name: str, address: str | None) -> tuple[str, str]:
        return (name.strip().casefold(), address or "?")

    def wait(self, name: str, address: str | None) -> float:
        """Seconds before this name may try again from this address (0: now)."""
        with self._lock:
            entry = self._failures.get(self._key(name, address))
        if entry is None:
            return 0.0
        return max(0.0, float(entry[1] - self.clock()))

    def failed(self, name: str, address: str | None) -> float:
        """Record a failed attempt; returns the delay before the next one is allowed."""
        key = self._key(name, address)
        now = self.clock()
        with self._lock:
            count = self._failures.get(key, (0, now))[0] + 1
            delay = min(self.cap, self.base * 2.0 ** min(count - 1, 30))
            self._failures[key] = (count, now + delay)
            if len(self._failures) > self.max_keys:
                self._forget(now)
        return delay

    def succeeded(self, name: str, address: str | None) -> None:
        """Forget the failures of this name from this address."""
        with self._lock:
            self._failures.pop(self._key(name, address), None)

    def _forget(self, now: float) -> None:
        # A flood of names must not grow memory without bound: drop what has long expired,
        # then, if still too many, the entries whose back-off ends soonest.
        expired = [k for k, (_, until) in self._failures.items() if until + self.cap < now]
        for k in expired:
            del self._failures[k]
        if len(self._failures) > self.max_keys:
            keep = sorted(self._failures.items(), key=lambda kv: kv[1][1])[-self.max_keys // 2:]
            self._failures = dict(keep)


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
