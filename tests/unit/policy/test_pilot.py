"""The pilot policy's decisions, from a rule file: who, which endpoint, tool and model, tenant
headers and API keys."""

from __future__ import annotations

import textwrap

import pytest

from llm_dlp.identity.sources import Identity
from llm_dlp.policy.pilot import Grant, Refusal
from llm_dlp.rules.ruleset import load_ruleset

POLICY = """
version: 1
policy:
  require_identity: true
  groups:
    pilot: [alice, bob]
    interns: [bob]
  pilot:
    groups: [pilot]
    url: https://wiki.example/ai
  access:
    - groups: [interns]
      endpoints: [openai]
      tools: [claude-code]
      models: ["gpt-5*"]
      actions: {s: warn}
    - groups: ["*"]
  tenants:
    - endpoints: [openai]
      headers: {OpenAI-Organization: org-corp}
  api_keys:
    - endpoints: [anthropic]
      allowed: ["0123456789abcdef"]
"""


@pytest.fixture(scope="module")
def policy(tmp_path_factory):
    d = tmp_path_factory.mktemp("rules")
    (d / "policy.yaml").write_text(textwrap.dedent(POLICY))
    (d / "secrets.yaml").write_text("version: 1\nsecrets:\n  - id: s\n    action: block\n    patterns: ['S-[0-9]{8}']\n")
    return load_ruleset(d).policy


def who(policy, user: str) -> Identity:
    return policy.with_groups(user, "proxy_auth")


def test_nobody_unidentified_and_only_the_pilot(policy):
    assert isinstance(r := policy.authorize(None, "openai", "curl"), Refusal) and r.reason == "unidentified"
    assert "https://wiki.example/ai" in r.message
    assert policy.authorize(who(policy, "carol"), "openai", "curl").reason == "not_in_pilot"
    assert isinstance(policy.authorize(who(policy, "alice"), "openai", "curl"), Grant)


def test_the_first_access_rule_for_a_group_decides_endpoint_tool_and_model(policy):
    bob = who(policy, "bob")
    assert bob.groups == ("pilot", "interns")
    assert policy.authorize(bob, "anthropic", "claude-code").reason == "endpoint_not_allowed"
    assert policy.authorize(bob, "openai", "cursor").reason == "tool_not_allowed"
    grant = policy.authorize(bob, "openai", "claude-code")
    assert isinstance(grant, Grant) and grant.access.actions == {"s": "warn"}
    assert policy.check_model(grant, "gpt-5-codex") is None
    assert policy.check_model(grant, "o3").reason == "model_not_allowed"


def test_tenant_headers_and_key_allow_lists_apply_per_endpoint(policy):
    assert policy.headers_for("openai") == {"OpenAI-Organization": "org-corp"} and policy.headers_for("anthropic") == {}
    assert policy.key_allowed("anthropic", "0123456789abcdef") and not policy.key_allowed("anthropic", "fedcba9876543210")
    assert not policy.key_allowed("anthropic", None) and policy.key_allowed("openai", None)
