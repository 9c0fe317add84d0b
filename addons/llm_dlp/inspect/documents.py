"""Documents inside a request: base64 and data-URL content decoded by media type and inspected.

The model reads a PDF, a text file or a spreadsheet sent as base64 (Anthropic ``document`` blocks,
also inside a ``tool_result``; Chat Completions ``file`` parts and Responses ``input_file`` as
``data:`` URLs; Gemini ``inlineData``; files uploaded to a Files API). So:

- text types (text/*, JSON, XML, YAML, CSV, Markdown, source code) are decoded, inspected like any
  other text, and encoded again after redaction;
- PDF text is extracted (pypdf) and Office documents' (docx, xlsx, pptx) from their XML parts,
  within size, page and time bounds. They cannot be redacted in place, so their text is read-only:
  a finding whose action is redact or block blocks the request, naming the document and rule;
- images, audio and video pass uninspected (documented); any other type, and any document that
  cannot be decoded or extracted, is refused (fail closed)."""

from __future__ import annotations

import base64
import binascii
import codecs
import html
import io
import re
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from llm_dlp.protocols.base import Pointer, Segment, json_pointer
from llm_dlp.protocols.strictjson import BodyError

MAX_PAGES = 500
MAX_SECONDS = 10.0
MAX_TEXT = 16 << 20  # characters extracted from one document
MAX_UNPACKED = 64 << 20  # bytes of XML read from one Office document

PASSED = ("image/", "audio/", "video/")
TEXT_TYPES = frozenset(
    {
        "application/json",
        "application/x-ndjson",
        "application/jsonl",
        "application/xml",
        "application/yaml",
        "application/x-yaml",
        "application/toml",
        "application/csv",
        "application/javascript",
        "application/typescript",
        "application/x-python",
        "application/x-sh",
        "application/sql",
        "application/graphql",
        "application/x-httpd-php",
        "application/rtf",
    }
)
PDF = "application/pdf"
OFFICE = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx",
}
_DATA_URL = re.compile(r"data:([\w.+-]+/[\w.+-]+)((?:;[\w.+-]+=[\w.+-]+)*);base64,", re.ASCII)
_MEDIA_KEYS = ("media_type", "mimeType", "mime_type")
_NAME_KEYS = ("filename", "file_name", "title", "name", "displayName")


class DocumentCodec:
    """How a document's decoded text goes back into its JSON string after redaction."""

    writable = True

    def __init__(self, prefix: str, charset: str):
        self.prefix, self.charset = prefix, charset

    def encode(self, text: str) -> str | None:
        return self.prefix + base64.b64encode(text.encode(self.charset, "surrogateescape")).decode("ascii")


class ReadOnly:
    """Text extracted from a binary document: inspected, never written back."""

    writable = False

    def encode(self, text: str) -> None:
        return None


@dataclass(frozen=True)
class Found:
    pointer: Pointer  # the JSON string holding the document
    media_type: str
    params: str  # ;charset=... of a data URL
    prefix: str  # what precedes the base64 in the string ("data:...;base64," or "")
    name: str


def is_text(media_type: str) -> bool:
    return media_type.startswith("text/") or media_type in TEXT_TYPES or media_type.endswith(("+json", "+xml"))


def find_documents(doc: Any, pointer: Pointer = (), name: str | None = None) -> Iterator[Found]:
    """Every base64 document in a JSON body: a ``data`` string next to a media type (Anthropic
    ``source``, Gemini ``inlineData``) or a ``data:...;base64,`` URL anywhere."""
    if isinstance(doc, dict):
        name = next((doc[k] for k in _NAME_KEYS if isinstance(doc.get(k), str) and doc[k]), name)
        media = next((doc[k] for k in _MEDIA_KEYS if isinstance(doc.get(k), str)), None)
        for key, value in doc.items():
            at = (*pointer, key)
            if key == "data" and media and isinstance(value, str) and doc.get("type", "base64") == "base64" and not _DATA_URL.match(value):
                yield Found(at, media.split(";")[0].strip().lower(), "", "", name or json_pointer(at))
            else:
                yield from find_documents(value, at, name)
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield from find_documents(value, (*pointer, i), name)
    elif isinstance(doc, str) and doc.startswith("data:") and (m := _DATA_URL.match(doc)):
        yield Found(pointer, m.group(1).lower(), m.group(2), m.group(0), name or json_pointer(pointer))


