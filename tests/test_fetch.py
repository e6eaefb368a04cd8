"""curator.fetch against real servers on 127.0.0.1: well-behaved, misbehaving and hostile."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import socket
import struct
import time
import tracemalloc
import zlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import brotli
import pytest
from aiohttp import web
from fetchserver import (
    Handler,
    http_server,
    raw_server,
    read_request_head,
    self_signed_context,
)

import curator.fetch as fetch_module
from curator import decode
from curator.fetch import Fetcher, parse_max_age, parse_retry_after
from curator.polltypes import Fetched, FetchError, FetchRequest, FetchResult, NotModified
from curator.types import FetchSettings

FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
MB = 1 << 20


# ---------------------------------------------------------------- helpers


async def get(url: str, settings: FetchSettings | None = None, **request: Any) -> FetchResult:
    async with Fetcher(settings or FetchSettings(timeout=5.0)) as fetcher:
        return await fetcher.fetch(FetchRequest(url, **request))


def serve_and_get(routes: dict[str, Handler], path: str = "/feed",
                  settings: FetchSettings | None = None, **request: Any) -> FetchResult:
    async def main() -> FetchResult:
        async with http_server(routes) as base:
            return await get(base + path, settings, **request)
    return asyncio.run(main())


def raw_get(handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
            settings: FetchSettings | None = None) -> tuple[FetchResult, float]:
    async def main() -> tuple[FetchResult, float]:
        async with raw_server(handler) as port:
            start = time.monotonic()
            result = await get(f"http://127.0.0.1:{port}/feed", settings)
            return result, time.monotonic() - start
    return asyncio.run(main())


def respond(body: bytes = FEED, status: int = 200, **headers: str) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(body=body, status=status,
                            headers={k.replace("_", "-"): v for k, v in headers.items()})
    return handler


def redirect(status: int, location: str) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, headers={"Location": location})
    return handler


def error(result: FetchResult) -> FetchError:
    assert isinstance(result, FetchError), result
    return result


def fetched(result: FetchResult) -> Fetched:
    assert isinstance(result, Fetched), result
    return result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---------------------------------------------------------------- request and 200/304


def test_request_headers_identify_us_and_send_validators() -> None:
    async def echo(request: web.Request) -> web.StreamResponse:
        return web.Response(body=json.dumps(dict(request.headers)).encode())

    settings = FetchSettings(user_agent="curator/9 (+https://example.org/about)")
    result = fetched(serve_and_get({"/feed": echo}, settings=settings,
                                   etag='"abc"', last_modified="Wed, 21 Oct 2015 07:28:00 GMT"))
    sent = json.loads(result.content)
    assert sent["User-Agent"] == "curator/9 (+https://example.org/about)"
    assert sent["Accept"].startswith("application/rss+xml, application/atom+xml")
    assert "text/xml" in sent["Accept"] and "*/*;q=0.1" in sent["Accept"]
    assert sent["Accept-Encoding"] == "gzip, deflate, br"
    assert sent["If-None-Match"] == '"abc"'
    assert sent["If-Modified-Since"] == "Wed, 21 Oct 2015 07:28:00 GMT"
    assert "Cookie" not in sent


def test_no_validators_means_no_conditional_headers() -> None:
    async def echo(request: web.Request) -> web.StreamResponse:
        return web.Response(body=json.dumps(dict(request.headers)).encode())

    sent = json.loads(fetched(serve_and_get({"/feed": echo})).content)
    assert "If-None-Match" not in sent and "If-Modified-Since" not in sent


def test_200_gives_body_validators_and_lowercased_headers() -> None:
    handler = respond(FEED, ETag='"v1"', Last_Modified="Wed, 21 Oct 2015 07:28:00 GMT",
                      Cache_Control="public, max-age=600", Content_Type="application/rss+xml",
                      X_Custom="yes")

    async def main() -> tuple[str, FetchResult]:
        async with http_server({"/feed": handler}) as base:
            return base, await get(base + "/feed")
    base, result = asyncio.run(main())
    result = fetched(result)
    assert result.content == FEED
    assert result.status == 200
    assert result.url == result.final_url == base + "/feed"
    assert result.permanent_url is None
    assert result.etag == '"v1"'
    assert result.last_modified == "Wed, 21 Oct 2015 07:28:00 GMT"
    assert result.max_age == 600
    assert result.headers["content-type"] == "application/rss+xml"
    assert result.headers["x-custom"] == "yes"
    assert all(name == name.lower() for name in result.headers)


def test_304_is_not_modified_and_keeps_validators_the_server_did_not_repeat() -> None:
    async def conditional(request: web.Request) -> web.StreamResponse:
        if request.headers.get("If-None-Match") == '"v1"':
            return web.Response(status=304, headers={"Cache-Control": "max-age=60"})
        return web.Response(body=FEED, headers={"ETag": '"v1"'})

    result = serve_and_get({"/feed": conditional}, etag='"v1"',
                           last_modified="Wed, 21 Oct 2015 07:28:00 GMT")
    assert isinstance(result, NotModified), result
    assert result.status == 304
    assert result.etag == '"v1"'
    assert result.last_modified == "Wed, 21 Oct 2015 07:28:00 GMT"
    assert result.max_age == 60
    assert result.permanent_url is None
    # Without the validator the same server sends the body.
    assert fetched(serve_and_get({"/feed": conditional})).etag == '"v1"'


# ---------------------------------------------------------------- statuses


def test_410_is_gone() -> None:
    result = error(serve_and_get({"/feed": respond(b"bye", status=410)}))
    assert result.gone is True
    assert result.status == 410
    assert result.message.startswith("gone (HTTP 410 Gone)")


def test_429_retry_after_seconds() -> None:
    before = datetime.now(UTC)
    result = error(serve_and_get({"/feed": respond(b"", status=429, Retry_After="120")}))
    assert result.status == 429
    assert result.message == "HTTP 429 Too Many Requests"
    assert result.retry_after is not None
    assert result.retry_after.tzinfo is not None
    assert before + timedelta(seconds=119) <= result.retry_after
    assert result.retry_after <= datetime.now(UTC) + timedelta(seconds=121)
    assert not result.gone


def test_503_retry_after_http_date_and_garbage() -> None:
    dated = error(serve_and_get({"/feed": respond(
        b"", status=503, Retry_After="Wed, 21 Oct 2037 07:28:00 GMT")}))
    assert dated.status == 503
    assert dated.message == "HTTP 503 Service Unavailable"
    assert dated.retry_after == datetime(2037, 10, 21, 7, 28, tzinfo=UTC)
    garbage = error(serve_and_get({"/feed": respond(b"", status=503, Retry_After="soon-ish")}))
    assert garbage.retry_after is None
    missing = error(serve_and_get({"/feed": respond(b"", status=429)}))
    assert missing.retry_after is None


@pytest.mark.parametrize(("status", "message"), [
    (404, "HTTP 404 Not Found"),
    (403, "HTTP 403 Forbidden"),
    (500, "HTTP 500 Internal Server Error"),
    (300, "unexpected HTTP 300 Multiple Choices"),
    (206, "unexpected HTTP 206 Partial Content"),
])
def test_other_statuses_are_errors_with_the_reason_phrase(status: int, message: str) -> None:
    result = error(serve_and_get({"/feed": respond(b"<html>nope</html>", status=status)}))
    assert result.status == status
    assert result.message == message
    assert result.retry_after is None and not result.gone


def test_unregistered_status_uses_the_servers_reason() -> None:
    async def odd(request: web.Request) -> web.StreamResponse:
        return web.Response(status=599, reason="Network Read Timeout")

    assert error(serve_and_get({"/feed": odd})).message == "HTTP 599 Network Read Timeout"


def test_204_and_empty_200_are_errors() -> None:
    no_content = error(serve_and_get({"/feed": respond(b"", status=204)}))
    assert no_content.message == "no content (HTTP 204 No Content)"
    assert no_content.status == 204
    empty = error(serve_and_get({"/feed": respond(b"")}))
    assert empty.message.startswith("empty response")


# ---------------------------------------------------------------- redirects


async def scheme_relative(request: web.Request) -> web.StreamResponse:
    return web.Response(status=302, headers={"Location": f"//{request.host}/feed"})


def redirect_routes() -> dict[str, Handler]:
    return {
        "/p1": redirect(301, "/p2"),
        "/p2": redirect(308, "/feed"),
        "/t1": redirect(302, "/p3"),
        "/p3": redirect(301, "/feed"),
        "/mixed": redirect(301, "/t2"),
        "/t2": redirect(307, "/p4"),
        "/p4": redirect(301, "/feed"),
        "/see-other": redirect(303, "/feed"),
        "/dir/relative": redirect(301, "../feed?x=1#frag"),
        "/scheme-relative": scheme_relative,
        "/loop-a": redirect(302, "/loop-b"),
        "/loop-b": redirect(302, "/loop-a"),
        "/self": redirect(301, "/self"),
        "/r1": redirect(302, "/r2"),
        "/r2": redirect(302, "/r3"),
        "/r3": redirect(302, "/feed"),
        "/moved-then-404": redirect(301, "/missing"),
        "/moved-then-304": redirect(308, "/conditional"),
        "/no-location": respond(b"", status=302),
        "/to-file": redirect(302, "file:///etc/passwd"),
        "/to-ftp": redirect(301, "ftp://127.0.0.1/feed"),
        "/conditional": respond(b"", status=304),
        "/missing": respond(b"", status=404),
        "/feed": respond(FEED),
    }


def fetch_paths(paths: list[str], settings: FetchSettings | None = None
                ) -> tuple[str, list[FetchResult]]:
    async def main() -> tuple[str, list[FetchResult]]:
        async with http_server(redirect_routes()) as base:
            async with Fetcher(settings or FetchSettings(timeout=5.0)) as fetcher:
                results = await asyncio.gather(
                    *(fetcher.fetch(FetchRequest(base + p)) for p in paths))
            return base, list(results)
    return asyncio.run(main())


def test_permanent_url_follows_the_leading_run_of_301_and_308() -> None:
    base, (permanent, temp_first, mixed, see_other, relative, scheme_rel) = fetch_paths(
        ["/p1", "/t1", "/mixed", "/see-other", "/dir/relative", "/scheme-relative"])
    for result in (permanent, temp_first, mixed, see_other, scheme_rel):
        assert fetched(result).content == FEED
        assert fetched(result).final_url == base + "/feed"
    # 301 then 308: every hop permanent, the feed's new home is where it ended.
    assert fetched(permanent).permanent_url == base + "/feed"
    assert fetched(permanent).url == base + "/p1"
    # A temporary first hop: nothing to store, whatever follows.
    assert fetched(temp_first).permanent_url is None
    # 301 then 307 then 301: only the leading permanent hop counts.
    assert fetched(mixed).permanent_url == base + "/t2"
    assert fetched(see_other).permanent_url is None
    assert fetched(scheme_rel).permanent_url is None
    # Relative Location resolved against the current URL; the fragment is dropped.
    assert fetched(relative).final_url == base + "/feed?x=1"
    assert fetched(relative).permanent_url == base + "/feed?x=1"


def test_redirect_limits_and_loops() -> None:
    _, (loop, self_loop, too_many) = fetch_paths(
        ["/loop-a", "/self", "/r1"], FetchSettings(timeout=5.0, max_redirects=2))
    assert error(loop).message.startswith("redirect loop")
    assert error(self_loop).message.startswith("redirect loop")
    assert error(too_many).message == "too many redirects (more than 2)"
    _, (exactly_enough,) = fetch_paths(["/r1"], FetchSettings(timeout=5.0, max_redirects=3))
    assert fetched(exactly_enough).content == FEED
    _, (none_allowed,) = fetch_paths(["/p1"], FetchSettings(timeout=5.0, max_redirects=0))
    assert error(none_allowed).message == "too many redirects (more than 0)"


def test_redirect_errors_keep_the_permanent_url() -> None:
    base, (not_found, not_modified, no_location, to_file, to_ftp) = fetch_paths(
        ["/moved-then-404", "/moved-then-304", "/no-location", "/to-file", "/to-ftp"])
    assert error(not_found).status == 404
    assert error(not_found).permanent_url == base + "/missing"
    assert isinstance(not_modified, NotModified)
    assert not_modified.permanent_url == base + "/conditional"
    assert "without a Location header" in error(no_location).message
    assert error(to_file).message.startswith("unsupported URL scheme 'file'")
    assert error(to_ftp).message.startswith("unsupported URL scheme 'ftp'")
    # A permanent redirect to somewhere we will not go is not offered as the new URL.
    assert error(to_ftp).permanent_url is None


@pytest.mark.parametrize("url", [
    "file:///etc/passwd", "ftp://127.0.0.1/feed", "javascript:alert(1)", "feeds.example.org/rss",
    "", "http://", "http://[::1",
])
def test_only_http_and_https_urls_are_fetched(url: str) -> None:
    result = error(asyncio.run(get(url)))
    assert result.message.startswith(("unsupported URL scheme", "invalid URL")), result.message
    assert result.url == url


# ---------------------------------------------------------------- encodings and size


def gzip_members(*parts: bytes) -> bytes:
    return b"".join(gzip.compress(p) for p in parts)


def raw_deflate(data: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return c.compress(data) + c.flush()


@pytest.mark.parametrize(("encoding", "body"), [
    ("gzip", gzip.compress(FEED * 1000)),
    ("x-gzip", gzip.compress(FEED * 1000)),
    ("deflate", zlib.compress(FEED * 1000)),
    ("deflate", raw_deflate(FEED * 1000)),
    ("br", brotli.compress(FEED * 1000)),
    ("identity", FEED * 1000),
    ("gzip", gzip_members(FEED * 400, FEED * 600)),
    ("gzip", gzip.compress(FEED * 1000) + b"\0\0\0\n"),
])
def test_compressed_bodies_are_inflated(encoding: str, body: bytes) -> None:
    result = fetched(serve_and_get({"/feed": respond(body, Content_Encoding=encoding)}))
    assert result.content == FEED * 1000
    assert result.headers["content-encoding"] == encoding


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br"])
def test_corrupt_compressed_body_is_a_clear_error(encoding: str) -> None:
    body = b"this is plainly not compressed " * 50
    result = error(serve_and_get({"/feed": respond(body, Content_Encoding=encoding)}))
    assert result.message.startswith(f"corrupt {encoding}-encoded body"), result.message
    assert result.status == 200


def test_unsupported_content_encoding_is_an_error() -> None:
    result = error(serve_and_get({"/feed": respond(FEED, Content_Encoding="compress")}))
    assert result.message == "unsupported content encoding 'compress'"


@pytest.mark.parametrize("encoding", ["gzip", "br"])
def test_truncated_compressed_body_is_an_error(encoding: str) -> None:
    whole = gzip.compress(FEED * 5000) if encoding == "gzip" else brotli.compress(FEED * 5000)

    async def cut_short(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request_head(reader)
        # No Content-Length: only the compressed stream can tell the body ended early.
        writer.write(f"HTTP/1.1 200 OK\r\nContent-Encoding: {encoding}\r\n"
                     f"Connection: close\r\n\r\n".encode() + whole[: len(whole) // 2])
        await writer.drain()

    result, _ = raw_get(cut_short)
    assert error(result).message == f"the {encoding}-encoded body is truncated"


def inflate_in_pieces(decoder: Any, body: bytes, piece: int) -> bytes:
    out = []
    for i in range(0, len(body), piece):
        decoder.feed(body[i:i + piece])
        while chunk := decoder.read(7):  # tiny output steps exercise the held-back paths
            out.append(chunk)
    decoder.finish()
    return b"".join(out)


@pytest.mark.parametrize("piece", [1, 5, 4096])
@pytest.mark.parametrize(("coding", "body"), [
    ("gzip", gzip_members(FEED, b"", FEED * 3) + b"\n"),
    ("deflate", zlib.compress(FEED * 4)),
    ("deflate", raw_deflate(FEED * 4)),
])
def test_zlib_decoder_survives_any_split(coding: str, body: bytes, piece: int) -> None:
    # Network reads split streams anywhere: inside a header, a member boundary, the magic.
    expected = FEED * 4
    assert inflate_in_pieces(decode.ZlibDecoder(coding), body, piece) == expected


@pytest.mark.parametrize("bounded", [True, False], ids=["brotli>=1.2", "older-brotli"])
def test_brotli_decoder_with_and_without_an_output_cap(bounded: bool) -> None:
    decoder = decode.BrotliDecoder()
    decoder._bounded = bounded and decoder._bounded
    body = brotli.compress(FEED * 300)
    assert inflate_in_pieces(decoder, body, 100) == FEED * 300


def test_max_bytes_boundary_counts_decompressed_bytes() -> None:
    limit = 64 * 1024
    settings = FetchSettings(timeout=5.0, max_bytes=limit)
    exact = b"x" * limit
    over = b"x" * (limit + 1)
    for body in (exact, gzip.compress(exact), brotli.compress(exact)):
        encoding = "identity" if body is exact else ("gzip" if body[:2] == b"\x1f\x8b" else "br")
        result = serve_and_get({"/feed": respond(body, Content_Encoding=encoding)},
                               settings=settings)
        assert fetched(result).content == exact
    for body, encoding in ((over, "identity"), (gzip.compress(over), "gzip"),
                           (brotli.compress(over), "br")):
        result = serve_and_get({"/feed": respond(body, Content_Encoding=encoding)},
                               settings=settings)
        assert error(result).message == "response larger than 64 KiB"


def test_endless_uncompressed_body_is_cut_at_max_bytes() -> None:
    sent = 0

    async def endless(request: web.Request) -> web.StreamResponse:
        nonlocal sent
        resp = web.StreamResponse()  # chunked: no Content-Length to refuse early
        await resp.prepare(request)
        try:
            while sent < 100 * MB:
                await resp.write(b"y" * 65536)
                sent += 65536
        except (ConnectionError, RuntimeError):
            pass
        return resp

    result = serve_and_get({"/feed": endless}, settings=FetchSettings(timeout=5.0, max_bytes=MB))
    assert error(result).message == "response larger than 1 MiB"
    assert sent < 20 * MB


def gzip_bomb_handler(gigabytes: int) -> Handler:
    """A valid single-member gzip stream of zeros, about 1 KB per MB, made on the fly."""
    zeros = b"\0" * MB
    c = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    # Full flushes make every 1 MB block compress to the same bytes, so the stream is cheap
    # to produce however large it claims to be.
    first = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    blocks = gigabytes * 1024

    async def handler(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Encoding": "gzip",
                                           "Content-Type": "application/rss+xml"})
        await resp.prepare(request)
        try:
            await resp.write(first)
            for _ in range(0, blocks - 1, 64):
                await resp.write(block * 64)  # a ~64 KB network chunk worth 64 MB inflated
            crc = 0
            for _ in range(blocks):  # only reached if the client read it all (a failure)
                crc = zlib.crc32(zeros, crc)
            await resp.write(b"\x03\x00" + struct.pack("<II", crc, (blocks * MB) & 0xFFFFFFFF))
        except (ConnectionError, RuntimeError):
            pass
        return resp

    return handler


def brotli_bomb_handler() -> Handler:
    bomb = brotli.compress(b"\0" * (256 * MB), quality=1)  # ~48 KB

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(body=bomb, headers={"Content-Encoding": "br"})

    return handler


@pytest.mark.parametrize("make_handler", [lambda: gzip_bomb_handler(4), brotli_bomb_handler],
                         ids=["gzip-4GB", "br-256MB"])
def test_decompression_bomb_keeps_memory_flat(make_handler: Callable[[], Handler]) -> None:
    handler = make_handler()

    async def main() -> tuple[FetchResult, int, float]:
        settings = FetchSettings(timeout=10.0, max_bytes=MB)
        async with http_server({"/feed": handler}) as base, Fetcher(settings) as fetcher:
            tracemalloc.start()
            try:
                baseline = tracemalloc.get_traced_memory()[0]
                start = time.monotonic()
                result = await fetcher.fetch(FetchRequest(base + "/feed"))
                elapsed = time.monotonic() - start
                peak = tracemalloc.get_traced_memory()[1] - baseline
            finally:
                tracemalloc.stop()
            return result, peak, elapsed

    result, peak, elapsed = asyncio.run(main())
    assert error(result).message == "response larger than 1 MiB"
    # max_bytes is 1 MB; the body we keep plus one inflate step plus buffers stays small.
    assert peak < 8 * MB, f"peak {peak / MB:.1f} MB"
    assert elapsed < 5


# ---------------------------------------------------------------- time limits and concurrency


def test_whole_request_timeout_covers_slow_bodies_and_silent_servers() -> None:
    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        while True:  # every read succeeds quickly; only the whole-request deadline stops this
            writer.write(b"<")
            await writer.drain()
            await asyncio.sleep(0.1)

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request_head(reader)
        await asyncio.sleep(3600)

    async def main() -> list[tuple[FetchResult, float]]:
        async with (raw_server(trickle) as slow_port, raw_server(silent) as silent_port,
                    Fetcher(FetchSettings(timeout=1.0)) as fetcher):
            async def timed(url: str) -> tuple[FetchResult, float]:
                start = time.monotonic()
                result = await fetcher.fetch(FetchRequest(url))
                return result, time.monotonic() - start
            return list(await asyncio.gather(
                timed(f"http://127.0.0.1:{slow_port}/feed"),
                timed(f"http://127.0.0.1:{silent_port}/feed")))

    for result, elapsed in asyncio.run(main()):
        assert error(result).message == "timed out after 1s"
        # Both servers would go on for ever: ending at all, after the limit, is the proof.
        assert 0.9 <= elapsed < 30


def test_queueing_behind_the_per_host_limit_does_not_count_against_the_timeout() -> None:
    in_flight = 0
    most = 0

    async def slow(request: web.Request) -> web.StreamResponse:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await asyncio.sleep(0.3)
        in_flight -= 1
        return web.Response(body=FEED)

    async def main() -> list[FetchResult]:
        settings = FetchSettings(timeout=1.2, per_host=1)
        async with http_server({"/feed": slow}) as base, Fetcher(settings) as fetcher:
            # Six fetches at 0.3 s each, one at a time: 1.8 s in all, each well in time.
            return list(await asyncio.gather(
                *(fetcher.fetch(FetchRequest(f"{base}/feed?n={i}")) for i in range(6))))

    results = asyncio.run(main())
    assert all(isinstance(r, Fetched) for r in results), results
    assert most == 1


def test_many_concurrent_fetches_share_one_session_and_reuse_connections() -> None:
    peers: set[tuple[str, int]] = set()
    in_flight = 0
    most = 0

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal in_flight, most
        peers.add(request.transport.get_extra_info("peername"))  # type: ignore[union-attr]
        in_flight += 1
        most = max(most, in_flight)
        await asyncio.sleep(0.005)
        in_flight -= 1
        return web.Response(body=FEED)

    async def main() -> tuple[list[FetchResult], float]:
        settings = FetchSettings(timeout=5.0, per_host=4, concurrency=8)
        async with http_server({"/feed": handler}) as base, Fetcher(settings) as f:
            start = time.monotonic()
            results = await asyncio.gather(
                *(f.fetch(FetchRequest(f"{base}/feed?n={i}")) for i in range(300)))
            return list(results), time.monotonic() - start

    results, elapsed = asyncio.run(main())
    assert all(isinstance(r, Fetched) for r in results)
    assert most <= 4
    assert len(peers) <= 4  # keep-alive: four connections served all 300 requests
    assert elapsed < 10


def test_cancellation_propagates() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request_head(reader)
        await asyncio.sleep(3600)

    async def main() -> None:
        async with raw_server(silent) as port, Fetcher(FetchSettings(timeout=30.0)) as fetcher:
            task = asyncio.create_task(
                fetcher.fetch(FetchRequest(f"http://127.0.0.1:{port}/feed")))
            await asyncio.sleep(0.1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(main())


def test_fetch_outside_the_context_is_a_programming_error() -> None:
    with pytest.raises(RuntimeError):
        asyncio.run(Fetcher(FetchSettings()).fetch(FetchRequest("http://127.0.0.1:1/")))


# ---------------------------------------------------------------- network failures


def test_connection_refused() -> None:
    port = free_port()
    result = error(asyncio.run(get(f"http://127.0.0.1:{port}/feed")))
    assert result.message == f"connection refused by 127.0.0.1:{port}"
    assert result.status is None


def test_name_that_does_not_resolve_fails_fast() -> None:
    start = time.monotonic()
    result = error(asyncio.run(get("http://feeds.invalid/rss")))
    assert result.message == "name does not resolve: feeds.invalid"
    assert time.monotonic() - start < 2


def test_tls_certificate_is_verified(tmp_path: Path) -> None:
    context = self_signed_context(tmp_path)
    if context is None:
        pytest.skip("openssl CLI not installed")

    async def main() -> FetchResult:
        async with http_server({"/feed": respond(FEED)}, ssl_context=context) as base:
            return await get(base + "/feed")

    result = error(asyncio.run(main()))
    assert result.message.startswith("TLS/certificate verification failed for 127.0.0.1"), (
        result.message)
    assert "self-signed" in result.message or "self signed" in result.message


def test_https_is_verified_with_the_cas_of_the_environment_when_first_needed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # aiohttp's own contexts read the CAs when aiohttp was imported, before this test; a
    # request that reaches the server proves it carried curator's context, built from the CA
    # file named now.
    context = self_signed_context(tmp_path)
    if context is None:
        pytest.skip("openssl CLI not installed")
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "cert.pem"))
    fetch_module.verified_context.cache_clear()
    try:
        async def main() -> FetchResult:
            async with http_server({"/feed": respond(FEED)}, ssl_context=context) as base:
                return await get(base + "/feed")

        result = asyncio.run(main())
        assert isinstance(result, Fetched), result
        assert result.content == FEED
    finally:
        fetch_module.verified_context.cache_clear()


IMPORT_CONTEXTS = """
import os, sys, threading
if sys.argv[1] == "thread":
    stop = threading.Event()
    threading.Thread(target=stop.wait).start()
