"""The secret engine with the bundled rules: breadth, whole-secret spans, the suppressions that
must not hide real tokens, the interpolations and examples that are not secrets, and the parts of
the engine that keep large inputs linear."""

import base64
import json
import random
import re
import string

import pytest

from llm_dlp.detect.detector import Detector, _hyperscan_source, _leading_literals, _presence, _verifier
from llm_dlp.detect.secret_rules import RulePattern, SecretRule
from support.rules import bundled
from support.secretgen import AN, HEX, Gen, corpus, uuid


@pytest.fixture(scope="module")
def det():
    return bundled().detector


def whole(det, text, secret):
    s = text.find(secret)
    return [f.rule_id for f in det.scan(text) if f.start <= s and f.end >= s + len(secret)]


@pytest.mark.parametrize("seed", [1, 2])
def test_every_generated_case_is_covered_whole(det, seed):
    missed = [label for label, text, secret in corpus(random.Random(seed)) if not whole(det, text, secret)]
    assert missed == []


def test_the_corpus_covers_the_new_contexts_and_vendor_keys():
    labels = {label for label, _, _ in corpus(random.Random(3))}
    contexts = ("go-typed", "php-concat", "java-property", "make", "make-evaluated", "xml-next-line", "xml-element", "json-config")
    for context in contexts + ("json-escaped", "call-argument", "csv", "yaml-literal", "ini", "logstash", "label-next-line"):
        assert any(label.endswith("/" + context) for label in labels)
    assert sum(label.startswith("vendor/") for label in labels) >= 100
    assert len({label.rsplit("/", 1)[0] for label in labels}) >= 190


@pytest.mark.parametrize(
    "value",
    [
        "shippo_live_" + "".join(random.choice(HEX) for _ in range(40)),
        "rubygems_" + "".join(random.choice(HEX) for _ in range(48)),
        "sm_pat_" + "".join(random.choice(AN) for _ in range(16)),
        "pnu_" + "".join(random.choice(AN) for _ in range(36)),
        "test_pub_" + "".join(random.choice(HEX) for _ in range(31)),
    ],
)
@pytest.mark.parametrize("template", ['api_key = "{v}"\n', "SERVICE_TOKEN={v}\n"])
def test_identifier_allow_patterns_do_not_swallow_prefixed_tokens(det, value, template):
    text = template.format(v=value)
    assert whole(det, text, value)


def test_uuid_next_to_its_vendor_is_a_finding_and_a_bare_uuid_name_is_not(det):
    key = uuid(Gen(random.Random()))
    for text in (f"HEROKU_API_KEY={key}\n", f'"snyk_token": "{key}"', f"sendbird:\n  api_token: {key}\n"):
        assert whole(det, text, key) == ["vendor-credential"], text
    # with no vendor's name a UUID is still a key when the name says so (npm, Railway and Cypress
    # issue UUID-shaped tokens), and an identifier when it does not
    assert whole(det, f'deploy_token = "{key}"\n', key) == ["credential-named-value"]
    assert not det.scan(f'request_id = "{key}"\n')


def test_a_vendor_name_in_the_variable_is_enough_for_a_random_value(det):
    g = Gen(random.Random())
    hex32, key40 = g.s(HEX, 32), g.s(AN, 40)
    for text, value in [
        (f"deepgram = {hex32}\n", hex32),
        (f"agora.app_certificate={hex32}\n", hex32),
        (f"<cohereToken>\n    {key40}\n</cohereToken>\n", key40),
        (f'System.setProperty("CODACY_TOKEN", "{key40}");\n', key40),
        (f"chartmogulToken,{key40},\n", key40),
    ]:
        assert whole(det, text, value) == ["vendor-named-value"], text


