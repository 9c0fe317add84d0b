"""multipart/form-data bodies (Files and Uploads APIs), inspected part by part.

Each part is read by its content type with the document rules (inspect/documents.py): text fields
and text files are text, PDFs and Office files read-only extracted text, images pass, anything
else is refused. A JSONL file (``purpose=batch``, or a ``.jsonl`` name or type) is parsed line by
line, strictly, and each line's ``body`` as a request body of the protocol its ``url`` names.
The body is rebuilt with the same boundary and part headers; only edited parts change.

Parts of one upload (``/v1/uploads/{id}/parts``) are slices of a file at arbitrary offsets: no
single slice can be read as the file it belongs to (half a PDF), so they are refused; a file
goes through the Files API whole, where it is inspected."""

from __future__ import annotations

import json
import mimetypes
import re
from dataclasses import dataclass
from email.message import Message
from typing import Any

from llm_dlp.inspect import documents
from llm_dlp.protocols.base import Annotations, ParsedBody, Segment, segments_of
from llm_dlp.protocols.strictjson import BodyError, loads_text, strict_text

UPLOAD_PART = re.compile(r"/uploads/[^/]+/parts$")
JSONL_TYPES = ("application/jsonl", "application/x-jsonlines", "application/x-ndjson", "application/jsonlines")


@dataclass
class Part:
    head: bytes  # the part's header block, as sent
    name: str
    filename: str | None
    media_type: str
    charset: str
    body: bytes
    value: Any = None  # str (a text part), list of JSONL line documents, or None (not rewritten)
    codec: Any = None


class MultipartBody(ParsedBody):
    """A multipart body: ``doc`` is the list of parts' values; render rebuilds the body."""

    def __init__(self, parts: list[Part], boundary: bytes, preamble: bytes, epilogue: bytes, segments: list[Segment]):
        super().__init__([p.value for p in parts], segments, None, True)
        self.parts, self.boundary, self.preamble, self.epilogue = parts, boundary, preamble, epilogue

    def render(self) -> bytes:
        self.apply_edits()
        out = [self.preamble]
        for part, value in zip(self.parts, self.doc):
            out.append(b"--" + self.boundary + b"\r\n" + part.head + b"\r\n\r\n" + _encode_part(part, value) + b"\r\n")
        out.append(b"--" + self.boundary + b"--" + self.epilogue)
        return b"".join(out)


def _encode_part(part: Part, value: Any) -> bytes:
    if isinstance(value, list):
        return b"".join(json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode() + b"\n" for line in value)
    if isinstance(value, str):
        return value.encode(part.charset, "surrogateescape")
    return part.body


def boundary_of(content_type: str) -> bytes:
    msg = Message()
    msg["content-type"] = content_type
    boundary = msg.get_param("boundary")
    if not isinstance(boundary, str) or not 1 <= len(boundary) <= 70:
        raise BodyError("a multipart body without a valid boundary", "malformed_multipart")
    return boundary.encode("ascii", "replace")


def split_parts(raw: bytes, boundary: bytes) -> tuple[bytes, list[tuple[bytes, bytes]], bytes]:
    """(preamble, [(header block, body)], epilogue), strictly: a missing close delimiter is refused."""
    delimiter = b"--" + boundary
    first = raw.find(delimiter)
    close = raw.rfind(b"\r\n" + delimiter + b"--")
    if first < 0 or close < 0 or not (first == 0 or raw[first - 2 : first] == b"\r\n"):
        raise BodyError("a multipart body that is not closed by its boundary", "malformed_multipart")
    preamble, inner, epilogue = raw[:first], raw[first + len(delimiter) : close], raw[close + len(delimiter) + 4 :]
    parts = []
    for chunk in inner.split(b"\r\n" + delimiter):
        if not chunk.startswith(b"\r\n") or b"\r\n\r\n" not in chunk:
            raise BodyError("a multipart part without headers", "malformed_multipart")
        head, body = chunk[2:].split(b"\r\n\r\n", 1)
        parts.append((head, body))
    return preamble, parts, epilogue


