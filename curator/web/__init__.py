"""The editors' desk and the public feeds: the Flask app factory and a production server."""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, Response, g, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from ..config import Config, Follower
from ..core import Curator
from ..exceptions import CuratorError, NotFound, UsageError
from . import text, views
from .security import LoginThrottle, SessionInterface, add_security_headers

log = logging.getLogger("curator.web")

SECRET_KEY_STATE = "web_secret_key"
MAX_REQUEST_BYTES = 1024 * 1024  # a note is at most 100,000 characters; nothing else is big

__all__ = ["create_app", "make_server", "serve"]


def _secret_key(config: Config, now: Callable[[], datetime] | None) -> str:
    """The session-signing key, made once and kept in the database so restarts keep sessions."""
    c = Curator(config, now=now)
    try:
        c.sync_sources()  # so the queue's source filter lists feeds.yaml before the first poll
        key = c.get_state(SECRET_KEY_STATE)
        if not key:
            key = secrets.token_hex(32)
            c.set_state(SECRET_KEY_STATE, key)
        return key
    finally:
        c.close()


def create_app(config: Config, *, now: Callable[[], datetime] | None = None) -> Flask:
    """The desk as a Flask app, on the database and feeds that `config` names."""
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=_secret_key(config, now),
        SESSION_COOKIE_NAME="curator_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(days=7),
        # The token lives as long as the session: a tab left open over lunch still saves.
        WTF_CSRF_TIME_LIMIT=None,
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
    )
    app.session_interface = SessionInterface()
    app.extensions["curator_desk"] = views.Desk(
        follower=Follower(config), now=now, throttle=LoginThrottle(), etags={},
        etag_lock=threading.Lock())
    app.jinja_env.filters["when"] = text.when
    app.jinja_env.filters["http_url"] = text.http_url
    app.jinja_env.filters["iso"] = text.iso_time
    app.jinja_env.globals["ago"] = text.ago
    app.jinja_env.globals["here"] = views.here

    # Login is checked before CSRF, so an anonymous POST is a plain 401 either way.
    app.before_request(views.require_login)
    CSRFProtect(app)
    app.register_blueprint(views.bp)
    app.teardown_appcontext(views.close_curator)
    app.after_request(_after)

    @app.context_processor
    def _globals() -> dict[str, Any]:
        # feeds.yaml as this request saw it, or as it is now when the page opened no Curator
        # (the login page); either way a look at the file, not a second one (see views.Desk).
        c = g.get("curator")
        title = (c.config if c is not None else views.desk().config).output.title
        problem = views.desk().follower.problem if g.get("editor") else None
        return {"editor_name": g.get("editor"), "desk_title": title, "config_problem": problem}

    @app.errorhandler(CSRFError)
    def _csrf(e: CSRFError) -> Any:
        log.warning("refused %s %s: %s", request.method, request.path, e.description)
        return _error(400, "This form has expired or did not come from this desk. "
                           "Reload the page and try again.")

    @app.errorhandler(CuratorError)
    def _curator_error(e: CuratorError) -> Any:
        # The one place errors become HTTP statuses.
        if isinstance(e, NotFound):
            return _error(404, str(e))
        if isinstance(e, UsageError):
            return _error(400, str(e))
        log.error("%s %s: %s", request.method, request.path, e)
        return _error(500, str(e))

    @app.errorhandler(HTTPException)
    def _http_error(e: HTTPException) -> Any:
        if e.code == 401:
            return _error(401, "Sign in to use the desk.")
        if e.code == 404:
            return _error(404, _not_found_message())
        return _error(e.code or 500, e.description or e.name)

    return app


def _not_found_message() -> str:
    path = request.path
    if path.startswith("/c/"):
        return (f"There is no candidate “{path[3:][:80]}”: candidates are numbered, as in "
                "/c/12. Find it in the queue instead.")
    return f"There is no page at {path[:120]}."


def _error(status: int, message: str) -> Any:
    """An error page; it never shows candidate data."""
    if request.path.startswith("/static/") or request.path.endswith(".xml"):
        return Response(message + "\n", status, mimetype="text/plain")
    return render_template("error.html", status=status, message=message), status


def _after(response: Response) -> Response:
    add_security_headers(response)
    if request.endpoint not in views.OPEN_ENDPOINTS or request.endpoint == "desk.login":
        # Candidate data must not linger in shared caches, nor reappear via Back after logout.
        response.headers["Cache-Control"] = "no-store"
    return response


class _AccessLog:
    """WSGI middleware: one log line per request (waitress itself logs none)."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        started = time.monotonic()
        status: list[str] = ["-"]

        def start(code: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status[0] = code.split(" ", 1)[0]
            return start_response(code, headers, exc_info)

        try:
            return self.app(environ, start)
        finally:
            path = environ.get("PATH_INFO", "")
            if environ.get("QUERY_STRING"):
                path += "?" + environ["QUERY_STRING"]
            log.info("%s %s %s %s %.0f ms", environ.get("REMOTE_ADDR", "-"),
                     environ.get("REQUEST_METHOD", "-"), path, status[0],
                     (time.monotonic() - started) * 1000)


def make_server(config: Config, host: str = "127.0.0.1", port: int = 8080, *, threads: int = 8,
                now: Callable[[], datetime] | None = None) -> Any:
    """The desk on a waitress server, bound but not yet serving (port 0: any free port).

    A TLS-terminating proxy on the same host is believed about the scheme and host
    (X-Forwarded-Proto/-Host), so the session cookie is marked Secure behind it. A proxy
    elsewhere: set CURATOR_TRUSTED_PROXY to its address, and its X-Forwarded-For is believed too.
    """
    from waitress.server import create_server

    app = create_app(config, now=now)
    app.wsgi_app = _AccessLog(app.wsgi_app)  # type: ignore[method-assign]
    proxy = os.environ.get("CURATOR_TRUSTED_PROXY")
    # Not X-Forwarded-For from loopback by default: any local process could then pick the
    # address that login back-off is counted against. Scheme and host it could send anyway.
    headers = {"x-forwarded-proto", "x-forwarded-host"}
    if proxy:
        headers.add("x-forwarded-for")
    return create_server(app, host=host, port=port, threads=threads, ident="curator",
                         trusted_proxy=proxy or "127.0.0.1", trusted_proxy_count=1,
                         trusted_proxy_headers=headers, clear_untrusted_proxy_headers=True)


def serve(config: Config, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Serve the desk and the public feeds with waitress until interrupted."""
    server = make_server(config, host=host, port=port)
    shown = f"[{host}]" if ":" in host else host
    log.info("curator web: the desk is at http://%s:%d/ (feeds at /feed.xml and /atom.xml)",
             shown, port)
    c = Curator(config)
    try:
        if not c.editors():
            log.warning("no editors yet: create one with `curator editor add NAME`")
    finally:
        c.close()
    server.run()
