"""What every protocol shares: a request body taken apart into text segments, each with its JSON
location, role, file path and whether it carries content or structure, and put back together.

Every string leaf of a JSON body is inspected, whatever the protocol: a protocol module only adds
what it knows (roles, file paths, pairing of tool calls and results, fields holding binary data),
so a field an API adds tomorrow is still inspected today. Edits (redaction, withholding) change
content segments only; structure (ids, types, roles, names, paths) is never rewritten."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from llm_dlp.protocols.shell import files_printed

Pointer = tuple[str | int, ...]

ROLE_OTHER = "other"

# Keys whose string values identify or describe (structure), in every API llm-dlp knows.
PATH_KEYS = ("file_path", "filePath", "path", "filename", "fileName", "relativeFilePath", "uri", "notebook_path")
STRUCTURE_KEYS = frozenset(
    {
        "type",
        "id",
        "role",
        "name",
        "model",
        "object",
        "index",
        "status",
        "tool_use_id",
        "tool_call_id",
        "call_id",
        "item_id",
        "response_id",
        "previous_response_id",
        "media_type",
        "mime_type",
        "mimeType",
        "detail",
        "format",
        "encoding",
        "signature",
        "stop_reason",
        "finish_reason",
        "anthropic_version",
        "cache_control",
        "ttl",
        "service_tier",
        "reasoning_effort",
        "effort",
        "tool_choice",
        "modalities",
        "voice",
        "fileUri",
        "file_id",
        "image_url",
        *PATH_KEYS,
    }
)
CONTENT_KEYS = ("content", "text", "snippet", "code", "source", "contents")
SHELL_KEYS = ("command", "cmd", "commands", "script")  # Bash, exec_command, shell, run_shell_command, local_shell


@dataclass
class Segment:
    pointer: Pointer  # () for a non-JSON body
    text: str
    role: str = ROLE_OTHER
    path: str | None = None  # the file this text is (part of), when the payload says so
    content: bool = True  # False: structure (an id, a type, a name, a path) that edits never touch
    json_text: bool = False  # the text is itself a JSON document (a tool call's arguments string)
    codec: Any = None  # a document's text: codec.encode(text) is the JSON string to write back (None: read-only)
    document: str | None = None  # the name of the document this text was decoded or extracted from
    key: bool = False  # the text is an object key (the last element of ``pointer``), not a value

    @property
    def field(self) -> str:
        # a key's own name is never shown: it may be the secret
        return json_pointer(self.pointer[:-1]) + "#key" if self.key else json_pointer(self.pointer)

    @property
    def editable(self) -> bool:
        """Whether an edit can be written back: content, and not text extracted from a binary document."""
        return self.content and (self.codec is None or self.codec.writable)


@dataclass
class Annotations:
    """What a protocol knows about a body: roles and file paths by pointer, and skipped pointers."""

    roles: dict[Pointer, str] = field(default_factory=dict)
    paths: dict[Pointer, str] = field(default_factory=dict)
    skip: set[Pointer] = field(default_factory=set)
    json_text: set[Pointer] = field(default_factory=set)  # string leaves holding JSON documents
    model: str | None = None

    def mark(self, pointer: Pointer, role: str, path: str | None = None) -> None:
        self.roles[pointer] = role
        if path:
            self.paths[pointer] = path

    def lookup(self, pointer: Pointer) -> tuple[str, str | None]:
        """Role and path of the nearest annotated ancestor (a tool call's arguments, say)."""
        role, path = ROLE_OTHER, None
        for i in range(len(pointer), -1, -1):
            prefix = pointer[:i]
            if path is None and prefix in self.paths:
                path = self.paths[prefix]
            if prefix in self.roles:
                return self.roles[prefix], path if path is not None else self.paths.get(prefix)
        return role, path


def json_pointer(pointer: Pointer) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in pointer)


