"""The desk against hostile requests: huge bodies, forged log lines, odd URLs and headers, a
`curator web` that cannot listen. Through a real `curator web` process where the server matters."""

from __future__ import annotations

import html
import http.cookiejar
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import Cli, write_config
from flask.testing import FlaskClient
from test_web import (
    OTHER_PASSWORD,
    PASSWORD,
    Desk,
    login,
    post,
    serving,
    token,
    token_from,
)

from curator.core import MAX_NOTE_CHARS
from curator.web import MAX_REQUEST_BYTES, MAX_SERVER_BODY_BYTES
from curator.web.security import Attempt, LoginThrottle, Rate, Refused, client_network

SECURITY_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options",
                    "Referrer-Policy")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class WebProcess:
    port: int
    proc: subprocess.Popen[bytes]
    stderr: Path

    def log(self) -> str:
        return self.stderr.read_text(encoding="utf-8", errors="replace")


def curator_web(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "curator", "--config", str(config), "web", *args]


@contextmanager
def web_process(tmp_path: Path, *args: str) -> Iterator[WebProcess]:
    """A real `curator web` on a free port of 127.0.0.1, its stderr kept in a file."""
    config = write_config(tmp_path, [{"url": "https://feeds.example.org/a.xml"}])
    port = free_port()
    stderr = tmp_path / "web.log"
    with stderr.open("wb") as err:
        proc = subprocess.Popen(curator_web(config, "--port", str(port), *args),
                                stdout=subprocess.DEVNULL, stderr=err)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None, stderr.read_text()
                assert time.monotonic() < deadline, "curator web did not start"
                time.sleep(0.05)
        yield WebProcess(port, proc, stderr)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Read one HTTP response (the server closes after its error answers)."""
    sock.settimeout(10)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    length = int(headers.get("Content-Length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, headers, body


def raw_request(port: int, head: str) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head.encode("latin-1"))
        return read_response(sock)


# ------------------------------------------------------------------ huge bodies


def test_a_huge_body_is_refused_before_it_is_read(tmp_path: Path) -> None:
    with web_process(tmp_path) as web:
        # A Content-Length of 512 MB: refused at once, without waiting for (or storing) the body.
        status, headers, body = raw_request(web.port, (
            f"POST /login HTTP/1.1\r\nHost: 127.0.0.1:{web.port}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            "Content-Length: 536870912\r\n\r\n"))
        assert status == 413
        for name in SECURITY_HEADERS:
            assert name in headers, (name, headers)
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]

        # The same size sent chunked, with no length announced: the server stops reading at
        # its cap and answers 413, long before a gigabyte has gone by.
        sent = 0
        chunk = b"x" * 65536
        with socket.create_connection(("127.0.0.1", web.port), timeout=10) as sock:
            sock.sendall((f"POST /c/1/feature HTTP/1.1\r\nHost: 127.0.0.1:{web.port}\r\n"
                          "Content-Type: application/x-www-form-urlencoded\r\n"
                          "Transfer-Encoding: chunked\r\n\r\n").encode())
            try:
                while sent < 1024 ** 3:
                    sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    sent += len(chunk)
                answer = read_response(sock)[0]
            except OSError:
                # The server answered and closed with our chunks unread: the kernel may then
                # reset the connection before the answer is read (the log shows it below).
                answer = 413
        assert answer == 413
        # What the kernel buffers on both sides aside, the server read no more than its cap.
        assert sent < MAX_SERVER_BODY_BYTES + 32 * 1024 * 1024, sent

        # And it goes on serving everyone else.
        status, headers, _ = raw_request(web.port, "GET /login HTTP/1.1\r\nHost: x\r\n"
                                                   "Connection: close\r\n\r\n")
        assert status == 200 and "Content-Security-Policy" in headers
    assert re.search(r"127\.0\.0\.1 POST /login 413 \d+ ms", web.log()), web.log()
    assert re.search(r"127\.0\.0\.1 POST /c/1/feature 413 \d+ ms", web.log()), web.log()


def test_a_body_just_over_the_limit_gets_the_desks_own_page(desk: Desk, client: FlaskClient
                                                            ) -> None:
    resp = client.post(f"/c/{desk.ids['s230']}/feature",
                       data={"csrf_token": token(client), "note": "x" * MAX_REQUEST_BYTES})
    assert resp.status_code == 413
    assert "<!doctype html>" in resp.text.lower() and "Content-Security-Policy" in resp.headers
    assert desk.candidate(desk.ids["s230"]).status == "new"


def test_waitress_own_errors_carry_the_security_headers(desk: Desk) -> None:
    with serving(desk) as base:
        port = int(base.rsplit(":", 1)[1])
        for head in ("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n",
                     "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + "a" * 300_000 + "\r\n\r\n",
                     "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"):
            status, headers, _ = raw_request(port, head)
            assert status in (400, 431), (status, head[:40])
            for name in SECURITY_HEADERS:
                assert name in headers, (name, status)


# ------------------------------------------------------------------ the log


def test_a_request_cannot_forge_lines_in_the_text_log(tmp_path: Path) -> None:
    forged = "2026-11-30T12:00:00Z INFO maria logged in from 10.0.0.1"
    with web_process(tmp_path) as web:
        path = "/x%0D%0A" + forged.replace(" ", "%20") + "%0A%1b[31m"
        status, _, _ = raw_request(web.port, f"GET {path} HTTP/1.1\r\nHost: x\r\n"
                                             "Connection: close\r\n\r\n")
        assert status == 302
        # The login name is logged too: one with line breaks in it stays on its line.
        status, headers, body = raw_request(
            web.port, "GET /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        cookie = headers["Set-Cookie"].split(";", 1)[0]
        form = (f"username=eve%0A{forged.replace(' ', '%20')}&password=wrong+password"
                f"&csrf_token={token_from(body.decode())}")
        status, _, _ = raw_request(web.port, (
            f"POST /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: {cookie}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(form)}\r\n\r\n{form}"))
        assert status == 200
    lines = web.log().splitlines()
    assert lines and all(re.match(r"\d{4}-\d\d-\d\dT", line) for line in lines), lines
    assert not any(line.startswith(forged) for line in lines)
    assert any("GET /x%0D%0A2026-11-30T12:00:00Z%20INFO" in line for line in lines), lines
    assert "\x1b" not in web.log()


# ------------------------------------------------------------------ odd URLs and headers


def test_a_candidate_id_too_big_for_the_database_is_404(desk: Desk, client: FlaskClient
                                                         ) -> None:
    for cid in ("99999999999999999999", "9223372036854775808", "9" * 5000):
        assert client.get(f"/c/{cid}").status_code == 404, cid[:30]
        resp = client.post(f"/c/{cid}/reject", data={"csrf_token": token(client)})
        assert resp.status_code == 404, cid[:30]
    # The largest id SQLite holds is just an id nobody has.
    assert client.get("/c/9223372036854775807").status_code == 404


def test_an_https_post_with_an_odd_referer_is_400(desk: Desk) -> None:
    tls = desk.app.test_client()
    base = "https://desk.example.org"
    page = tls.get("/login", base_url=base)
    resp = tls.post("/login", base_url=base,
                    data={"username": "maria", "password": PASSWORD,
                          "csrf_token": token_from(page.text)},
                    headers={"Referer": base + "/login"})
    assert resp.status_code == 302
    before = desk.snapshot()
    for referer in ("https://[::1", "https://desk.example.org:99999/", "https://x:port/",
                    "http://[not-an-address]/"):
        csrf = token_from(tls.get("/", base_url=base).text)
        resp = tls.post("/publish", base_url=base, data={"csrf_token": csrf},
                        headers={"Referer": referer})
        assert resp.status_code == 400, referer
        assert "Content-Security-Policy" in resp.headers
    assert desk.snapshot() == before


# ------------------------------------------------------------------ curator web cannot listen


def test_curator_web_on_a_busy_port_or_a_bad_host_says_so_in_one_line(tmp_path: Path) -> None:
    config = write_config(tmp_path, [{"url": "https://feeds.example.org/a.xml"}])
    env = dict(os.environ, CURATOR_TRUSTED_PROXY="")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        run = subprocess.run(curator_web(config, "--port", str(port)), capture_output=True,
                             text=True, timeout=60, env=env)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines()[-1] == (
        f"curator: error: cannot serve on 127.0.0.1:{port}: the port is in use "
        "(is another `curator web` running?)")
    assert "Traceback" not in run.stderr
    # Host names that cannot resolve (these fail in the resolver itself, without a DNS query).
    for host in ("no such host", "a..b"):
        run = subprocess.run(curator_web(config, "--host", host, "--port", "8080"),
                             capture_output=True, text=True, timeout=60, env=env)
        assert run.returncode == 2, run.stderr
        assert run.stderr.strip().splitlines() == [
            f"curator: error: cannot serve on {host}:8080: the host name does not resolve"]


# ------------------------------------------------------------------ signing in and out


def test_logout_ends_every_copy_of_the_session_cookie(desk: Desk, client: FlaskClient) -> None:
    stolen = desk.app.test_client()
    cookie = client.get_cookie("curator_session")
    assert cookie is not None
    stolen.set_cookie("curator_session", cookie.value)
    assert stolen.get("/").status_code == 200  # a copy works while the session lasts
    sam = desk.app.test_client()
    assert login(sam, name="sam", password=OTHER_PASSWORD).status_code == 302

    assert client.post("/logout", data={"csrf_token": token(client)}).status_code == 302
    assert client.get("/").status_code == 302
    resp = stolen.get("/")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    assert stolen.post("/publish", data={"csrf_token": "x"}).status_code == 401
    assert sam.get("/").status_code == 200  # another editor's session is not touched
    # Signing in again opens a new session; the old copy stays dead.
    assert login(client).status_code == 302
    assert client.get("/").status_code == 200
    assert stolen.get("/").status_code == 302


def test_a_new_password_ends_sessions_through_the_same_generation(desk: Desk,
                                                                  client: FlaskClient) -> None:
    cur = desk.curator()
    try:
        before = cur.session_stamp("maria")
        cur.set_editor_password("maria", "a brand new password")
        after = cur.session_stamp("maria")
        assert before and after and before.split(":", 1)[0] != after.split(":", 1)[0]
        assert cur.session_stamp("nobody") is None
    finally:
        cur.close()
    assert client.get("/").status_code == 302


def _browsers(n: int, base: str) -> list[tuple[Any, str]]:
    """n browsers (cookie jars) with the login page open: (opener, CSRF token)."""
    out = []
    for _ in range(n):
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        with opener.open(base + "/login", timeout=10) as resp:
            out.append((opener, token_from(resp.read().decode())))
    return out


def _post_login(opener: Any, base: str, csrf: str, name: str, password: str,
                headers: dict[str, str] | None = None) -> tuple[int, str]:
    data = urllib.parse.urlencode({"username": name, "password": password,
                                   "csrf_token": csrf}).encode()
    request = urllib.request.Request(base + "/login", data=data, headers=headers or {})
    try:
        with opener.open(request, timeout=30) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_concurrent_wrong_passwords_are_not_all_checked(desk: Desk) -> None:
    with serving(desk, threads=8) as base:
        browsers = _browsers(8, base)
        start = threading.Barrier(len(browsers))
        results: list[tuple[int, str]] = []

        def guess(opener: Any, csrf: str, i: int) -> None:
            start.wait()
            results.append(_post_login(opener, base, csrf, "maria", f"guess number {i}"))

        threads = [threading.Thread(target=guess, args=(o, t, i))
                   for i, (o, t) in enumerate(browsers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    checked = [body for status, body in results if status == 200]
    refused = [status for status, _ in results if status != 200]
    # One guess was checked; the others arrived while it was and were turned away unchecked.
    assert len(checked) == 1 and "do not match" in checked[0]
    assert refused and set(refused) <= {429, 503}, results


def test_password_checks_run_a_few_at_a_time_with_slots_kept_for_known_browsers(
        desk: Desk) -> None:
    throttle = desk.app.extensions["curator_desk"].throttle
    maria = desk.app.test_client()
    assert login(maria).status_code == 302  # this browser is now known for maria
    assert maria.post("/logout", data={"csrf_token": token(maria)}).status_code == 302
    stranger = desk.app.test_client()
    with throttle.hashing(known=False), throttle.hashing(known=False):
        # Every slot for unknown browsers is taken: a stranger waits a moment, then is told so.
        resp = login(stranger)
        assert resp.status_code == 503 and resp.headers["Retry-After"] == "1"
        assert "busy" in resp.text
        # maria's own browser has slots of its own.
        assert login(maria).status_code == 302
    assert login(stranger).status_code == 302


def _fake_time(desk: Desk) -> list[float]:
    throttle = desk.app.extensions["curator_desk"].throttle
    now = [1000.0]
    throttle.clock = lambda: now[0]
    # Smaller bursts than the real ones, so a test needs few slow password checks.
    throttle.rates = {"address": Rate(burst=3, every=30.0), "name": Rate(burst=4, every=60.0),
                      "all": Rate(burst=6, every=1.0)}
    return now


def test_guessing_across_names_from_one_address_is_limited(desk: Desk) -> None:
    now = _fake_time(desk)
    spray = desk.app.test_client()
    for name in ("anna", "bob", "carl"):
        assert login(spray, name=name, password="Password123").status_code == 200
    resp = login(spray, name="dora", password="Password123")
    assert resp.status_code == 429 and "Too many sign-in attempts" in resp.text
    assert resp.headers["Retry-After"] == "30"
    # Even the right password waits: the attempt is refused before it is checked.
    assert login(spray, name="maria").status_code == 429
    # Another address is not held back; and the limit refills.
    other = desk.app.test_client()
    assert login(other, environ_base={"REMOTE_ADDR": "10.1.1.1"}).status_code == 302
    now[0] += 30
    assert login(spray, name="maria").status_code == 302


def test_nobody_can_lock_an_editor_out_of_a_browser_they_use(desk: Desk) -> None:
    now = _fake_time(desk)
    maria = desk.app.test_client()
    assert login(maria).status_code == 302
    raw = maria.get_cookie("curator_device", path="/login")
    assert raw is not None, "no device cookie"
    assert raw.http_only and raw.same_site == "Strict" and raw.path == "/login"
    assert maria.post("/logout", data={"csrf_token": token(maria)}).status_code == 302

    # Guesses at maria from many addresses (as behind a proxy that hides them, or a botnet).
    for i in range(4):
        attacker = desk.app.test_client()
        assert login(attacker, password="guess-guess",
                     environ_base={"REMOTE_ADDR": f"10.6.6.{i}"}).status_code == 200
    newcomer = desk.app.test_client()
    resp = login(newcomer, environ_base={"REMOTE_ADDR": "10.7.7.7"})
    assert resp.status_code == 429 and "a browser you have signed in with before" in resp.text
    # maria's own browser still gets in, from the address the attacker used too.
    assert login(maria, environ_base={"REMOTE_ADDR": "10.6.6.0"}).status_code == 302
    maria.post("/logout", data={"csrf_token": token(maria)})
    # A forged or foreign device cookie is no pass.
    forger = desk.app.test_client()
    forger.set_cookie("curator_device", raw.value[:-2] + "xx", path="/login")
    assert login(forger, environ_base={"REMOTE_ADDR": "10.8.8.8"}).status_code == 429
    sam = desk.app.test_client()
    assert login(sam, name="sam", password=OTHER_PASSWORD).status_code == 302
    sam_device = sam.get_cookie("curator_device", path="/login")
    assert sam_device is not None
    thief = desk.app.test_client()
    thief.set_cookie("curator_device", sam_device.value, path="/login")
    assert login(thief, environ_base={"REMOTE_ADDR": "10.8.8.9"}).status_code == 429

    # Strangers everywhere use up the limit for everyone: newcomers wait, maria does not.
    for i in range(6):
        stranger = desk.app.test_client()
        login(stranger, name=f"user{i}", password="guess-guess",
              environ_base={"REMOTE_ADDR": f"10.9.{i}.1"})
    late = desk.app.test_client()
    assert login(late, name="sam", password=OTHER_PASSWORD,
                 environ_base={"REMOTE_ADDR": "10.10.10.10"}).status_code == 429
    assert login(maria).status_code == 302
    # A known browser's wrong passwords still back off, on that browser alone.
    maria.post("/logout", data={"csrf_token": token(maria)})
    assert login(maria, password="wrong wrong wrong").status_code == 200
    assert login(maria).status_code == 429
    now[0] += 1.0
    assert login(maria).status_code == 302


def test_behind_a_proxy_its_forwarded_addresses_count_only_when_trusted(
        desk: Desk, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="curator.web")
    forwarded = {"X-Forwarded-For": "203.0.113.7"}
    with serving(desk) as base:
        (opener, csrf), = _browsers(1, base)
        assert _post_login(opener, base, csrf, "maria", "wrong password",
                           headers=forwarded)[0] == 200
    assert any("failed login for 'maria' from 127.0.0.1" in r.getMessage()
               for r in caplog.records)
    caplog.clear()
    with serving(desk, trusted_proxy="127.0.0.1") as base:
        (opener, csrf), = _browsers(1, base)
        assert _post_login(opener, base, csrf, "maria", "wrong password",
                           headers=forwarded)[0] == 200
        # The back-off holds that client, not everyone behind the proxy.
        (other, csrf2), = _browsers(1, base)
        status, _ = _post_login(other, base, csrf2, "maria", PASSWORD,
                                headers={"X-Forwarded-For": "198.51.100.9"})
        assert status == 200  # urllib followed the redirect to the queue
    messages = [r.getMessage() for r in caplog.records]
    assert any("failed login for 'maria' from 203.0.113.7" in m for m in messages), messages
    assert any("maria logged in from 198.51.100.9" in m for m in messages), messages


# ------------------------------------------------------------------ a note over the limit


def _textarea(page: str) -> str:
    m = re.search(r'<textarea[^>]*\bid="note"[^>]*>(.*?)</textarea>', page, re.S)
    assert m, "no note field"
    return html.unescape(m.group(1))


def test_a_note_over_the_limit_is_refused_whole_and_the_draft_kept(desk: Desk,
                                                                   client: FlaskClient) -> None:
    cid = desk.ids["s230"]
    assert "maxlength" not in client.get(f"/c/{cid}").text  # the browser would cut it silently
    draft = "Worth <reading>. " + "x" * MAX_NOTE_CHARS
    for action in ("feature", "preview"):
        resp = post(client, f"/c/{cid}/feature", {"note": draft, "action": action})
        assert resp.status_code == 422, action
        assert (f"This note has {len(draft):,} characters; a note can have at most 100,000. "
                f"Shorten it by {len(draft) - MAX_NOTE_CHARS:,}") in resp.text
        assert 'aria-invalid="true"' in resp.text
        assert _textarea(resp.text) == draft  # every character of it, escaped
    assert desk.candidate(cid).status == "new" and not desk.candidate(cid).note
    resp = post(client, "/preview", {"note": draft})
    assert resp.status_code == 422 and "at most 100,000" in resp.json["error"]

    # Exactly at the limit is fine, in any script: the body cap leaves room for it.
    longest = "😀" * MAX_NOTE_CHARS
    assert post(client, "/preview", {"note": longest}).status_code == 200
    assert post(client, f"/c/{cid}/feature", {"note": longest}).status_code == 302
    assert desk.candidate(cid).note == longest
    # An over-long edit of a featured item's note leaves the saved note as it was.
    resp = post(client, f"/c/{cid}/feature", {"note": longest + "!"})
    assert resp.status_code == 422 and _textarea(resp.text) == longest + "!"
    assert desk.candidate(cid).note == longest


def test_editor_logout_ends_the_sessions_from_the_command_line(desk: Desk, client: FlaskClient
                                                               ) -> None:
    cli = Cli(desk.config.path)
    assert client.get("/").status_code == 200
    assert "every desk session of maria has ended" in cli("editor", "logout", "maria").stdout
    assert client.get("/").status_code == 302
    assert login(client).status_code == 302  # the password still works
    cli("editor", "logout", "nobody", code=2)


def test_limits_count_an_ipv6_client_by_its_network_and_forget_old_keys() -> None:
    now = [0.0]
    throttle = LoginThrottle(lambda: now[0], max_keys=50)
    throttle.rates["address"] = Rate(burst=2, every=30.0)
    # Two addresses of one /64 are one client for the limits; another /64 is not.
    for address in ("2001:db8:1:2::10", "2001:db8:1:2::11"):
        attempt = throttle.begin(f"name-{address}", address)
        assert isinstance(attempt, Attempt)
        throttle.failed(attempt)
    refused = throttle.begin("someone", "2001:db8:1:2:ffff::1")
    assert isinstance(refused, Refused) and refused.limit == "address"
    assert isinstance(throttle.begin("someone", "2001:db8:1:3::1"), Attempt)
    assert client_network("::ffff:192.0.2.7") == "192.0.2.7" == client_network("192.0.2.7")
    # While one attempt is being checked, the next at the same name and address waits for it.
    first = throttle.begin("maria", "192.0.2.7")
    assert isinstance(first, Attempt)
    second = throttle.begin("maria", "192.0.2.7")
    assert isinstance(second, Refused) and second.limit == "back-off"
    throttle.succeeded(first)
    assert isinstance(throttle.begin("maria", "192.0.2.7"), Attempt)
    # A flood of names and addresses does not grow memory without bound.
    flood = LoginThrottle(lambda: now[0], max_keys=50)
    flood.rates["all"] = Rate(burst=10**6, every=1.0)
    for i in range(5000):
        attempt = flood.begin(f"user{i}", f"10.{i // 250}.{i % 250}.1")
        assert isinstance(attempt, Attempt)
        flood.failed(attempt)
        now[0] += 0.01
    assert len(flood._backoff) + len(flood._buckets) <= 2 * flood.max_keys
