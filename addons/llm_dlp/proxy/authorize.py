"""May this identity use this endpoint with this tool and key? Refusals go out in the API's own
error shape; granted requests get the tenant's headers. ``llm-dlp doctor``'s request is answered
here, never forwarded."""

from __future__ import annotations

import json

from mitmproxy import http

from llm_dlp import __version__
from llm_dlp.commands.doctor import DIAGNOSTIC_PATH, diagnosis
from llm_dlp.policy.pilot import Grant, Refusal
from llm_dlp.proxy.identify import proxy_challenge
from llm_dlp.proxy.state import FlowState, Runtime, client_address, log_failure, state_of


class Authorize:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        state = state_of(flow)
        if state is None or flow.response:
            return
        try:
            if flow.request.path.split("?")[0] == DIAGNOSTIC_PATH:
                self._diagnose(flow, state)
            else:
                self._authorize(flow, state)
        except Exception as exc:
            log_failure("error authorising a request", exc)
            self.rt.fail_closed(flow, "internal_error", "llm-dlp could not authorise this request")

    def _authorize(self, flow: http.HTTPFlow, state: FlowState) -> None:
        policy = self.rt.rules.policy
        result = policy.authorize(state.identity, state.endpoint.id, state.tool)
        if isinstance(result, Refusal):
            self.rt.refuse(flow, result.status, result.reason, result.message)
            if result.status == 407 and flow.response:
                flow.response.headers["proxy-authenticate"] = proxy_challenge(policy.realm)
            return
        state.grant = result
        key = state.protocol.api_key(flow.request.headers, flow.request.query)
        if not policy.key_allowed(state.endpoint.id, self.rt.keys.fingerprint(key) if key else None):
            self.rt.refuse(
                flow,
                403,
                "api_key_not_allowed",
                "This API key is not an approved organisation key. Personal or free-tier keys cannot be used.",
            )
            return
        for name, value in policy.headers_for(state.endpoint.id).items():
            flow.request.headers[name] = value  # replaces every copy the client sent

    def _diagnose(self, flow: http.HTTPFlow, state: FlowState) -> None:
        """Proves the client reached this proxy, trusted its CA and was inspected, and says who the proxy took it for."""
        result = self.rt.rules.policy.authorize(state.identity, state.endpoint.id, state.tool)
        state.decision = "diagnostic"
        body = diagnosis(
            __version__,
            self.rt.audit.instance if self.rt.audit else None,
            client_address(flow),
            state.endpoint.id,
            state.tool,
            state.identity,
            None if isinstance(result, Grant) else result,
        )
        flow.response = http.Response.make(
            200, json.dumps(body).encode(), {"content-type": "application/json", "cache-control": "no-store"}
        )
