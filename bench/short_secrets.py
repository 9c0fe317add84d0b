"""Recall on the secrets generic rules find least easily, and false alarms on their look-alikes:
short random keys (8 to 15 characters) assigned to a password, secret, token or API-key name,
random keys of letters only (no digit) assigned to a key name, and passwords holding `#`, `^` or
`%` written in prose and in URL queries (percent-encoded there). Each value is drawn at random and
put in the ways people write it (code of seven languages, .env, YAML, JSON, TOML, prose, a URL
query, command-line flags), each case scanned alone as `llm-dlp scan --protocol text` scans it; a
case counts only when one finding covers the whole value (in a URL, the encoded value to its
delimiter). The look-alikes, which must give no finding: ordinary words, identifiers, placeholders
and templates (`changeme`, `<password>`, `${PASS}`, `%(password)s`, `#{pass}`), hex colours,
host:port values and percent-encoded ordinary text, in the same contexts.

    .venv/bin/python bench/short_secrets.py [--rules DIR] [--seed 7] [--per-class 40] [--misses]
"""

from __future__ import annotations

import argparse
import random
import string
import sys
from collections import Counter
from pathlib import Path
from urllib.parse import quote

from llm_dlp.inspect.request import scan_segments
from llm_dlp.protocols.registry import REGISTRY
from llm_dlp.rules.files import bundled_rules_dir
from llm_dlp.rules.ruleset import load_ruleset
from public_rules import found

ALNUM = string.ascii_letters + string.digits
PASSWORD_SYMBOLS = "#^%"

# {n} a name in the language's style, {v} the value
ASSIGNMENTS = {
    "python": '{snake} = "{v}"',
    "js": "const {camel} = '{v}';",
    "go": '{camel} := "{v}"',
    "ruby": "config.{snake} = '{v}'",
    "php": "${snake} = '{v}';",
    "java": 'private static final String {UPPER} = "{v}";',
    "csharp": 'var {camel} = "{v}";',
    "env": "{UPPER}={v}",
    "env-export": 'export {UPPER}="{v}"',
    "yaml": "service:\n  {snake}: {v}\n",
    "json": '{{"{camel}": "{v}"}}',
    "toml": '[client]\n{snake} = "{v}"\n',
    "cli": "deploy-tool --{kebab} {v} --region eu",
    "cli-eq": "deploy-tool --{kebab}={v}",
}
PROSE = {
    "prose-is": "the {words} is {v}",
    "prose-is-end": "fyi, the {words} is {v}.",
    "prose-colon": "{Words}: {v}",
}
NAMES = {
    "password": ("db_password", "dbPassword", "DB_PASSWORD", "db-password", "database password"),
    "secret": ("client_secret", "clientSecret", "CLIENT_SECRET", "client-secret", "client secret"),
    "token": ("auth_token", "authToken", "AUTH_TOKEN", "auth-token", "auth token"),
    "api_key": ("api_key", "apiKey", "API_KEY", "api-key", "api key"),
}
KEY_NAMES = ("secret", "token", "api_key")


def fill(shape: str, name: str, value: str) -> str:
    snake, camel, upper, kebab, words = NAMES[name]
    return shape.format(snake=snake, camel=camel, UPPER=upper, kebab=kebab, words=words, Words=words.capitalize(), v=value)


def random_key(rnd: random.Random, length: int, alphabet: str, must: tuple[str, ...]) -> str:
    """A random value of the alphabet holding one character of each class in ``must``."""
    chars = [rnd.choice(cls) for cls in must] + [rnd.choice(alphabet) for _ in range(length - len(must))]
    rnd.shuffle(chars)
    return "".join(chars)


def short_key(rnd: random.Random) -> str:
    return random_key(rnd, rnd.randint(8, 15), ALNUM, (string.ascii_lowercase, string.ascii_uppercase, string.digits))


def letters_key(rnd: random.Random) -> str:
    return random_key(rnd, rnd.choice((20, 24, 32, 40)), string.ascii_letters, (string.ascii_lowercase, string.ascii_uppercase))


def symbol_password(rnd: random.Random) -> str:
    return random_key(rnd, rnd.randint(10, 16), ALNUM + PASSWORD_SYMBOLS, (string.ascii_letters, string.digits, PASSWORD_SYMBOLS))