@pytest.mark.parametrize(
    "text",
    [
        "github.com/influxdata/influxdb v1.11.0 h1:0X+ZsbcOWc6AEi5MHee9BYqXCKmz8IZsljrRYjmV8Qg=\n",
        "twilio==8.10.0\n",
        'SENTRY_RELEASE = "backend_release_2024"\n',
        'sentry_settings = "config/sentry_settings_v2.json"\n',
        "datadog_api_key = os.environ.get('DATADOG_API_KEY')\n",
    ],
)
def test_vendor_names_next_to_versions_paths_and_code_are_not_findings(det, text):
    assert [f.rule_id for f in det.scan(text)] == []


def test_curl_credentials_and_headers_without_a_scheme(det):
    g = Gen(random.Random())
    password, key = g.s(AN, 14), uuid(g)
    for text in (
        f"curl -u deploy:{password} https://ci.example.net/",
        f"curl -X POST https://ci.example.net/ \\\n  --user 'ci:{password}'",
    ):
        assert whole(det, text, password) == ["curl-user-password"], text
    for text in (f"curl -H 'Authorization: {key}' https://x.example.net/", f'curl -H "X-Acme-ApiKey: {key}" https://x.example.net/'):
        assert whole(det, text, key) == ["authorization-header"], text
    for text in ('curl -u "$USER:$PASS" https://x.example.net/', "curl --user neo4j:[PASSWORD] http://localhost/", "curl -u user:pass"):
        assert det.scan(text) == [], text


def test_vault_tokens_of_the_old_format_need_mixed_case_and_a_digit(det):
    token = "s.Ab" + Gen(random.Random()).s(AN, 22)
    assert whole(det, f"token: {token}\n", token) == ["vault-legacy-token"]
    for text in ("s.AcceptanceTimeoutSeconds = 10\n", "self.s.makeKubeConfigController = args\n"):
        assert det.scan(text) == [], text


@pytest.mark.parametrize(
    "text",
    [
        "const authTokenKey = `${regKey}:_authToken`\n",
        "if (opts[`${regKey}:_authToken`]) {\n",
        "output = token.close = `)${expression})${extglobStar})`;\n",
        'password = "%(db_password)s"\n',
        'token: "{{ vault_token }}"\n',
        "passwd = 'geheim-$parole'\n",
        'password = "$db_pass"\n',
        "API_TOKEN=$SERVICE_TOKEN_FROM_VAULT\n",
        'key="-----BEGIN PRIVATE KEY-----\\nXXXX\\nXXXX\\n-----END PRIVATE KEY-----"\n',
        'key="-----BEGIN PRIVATE KEY-----\\\\nXXXX\\\\nXXXX\\\\n-----END PRIVATE KEY-----"\n',
        '"PrivateKey": "-----BEGIN DSA PRIVATE KEY-----<the key, base64>-----END DSA PRIVATE KEY-----"\n',
        "  def s3_object_credentials_json\n    credentials = s3_object_credentials_json\n",
        "for (const key of ['_authtoken', '-authtoken']) {\n",
        "machine mirror.example.net\nlogin anonymous\npassword ci@mirror.example.net\n",
        "type netrcEntry struct {\n\tmachine  string\n\tlogin    string\n\tpassword string\n}\n",
        'uri = URI.parse("http://john:S3sam3@my.example.com/")\n',
        "  sha256 = '5f4dcc3b5aa765d61d8327deb882cf99ab4e2b0ff4c5e3a1e8b6c1d2f3a4b5c6'\n",
        '#   uri.password = "Pr3c1ous_St0n3"\n#   uri.to_s  #=> "http://sam:Pr3c1ous_St0n3@my.example.com"\n',
        "mongodb://ops:D3ep%40Bl0ss0m@db1.example.com:27017/app\n",
    ],
)
def test_interpolations_placeholders_and_documented_examples_are_not_findings(det, text):
    assert det.scan(text) == []


