"""The protocol registry: every API llm-dlp understands, one module each, registered here.

Adding an API is one module (a :class:`~llm_dlp.protocols.api.Protocol` subclass) and one line in
``PROTOCOLS``. The catalog's ``protocol:`` values, the rule-file schema's enum and the CLI's
``--protocol`` choices are read from this registry, and tests/unit/protocols/test_conformance.py
runs every registered protocol through one contract."""

from __future__ import annotations

from llm_dlp.protocols.amazon_q import AmazonQ
from llm_dlp.protocols.anthropic import AnthropicMessages
from llm_dlp.protocols.api import Protocol
from llm_dlp.protocols.base import ParsedBody
from llm_dlp.protocols.bedrock import BedrockConverse, BedrockInvoke
from llm_dlp.protocols.gemini import Gemini
from llm_dlp.protocols.generic import GenericJson, RawText
from llm_dlp.protocols.mcp import Mcp
from llm_dlp.protocols.ollama import Ollama
from llm_dlp.protocols.openai_chat import OpenAIChat
from llm_dlp.protocols.openai_completions import OpenAICompletions
from llm_dlp.protocols.openai_responses import OpenAIResponses

# Within a family the first protocol whose paths match a request serves it; the first listed is
# the family's fallback for its other paths.
PROTOCOLS: tuple[Protocol, ...] = (
    OpenAIChat(),
    OpenAIResponses(),
    OpenAICompletions(),
    AnthropicMessages(),
    Gemini(),
    Ollama(),
    Mcp(),
    BedrockConverse(),
    BedrockInvoke(),
    AmazonQ(),
    GenericJson(),
    RawText(),
)


class Registry:
    def __init__(self, protocols: tuple[Protocol, ...]):
        self._protocols = protocols
        self._by_name = {p.name: p for p in protocols}
        self._specific = [p for p in protocols if p.family not in ("generic", "text")]
        if len(self._by_name) != len(protocols):
            raise ValueError("two protocols share a name")

    def __iter__(self):
        return iter(self._protocols)

    def get(self, name: str) -> Protocol:
        return self._by_name[name]

    def families(self) -> list[str]:
        """The catalog's ``protocol:`` values."""
        return sorted({p.family for p in self._protocols})

    def names(self) -> list[str]:
        return [p.name for p in self._protocols]

    def specific(self) -> list[Protocol]:
        """Protocols that know their API's shape (not the generic fallbacks)."""
        return self._specific

    def select(self, family_or_name: str, path: str) -> Protocol:
        """The protocol for a request to an endpoint of ``family_or_name`` at ``path``."""
        if family_or_name in self._by_name and self._by_name[family_or_name].family != family_or_name:
            return self._by_name[family_or_name]  # a protocol named directly (llm-dlp scan --protocol)
        members = [p for p in self._protocols if p.family == family_or_name]
        if not members:
            raise KeyError(f"unknown protocol {family_or_name!r}")
        return next((p for p in members if p.handles(path)), members[0])

    def parse(self, raw: bytes, family_or_name: str, path: str, content_type: str = "") -> ParsedBody:
        return self.select(family_or_name, path).parse(raw, path, content_type)


REGISTRY = Registry(PROTOCOLS)
