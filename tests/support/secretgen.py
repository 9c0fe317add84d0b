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
UD = string.ascii_uppercase + string.digits
LD = string.ascii_lowercase + string.digits
BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


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
        payload = (
            base64.urlsafe_b64encode(json.dumps({"sub": self.s(AN, 10), "iat": self.rng.randint(10**9, 2 * 10**9)}).encode())
            .decode()
            .rstrip("=")
        )
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
        (
            "slack-webhook",
            f"https://hooks.slack.com/services/T{g.s(string.ascii_uppercase + string.digits, 8)}/B{g.s(string.ascii_uppercase + string.digits, 10)}/{g.s(AN, 24)}",
        ),
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


def uuid(g: Gen) -> str:
    return "-".join(g.s(HEX, n) for n in (8, 4, 4, 4, 12))


def more_provider_tokens(g: Gen) -> list[tuple[str, str, str]]:
    """(category, label, token) of more provider formats, as their documentation and public scanners describe them."""
    b64json = "eyJ" + g.s(AN, 120) + "=="
    return [
        ("monitoring", "sentry-user-token", "sntryu_" + g.s(HEX, 64)),
        ("monitoring", "sentry-org-token", "sntrys_" + b64json + "_" + g.s(AN, 43)),
        ("keys", "age-secret-key", "AGE-SECRET-KEY-1" + g.s(BECH32.upper(), 58)),
        ("infra", "prefect-api-key", "pnu_" + g.s(AN, 36)),
        ("infra", "flyio-token", "fo1_" + g.s(URLSAFE, 43)),
        ("saas", "readme-api-key", "rdme_" + g.s(LD, 70)),
        ("payment", "stripe-restricted-test", "rk_test_" + g.s(AN, 99)),
        ("payment", "stripe-webhook-secret", "whsec_" + g.s(AN, 32)),
        ("monitoring", "grafana-api-key", "eyJrIjoi" + g.s(AN, 60) + "In0="),
        ("monitoring", "grafana-cloud-token", "glc_" + g.s(B64, 80) + "=="),
        ("cloud", "cloudflare-origin-ca-key", "v1.0-" + g.s(HEX, 24) + "-" + g.s(HEX, 146)),
        ("chat", "slack-refresh-token", "xoxe-1-" + g.s(UD, 146)),
        ("chat", "slack-config-token", "xoxe.xoxp-1-" + g.s(UD, 164)),
        ("chat", "slack-workflow-webhook", f"https://hooks.slack.com/triggers/T{g.s(UD, 10)}/{g.s(string.digits, 13)}/{g.s(HEX, 32)}"),
        ("payment", "square-access-token", "sq0atp-" + g.s(URLSAFE, 22)),
        ("saas", "hubspot-private-app", "pat-na1-" + uuid(g)),
        ("saas", "hubspot-private-app-eu", "pat-eu1-" + uuid(g)),
        ("saas", "easypost-key", "EZAK" + g.s(AN, 54)),
        ("saas", "easypost-test-key", "EZTK" + g.s(AN, 54)),
        ("cloud", "bedrock-api-key", "ABSKQmVkcm9ja0FQSUtleS" + g.s(B64, 110) + "="),
        ("cloud", "bedrock-short-term-key", "bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29t" + g.s(B64, 200) + "="),
        ("infra", "planetscale-password", "pscale_pw_" + g.s(URLSAFE, 43)),
        ("infra", "planetscale-oauth", "pscale_oauth_" + g.s(URLSAFE, 43)),
        ("payment", "flutterwave-secret", "FLWSECK_TEST-" + g.s(HEX, 32) + "-X"),
        ("payment", "flutterwave-public", "FLWPUBK-" + g.s(HEX, 32) + "-X"),
        ("payment", "flutterwave-encryption", "FLWSECK_TEST" + g.s(HEX, 12)),
        ("saas", "adafruit-io-key", "aio_" + g.s(AN, 28)),
        ("saas", "adobe-client-secret", "p8e-" + g.s(LD, 32)),
        ("saas", "airtable-pat", "pat" + g.s(AN, 14) + "." + g.s(HEX, 64)),
        ("cloud", "alibaba-access-key-id", "LTAI" + g.s(AN, 20)),
        ("saas", "asana-pat", f"2/{g.s(string.digits, 16)}/{g.s(string.digits, 16)}:{g.s(HEX, 32)}"),
        ("registry", "clojars-token", "CLOJARS_" + g.s(LD, 60)),
        ("saas", "contentful-pat", "CFPAT-" + g.s(URLSAFE, 43)),
        ("infra", "defined-networking-key", "dnkey-" + g.s(UD, 26) + "-" + g.s(UD, 52)),
        ("saas", "dropbox-short-lived", "sl." + g.s(URLSAFE, 140)),
        ("payment", "duffel-token", "duffel_live_" + g.s(URLSAFE, 43)),
        ("monitoring", "dynatrace-token", "dt0c01." + g.s(UD, 24) + "." + g.s(UD, 64)),
        ("saas", "facebook-access-token", "EAAC" + g.s(AN, 120)),
        ("saas", "frameio-token", "fio-u-" + g.s(URLSAFE, 64)),
        ("vcs", "gitlab-runner-registration", "GR1348941" + g.s(URLSAFE, 20)),
        ("vcs", "gitlab-oauth-secret", "gloas-" + g.s(HEX, 64)),
        ("infra", "harness-pat", "pat." + g.s(URLSAFE, 22) + "." + g.s(HEX, 24) + "." + g.s(AN, 20)),
        ("cloud", "heroku-api-key-v2", "HRKU-AA" + g.s(URLSAFE, 58)),
        ("infra", "infracost-key", "ico-" + g.s(AN, 32)),
        ("saas", "intra42-secret", "s-s4t2ud-" + g.s(HEX, 64)),
        ("saas", "mailgun-public-key", "pubkey-" + g.s(HEX, 32)),
        ("saas", "mapbox-secret-token", "sk.eyJ1Ijoi" + g.s(AN, 50) + "." + g.s(URLSAFE, 22)),
        (
            "chat",
            "teams-webhook",
            f"https://acme.webhook.office.com/webhookb2/{uuid(g)}@{uuid(g)}/IncomingWebhook/{g.s(HEX, 32)}/{uuid(g)}",
        ),
        ("registry", "nuget-api-key", "oy2" + g.s(LD, 43)),
        ("infra", "onepassword-service-account", "ops_eyJ" + g.s(B64, 260) + "="),
        ("infra", "onepassword-secret-key", f"A3-{g.s(UD, 6)}-{g.s(UD, 11)}-{g.s(UD, 5)}-{g.s(UD, 5)}-{g.s(UD, 5)}"),
        ("registry", "rubygems-api-key", "rubygems_" + g.s(HEX, 48)),
        ("infra", "scalingo-token", "tk-us-" + g.s(URLSAFE, 48)),
        ("saas", "brevo-api-key", "xkeysib-" + g.s(HEX, 64) + "-" + g.s(AN, 16)),
        ("saas", "settlemint-token", "sm_pat_" + g.s(AN, 16)),
        ("saas", "shippo-token", "shippo_live_" + g.s(HEX, 40)),
        ("vcs", "sonarqube-token", "squ_" + g.s(HEX, 40)),
        ("vcs", "sourcegraph-token", "sgp_" + g.s(HEX, 16) + "_" + g.s(HEX, 40)),
        ("saas", "twitter-bearer-token", "A" * 22 + g.s(AN + "%", 90)),
        ("saas", "typeform-token", "tfp_" + g.s(URLSAFE, 59)),
        ("cloud", "yandex-api-key", "AQVN" + g.s(URLSAFE, 36)),
        ("cloud", "yandex-iam-token", "t1." + g.s(URLSAFE, 60) + "." + g.s(URLSAFE, 86)),
        ("monitoring", "maxmind-license-key", g.s(AN, 6) + "_" + g.s(AN, 29) + "_mmk"),
        ("infra", "octopus-deploy-key", "API-" + g.s(UD, 26)),
        ("infra", "openshift-token", "sha256~" + g.s(URLSAFE, 43)),
        ("infra", "render-api-key", "rnd_" + g.s(AN, 32)),
        ("infra", "deno-deploy-token", "ddp_" + g.s(AN, 36)),
        ("cloud", "google-oauth-access-token", "ya29." + g.s(URLSAFE, 120)),
        ("cloud", "google-oauth-refresh-token", "1//0" + g.s(URLSAFE, 60)),
        ("ai", "langsmith-key", "lsv2_pt_" + g.s(HEX, 32) + "_" + g.s(HEX, 10)),
        ("infra", "tailscale-key", "tskey-auth-k" + g.s(AN, 10) + "CNTRL-" + g.s(AN, 33)),
        ("infra", "netlify-pat", "nfp_" + g.s(AN, 36)),
        ("infra", "buildkite-token", "bkua_" + g.s(HEX, 40)),
        ("infra", "circleci-pat", "CCIPAT_" + g.s(AN, 22) + "_" + g.s(HEX, 40)),
        ("registry", "dockerhub-oat", "dckr_oat_" + g.s(URLSAFE, 32)),
        ("saas", "figma-pat", "figd_" + g.s(URLSAFE, 40)),
        ("vcs", "bitbucket-app-password", "ATBB" + g.s(AN, 32)),
        ("payment", "braintree-access-token", f"access_token$production${g.s(LD, 16)}${g.s(HEX, 32)}"),
        ("payment", "razorpay-key", "rzp_live_" + g.s(AN, 14)),
        ("payment", "paystack-secret", "sk_live_" + g.s(HEX, 40)),
        ("payment", "plaid-access-token", "access-production-" + uuid(g)),
        ("infra", "neon-api-key", "napi_" + g.s(LD, 64)),
        ("cloud", "firebase-fcm-server-key", "AAAA" + g.s(URLSAFE, 7) + ":APA91b" + g.s(URLSAFE, 134)),
        ("saas", "woocommerce-secret", "cs_" + g.s(HEX, 40)),
        ("saas", "mailersend-token", "mlsn." + g.s(HEX, 64)),
        ("saas", "resend-api-key", "re_" + g.s(AN, 8) + "_" + g.s(AN, 24)),
        ("ai", "pinecone-api-key", "pcsk_" + g.s(AN, 6) + "_" + g.s(AN, 64)),
        ("ai", "langfuse-secret-key", "sk-lf-" + uuid(g)),
        ("ai", "fireworks-api-key", "fw_" + g.s(AN, 24)),
        ("ai", "openrouter-api-key", "sk-or-v1-" + g.s(HEX, 64)),
        ("ai", "cerebras-api-key", "csk-" + g.s(LD, 48)),
        ("ai", "elevenlabs-api-key", "sk_" + g.s(HEX, 48)),
        ("saas", "apify-token", "apify_api_" + g.s(AN, 36)),
        ("cloud", "tencent-secret-id", "AKID" + g.s(AN, 32)),
        ("cloud", "scaleway-access-key", "SCW" + g.s(UD, 17)),
        ("saas", "mapbox-public-token", "pk.eyJ1Ijoi" + g.s(AN, 50) + "." + g.s(URLSAFE, 22)),
        ("saas", "zapier-webhook", f"https://hooks.zapier.com/hooks/catch/{g.s(string.digits, 7)}/{g.s(LD, 6)}/"),
        ("infra", "doppler-cli-token", "dp.ct." + g.s(AN, 43)),
        ("saas", "linear-oauth-secret", "lin_oauth_" + g.s(HEX, 64)),
        ("saas", "notion-legacy-token", "secret_" + g.s(AN, 43)),
        ("vcs", "github-refresh-token", "ghr_" + g.s(AN, 76)),
        ("registry", "artifactory-reference-token", "cmVmdGtuOjAxOj" + g.s(AN, 50)),
        ("cloud", "digitalocean-refresh", "dor_v1_" + g.s(HEX, 64)),
        ("infra", "dependency-track-key", "odt_" + g.s(AN, 32)),
        ("saas", "arcjet-key", "ajkey_" + g.s(LD, 26)),
        ("saas", "aikido-secret", "AIK_SECRET_" + g.s(AN, 64)),
        ("saas", "aikido-ci-token", "AIK_CI_" + g.s(AN, 24)),
        ("saas", "blockprotocol-key", f"b10ck5.{g.s(AN, 32)}.{g.s(AN, 36)}"),
        ("saas", "branchio-key", "key_" + g.rng.choice(["live", "test"]) + "_" + g.s(AN, 32)),
        ("ai", "cursor-api-key", "key_" + g.s(LD, 64)),
        ("saas", "clickup-token", f"pk_{g.s(string.digits, 9)}_{g.s(UD, 32)}"),
        ("saas", "courier-key", g.rng.choice(["pk", "dk"]) + "_" + g.rng.choice(["prod", "test"]) + "_" + g.s(AN, 24)),
        ("saas", "configcat-sdk-key", f"configcat-sdk-1/{g.s(URLSAFE, 22)}/{g.s(URLSAFE, 22)}"),
        ("ai", "deepl-free-key", uuid(g) + ":fx"),
        ("cloud", "aws-appsync-key", "da2-" + g.s(LD, 26)),
        ("cloud", "amazon-mws-token", "amzn.mws." + uuid(g)),
        ("vcs", "azure-devops-pat", g.s(AN, 76) + "AZDO" + g.s(AN, 4)),
        ("monitoring", "datadog-rum-token", "pub" + g.s(HEX, 32)),
        ("infra", "vault-legacy-token", "s." + g.s(string.ascii_uppercase, 4) + g.s(string.ascii_lowercase, 4) + g.s(AN, 16)),
        ("infra", "vault-batch-token", "hvb." + g.s(URLSAFE, 220)),
        ("saas", "mapbox-temporary-token", "tk.eyJ1Ijoi" + g.s(AN, 50) + "." + g.s(URLSAFE, 22)),
        ("saas", "builderio-private-key", "bpk-" + g.s(HEX, 32)),
        ("ai", "deepseek-api-key", "sk-" + g.s(HEX, 32)),
        ("saas", "crossmint-key", g.rng.choice(["sk", "ck"]) + "_" + g.rng.choice(["staging", "production"]) + "_" + g.s(AN, 32)),
        ("saas", "asana-pat-v1", f"1/{g.s(string.digits, 16)}:{g.s(HEX, 32)}"),
        ("registry", "cratesio-token", "cio" + g.s(AN, 32)),
        ("monitoring", "newrelic-license-key", g.s(HEX, 36) + "NRAL"),
        ("monitoring", "newrelic-license-key-eu", "eu01xx" + g.s(HEX, 30) + "NRAL"),
        ("monitoring", "newrelic-insights-query-key", "NRIQ-" + g.s(URLSAFE, 32)),
        ("monitoring", "pixie-api-key", g.rng.choice(["px-dep-", "px-api-"]) + uuid(g)),
        (
            "chat",
            "teams-webhook-outlook",
            f"https://outlook.office.com/webhook/{uuid(g)}@{uuid(g)}/IncomingWebhook/{g.s(HEX, 32)}/{uuid(g)}",
        ),
        ("chat", "telegram-short", f"{g.s(string.digits, 10)}:AA{g.s(URLSAFE, 32)}"),
        ("ai", "jina-api-key", "jina_" + g.s(HEX, 32) + g.s(AN, 28)),
        ("ai", "tavily-api-key", "tvly-" + g.rng.choice(["", "dev-"]) + g.s(AN, 32)),
        ("saas", "twitch-stream-key", f"live_{g.s(string.digits, 9)}_{g.s(AN, 30)}"),
        ("saas", "salesforce-access-token", "00D" + g.s(AN, 12) + "!" + g.s(AN + ".", 96)),
        ("keys", "cisco-type9-hash", "$9$" + g.s("./" + AN, 14) + "$" + g.s("./" + AN, 43)),
        *prefixed_provider_tokens(g),
        *azure_identifiable_keys(g),
    ]


