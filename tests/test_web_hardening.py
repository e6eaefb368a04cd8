"""The desk against hostile requests: huge bodies, forged log lines, odd URLs and headers, a
`curator web` that cannot listen. Through a real `curator web` process where the server matters."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import write_config
from flask.testing import FlaskClient
from test_web import PASSWORD, Desk, build_desk, login, serving, token, token_from

from curator.web import MAX_REQUEST_BYTES, MAX_SERVER_BODY_BYTES

SECURITY_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options",
                    "Referrer-Policy")


@pytest.fixture
def desk(tmp_path: Path) -> Desk:
    return build_desk(tmp_path)


@pytest.fixture
def client(desk: Desk) -> FlaskClient:
    c = desk.app.test_client()
    assert login(c).status_code == 302
    return c


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
    assert desk.candidate(desk.ids["s230"])["status"] == "new"


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
