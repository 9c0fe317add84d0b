"""Rewriting streamed responses event by event: restore placeholders (also when the model splits
one over several events), redact secrets the model emits, and pass everything else through.

The stream is cut into events (SSE, NDJSON or a streamed JSON array). In each event the
protocol's *delta* fields (text and tool-argument fragments) feed per-channel text buffers; a
channel holds back only the trailing run of non-space characters, because a placeholder or a
secret may continue in the next event. Every event is emitted as soon as it is complete, with
its delta shortened where something is held back. What is still held when the channel moves on
goes out in a small event of the same protocol shape, built from the last one."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from llm_dlp.protocols.base import set_at, string_leaves

# A held fragment longer than this is released anyway: no placeholder is that long.
MAX_HOLD = 512
_TRAILING_WORD = re.compile(r"\S+\Z")


# ---- framing ------------------------------------------------------------------------------------
class Framing:
    """Splits a byte stream into events; ``feed`` returns complete events, each (prefix, body,
    suffix): body is the JSON payload (or None when the event has none), prefix and suffix the
    bytes around it, passed through as they were."""

    def __init__(self) -> None:
        self._buf = b""  # bytes of an event not yet complete

    def feed(self, data: bytes) -> list[tuple[bytes, bytes | None, bytes]]:
        raise NotImplementedError

    def rest(self) -> bytes:
        """What is left when the stream ends (an incomplete event), passed through as is."""
        rest, self._buf = self._buf, b""
        return rest


class SseFraming(Framing):
    _END = re.compile(rb"\r\n\r\n|\n\n|\r\r")

    def feed(self, data):
        self._buf += data
        out = []
        while m := self._END.search(self._buf):
            event, self._buf = self._buf[: m.end()], self._buf[m.end() :]
            out.append(self._split(event[: m.start()], m.group(0)))
        return out

    @staticmethod
    def _split(event: bytes, end: bytes):
        lines = event.splitlines(keepends=True)
        data = [i for i, line in enumerate(lines) if line.startswith(b"data:")]
        if len(data) != 1:  # no data, or multi-line data: not ours to rewrite
            return event + end, None, b""
        i = data[0]
        line = lines[i]
        value = line[5:]
        sep = value[: len(value) - len(value.lstrip(b" "))]
        payload = value.strip()
        newline = line[len(line.rstrip(b"\r\n")) :]
        prefix = b"".join(lines[:i]) + b"data:" + sep
        return prefix, payload, newline + b"".join(lines[i + 1 :]) + end


class NdjsonFraming(Framing):
    def feed(self, data):
        self._buf += data
        out = []
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
        out = []
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


def framing_for(content_type: str, path: str) -> Framing | None:
    if "event-stream" in content_type:
        return SseFraming()
    if "ndjson" in content_type or "jsonl" in content_type:
        return NdjsonFraming()
    if "json" in content_type and "streamGenerateContent" in path:
        return JsonArrayFraming()
    return None


# ---- where the deltas are -------------------------------------------------------------------
@dataclass(frozen=True)
class Delta:
    key: tuple  # the channel: same key in consecutive events = one growing text
    path: tuple  # where the fragment sits in the event
    is_json: bool  # the fragment is JSON source (tool arguments): restored values are escaped


def _get(doc: Any, path: tuple) -> Any:
    for p in path:
        doc = doc[p]
    return doc


def find_deltas(doc: Any) -> list[Delta]:
    """The delta fields of one streamed event, for every protocol llm-dlp adapts."""
    if not isinstance(doc, dict):
        return []
    out: list[Delta] = []
    kind = doc.get("type")
    # Anthropic Messages
    if kind == "content_block_delta" and isinstance(doc.get("delta"), dict):
        for name in ("text", "partial_json", "thinking"):
            if isinstance(doc["delta"].get(name), str):
                out.append(Delta(("block", doc.get("index")), ("delta", name), name == "partial_json"))
        return out
    # OpenAI Responses
    if isinstance(kind, str) and kind.startswith("response.") and kind.endswith(".delta") and isinstance(doc.get("delta"), str):
        key = ("item", doc.get("item_id"), doc.get("output_index"), doc.get("content_index"))
        return [Delta(key, ("delta",), "arguments" in kind)]
    # OpenAI Chat Completions and legacy Completions (Copilot)
    for i, choice in enumerate(doc.get("choices") or []):
        if not isinstance(choice, dict):
            continue
        index = choice.get("index", i)
        if isinstance(choice.get("text"), str):
            out.append(Delta(("choice", index), ("choices", i, "text"), False))
        delta = choice.get("delta")
        if not isinstance(delta, dict):
            continue
        for name in ("content", "reasoning_content"):
            if isinstance(delta.get(name), str):
                out.append(Delta(("choice", index, name), ("choices", i, "delta", name), False))
        for j, call in enumerate(delta.get("tool_calls") or []):
            fn = call.get("function") if isinstance(call, dict) else None
            if isinstance(fn, dict) and isinstance(fn.get("arguments"), str):
                key = ("tool", index, call.get("index", j))
                out.append(Delta(key, ("choices", i, "delta", "tool_calls", j, "function", "arguments"), True))
    # Gemini (also wrapped by Code Assist as {"response": {...}})
    inner, base = (doc["response"], ("response",)) if isinstance(doc.get("response"), dict) else (doc, ())
    for i, cand in enumerate(inner.get("candidates") or []):
        parts = ((cand or {}).get("content") or {}).get("parts") or []
        for j, part in enumerate(parts):
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                out.append(Delta(("cand", cand.get("index", i), j), base + ("candidates", i, "content", "parts", j, "text"), False))
    # Ollama
    if isinstance(doc.get("message"), dict) and isinstance(doc["message"].get("content"), str):
        out.append(Delta(("ollama",), ("message", "content"), False))
    elif isinstance(doc.get("response"), str):
        out.append(Delta(("ollama",), ("response",), False))
    return out


_SKELETON_KEYS = {"index", "type"}
_DROP_TOP = {"usage", "usageMetadata", "finish_reason", "finishReason", "done", "done_reason", "logprobs", "obfuscation"}


def skeleton(doc: dict, path: tuple, text: str) -> dict:
    """A minimal event like ``doc`` carrying only ``text`` at ``path``: identifying scalars at
    the top, ``index``/``type`` below, nothing a client would add up twice."""
    out = {k: v for k, v in doc.items() if not isinstance(v, (dict, list)) and k not in _DROP_TOP}
    src, dst = doc, out
    for n, step in enumerate(path[:-1]):
        nxt_src = src[step]
        nxt_dst: Any = [] if isinstance(nxt_src, list) else {k: v for k, v in nxt_src.items() if k in _SKELETON_KEYS}
        if isinstance(dst, list):
            dst.append(nxt_dst)
        else:
            dst[step] = nxt_dst
        src, dst = nxt_src, nxt_dst
    if isinstance(dst, list):
        dst.append(text)
    else:
        dst[path[-1]] = text
    if "done" in doc:  # Ollama: more is coming
        out["done"] = False
    return out


# ---- channels ---------------------------------------------------------------------------------
@dataclass
class Channel:
    held: str = ""
    template: tuple[bytes, dict, bytes, Delta] | None = None  # last event of this channel
    text: list[str] = field(default_factory=list)  # everything released, for package checks


class StreamRewriter:
    """A mitmproxy stream callable (``bytes -> bytes``, ``b""`` at the end)."""

    def __init__(self, framing: Framing, process: Callable[[str, str, bool], str], on_anomaly: Callable[[str], None] = lambda r: None,
                 on_channel_end: Callable[[str, Channel], str] = lambda key, ch: "", on_event: Callable[[Any], None] = lambda doc: None):
        """``process(text, context, is_json)`` turns released model text into what the client gets
        (output redaction, restoration); ``context`` is recent text of the channel.
        ``on_channel_end`` may return text to append to the channel (a warning note)."""
        self._framing = framing
        self._process = process
        self._on_anomaly = on_anomaly
        self._on_channel_end = on_channel_end
        self._on_event = on_event
        self._channels: dict[tuple, Channel] = {}
        self._last_key: tuple | None = None

    def __call__(self, chunk: bytes) -> bytes:
        out = [self._event(*event) for event in self._framing.feed(chunk)]
        if not chunk:  # end of the stream
            out.append(self._flush_all())
            rest = self._framing.rest()
            if rest.strip():
                self._on_anomaly("truncated_event")
            out.append(rest)
        return b"".join(out)

    def salvage(self) -> bytes:
        """The raw bytes not yet passed on (after a failure)."""
        return self._framing.rest()

    def _event(self, prefix: bytes, body: bytes | None, suffix: bytes) -> bytes:
        doc = None
        if body is not None and body[:1] == b"{":
            try:
                doc = json.loads(body)
            except ValueError:
                self._on_anomaly("malformed_event")
        if doc is not None:
            self._on_event(doc)
        deltas = find_deltas(doc)
        keys = {d.key for d in deltas}
        flushed = self._flush_all(keep=keys)
        if doc is None:
            return flushed + prefix + (body or b"") + suffix
        for d in deltas:
            channel = self._channels.setdefault(d.key, Channel())
            channel.template = (prefix, doc, suffix, d)
            set_at(doc, d.path, self._release(channel, _get(doc, d.path), d.is_json, final=False))
        self._restore_snapshots(doc, {d.path for d in deltas})
        return flushed + prefix + json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode() + suffix

    def _release(self, channel: Channel, fragment: str, is_json: bool, final: bool) -> str:
        text = channel.held + fragment
        cut = len(text)
        if not final and (m := _TRAILING_WORD.search(text)) and len(m.group(0)) <= MAX_HOLD:
            cut = m.start()
        released, channel.held = text[:cut], text[cut:]
        if not released:
            return ""
        context = "".join(channel.text)[-2048:]
        out = self._process(released, context, is_json)
        channel.text.append(released)
        return out

    def _flush_all(self, keep: set = frozenset()) -> bytes:
        out = []
        for key, channel in list(self._channels.items()):
            if key in keep:
                continue
            del self._channels[key]
            if channel.template is None:
                continue
            text = self._release(channel, "", channel.template[3].is_json, final=True)
            note = self._on_channel_end(key, channel)
            if text or note:
                prefix, doc, suffix, delta = channel.template
                event = skeleton(doc, delta.path, text + note)
                out.append(prefix + json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode() + suffix)
        return b"".join(out)

    def _restore_snapshots(self, doc: Any, skip: set[tuple]) -> None:
        """Whole texts in an event (a final snapshot, a tool call's complete input)."""
        for path, value in list(string_leaves(doc)):
            if path not in skip and "[REDACTED:" in value:
                set_at(doc, path, self._process(value, "", looks_like_json(value)))


def looks_like_json(text: str) -> bool:
    return text[:1] in ("{", "[") and text.rstrip()[-1:] in ("}", "]")
