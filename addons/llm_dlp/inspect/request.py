"""The request pipeline without any proxy: body -> segments -> findings -> decision and edits.

Pure Python over plain data, so the CLI, the proxy and the benchmarks share it."""

from __future__ import annotations

import bisect
import copy
import json
import time
from dataclasses import dataclass, field, replace

from llm_dlp.act.actions import BLOCK, REDACT, WARN, strongest
from llm_dlp.act.placeholders import Keyring
from llm_dlp.detect.detector import Detector, Finding
from llm_dlp.detect.findings import FindingReport
from llm_dlp.detect.protected import FingerprintRule, PathHit, PathRule, find_protected, withhold
from llm_dlp.protocols.base import Segment
from llm_dlp.protocols.registry import REGISTRY
from llm_dlp.text.splice import splice

# Segments are joined for one scan; no rule pattern can match across this separator's NUL.
_SEPARATOR = "\n\x00\n"



@dataclass
class Inspection:
    decision: str
    findings: list[FindingReport]
    protocol: str
    model: str | None
    bytes_inspected: int
    segments: int
    seconds: float
    body: bytes | None = None  # the rewritten body, when anything was redacted
    restore: dict[str, str] = field(default_factory=dict)  # placeholder -> original value
    texts: list[str] = field(default_factory=list, repr=False)  # what was sent: code the model echoes is not "generated"
    review_text: str | None = field(default=None, repr=False)  # for the incident store: every finding redacted

    def block_message(self) -> str:
        blocking = [f for f in self.findings if f.action == BLOCK]
        shown = "; ".join(
            f"protected path {f.path} (rule {f.rule})" if f.kind == "protected-path"
            else f"code from the protected repository file {f.path} (rule {f.rule})" if f.kind == "protected-code"
            else f"rule {f.rule} ({f.kind}) in {f.field or 'body'} line {f.line}"
            for f in blocking[:5]
        )
        more = f" and {len(blocking) - 5} more" if len(blocking) > 5 else ""
        return f"Request blocked by llm-dlp: {shown}{more}. Remove the secret and retry; ask your security team if this is wrong."


def scan_segments(detector: Detector, segments: list[Segment]) -> list[tuple[Segment, Finding]]:
    """One detector pass over all segments; findings mapped back to (segment, offsets in it)."""
    if not segments:
        return []
    starts, pos = [], 0
    for seg in segments:
        starts.append(pos)
        pos += len(seg.text) + len(_SEPARATOR)
    joined = _SEPARATOR.join(seg.text for seg in segments)
    out = []
    for f in detector.scan(joined):
        i = bisect.bisect_right(starts, f.start) - 1
        base = starts[i]
        if f.end - base <= len(segments[i].text):
            out.append((segments[i], Finding(f.rule, f.start - base, f.end - base, f.value)))
    return out


def inspect_request(raw: bytes, protocol: str, path: str, detector: Detector, keyring: Keyring,
                    actions: dict[str, str] | None = None, review: bool = False,
                    path_rules: tuple[PathRule, ...] = (), groups: tuple[str, ...] = (),
                    code_rules: tuple[FingerprintRule, ...] = ()) -> Inspection:
    """``actions``: rule id -> action overriding the rule's own (a group's stricter rule set).
    ``review``: also produce ``review_text``, the body with every finding redacted.
    ``path_rules`` (for a user in ``groups``): protected files are handled before secrets."""
    started = time.perf_counter()
    parsed = REGISTRY.parse(raw, protocol, path)
    hits = find_protected(parsed.segments, path_rules, code_rules, groups)
    path_reported = [_report_path(parsed.segments[h.segment], h, keyring) for h in hits]
    withhold(parsed.segments, hits)
    located = [(seg, _with_action(f, _action(seg, f, actions))) for seg, f in scan_segments(detector, parsed.segments)]
    reported = path_reported + [_report(seg, f, keyring) for seg, f in located]
    decision = strongest(f.action for f in reported)
    inspection = Inspection(
        decision, reported, protocol, parsed.model, len(raw), len(parsed.segments), 0.0, texts=[seg.text for seg in parsed.segments]
    )
    if review:  # on a copy: the forwarded body keeps what was only warned about
        copied = copy.deepcopy(parsed)
        position = {id(seg): i for i, seg in enumerate(parsed.segments)}
        apply_placeholders([(copied.segments[position[id(seg)]], f) for seg, f in located], keyring, {BLOCK, REDACT, WARN})
        inspection.review_text = (copied.render() if located or hits else raw).decode("utf-8", "replace")
    if decision == REDACT:
        inspection.restore = apply_placeholders(located, keyring, {REDACT})
        _check_json_texts(parsed.segments)
        inspection.body = parsed.render()
    inspection.seconds = time.perf_counter() - started
    return inspection


def _report(seg: Segment, f: Finding, keyring: Keyring) -> FindingReport:
    return FindingReport(
        rule=f.rule.id,
        kind=f.rule.kind,
        severity=f.rule.severity,
        action=f.rule.action,
        field=seg.field,
        role=seg.role,
        path=seg.path,
        line=line_of(seg.text, f.start),
        start=f.start,
        end=f.end,
        value_hash=keyring.fingerprint(f.value),
    )


def _report_path(seg: Segment, hit: PathHit, keyring: Keyring) -> FindingReport:
    repository, path = hit.located()
    return FindingReport(
        rule=hit.rule.id, kind=hit.kind, severity="high", action=hit.rule.action, field=seg.field, role=seg.role,
        path=path, line=line_of(seg.text, hit.start), start=hit.start, end=hit.end,
        value_hash=keyring.fingerprint(seg.text[hit.start : hit.end]), repository=repository,
    )


def _action(seg: Segment, f: Finding, overrides: dict[str, str] | None) -> str | None:
    """The action for a finding, when it is not the rule's own: a group's override, and block for
    what would be redacted in structure (an id, a name, a path), which is never rewritten."""
    action = (overrides or {}).get(f.rule.id, f.rule.action)
    if action == REDACT and not seg.content:
        return BLOCK
    return None if action == f.rule.action else action


def _with_action(f: Finding, action: str | None) -> Finding:
    return f if action is None else Finding(replace(f.rule, action=action), f.start, f.end, f.value)


def _check_json_texts(segments: list[Segment]) -> None:
    """A redacted tool-call arguments string must still be the JSON document it was."""
    for seg in segments:
        if seg.json_text:
            json.loads(seg.text)  # raises: the request is refused (fail closed), never sent broken


def line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def apply_placeholders(located: list[tuple[Segment, Finding]], keyring: Keyring, actions: set[str]) -> dict[str, str]:
    """Replace, in their segments, the findings whose action is in ``actions`` by placeholders.
    Returns placeholder -> original value for the rules that allow restoring."""
    restore: dict[str, str] = {}
    by_segment: dict[int, tuple[Segment, list[Finding]]] = {}
    for seg, f in located:
        if f.action in actions:
            by_segment.setdefault(id(seg), (seg, []))[1].append(f)
    for seg, findings in by_segment.values():
        edits = []
        for f in findings:
            placeholder = keyring.placeholder(f.rule.id, f.value)
            if f.rule.restore:
                restore[placeholder] = f.value
            edits.append((f.start, f.end, placeholder))
        seg.text = splice(seg.text, edits)
    return restore
