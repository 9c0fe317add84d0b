"""Cutting a streamed answer into events: server-sent events, NDJSON lines, the elements of a
streamed JSON array (Gemini without ``alt=sse``) and AWS event-stream messages (Bedrock, Amazon
Q). Each protocol picks its framings; each framing owns its encoding (``wrap``)."""

from __future__ import annotations

import base64
import json
import re
import struct
import uuid
import zlib
from typing import Any, ClassVar

# (prefix, body, suffix): body is the JSON payload (None when the event has none)
Event = tuple[bytes, bytes | None, bytes]


# ---- framing ------------------------------------------------------------------------------------
class Framing:
    """Splits a byte stream into events; ``feed`` returns complete events, each (prefix, body,
    suffix): body is the JSON payload (or None when the event has none), prefix and suffix what
    surrounds it, which ``wrap`` puts back around a (rewritten) body."""

    # True: bytes it cannot read are never passed on (a binary framing); False: they pass as they are
    fails_closed: ClassVar[bool] = False

    def __init__(self) -> None:
        self._buf = b""  # bytes of an event not yet complete
        self.failure: str | None = None  # set when the stream cannot be read on (a fail-closed framing)

    def feed(self, data: bytes) -> list[Event]:
        raise NotImplementedError

    def wrap(self, prefix: bytes, body: bytes | None, suffix: bytes) -> bytes:
        """The bytes of one event around ``body``."""
        return prefix + (body or b"") + suffix

    def rest(self) -> bytes:
        """What is left when the stream ends (an incomplete event), passed through as is."""
        rest, self._buf = self._buf, b""
        return rest

    def refusal(self, reason: str) -> bytes:
        """What ends a stream that cannot be read on, in this framing (nothing for text framings)."""
        return b""


class SseFraming(Framing):
    _END = re.compile(rb"\r\n\r\n|\n\n|\r\r")

    def feed(self, data):
        self._buf += data
        out: list[Event] = []
        while m := self._END.search(self._buf):
            event, self._buf = self._buf[: m.end()], self._buf[m.end() :]
            out.append(self._split(event[: m.start()], m.group(0)))
        return out

    @staticmethod
    def _split(event: bytes, end: bytes):
        lines = event.splitlines(keepends=True)
        data = [i for i, line in enumerate(lines) if line.startswith(b"data:")]
        if not data:
            return event + end, None, b""
        if len(data) > 1:  # one payload over several data: lines, joined by newlines (the SSE spec)
            payload = b"\n".join(_field_value(lines[i]) for i in data)
            others = b"".join(line if line.endswith((b"\n", b"\r")) else line + b"\n" for i, line in enumerate(lines) if i not in data)
            return others + b"data: ", payload, end
        i = data[0]
        line = lines[i]
        value = line[5:]
        sep = value[: len(value) - len(value.lstrip(b" "))]
        payload = value.strip()
        newline = line[len(line.rstrip(b"\r\n")) :]
        prefix = b"".join(lines[:i]) + b"data:" + sep
        return prefix, payload, newline + b"".join(lines[i + 1 :]) + end

    def wrap(self, prefix, body, suffix):
        """A joined multi-line payload goes out as data: lines again (rewritten JSON has no newline)."""
        return prefix + (body or b"").replace(b"\n", b"\ndata: ") + suffix


def _field_value(line: bytes) -> bytes:
    """An SSE field's value: after the colon, one leading space dropped, the line end dropped."""
    value = line.rstrip(b"\r\n")[5:]
    return value[1:] if value.startswith(b" ") else value


class NdjsonFraming(Framing):
    def feed(self, data):
        self._buf += data
        out: list[Event] = []
        while (i := self._buf.find(b"\n")) >= 0:
            line, self._buf = self._buf[:i], self._buf[i + 1 :]
            body = line.rstrip(b"\r")
            out.append((b"", body if body.strip() else None, line[len(body) :] + b"\n"))
        return out


