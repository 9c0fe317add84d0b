"""Keyed, stateless placeholders: the same value under the same rule always gets the same
placeholder on every proxy instance that shares the key, so no store is needed to restore it."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

PLACEHOLDER_RE = re.compile(r"\[REDACTED:([a-z0-9][a-z0-9._-]{0,63}):([0-9a-f]{10})\]")
KEY_ENV = "LLM_DLP_PLACEHOLDER_KEY"


class Keyring:
    """Derives placeholders and audit fingerprints from one deployment secret."""

    def __init__(self, key: bytes):
        if len(key) < 16:
            raise ValueError("the placeholder key must be at least 16 bytes")
        self._placeholder_key = hmac.new(key, b"llm-dlp placeholder v1", hashlib.sha256).digest()
        self._audit_key = hmac.new(key, b"llm-dlp audit v1", hashlib.sha256).digest()
        self.chain_key = hmac.new(key, b"llm-dlp audit chain v1", hashlib.sha256).digest()  # audit record MACs
        self.lineage_key = hmac.new(key, b"llm-dlp lineage v1", hashlib.sha256).digest()  # generated-code fingerprints

    def placeholder(self, rule_id: str, value: str) -> str:
        mac = hmac.new(self._placeholder_key, f"{rule_id}\0{value}".encode("utf-8", "surrogatepass"), hashlib.sha256)
        return f"[REDACTED:{rule_id}:{mac.hexdigest()[:10]}]"

    def fingerprint(self, value: str) -> str:
        """A keyed hash for audit records: equal values correlate, the value cannot be recovered."""
        return hmac.new(self._audit_key, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:16]


def load_key(key_file: str | None, confdir: str) -> bytes:
    """The key from $LLM_DLP_PLACEHOLDER_KEY, else ``key_file``, else a key generated once in confdir."""
    if env := os.environ.get(KEY_ENV):
        return env.encode()
    path = Path(os.path.expanduser(key_file or os.path.join(confdir, "llm-dlp-placeholder.key")))
    if not path.exists():
        if key_file:
            raise FileNotFoundError(f"placeholder key file {path} does not exist")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
    return path.read_bytes().strip()
