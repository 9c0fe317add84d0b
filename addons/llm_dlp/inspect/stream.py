"""Rewriting streamed responses event by event: restore placeholders (also when the model splits
one over several events), redact secrets the model emits, and pass everything else through.

The stream is cut into events (SSE, NDJSON, a streamed JSON array or AWS event-stream messages)
by the protocol's framing, which also puts each (rewritten) event back together. In each event the
protocol's *delta* fields (text and tool-argument fragments) feed per-channel text buffers; a
channel holds back only the trailing run of non-space characters, because a placeholder or a
secret may continue in the next event. Released text is inspected with the channel's recent text
before it, and while a redaction runs on to the end of what was released (a key streamed line by
line) with everything back to where that secret's first release began, so its start stays in view.
Every event is emitted as soon as it is complete, with
its delta shortened where something is held back. What is still held when the channel moves on
goes out in a small event of the same protocol shape, built from the last one. A fail-closed
framing (binary event-stream) that cannot read on ends the stream with its refusal: nothing unread
is passed on."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from llm_dlp.protocols.base import Delta, get_at, set_at, string_leaves
from llm_dlp.protocols.framing import Framing

# A held fragment longer than this is released anyway: no placeholder is that long.
MAX_HOLD = 512
# Released text is processed with this much of the channel's earlier text before it (a rule's
# keyword, the start of a secret that goes on) ...
CONTEXT = 2048
# ... and, while what was released last ended inside a redaction (a key streamed line by line), with
# everything since that secret's release began, up to this much: its start stays in view.
OPEN_CONTEXT = 48 * 1024
_TRAILING_WORD = re.compile(r"\S+\Z")


# ---- short events for held text ------------------------------------------------------------
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
    released: int = 0  # characters of ``text``
    anchor: int | None = None  # while a redaction runs on: where the context of its first release began


class StreamRewriter:
    """A mitmproxy stream callable (``bytes -> bytes``, ``b""`` at the end)."""

    def __init__(
        self,
        framing: Framing,
        deltas: Callable[[Any], list[Delta]],
        process: Callable[[str, str, bool], str],
        on_anomaly: Callable[[str], None] = lambda r: None,
        on_channel_end: Callable[[tuple, Channel], str] = lambda key, ch: "",
        on_event: Callable[[Any], None] = lambda doc: None,
        snapshot: Callable[[str, bool], str] | None = None,
    ):
        """``framing`` and ``deltas`` come from the request's protocol. ``process(text, context,
        is_json)`` turns released model text into what the client gets (output redaction,
        restoration); ``context`` is recent text of the channel. ``snapshot(text, is_json)`` does
        the same for every other string of an event (a done event's full text, a final answer
        object), which repeats what the deltas carried: default ``process``.
        ``on_channel_end`` may return text to append to the channel (a warning note)."""
        self._framing = framing
        self._deltas = deltas
        self._process = process
        self._snapshot = snapshot or (lambda text, is_json: process(text, "", is_json))
        self._on_anomaly = on_anomaly
        self._on_channel_end = on_channel_end
        self._on_event = on_event
        self._channels: dict[tuple, Channel] = {}
        self._stopped = False  # a fail-closed stream was ended: nothing more goes out

    def __call__(self, chunk: bytes) -> bytes:
        if self._stopped:
            return b""
        out = [self._event(*event) for event in self._framing.feed(chunk)]
        if not chunk:  # end of the stream
            out.append(self._flush_all())
            rest = self._framing.rest()
            if rest.strip():
                self._on_anomaly("truncated_event")
            out.append(rest)
        if self._framing.failure:  # a fail-closed framing could not read on: end the stream here
            out.append(self._stop(self._framing.failure))
        return b"".join(out)

    @property
    def fails_closed(self) -> bool:
        """Bytes this stream could not read must not reach the client (a binary framing)."""
        return self._framing.fails_closed

    def salvage(self) -> bytes:
        """After a failure: the raw bytes not yet passed on, or, for a fail-closed framing,
        the framing's refusal instead."""
        return self._stop("rewriter_error", report=False) if self.fails_closed else self._framing.rest()

    def _stop(self, kind: str, report: bool = True) -> bytes:
        """End the stream: text held from events already read goes out (a framing failure), then
        the framing's refusal; after a failure of the rewriter itself only the refusal."""
        self._stopped = True
        held = b""
        if report:
            self._on_anomaly(kind)
            held = self._flush_all()
        self._framing.rest()
        return held + self._framing.refusal(kind)

    def _event(self, prefix: bytes, body: bytes | None, suffix: bytes) -> bytes:
        doc = None
        if body is not None and body[:1] == b"{":
            try:
                doc = json.loads(body)
            except ValueError:
                self._on_anomaly("malformed_event")
        if doc is not None:
            self._on_event(doc)
        deltas = self._deltas(doc) if doc is not None else []
        keys = {d.key for d in deltas}
        flushed = self._flush_all(keep=keys)
        if doc is None:
            return flushed + self._framing.wrap(prefix, body, suffix)
        for d in deltas:
            channel = self._channels.setdefault(d.key, Channel())
            channel.template = (prefix, doc, suffix, d)
            set_at(doc, d.path, self._release(channel, get_at(doc, d.path), d.is_json, final=d.last))
        self._snapshots(doc, {d.path for d in deltas})
        return flushed + self._framing.wrap(prefix, _dumps(doc), suffix)

    def _release(self, channel: Channel, fragment: str, is_json: bool, final: bool) -> str:
        text = channel.held + fragment
        cut = len(text)
        if not final and (m := _TRAILING_WORD.search(text)) and len(m.group(0)) <= MAX_HOLD:
            cut = m.start()
        released, channel.held = text[:cut], text[cut:]
        if not released:
            return ""
        start = channel.anchor if channel.anchor is not None else channel.released - CONTEXT
        start = max(0, start, channel.released - OPEN_CONTEXT)
        out = self._process(released, _tail(channel.text, channel.released - start), is_json)
        channel.anchor = start if released.rstrip()[-1:] != out.rstrip()[-1:] else None  # a secret may go on
        channel.text.append(released)
        channel.released += len(released)
        return out

    def _flush_all(self, keep: set | frozenset = frozenset()) -> bytes:
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
                out.append(self._framing.wrap(prefix, _dumps(event), suffix))
        return b"".join(out)

    def _snapshots(self, doc: Any, skip: set[tuple]) -> None:
        """Whole texts in an event (Responses ``response.output_text.done``, ``output_item.done``,
        ``response.completed``, a tool call's complete input, a final answer object) get the
        same redaction and restoration as the deltas: the answer never holds what they redacted."""
        for path, value in list(string_leaves(doc)):
            if path not in skip:
                new = self._snapshot(value, looks_like_json(value))
                if new != value:
                    set_at(doc, path, new)


def _tail(pieces: list[str], size: int) -> str:
    """The last ``size`` characters of the pieces joined, joining only the pieces needed."""
    taken, length = [], 0
    for piece in reversed(pieces):
        if length >= size:
            break
        taken.append(piece)
        length += len(piece)
    return "".join(reversed(taken))[-size:] if size else ""


def _dumps(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


def looks_like_json(text: str) -> bool:
    return text[:1] in ("{", "[") and text.rstrip()[-1:] in ("}", "]")
