"""Documents in request bodies: decoded by media type, inspected, re-encoded or refused."""

import base64
import json
import random

import pytest

from llm_dlp.act.placeholders import Keyring
from llm_dlp.inspect.documents import office_text, pdf_text, read_document
from llm_dlp.inspect.request import inspect_request
from llm_dlp.protocols.strictjson import BodyError
from llm_dlp.rules.files import bundled_rules_dir
from llm_dlp.rules.ruleset import load_ruleset
from support.pdfgen import make_docx, make_pdf
from support.secretgen import Gen, provider_tokens

DETECTOR = load_ruleset(bundled_rules_dir()).detector


def _token() -> str:
    return dict(provider_tokens(Gen(random.Random(11))))["github-pat"]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _inspect(doc: dict, protocol: str, path: str):
    return inspect_request(json.dumps(doc).encode(), protocol, path, DETECTOR, Keyring(b"k" * 32))


def anthropic_document(media_type: str, data: bytes, in_tool_result: bool = False) -> dict:
    block = {"type": "document", "source": {"type": "base64", "media_type": media_type, "data": _b64(data)}, "title": "notes"}
    content = [{"type": "tool_result", "tool_use_id": "toolu_1", "content": [block]}] if in_tool_result else [block]
    return {"model": "claude", "max_tokens": 10, "messages": [{"role": "user", "content": content}]}


def test_pdf_text_is_extracted_from_flate_streams():
    token = _token()
    text = pdf_text(make_pdf([["first page"], [f"key {token}"]]), "x.pdf")
    assert "first page" in text and token in text


def test_office_text_is_read_from_its_xml_parts():
    assert office_text(make_docx(["alpha <beta>", "gamma"]), "x.docx") == "alpha <beta> gamma"


@pytest.mark.parametrize("tool_result", [False, True])
def test_text_document_is_redacted_and_re_encoded(tool_result):
    token = _token()
    ins = _inspect(anthropic_document("text/plain", f"config\nTOKEN={token}\n".encode(), tool_result), "anthropic", "/v1/messages")
    assert ins.decision == "redact" and ins.findings[0].document == "notes" and ins.findings[0].line == 2
    sent = json.loads(ins.body)["messages"][0]["content"][0]
    source = (sent["content"][0] if tool_result else sent)["source"]
    decoded = base64.b64decode(source["data"]).decode()
    assert token not in decoded and decoded.startswith("config\nTOKEN=[REDACTED:github-token:")
    assert source["media_type"] == "text/plain"


@pytest.mark.parametrize("tool_result", [False, True])
def test_secret_in_a_pdf_blocks_naming_document_and_rule(tool_result):
    token = _token()
    ins = _inspect(
        anthropic_document("application/pdf", make_pdf([["report"], [f"key {token}"]]), tool_result), "anthropic", "/v1/messages"
    )
    assert ins.decision == "block" and ins.body is None
    message = ins.block_message()
    assert "github-token" in message and "'notes'" in message and token not in message


def test_clean_pdf_passes_unchanged():
    ins = _inspect(anthropic_document("application/pdf", make_pdf([["nothing secret here"]])), "anthropic", "/v1/messages")
    assert ins.decision == "allow"


def test_chat_file_part_and_responses_input_file_data_urls():
    token = _token()
    url = "data:application/pdf;base64," + _b64(make_pdf([[f"x {token}"]]))
    chat = {"model": "m", "messages": [{"role": "user", "content": [{"type": "file", "file": {"filename": "a.pdf", "file_data": url}}]}]}
    ins = _inspect(chat, "openai", "/v1/chat/completions")
    assert ins.decision == "block" and "'a.pdf'" in ins.block_message()
    text_url = "data:text/markdown;base64," + _b64(f"# notes\n{token}\n".encode())
    responses = {"model": "m", "input": [{"role": "user", "content": [{"type": "input_file", "filename": "n.md", "file_data": text_url}]}]}
    ins = _inspect(responses, "openai", "/v1/responses")
    assert ins.decision == "redact"
    sent = json.loads(ins.body)["input"][0]["content"][0]["file_data"]
    assert sent.startswith("data:text/markdown;base64,") and token not in base64.b64decode(sent.split(",", 1)[1]).decode()


def test_gemini_inline_data():
    token = _token()
    doc = {"contents": [{"role": "user", "parts": [{"inlineData": {"mimeType": "text/plain", "data": _b64(token.encode())}}]}]}
    ins = _inspect(doc, "gemini", "/v1beta/models/g:generateContent")
    assert ins.decision == "redact"
    sent = json.loads(ins.body)["contents"][0]["parts"][0]["inlineData"]["data"]
    assert base64.b64decode(sent).decode().startswith("[REDACTED:github-token:")


def test_images_pass_uninspected():
    doc = anthropic_document("image/png", b"\x89PNG not really")
    assert _inspect(doc, "anthropic", "/v1/messages").decision == "allow"


@pytest.mark.parametrize(
    "media_type,data",
    [
        ("application/pdf", b"%PDF-1.7 this is not a pdf"),
        ("application/octet-stream", b"\x00\x01"),
        ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", b"PK not a zip"),
        ("text/plain", b"\xff\xfe not utf-8 \xff"),
    ],
)
def test_a_document_that_cannot_be_read_is_refused(media_type, data):
    with pytest.raises(BodyError) as e:
        _inspect(anthropic_document(media_type, data), "anthropic", "/v1/messages")
    assert e.value.status == 400 and "'notes'" in str(e.value)


def test_broken_base64_is_refused():
    doc = anthropic_document("text/plain", b"x")
    doc["messages"][0]["content"][0]["source"]["data"] = "not base64!!"
    with pytest.raises(BodyError, match="not valid base64"):
        _inspect(doc, "anthropic", "/v1/messages")


def test_text_charset_of_a_data_url_is_kept():
    text, codec = read_document("café".encode("latin-1"), "text/plain", "n", "latin-1", "data:text/plain;charset=latin-1;base64,")
    assert text == "café" and codec.encode(text) == "data:text/plain;charset=latin-1;base64," + _b64("café".encode("latin-1"))
