"""HTTP for polling: conditional GET, limits, manual redirects and Retry-After; never parses."""

from __future__ import annotations

import asyncio
import errno
import functools
import ipaddress
import os
import re
import socket
import ssl
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from types import TracebackType
from typing import Self

from yarl import URL

from curator import clock
from curator.decode import DecodeError, Decoder, decoder_for
from curator.polltypes import Fetched, FetchError, FetchRequest, FetchResult, NotModified
from curator.types import FetchSettings

#: Where OpenSSL looks for the system's CA certificates when a context asks for the defaults.
_CA_PLACES = ("SSL_CERT_FILE", "SSL_CERT_DIR")


@contextmanager
def _no_system_cas() -> Iterator[None]:
    """While aiohttp is imported: OpenSSL finds no CA certificates where it looks by default.

    aiohttp builds two TLS contexts when it is imported, each reading the whole system CA file
    (about 20 ms of CPU apiece, a tenth of a round of 304s), whether or not any feed is https.
    curator never lets aiohttp use them: every https request carries curator's own verifying
    context (`verified_context`), built when the first https request needs it. So aiohttp's
    two are built empty here, by pointing OpenSSL's two environment variables at nothing for
    the length of the import; they are restored after it. Only while this process has one
    thread (`curator poll`), so no other thread reads the environment meanwhile; otherwise
    (`curator run`, the desk, or aiohttp already loaded) aiohttp is imported as it stands.
    """
    if "aiohttp" in sys.modules or threading.active_count() > 1:
        yield
        return
    saved = {name: os.environ.get(name) for name in _CA_PLACES}
    os.environ.update(dict.fromkeys(_CA_PLACES, os.devnull))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


with _no_system_cas():
    import aiohttp
    from aiohttp.abc import AbstractResolver, ResolveResult
    from aiohttp.resolver import DefaultResolver

__all__ = ["Fetcher", "parse_max_age", "parse_retry_after", "verified_context"]

ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/rdf+xml;q=0.9, application/xml;q=0.8, text/xml;q=0.8, "
    "application/json;q=0.8, */*;q=0.1"
)
ACCEPT_ENCODING = "gzip, deflate, br"

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT = frozenset({301, 308})
# Largest slice inflated at once: big enough to be cheap, small enough that a bomb never
# materialises more than this beyond max_bytes.
_INFLATE_STEP = 256 * 1024
_READ_CHUNK = 64 * 1024

_IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


# ---------------------------------------------------------------- public helpers


@functools.cache
def verified_context() -> ssl.SSLContext:
    """The TLS context of every https request: it verifies the server's certificate against
    the system's CA certificates (read once per process, when the first https request needs
    them; `SSL_CERT_FILE` and `SSL_CERT_DIR` are honoured as they are then), as aiohttp's
    default context would."""
    context = ssl.create_default_context()
    context.set_alpn_protocols(("http/1.1",))
    return context