@pytest.mark.parametrize(
    "text, password",
    [
        ("mongodb://ops:Vq8%40Lm2Zx7@db1.example.com:27017/app", "Vq8%40Lm2Zx7"),
        ("amqp://svc:k#Wq4tLp@mq.example.org/", "k#Wq4tLp"),
        ("mongodb+srv://etl:kw3@Rp8!x@cluster7.ab1cd.mongodb.net/jobs", "kw3@Rp8!x"),
    ],
)
def test_url_passwords_that_no_documentation_would_write_are_found_whole(det, text, password):
    """On an example.com host only word-like passwords are documentation; an @ inside the
    password belongs to it when the host's @ follows."""
    start = text.index(password)
    assert any(f.rule_id == "url-credentials" and (f.start, f.end) == (start, start + len(password)) for f in det.scan(text))


def test_references_paging_tokens_sdk_examples_and_listed_constants_are_not_findings_but_their_neighbours_are(det):
    g = Gen(random.Random(18))  # fixed: a rare draw has too few distinct characters once upper-cased
    value = g.s(AN, 12) + "7XQ"  # not camelCase-shaped, which the generic rules take for an identifier
    found = [
        f'"SessionToken": "{value}"\n',
        f'"Password": "{value}"\n',
        f'System.setProperty("SERVICE_TOKEN", "{value.upper()}");\n',
        f'{{"input": {{"Password": "{value}"}}, "description": "Rotated by the nightly job."}}\n',
        f'VAULT_CLIENT_TOKEN="{value}"\n',  # Vault's client token is a credential
        f'"client_token": "{value}"\n',
    ]
    suppressed = [
        f'"ClientToken": "{value}"\n',  # AWS's idempotency tokens
        f'"ClientRequestToken": "{value}"\n',
        f'"NextContinuationToken": "{value}"\n',
        f'"SecretId": "{value}"\n',
        f"idempotency_token = '{value}'\n",
        f'"SessionToken": "{value[:10]}..."\n',
        f'{{"input": {{"Password": "{value}"}}, "description": "The following example sets a password."}}\n',
        "opts = [\n    'USERPWD', 'SSL3VERIFYHOST', 'TIMEOUT',\n]\n",
    ]
    for text in found:
        assert whole(det, text, value if value in text else value.upper()), text
    for text in suppressed:
        assert det.scan(text) == [], text


def test_long_tokens_are_covered_to_their_last_character(det):
    g = Gen(random.Random())
    refresh = "ghr_" + g.s(AN, 76)
    stripe = "sk_live_" + g.s(AN, 240)
    for token in (refresh, stripe):
        text = f"token: {token}\n"
        assert whole(det, text, token)


def test_trailing_repeat_is_cut_in_the_prefilter_and_the_window_reaches_the_end():
    source, reach = _hyperscan_source(re.compile(r"(?P<secret>tok_[a-z]{8,200})(?![a-z])"))
    assert source == b"(tok_[a-z]{8})" and reach == 192
    rule = SecretRule("t", "redact", (RulePattern(r"(?P<secret>tok_[a-z]{8,200})(?![a-z])"),))
    text = "x " + "tok_" + "q" * 200 + " y"
    assert [(f.start, f.end) for f in Detector([rule]).scan(text)] == [(2, 206)]


@pytest.mark.parametrize(
    ("source", "literals"),
    [
        (r"(?i)(?:token|api[_-]?key|apikey|passw(?:or)?d)\s*=(?P<secret>\w{8})", (b"api", b"passw", b"token")),
        (r"(?<![a-z])\bsk-ant-\d{2}(?P<secret>\w{8})", (b"sk-ant-",)),
        (r"(?:ghp|gho)_(?P<secret>\w{36})", (b"gho_", b"ghp_")),
        (r"(?i)AKIA(?P<secret>[A-Z0-9]{16})", (b"akia",)),
        # unknown or too short to narrow the search: every position is tried
        (r"[a-z]+key=(?P<secret>\w{8})", None),
        (r"(?:key|ab)\s*=(?P<secret>\w{8})", None),
        (r"(?i)(?-i:Key|Token)=(?P<secret>\w{8})", None),
        (r"(?:tok|\w+)=(?P<secret>\w{8})", None),
    ],
)
def test_the_literals_every_match_starts_with(source, literals):
    assert _leading_literals(re.compile(source)) == literals


