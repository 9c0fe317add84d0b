"""What inspecting one WebSocket message costs beyond the same body over HTTP, in one run:
a Codex-sized ``response.create`` (Responses over WebSocket) and a Realtime
``conversation.item.create``, each against the request pipeline on the equivalent HTTP body.

    .venv/bin/python bench/websocket_inspect.py [--words 8000] [--repeat 50] [--seed 1]

Reports medians and the ratio to the HTTP baseline (in-process, no proxy, no network)."""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time

from llm_dlp.act.placeholders import Keyring
from llm_dlp.inspect.request import inspect_request
from llm_dlp.inspect.websocket import REALTIME, RESPONSES, inspect_client_message
from llm_dlp.rules.files import bundled_rules_dir
from llm_dlp.rules.ruleset import load_ruleset

WORDS = ("def", "return", "self", "value", "config", "path", "import", "class", "for", "in", "if", "else", "print", "=", "(x)")


def median_seconds(run, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--words", type=int, default=8000, help="words of prompt text (instructions take a quarter)")
    ap.add_argument("--repeat", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    rules, keyring = load_ruleset(bundled_rules_dir()), Keyring(b"bench-key-" * 4)

    def text(n: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(n))

    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text(args.words * 3 // 4)}]}
    body = {"model": "gpt-5-codex", "instructions": text(args.words // 4), "previous_response_id": "resp_1", "input": [item]}

    def pipeline(raw: bytes, protocol: str, path: str):
        return inspect_request(raw, protocol, path, rules.detector, keyring, path_rules=rules.paths, code_rules=rules.fingerprints)

    cases = [
        (
            "Responses over WebSocket",
            json.dumps(body).encode(),
            json.dumps({"type": "response.create", **body}).encode(),
            RESPONSES,
            "/v1/responses",
        ),
        (
            "Realtime item",
            json.dumps({"input": [item]}).encode(),
            json.dumps({"type": "conversation.item.create", "item": item}).encode(),
            REALTIME,
            "/v1/realtime",
        ),
    ]
    for name, http_body, message, api, path in cases:
        pipeline(http_body, "openai-responses", "/v1/responses")  # warm caches
        http = median_seconds(lambda b=http_body: pipeline(b, "openai-responses", "/v1/responses"), args.repeat)
        ws = median_seconds(lambda m=message, a=api, p=path: inspect_client_message(a, m, True, p, pipeline), args.repeat)
        print(f"{name}: {len(message)} bytes; HTTP body {http * 1000:.2f} ms, WebSocket message {ws * 1000:.2f} ms, ratio {ws / http:.2f}")


if __name__ == "__main__":
    main()
