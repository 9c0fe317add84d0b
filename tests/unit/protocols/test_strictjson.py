"""Strict parsing: every body a provider could read differently from the proxy is refused."""

import json

import pytest

from llm_dlp.protocols.strictjson import BodyError, loads, loads_lines, looks_like_json

SECRET = "sk-test-not-a-real-secret-value"


def _refused(raw: bytes, reason: str) -> str:
    with pytest.raises(BodyError) as e:
        loads(raw)
    assert e.value.reason == reason and e.value.status == 400
    assert SECRET not in str(e.value)
    return str(e.value)


def test_plain_json_parses():
    assert loads(b' {"a": [1, 2.5, "x\\u0041", true, null]} \n') == {"a": [1, 2.5, "xA", True, None]}


def test_duplicate_keys_are_refused_at_any_depth():
    _refused(b'{"a": {"k": "' + SECRET.encode() + b'", "k": "x"}}', "duplicate_key")


def test_byte_order_marks_and_wide_encodings_are_refused():
    body = json.dumps({"k": SECRET}).encode()
    _refused(b"\xef\xbb\xbf" + body, "not_utf8")
    _refused(body.decode().encode("utf-16"), "not_utf8")
    _refused(body.decode().encode("utf-16-le"), "not_utf8")
    _refused(body.decode().encode("utf-32"), "not_utf8")


def test_invalid_utf8_is_refused():
    _refused(b'{"k": "\xff' + SECRET.encode() + b'"}', "not_utf8")


def test_trailing_data_is_refused():
    assert "data after the JSON value" in _refused(b'{"a": 1} {"k": "' + SECRET.encode() + b'"}', "not_json")


def test_numbers_out_of_bounds_are_refused():
    _refused(b'{"n": ' + b"9" * 5000 + b"}", "number_too_long")
    _refused(b'{"n": 1e999}', "number_out_of_range")
    _refused(b'{"n": NaN}', "not_json")
    _refused(b'{"n": -Infinity}', "not_json")


def test_deep_nesting_is_refused():
    _refused(b"[" * 200 + b"]" * 200, "too_deep")
    _refused(b"[" * 100000 + b"]" * 100000, "too_deep")


def test_escaped_lone_surrogate_is_refused():
    _refused(b'{"k": "\\ud800' + SECRET.encode() + b'"}', "lone_surrogate")


def test_error_messages_never_quote_the_body():
    msg = _refused(b'{"' + SECRET.encode() + b'": 1, "' + SECRET.encode() + b'": 2}', "duplicate_key")
    assert SECRET not in msg


def test_jsonl_is_parsed_line_by_line_and_names_the_bad_line():
    assert loads_lines(b'{"a":1}\r\n\n{"b":2}\n') == [{"a": 1}, {"b": 2}]
    with pytest.raises(BodyError, match="line 2"):
        loads_lines(b'{"a":1}\n{"a":1,"a":2}\n')


def test_what_looks_like_json():
    assert looks_like_json(b"", "application/json; charset=utf-8")
    assert looks_like_json(b"\xef\xbb\xbf {", "text/plain")
    assert looks_like_json('[{"a":1}]'.encode("utf-16"), "")
    assert not looks_like_json(b"hello {", "text/plain")