def test_verifying_at_the_leading_literals_finds_what_finditer_finds():
    """Dense, overlapping candidates (a name inside a value, values that run into the next
    assignment) in windows of every size: the same leftmost, non-overlapping matches."""
    pattern = re.compile(r"(?i)(?:token|secret|api_?key)[\w.-]*[\"']?\s*[:=,]\s*[\"']?(?P<secret>[^\"'\s,]{4,40})")
    rule = SecretRule("t", "redact", (RulePattern(pattern.pattern, pattern.flags),))
    det = Detector([rule])
    assert det._verification(0)[1] is not None
    rng = random.Random(7)
    pieces = ["token", "TOKEN", "Secret", "apikey", "api_key", "=", ":", ",", '"', "'", " ", "\n", "NextToken", "x9", "abcd1234", "\u212a"]
    for _ in range(300):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(1, 60)))
        data = text.encode("ascii", "replace")
        ws = rng.randrange(0, len(text) + 1)
        we = rng.randrange(ws, len(text) + 1)
        found = [m.span() for m in det._matches(0, text, data, ws, we)]
        assert found == [m.span() for m in pattern.finditer(text, ws, we)], (text, ws, we)


@pytest.mark.parametrize(
    ("source", "verified"),
    [
        (r"(?P<name>[a-z0-9_.-]*(?:token|key))=(?P<secret>\w{8})", r"(?P<name>(?:token|key))=(?P<secret>\w{8})"),
        (r"(?i)[\w.-]{0,50}?key\s*=\s*(?P<secret>\w{8})", r"(?i)key\s*=\s*(?P<secret>\w{8})"),
        (r"\w*key=(?P<secret>\w{8})", r"key=(?P<secret>\w{8})"),
        # kept: the repeat is required, is the secret, is the whole match, or sits in a repeated group or a branch
        (r"[a-z]+key=(?P<secret>\w{8})", None),
        (r"(?P<secret>[a-z]*key\w{8})", None),
        (r"[a-z]*key=\w{8}", None),
        (r"(?:[a-z]*key)+=(?P<secret>\w{8})", None),
        (r"(?P<n>[a-z]*|q)key=(?P<secret>\w{8})", None),
        (r"(?:[a-z]*|q)key=(?P<secret>\w{8})", None),
    ],
)
def test_an_optional_repeat_that_opens_a_pattern_is_not_verified(source, verified):
    """Python would try it from every position of a window and backtrack over it (most of the
    verification time of the generic assignment rule); it can match nothing, so no secret moves."""
    pattern = re.compile(source)
    assert _verifier(pattern).pattern == (verified or source)
    text = "x my_api_key=Zq7Vn2Lx more_token=Kp4Wm9Rt"
    group = "secret" if "secret" in pattern.groupindex else 0
    assert [m.span(group) for m in _verifier(pattern).finditer(text)] == [m.span(group) for m in pattern.finditer(text)]


def test_password_hashes_jwk_members_and_wrapped_jwts_and_keys(det):
    g = Gen(random.Random())
    crypt = "./" + AN
    bcrypt = "$2b$12$" + g.s(crypt, 53)
    assert whole(det, f"admin:{bcrypt}\n", bcrypt) == ["password-hash"]
    d = g.s(AN + "_-", 43)
    assert whole(det, json.dumps({"kty": "EC", "crv": "P-256", "d": d}), d) == ["jwk-private-key"]
    assert not det.scan(json.dumps({"kty": "EC", "crv": "P-256", "x": g.s(AN, 43)}))
    wrapped = base64.b64encode(g.jwt().encode()).decode()
    assert whole(det, f"token: {wrapped}\n", wrapped) == ["jwt-base64"]
    not_jwt = base64.b64encode(b"eyJhbGciOiJIUzI1NiJ9 and then some prose, not a token").decode()
    assert not det.scan(f"blob: {not_jwt}\n")
    pem = base64.b64encode(g.pem("RSA PRIVATE KEY").encode()).decode()
    assert whole(det, json.dumps({"privateKey": pem}), pem) == ["private-key-base64"]
    public = base64.b64encode(g.pem("PUBLIC KEY").encode()).decode()
    assert not det.scan(f"PUBLIC_KEY_B64={public}\n")


