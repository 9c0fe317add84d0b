"""Inspecting what the model hands back: secrets it emits are redacted and recorded, and
placeholders from the request are restored. Used for streamed and whole responses alike."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from llm_dlp.act.actions import WARN
from llm_dlp.act.placeholders import Keyring
from llm_dlp.act.restore import Restorer
from llm_dlp.detect.detector import Detector
from llm_dlp.detect.findings import FindingReport
from llm_dlp.inspect.packages import PackageFinding, PackagePolicy
from llm_dlp.inspect.stream import Channel, looks_like_json
from llm_dlp.protocols.base import compact_json, load_json, set_at, string_leaves
from llm_dlp.record.lineage import LineageRecorder
from llm_dlp.text.splice import splice


class OutputInspector:
    def __init__(
        self,
        detector: Detector,
        keyring: Keyring,
        restorer: Restorer,
        packages: PackagePolicy | None = None,
        lineage: LineageRecorder | None = None,
        served_model: Callable[[Any], str | None] = lambda doc: None,
    ):
        """``served_model`` reads the model's name from an answer or event (the protocol knows where)."""
        self._detector = detector
        self._keyring = keyring
        self._restore = restorer
        self._packages = packages
        self.lineage = lineage
        self._served_model_of = served_model
        self.findings: list[FindingReport] = []
        self.package_findings: list[PackageFinding] = []
        self.served_model: str | None = None
        self.review: list[str] | None = None  # model text with output secrets redacted, not restored (incident store)

    def observe(self, doc: object) -> None:
        """Note which model served the response (events and bodies name it)."""
        if not self.served_model:
            self.served_model = self._served_model_of(doc)

    def check_packages(self, text: str, with_note: bool) -> str:
        """Record the unapproved packages ``text`` suggests; return the note to append, if any."""
        if not self._packages:
            return ""
        new = [f for f in self._packages.check(text) if f not in self.package_findings]
        self.package_findings += new
        return self._packages.note(new) if with_note else ""

    def end_channel(self, key: tuple, channel: Channel) -> str:
        """StreamRewriter hook: a channel's text is complete. Notes go into text, not tool arguments."""
        text, is_json = "".join(channel.text), channel.template is not None and channel.template[3].is_json
        if self.lineage:
            self.lineage.add(text, is_json)
        return self.check_packages(text, with_note=not is_json)

    def snapshot(self, text: str, is_json: bool = False) -> str:
        """A whole text of a streamed event (a done event, the final answer): what its deltas
        already carried, so a finding seen there is not recorded twice."""
        return self.process(text, "", is_json, repeated=True)

    def process(self, text: str, context: str = "", is_json: bool = False, repeated: bool = False) -> str:
        """Model text -> client text. ``context`` is what the model said just before (already
        sent): rules that need a keyword before the value still see it. ``repeated``: the text
        repeats earlier text; findings already recorded are not recorded again."""
        base = len(context)
        edits = []
        for f in self._detector.scan(context + text):
            if f.end <= base:
                continue  # handled when that text went out
            found = FindingReport(
                f.rule.id, f.rule.kind, f.rule.severity, f.action, self._keyring.fingerprint(f.value), partly_sent=f.start < base
            )
            if not (repeated and any((o.rule, o.value_hash) == (found.rule, found.value_hash) for o in self.findings)):
                self.findings.append(found)
            edits.append((max(f.start, base) - base, f.end - base, self._keyring.placeholder(f.rule.id, f.value), f.action))
        if self.review is not None:  # the incident store keeps nothing a rule found, warned or not
            self.review.append(splice(text, [e[:3] for e in edits]))
        return self._restore(splice(text, [e[:3] for e in edits if e[3] != WARN]), json_escape=is_json)

    def rewrite_body(self, raw: bytes) -> bytes:
        """A whole response body: every string of a JSON body, or the body as text."""
        text, doc = load_json(raw)
        if doc is None:
            return (self.process(text) + self.check_packages(text, with_note=False)).encode("utf-8", "surrogateescape")
        self.observe(doc)
        changed = False
        for pointer, value in list(string_leaves(doc)):
            is_json = looks_like_json(value)
            if self.lineage:  # whole texts of a completion are code; other strings only hold fenced code
                self.lineage.add(value, is_json, whole_is_code=None if pointer[-1:] == ("text",) else False)
            new = self.process(value, "", is_json)
            new += self.check_packages(value, with_note=not is_json)
            if new != value:
                set_at(doc, pointer, new)
                changed = True
        if not changed:
            return raw
        return compact_json(doc)