class JsonArrayFraming(Framing):
    """A streamed JSON array ``[{...},\\r\\n{...}]``: each top-level element is an event."""

    def __init__(self) -> None:
        super().__init__()
        self._pos = 0  # scanned up to here
        self._start = -1  # start of the current element
        self._depth = 0
        self._in_string = self._escape = False

    def feed(self, data):
        self._buf += data
        out: list[Event] = []
        buf = self._buf
        i = self._pos
        while i < len(buf):
            c = buf[i]
            if self._in_string:
                if self._escape:
                    self._escape = False
                elif c == 0x5C:
                    self._escape = True
                elif c == 0x22:
                    self._in_string = False
            elif c == 0x22:
                self._in_string = True
            elif c in (0x7B, 0x5B):  # { [
                if self._depth == 1 and c == 0x7B and self._start < 0:
                    self._start = i
                self._depth += 1
            elif c in (0x7D, 0x5D):
                self._depth -= 1
                if self._depth == 1 and self._start >= 0:
                    out.append((buf[: self._start], buf[self._start : i + 1], b""))
                    buf = buf[i + 1 :]
                    i, self._start = -1, -1
            i += 1
        if self._start < 0 and self._depth <= 1:  # between elements: pass separators on now
            out.append((buf, None, b""))
            buf = b""
            i = 0
        self._buf, self._pos = buf, i
        return out

    def rest(self):
        self._pos = 0
        return super().rest()


# ---- AWS event stream ---------------------------------------------------------------------------
# application/vnd.amazon.eventstream: binary messages, each
#   prelude: total length u32 BE, headers length u32 BE, CRC32 of those 8 bytes
#   headers: name length u8, name, value type u8, typed value (repeated)
#   payload, then CRC32 of everything before it.
_PRELUDE = struct.Struct(">III")
_CRC = struct.Struct(">I")
_OVERHEAD = _PRELUDE.size + _CRC.size  # a message with no headers and no payload
MAX_HEADERS = 128 * 1024  # the limits AWS's SDKs enforce
MAX_PAYLOAD = 24 * 1024 * 1024
_FIXED = {2: struct.Struct(">b"), 3: struct.Struct(">h"), 4: struct.Struct(">i"), 5: struct.Struct(">q"), 8: struct.Struct(">q")}
_LENGTH = struct.Struct(">H")
UUID_TYPE, BYTES_TYPE, STRING_TYPE, TIMESTAMP_TYPE = 9, 6, 7, 8


class FramingError(ValueError):
    """The stream cannot be read on; ``kind`` names why (counted as a stream anomaly)."""

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


def parse_headers(raw: bytes) -> dict[str, Any]:
    """Header name -> value: bool, int (byte, short, integer, long), bytes, str, a timestamp as
    epoch milliseconds (int), or a UUID."""
    headers: dict[str, Any] = {}
    i = 0
    try:
        while i < len(raw):
            n = raw[i]
            encoded = raw[i + 1 : i + 1 + n]
            kind, i = raw[i + 1 + n], i + 2 + n
            name = encoded.decode()
            if not n or len(encoded) != n or name in headers:
                raise FramingError("malformed_headers")
            if kind in (0, 1):
                value: Any = kind == 0
            elif kind in _FIXED:
                (value,), i = _FIXED[kind].unpack_from(raw, i), i + _FIXED[kind].size
            elif kind in (BYTES_TYPE, STRING_TYPE):
                (size,) = _LENGTH.unpack_from(raw, i)
                value, i = raw[i + 2 : i + 2 + size], i + 2 + size
                if len(value) != size:
                    raise FramingError("malformed_headers")
                value = value.decode() if kind == STRING_TYPE else value
            elif kind == UUID_TYPE:
                if i + 16 > len(raw):
                    raise FramingError("malformed_headers")
                value, i = uuid.UUID(bytes=raw[i : i + 16]), i + 16
            else:
                raise FramingError("unknown_header_type")
            headers[name] = value
    except (IndexError, struct.error, UnicodeDecodeError):
        raise FramingError("malformed_headers") from None
    return headers


def string_headers(headers: dict[str, str]) -> bytes:
    """Headers of string values, encoded."""
    out = b""
    for name, value in headers.items():
        n, v = name.encode(), value.encode()
        out += bytes([len(n)]) + n + bytes([STRING_TYPE]) + _LENGTH.pack(len(v)) + v
    return out


