"""Parse a request body exactly as strictly as the strictest provider, or refuse it.

A body the proxy reads one way and a provider another is a way past inspection: a duplicate key
(the proxy sees the last copy, a provider the first), a UTF-8 BOM or UTF-16 body, trailing data
after the value (Go's ``json.Decoder`` stops at the first value), a number no parser agrees on.
So a body to a JSON endpoint must be strict UTF-8 RFC 8259 JSON with none of these, or it is
refused; nothing is inspected as raw text while a provider reads it as JSON.

Errors carry a message that is safe to show and to log: a position and what was wrong, never a
piece of the body."""

from __future__ import annotations

import json
import re
from typing import Any

MAX_NUMBER_DIGITS = 100
MAX_DEPTH = 128


class BodyError(ValueError):
    """A body refused before inspection. ``status`` is the HTTP status to answer with (400, or 413
    for a body too large once decoded); ``reason`` a short code for audit records and metrics."""

    def __init__(self, message: str, reason: str = "malformed_body", status: int = 400):
        super().__init__(message)
        self.reason = reason
        self.status = status


_BOMS = (
    (b"\xef\xbb\xbf", "a UTF-8 byte order mark"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\xfe\xff", "UTF-16"),
    (b"\xff\xfe", "UTF-16"),
)


def strict_text(raw: bytes) -> str:
    """``raw`` as strict UTF-8: no byte order mark, no UTF-16/32, no invalid sequence or lone surrogate."""
    for bom, what in _BOMS:
        if raw.startswith(bom):
            raise BodyError(f"the body starts with {what}; send UTF-8 without a byte order mark", "not_utf8")
    if len(raw) >= 2 and (raw[0] == 0 or raw[1] == 0):
        raise BodyError("the body is UTF-16 or UTF-32; send UTF-8", "not_utf8")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BodyError(f"the body is not valid UTF-8 (byte {e.start})", "not_utf8") from None


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    doc = dict(pairs)
    if len(doc) != len(pairs):
        counts: dict[str, int] = {}
        for k, _ in pairs:
            counts[k] = counts.get(k, 0) + 1
        duplicate = next(k for k, n in counts.items() if n > 1)
        raise BodyError(f"duplicate object key ({len(duplicate)} characters); providers disagree on which copy they read", "duplicate_key")
    return doc


def _number(kind: type):
    def parse(literal: str):
        if len(literal) > MAX_NUMBER_DIGITS:
            raise BodyError(f"a number of {len(literal)} characters (at most {MAX_NUMBER_DIGITS})", "number_too_long")
        value = kind(literal)
        if kind is float and value in (float("inf"), float("-inf")):
            raise BodyError("a number out of the range of a double", "number_out_of_range")
        return value

    return parse


def _constant(name: str):
    raise BodyError(f"{name} is not JSON", "not_json")


_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def loads(raw: bytes) -> Any:
    """The JSON document in ``raw``, parsed strictly, or a BodyError."""
    return loads_text(strict_text(raw))


def loads_text(text: str, where: str = "the body") -> Any:
    try:
        doc = json.loads(text, object_pairs_hook=_pairs, parse_int=_number(int), parse_float=_number(float), parse_constant=_constant)
    except json.JSONDecodeError as e:
        what = "data after the JSON value" if e.msg == "Extra data" else e.msg.lower()
        raise BodyError(f"{where} is not valid JSON: {what} (line {e.lineno}, column {e.colno})", "not_json") from None
    except RecursionError:
        raise BodyError(f"{where} nests deeper than {MAX_DEPTH} levels", "too_deep") from None
    except BodyError as e:
        raise BodyError(f"{where} is refused: {e}", e.reason) from None
    _check_tree(doc, where)
    return doc


def _check_tree(doc: Any, where: str) -> None:
    """Depth bound, and no string (value or key) with an escaped lone surrogate: parsers differ on it."""
    stack = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise BodyError(f"{where} nests deeper than {MAX_DEPTH} levels", "too_deep")
        if isinstance(node, dict):
            for k, v in node.items():
                _check_string(k, where)
                stack.append((v, depth + 1))
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
        elif isinstance(node, str):
            _check_string(node, where)


def _check_string(s: str, where: str) -> None:
    if not s.isascii() and _LONE_SURROGATE.search(s):
        raise BodyError(f"{where} holds an escaped lone surrogate, which providers read differently", "lone_surrogate")


def loads_lines(raw: bytes) -> list[Any]:
    """An NDJSON/JSONL body: one strict JSON value per line; blank lines (and a final newline) allowed."""
    out = []
    for number, line in enumerate(strict_text(raw).split("\n"), 1):
        if line.strip():
            out.append(loads_text(line.removesuffix("\r"), f"line {number}"))
    return out


def looks_like_json(raw: bytes, content_type: str = "") -> bool:
    """Whether a provider would read ``raw`` as JSON: a JSON content type, or a body that starts
    like one (after whitespace or a byte order mark, in any UTF encoding)."""
    media = content_type.split(";")[0].strip().lower()
    if media == "application/json" or media.endswith("+json"):
        return True
    head = raw[:64].replace(b"\x00", b"")
    for bom in (b"\xef\xbb\xbf", b"\xfe\xff", b"\xff\xfe"):
        head = head.removeprefix(bom)
    return head.lstrip()[:1] in (b"{", b"[")
