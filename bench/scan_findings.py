"""Every finding of the request pipeline on the texts of bench/scan_growth.py, one JSON line each,
to show that two checkouts find the same: run it with each one's ``addons`` on the path and
compare the outputs (``cmp``). The inputs: the text of code as it is; the same text with secrets
of every generated kind planted on its lines, plain and disguised (invisible characters,
look-alike letters, JSON escapes, cut over lines and string literals); and generated requests of
several APIs, some with a secret split across messages. Each line: the input, then each finding's
rule, action, field, line, span and value hash (under a fixed key), and digests of the body the
proxy would forward and of the review text.

    PYTHONPATH=addons .venv/bin/python bench/scan_findings.py [--mb 16] [--planted 400] [--requests 300] > findings.jsonl"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
from pathlib import Path

from scan_growth import corpus

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from llm_dlp.act.placeholders import Keyring
from llm_dlp.inspect.request import inspect_request
from llm_dlp.rules.files import bundled_rules_dir
from llm_dlp.rules.ruleset import load_ruleset
from support.secretgen import corpus as secret_corpus


def disguised(secret: str, rng: random.Random) -> str:
    """The secret as a model still reads it, written one of several ways."""
    cut = rng.randrange(1, len(secret)) if len(secret) > 1 else 0
    way = rng.randrange(6)
    if way == 1:
        return secret[:cut] + "\u200b" + secret[cut:]
    if way == 2:
        return "".join(chr(ord(c) + 0xFEE0) if c.isalnum() and rng.random() < 0.2 else c for c in secret)
    if way == 3:
        return "".join(f"\\u{ord(c):04x}" if rng.random() < 0.3 else c for c in secret)
    if way == 4:
        return secret[:cut] + '" +\n    "' + secret[cut:]
    if way == 5:
        return secret[:cut] + "\n" + secret[cut:]
    return secret


def planted(text: bytes, count: int, rng: random.Random) -> bytes:
    """``text`` with ``count`` generated secrets in their contexts, each at the start of a line."""
    samples = list(secret_corpus(rng))
    lines = text.split(b"\n")
    for at in sorted(rng.sample(range(len(lines)), count), reverse=True):
        _, context, secret = rng.choice(samples)
        lines.insert(at, context.replace(secret, disguised(secret, rng)).encode())
    return b"\n".join(lines)


def requests(count: int, rng: random.Random) -> list[tuple[str, str, bytes]]:
    """(protocol, path, body): chat requests of three APIs and raw text, with generated secrets."""
    samples = list(secret_corpus(rng))
    out = []
    for _ in range(count):
        texts = [rng.choice(samples)[1] for _ in range(rng.randint(1, 4))]
        if rng.random() < 0.3:  # a secret split across two messages
            _, context, secret = rng.choice(samples)
            cut = rng.randrange(1, len(secret))
            texts += [context[: context.index(secret) + cut], context[context.index(secret) + cut :]]
        messages = [{"role": rng.choice(["user", "assistant"]), "content": t} for t in texts]
        kind = rng.randrange(4)
        if kind == 0:
            out.append(("openai", "/v1/chat/completions", json.dumps({"model": "m", "messages": messages}).encode()))
        elif kind == 1:
            out.append(("anthropic", "/v1/messages", json.dumps({"model": "m", "max_tokens": 9, "messages": messages}).encode()))
        elif kind == 2:
            out.append(("openai", "/v1/responses", json.dumps({"model": "m", "input": messages}).encode()))
        else:
            out.append(("text", "", "\n".join(texts).encode()))
    return out


def digest(data: bytes | str | None) -> str | None:
    if data is None:
        return None
    return hashlib.sha256(data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data).hexdigest()[:16]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mb", type=float, default=16)
    ap.add_argument("--planted", type=int, default=400)
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    ruleset = load_ruleset(bundled_rules_dir())
    keyring = Keyring(b"k" * 32)
    rng = random.Random(args.seed)
    text = corpus(args.mb)
    inputs = [("code", "text", "", text), ("planted", "text", "", planted(text, args.planted, rng))]
    inputs += [(f"request {n}", *request) for n, request in enumerate(requests(args.requests, rng))]
    for name, protocol, path, raw in inputs:
        for rewrite in (True, False):
            ins = inspect_request(
                raw,
                protocol,
                path,
                ruleset.detector,
                keyring,
                review=True,
                path_rules=ruleset.paths,
                code_rules=ruleset.fingerprints,
                rewrite=rewrite,
            )
            found = [[f.rule, f.action, f.field, f.line, f.start, f.end, f.value_hash] for f in ins.findings]
            print(json.dumps([name, rewrite, ins.decision, found, digest(ins.body), digest(ins.review_text)]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
