"""Request inspection, off the event loop: the whole body through the request pipeline
(:func:`llm_dlp.inspect.request.inspect_request`), then redact, block or forward. Any failure
refuses the request: mitmproxy would log an exception and forward uninspected data. So does an
audit trail that cannot be written (503), and a wait for room under the inspection budget that
lasts too long (503)."""

from __future__ import annotations

import asyncio
import time

from mitmproxy import ctx, http

from llm_dlp.act.actions import BLOCK, REDACT
from llm_dlp.inspect.budget import ByteBudget
from llm_dlp.inspect.request import Inspection, inspect_request
from llm_dlp.protocols.encoding import codings, decode_body, encode_body
from llm_dlp.protocols.strictjson import BodyError
from llm_dlp.proxy.state import FlowState, Runtime, log_failure, state_of


class Inspect:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        self.budget = ByteBudget(0)

    def load(self, loader) -> None:
        loader.add_option(
            "llm_dlp_inspection_budget_bytes",
            int,
            64 * 1024 * 1024,
            "Request body bytes under inspection at once; more requests wait (then get 503). 0: no bound.",
        )
        loader.add_option(
            "llm_dlp_inspection_wait_seconds", int, 10, "How long a request waits for room under llm_dlp_inspection_budget_bytes."
        )

    def configure(self, updated: set[str]) -> None:
        if "llm_dlp_inspection_budget_bytes" in updated:
            self.budget = ByteBudget(ctx.options.llm_dlp_inspection_budget_bytes)

    async def request(self, flow: http.HTTPFlow) -> None:
        state = state_of(flow)
        if state is None or flow.response or flow.error or not flow.live or not self.rt.audit_admits(flow):
            return
        started = time.perf_counter()
        try:
            async with self.budget.reserve(len(flow.request.raw_content or b""), ctx.options.llm_dlp_inspection_wait_seconds) as granted:
                if not granted:
                    self.rt.refuse(
                        flow, 503, "inspection_busy", "too many large requests are being inspected at once. Try again in a moment."
                    )
                    return
                await self._inspect(flow, state)
            if not flow.response:
                self.rt.audit_admits(flow)  # the last moment before it goes upstream
            self.rt.metrics.added_latency.labels(state.endpoint.id).observe(time.perf_counter() - started)
        except Exception as exc:
            log_failure(f"inspection failed for {state.endpoint.id}", exc)
            self.rt.fail_closed(flow, type(exc).__name__, "llm-dlp could not inspect this request")

    async def _inspect(self, flow: http.HTTPFlow, state: FlowState) -> None:
        req = flow.request
        if req.raw_content is None:
            self.rt.fail_closed(flow, "body_streamed", "the request body was streamed and could not be inspected")
            return
        limit = ctx.options.llm_dlp_max_body_bytes
        if len(req.raw_content) > limit:
            self.rt.refuse(flow, 413, "body_too_large", f"request body exceeds the inspection limit of {limit} bytes")
            return
        rules, grant = self.rt.rules, state.grant
        try:
            raw = await asyncio.to_thread(
                decode_body, req.raw_content, req.headers.get("content-encoding", ""), req.headers.get("transfer-encoding", ""), limit
            )
            inspection = await asyncio.to_thread(
                inspect_request,
                raw,
                state.protocol.name,
                req.path,
                rules.detector,
                self.rt.keys,
                grant.access.actions if grant else {},
                self.rt.incidents is not None,
                rules.paths,
                grant.identity.groups if grant else (),
                rules.fingerprints,
                req.headers.get("content-type", ""),
            )
        except BodyError as refused:  # not inspectable as the provider would read it: never forwarded
            self.rt.refuse(flow, refused.status, refused.reason, str(refused))
            return
        state.inspection = inspection
        state.decision = inspection.decision
        if grant and (refusal := rules.policy.check_model(grant, inspection.model)):
            self.rt.refuse(flow, refusal.status, refusal.reason, refusal.message)
        elif inspection.decision == BLOCK:
            self.rt.respond(flow, 403, "llm_dlp_blocked", inspection.block_message())
        elif inspection.decision == REDACT and state.protocol.body_is_signed(req.headers):
            state.decision, state.reason = BLOCK, "signed_body"
            self.rt.respond(flow, 403, "llm_dlp_blocked", signed_body_message(inspection))
        elif inspection.decision == REDACT and inspection.body is not None:
            self._replace_body(req, inspection.body)

    @staticmethod
    def _replace_body(req: http.Request, body: bytes) -> None:
        """The redacted body, encoded again with the request's content codings; transfer codings
        other than chunked are dropped (hop by hop: the proxy frames the message it sends)."""
        if set(codings(req.headers.get("transfer-encoding", ""))) - {"chunked"}:
            req.headers["transfer-encoding"] = "chunked"
        req.raw_content = encode_body(body, req.headers.get("content-encoding", ""))
        if "content-length" in req.headers:
            req.headers["content-length"] = str(len(req.raw_content))


def signed_body_message(inspection: Inspection) -> str:
    """Why a request that would have been redacted is blocked: its signature covers the body."""
    rules = ", ".join(sorted({f.rule for f in inspection.findings if f.action == REDACT}))
    return (
        f"Request blocked by llm-dlp: it carries secrets ({rules}) and this request is signed (AWS SigV4); llm-dlp cannot redact it "
        "(the edited body would no longer match the signature): remove the secret, or use a Bedrock API key (Bearer) so redaction "
        "can apply."
    )