def test_base64_wrapped_private_keys_and_credentials_are_decoded_first(det):
    g = Gen(random.Random())
    body = base64.b64encode(g.s(AN, 90).encode()).decode()
    key = base64.b64encode(f"-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n".encode()).decode()
    assert whole(det, f"PRIVATE_KEY_B64={key}\n", key) == ["private-key-base64"]
    cert = base64.b64encode(f"-----BEGIN CERTIFICATE-----\n{body}\n".encode()).decode()
    assert not det.scan(f"CERT_B64={cert}\n")
    basic = base64.b64encode(f"ci-bot:{g.s(AN, 16)}".encode()).decode()
    assert whole(det, f'{{"auths": {{"registry.example.net": {{"auth": "{basic}"}}}}}}', basic) == ["basic-credentials-base64"]
    assert not det.scan('{"auths": {"registry.example.net": {"auth": "%s"}}}' % base64.b64encode(b"no colon here").decode())
    # the pattern spells out the encoding of the id's digits: every id is covered
    for _ in range(50):
        pat = base64.b64encode(g.s(string.digits, 12).encode() + b":" + random.randbytes(20)).decode()
        assert whole(det, f"confluence_pat: {pat}\n", pat) == ["atlassian-datacenter-pat"]


def test_a_vendor_key_with_slashes_is_not_taken_for_a_path(det):
    g = Gen(random.Random())
    key = "/".join(g.s(AN, 24) for _ in range(3))
    assert whole(det, f'greptile_api_key = "{key}"', key) == ["vendor-named-value"]
    assert not det.scan('sentry_settings = "config/sentry/settings_v2.json"')
    hexkey = g.s(HEX, 64)
    assert whole(det, f"statuspage_api: OAuth {hexkey}\n", hexkey) == ["vendor-named-value"]


def test_a_dotted_literal_with_random_parts_is_not_taken_for_an_attribute(det):
    g = Gen(random.Random())
    key = f"{g.s(AN, 8)}.{g.s(string.ascii_uppercase, 4)}{g.s(string.digits, 4)}{g.s(string.ascii_lowercase, 4)}{g.s(AN, 20)}"
    assert whole(det, f"flagsmith api token: {key}\n", key) == ["vendor-named-value"]
    assert not det.scan("flagsmith_api_client: settings.flagsmithEnvironmentKey\n")


def test_near_words_must_precede_the_value():
    rule = SecretRule("v", "redact", (RulePattern(r"key=(?P<secret>[a-z0-9]{12})"),), near=("acme",), context_chars=20)
    d = Detector([rule])
    assert [f.value for f in d.scan("ACME_key=abc123def456")] == ["abc123def456"]
    assert d.scan("key=abc123def456 acme") == []
    assert d.scan("acme" + " " * 40 + "key=abc123def456") == []


def test_near_words_are_looked_for_around_the_hits_only_and_as_far_as_context_chars():
    rule = SecretRule("v", "redact", (RulePattern(r"key=(?P<secret>[a-z0-9]{12})"),), near=("acmecorp",), context_chars=30, window=16)
    d = Detector([rule])
    text = "acmecorp " * 50
    assert d._hits(text, text.encode()) == {}  # the words are not part of the whole-text pass
    # the word ends exactly context_chars before the secret, and starts before the window does
    # minus context_chars: a word cut at that edge would go unseen
    assert [f.value for f in d.scan(" " * 100 + "acmecorp" + " " * 26 + "key=abc123def456")] == ["abc123def456"]
    assert d.scan(" " * 100 + "acmecorp" + " " * 27 + "key=abc123def456") == []


