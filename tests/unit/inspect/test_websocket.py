"""WebSocket messages without a proxy: client events of each API inspected by the HTTP request
pipeline and rewritten in place, refusals in each API's terms, server events restored and
inspected like SSE events (also when a placeholder is split over messages)."""

from __future__ import annotations

import base64
import json
import random
import secrets as pysecrets

import pytest
import wsproto
import wsproto.events
import wsproto.extensions

from llm_dlp.act.placeholders import Keyring
from llm_dlp.act.restore import Restorer
from llm_dlp.inspect.output import OutputInspector
from llm_dlp.inspect.request import inspect_request
from llm_dlp.inspect.websocket import (
    GEMINI_LIVE,
    MAX_CLOSE_REASON,
    REALTIME,
    RESPONSES,
    ServerStream,
    api_for,
    inspect_client_message,
)
from llm_dlp.rules.files import bundled_rules_dir
from llm_dlp.rules.ruleset import load_ruleset
from support.secretgen import Gen, provider_tokens

KEYRING = Keyring(b"w" * 32)


@pytest.fixture(scope="module")
def ruleset():
    return load_ruleset(bundled_rules_dir())


@pytest.fixture
def token():
    return dict(provider_tokens(Gen(random.Random())))["github-pat"]


def pipeline(ruleset):
    def run(raw, protocol, path):
        return inspect_request(raw, protocol, path, ruleset.detector, KEYRING, path_rules=ruleset.paths)

    return run


def client(ruleset, api, event, path="/v1/responses", is_text=True):
    content = event if isinstance(event, bytes) else json.dumps(event).encode()
    return inspect_client_message(api, content, is_text, path, pipeline(ruleset))


def test_api_chosen_by_path():
    assert api_for("/v1/responses") is RESPONSES
    assert api_for("/backend-api/codex/responses") is RESPONSES
    assert api_for("/v1/realtime?model=gpt-realtime") is REALTIME
    assert api_for("/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent?key=k") is GEMINI_LIVE
    assert api_for("/v1/chat/completions") is None


# ---- Responses over WebSocket ----------------------------------------------------------------------
def codex_create(text: str) -> dict:
    """The shape Codex sends: a Responses body plus type, with only the new items."""
    return {
        "type": "response.create",
        "model": "gpt-5-codex",
        "instructions": "You are Codex.",
        "previous_response_id": "resp_abc123",
        "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}],
        "tools": [],
        "tool_choice": "auto",
        "parallel_tool_calls": False,
        "store": False,
        "stream": True,
        "include": [],
    }


def test_responses_create_redacted_in_place_structure_untouched(ruleset, token):
    event = codex_create(f"deploy with GH_TOKEN={token} please")
    out = client(ruleset, RESPONSES, event)
    assert out.decision == "redact" and out.kind == "response.create" and out.reply is None
    sent = json.loads(out.forward)
    assert token not in out.forward.decode()
    text = sent["input"][0]["content"][0]["text"]
    assert text.startswith("deploy with GH_TOKEN=[REDACTED:github-token:") and text.endswith(" please")
    sent["input"][0]["content"][0]["text"] = event["input"][0]["content"][0]["text"]
    assert sent == event  # only the secret changed: type, ids, previous_response_id, model as they were
    assert list(out.inspection.restore.values()) == [token]
    f = out.inspection.findings[0]
    assert (f.rule, f.field, f.role) == ("github-token", "/input/0/content/0/text", "user")
    assert out.inspection.model == "gpt-5-codex"


def test_responses_clean_message_forwarded_byte_for_byte(ruleset):
    content = json.dumps(codex_create("explain this function"), indent=1).encode()
    out = client(ruleset, RESPONSES, content)
    assert out.decision == "allow" and out.forward is content


