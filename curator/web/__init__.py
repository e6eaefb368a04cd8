"""The editors' desk and the public feeds: the Flask app factory and a production server."""

from __future__ import annotations

import errno
import logging
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from flask import Flask, Response, g, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from ..config import Config, Follower
from ..core import Curator
from ..exceptions import CuratorError, NotFound, UsageError
from . import (
    auth,
    editing,  # noqa: F401 - its routes join views.bp when imported
    text,
    views,
)
from .security import (
    HEADERS,
    LoginThrottle,
    RowIdConverter,
    SessionInterface,
    add_security_headers,
    check_referrer,
)

log = logging.getLogger("curator.web")

SECRET_KEY_STATE = "web_secret_key"
# The biggest legitimate request is a note of MAX_NOTE_CHARS characters, form-encoded: up to
# 12 bytes a character (a 4-byte UTF-8 character as %XX%XX%XX%XX). Bigger bodies are refused
# before they are read; a note that fits here but is too long gets a clear message instead.
MAX_REQUEST_BYTES = 2 * 1024 * 1024
# waitress stops reading at this size and answers 413 itself (Flask would otherwise only see
# the body after waitress had buffered all of it to disk). A little above Flask's own limit, so
# that a body just over it is refused by the desk's own, friendlier page.
MAX_SERVER_BODY_BYTES = MAX_REQUEST_BYTES + 64 * 1024

__all__ = ["create_app", "make_server", "serve"]


def _secret_key(config: Config, now: Callable[[], datetime] | None) -> str:
    """The session-signing key, made once and kept in the database so restarts keep sessions."""
    c = Curator(config, now=now)
    try:
        c.sync_sources()  # so the queue's source filter lists feeds.yaml before the first poll
        key = c.get_state(SECRET_KEY_STATE)
        if not key:  # the first desk to start makes it; one starting alongside takes that one
            key = c.set_state(SECRET_KEY_STATE, secrets.token_hex(32), keep=True)
        assert key
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
        follower=Follower(config), now=now, throttle=LoginThrottle(auth.DeskCounters()), etags={},
        etag_lock=threading.Lock())
    app.jinja_env.filters["when"] = text.when
    app.jinja_env.filters["http_url"] = text.http_url
    app.jinja_env.filters["iso"] = text.iso_time
    app.jinja_env.globals["ago"] = text.ago
    app.jinja_env.globals["here"] = views.here

    # Every <int:…> in the desk's URLs is a row id (set before the blueprint's rules are made).
    app.url_map.converters["int"] = RowIdConverter
    # Login is checked before CSRF, so an anonymous POST is a plain 401 either way.
    app.before_request(auth.require_login)
    app.before_request(check_referrer)
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


def _log_request(address: str, method: str, target: str, status: str, started: float) -> None:
    # The target as the client sent it, percent-encoded; the text log also escapes any control
    # character left, so no request can forge a log line.
    log.info("%s %s %s %s %.0f ms", address, method, target, status,
             (time.monotonic() - started) * 1000)


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
            target = environ.get("REQUEST_URI") or quote(
                environ.get("PATH_INFO", ""), safe="/;:@&=+$,!~*'()%")
            if "REQUEST_URI" not in environ and environ.get("QUERY_STRING"):
                target += "?" + environ["QUERY_STRING"]
            _log_request(environ.get("REMOTE_ADDR", "-"), environ.get("REQUEST_METHOD", "-"),
                         target, status[0], started)


def _waitress_classes() -> Any:
    """waitress's channel, with its own error answers (413, 400, 431, 500) made like ours."""
    from waitress.channel import HTTPChannel
    from waitress.task import ErrorTask

    class SecureErrorTask(ErrorTask):  # type: ignore[misc]
        """An error waitress answers before the app sees the request: the security headers too,
        and a line in the access log."""

        def execute(self) -> None:
            started = time.monotonic()
            self.response_headers.extend(HEADERS.items())
            self.response_headers.append(("Cache-Control", "no-store"))
            super().execute()
            request = self.request
            _log_request(str(self.channel.addr[0]) if self.channel.addr else "-",
                         request.command or "-", request.request_uri or "-",
                         self.status.split(" ", 1)[0], started)

    class Channel(HTTPChannel):  # type: ignore[misc]
        error_task_class = SecureErrorTask

    return Channel