def expand(doc: Any, segments: list[Segment]) -> list[Segment]:
    """``segments`` with each document's base64 string replaced by the document's text (nothing,
    for an image); a BodyError for a document that cannot be inspected."""
    found = list(find_documents(doc))
    if not found:
        return segments
    at = {f.pointer for f in found}
    kept = [seg for seg in segments if seg.key or seg.pointer not in at]
    by_pointer = {seg.pointer: seg for seg in segments if not seg.key}
    for f in found:
        seg = document_segment(f, _string_at(doc, f.pointer), by_pointer.get(f.pointer))
        if seg is not None:
            kept.append(seg)
    return kept


def _string_at(doc: Any, pointer: Pointer) -> str:
    for key in pointer:
        doc = doc[key]
    return doc


def document_segment(f: Found, value: str, original: Segment | None) -> Segment | None:
    if f.media_type.startswith(PASSED):
        return None
    data = decode_base64(value[len(f.prefix) :], f.name)
    text, codec = read_document(data, f.media_type, f.name, _charset(f.params), f.prefix)
    role = original.role if original else "other"
    return Segment(f.pointer, text, role, original.path if original else None, codec=codec, document=f.name)


def decode_base64(value: str, name: str) -> bytes:
    try:
        return base64.b64decode(re.sub(r"\s+", "", value), validate=True)
    except (binascii.Error, ValueError):
        raise BodyError(f"the document {_shown(name)} is not valid base64 and cannot be inspected", "undecodable_document") from None


def read_document(
    data: bytes, media_type: str, name: str, charset: str = "utf-8", prefix: str = ""
) -> tuple[str, DocumentCodec | ReadOnly]:
    """A document's text, and how (whether) it goes back after redaction; a BodyError if it cannot be read."""
    if is_text(media_type):
        try:
            return codecs.decode(data, charset), DocumentCodec(prefix, charset)
        except (UnicodeDecodeError, LookupError):
            raise BodyError(
                f"the document {_shown(name)} is not valid {charset[:20]} text and cannot be inspected", "undecodable_document"
            ) from None
    if media_type == PDF:
        return pdf_text(data, name), ReadOnly()
    if media_type in OFFICE:
        return office_text(data, name), ReadOnly()
    raise BodyError(f"the document {_shown(name)} has a type llm-dlp cannot inspect ({media_type[:60]})", "uninspectable_document")


def pdf_text(data: bytes, name: str) -> str:
    """The text of every page, within MAX_PAGES, MAX_SECONDS and MAX_TEXT; a BodyError otherwise."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    started = time.monotonic()
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise BodyError(f"the PDF {_shown(name)} is encrypted and cannot be inspected", "uninspectable_document")
        if len(reader.pages) > MAX_PAGES:
            raise BodyError(f"the PDF {_shown(name)} has more than {MAX_PAGES} pages, more than llm-dlp inspects", "uninspectable_document")
        pages, size = [], 0
        for page in reader.pages:
            pages.append(page.extract_text() or "")
            size += len(pages[-1])
            if size > MAX_TEXT or time.monotonic() - started > MAX_SECONDS:
                raise BodyError(f"the PDF {_shown(name)} is too large to inspect in time", "uninspectable_document")
        return "\n\f".join(pages)
    except BodyError:
        raise
    except (
        PyPdfError,
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        IndexError,
        OSError,
        RecursionError,
        AssertionError,
        ZeroDivisionError,
    ):
        raise BodyError(f"the PDF {_shown(name)} could not be read and cannot be inspected", "uninspectable_document") from None


_XML_TEXT = re.compile(r">([^<]+)<")


def office_text(data: bytes, name: str) -> str:
    """The text of every XML part of a docx/xlsx/pptx (documents, sheets, shared strings, slides,
    notes, comments), read without an XML parser (no entity expansion), within MAX_UNPACKED."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            parts = [i for i in z.infolist() if i.filename.endswith(".xml") and not i.filename.startswith(("[Content_Types]", "_rels/"))]
            if sum(i.file_size for i in parts) > MAX_UNPACKED:
                raise BodyError(f"the document {_shown(name)} unpacks to more than llm-dlp inspects", "uninspectable_document")
            texts = []
            for info in parts:
                with z.open(info) as part:
                    xml = part.read(MAX_UNPACKED + 1).decode("utf-8", "replace")
                texts.append(" ".join(html.unescape(t) for t in _XML_TEXT.findall(xml) if t.strip()))
            return "\n".join(t for t in texts if t)
    except BodyError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError):
        raise BodyError(f"the document {_shown(name)} could not be read and cannot be inspected", "uninspectable_document") from None


def _charset(params: str) -> str:
    m = re.search(r";charset=([\w.+-]+)", params, re.IGNORECASE)
    return m.group(1).lower() if m else "utf-8"


def _shown(name: str) -> str:
    """A document's name as a message may show it: short, printable."""
    name = "".join(c for c in name if c.isprintable())
    return repr(name if len(name) <= 80 else name[:77] + "...")
