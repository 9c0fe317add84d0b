"""Files and Uploads API bodies: multipart parts inspected by type, batch JSONL line by line."""

import json
import random

import pytest

from llm_dlp.act.placeholders import Keyring
from llm_dlp.inspect.request import inspect_request
from llm_dlp.protocols.strictjson import BodyError
from llm_dlp.rules.files import bundled_rules_dir
from llm_dlp.rules.ruleset import load_ruleset
from support.pdfgen import make_pdf
from support.secretgen import Gen, provider_tokens

DETECTOR = load_ruleset(bundled_rules_dir()).detector
BOUNDARY = "----llmdlpTestBoundary7"


def _token() -> str:
    return dict(provider_tokens(Gen(random.Random(13))))["github-pat"]


def multipart(*parts: tuple[str, str | None, str | None, bytes]) -> tuple[bytes, str]:
    out = b""
    for name, filename, ctype, body in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n".encode()
        out += (f"Content-Type: {ctype}\r\n" if ctype else "").encode() + b"\r\n" + body + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode(), f"multipart/form-data; boundary={BOUNDARY}"


def _inspect(body: bytes, ctype: str, path: str = "/v1/files"):
    return inspect_request(body, "openai", path, DETECTOR, Keyring(b"k" * 32), content_type=ctype)


def test_batch_jsonl_lines_are_request_bodies_and_escapes_do_not_hide_a_secret():
    token = _token()
    escaped = "".join(f"\\u{ord(c):04x}" for c in token)
    line = '{"custom_id": "r1", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "m", "messages": [{"role": "user", "content": "key %s"}]}}'
    jsonl = (line % escaped + "\n" + line % "clean" + "\n").encode()
    body, ctype = multipart(("purpose", None, None, b"batch"), ("file", "batch.jsonl", "application/octet-stream", jsonl))
    ins = _inspect(body, ctype)
    assert ins.decision == "redact"
    assert ins.findings[0].field == "/1/0/body/messages/0/content" and ins.findings[0].role == "user"
    sent = ins.body.decode()
    assert escaped not in sent and token not in sent and sent.startswith(f"--{BOUNDARY}\r\n")
    lines = sent.split("\r\n\r\n", 2)[2].split("\r\n--")[0].strip().split("\n")
    assert json.loads(lines[0])["body"]["messages"][0]["content"].startswith("key [REDACTED:github-token:")
    assert json.loads(lines[1])["body"]["messages"][0]["content"] == "key clean"


def test_a_bad_batch_line_is_refused():
    body, ctype = multipart(("purpose", None, None, b"batch"), ("file", "b.jsonl", None, b'{"a": 1}\n{"a": 1, "a": 2}\n'))
    with pytest.raises(BodyError, match="line 2"):
        _inspect(body, ctype)


def test_text_file_is_redacted_in_place_and_other_parts_kept_byte_for_byte():
    token = _token()
    body, ctype = multipart(("purpose", None, None, b"assistants"), ("file", "notes.md", "text/markdown", f"# x\n{token}\n".encode()))
    ins = _inspect(body, ctype)
    assert ins.decision == "redact" and ins.findings[0].document == "notes.md"
    assert body.replace(token.encode(), b"") != ins.body and token.encode() not in ins.body
    assert ins.body.startswith(body[: body.index(b"# x")])


def test_a_secret_in_an_uploaded_pdf_blocks():
    token = _token()
    body, ctype = multipart(("purpose", None, None, b"user_data"), ("file", "r.pdf", "application/pdf", make_pdf([[f"k {token}"]])))
    ins = _inspect(body, ctype)
    assert ins.decision == "block" and "'r.pdf'" in ins.block_message()


def test_unknown_binary_file_and_upload_parts_are_refused():
    body, ctype = multipart(("file", "blob.bin", "application/octet-stream", b"\x00\x01\x02"))
    with pytest.raises(BodyError, match="cannot inspect"):
        _inspect(body, ctype)
    body, ctype = multipart(("data", "blob", "application/octet-stream", b"part of a file"))
    with pytest.raises(BodyError, match="upload the file whole"):
        _inspect(body, ctype, "/v1/uploads/upload_abc/parts")


def test_a_body_not_closed_by_its_boundary_is_refused():
    body, ctype = multipart(("purpose", None, None, b"batch"))
    with pytest.raises(BodyError, match="not closed"):
        _inspect(body[:-10], ctype)