def _part(head: bytes, body: bytes) -> Part:
    msg = Message()
    for line in head.decode("utf-8", "replace").split("\r\n"):
        name, sep, value = line.partition(":")
        if not sep:
            raise BodyError("a multipart part with a malformed header", "malformed_multipart")
        msg[name.strip()] = value.strip()
    disposition = Message()
    disposition["content-disposition"] = msg.get("content-disposition", "")
    raw_name = disposition.get_param("name", "", header="content-disposition")
    raw_filename = disposition.get_param("filename", None, header="content-disposition")
    name, filename = str(raw_name), raw_filename if isinstance(raw_filename, str) else None
    ctype = msg.get_content_type() if msg.get("content-type") else ("application/octet-stream" if filename else "text/plain")
    if ctype == "application/octet-stream" and filename:  # clients label most files so: the name tells
        ctype = mimetypes.guess_type(str(filename), strict=False)[0] or ctype
    return Part(head, name, filename, ctype, str(msg.get_param("charset") or "utf-8"), body)


def parse_multipart(raw: bytes, content_type: str, path: str, family: str) -> MultipartBody:
    if UPLOAD_PART.search(path.split("?", 1)[0]):
        raise BodyError(
            "parts of a multi-part upload cannot be inspected one slice at a time; upload the file whole (Files API)",
            "uninspectable_upload_part",
        )
    boundary = boundary_of(content_type)
    preamble, raw_parts, epilogue = split_parts(raw, boundary)
    parts = [_part(head, body) for head, body in raw_parts]
    batch = any(p.filename is None and p.name == "purpose" and p.body.strip() == b"batch" for p in parts)
    segments: list[Segment] = []
    for i, part in enumerate(parts):
        segments += _part_segments(i, part, batch, family)
    return MultipartBody(parts, boundary, preamble, epilogue, segments)


def _part_segments(i: int, part: Part, batch: bool, family: str) -> list[Segment]:
    label = part.filename or part.name
    if part.media_type.startswith(documents.PASSED):
        return []
    if part.filename and (part.media_type in JSONL_TYPES or part.filename.endswith((".jsonl", ".ndjson")) or batch):
        return _jsonl_segments(i, part, family)
    if part.filename is None or documents.is_text(part.media_type):
        text, _ = documents.read_document(part.body, part.media_type if part.filename else "text/plain", label, part.charset)
        part.value = text
        return [Segment((i,), text, "file" if part.filename else "other", part.filename, document=part.filename)]
    text, codec = documents.read_document(part.body, part.media_type, label)
    return [Segment((i,), text, "file", part.filename, codec=codec, document=label)]


def _jsonl_segments(i: int, part: Part, family: str) -> list[Segment]:
    """Every line strictly parsed; a batch line's ``body`` annotated as a request to its ``url``."""
    from llm_dlp.protocols.registry import REGISTRY

    lines = []
    for number, line in enumerate(strict_text(part.body).split("\n"), 1):
        if line.strip():
            lines.append(loads_text(line.removesuffix("\r"), f"line {number} of {part.filename!r}"))
    part.value = lines
    segments = []
    for n, line in enumerate(lines):
        url, body = (line.get("url"), line.get("body")) if isinstance(line, dict) else (None, None)
        notes = Annotations()
        if isinstance(url, str) and isinstance(body, dict):
            inner = REGISTRY.select(family, url).annotate(body, url)
            notes.roles = {("body", *k): v for k, v in inner.roles.items()}
            notes.paths = {("body", *k): v for k, v in inner.paths.items()}
            notes.json_text = {("body", *k) for k in inner.json_text}
        protocol = REGISTRY.select(family, url if isinstance(url, str) else "")
        for seg in segments_of(line, notes, protocol.structure_keys | {"custom_id", "method", "url"}):
            seg.pointer = (i, n, *seg.pointer)
            seg.document = part.filename
            segments.append(seg)
    return segments