def test_a_near_placeholder_makes_one_pattern_per_word_each_anchored_on_it():
    rule = next(r for r in bundled().rules if r.id == "vendor-named-value")
    assert len(rule.patterns) == len(rule.near) > 100
    assert all(p.pattern.startswith(re.escape(word)) for p, word in zip(rule.patterns, rule.near))
    assert bundled().detector.slow_rule_ids() == []


def test_a_context_is_found_in_the_hyperscan_pass_and_must_precede_the_secret():
    context = re.compile(r"(?m)^kind:\s*Vault[^\n]*$")
    # trailing optional repeats would report a hit per character of the line
    assert _presence(context).pattern == r"(?m)^kind:\s*Vault"
    rule = SecretRule("c", "redact", (RulePattern(r"val=(?P<secret>[a-z0-9]{12})"),), context=context, context_chars=40)
    d = Detector([rule])
    assert [f.value for f in d.scan("kind: Vault v1\nval=abc123def456")] == ["abc123def456"]
    assert d.scan("val=abc123def456") == []
    assert d.scan("kind: Vault\n" + "x" * 60 + "\nval=abc123def456") == []
    assert d.scan("val=abc123def456\nkind: Vault") == []


def test_a_context_around_the_secret_may_also_follow_it():
    context = re.compile(r"(?m)^kind:\s*Vault[^\n]*$")
    rule = SecretRule(
        "c", "redact", (RulePattern(r"val=(?P<secret>[a-z0-9]{12})"),), context=context, context_chars=40, context_around=True
    )
    d = Detector([rule])
    assert [f.value for f in d.scan("val=abc123def456\nkind: Vault")] == ["abc123def456"]
    assert [f.value for f in d.scan("kind: Vault\nval=abc123def456")] == ["abc123def456"]
    assert d.scan("val=abc123def456\n" + "x" * 60 + "\nkind: Vault") == []


def test_the_patterns_of_a_rule_with_a_context_are_scanned_only_where_the_context_is():
    context = re.compile(r"(?m)^kind:\s*Vault[^\n]*$")
    rule = SecretRule("c", "redact", (RulePattern(r"val=(?P<secret>[a-z0-9]{12})"),), context=context, context_chars=40)
    d = Detector([rule])
    text = "val=abc123def456\n"
    assert d._hits(text, text.encode()) == {}  # the pattern's own database was not run
    text = "kind: Vault\nval=abc123def456"
    assert sorted(d._hits(text, text.encode())) == [0, 1]  # the pattern and its context
    assert [f.value for f in d.scan(text)] == ["abc123def456"]


def test_only_wide_bounded_repeats_are_opened_in_the_prefilter():
    # an open repeat stays alive through every long identifier: narrow ranges stay bounded
    assert _hyperscan_source(re.compile(r"[MN][a-z]{23,25}\.[a-z]{6}"))[0] == rb"[MN][a-z]{23,25}\.[a-z]{6}"
    assert _hyperscan_source(re.compile(r"x[a-z]{0,40}:[a-z]{6}"))[0] == rb"x[a-z]{0,}:[a-z]{6}"


def test_repeats_are_found_everywhere_in_one_pass_with_offsets_after_non_ascii(det):
    token = "ghp_" + Gen(random.Random()).s(AN, 36)
    text = f"TOKEN={token}\n" + "é ünïcode\n" * 1000 + f"again {token} and {token[:-3]} cut\n"
    spans = [(f.start, f.end) for f in det.scan(text)]
    assert [text[s:e] for s, e in spans] == [token, token] and spans[1][0] > spans[0][1]