def test_responses_path_rule_applies_exactly_as_over_http(ruleset, token):
    """A tool call reading .env and its output in one response.create: the path rule withholds
    it, with the same edits as the same body POSTed to /v1/responses."""
    body = {
        "model": "m",
        "previous_response_id": "resp_1",
        "input": [
            {"type": "function_call", "call_id": "call_1", "name": "read_file", "arguments": json.dumps({"path": "app/.env"})},
            {"type": "function_call_output", "call_id": "call_1", "output": "DEBUG=1\nPORT=8080\n"},
        ],
    }
    out = client(ruleset, RESPONSES, {"type": "response.create", **body})
    over_http = pipeline(ruleset)(json.dumps(body).encode(), "openai", "/v1/responses")
    assert {f.rule for f in out.inspection.findings} == {"env-files"} == {f.rule for f in over_http.findings}
    sent = json.loads(out.forward)
    assert "PORT=8080" not in json.dumps(sent) and sent.pop("type") == "response.create"
    assert sent == json.loads(over_http.body)


def test_responses_processed_and_unknown_events_inspected_whole(ruleset, token):
    out = client(ruleset, RESPONSES, {"type": "response.processed", "response_id": "resp_1", "note": f"t={token}"})
    assert out.decision == "redact" and token not in out.forward.decode()
    assert json.loads(out.forward)["response_id"] == "resp_1"


@pytest.mark.parametrize(
    "content,is_text,reason",
    [
        (b"\x00\x01binary", False, "binary_message"),
        (json.dumps(codex_create("fine")).encode(), False, "binary_message"),  # JSON in a binary frame: still not how the API reads it
        (b"not json {", True, "unparseable_message"),
        (b"[1, 2]", True, "unparseable_message"),
        (b"", True, "unparseable_message"),
    ],
)
def test_uninspectable_messages_refused_with_error_event(ruleset, content, is_text, reason):
    out = client(ruleset, RESPONSES, content, is_text=is_text)
    assert out.decision == "refuse" and out.forward is None and out.reason == reason
    reply = json.loads(out.reply)
    assert reply["type"] == "error" and reply["status"] == 400 and reply["error"]["code"] == f"llm_dlp_{reason}"
    assert "Nothing was sent" in reply["error"]["message"]


# ---- Realtime ------------------------------------------------------------------------------------
def test_realtime_item_text_redacted_and_roles_kept(ruleset, token):
    event = {
        "type": "conversation.item.create",
        "event_id": "evt_1",
        "item": {"id": "item_1", "type": "message", "role": "user", "content": [{"type": "input_text", "text": f"my token is {token}"}]},
    }
    out = client(ruleset, REALTIME, event, "/v1/realtime")
    sent = json.loads(out.forward)
    assert out.decision == "redact" and token not in out.forward.decode()
    assert sent["item"]["id"] == "item_1" and sent["event_id"] == "evt_1" and set(sent) == set(event)
    f = out.inspection.findings[0]
    assert (f.field, f.role) == ("/item/content/0/text", "user")  # the event's own field


def test_realtime_session_and_response_instructions(ruleset, token):
    out = client(
        ruleset,
        REALTIME,
        {"type": "session.update", "session": {"type": "realtime", "instructions": f"use {token}", "voice": "marin"}},
        "/v1/realtime",
    )
    assert out.decision == "redact" and out.inspection.findings[0].field == "/session/instructions"
    assert out.inspection.findings[0].role == "system" and json.loads(out.forward)["session"]["voice"] == "marin"
    out = client(
        ruleset, REALTIME, {"type": "response.create", "response": {"instructions": f"key {token}", "modalities": ["text"]}}, "/v1/realtime"
    )
    assert out.decision == "redact" and json.loads(out.forward)["response"]["modalities"] == ["text"]


def test_realtime_strings_outside_known_fields_still_inspected(ruleset, token):
    event = {
        "type": "session.update",
        "session": {"instructions": "hi", "tools": [{"type": "function", "name": "f", "description": f"call with {token}"}]},
    }
    out = client(ruleset, REALTIME, event, "/v1/realtime")
    assert out.decision == "redact" and out.inspection.findings[0].field == "/session/tools/0/description"
    assert json.loads(out.forward)["session"]["instructions"] == "hi"


