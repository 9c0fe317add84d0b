"""Cutting a streamed answer into events: server-sent events, NDJSON lines, and the elements of a
streamed JSON array (Gemini without ``alt=sse``). Each protocol picks its framings."""

from __future__ import annotations

import re

# (prefix, body, suffix): body is the JSON payload (None when the event has none)
Event = tuple[bytes, bytes | None, bytes]


# ---- framing ------------------------------------------------------------------------------------
class Framing:
    """Splits a byte stream into events; ``feed`` returns complete events, each (prefix, body,
    suffix): body is the JSON payload (or None when the event has none), prefix and suffix the
    bytes around it, passed through as they were."""

    def __init__(self) -> None:
        self._buf = b""  # bytes of an event not yet complete

    def feed(self, data: bytes) -> list[Event]:
        raise NotImplementedError

    def rest(self) -> bytes:
        """What is left when the stream ends (an incomplete event), passed through as is."""
        rest, self._buf = self._buf, b""
        return rest

    def passthrough(self, prefix: bytes, body: bytes | None, suffix: bytes) -> bytes:
        """An event whose body is not rewritten, as it goes out."""
        return prefix + (body or b"") + suffix


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


    def passthrough(self, prefix, body, suffix):
        """A joined multi-line payload goes out as data: lines again."""
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


