"""Content-Encoding decoders that inflate in bounded steps: gzip, deflate and br.

The fetcher feeds them the body as it arrives and reads at most a limit at a time, so a
compression bomb is refused after the limit, never inflated whole. Raises DecodeError.
"""

from __future__ import annotations

import zlib
from typing import Protocol

import brotli


class DecodeError(Exception):
    """A body that cannot be decoded: an unsupported, corrupt or truncated encoding."""


class Decoder(Protocol):
    def feed(self, data: bytes) -> None: ...

    def read(self, limit: int) -> bytes:
        """Return up to limit inflated bytes; b"" when more input is needed."""

    def finish(self) -> None:
        """Raise DecodeError when the input stopped before the compressed stream ended."""


def decoder_for(content_encoding: str) -> Decoder | None:
    codings = [c.strip().lower() for c in content_encoding.split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if not codings:
        return None
    if len(codings) == 1:
        coding = codings[0]
        if coding in ("gzip", "x-gzip"):
            return ZlibDecoder("gzip")
        if coding == "deflate":
            return ZlibDecoder("deflate")
        if coding == "br":
            return BrotliDecoder()
    raise DecodeError(f"unsupported content encoding {content_encoding!r}")


class ZlibDecoder:
    """gzip (including concatenated members) and deflate, zlib-wrapped or raw."""

    def __init__(self, coding: str) -> None:
        self._coding = coding
        self._pending = b""
        self._obj: zlib._Decompress | None = None
        self._members = 0  # completed gzip members
        self._done = False  # stream over; anything after it is ignored
        self._seen_input = False

    def feed(self, data: bytes) -> None:
        if data:
            self._seen_input = True
            if not self._done:
                self._pending += data

    def _start(self) -> bool:
        """Create the decompressor for the next stream/member once its header is visible."""
        data = self._pending
        if self._coding == "gzip":
            if not data:
                return False
            if self._members:
                if data == b"\x1f":
                    return False  # the next member's magic may be split across reads
                if data[:2] != b"\x1f\x8b":
                    # Trailing padding after a complete gzip stream: browsers ignore it too.
                    self._done, self._pending = True, b""
                    return False
            self._obj = zlib.decompressobj(16 + zlib.MAX_WBITS)
            return True
        # "deflate" is meant to be zlib-wrapped, but many servers send raw deflate.
        if len(data) < 2:
            return False
        wrapped = data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
        self._obj = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        return True

    def read(self, limit: int) -> bytes:
        """Return up to limit inflated bytes; b"" when more input is needed."""
        while not self._done:
            if self._obj is None and not self._start():
                return b""
            obj = self._obj
            assert obj is not None
            before = len(self._pending)
            try:
                out = obj.decompress(self._pending, limit)
            except zlib.error as e:
                raise DecodeError(f"corrupt {self._coding}-encoded body ({e})") from e
            self._pending = obj.unconsumed_tail
            if obj.eof:
                self._pending = obj.unused_data + self._pending
                self._obj = None
                self._members += 1
                if self._coding != "gzip":
                    self._done, self._pending = True, b""
            if out:
                return out
            if self._obj is not None and len(self._pending) >= before:
                return b""  # no progress possible without more input
        return b""

    def finish(self) -> None:
        """Raise DecodeError when the input stopped before the compressed stream ended."""
        if not self._seen_input or self._done:
            return
        # Mid-stream, or not even one whole stream; a stray byte after a complete gzip
        # member is padding, not truncation.
        if self._obj is not None or self._members == 0:
            raise DecodeError(f"the {self._coding}-encoded body is truncated")


class BrotliDecoder:
    """br, with the output of each step capped where the Brotli binding allows it."""

    # Brotli < 1.2 cannot cap output; feeding it small slices is the best we can do there.
    _OLD_SLICE = 1024

    def __init__(self) -> None:
        self._obj = brotli.Decompressor()
        self._pending = b""
        self._bounded = hasattr(self._obj, "can_accept_more_data")
        self._seen_input = False

    def feed(self, data: bytes) -> None:
        if data:
            self._seen_input = True
            self._pending += data

    def read(self, limit: int) -> bytes:
        """Return up to about limit inflated bytes; b"" when more input is needed."""
        try:
            return self._read(limit)
        except brotli.error as e:
            raise DecodeError(f"corrupt br-encoded body ({e})") from e

    def _read(self, limit: int) -> bytes:
        obj = self._obj
        if not self._bounded:
            while self._pending:
                data = self._pending[: self._OLD_SLICE]
                self._pending = self._pending[self._OLD_SLICE:]
                out: bytes = obj.process(data)
                if out:
                    return out
            return b""
        while True:
            if not obj.can_accept_more_data():
                # Output held back by the cap; it must be drained before new input.
                out = obj.process(b"", output_buffer_limit=limit)
                if not out:
                    return b""  # never spin; finish() reports a stream that did not end
            elif self._pending:
                data, self._pending = self._pending, b""
                out = obj.process(data, output_buffer_limit=limit)
            else:
                return b""
            if out:
                return out

    def finish(self) -> None:
        """Raise DecodeError when the input stopped before the compressed stream ended."""
        finished = getattr(self._obj, "is_finished", None)
        if self._seen_input and finished is not None and not finished():
            raise DecodeError("the br-encoded body is truncated")