def encode_message(raw_headers: bytes, payload: bytes) -> bytes:
    """One message around encoded headers and a payload, with its lengths and both CRCs."""
    prelude = struct.pack(">II", _OVERHEAD + len(raw_headers) + len(payload), len(raw_headers))
    head = prelude + _CRC.pack(zlib.crc32(prelude)) + raw_headers + payload
    return head + _CRC.pack(zlib.crc32(head))


class EventStreamFraming(Framing):
    """AWS event-stream messages (Bedrock ConverseStream, Amazon Q). An event is
    (encoded headers, JSON payload, b""); a message without a JSON payload is (message, None, b"").
    ``wrap`` re-encodes a message around a rewritten payload (new lengths, new CRCs).

    Fails closed: a bad CRC, a message over the limits, bad headers or a message cut short at the
    end of the stream stop the stream (``failure``) and nothing unread is passed on; ``refusal``
    is then sent, an exception message in the stream's own framing."""

    fails_closed = True

    def feed(self, data):
        out: list[Event] = []
        if self.failure:
            return out
        self._buf += data
        try:
            while len(self._buf) >= _PRELUDE.size:
                total, headers_length, crc = _PRELUDE.unpack_from(self._buf)
                if zlib.crc32(self._buf[:8]) != crc:
                    raise FramingError("bad_prelude_crc")
                if headers_length > MAX_HEADERS or total - headers_length - _OVERHEAD > MAX_PAYLOAD:
                    raise FramingError("oversized_message")
                if total < headers_length + _OVERHEAD:
                    raise FramingError("malformed_message")
                if len(self._buf) < total:
                    break
                message, self._buf = self._buf[:total], self._buf[total:]
                if zlib.crc32(message[:-4]) != _CRC.unpack_from(message, total - 4)[0]:
                    raise FramingError("bad_message_crc")
                raw_headers = message[_PRELUDE.size : _PRELUDE.size + headers_length]
                out.append(self._event(parse_headers(raw_headers), raw_headers, message[_PRELUDE.size + headers_length : -4], message))
        except FramingError as exc:
            self.failure, self._buf = exc.kind, b""
        return out

    def _event(self, headers: dict[str, Any], raw_headers: bytes, payload: bytes, message: bytes) -> Event:
        return (raw_headers, payload, b"") if payload[:1] == b"{" else (message, None, b"")

    def wrap(self, prefix, body, suffix):
        return prefix if body is None else encode_message(prefix, body)

    def rest(self):
        if self._buf and not self.failure:
            self.failure = "truncated_event"
        self._buf = b""
        return b""

    def refusal(self, reason: str) -> bytes:
        message = f"llm-dlp stopped this answer: its event stream could not be read ({reason}); the rest was withheld."
        headers = {":message-type": "exception", ":exception-type": "internalServerException", ":content-type": "application/json"}
        return encode_message(string_headers(headers), json.dumps({"message": message}).encode())


class BedrockChunkFraming(EventStreamFraming):
    """Bedrock InvokeModelWithResponseStream: a ``chunk`` event's payload is
    ``{"bytes": "<base64 of the model's own event JSON>", ...}``; the event body is that inner JSON,
    the suffix the payload's other members (``wrap`` encodes the body back into ``bytes``)."""

    def _event(self, headers, raw_headers, payload, message):
        if headers.get(":message-type") != "event" or headers.get(":event-type") != "chunk":
            return super()._event(headers, raw_headers, payload, message)
        try:
            outer = json.loads(payload)
            inner = base64.b64decode(outer.pop("bytes"), validate=True)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise FramingError("malformed_event") from None
        return raw_headers, inner, json.dumps(outer, separators=(",", ":")).encode()

    def wrap(self, prefix, body, suffix):
        if body is None or not suffix:
            return super().wrap(prefix, body, suffix)
        outer = {"bytes": base64.b64encode(body).decode(), **json.loads(suffix)}
        return encode_message(prefix, json.dumps(outer, separators=(",", ":")).encode())
