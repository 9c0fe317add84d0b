"""The answer on its way back: streamed answers are rewritten event by event (placeholders
restored, secrets the model emits redacted, package suggestions checked) with the request's
protocol framing; whole bodies are rewritten once at the end."""

from __future__ import annotations

from mitmproxy import http

from llm_dlp.act.restore import Restorer
from llm_dlp.inspect.output import OutputInspector
from llm_dlp.inspect.stream import StreamRewriter
from llm_dlp.protocols.encoding import BodyError, StreamDecoder, codings
from llm_dlp.proxy.state import FlowState, Runtime, log_failure, state_of
from llm_dlp.record.lineage import Fingerprinter, LineageRecorder

# streamed bodies that are never buffered, even when no framing of the protocol reads them
STREAMING_TYPES = (
    "text/event-stream",
    "application/x-ndjson",
    "application/jsonl",
    "application/json-seq",
    "application/vnd.amazon.eventstream",
)


class Respond:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        state, resp = state_of(flow), flow.response
        if state is None or resp is None or resp.headers.get("x-llm-dlp"):
            return
        try:
            self._prepare(flow, resp, state)
        except Exception as exc:
            log_failure("error in responseheaders", exc)

    def _prepare(self, flow: http.HTTPFlow, resp: http.Response, state: FlowState) -> None:
        lineage = LineageRecorder(
            Fingerprinter(self.rt.keys.lineage_key),
            state.inspection.texts if state.inspection else [],
            whole_is_code=state.protocol.answers_are_code,
        )
        state.output = OutputInspector(
            self.rt.rules.detector,
            self.rt.keys,
            self._restorer(state),
            self.rt.rules.packages,
            lineage,
            served_model=state.protocol.served_model,
        )
        if self.rt.incidents:
            state.output.review = []
        ctype = resp.headers.get("content-type", "").lower()
        framing = state.protocol.framing(ctype, flow.request.path)
        if framing:
            try:
                decoder = (
                    StreamDecoder(resp.headers.get("content-encoding", "")) if codings(resp.headers.get("content-encoding", "")) else None
                )
            except BodyError:  # an encoding we cannot read incrementally: the whole body is inspected instead
                return
            honest_stream_headers(resp)
            rewriter = StreamRewriter(
                framing,
                state.protocol.deltas,
                state.output.process,
                on_anomaly=lambda kind: self._anomaly(state, kind),
                on_channel_end=state.output.end_channel,
                on_event=state.output.observe,
                snapshot=state.output.snapshot,
            )
            resp.stream = SafeStream(
                rewriter, lambda: self._anomaly(state, "rewriter_error"), self.rt.metrics.response_bytes.labels(state.endpoint.id), decoder
            )
            state.streaming = True
            self.rt.metrics.active_streams.inc()
        elif any(t in ctype for t in STREAMING_TYPES):
            resp.stream = True  # a stream we cannot read: passed through as it comes

    def response(self, flow: http.HTTPFlow) -> None:
        state, resp = state_of(flow), flow.response
        if state is None or resp is None:
            return
        try:
            if state.output and not resp.stream and resp.raw_content:
                content = resp.get_content(strict=False) or b""
                rewritten = state.output.rewrite_body(content)
                if rewritten != content:
                    resp.content = rewritten
            if not resp.stream:
                self.rt.metrics.response_bytes.labels(state.endpoint.id).inc(len(resp.raw_content or b""))
        except Exception as exc:
            log_failure("error inspecting a response", exc)

    def _restorer(self, state: FlowState) -> Restorer:
        def counted(n: int) -> None:
            state.restored += n
            self.rt.metrics.restorations.labels(state.endpoint.id).inc(n)

        return Restorer(state.inspection.restore if state.inspection else {}, on_restore=counted)

    def _anomaly(self, state: FlowState, kind: str) -> None:
        self.rt.metrics.stream_anomalies.labels(state.endpoint.id, kind).inc()


def honest_stream_headers(resp: http.Response) -> None:
    """A rewritten stream has a length nobody knows yet and is sent decoded: drop Content-Length and
    Content-Encoding, and frame HTTP/1.1 bodies with chunked transfer (HTTP/2 frames them itself),
    so that the client never waits for bytes that will not come."""
    resp.headers.pop("content-length", None)
    resp.headers.pop("content-encoding", None)
    if resp.http_version.startswith("HTTP/1"):
        resp.headers["transfer-encoding"] = "chunked"
    else:
        resp.headers.pop("transfer-encoding", None)


class SafeStream:
    """Wraps a stream rewriter: if it fails, the rest of the stream passes through unchanged
    (counted) instead of breaking the developer's response; a fail-closed stream (binary
    event-stream, whose unread bytes could carry anything) is ended with its refusal instead."""

    def __init__(self, rewriter: StreamRewriter, on_failure, out_bytes, decoder: StreamDecoder | None = None):
        self._rewriter = rewriter
        self._on_failure = on_failure
        self._out_bytes = out_bytes  # a counter of bytes sent to the client
        self._decoder = decoder  # a compressed stream is decoded first (and sent decoded)
        self._failed = False

    def __call__(self, chunk: bytes) -> bytes | list[bytes]:
        """The bytes for the client. Nothing to send yet is an empty list, never b"": mitmproxy
        would send an empty chunk, which ends a chunked response (the client sees a cut stream)."""
        if self._decoder is not None and chunk:
            chunk = self._decoder.feed(chunk)
            if not chunk:
                return []  # nothing decoded yet (the rewriter reads b"" as the end of the stream)
        out = self._rewrite(chunk)
        self._out_bytes.inc(len(out))
        return out if out or not chunk else []

    def _rewrite(self, chunk: bytes) -> bytes:
        if self._failed:
            return b"" if self._rewriter.fails_closed else chunk
        try:
            return self._rewriter(chunk)
        except Exception as exc:
            log_failure("error rewriting a response stream; passing the rest through", exc)
            self._failed = True
            self._on_failure()
            return self._rewriter.salvage() + (b"" if self._rewriter.fails_closed else chunk)