def parse_retry_after(value: str | None, now: datetime) -> datetime | None:
    """Turn a Retry-After value (delta-seconds or HTTP-date) into an aware UTC datetime."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    if re.fullmatch(r"[0-9]+", value):
        try:
            return (now + timedelta(seconds=int(value))).astimezone(UTC)
        except OverflowError:
            return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        # "-0000" and zone-less forms: HTTP dates are always GMT.
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


_MAX_AGE = re.compile(r'(?:^|,)\s*max-age\s*=\s*"?([0-9]+)"?\s*(?:,|$)', re.IGNORECASE)


def parse_max_age(cache_control: str | None) -> int | None:
    """Return the max-age of a Cache-Control header in seconds, or None."""
    if not cache_control:
        return None
    match = _MAX_AGE.search(cache_control)
    return int(match.group(1)) if match else None


# ---------------------------------------------------------------- the fetcher


class Fetcher:
    """One HTTP session for a poll; fetch() turns every outcome into a FetchResult."""

    def __init__(self, settings: FetchSettings, *,
                 now: Callable[[], datetime] | None = None) -> None:
        self._settings = settings
        # The caller's clock (the poll's), so a Retry-After in seconds agrees with its schedule.
        self._now = now or clock.now
        self._session: aiohttp.ClientSession | None = None
        self._resolver: _GuardedResolver | None = None
        self._slots: _Slots | None = None
        #: Building `verified_context` in a thread (it reads files), shared by the requests
        #: that need it meanwhile.
        self._tls: asyncio.Future[ssl.SSLContext] | None = None

    async def _context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = asyncio.ensure_future(asyncio.to_thread(verified_context))
        return await asyncio.shield(self._tls)

    async def __aenter__(self) -> Self:
        s = self._settings
        self._resolver = _GuardedResolver(block_private=s.block_private_addresses)
        connector = aiohttp.TCPConnector(
            limit=s.concurrency,
            limit_per_host=s.per_host,
            resolver=self._resolver,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers={
                "User-Agent": s.user_agent,
                "Accept": ACCEPT,
                "Accept-Encoding": ACCEPT_ENCODING,
            },
            # We inflate ourselves so max_bytes bounds memory whatever aiohttp version is
            # installed, and so a truncated gzip stream is an error rather than a short body.
            auto_decompress=False,
            # The deadline is ours (asyncio.timeout) so that it starts after the queue wait.
            timeout=aiohttp.ClientTimeout(total=None, connect=None, sock_connect=None,
                                          sock_read=None),
            # Sources are independent: no cookies carried from one feed to another.
            cookie_jar=aiohttp.DummyCookieJar(),
            # An environment proxy would hide the real address from the private-address check.
            trust_env=False,
            # Flow control pauses the socket past this, so a slow consumer never buffers much.
            read_bufsize=_READ_CHUNK,
        )
        self._slots = _Slots(s.concurrency, s.per_host)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()
        if self._resolver is not None:
            await self._resolver.close()  # a connector never closes a resolver it was given
        self._session = None
        self._resolver = None
        self._slots = None

    async def fetch(self, req: FetchRequest) -> FetchResult:
        """Fetch one source; every failure comes back as a FetchError, never an exception."""
        if self._session is None or self._slots is None:
            raise RuntimeError("Fetcher.fetch() called outside 'async with Fetcher(...)'")
        trail = _Trail()
        try:
            url = _parse_url(req.url)
            async with self._slots.hold(_host_key(url)):
                # The clock starts once we hold a slot: waiting behind other sources of the
                # same host is not this server's slowness.
                async with asyncio.timeout(self._settings.timeout):
                    return await self._follow(self._session, req, url, trail)
        except _Failure as e:
            status = e.status if e.status is not None else trail.status
            return FetchError(req.url, trail.permanent_url, status, e.message,
                              retry_after=e.retry_after, gone=e.gone)
        except TimeoutError:
            message = f"timed out after {self._settings.timeout:g}s"
            return FetchError(req.url, trail.permanent_url, trail.status, message)
        except Exception as e:  # noqa: BLE001 - the contract is "never raises"
            return FetchError(req.url, trail.permanent_url, trail.status,
                              _describe(e, trail.current))

    async def _follow(self, session: aiohttp.ClientSession, req: FetchRequest, url: URL,
                      trail: _Trail) -> Fetched | NotModified:
        headers = {}
        if req.accept:
            headers["Accept"] = req.accept
        if req.etag:
            headers["If-None-Match"] = req.etag
        if req.last_modified:
            headers["If-Modified-Since"] = req.last_modified
        seen = {_visit_key(url)}
        hops = 0
        leading = True  # every hop so far was a 301/308
        while True:
            trail.current = url
            _check_target(url, self._settings.block_private_addresses)
            # https: curator's own verifying context, never aiohttp's (see _no_system_cas).
            tls = await self._context() if url.scheme == "https" else True
            async with session.get(url, headers=headers, allow_redirects=False,
                                   ssl=tls) as resp:
                trail.status = resp.status
                if hops and leading:
                    # Only a URL that answered is offered as the feed's new home, never one
                    # we refused or could not reach.
                    trail.permanent_url = str(url)
                if resp.status not in _REDIRECTS:
                    return await self._respond(req, url, resp, trail)
                target = _redirect_target(url, resp)
                if _visit_key(target) in seen:
                    raise _Failure(f"redirect loop: {target} was already visited",
                                   resp.status)
                if hops >= self._settings.max_redirects:
                    raise _Failure(
                        f"too many redirects (more than {self._settings.max_redirects})",
                        resp.status)
            hops += 1
            seen.add(_visit_key(target))
            leading = leading and resp.status in _PERMANENT
            url = target

    async def _respond(self, req: FetchRequest, url: URL, resp: aiohttp.ClientResponse,
                       trail: _Trail) -> Fetched | NotModified:
        status = resp.status
        headers = _lower_headers(resp)
        if status == 304:
            # A 304 need not repeat the validators; keep the ones we sent rather than
            # making the store forget them.
            return NotModified(
                url=req.url,
                permanent_url=trail.permanent_url,
                status=status,
                etag=headers.get("etag") or req.etag,
                last_modified=headers.get("last-modified") or req.last_modified,
                max_age=parse_max_age(headers.get("cache-control")),
            )
        label = _status_label(status, resp.reason)
        if status == 410:
            raise _Failure(f"gone ({label}): the server says this feed was removed for good",
                           status, gone=True)
        if status in (429, 503):
            retry_after = parse_retry_after(headers.get("retry-after"), self._now())
            raise _Failure(label, status, retry_after=retry_after)
        if status >= 400:
            raise _Failure(label, status)
        if status in (204, 205):
            raise _Failure(f"no content ({label})", status)
        if status not in (200, 203):
            raise _Failure(f"unexpected {label}", status)
        content = await _read_body(resp, headers, self._settings.max_bytes)
        if not content:
            raise _Failure(f"empty response ({label} with no body)", status)
        return Fetched(
            url=req.url,
            final_url=str(url),
            permanent_url=trail.permanent_url,
            status=status,
            content=content,
            headers=headers,
            etag=headers.get("etag"),
            last_modified=headers.get("last-modified"),
            max_age=parse_max_age(headers.get("cache-control")),
        )


# ---------------------------------------------------------------- internals


class _Failure(Exception):
    """A fetch outcome that becomes a FetchError; raised only inside this module."""

    def __init__(self, message: str, status: int | None = None, *,
                 retry_after: datetime | None = None, gone: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after = retry_after
        self.gone = gone


class _Refused(Exception):
    """An address the settings forbid; not an OSError so aiohttp passes it through unwrapped."""


class _Trail:
    """What is known so far about a fetch, for the error that may end it."""

    def __init__(self) -> None:
        self.current: URL | None = None
        self.status: int | None = None
        self.permanent_url: str | None = None


class _Slots:
    """Admission control, so a request's deadline excludes time queued behind others."""

    def __init__(self, total: int, per_host: int) -> None:
        self._total = asyncio.Semaphore(max(1, total))
        self._per_host = max(1, per_host)
        # host -> (semaphore, fetches using it); dropped when unused so the map stays small.
        self._hosts: dict[str, tuple[asyncio.Semaphore, int]] = {}

    @asynccontextmanager
    async def hold(self, host: str) -> AsyncIterator[None]:
        entry = self._hosts.get(host)
        sem, users = entry if entry else (asyncio.Semaphore(self._per_host), 0)
        self._hosts[host] = (sem, users + 1)
        try:
            # Host first: a fetch stuck behind its host must not sit on a global slot.
            async with sem, self._total:
                yield
        finally:
            sem, users = self._hosts[host]
            if users <= 1:
                del self._hosts[host]
            else:
                self._hosts[host] = (sem, users - 1)


