"""Naming the client tool (Copilot, Claude Code, Codex, an SDK, curl…) from request headers,
with signatures kept in a rule file."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from llm_dlp.rules.files import Located, RuleError

UNKNOWN = "unknown"


@dataclass(frozen=True)
class ToolSignature:
    id: str
    headers: tuple[tuple[str, re.Pattern[str]], ...]

    def matches(self, headers: Mapping[str, str]) -> bool:
        return all((v := headers.get(name)) is not None and rx.search(v) for name, rx in self.headers)


@dataclass(frozen=True)
class ToolClassifier:
    signatures: tuple[ToolSignature, ...] = ()

    def classify(self, headers: Mapping[str, str]) -> str:
        """The first signature whose header regexes all match; ``headers`` is case-insensitive."""
        return next((s.id for s in self.signatures if s.matches(headers)), UNKNOWN)


def compile_tools(entries: list[Located], errors: list[RuleError]) -> ToolClassifier:
    signatures = []
    for entry in entries:
        try:
            headers = tuple((k.lower(), re.compile(v, re.IGNORECASE)) for k, v in entry.data["headers"].items())
        except re.error as exc:
            errors.append(entry.error("headers", f"invalid regex: {exc}"))
            continue
        signatures.append(ToolSignature(entry.data["id"], headers))
    return ToolClassifier(tuple(signatures))