def positives(rnd: random.Random, per_class: int) -> list[tuple[str, str, str, str]]:
    """(class, context, text, value as written) cases."""
    cases = []
    for _ in range(per_class):
        for context, shape in ASSIGNMENTS.items():
            value = short_key(rnd)
            cases.append(("short", context, fill(shape, rnd.choice(list(NAMES)), value), value))
            value = letters_key(rnd)
            cases.append(("no-digit", context, fill(shape, rnd.choice(KEY_NAMES), value), value))
            value = symbol_password(rnd)
            cases.append(("symbols", context, fill(shape, "password", value), value))
        for context, shape in PROSE.items():
            value = short_key(rnd)
            cases.append(("short", context, fill(shape, rnd.choice(list(NAMES)), value), value))
            value = symbol_password(rnd)
            cases.append(("symbols", context, fill(shape, "password", value), value))
        value = quote(symbol_password(rnd), safe="^")
        cases.append(("symbols", "url-query", f"GET https://ops.internal.corp/login?user=admin&password={value}&next=1", value))
        value = quote(symbol_password(rnd), safe="^")
        cases.append(("symbols", "url-query-end", f"open https://ops.internal.corp/login?password={value}", value))
        value = short_key(rnd)
        cases.append(("short", "url-query", f"GET https://api.internal.corp/v1/items?api_key={value}&page=2", value))
    return cases


# values that are not secrets though a secret's name holds them
NEAR_MISSES = (
    "changeme", "<password>", "${PASS}", "%(password)s", "#{pass}", "{{ token }}", "$API_TOKEN", "%API_KEY%",
    "#fff", "#ffcc00", "#a1b2c3", "proxy.corp:3128", "cache01:6379", "db.internal:5432",
    "required", "disabled", "optional", "default", "Bearer", "hunter", "string",
    "tokenValue", "authTokenHeader",
    "AccessTokenProvider", "ClientSecretCredential", "DefaultAzureCredential", "SecretManagerServiceClient",
    "XMLHttpRequestUpload", "ReadableStreamDefaultReader", "InternalServerError", "NotImplementedError",
)  # fmt: skip
NEGATIVE_PROSE = (
    "the password is required",
    "the password is #1 on the list of support requests",
    "the token is refreshed at 100% of its lifetime",
    "the secret is stored in %APPDATA% on Windows",
    "a token of 50% or more ^ the usual rate",
    "the password is hashed, see docs#passwords",
    "the api key is in the header, color #ffcc00",
    "GET https://ops.internal.corp/search?q=password%20reset&page=2",
    "GET https://ops.internal.corp/password/reset?next=%2Fhome%2Fops%23top&lang=en",
    "GET https://ops.internal.corp/token?scope=read%20write&state=a%5Eb",
    "GET https://ops.internal.corp/login?password=%24%7BPASS%7D",
    "GET https://ops.internal.corp/help?topic=password&lang=en",
    "GET https://ops.internal.corp/login?password=&user=admin",
)


# code that reads the value from elsewhere, in the unquoted contexts
CODE_REFERENCES = {
    "python": "{snake} = os.environ['{UPPER}']",
    "js": "const {camel} = getSecret('{kebab}');",
    "go": '{camel} := os.Getenv("{UPPER}")',
    "ruby": "config.{snake} = ENV.fetch('{UPPER}')",
    "php": "${snake} = getenv('{UPPER}');",
    "java": 'String {camel} = System.getenv("{UPPER}");',
    "csharp": "var {camel} = config.{camel};",
    "yaml": "service:\n  {snake}: ${{{UPPER}}}\n",
}


def negatives() -> list[tuple[str, str]]:
    """(context, text) cases that must give no finding."""
    cases = [(context, fill(shape, name, value)) for value in NEAR_MISSES for context, shape in ASSIGNMENTS.items() for name in NAMES]
    cases += [(context, fill(shape, name, "")) for context, shape in CODE_REFERENCES.items() for name in NAMES]
    return cases + [("prose", text) for text in NEGATIVE_PROSE]


def rules_found(detector, text: str) -> set[str]:
    parsed = REGISTRY.parse(text.encode(), "text", "", "")
    return {f.rule_id for _, f in scan_segments(detector, parsed.segments)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rules", type=Path, help="llm-dlp rules directory (default: the bundled rules)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--per-class", type=int, default=20, help="values per class and context")
    ap.add_argument("--misses", action="store_true", help="print missed cases and false alarms")
    args = ap.parse_args()
    detector = load_ruleset(args.rules or bundled_rules_dir()).detector
    total: Counter[str] = Counter()
    hits: Counter[str] = Counter()
    missed: Counter[tuple[str, str]] = Counter()
    examples: dict[tuple[str, str], str] = {}
    for cls, context, text, value in positives(random.Random(args.seed), args.per_class):
        hit = found(detector, text, value)
        total[cls], hits[cls] = total[cls] + 1, hits[cls] + hit
        if not hit:
            missed[cls, context] += 1
            examples.setdefault((cls, context), text)
    for cls in total:
        print(f"{cls:9} {hits[cls]}/{total[cls]} whole ({hits[cls] / total[cls]:.1%})")
    alarms = [(context, text, rules) for context, text in negatives() if (rules := rules_found(detector, text))]
    print(f"look-alikes: {len(alarms)} false alarms of {len(negatives())}")
    if args.misses:
        for (cls, context), n in sorted(missed.items()):
            print(f"miss {cls}/{context} x{n}: {examples[cls, context]!r}")
        for context, text, rules in alarms:
            print(f"false alarm {context} ({', '.join(sorted(rules))}): {text!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