def test_realtime_audio_kept_exactly_and_not_scanned(ruleset, token):
    audio = base64.b64encode(f"{token} ".encode() * 20).decode()  # a "secret" inside base64 audio is not text
    out = client(ruleset, REALTIME, {"type": "input_audio_buffer.append", "audio": audio}, "/v1/realtime")
    assert out.decision == "allow"
    event = {
        "type": "conversation.item.create",
        "item": {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_audio", "audio": audio}, {"type": "input_text", "text": f"and {token}"}],
        },
    }
    out = client(ruleset, REALTIME, event, "/v1/realtime")
    sent = json.loads(out.forward)
    assert out.decision == "redact" and sent["item"]["content"][0]["audio"] == audio and token not in sent["item"]["content"][1]["text"]


def test_realtime_block_answered_with_error_event(ruleset, token):
    rules = load_ruleset(bundled_rules_dir())
    actions = {"github-token": "block"}

    def blocking(raw, protocol, path):
        return inspect_request(raw, protocol, path, rules.detector, KEYRING, actions)

    event = {
        "type": "conversation.item.create",
        "event_id": "evt_9",
        "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": f"x {token}"}]},
    }
    out = inspect_client_message(REALTIME, json.dumps(event).encode(), True, "/v1/realtime", blocking)
    assert out.decision == "block" and out.forward is None
    reply = json.loads(out.reply)
    assert reply["type"] == "error" and reply["error"]["event_id"] == "evt_9" and reply["error"]["code"] == "llm_dlp_blocked"
    assert "github-token" in reply["error"]["message"] and token not in out.reply.decode()
    responses = inspect_client_message(RESPONSES, json.dumps(codex_create(f"x {token}")).encode(), True, "/v1/responses", blocking)
    reply = json.loads(responses.reply)
    assert reply["type"] == "error" and reply["status"] == 403 and reply["error"]["code"] == "llm_dlp_blocked"


# ---- Gemini Live -----------------------------------------------------------------------------------
LIVE = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"


def test_gemini_live_setup_turns_and_realtime_text(ruleset, token):
    setup = {
        "setup": {
            "model": "models/gemini-live-2.5-flash",
            "systemInstruction": {"parts": [{"text": f"token {token}"}]},
            "generationConfig": {"responseModalities": ["TEXT"]},
        }
    }
    out = client(ruleset, GEMINI_LIVE, setup, LIVE)
    assert out.decision == "redact" and out.kind == "setup" and out.inspection.model == "models/gemini-live-2.5-flash"
    assert (out.inspection.findings[0].field, out.inspection.findings[0].role) == ("/setup/systemInstruction/parts/0/text", "system")
    assert json.loads(out.forward)["setup"]["generationConfig"] == setup["setup"]["generationConfig"]
    turns = {"client_content": {"turns": [{"role": "user", "parts": [{"text": f"a {token}"}]}], "turn_complete": True}}  # snake case too
    out = client(ruleset, GEMINI_LIVE, turns, LIVE)
    assert (
        out.inspection.findings[0].field == "/client_content/turns/0/parts/0/text"
        and json.loads(out.forward)["client_content"]["turn_complete"]
    )
    out = client(ruleset, GEMINI_LIVE, {"realtimeInput": {"text": f"b {token}"}}, LIVE)
    assert out.decision == "redact" and token not in json.loads(out.forward)["realtimeInput"]["text"]