class _GuardedResolver(AbstractResolver):
    """The default resolver, plus the private-address policy applied to what it returns."""

    def __init__(self, block_private: bool) -> None:
        self._inner = DefaultResolver()
        self._block_private = block_private

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        """Resolve host, refusing forbidden addresses when the policy is on."""
        # RFC 6761: .invalid never resolves; answering at once spares a DNS round trip
        # (or a resolver timeout on a machine without DNS).
        if host.rstrip(".").lower().endswith(".invalid") or host.lower() == "invalid":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        results = await self._inner.resolve(host, port, family)
        if self._block_private:
            # Checked here, on the addresses the connector will actually dial, so a name
            # cannot resolve to one address for the check and another for the connection.
            for result in results:
                reason = _address_refusal(ipaddress.ip_address(result["host"]))
                if reason:
                    raise _Refused(reason)
        return results

    async def close(self) -> None:
        """Release the wrapped resolver."""
        await self._inner.close()


# NAT64 (RFC 6052): 64:ff9b::/96 carries an IPv4 address in its last 32 bits; the translator
# forwards to that address, so that address is what is judged. 64:ff9b:1::/48 (RFC 8215) is a
# site's own translator, a private range whatever it embeds.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
# IPv4-compatible addresses (::a.b.c.d, RFC 4291 2.5.5.1, deprecated): some stacks still route
# them to the IPv4 address.
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[tuple[str, ipaddress.IPv4Address]]:
    """The IPv4 addresses an IPv6 address leads to, with the form that carries each."""
    found: list[tuple[str, ipaddress.IPv4Address]] = []
    if ip.sixtofour is not None:
        found.append(("6to4", ip.sixtofour))
    if ip.teredo is not None:
        server, client = ip.teredo
        found += [("Teredo", server), ("Teredo", client)]
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _NAT64:
        found.append(("NAT64", low32))
    elif ip in _IPV4_COMPATIBLE and int(ip) > 1:  # not :: nor ::1
        found.append(("IPv4-compatible", low32))
    return found


