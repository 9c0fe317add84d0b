"""Generated fake secrets in realistic contexts, for tests and the recall benchmark.

Every value is random at run time: no real credential is ever stored in the repository.
``corpus(rng)`` yields (label, text, secret) where ``secret`` is the part a scanner must cover."""

from __future__ import annotations

import base64
import json
import random
import string

AN = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
B64 = AN + "+/"
URLSAFE = AN + "_-"


class Gen:
    def __init__(self, rng: random.Random):
        self.rng = rng

    def s(self, alphabet: str, n: int) -> str:
        while True:
            v = "".join(self.rng.choice(alphabet) for _ in range(n))
            # real tokens are random: make sure ours are not accidentally all letters
            if n < 6 or not set(alphabet) & set(string.digits) or any(c.isdigit() for c in v):
                return v

    def pem(self, label: str, lines: int = 8) -> str:
        body = "\n".join(self.s(B64, 64) for _ in range(lines))
        return f"-----BEGIN {label}-----\n{body}\n{self.s(B64, 20)}==\n-----END {label}-----"

    def jwt(self) -> str:
        header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').decode().rstrip("=")
        payload = base64.urlsafe_b64encode(json.dumps({"sub": self.s(AN, 10), "iat": self.rng.randint(10**9, 2 * 10**9)}).encode()).decode().rstrip("=")
        return f"{header}.{payload}.{self.s(URLSAFE, 43)}"

    def password(self) -> str:
        return self.s(AN, self.rng.randint(10, 16)) + self.rng.choice("!#%&*+-_=") + str(self.rng.randint(0, 99))


def provider_tokens(g: Gen) -> list[tuple[str, str]]:
    """(label, token) for every provider format the engine must know."""
    return [
        ("aws-access-key-id", g.rng.choice(["AKIA", "ASIA"]) + g.s(string.ascii_uppercase + "234567", 16)),
        ("gcp-api-key", "AIza" + g.s(URLSAFE, 35)),
        ("google-oauth-client-secret", "GOCSPX-" + g.s(URLSAFE, 28)),
        ("azure-ad-client-secret", g.s(AN, 3) + str(g.rng.randint(0, 9)) + "Q~" + g.s(AN + "_.-", 34)),
        ("github-pat", "ghp_" + g.s(AN, 36)),
        ("github-oauth", "gho_" + g.s(AN, 36)),
        ("github-app", "ghs_" + g.s(AN, 36)),
        ("github-fine-grained", "github_pat_" + g.s(AN, 22) + "_" + g.s(AN, 59)),
        ("gitlab-pat", "glpat-" + g.s(URLSAFE, 20)),
        ("npm", "npm_" + g.s(AN, 36)),
        ("pypi", "pypi-AgEIcHlwaS5vcmc" + g.s(URLSAFE, 120)),
        ("dockerhub", "dckr_pat_" + g.s(URLSAFE, 27)),
        ("artifactory", "AKCp" + g.s(AN, 69)),
        ("slack-bot", f"xoxb-{g.s(string.digits, 12)}-{g.s(string.digits, 13)}-{g.s(AN, 24)}"),
        ("slack-user", f"xoxp-{g.s(string.digits, 12)}-{g.s(string.digits, 12)}-{g.s(string.digits, 13)}-{g.s(HEX, 32)}"),
        ("slack-webhook", f"https://hooks.slack.com/services/T{g.s(string.ascii_uppercase + string.digits, 8)}/B{g.s(string.ascii_uppercase + string.digits, 10)}/{g.s(AN, 24)}"),
        ("discord-bot", "M" + g.s(AN, 25) + "." + g.s(URLSAFE, 6) + "." + g.s(URLSAFE, 27)),
        ("discord-webhook", f"https://discord.com/api/webhooks/{g.s(string.digits, 18)}/{g.s(URLSAFE, 68)}"),
        ("telegram", f"{g.s(string.digits, 10)}:AA{g.s(URLSAFE, 33)}"),
        ("stripe-live", "sk_live_" + g.s(AN, 99)),
        ("stripe-restricted", "rk_live_" + g.s(AN, 24)),
        ("square", "EAAA" + g.s(URLSAFE, 60)),
        ("square-oauth", "sq0csp-" + g.s(URLSAFE, 43)),
        ("shopify", "shpat_" + g.s(HEX, 32)),
        ("twilio", "SK" + g.s(HEX, 32)),
        ("sendgrid", "SG." + g.s(URLSAFE, 22) + "." + g.s(URLSAFE, 43)),
        ("mailgun", "key-" + g.s(HEX, 32)),
        ("mailchimp", g.s(HEX, 32) + "-us" + str(g.rng.randint(1, 20))),
        ("atlassian", "ATATT3" + g.s(URLSAFE, 182) + "=" + g.s(HEX.upper(), 8)),
        ("linear", "lin_api_" + g.s(AN, 40)),
        ("notion", "ntn_" + g.s(string.digits, 11) + g.s(AN, 35)),
        ("postman", f"PMAK-{g.s(HEX, 24)}-{g.s(HEX, 34)}"),
        ("newrelic", "NRAK-" + g.s(string.ascii_uppercase + string.digits, 27)),
        ("grafana", f"glsa_{g.s(AN, 32)}_{g.s(HEX, 8)}"),
        ("databricks", "dapi" + g.s(HEX, 32)),
        ("digitalocean", "dop_v1_" + g.s(HEX, 64)),
        ("vault", "hvs." + g.s(URLSAFE, 90)),
        ("terraform-cloud", g.s(AN, 14) + ".atlasv1." + g.s(URLSAFE, 67)),
        ("doppler", "dp.st." + g.s(AN, 43)),
        ("pulumi", "pul-" + g.s(HEX, 40)),
        ("planetscale", "pscale_tkn_" + g.s(URLSAFE, 43)),
        ("supabase", "sbp_" + g.s(HEX, 40)),
        ("openai-project", "sk-proj-" + g.s(URLSAFE, 74) + "T3BlbkFJ" + g.s(URLSAFE, 74)),
        ("openai-legacy", "sk-" + g.s(AN, 20) + "T3BlbkFJ" + g.s(AN, 20)),
        ("anthropic", "sk-ant-api03-" + g.s(URLSAFE, 93) + "AA"),
        ("huggingface", "hf_" + g.s(string.ascii_letters, 34)),
        ("groq", "gsk_" + g.s(AN, 52)),
        ("xai", "xai-" + g.s(AN, 80)),
        ("replicate", "r8_" + g.s(AN, 37)),
        ("perplexity", "pplx-" + g.s(AN, 48)),
        ("jwt", g.jwt()),
    ]