def _listen_error(host: str, port: int, e: BaseException) -> UsageError:
    shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if isinstance(e, OSError) and e.errno == errno.EADDRINUSE:
        reason = "the port is in use (is another `curator web` running?)"
    elif isinstance(e, OSError) and e.errno == errno.EADDRNOTAVAIL:
        reason = "no interface of this machine has that address"
    elif isinstance(e, OSError) and e.errno == errno.EACCES:
        reason = "permission denied (ports below 1024 need privileges)"
    elif isinstance(e, socket.gaierror | UnicodeError):
        reason = "the host name does not resolve"
    else:
        reason = getattr(e, "strerror", None) or str(e)
    return UsageError(f"cannot serve on {shown}: {reason}")


def make_server(config: Config, host: str = "127.0.0.1", port: int = 8080, *, threads: int = 8,
                trusted_proxy: str | None = None, now: Callable[[], datetime] | None = None,
                warm: bool = False) -> Any:
    """The desk on a waitress server, bound but not yet serving (port 0: any free port); with
    `warm`, its pages' templates compiled and what they load on first use loaded (see `warm`).

    A TLS-terminating proxy on the same host is believed about the scheme and host
    (X-Forwarded-Proto/-Host), so the session cookie is marked Secure behind it.
    `trusted_proxy` names the proxy's address: its X-Forwarded-For is then believed too, so
    login limits count the real client rather than the proxy.
    """
    from waitress.server import BaseWSGIServer, create_server

    try:
        # Resolved here, not by waitress: it turns a name that does not resolve into a bare
        # "Invalid host/port specified".
        socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as e:
        raise _listen_error(host, port, e) from e
    app = create_app(config, now=now)
    app.wsgi_app = _AccessLog(app.wsgi_app)  # type: ignore[method-assign]
    # Not X-Forwarded-For from loopback by default: any local process could then pick the
    # address that login limits are counted against. Scheme and host it could send anyway.
    headers = {"x-forwarded-proto", "x-forwarded-host"}
    if trusted_proxy:
        headers.add("x-forwarded-for")
    sockets: dict[int, Any] = {}  # waitress's socket map: its listeners are in it after this
    try:
        server = create_server(
            app, map=sockets, host=host, port=port, threads=threads, ident="curator",
            max_request_body_size=MAX_SERVER_BODY_BYTES,
            trusted_proxy=trusted_proxy or "127.0.0.1", trusted_proxy_count=1,
            trusted_proxy_headers=headers, clear_untrusted_proxy_headers=True)
    except (OSError, ValueError) as e:
        raise _listen_error(host, port, e) from e
    channel = _waitress_classes()
    # One server, or one per address the host resolves to (each accepts its own connections).
    for listener in sockets.values():
        if isinstance(listener, BaseWSGIServer):
            listener.channel_class = channel
    if warm:
        _warm(app, config)
    return server


def _warm(app: Flask, config: Config) -> None:
    """Every template compiled, and what the pages load on first use loaded, before the desk
    answers: otherwise the first editor's first pages pay for them, about 0.4 s of CPU in all
    (the first candidate page 190 ms instead of 5), which a busy machine stretches to seconds.
    Connections that come meanwhile wait in the listening socket's queue."""
    for name in app.jinja_env.list_templates(extensions=["html"]):
        app.jinja_env.get_template(name)
    c = Curator(config)
    try:
        c.preview_note("*a*")  # a note's Markdown renderer and sanitiser
        c.highlight_spans("a")  # the topics' matcher
        # Where a candidate's terms matched: the feed parser's HTML to text.
        for candidate in c.candidates(limit=1):
            c.matched_where(candidate)
    finally:
        c.close()


def serve(config: Config, host: str = "127.0.0.1", port: int = 8080, *,
          trusted_proxy: str | None = None) -> None:
    """Serve the desk and the public feeds with waitress until interrupted."""
    server = make_server(config, host=host, port=port, trusted_proxy=trusted_proxy, warm=True)
    shown = f"[{host}]" if ":" in host else host
    log.info("curator web: the desk is at http://%s:%d/ (readers: /index.html, /feed.xml)",
             shown, port)
    if trusted_proxy:
        log.info("believing X-Forwarded-For from %s", trusted_proxy)
    c = Curator(config)
    try:
        if not c.editors():
            log.warning("no editors yet: create one with `curator editor add NAME`")
    finally:
        c.close()
    server.run()