def test_overlapping_findings_merge_into_one_covering_both():
    a = SecretRule("a", "redact", (RulePattern(r"AAA[0-9]{6}"),))
    b = SecretRule("b", "redact", (RulePattern(r"[0-9]{6}BBB"),))
    found = Detector([a, b]).scan("x AAA123456BBB y")
    assert [(f.rule_id, f.value) for f in found] == [("a", "AAA123456BBB")]


def test_many_findings_in_one_large_text(det):
    g = Gen(random.Random())
    tokens = ["ghp_" + g.s(AN, 36) for _ in range(400)]
    filler = "def f(x):\n    return x + 1\n" * 50
    text = "".join(f"{filler}TOKEN_{i} = '{t}'\n" for i, t in enumerate(tokens))
    found = det.scan(text)
    assert [f.value for f in found if f.rule_id == "github-token"] == tokens
    assert all(text[f.start : f.end] == f.value for f in found)
    assert string.ascii_letters  # the filler holds no secret


def test_a_found_value_longer_than_a_hyperscan_literal_is_found_again_elsewhere(det):
    """A private key of tens of KB (or a cut-off one, which runs to the end of its body) is too
    long for a hyperscan literal; its repeats are still found."""
    g = Gen(random.Random())
    body = "\n".join(g.s(AN + "+/", 64) for _ in range(400))
    key = f"-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----"
    text = f"first: {key}\n\nsecond: {key}"
    found = [f for f in det.scan(text) if f.rule_id == "private-key"]
    assert len(found) == 2 and all(len(f.value) > 16384 for f in found)


def test_a_long_jwt_is_covered_whole(det):
    g = Gen(random.Random())
    token = "eyJ" + g.s(AN, 1200) + ".eyJ" + g.s(AN + "_-", 6000) + "." + g.s(AN + "_-", 342)
    assert whole(det, f"id_token: {token}\n", token) == ["jwt"]


def test_random_mixed_case_passwords_are_not_taken_for_camel_case_identifiers(det):
    """The identifier allow-pattern wants words (two or more letters after each capital): a random
    value of letters and digits is a camelCase identifier only by rare chance (it took 3.6% before)."""
    g = Gen(random.Random(7))
    values = [g.s(AN, 15) for _ in range(2000)]
    missed = [v for v in values if not whole(det, f'"Password": "{v}"\n', v)]
    assert len(missed) <= len(values) // 100, missed[:5]
    assert det.scan('"passwordField": "defaultPasswordField"\n') == []


def test_kubernetes_secret_data_in_letters_only_base64_is_found_but_a_one_case_word_is_not(det):
    rnd = random.Random(7)
    while not (encoded := base64.b64encode("".join(rnd.choices(AN, k=12)).encode()).decode()).isalpha():
        pass
    manifest = "apiVersion: v1\nkind: Secret\nmetadata:\n  labels:\n    tier: backendservices\ndata:\n  password: {}\n"
    assert whole(det, manifest.format(encoded), encoded) == ["kubernetes-secret-data"]
    assert not [f for f in det.scan(manifest.format(encoded)) if f.value == "backendservices"]


def test_asaas_keys_are_not_taken_for_variables_but_variables_still_are(det):
    key = "$aact_prod_" + "".join(random.Random(3).choices(AN, k=40))
    assert whole(det, f'ASAAS_API_KEY="{key}"', key) == ["asaas-api-key"]
    assert det.scan('api_key = "$ASAAS_API_KEY"') == []


@pytest.mark.parametrize(
    "text",
    [
        '<a class="mark" href="#dep0010-cryptocreatecredentials" id="dep0010-cryptocreatecredentials">#</a>',
        "SECRET_NAME=my-secret-name-2\nTOKEN_FILE=/var/run/tok2.txt\n",
        "--pkcs11-token-uri\n               --fido2-credential-algorithm\n",
    ],
)
def test_attributes_after_a_quoted_name_and_lines_after_a_label_are_not_values(det, text):
    assert det.scan(text) == []