CONTEXTS = [
    ("python", 'API_KEY = "{v}"\n'),
    ("js", "const token = '{v}';\n"),
    ("dotenv", "SERVICE_TOKEN={v}\n"),
    ("yaml", "service:\n  credentials:\n    token: {v}\n"),
    ("json", '{{"apiKey": "{v}", "region": "eu-west-1"}}'),
    ("terraform", 'provider "svc" {{\n  token = "{v}"\n}}\n'),
    ("shell", "export SERVICE_TOKEN='{v}'\n"),
    ("curl", 'curl -H "Authorization: Bearer {v}" https://api.internal.example/v1/items\n'),
    ("prose", "fyi the prod key is {v} but please do not share it\n"),
    ("bare", "{v}\n"),
]


def corpus(rng: random.Random):
    """Yield (label, text, secret): every provider token in every context, plus the structured cases."""
    g = Gen(rng)
    for label, token in provider_tokens(g):
        for ctx, template in CONTEXTS:
            yield f"{label}/{ctx}", template.format(v=token), token
    yield from structured(g)


def structured(g: Gen):
    """Formats whose secret is defined by its context: keys, URLs, assignments."""
    for label in ("RSA PRIVATE KEY", "EC PRIVATE KEY", "PRIVATE KEY", "OPENSSH PRIVATE KEY", "PGP PRIVATE KEY BLOCK"):
        key = g.pem(label)
        yield f"pem/{label}/plain", f"# key for the build bot\n{key}\n", key
        escaped = json.dumps(key)[1:-1]
        yield f"pem/{label}/json", json.dumps({"type": "service_account", "private_key": key}), escaped
        block = "\n".join("  " + line for line in key.splitlines())
        yield f"pem/{label}/yaml", f"tls:\n  key: |\n{block}\n", key.splitlines()[1]
    aws_secret = g.s(AN + "+/", 40)
    yield "aws-secret/env", f"AWS_SECRET_ACCESS_KEY={aws_secret}\n", aws_secret
    yield "aws-secret/ini", f"[default]\naws_access_key_id = AKIA{g.s(string.ascii_uppercase + '234567', 16)}\naws_secret_access_key = {aws_secret}\n", aws_secret
    azure = g.s(B64, 86) + "=="
    yield "azure-storage", f"DefaultEndpointsProtocol=https;AccountName=acct{g.s(string.digits, 4)};AccountKey={azure};EndpointSuffix=core.windows.net", azure
    sa_id = g.s(HEX, 40)
    yield "gcp-sa-key-id", json.dumps({"type": "service_account", "project_id": "p", "private_key_id": sa_id}), sa_id
    pw = g.password()
    for scheme in ("postgres", "mysql", "mongodb+srv", "redis", "amqp", "https"):
        yield f"url-credentials/{scheme}", f"DATABASE_URL={scheme}://svc_user:{pw}@db.internal.example:5432/app\n", pw
    yield "connection-string/ado", f"Server=tcp:db.example.net,1433;Database=app;User ID=svc;Password={pw};Encrypt=true;", pw
    for lang, template in [
        ("python", 'DB_PASSWORD = "{v}"\n'), ("js", "const dbPassword = '{v}';\n"), ("go", 'dbPassword := "{v}"\n'),
        ("dotenv", "DB_PASSWORD={v}\n"), ("yaml", "database:\n  password: {v}\n"), ("json", '{{"password": "{v}"}}'),
        ("terraform", 'resource "db" "main" {{\n  password = "{v}"\n}}\n'), ("shell", "export DB_PASSWORD='{v}'\n"),
        ("ruby", "config.secret_key = '{v}'\n"), ("properties", "spring.datasource.password={v}\n"),
        ("prose", "The staging DB password is {v} until Friday.\n"),
    ]:
        v = g.password()
        yield f"password-assignment/{lang}", template.format(v=v), v
    raw = g.password().encode()
    b64 = base64.b64encode(raw).decode()
    yield "k8s-secret", f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\ntype: Opaque\ndata:\n  password: {b64}\n", b64
    bearer = g.s(AN, 40)
    yield "curl-x-api-key", f"curl -H 'X-API-Key: {bearer}' https://api.example.net/\n", bearer
