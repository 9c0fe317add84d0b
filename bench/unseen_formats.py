"""Recall on provider formats the rules were not written from: bench/unseen_formats.tsv describes,
in this project's own notation, the value format and the vendor keyword of 150 of trufflehog's
detectors (a seeded sample of its detector list, drawn before any scan). For each detector a
random value of its format is put in fourteen contexts that name the vendor (env files, JSON and
YAML config, a client's keyword argument, curl headers, a URL query, log lines, prose, a Jenkins
credential, also as trufflehog's pattern tests write one), each case scanned alone as
`llm-dlp scan --protocol text` scans it; a case counts only when one finding covers the whole
value.

    .venv/bin/python bench/unseen_formats.py [--table TSV] [--rules DIR] [--seed 18] [--misses]

Format notation: literal text, and fields in braces, {class:length} drawn at random from the
class, {uuid}, {jwt} (an HS256 token, as the tests' generator makes one), {password:length} (letters, digits
and symbols of each kind). Out of scope, and counted apart: private keys (the engine benchmark
covers them)."""

from __future__ import annotations

import argparse
import random
import re
import string
import sys
import uuid
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from llm_dlp.rules.files import bundled_rules_dir
from llm_dlp.rules.ruleset import load_ruleset
from public_rules import found
from support.secretgen import Gen

TABLE = Path(__file__).with_name("unseen_formats.tsv")
LOWER, UPPER, DIGITS = string.ascii_lowercase, string.ascii_uppercase, string.digits
CLASSES = {
    "alpha": LOWER + UPPER,
    "alnum": LOWER + UPPER + DIGITS,
    "alnum-lower": LOWER + DIGITS,
    "alnum-dash": LOWER + UPPER + DIGITS + "-",
    "alnum-underscore": LOWER + UPPER + DIGITS + "_",
    "alnum-dash-underscore": LOWER + UPPER + DIGITS + "-_",
    "alnum-lower-dash": LOWER + DIGITS + "-",
    "alnum-lower-underscore": LOWER + DIGITS + "_",
    "alnum-dot-underscore": LOWER + UPPER + DIGITS + "._",
    "upper-digit": UPPER + DIGITS,
    "upper-digit-dot-dash": UPPER + DIGITS + ".-",
    "hex": "0123456789abcdef",
    "hex-mixed": "0123456789abcdefABCDEF",
    "base64": LOWER + UPPER + DIGITS + "+/",
    "digit": DIGITS,
}
SYMBOLS = "!#%+-_@^*"
FIELD = re.compile(r"\{([a-z0-9-]+)(?::(\d+))?\}")
OUT_OF_SCOPE = {"{private-key}"}

# Where a credential is written, {kw} the vendor keyword as the detector needs it near the value.
CONTEXTS = {
    "env": "{KW}_{NAME}={v}",
    "env-key": 'export {KW}_{SHORT}="{v}"',
    "json": '{{"{kw}": {{"{name}": "{v}"}}}}',
    "json-vendor": '{{"keys": {{"{kw}": "{v}"}}}}',
    "yaml": "{kw}:\n  {name}: {v}\n",
    "kwarg": 'client = {Kw}Client({name}="{v}")',
    "curl-bearer": 'curl -H "Authorization: Bearer {v}" https://api.{host}.com/v1/me',
    "curl-header": "curl https://api.{host}.com/v1/me -H 'X-Api-Key: {v}'",
    "url-query": "GET https://api.{host}.com/v1/data?apikey={v}&format=json",
    "log": "2024-05-02 10:14:07 [DEBUG] connecting to {kw} with {NAME}={v}",
    "log-short": "[INFO] calling the {kw} API\n[DEBUG] using {kw} {SHORT}={v}\n",
    "prose": "the {kw} secret {v} is only valid for production",
    "jenkins-xml": "<org.jenkinsci.plugins.plaincredentials.impl.StringCredentialsImpl>\n  <id>{kw}</id>\n  <secret>{v}</secret>\n</org.jenkinsci.plugins.plaincredentials.impl.StringCredentialsImpl>",
    # the same in the shape of trufflehog's pattern tests: words before the value inside the braces
    "jenkins-fixture": "<com.cloudbees.plugins.credentials.impl.StringCredentialsImpl>\n  <scope>GLOBAL</scope>\n  <secret>{{{kw} AQAAABAAA {v}}}</secret>\n</com.cloudbees.plugins.credentials.impl.StringCredentialsImpl>",
}
# A password goes to a password-named key, and to curl as a user's password.
PASSWORD_CONTEXTS = CONTEXTS | {
    "curl-bearer": "curl -u admin:{v} https://{host}.internal.corp/",
    "curl-header": 'curl -u "admin:{v}" https://{host}.internal.corp/api',
    "url-query": "GET https://{host}.internal.corp/login?user=admin&password={v}",
}