def _address_kind(ip: _IPAddress) -> str | None:
    """Which forbidden kind of range ip is in, judged on ip alone; None for a public address."""
    # Most specific first: ipaddress counts link-local and reserved ranges as private too,
    # and ::1 as reserved.
    if ip.is_loopback:
        return "private/loopback"
    if ip.is_link_local:
        return "link-local"
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return "site-local"  # fec0::/10: deprecated, yet still routed inside some sites
    if ip.is_multicast:
        return "multicast"
    if ip.is_unspecified:
        return "unspecified"
    if isinstance(ip, ipaddress.IPv6Address) and ip in _NAT64_LOCAL:
        return "private/loopback"
    if ip.is_reserved:
        return "reserved"
    if ip.is_private:
        return "private/loopback"
    if not ip.is_global:
        return "non-public"  # e.g. 100.64.0.0/10, carrier-grade NAT
    return None


def _address_refusal(ip: _IPAddress) -> str | None:
    """Why an address may not be fetched under block_private_addresses, or None."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    if isinstance(ip, ipaddress.IPv6Address):
        for form, inner in _embedded_ipv4(ip):
            kind = _address_kind(inner)
            if kind:
                return f"refused: {ip} embeds {inner} ({form}), {_a(kind)} address"
        if ip in _NAT64:
            # It stands for the IPv4 address alone, judged above; Python calls it reserved.
            return None
    kind = _address_kind(ip)
    return f"refused: {ip} is {_a(kind)} address" if kind else None


def _a(kind: str) -> str:
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"


def _parse_url(raw: str) -> URL:
    try:
        url = URL(raw.strip())
    except (ValueError, TypeError) as e:
        raise _Failure(f"invalid URL {raw!r}: {e}") from e
    return url.with_fragment(None)


def _check_target(url: URL, block_private: bool) -> None:
    """Refuse a URL we must not request: other schemes, forbidden literal addresses."""
    if url.scheme not in ("http", "https"):
        shown = url.scheme or "none"
        raise _Failure(f"unsupported URL scheme {shown!r}: only http and https are fetched")
    if not url.host:
        raise _Failure(f"invalid URL {str(url)!r}: no host")
    if block_private:
        # aiohttp never sends IP literals through the resolver, so check them here.
        try:
            ip = ipaddress.ip_address(url.host.split("%", 1)[0])
        except ValueError:
            return
        reason = _address_refusal(ip)
        if reason:
            raise _Failure(reason)


def _host_key(url: URL) -> str:
    return f"{(url.host or '').lower()}:{url.port}"


def _visit_key(url: URL) -> str:
    return str(url.with_fragment(None))


def _redirect_target(url: URL, resp: aiohttp.ClientResponse) -> URL:
    location = resp.headers.get("Location", "").strip()
    if not location:
        raise _Failure(f"{_status_label(resp.status, resp.reason)} without a Location header",
                       resp.status)
    try:
        target = url.join(URL(location))
    except (ValueError, TypeError) as e:
        raise _Failure(f"redirect to an invalid URL {location!r}", resp.status) from e
    return target.with_fragment(None)


def _status_label(status: int, reason: str | None) -> str:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        # Unregistered code: the server's own words, if printable.
        phrase = (reason or "").strip()[:60]
        phrase = phrase if phrase.isprintable() else ""
    return f"HTTP {status} {phrase}".rstrip()


def _lower_headers(resp: aiohttp.ClientResponse) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in resp.headers.items():
        key = name.lower()
        # Repeated fields combine as a comma-separated list (RFC 9110 5.3).
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers


def _human_size(n: int) -> str:
    """A byte count in the units feeds.yaml takes (`10MB` is 10,000,000 bytes, `1MiB` 1,048,576)."""
    for unit, size in (("GB", 10**9), ("MB", 10**6), ("GiB", 1 << 30), ("MiB", 1 << 20),
                       ("KiB", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    if n >= 10**6:
        return f"{n / 10**6:.1f} MB"
    return f"{n // 1000} KB" if n >= 1000 and n % 1000 == 0 else f"{n:,} bytes"


async def _read_body(resp: aiohttp.ClientResponse, headers: dict[str, str],
                     max_bytes: int) -> bytes:
    """Read and inflate the body in bounded steps, failing as soon as it passes max_bytes."""
    too_large = f"response larger than {_human_size(max_bytes)}"
    try:
        return await _inflate(resp, decoder_for(headers.get("content-encoding", "")),
                              max_bytes, too_large)
    except DecodeError as e:
        raise _Failure(str(e)) from e


async def _inflate(resp: aiohttp.ClientResponse, decoder: Decoder | None, max_bytes: int,
                   too_large: str) -> bytes:
    if decoder is None and resp.content_length is not None and resp.content_length > max_bytes:
        raise _Failure(too_large, resp.status)
    parts: list[bytes] = []
    total = 0

    def take(piece: bytes) -> None:
        nonlocal total
        total += len(piece)
        if total > max_bytes:
            raise _Failure(too_large, resp.status)
        parts.append(piece)

    def drain(dec: Decoder) -> None:
        # Ask for at most one byte past the limit: enough to know it was passed.
        while piece := dec.read(min(_INFLATE_STEP, max_bytes - total + 1)):
            take(piece)

    async for chunk in resp.content.iter_chunked(_READ_CHUNK):
        if decoder is None:
            take(chunk)
        else:
            decoder.feed(chunk)
            drain(decoder)
    if decoder is not None:
        drain(decoder)
        decoder.finish()
    return b"".join(parts)


def _find(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    """The first exception of kind in exc's cause/context chain."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


