"""Which identity wins when a request offers several: a verified client certificate, then proxy
credentials checked on this connection, then the source address. Pure: the proxy gathers the
inputs from the connection and asks."""

from __future__ import annotations

from cryptography import x509

from llm_dlp.identity.sources import Identity
from llm_dlp.policy.pilot import Policy


def resolve(
    policy: Policy, certificates: list[x509.Certificate], connection_user: Identity | None, client_address: str | None
) -> Identity | None:
    if policy.client_cert and certificates and (user := policy.client_cert.user(certificates)):
        return policy.with_groups(user, "client_cert")
    if connection_user is not None:
        return connection_user
    if policy.source_map and client_address and (user := policy.source_map.user(client_address)):
        return policy.with_groups(user, "source_address")
    return None


def other_identity_possible(policy: Policy, client_address: str | None) -> bool:
    """Whether a request without proxy credentials may still be identified (so no 407 yet)."""
    return policy.client_cert is not None or (policy.source_map is not None and policy.source_map.user(client_address or "") is not None)
