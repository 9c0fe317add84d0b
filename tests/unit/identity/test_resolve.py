"""Which identity wins: a verified client certificate, then proxy credentials, then the address."""

from __future__ import annotations

from dataclasses import replace

from llm_dlp.identity.resolve import other_identity_possible, resolve
from llm_dlp.identity.sources import Identity, SourceMap
from llm_dlp.policy.pilot import Policy


class FakeVerifier:
    def __init__(self, user):
        self._user = user

    def user(self, chain):
        return self._user if chain else None


BASE = Policy(groups={"alice": ("pilot",), "lab": ("shared",)}, source_map=SourceMap({"10.0.0.0/8": "lab"}))
LOGGED_IN = Identity("bob", "proxy_auth", ())


def test_a_verified_certificate_wins_then_credentials_then_the_address():
    policy = replace(BASE, client_cert=FakeVerifier("alice"))
    assert resolve(policy, ["cert"], LOGGED_IN, "10.1.1.1") == Identity("alice", "client_cert", ("pilot",))
    assert resolve(policy, [], LOGGED_IN, "10.1.1.1") == LOGGED_IN
    assert resolve(policy, [], None, "10.1.1.1") == Identity("lab", "source_address", ("shared",))
    assert resolve(policy, [], None, "192.0.2.9") is None


def test_a_certificate_the_ca_did_not_issue_falls_through():
    policy = replace(BASE, client_cert=FakeVerifier(None))
    assert resolve(policy, ["cert"], None, "10.1.1.1").source == "source_address"


def test_a_407_waits_while_another_source_may_still_identify():
    assert other_identity_possible(BASE, "10.2.3.4") and not other_identity_possible(BASE, "192.0.2.9")
    assert other_identity_possible(replace(BASE, source_map=None, client_cert=FakeVerifier("x")), None)
