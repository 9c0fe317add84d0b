"""Who sends a request: proxy credentials (checked once per connection, off the event loop since
bcrypt is slow), a client certificate, or the source address — precedence in
:func:`llm_dlp.identity.resolve.resolve`. The identity goes on the flow's state."""

from __future__ import annotations

import asyncio
import weakref

from mitmproxy import connection, http

from llm_dlp.identity.resolve import other_identity_possible, resolve
from llm_dlp.identity.sources import Identity, parse_basic
from llm_dlp.proxy.state import Runtime, client_address, log_failure, state_of


class Identify:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        # users authenticated on a CONNECT, for the flows inside that tunnel (no passwords kept)
        self._connection_users: weakref.WeakKeyDictionary[connection.Client, Identity] = weakref.WeakKeyDictionary()

    async def http_connect(self, flow: http.HTTPFlow) -> None:
        """Proxy credentials on a CONNECT to an AI endpoint are checked here, for the whole tunnel."""
        ruleset = self.rt.ruleset
        if ruleset is None or flow.response or not ruleset.policy.htpasswd:
            return
        try:
            if ruleset.catalog.match(flow.request.host, flow.request.port) is None:
                return
            login = await self._login(flow)
            if login is False or (login is None and not other_identity_possible(ruleset.policy, client_address(flow))):
                self._challenge(flow)
        except Exception as exc:
            log_failure("error in http_connect", exc)
            flow.response = http.Response.make(500, b"llm-dlp: internal error; nothing was forwarded.\n", {"content-type": "text/plain"})

    async def requestheaders(self, flow: http.HTTPFlow) -> None:
        state = state_of(flow)
        if state is None or flow.response:
            return
        try:
            if self.rt.rules.policy.htpasswd and flow.request.headers.get("proxy-authorization"):
                await self._login(flow)  # a plain-HTTP request through the proxy carries its own credentials
            certificates = [c.to_cryptography() for c in flow.client_conn.certificate_list]
            state.identity = resolve(self.rt.rules.policy, certificates, self._connection_users.get(flow.client_conn), client_address(flow))
        except Exception as exc:
            log_failure("error identifying a request", exc)
            self.rt.fail_closed(flow, "internal_error", "llm-dlp could not identify this request")

    async def _login(self, flow: http.HTTPFlow) -> bool | None:
        """Check Proxy-Authorization and remember the user for this client connection. The header
        is removed: it is never forwarded or logged. None: no credentials were given (and none are
        remembered for this connection)."""
        header = flow.request.headers.pop("proxy-authorization", None)
        credentials = parse_basic(header) if header else None
        if header and credentials is None:
            return False
        if credentials is None:
            return True if flow.client_conn in self._connection_users else None
        policy = self.rt.rules.policy
        htpasswd = policy.htpasswd
        if htpasswd is not None and await asyncio.to_thread(htpasswd.verify, credentials[0], credentials[1]):
            self._connection_users[flow.client_conn] = policy.with_groups(credentials[0], "proxy_auth")
            return True
        self._connection_users.pop(flow.client_conn, None)
        return False

    def _challenge(self, flow: http.HTTPFlow) -> None:
        flow.response = http.Response.make(
            407,
            b"llm-dlp: proxy authentication is required for AI services.\n",
            {"content-type": "text/plain", "proxy-authenticate": proxy_challenge(self.rt.rules.policy.realm)},
        )


def proxy_challenge(realm: str) -> str:
    """The one Proxy-Authenticate value llm-dlp sends (a quote in the realm would end it early)."""
    realm = realm.replace('"', "")
    return f'Basic realm="{realm}"'
