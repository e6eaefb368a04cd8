"""Signing in and out: the login form, its limits, and the check before every request.

Its routes are on the desk's one blueprint (`views.bp`), so their endpoints stay `desk.login`
and `desk.logout`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
from collections.abc import Callable, Sequence
from typing import Any

from flask import (
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.wrappers import Response as BaseResponse

from .security import Refused, known_device, remember_device, safe_next
from .views import OPEN_ENDPOINTS, bp, curator, desk, editor

log = logging.getLogger("curator.web")


def _fingerprint(stamp: str) -> str:
    # Ties a session to the editor's session stamp (password hash and session generation):
    # a new password, signing out or removing the editor ends every copy of the cookie,
    # though the cookie itself is stateless.
    key = str(current_app.secret_key).encode()
    return hmac.new(key, stamp.encode(), hashlib.sha256).hexdigest()[:32]


def require_login() -> BaseResponse | None:
    """Before every request: let open endpoints through, else require a valid session."""
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    name = session.get("editor")
    if isinstance(name, str):
        stamp = curator().session_stamp(name)
        if stamp is not None and hmac.compare_digest(str(session.get("pw", "")),
                                                     _fingerprint(stamp)):
            g.editor = name
            return None
        session.clear()
    if request.method in ("GET", "HEAD"):
        target = request.full_path if request.query_string else request.path
        return redirect(url_for("desk.login", next=target))
    abort(401)


class DeskCounters:
    """The login throttle's counters: the database's, through this request's Curator, so that
    every `curator web` process on the database counts the same attempts."""

    def change(self, keys: Sequence[str], change: Callable[..., tuple[Any, Any]]) -> Any:
        """See store/logins.py."""
        return curator().login_limits().change(keys, change)

    def forget(self, before: float, keep: int) -> int:
        """See store/logins.py."""
        return curator().login_limits().forget(before, keep)


REFUSALS = {"back-off": "back-off after a failure",
            "address": "too many attempts from this address",
            "name": "too many attempts at this name",
            "all": "too many attempts in all"}


def _login_refused(next_url: str, name: str, status: int, seconds: int, error: str) -> Any:
    body = render_template("login.html", next=next_url, username=name, error=error)
    return Response(body, status, {"Retry-After": str(seconds)})


def _seconds(wait: float) -> str:
    seconds = max(1, math.ceil(wait))
    if seconds < 120:
        return f"{seconds} second{'' if seconds == 1 else 's'}"
    return f"{math.ceil(seconds / 60)} minutes"


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """The login form; on success, to the page asked for."""
    next_url = safe_next(request.values.get("next"), url_for("desk.queue"))
    if request.method == "GET":
        if session.get("editor"):
            return redirect(next_url)
        return render_template("login.html", next=next_url, username="")
    name = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    address = request.remote_addr
    throttle = desk().throttle
    device = known_device(name)
    with throttle.hashing(known=device is not None) as slot:
        if not slot:
            log.warning("login for %r from %s refused: every password check slot is busy",
                        name, address)
            return _login_refused(next_url, name, 503, 1, "The desk is busy checking other "
                                  "sign-ins. Try again in a moment.")
        attempt = throttle.begin(name, address, device)
        if isinstance(attempt, Refused):
            seconds = max(1, math.ceil(attempt.wait))
            log.warning("login for %r from %s refused for %d s: %s", name, address, seconds,
                        REFUSALS[attempt.limit])
            error = f"Too many failed attempts. Try again in {_seconds(attempt.wait)}."
            if attempt.shared:
                error = (f"Too many sign-in attempts. Try again in {_seconds(attempt.wait)}, "
                         "or from a browser you have signed in with before.")
            return _login_refused(next_url, name, 429, seconds, error)
        c = curator()
        try:
            # As slow for unknown names as for known ones: names cannot be probed by timing.
            ok = bool(name) and len(name) <= 200 and c.check_password(name, password)
        except BaseException:
            throttle.failed(attempt)  # not left "being checked" for ever
            raise
        if not ok:
            delay = throttle.failed(attempt)
            log.warning("failed login for %r from %s; next try allowed in %.0f s", name,
                        address, delay)
            error = "That name and password do not match an editor."
            return render_template("login.html", next=next_url, username=name, error=error), 200
        throttle.succeeded(attempt)
    stamp = c.session_stamp(name) or ""
    session.clear()  # a fresh session (and CSRF token) for the logged-in editor
    session["editor"] = name
    session["pw"] = _fingerprint(stamp)
    session.permanent = True
    log.info("%s logged in from %s", name, address)
    response = redirect(next_url)
    remember_device(response, name, device)
    return response


@bp.post("/logout")
def logout() -> Any:
    """End the session, and every copy of it: the editor's sessions everywhere end."""
    curator().end_sessions(editor())
    log.info("%s logged out", editor())
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("desk.login"))