def draw_field(kind: str, length: int, rnd: random.Random) -> str:
    if kind == "uuid":
        return str(uuid.UUID(int=rnd.getrandbits(128), version=4))
    if kind == "jwt":
        return Gen(rnd).jwt()
    if kind == "password":
        kinds = [LOWER, UPPER, DIGITS, SYMBOLS]
        chars = [rnd.choice(k) for k in kinds] + [rnd.choice("".join(kinds)) for _ in range(length - len(kinds))]
        rnd.shuffle(chars)
        return "".join(chars)
    return "".join(rnd.choice(CLASSES[kind]) for _ in range(length))


def draw(fmt: str, rnd: random.Random) -> str:
    return FIELD.sub(lambda m: draw_field(m.group(1), int(m.group(2) or 0), rnd), fmt)


def contexts(keyword: str, fmt: str) -> dict[str, str]:
    """The detector's contexts, their names filled in ({v} left for the value)."""
    words = re.findall(r"[A-Za-z0-9]+", keyword)
    camel = "".join(w.capitalize() for w in words)
    password = fmt.startswith("{password")
    names = {
        "kw": keyword,
        "KW": "_".join(words).upper(),
        "Kw": camel if camel[:1].isalpha() else "Vendor" + camel,
        "host": "".join(words).lower(),
        "name": "password" if password else "api_key",
        "NAME": "PASSWORD" if password else "API_KEY",
        "SHORT": "PASS" if password else "KEY",
    }
    return {name: shape.format(**names, v="{v}") for name, shape in (PASSWORD_CONTEXTS if password else CONTEXTS).items()}


def table(path: Path) -> list[tuple[str, str, str]]:
    """The (detector, vendor keyword, value format) lines of a table."""
    rows = [line.split("\t") for line in path.read_text().splitlines() if line and not line.startswith("#")]
    return [(detector, keyword, fmt) for detector, keyword, fmt in rows]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rules", type=Path, help="llm-dlp rules directory (default: the bundled rules)")
    ap.add_argument(
        "--table", type=Path, default=TABLE, help="the format table (default: %(default)s; a second sample: unseen_formats_holdout.tsv)"
    )
    ap.add_argument("--seed", type=int, default=18)
    ap.add_argument("--misses", action="store_true", help="print one missed case per detector")
    args = ap.parse_args()
    detector = load_ruleset(args.rules or bundled_rules_dir()).detector
    skipped, cases, hits = 0, 0, 0
    by_context: Counter[str] = Counter()
    misses: Counter[str] = Counter()
    missed: dict[str, str] = {}
    for name, keyword, fmt in table(args.table):
        if fmt in OUT_OF_SCOPE:
            skipped += 1
            continue
        value = draw(fmt, random.Random(f"{args.seed}:{name}"))  # per detector: any order
        for context, shape in contexts(keyword, fmt).items():
            text = shape.replace("{v}", value)
            hit = found(detector, text, value)
            cases, hits = cases + 1, hits + hit
            if not hit:
                by_context[context] += 1
                misses[name] += 1
                missed.setdefault(name, text)
    print(f"detectors {cases // len(CONTEXTS)}, cases {cases}, whole {hits / max(cases, 1):.1%}; left out: {skipped} private-key")
    print(f"detectors with a miss: {len(missed)}; misses per context: " + ", ".join(f"{c} {n}" for c, n in by_context.most_common()))
    if args.misses:
        for name, text in sorted(missed.items()):
            print(f"{name} ({misses[name]} of {len(CONTEXTS)}): {text[:160]!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