def test_gemini_live_media_chunks_untouched(ruleset, token):
    data = base64.b64encode(pysecrets.token_bytes(3000)).decode()
    event = {"realtimeInput": {"mediaChunks": [{"mimeType": "audio/pcm", "data": data}], "text": f"c {token}"}}
    out = client(ruleset, GEMINI_LIVE, event, LIVE)
    sent = json.loads(out.forward)
    assert sent["realtimeInput"]["mediaChunks"][0]["data"] == data and token not in sent["realtimeInput"]["text"]


def test_gemini_live_tool_response_with_a_protected_file(ruleset):
    event = {
        "toolResponse": {
            "functionResponses": [
                {"id": "fc_1", "name": "read_file", "response": {"file_path": "deploy/.env", "content": "DB_HOST=db\nDB_PORT=5432"}}
            ]
        }
    }
    out = client(ruleset, GEMINI_LIVE, event, LIVE)
    assert {f.rule for f in out.inspection.findings} == {"env-files"}
    assert out.inspection.findings[0].field.startswith("/toolResponse/functionResponses/0/response/content")
    sent = json.loads(out.forward)["toolResponse"]["functionResponses"][0]
    assert "DB_PORT" not in sent["response"]["content"] and sent["id"] == "fc_1" and sent["name"] == "read_file"


def test_gemini_live_refusal_closes_with_a_short_reason(ruleset):
    out = client(ruleset, GEMINI_LIVE, b"\x01\x02", LIVE, is_text=False)
    assert out.forward is None and out.reply is None and out.reason == "binary_message"
    assert out.close_reason and len(out.close_reason.encode()) <= MAX_CLOSE_REASON


# ---- compressed and fragmented messages ---------------------------------------------------------------
def test_deflated_fragmented_message_reaches_the_inspection_whole(ruleset, token):
    """As mitmproxy does: wsproto with the server's permessage-deflate parameters inflates and
    reassembles what the client compressed and split into frames."""
    agreed = "permessage-deflate; client_max_window_bits=15"
    client_side, server_side = wsproto.extensions.PerMessageDeflate(), wsproto.extensions.PerMessageDeflate()
    client_side.finalize(agreed)
    server_side.finalize(agreed)
    sender = wsproto.Connection(wsproto.ConnectionType.CLIENT, [client_side])
    receiver = wsproto.Connection(wsproto.ConnectionType.SERVER, [server_side])
    text = json.dumps(codex_create(f"please use {token} " + "padding " * 2000))
    half = len(text) // 2
    wire = sender.send(wsproto.events.TextMessage(text[:half], message_finished=False)) + sender.send(
        wsproto.events.TextMessage(text[half:])
    )
    assert token.encode() not in wire and len(wire) < len(text) // 4  # compressed on the wire
    receiver.receive_data(wire)
    content = "".join(e.data for e in receiver.events() if isinstance(e, wsproto.events.TextMessage)).encode()
    out = client(ruleset, RESPONSES, content)
    assert out.decision == "redact" and token not in out.forward.decode()


# ---- server messages -----------------------------------------------------------------------------------
def stream(ruleset, api, mapping):
    output = OutputInspector(ruleset.detector, KEYRING, Restorer(mapping))
    return ServerStream(api, output), output


