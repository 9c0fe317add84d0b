"""The actions a rule can ask for, and which one wins when several apply (one ordering for the
whole project: the request's decision, overlapping findings, group overrides)."""

from __future__ import annotations

from collections.abc import Iterable

ALLOW, WARN, REDACT, BLOCK = "allow", "warn", "redact", "block"
SEVERITY = (ALLOW, WARN, REDACT, BLOCK)  # weakest first
_RANK = {a: i for i, a in enumerate(SEVERITY)}


def strongest(actions: Iterable[str]) -> str:
    """The action that decides: block over redact over warn over allow."""
    return max(actions, key=_RANK.__getitem__, default=ALLOW)


def rank(action: str) -> int:
    """Higher is stronger; for sorting candidates."""
    return _RANK[action]