def string_leaves(doc: Any, pointer: Pointer = ()) -> Iterator[tuple[Pointer, str]]:
    if isinstance(doc, str):
        yield pointer, doc
    elif isinstance(doc, dict):
        for k, v in doc.items():
            yield from string_leaves(v, (*pointer, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from string_leaves(v, (*pointer, i))


def get_at(doc: Any, pointer: Pointer) -> Any:
    for key in pointer:
        doc = doc[key]
    return doc


def set_at(doc: Any, pointer: Pointer, value: Any) -> None:
    get_at(doc, pointer[:-1])[pointer[-1]] = value


def compact_json(doc: Any) -> bytes:
    """A document as rewritten bodies are sent: compact, UTF-8, bytes the body arrived with kept."""
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogateescape")


def rename_key(obj: dict, old: Any, new: str) -> None:
    """Rename a key in place, keeping the object's order."""
    items = [(new if k == old else k, v) for k, v in obj.items()]
    obj.clear()
    obj.update(items)


def is_structure(pointer: Pointer, structure_keys: frozenset[str]) -> bool:
    """A leaf is structure when its own key, or a container above it, is a structure key."""
    return any(isinstance(k, str) and k in structure_keys for k in pointer)


def _arguments(args: Any) -> Any:
    """A tool call's arguments: a dict, or a JSON string of one."""
    if isinstance(args, str):
        try:
            return json.loads(args)
        except ValueError:
            return None
    return args


def path_in(args: Any) -> str | None:
    """The file a tool call's arguments name (a dict, or a JSON string of one)."""
    args = _arguments(args)
    if isinstance(args, dict):
        return next((args[k] for k in PATH_KEYS if isinstance(args.get(k), str) and args[k]), None)
    return None


def result_path(args: Any) -> str | None:
    """The file(s) a tool call's result holds: the path its arguments name, else the files its shell
    command prints (``cat .env``, ``sed -n 1,9p a b``), one per line. A command whose output has no
    known source (``cat $F``, a script) names none: see docs/paths.md."""
    if path := path_in(args):
        return path
    args = _arguments(args)
    command = next((args[k] for k in SHELL_KEYS if isinstance(args.get(k), (str, list))), None) if isinstance(args, dict) else None
    if command is None or (isinstance(command, list) and not all(isinstance(w, str) for w in command)):
        return None
    return "\n".join(files_printed(command).files) or None


def attribute_file_objects(doc: Any, notes: Annotations, pointer: Pointer = ()) -> None:
    """Any object pairing a path with content ({"path": ..., "content": ...}: neighbour snippets,
    editor state, file attachments) marks that content as the file's, unless already attributed."""
    if isinstance(doc, dict):
        path = path_in(doc)
        if path:
            for key in CONTENT_KEYS:
                if isinstance(doc.get(key), (str, list)) and (*pointer, key) not in notes.paths:
                    notes.mark((*pointer, key), "file", path)
        for k, v in doc.items():
            attribute_file_objects(v, notes, (*pointer, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            attribute_file_objects(v, notes, (*pointer, i))


# Object keys shorter than this are names, not secrets: not inspected.
MIN_KEY_LENGTH = 8


def object_keys(doc: Any, pointer: Pointer = ()) -> Iterator[Pointer]:
    """The pointer of every object key of at least MIN_KEY_LENGTH characters."""
    if isinstance(doc, dict):
        for k, v in doc.items():
            if len(k) >= MIN_KEY_LENGTH:
                yield (*pointer, k)
            yield from object_keys(v, (*pointer, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from object_keys(v, (*pointer, i))


def segments_of(doc: Any, notes: Annotations, structure_keys: frozenset[str], renamable=None) -> list[Segment]:
    """Every string value and every long object key, as segments. A key is content (an edit renames
    it) only where ``renamable(pointer)`` says the API allows renaming (a tool call's input);
    elsewhere it is structure, and a finding in it blocks."""
    out = []
    for pointer, text in string_leaves(doc):
        if not text or any(pointer[: len(s)] == s for s in notes.skip):
            continue
        role, path = notes.lookup(pointer)
        out.append(Segment(pointer, text, role, path, not is_structure(pointer, structure_keys), pointer in notes.json_text))
    for pointer in object_keys(doc):
        role, path = notes.lookup(pointer)
        out.append(Segment(pointer, str(pointer[-1]), role, path, bool(renamable and renamable(pointer)), key=True))
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
        self.apply_edits()
        return compact_json(self.doc)

    def apply_edits(self) -> None:
        """Write the segments' texts back into ``doc``: values (re-encoded documents), then renamed keys."""
        for seg in self.segments:
            value = seg.codec.encode(seg.text) if seg.codec is not None else seg.text
            if value is not None and not seg.key:
                set_at(self.doc, seg.pointer, value)
        renamed = [seg for seg in self.segments if seg.key and seg.text != seg.pointer[-1]]
        for seg in sorted(renamed, key=lambda seg: -len(seg.pointer)):  # deepest first: outer pointers stay valid
            rename_key(get_at(self.doc, seg.pointer[:-1]), seg.pointer[-1], seg.text)


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


@dataclass(frozen=True)
class Delta:
    """Where a streamed event carries a fragment of growing model text."""

    key: tuple  # the channel: same key in consecutive events = one growing text
    path: tuple  # where the fragment sits in the event
    is_json: bool  # the fragment is JSON source (tool arguments): restored values are escaped
    last: bool = False  # the event says the text is complete (Amazon Q's toolUseEvent stop): nothing is held back


def top_model(doc: Any) -> str | None:
    model = doc.get("model") if isinstance(doc, dict) else None
    return model if isinstance(model, str) else None


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


def as_dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}
