"""Request and response body codings, decoded the way a provider's server decodes them, with the
size limit applied to the *decoded* body.

mitmproxy decodes only the first member of a gzip body, and the inspection limit applied to the
compressed size lets a 100 KB gzip that inflates to 100 MB through. Here every gzip member and
zstd frame is decoded, ``deflate`` is read as zlib or raw as servers do, Transfer-Encoding codings
other than ``chunked`` are decoded too, and decoding stops as soon as the output passes the limit
(a BodyError with status 413), so a compression bomb costs at most the limit in memory."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable, Iterator

import brotli

from llm_dlp.protocols.strictjson import BodyError

try:
    from compression import zstd  # Python 3.14
except ImportError:  # pragma: no cover - mitmproxy depends on the backport below 3.14
    from backports import zstd

# Output is produced in pieces of at most this size, so memory never runs far past the limit.
STEP = 1 << 20


def codings(header: str) -> list[str]:
    """The codings of a Content-Encoding or Transfer-Encoding header, in the order applied."""
    return [c.strip().lower() for c in header.split(",") if c.strip() and c.strip().lower() != "identity"]


def decode_body(raw: bytes, content_encoding: str = "", transfer_encoding: str = "", limit: int = 32 << 20) -> bytes:
    """``raw`` with its transfer codings (but ``chunked``, which the HTTP layer removed) and content
    codings undone, last applied first; a BodyError if a coding is unknown or broken (400) or the
    decoded body would pass ``limit`` bytes (413)."""
    data = raw
    applied = codings(content_encoding) + [c for c in codings(transfer_encoding) if c != "chunked"]
    for coding in reversed(applied):
        data = _decode_one(data, coding, limit)
    if len(data) > limit:
        raise _too_large(limit)
    return data


def _decode_one(data: bytes, coding: str, limit: int) -> bytes:
    decoder = _DECODERS.get(coding)
    if decoder is None:
        raise BodyError(f"the body has an encoding the proxy cannot inspect ({coding[:20]})", "undecodable_body")
    out = bytearray()
    try:
        for piece in decoder(data):
            out += piece
            if len(out) > limit:
                raise _too_large(limit)
    except (zlib.error, brotli.error, zstd.ZstdError, EOFError, ValueError) as e:
        if isinstance(e, BodyError):
            raise
        raise BodyError(f"the body's {coding} encoding is broken or truncated", "undecodable_body") from None
    return bytes(out)


def _too_large(limit: int) -> BodyError:
    return BodyError(f"the decoded request body exceeds the inspection limit of {limit} bytes", "body_too_large", 413)


def _zlib_stream(data: bytes, wbits: int, members: bool) -> Iterator[bytes]:
    """Every member (gzip) or the one stream (zlib, raw deflate), STEP bytes at a time."""
    while True:
        d = zlib.decompressobj(wbits)
        pending = data
        while not d.eof:
            piece = d.decompress(pending, STEP)
            pending = d.unconsumed_tail
            if piece:
                yield piece
            elif not pending:
                tail = d.flush()
                if tail:
                    yield tail
                if not d.eof:
                    raise EOFError("truncated")
        data = d.unused_data
        if not data or (members and not data.strip(b"\x00")):  # gzip readers skip zero padding
            return
        if not members:
            raise ValueError("data after the stream")


def _gzip(data: bytes) -> Iterator[bytes]:
    return _zlib_stream(data, 31, members=True)


def _deflate(data: bytes) -> Iterator[bytes]:
    """HTTP ``deflate`` is zlib; some clients send raw deflate, which servers accept too."""
    wbits = 15 if len(data) >= 2 and (data[0] & 0x0F) == 8 and int.from_bytes(data[:2], "big") % 31 == 0 else -15
    return _zlib_stream(data, wbits, members=False)


def _brotli(data: bytes) -> Iterator[bytes]:
    d = brotli.Decompressor()
    piece = d.process(data, output_buffer_limit=STEP)
    while True:
        if piece:
            yield piece
        if d.is_finished():
            return
        if d.can_accept_more_data():
            raise EOFError("truncated")
        piece = d.process(b"", output_buffer_limit=STEP)


def _zstd(data: bytes) -> Iterator[bytes]:
    """Every frame, as zstd readers do."""
    while data:
        d = zstd.ZstdDecompressor()
        pending = data
        while not d.eof:
            piece = d.decompress(pending, STEP)
            pending = b""
            if piece:
                yield piece
            elif d.needs_input:
                raise EOFError("truncated")
        data = d.unused_data


_DECODERS: dict[str, Callable[[bytes], Iterator[bytes]]] = {
    "gzip": _gzip,
    "x-gzip": _gzip,
    "deflate": _deflate,
    "br": _brotli,
    "zstd": _zstd,
}
_ENCODERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": lambda b: gzip.compress(b, mtime=0),
    "x-gzip": lambda b: gzip.compress(b, mtime=0),
    "deflate": zlib.compress,
    "br": brotli.compress,
    "zstd": zstd.compress,
}


def encode_body(data: bytes, content_encoding: str) -> bytes:
    """``data`` (a redacted body) encoded again with the request's content codings, in order."""
    for coding in codings(content_encoding):
        data = _ENCODERS[coding](data)
    return data


class StreamDecoder:
    """Decodes a response stream piece by piece (``feed``), for an upstream that compresses a
    streamed answer although the proxy asked for ``identity``: the rewriter must read the events."""

    def __init__(self, content_encoding: str):
        self._codings = codings(content_encoding)
        unknown = [c for c in self._codings if c not in _DECODERS]
        if unknown:
            raise BodyError(f"the response has an encoding the proxy cannot inspect ({unknown[0][:20]})", "undecodable_body")
        self._stages = [_incremental(c) for c in reversed(self._codings)]

    def feed(self, data: bytes) -> bytes:
        for stage in self._stages:
            data = stage(data)
        return data


def _incremental(coding: str) -> Callable[[bytes], bytes]:
    if coding == "br":
        d = brotli.Decompressor()
        return lambda data: d.process(data) if data else b""
    if coding == "zstd":
        return _members(lambda: zstd.ZstdDecompressor())
    return _members(lambda: zlib.decompressobj(31 if coding in ("gzip", "x-gzip") else 15))


def _members(make) -> Callable[[bytes], bytes]:
    """Every member (gzip) or frame (zstd) in turn, as the bytes arrive."""
    state = {"d": make()}

    def feed(data: bytes) -> bytes:
        out = []
        while data:
            d = state["d"]
            out.append(d.decompress(data))
            if not d.eof:
                break
            data = d.unused_data.lstrip(b"\x00")
            state["d"] = make()
        return b"".join(out)

    return feed