_SSL_NOISE = re.compile(r"^\[[A-Z_]+: [A-Z_]+\]\s*|\s*\(_ssl\.c:\d+\)$")


def _one_line(text: str, limit: int = 160) -> str:
    """The first meaningful line of an exception's text (aiohttp's parser adds carets)."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    line = re.sub(r":\s*b['\"].*$", "", line)  # drop echoed raw bytes
    line = line.rstrip(":").strip()
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _where(url: URL | None) -> tuple[str, str]:
    """(host, host:port) of url for messages, IPv6 literals bracketed."""
    if url is None or not url.host:
        return "the server", "the server"
    host = url.host
    shown = f"[{host}]" if ":" in host else host
    return host, f"{shown}:{url.port}"


def _ssl_detail(exc: BaseException) -> str:
    found = _find(exc, ssl.SSLError)
    ssl_error = found if isinstance(found, ssl.SSLError) else None
    if isinstance(exc, aiohttp.ClientConnectorError) and isinstance(exc.os_error, ssl.SSLError):
        ssl_error = exc.os_error  # the library's own error, not aiohttp's wrapper text
    if ssl_error is None:
        return _one_line(str(exc))
    text = ssl_error.args[1] if len(ssl_error.args) > 1 else str(ssl_error)
    return _one_line(_SSL_NOISE.sub("", str(text))) or str(ssl_error.reason)


def _describe(exc: Exception, url: URL | None) -> str:
    """Plain words for a network failure, naming the cause."""
    host, where = _where(url)
    refused = _find(exc, _Refused)
    if refused is not None:
        return str(refused)
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        cert_error = exc.certificate_error
        detail = getattr(cert_error, "verify_message", None) or _one_line(str(cert_error))
        return f"TLS/certificate verification failed for {host}: {detail}"
    if isinstance(exc, aiohttp.ClientSSLError) or _find(exc, ssl.SSLError) is not None:
        return f"TLS/certificate error: handshake with {where} failed ({_ssl_detail(exc)})"
    if isinstance(exc, aiohttp.ClientConnectorError):
        os_error = exc.os_error
        if isinstance(os_error, socket.gaierror):
            return f"name does not resolve: {host}"
        if isinstance(os_error, ConnectionRefusedError):
            return f"connection refused by {where}"
        return f"could not connect to {where}: {_one_line(os_error.strerror or str(os_error))}"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return (f"the connection to {where} closed before the whole body arrived "
                f"(truncated response)")
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return f"{where} closed the connection without a complete response"
    if isinstance(exc, ConnectionResetError) or (
            isinstance(exc, OSError) and exc.errno == errno.ECONNRESET):
        return f"connection reset by {where}"
    if isinstance(exc, aiohttp.InvalidURL):
        return f"invalid URL: {_one_line(str(exc))}"
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"malformed HTTP response from {where}: {_one_line(exc.message)}"
    if isinstance(exc, OSError):
        return f"network error talking to {where}: {_one_line(exc.strerror or str(exc))}"
    return f"unexpected error fetching from {where}: {type(exc).__name__}: {_one_line(str(exc))}"