def prefixed_provider_tokens(g: Gen) -> list[tuple[str, str, str]]:
    """(category, label, token) of formats with a fixed prefix or structure of their own."""
    b32 = "abcdefghijklmnopqrstuvwxyz234567"
    django = string.ascii_lowercase + string.digits + "!@#$%^&*(-_=+)"
    return [
        ("ai", "helicone-api-key", "sk-helicone-" + "-".join(g.s(LD, 7) for _ in range(4))),
        ("cloud", "cloudflare-api-token", g.rng.choice(["cfut_", "cfat_"]) + g.s(AN, 40) + g.s(HEX, 8)),
        ("cloud", "cloudflare-tunnel-token", cloudflare_tunnel_token(g)),
        ("saas", "cloudflare-turnstile-secret", "0x4AAAAAAA" + g.s(URLSAFE, 25)),
        ("ai", "together-api-key", "tgp_v1_" + g.s(URLSAFE, 43)),
        ("ai", "llamacloud-api-key", "llx-" + g.s(AN, 48)),
        ("ai", "cartesia-api-key", "sk_car_" + g.s(AN, 22)),
        ("ai", "e2b-api-key", "e2b_" + g.s(HEX, 40)),
        ("ai", "daytona-api-key", "dtn_" + g.s(HEX, 64)),
        ("ai", "firecrawl-api-key", "fc-" + g.s(HEX, 32)),
        ("ai", "browserbase-api-key", "bb_live_" + g.s(URLSAFE, 27)),
        ("ai", "runpod-api-key", "rpa_" + g.s(UD, 40)),
        ("ai", "brave-search-api-key", "BSA" + g.s(AN, 28)),
        ("ai", "neptune-api-token", neptune_token(g)),
        ("monitoring", "honeycomb-api-key", g.rng.choice(["hcaik_01", "hcaic_01"]) + g.s(LD, 56)),
        ("monitoring", "coralogix-key", "cxtp_" + g.s(AN, 30)),
        ("monitoring", "axiom-token", g.rng.choice(["xaat-", "xapt-"]) + uuid(g)),
        ("infra", "inngest-signing-key", "signkey-" + g.rng.choice(["prod", "test", "branch"]) + "-" + g.s(HEX, 64)),
        ("infra", "triggerdev-secret-key", "tr_" + g.rng.choice(["dev", "prod", "stg"]) + "_" + g.s(AN, 20)),
        ("infra", "xata-api-key", "xau_" + g.s(AN, 33)),
        ("infra", "dbt-cloud-token", g.rng.choice(["dbtc_", "dbtu_"]) + g.s(URLSAFE, 56)),
        ("infra", "infisical-service-token", f"st.{uuid(g)}.{g.s(HEX, 32)}.{g.s(HEX, 32)}"),
        ("infra", "bitwarden-access-token", f"0.{uuid(g)}.{g.s(AN, 30)}:{g.s(B64, 22)}=="),
        ("infra", "portainer-access-token", "ptr_" + g.s(B64, 43) + "="),
        ("infra", "rancher-api-token", f"token-{g.s(LD, 5)}:{g.s(LD, 54)}"),
        ("vcs", "teamcity-access-token", f"eyJ0eXAiOiAiVENWMiJ9.{g.s(URLSAFE, 36)}.{g.s(URLSAFE, 48)}"),
        ("vcs", "youtrack-token", youtrack_token(g)),
        ("vcs", "chromatic-project-token", "chpt_" + g.s(HEX, 15)),
        ("registry", "nexus-npm-token", "NpmToken." + uuid(g)),
        ("cloud", "akamai-edgegrid-token", f"akab-{g.s(LD, 16)}-{g.s(LD, 16)}"),
        ("cloud", "volcengine-access-key-id", "AKLT" + g.s(AN, 40)),
        ("cloud", "amazon-lwa-client-secret", "amzn1.oa2-cs.v1." + g.s(HEX, 64)),
        ("cloud", "amazon-lwa-refresh-token", "Atzr|IwEB" + g.s(URLSAFE, 300)),
        ("payment", "xendit-secret-key", "xnd_" + g.rng.choice(["development", "production"]) + "_" + g.s(AN, 62)),
        ("payment", "paddle-api-key", f"pdl_live_apikey_01{g.s(LD, 24)}_{g.s(AN, 22)}_{g.s(AN, 3)}"),
        (
            "payment",
            "mercadopago-access-token",
            f"APP_USR-{g.s(string.digits, 16)}-{g.s(string.digits, 6)}-{g.s(HEX, 32)}-{g.s(string.digits, 10)}",
        ),
        ("payment", "paypal-access-token", "A21AA" + g.s(URLSAFE, 92)),
        ("payment", "mercury-api-token", f"secret-token:mercury_production_wma_{g.s(AN, 43)}_{g.s(string.ascii_lowercase, 7)}"),
        ("saas", "persona-api-key", "persona_production_" + uuid(g)),
        ("saas", "stytch-secret", "secret-live-" + g.s(URLSAFE, 36)),
        ("saas", "onesignal-api-key", "os_v2_app_" + g.s(b32, 113)),
        ("saas", "liveblocks-secret-key", "sk_prod_" + g.s(URLSAFE, 64)),
        ("saas", "calcom-api-key", "cal_live_" + g.s(HEX, 32)),
        ("saas", "pinterest-token", "pina_" + g.s(AN, 64)),
        ("saas", "ebay-token", "v^1.1#i^1#p^3#r^0#I^3#f^0#t^H4sI" + g.s(B64, 200) + "=="),
        ("saas", "zoho-oauth-token", f"1000.{g.s(HEX, 32)}.{g.s(HEX, 32)}"),
        ("saas", "django-secret-key", "django-insecure-" + g.s(django, 50)),
        ("chat", "feishu-webhook", "https://open.feishu.cn/open-apis/bot/v2/hook/" + uuid(g)),
        ("chat", "wecom-webhook", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=" + uuid(g)),
    ]


def cloudflare_tunnel_token(g: Gen) -> str:
    tunnel = {"a": g.s(HEX, 32), "t": uuid(g), "s": g.s(B64, 43) + "="}
    return base64.b64encode(json.dumps(tunnel, separators=(",", ":")).encode()).decode().rstrip("=")


def neptune_token(g: Gen) -> str:
    token = {"api_address": "https://app.neptune.ai", "api_url": "https://app.neptune.ai", "api_key": uuid(g)}
    return base64.b64encode(json.dumps(token).encode()).decode()


def youtrack_token(g: Gen) -> str:
    user = base64.b64encode(g.s(string.ascii_lowercase, 6).encode()).decode()
    number = base64.b64encode(f"{g.rng.randint(10, 99)}-{g.rng.randint(0, 9)}".encode()).decode()
    return f"perm:{user}.{number}.{g.s(AN, 30)}"


def azure_identifiable_keys(g: Gen) -> list[tuple[str, str, str]]:
    """(category, label, key) of Azure keys that carry their service's signature at a fixed position."""

    def key32(signature: str) -> str:
        return g.s(B64, 33) + signature + g.rng.choice("ABCDEFGHIJKLMNOP") + g.s(B64, 5) + "="

    def key64(signature: str) -> str:
        return g.s(B64, 76) + signature + g.s(B64, 5) + g.rng.choice("AQgw") + "=="

    annotated = g.s(AN, 52) + "JQQJ9" + g.rng.choice("9DH") + g.s(AN, 1) + g.rng.choice("ABCDEFGHIJKL") + g.s(AN, 16)
    return [
        ("cloud", "azure-cache-redis-key", key32("AzCa")),
        ("cloud", "azure-service-bus-key", key32("+ASb")),
        ("cloud", "azure-event-hubs-key", key32("+AEh")),
        ("cloud", "azure-relay-key", key32("+ARm")),
        ("cloud", "azure-iot-key", key32("AIoT")),
        ("cloud", "azure-event-grid-key", key32("AZEG")),
        ("cloud", "azure-cosmosdb-key", key64("ACDb")),
        ("cloud", "azure-storage-identifiable-key", key64("+ASt")),
        ("cloud", "azure-batch-key", key64("+ABa")),
        ("cloud", "azure-ml-classic-key", key64("+AMC")),
        ("cloud", "azure-apim-key", key64("APIM")),
        ("cloud", "azure-functions-identifiable-key", g.s(URLSAFE, 44) + "AzFu" + g.s(URLSAFE, 5) + g.rng.choice("AQgw") + "=="),
        ("cloud", "azure-search-key", g.s(AN, 42) + "AzSe" + g.rng.choice("ABCD") + g.s(AN, 5)),
        ("cloud", "azure-container-registry-key", g.s(B64, 42) + "+ACR" + g.rng.choice("ABCD") + g.s(B64, 5)),
        ("ai", "azure-ai-services-key", annotated + g.rng.choice(string.ascii_letters) + g.s(AN, 7)),
    ]


def vendor_tokens(g: Gen) -> list[tuple[str, str, str, str]]:
    """(category, label, vendor, token): keys with no recognisable shape of their own, which a
    scanner can only tell by the vendor's name in the variable that holds them."""
    return [
        ("vendor", "heroku-api-key", "HEROKU", uuid(g)),
        ("vendor", "snyk-token", "SNYK", uuid(g)),
        ("vendor", "hubspot-api-key", "HUBSPOT", uuid(g)),
        ("vendor", "sendbird-token", "SENDBIRD", g.s(HEX, 40)),
        ("vendor", "squarespace-token", "SQUARESPACE", uuid(g)),
        ("vendor", "datadog-api-key", "DATADOG", g.s(HEX, 32)),
        ("vendor", "datadog-app-key", "DD_APP", g.s(HEX, 40)),
        ("vendor", "cloudflare-api-token", "CLOUDFLARE", g.s(URLSAFE, 40)),
        ("vendor", "cloudflare-global-key", "CLOUDFLARE_GLOBAL", g.s(HEX, 37)),
        ("vendor", "azure-devops-pat", "AZURE_DEVOPS", g.s("abcdefghijklmnopqrstuvwxyz234567", 52)),
        ("vendor", "ngrok-authtoken", "NGROK_AUTH", "2" + g.s(AN, 26) + "_" + g.s(AN, 21)),
        ("vendor", "deepseek-api-key", "DEEPSEEK", "sk-" + g.s(HEX, 32)),
        ("vendor", "mistral-api-key", "MISTRAL", g.s(AN, 32)),
        ("vendor", "cohere-api-key", "COHERE", g.s(AN, 40)),
        ("vendor", "okta-api-token", "OKTA", "00" + g.s(URLSAFE, 40)),
        ("vendor", "pagerduty-api-key", "PAGERDUTY", "u+" + g.s(URLSAFE, 18)),
        ("vendor", "launchdarkly-sdk-key", "LAUNCHDARKLY", "sdk-" + uuid(g)),
        ("vendor", "algolia-admin-key", "ALGOLIA_ADMIN", g.s(HEX, 32)),
        ("vendor", "vault-legacy-token", "VAULT", "s." + g.s(AN, 24)),
        ("vendor", "lob-api-key", "LOB", "live_" + g.s(HEX, 35)),
        ("vendor", "twilio-auth-token", "TWILIO_AUTH", g.s(HEX, 32)),
        ("vendor", "mailjet-secret", "MAILJET_SECRET", g.s(HEX, 32)),
        ("vendor", "postmark-server-token", "POSTMARK_SERVER", uuid(g)),
        ("vendor", "newrelic-license-key", "NEW_RELIC_LICENSE", g.s(HEX, 36) + "NRAL"),
        ("vendor", "ai21-key", "AI21", uuid(g)),
        ("vendor", "assemblyai-key", "ASSEMBLYAI", g.s(HEX, 32)),
        ("vendor", "deepgram-key", "DEEPGRAM", g.s(HEX, 40)),
        ("vendor", "agora-certificate", "AGORA_APP_CERTIFICATE", g.s(HEX, 32)),
        ("vendor", "airbrake-key", "AIRBRAKE", g.s(AN, 40)),
        ("vendor", "amplitude-secret", "AMPLITUDE_SECRET", g.s(HEX, 32)),
        ("vendor", "browserstack-key", "BROWSERSTACK_ACCESS", g.s(AN, 20)),
        ("vendor", "chartmogul-key", "CHARTMOGUL", g.s(LD, 32)),
        ("vendor", "clearbit-key", "CLEARBIT", g.s(LD, 35)),
        ("vendor", "codeclimate-reporter-id", "CC_TEST_REPORTER", g.s(HEX, 64)),
        ("vendor", "jenkins-token", "JENKINS", g.s(HEX, 34)),
        ("vendor", "auth0-client-secret", "AUTH0_CLIENT_SECRET", g.s(URLSAFE, 64)),
        ("vendor", "facebook-app-secret", "FACEBOOK_APP", g.s(HEX, 32)),
        ("vendor", "etherscan-api-key", "ETHERSCAN", g.s(UD, 34)),
        ("vendor", "shodan-api-key", "SHODAN", g.s(AN, 32)),
        ("vendor", "serpapi-key", "SERPAPI", g.s(HEX, 64)),
        ("vendor", "todoist-token", "TODOIST", g.s(HEX, 40)),
        ("vendor", "webflow-token", "WEBFLOW", g.s(HEX, 64)),
        ("vendor", "pexels-api-key", "PEXELS", g.s(AN, 56)),
        ("vendor", "binance-secret", "BINANCE_SECRET", g.s(AN, 64)),
        ("vendor", "coinmarketcap-key", "COINMARKETCAP", uuid(g)),
        ("vendor", "docusign-integration-key", "DOCUSIGN_INTEGRATION", uuid(g)),
        ("vendor", "recurly-api-key", "RECURLY", g.s(HEX, 32)),
        ("vendor", "chargebee-api-key", "CHARGEBEE", "live_" + g.s(AN, 34)),
        ("vendor", "mollie-api-key", "MOLLIE", "live_" + g.s(AN, 30)),
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
    ("go-typed", 'var apiToken string = "{v}"\n'),
    ("php-concat", '$token .= "{v}";\n'),
    ("java-property", 'System.setProperty("SERVICE_TOKEN", "{v}");\n'),
    ("make", "SERVICE_TOKEN ::= {v}\n"),
    ("xml-next-line", "<settings>\n  <token>\n    {v}\n  </token>\n</settings>\n"),
    ("json-config", '{{"files": {{".env": "SERVICE_TOKEN={v}\\nREGION=eu-west-1\\n"}}}}'),
    ("call-argument", 'os.Setenv("SERVICE_TOKEN", "{v}")\n'),
    ("csv", "serviceToken,{v},\n"),
    ("xml-element", "<serviceToken>{v}</serviceToken>\n"),
    ("yaml-literal", "service_token: |\n  {v}\n"),
    ("json-escaped", '"{{\\"service_token\\": \\"{v}\\"}}"\n'),
    ("make-evaluated", "SERVICE_TOKEN :::= {v}\n"),
    ("make-append", 'SERVICE_TOKEN += "{v}"\n'),
    ("label-next-line", "Your new API secret\n{v}\n"),
]

# Contexts for vendor-named keys: the vendor's name is in the variable ({n}); no bare value.
VENDOR_CONTEXTS = [
    ("python", '{n}_KEY = "{v}"\n'),
    ("dotenv", "{n}_TOKEN={v}\n"),
    ("yaml", "settings:\n  {n}_token: {v}\n"),
    ("json", '{{"{n}_API_KEY": "{v}"}}'),
    ("go-typed", 'var {n}_TOKEN string = "{v}"\n'),
    ("java-property", 'System.setProperty("{n}_API_KEY", "{v}");\n'),
    ("ini", "{n}Token={v}\n"),
    ("xml-element", "<{n}Token>\n    {v}\n</{n}Token>\n"),
    ("php-concat", '${n}Token .= "{v}";\n'),
    ("make", '{n}_TOKEN :::= "{v}"\n'),
    ("csv", "{n}Token,{v},\n"),
    ("yaml-literal", "{n}_token: |\n  {v}\n"),
    ("logstash", '  "{n}Token" => "{v}"\n'),
    ("json-escaped", '"{{\\"{n}_token\\": \\"{v}\\"}}"\n'),
    ("make-append", '{n}_TOKEN += "{v}"\n'),
]


ORIGINAL_CATEGORIES = {
    "aws-access-key-id": "cloud",
    "gcp-api-key": "cloud",
    "google-oauth-client-secret": "cloud",
    "azure-ad-client-secret": "cloud",
    "github-pat": "vcs",
    "github-oauth": "vcs",
    "github-app": "vcs",
    "github-fine-grained": "vcs",
    "gitlab-pat": "vcs",
    "npm": "registry",
    "pypi": "registry",
    "dockerhub": "registry",
    "artifactory": "registry",
    "slack-bot": "chat",
    "slack-user": "chat",
    "slack-webhook": "chat",
    "discord-bot": "chat",
    "discord-webhook": "chat",
    "telegram": "chat",
    "stripe-live": "payment",
    "stripe-restricted": "payment",
    "square": "payment",
    "square-oauth": "payment",
    "jwt": "keys",
}


def categorised_tokens(g: Gen) -> list[tuple[str, str, str]]:
    """(category, label, token) of every provider format with a shape of its own."""
    original = [(ORIGINAL_CATEGORIES.get(label, "saas"), label, token) for label, token in provider_tokens(g)]
    return original + more_provider_tokens(g)


def corpus(rng: random.Random):
    """Yield (label, text, secret): every provider token in every context, vendor-named keys in
    theirs, plus the structured cases. Labels are category/format/context."""
    g = Gen(rng)
    for category, label, token in categorised_tokens(g):
        for ctx, template in CONTEXTS:
            yield f"{category}/{label}/{ctx}", template.format(v=token), token
    for category, label, vendor, token in vendor_tokens(g):
        for ctx, template in VENDOR_CONTEXTS:
            yield f"{category}/{label}/{ctx}", template.format(n=vendor, v=token), token
    for label, text, secret in structured(g):
        category = (
            "passwords"
            if label.startswith(("password", "url-", "connection", "k8s", "aws-secret", "curl", "netrc", "psexec", "dotnet"))
            else "keys"
        )
        yield f"{category}/{label}", text, secret


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
    yield (
        "aws-secret/ini",
        f"[default]\naws_access_key_id = AKIA{g.s(string.ascii_uppercase + '234567', 16)}\naws_secret_access_key = {aws_secret}\n",
        aws_secret,
    )
    azure = g.s(B64, 86) + "=="
    yield (
        "azure-storage",
        f"DefaultEndpointsProtocol=https;AccountName=acct{g.s(string.digits, 4)};AccountKey={azure};EndpointSuffix=core.windows.net",
        azure,
    )
    sa_id = g.s(HEX, 40)
    yield "gcp-sa-key-id", json.dumps({"type": "service_account", "project_id": "p", "private_key_id": sa_id}), sa_id
    pw = g.password()
    for scheme in ("postgres", "mysql", "mongodb+srv", "redis", "amqp", "https"):
        yield f"url-credentials/{scheme}", f"DATABASE_URL={scheme}://svc_user:{pw}@db.internal.example:5432/app\n", pw
    yield "connection-string/ado", f"Server=tcp:db.example.net,1433;Database=app;User ID=svc;Password={pw};Encrypt=true;", pw
    for lang, template in [
        ("python", 'DB_PASSWORD = "{v}"\n'),
        ("js", "const dbPassword = '{v}';\n"),
        ("go", 'dbPassword := "{v}"\n'),
        ("dotenv", "DB_PASSWORD={v}\n"),
        ("yaml", "database:\n  password: {v}\n"),
        ("json", '{{"password": "{v}"}}'),
        ("terraform", 'resource "db" "main" {{\n  password = "{v}"\n}}\n'),
        ("shell", "export DB_PASSWORD='{v}'\n"),
        ("ruby", "config.secret_key = '{v}'\n"),
        ("properties", "spring.datasource.password={v}\n"),
        ("prose", "The staging DB password is {v} until Friday.\n"),
        ("dockerfile", "FROM postgres:16\nENV POSTGRES_DB=app POSTGRES_PASSWORD={v}\n"),
        ("docker-run", "docker run -d -e POSTGRES_PASSWORD={v} -p 5432:5432 postgres:16\n"),
        ("kubectl", "kubectl create secret generic db --from-literal=db-password={v}\n"),
        ("cli-flag", "migrate --db-password {v} --host db1.internal\n"),
        ("k8s-env", '      env:\n        - name: DB_PASSWORD\n          value: "{v}"\n'),
        ("ecs-env", '{{"environment": [{{"name": "DB_PASSWORD", "value": "{v}"}}]}}'),
        ("gradle", "credentials {{\n    username 'ci'\n    password '{v}'\n}}\n"),
        ("heredoc", "cat > .env <<'EOF'\nREGION=eu-west-1\nDB_PASSWORD={v}\nEOF\n"),
        ("toml-table", '[credentials.prod]\ntoken = """{v}"""\n'),
        ("nginx", 'location /api {{ proxy_set_header X-Api-Key "{v}"; }}\n'),
        ("tsv", "prod\tdb_password\t{v}\n"),
        ("php-arrow", "'db_password' => '{v}',\n"),
        ("php-setter", "$client->setPassword('{v}');\n"),
        ("yaml-tag", "database:\n  password: !!str {v}\n"),
        ("go-raw-string", "dbPassword := `{v}`\n"),
        ("pgpass", "db01.internal:5432:app:app:{v}\n"),
    ]:
        v = g.password()
        yield f"password-assignment/{lang}", template.format(v=v), v
    # the environment of one command: a shell word, where an unquoted & would end the command
    v = g.password().replace("&", "%")
    yield "password-assignment/env-prefix", f"PGPASSWORD={v} psql -h db01.internal -U app app\n", v
    b64 = base64.b64encode(g.password().encode()).decode()  # letters only about one time in sixty
    yield "k8s-secret", f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\ntype: Opaque\ndata:\n  password: {b64}\n", b64
    bearer = g.s(AN, 40)
    yield "curl-x-api-key", f"curl -H 'X-API-Key: {bearer}' https://api.example.net/\n", bearer
    key = uuid(g)
    yield "curl-vendor-header", f'curl -H "X-Acme-ApiKey: {key}" https://api.example.net/\n', key
    yield "curl-authorization-no-scheme", f"curl --header 'Authorization: {key}' https://api.example.net/\n", key
    pw = g.password()
    yield "curl-user", f"curl -X POST https://ci.example.net/job \\\n  --user 'builder:{pw}'\n", pw
    yield "netrc", f"machine git.example.net\n  login ci\n  password {pw}\n", pw
    yield "psexec-password", f"psexec \\\\build01 -u CORP\\svc -p {pw} cmd /c dir\n", pw
    for tool, template in CLI_PASSWORDS:
        v = g.password()
        yield f"password-cli/{tool}", template.format(v=v), v
    yield "dotnet-network-credential", f'client.Credentials = new NetworkCredential("svc@example.net", "{pw}");\n', pw
    azconfig = g.s(B64, 43) + "="
    yield "azure-app-config", f"Endpoint=https://cfg.azconfig.io;Id={g.s(AN, 4)}-l0-s0:{g.s(AN, 20)};Secret={azconfig}", azconfig
    iot = g.s(B64, 43) + "="
    yield "azure-iot-hub", f"HostName=hub.azure-devices.net;SharedAccessKeyName=owner;SharedAccessKey={iot}", iot
    yield from key_material(g)


# command lines that take a password; quoted, since generated passwords hold shell metacharacters
CLI_PASSWORDS = [
    ("mysql", "mysql -h db1.internal -u app -p'{v}' appdb\n"),
    ("sshpass", "sshpass -p '{v}' ssh deploy@web01\n"),
    ("redis-cli", "redis-cli -h cache01 -a '{v}' ping\n"),
    ("openssl", "openssl pkcs12 -export -in c.pem -passout 'pass:{v}' -out c.p12\n"),
    ("keytool", "keytool -importkeystore -srckeystore a.jks -srcstorepass '{v}' -destkeystore b.p12\n"),
    ("docker-login", "docker login \\\n  --username ci \\\n  -p '{v}' \\\n  registry.internal\n"),
    ("password-stdin", "echo '{v}' | docker login -u ci --password-stdin registry.internal\n"),
    ("sqlcmd", "sqlcmd -S db01 -U sa -P '{v}' -Q \"select 1\"\n"),
    ("smbclient", "smbclient //fs01/share -U 'alice%{v}' -c ls\n"),
    ("htpasswd", "htpasswd -bB /etc/nginx/.htpasswd admin '{v}'\n"),
    ("ldapsearch", "ldapsearch -x -D cn=admin,dc=corp -w '{v}' -b dc=corp\n"),
    ("vault-login", "vault login -method=userpass username=admin password='{v}'\n"),
    ("7z", "7z x -p'{v}' archive.7z\n"),
    ("psql-conninfo", 'psql "host=db01 dbname=app user=app password={v}"\n'),
    ("ssh-keygen", "ssh-keygen -t ed25519 -N '{v}' -f deploy_key\n"),
]

CRYPT = "./" + AN


def key_material(g: Gen):
    """Private keys in their other containers, password hashes, wrapped tokens."""
    key = g.pem("ENCRYPTED PRIVATE KEY")
    yield "pem/encrypted/plain", f"{key}\n", key
    rsa = g.pem("RSA PRIVATE KEY").replace(
        "-----\n", "-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,%s\n\n" % g.s(HEX, 32).upper(), 1
    )
    yield "pem/rsa-encrypted/plain", rsa, rsa
    putty = (
        f"PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: deploy\nPublic-Lines: 2\n{g.s(B64, 64)}\n{g.s(B64, 20)}\n"
        f"Private-Lines: 1\n{g.s(B64, 44)}\nPrivate-MAC: {g.s(HEX, 64)}"
    )
    yield "putty/plain", f"{putty}\n", putty
    d = g.s(URLSAFE, 43)
    yield "jwk/ec", json.dumps({"kty": "EC", "crv": "P-256", "x": g.s(URLSAFE, 43), "y": g.s(URLSAFE, 43), "d": d}), d
    yield "jwk/okp-d-first", json.dumps({"d": d, "crv": "Ed25519", "kty": "OKP", "x": g.s(URLSAFE, 43)}), d
    wrapped = base64.b64encode(g.jwt().encode()).decode()
    yield "jwt-base64/k8s", f"apiVersion: v1\nkind: Secret\ndata:\n  token: {wrapped}\n", wrapped
    bcrypt = f"$2b$12${g.s(CRYPT, 53)}"
    yield "password-hash/bcrypt-htpasswd", f"admin:{bcrypt}\n", bcrypt
    yield "password-hash/bcrypt-yaml", f"users:\n  - name: admin\n    password_hash: '{bcrypt}'\n", bcrypt
    sha512 = f"$6${g.s(CRYPT, 16)}${g.s(CRYPT, 86)}"
    yield "password-hash/sha512-crypt", f"root:{sha512}:19700:0:99999:7:::\n", sha512
    sha256 = f"$5$rounds=5000${g.s(CRYPT, 16)}${g.s(CRYPT, 43)}"
    yield "password-hash/sha256-crypt", f'hashed_password = "{sha256}"\n', sha256
    wireguard = g.s(B64, 43) + "="
    yield "wireguard/preshared", f"[Peer]\nPublicKey = {g.s(B64, 43)}=\nPresharedKey = {wireguard}\nAllowedIPs = 0.0.0.0/0\n", wireguard
    truenas = f"{g.rng.randint(1, 99)}-{g.s(AN, 64)}"
    yield "truenas/websocket", json.dumps({"msg": "method", "method": "auth.login_with_api_key", "params": [truenas]}), truenas
    query_secret = g.s(AN, 40)
    yield (
        "url-query/client-secret",
        f"POST https://auth.example.net/oauth2/token?grant_type=client_credentials&client_secret={query_secret}\n",
        query_secret,
    )
    yield "url-query/token", f'curl "https://iot.example.net/external/api/get?token={query_secret}&pin=V1"\n', query_secret
    yield "url-query/form-field", f"curl https://api.example.net/v1/devices -d access_token={query_secret}\n", query_secret
    infura = g.s(HEX, 32)
    yield "infura/url", f"RPC_URL=https://mainnet.infura.io/v3/{infura}\n", infura
    device = g.s(LD, 20)
    yield "thingsboard/url", f"POST https://thingsboard.cloud/api/v1/{device}/telemetry\n", device
    age = "AGE-SECRET-KEY-1" + g.s(BECH32.upper(), 58)
    yield "age/keyfile", f"# created: 2026-01-01T00:00:00Z\n# public key: age1{g.s(BECH32, 58)}\n{age}\n", age