def delta(text: str) -> bytes:
    return json.dumps(
        {"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 0, "content_index": 0, "delta": text}
    ).encode()


def test_server_placeholder_split_over_messages_restored(ruleset, token):
    ph = KEYRING.placeholder("github-token", token)
    server, _ = stream(ruleset, RESPONSES, {ph: token})
    sent = []
    for piece in (
        delta("Set GH_TOKEN=" + ph[:9]),
        delta(ph[9:]),
        delta(" and retry."),
        json.dumps({"type": "response.output_text.done", "item_id": "msg_1", "text": f"Set GH_TOKEN={ph} and retry."}).encode(),
    ):
        sent += server.message(piece, True)
    docs = [json.loads(m) for m in sent]  # every message a valid event
    assert "".join(d.get("delta", "") for d in docs if d["type"].endswith(".delta")) == f"Set GH_TOKEN={token} and retry."
    assert docs[-1]["text"] == f"Set GH_TOKEN={token} and retry."


def test_server_held_text_flushed_as_its_own_message(ruleset):
    server, _ = stream(ruleset, RESPONSES, {})
    assert [json.loads(m)["delta"] for m in server.message(delta("Hello wor"), True)] == ["Hello "]
    out = [json.loads(m) for m in server.message(json.dumps({"type": "response.completed", "response": {"id": "r"}}).encode(), True)]
    assert out[0]["type"] == "response.output_text.delta" and out[0]["delta"] == "wor" and out[1]["type"] == "response.completed"


def test_server_secret_from_the_model_redacted(ruleset, token):
    server, output = stream(ruleset, RESPONSES, {})
    sent = server.message(delta(f"your token: {token} "), True)
    assert token not in b"".join(sent).decode() and [f.rule for f in output.findings] == ["github-token"]


def test_server_gemini_live_model_turn_restored_in_its_own_shape(ruleset, token):
    ph = KEYRING.placeholder("github-token", token)
    server, _ = stream(ruleset, GEMINI_LIVE, {ph: token})

    def turn(text):
        return json.dumps({"serverContent": {"modelTurn": {"role": "model", "parts": [{"text": text}]}}}).encode()

    sent = server.message(turn("key=" + ph[:12]), False) + server.message(turn(ph[12:] + " ok"), False)
    sent += server.message(json.dumps({"serverContent": {"turnComplete": True}}).encode(), False)
    docs = [json.loads(m) for m in sent]
    text = "".join(p["text"] for d in docs for p in d["serverContent"].get("modelTurn", {}).get("parts", []))
    assert text == f"key={token} ok" and all("candidates" not in d for d in docs)
    assert docs[-1]["serverContent"]["turnComplete"] is True


def test_server_non_events_pass_through(ruleset):
    server, _ = stream(ruleset, RESPONSES, {})
    assert server.message(b"\x00\x01\x02", False) == [b"\x00\x01\x02"]
    assert server.message(b"keepalive", True) == [b"keepalive"]
    realtime, _ = stream(ruleset, REALTIME, {})
    assert realtime.message(json.dumps({"type": "response.output_audio.delta", "delta": "AAAA"}).encode(), True) is None


def test_an_output_without_its_call_is_paired_with_the_call_the_server_sent(ruleset):
    """Codex over WebSocket: the model's exec_command call came in a server event; the next
    response.create carries only its output (previous_response_id). The output is still .env's."""
    from llm_dlp.inspect.websocket import ToolCalls

    calls = ToolCalls()
    call = {
        "type": "function_call",
        "id": "fc_1",
        "call_id": "call_1",
        "name": "exec_command",
        "arguments": json.dumps({"cmd": "cat .env"}),
        "status": "completed",
    }
    calls.from_server(json.dumps({"type": "response.output_item.done", "output_index": 0, "item": call, "sequence_number": 7}).encode())
    event = {
        "type": "response.create",
        "model": "gpt-5-codex",
        "previous_response_id": "resp_1",
        "input": [
            {"type": "function_call_output", "call_id": "call_1", "output": "APP_REGION=region-x7Q2mZk4"},
            {"type": "function_call_output", "call_id": "call_unknown", "output": "README.md"},
        ],
    }
    out = inspect_client_message(RESPONSES, json.dumps(event).encode(), True, "/v1/responses", pipeline(ruleset), calls)
    sent = json.loads(out.forward)
    assert "region-x7Q2mZk4" not in out.forward.decode() and "withheld by policy env-files" in sent["input"][0]["output"]
    assert sent["input"][1] == event["input"][1] and len(sent["input"]) == 2  # the stand-in call is not forwarded
    assert {k: v for k, v in sent.items() if k != "input"} == {k: v for k, v in event.items() if k != "input"}
    assert [f.field for f in out.inspection.findings] == ["/input/0/output"]
