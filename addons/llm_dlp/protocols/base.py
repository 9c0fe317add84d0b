"""Protocol adapters: find every piece of text in an API request body, with its JSON location,
its role and (where the payload names one) the file it came from, and write edits back.

Every string leaf of a JSON body is inspected, whatever the protocol: an adapter only adds
what it knows (role, file path, fields that hold binary data and are skipped), so a field an
API adds tomorrow is still inspected today."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

Pointer = tuple[str | int, ...]

ROLE_OTHER = "other"


@dataclass
class Segment:
    pointer: Pointer  # () for a non-JSON body
    text: str
    role: str = ROLE_OTHER
    path: str | None = None

    @property
    def field(self) -> str:
        return json_pointer(self.pointer)


@dataclass
class Annotations:
    """What an adapter knows about a body: roles and file paths by pointer, and skipped pointers."""

    roles: dict[Pointer, str] = field(default_factory=dict)
    paths: dict[Pointer, str] = field(default_factory=dict)
    skip: set[Pointer] = field(default_factory=set)
    model: str | None = None

    def mark(self, pointer: Pointer, role: str, path: str | None = None) -> None:
        self.roles[pointer] = role
        if path:
            self.paths[pointer] = path

    def lookup(self, pointer: Pointer) -> tuple[str, str | None]:
        """Role and path of the nearest annotated ancestor (a tool call's arguments, say)."""
        for i in range(len(pointer), -1, -1):
            prefix = pointer[:i]
            if prefix in self.roles:
                return self.roles[prefix], self.paths.get(prefix)
        return ROLE_OTHER, None


def json_pointer(pointer: Pointer) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in pointer)


def string_leaves(doc: Any, pointer: Pointer = ()) -> Iterator[tuple[Pointer, str]]:
    if isinstance(doc, str):
        yield pointer, doc
    elif isinstance(doc, dict):
        for k, v in doc.items():
            yield from string_leaves(v, pointer + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from string_leaves(v, pointer + (i,))


def set_at(doc: Any, pointer: Pointer, value: str) -> None:
    target = doc
    for key in pointer[:-1]:
        target = target[key]
    target[pointer[-1]] = value


PATH_KEYS = ("file_path", "filePath", "path", "filename", "fileName", "relativeFilePath", "uri", "notebook_path")
CONTENT_KEYS = ("content", "text", "snippet", "code", "source", "contents")


def path_in(args: Any) -> str | None:
    """The file a tool call's arguments name (a dict, or a JSON string of one)."""
    if isinstance(args, str):
        try:
            args = json.loads(args)
        except ValueError:
            return None
    if isinstance(args, dict):
        return next((args[k] for k in PATH_KEYS if isinstance(args.get(k), str) and args[k]), None)
    return None


def attribute_file_objects(doc: Any, notes: Annotations, pointer: Pointer = ()) -> None:
    """Any object pairing a path with content ({"path": ..., "content": ...}: neighbour snippets,
    editor state, file attachments) marks that content as the file's, unless already attributed."""
    if isinstance(doc, dict):
        path = path_in(doc)
        if path:
            for key in CONTENT_KEYS:
                if isinstance(doc.get(key), (str, list)) and (pointer + (key,)) not in notes.paths:
                    notes.mark(pointer + (key,), "file", path)
        for k, v in doc.items():
            attribute_file_objects(v, notes, pointer + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            attribute_file_objects(v, notes, pointer + (i,))


def segments_of(doc: Any, notes: Annotations) -> list[Segment]:
    out = []
    for pointer, text in string_leaves(doc):
        if not text or any(pointer[: len(s)] == s for s in notes.skip):
            continue
        role, path = notes.lookup(pointer)
        out.append(Segment(pointer, text, role, path))
    return out


@dataclass
class ParsedBody:
    """A request body taken apart for inspection; ``render`` puts the edited segments back."""

    doc: Any
    segments: list[Segment]
    model: str | None
    is_json: bool

    def render(self) -> bytes:
        if not self.is_json:
            return self.segments[0].text.encode("utf-8", "surrogateescape") if self.segments else b""
        for seg in self.segments:
            set_at(self.doc, seg.pointer, seg.text)
        return json.dumps(self.doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogateescape")


def raw_body(raw: bytes) -> ParsedBody:
    """A body inspected as one piece of raw text."""
    text = raw.decode("utf-8", "surrogateescape")
    return ParsedBody(None, [Segment((), text, "raw")] if text else [], None, False)


def load_json(raw: bytes) -> tuple[str, Any]:
    """The body as text, and its JSON document (None when it is not JSON)."""
    text = raw.decode("utf-8", "surrogateescape")
    try:
        return text, json.loads(text) if text.lstrip()[:1] in ("{", "[") else None
    except ValueError:
        return text, None


def parse_body(raw: bytes, protocol: str, path: str) -> ParsedBody:
    """Parse a request body for ``protocol``; anything that is not JSON is inspected as raw text."""
    from llm_dlp.protocols import anthropic, gemini, openai

    annotators = {"openai": openai.annotate, "anthropic": anthropic.annotate, "gemini": gemini.annotate}
    _, doc = load_json(raw)
    if doc is None:
        return raw_body(raw)
    annotate = annotators.get(protocol)
    notes = annotate(doc, path) if annotate and isinstance(doc, dict) else Annotations()
    attribute_file_objects(doc, notes)
    return ParsedBody(doc, segments_of(doc, notes), notes.model or _top_model(doc), True)


def _top_model(doc: Any) -> str | None:
    model = doc.get("model") if isinstance(doc, dict) else None
    return model if isinstance(model, str) else None