import curator.fetch, aiohttp.connector
contexts = (aiohttp.connector._SSL_CONTEXT_VERIFIED, aiohttp.connector._SSL_CONTEXT_UNVERIFIED)
print([c.cert_store_stats()["x509_ca"] for c in contexts],
      os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"),
      curator.fetch.verified_context().cert_store_stats()["x509_ca"])
if sys.argv[1] == "thread":
    stop.set()
"""


@pytest.mark.parametrize("threads", ["one", "thread"])
def test_aiohttp_is_imported_without_reading_the_system_cas(tmp_path: Path, threads: str) -> None:
    # With one thread, aiohttp's two import-time contexts are built empty (no CA read twice
    # for nothing) and the environment is as it was after; with another thread running, the
    # environment is never touched and aiohttp builds them as it always does.
    import subprocess
    import sys

    if self_signed_context(tmp_path) is None:
        pytest.skip("openssl CLI not installed")
    env = {**os.environ, "SSL_CERT_FILE": str(tmp_path / "cert.pem")}
    env.pop("SSL_CERT_DIR", None)
    out = subprocess.run([sys.executable, "-c", IMPORT_CONTEXTS, threads], env=env,
                         capture_output=True, text=True, check=True, cwd=tmp_path).stdout
    built = "[0, 0]" if threads == "one" else "[1, 1]"
    assert out.split() == [*built.split(), str(tmp_path / "cert.pem"), "None", "1"]


def test_https_to_a_plain_http_server_is_a_tls_error() -> None:
    async def main() -> FetchResult:
        async with http_server({"/feed": respond(FEED)}) as base:
            return await get(base.replace("http://", "https://") + "/feed")

    assert error(asyncio.run(main())).message.startswith("TLS/certificate error")


def status_line(extra: str = "") -> bytes:
    return f"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n{extra}\r\n".encode()


async def reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def test_body_cut_short_by_content_length_is_never_a_partial_fetch() -> None:
    async def short(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request_head(reader)
        writer.write(status_line("Content-Length: 1000\r\n") + FEED)
        await writer.drain()

    result, _ = raw_get(short)
    assert "truncated" in error(result).message
    assert error(result).status == 200


def test_chunked_body_cut_short_is_an_error() -> None:
    async def short(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request_head(reader)
        writer.write(status_line("Transfer-Encoding: chunked\r\n") + b"400\r\n" + FEED)
        await writer.drain()

    result, _ = raw_get(short)
    assert "truncated" in error(result).message


def test_connection_reset_mid_body() -> None:
    async def rst(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request_head(reader)
        writer.write(status_line("Content-Length: 100000\r\n") + FEED)
        await writer.drain()
        await asyncio.sleep(0.05)
        await reset(writer)

    result, _ = raw_get(rst)
    message = error(result).message
    assert "truncated" in message or "reset" in message, message


def test_connection_reset_before_the_response() -> None:
    async def rst(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request_head(reader)
        await reset(writer)

    message = error(raw_get(rst)[0]).message
    assert "reset" in message or "closed the connection" in message, message


def test_server_closing_without_a_response() -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request_head(reader)

    message = error(raw_get(hang_up)[0]).message
    assert message.endswith("closed the connection without a complete response"), message


@pytest.mark.parametrize("reply", [
    b"SPDY/9 200 OK\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\nContent-Length: 13\r\n\r\nhello",
    b"HTTP/1.1 abc OK\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nBad Header Line\r\n\r\n",
])
def test_malformed_http(reply: bytes) -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request_head(reader)
        writer.write(reply)
        await writer.drain()

    message = error(raw_get(garbage)[0]).message
    assert message.startswith("malformed HTTP response from 127.0.0.1:"), message


# ---------------------------------------------------------------- private addresses


def test_private_addresses_refused_only_when_asked() -> None:
    hits = 0

    async def counted(request: web.Request) -> web.StreamResponse:
        nonlocal hits
        hits += 1
        return web.Response(body=FEED)

    async def main() -> list[FetchResult]:
        blocked = FetchSettings(timeout=5.0, block_private_addresses=True)
        async with http_server({"/feed": counted}) as base:
            port = base.rsplit(":", 1)[1]
            async with Fetcher(blocked) as fetcher:
                refused = await asyncio.gather(*(fetcher.fetch(FetchRequest(u)) for u in (
                    f"{base}/feed",                        # IPv4 literal
                    f"http://localhost:{port}/feed",       # a name, checked once resolved
                    f"http://2130706433:{port}/feed",      # 127.0.0.1 spelt as an integer
                    f"http://[::1]:{port}/feed",
                    f"http://[::ffff:127.0.0.1]:{port}/feed",
                )))
            allowed = await get(f"{base}/feed")
            return [*refused, allowed]

    *refused, allowed = asyncio.run(main())
    assert error(refused[0]).message == "refused: 127.0.0.1 is a private/loopback address"
    assert error(refused[1]).message.startswith("refused: "), refused[1]
    assert error(refused[2]).message.startswith(("refused: ", "invalid URL")), refused[2]
    assert error(refused[3]).message == "refused: ::1 is a private/loopback address"
    assert error(refused[4]).message == "refused: 127.0.0.1 is a private/loopback address"
    assert fetched(allowed).content == FEED
    assert hits == 1  # nothing refused ever reached the server


@pytest.mark.parametrize("target", ["name", "literal"])
def test_private_address_check_runs_at_every_redirect_hop(
        target: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Every local address is loopback, so the policy is swapped for one the first server
    # arms as it redirects: the first hop passes, the next must be checked again.
    armed = False
    real_policy = fetch_module._address_refusal

    def policy(ip: Any) -> str | None:
        return real_policy(ip) if armed else None

    monkeypatch.setattr(fetch_module, "_address_refusal", policy)
    hits = 0

    async def counted(request: web.Request) -> web.StreamResponse:
        nonlocal hits
        hits += 1
        return web.Response(body=FEED)

    async def main() -> FetchResult:
        async with http_server({"/feed": counted}) as inner:
            port = inner.rsplit(":", 1)[1]
            host = "localhost" if target == "name" else "127.0.0.1"

            async def arm_and_redirect(request: web.Request) -> web.StreamResponse:
                nonlocal armed
                armed = True
                return web.Response(status=301, headers={"Location":
                                                         f"http://{host}:{port}/feed"})

            async with http_server({"/start": arm_and_redirect}) as outer:
                settings = FetchSettings(timeout=5.0, block_private_addresses=True)
                return await get(outer + "/start", settings)

    result = error(asyncio.run(main()))
    assert result.message.startswith("refused: "), result.message
    assert "private/loopback" in result.message
    assert result.permanent_url is None  # the refused target must not become the source URL
    assert hits == 0


@pytest.mark.parametrize(("address", "kind"), [
    ("127.0.0.1", "private/loopback"),
    ("10.1.2.3", "private/loopback"),
    ("172.16.0.1", "private/loopback"),
    ("192.168.1.1", "private/loopback"),
    ("0.0.0.0", "an unspecified"),
    ("::", "an unspecified"),
    ("::1", "private/loopback"),
    ("fd00::1", "private/loopback"),
    ("::ffff:10.0.0.1", "private/loopback"),
    ("169.254.169.254", "link-local"),
    ("fe80::1", "link-local"),
    ("224.0.0.1", "multicast"),
    ("ff02::1", "multicast"),
    ("240.0.0.1", "reserved"),
    ("100.64.0.1", "non-public"),
    ("8.8.8.8", None),
    ("93.184.215.14", None),
    ("2606:4700:4700::1111", None),
])
def test_address_policy(address: str, kind: str | None) -> None:
    reason = fetch_module._address_refusal(ip_address(address))
    if kind is None:
        assert reason is None
    else:
        assert reason is not None and reason.endswith(f" {kind} address"), reason


@pytest.mark.parametrize(("address", "refusal"), [
    # 6to4 (2002::/16) carries an IPv4 address that the relay forwards to.
    ("2002:7f00::1", "embeds 127.0.0.0 (6to4), a private/loopback address"),
    ("2002:7f00:1::", "embeds 127.0.0.1 (6to4), a private/loopback address"),
    ("2002:a00:1::1", "embeds 10.0.0.1 (6to4), a private/loopback address"),
    ("2002:c0a8:101::1", "embeds 192.168.1.1 (6to4), a private/loopback address"),
    ("2002:a9fe:a9fe::", "embeds 169.254.169.254 (6to4), a link-local address"),
    ("2002:808:808::1", None),
    # NAT64: the well-known prefix stands for the IPv4 address; a site's own prefix is private.
    ("64:ff9b::7f00:1", "embeds 127.0.0.1 (NAT64), a private/loopback address"),
    ("64:ff9b::a9fe:a9fe", "embeds 169.254.169.254 (NAT64), a link-local address"),
    ("64:ff9b::808:808", None),
    ("64:ff9b:1::a00:1", "is a private/loopback address"),
    # IPv4-compatible (deprecated) and Teredo forms.
    ("::127.0.0.1", "embeds 127.0.0.1 (IPv4-compatible), a private/loopback address"),
    ("::10.0.0.1", "embeds 10.0.0.1 (IPv4-compatible), a private/loopback address"),
    ("::8.8.8.8", "is a reserved address"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "(Teredo), a private/loopback address"),
    # Site-local (fec0::/10), deprecated but still routed inside some networks.
    ("fec0::1", "is a site-local address"),
    ("feff:ffff::1", "is a site-local address"),
    ("::ffff:192.168.0.1", "192.168.0.1 is a private/loopback address"),
])
def test_address_policy_sees_ipv4_inside_ipv6(address: str, refusal: str | None) -> None:
    reason = fetch_module._address_refusal(ip_address(address))
    if refusal is None:
        assert reason is None
    else:
        assert reason is not None and reason.endswith(refusal), reason


# ---------------------------------------------------------------- header parsing


NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("value", "expected"), [
    ("120", NOW + timedelta(seconds=120)),
    (" 0 ", NOW),
    ("Wed, 21 Oct 2026 07:28:00 GMT", datetime(2026, 10, 21, 7, 28, tzinfo=UTC)),
    ("Wednesday, 21-Oct-26 07:28:00 GMT", datetime(2026, 10, 21, 7, 28, tzinfo=UTC)),
    ("Wed, 25 Nov 2026 13:00:00 +0100", datetime(2026, 11, 25, 12, 0, tzinfo=UTC)),
    (None, None),
    ("", None),
    ("soon", None),
    ("-5", None),
    ("1.5", None),
    ("99999999999999999999999", None),
    ("Wed, 99 Foo 2026 07:28:00 GMT", None),
])
def test_parse_retry_after(value: str | None, expected: datetime | None) -> None:
    result = parse_retry_after(value, NOW)
    assert result == expected
    if result is not None:
        assert result.utcoffset() == timedelta(0)


def test_parse_retry_after_accepts_a_naive_now_as_utc() -> None:
    assert parse_retry_after("60", datetime(2026, 1, 1)) == datetime(2026, 1, 1, 0, 1, tzinfo=UTC)


@pytest.mark.parametrize(("value", "expected"), [
    ("max-age=300", 300),
    ("public, max-age=60, must-revalidate", 60),
    ("MAX-AGE=5", 5),
    ('max-age="30"', 30),
    ("s-maxage=100", None),
    ("s-maxage=100, max-age=20", 20),
    ("max-age=abc", None),
    ("max-age=-1", None),
    ("no-cache", None),
    ("", None),
    (None, None),
])
def test_parse_max_age(value: str | None, expected: int | None) -> None:
    assert parse_max_age(value) == expected


@pytest.mark.parametrize(("limit", "said"), [
    (10_000_000, "10 MB"), (500_000, "500 KB"), (1 << 20, "1 MiB"), (64 * 1024, "64 KiB"),
    (2_500_000, "2.5 MB"), (1234, "1,234 bytes"),
])
def test_the_size_limit_is_named_in_the_units_feeds_yaml_takes(limit: int, said: str) -> None:
    from curator.fetch import _human_size

    assert _human_size(limit) == said
