"""Who is sending a request: proxy authentication (htpasswd, bcrypt), a client certificate
verified against a CA, or the source address. Pure Python; the addon supplies the inputs.

Passwords are never stored: a verified credential is cached by a SHA-256 of user and password
for a short time, so the slow bcrypt check runs once per credential, not per connection."""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import ipaddress
import threading
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import bcrypt

if TYPE_CHECKING:
    from cryptography import x509

CACHE_SECONDS = 300


@dataclass(frozen=True)
class Identity:
    user: str
    source: str  # proxy_auth, client_cert, source_address
    groups: tuple[str, ...] = ()


def parse_basic(header: str) -> tuple[str, str] | None:
    """(user, password) from a ``Basic`` Proxy-Authorization value, or None."""
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep and user else None


class Htpasswd:
    """An htpasswd file with bcrypt hashes ($2y$/$2b$/$2a$); other hash kinds are refused."""

    def __init__(self, path: Path):
        self.path = path
        self._hashes: dict[str, bytes] = {}
        for n, line in enumerate(path.read_text().splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            user, sep, hashed = line.partition(":")
            if not sep or not hashed.startswith(("$2y$", "$2b$", "$2a$")):
                raise ValueError(f"{path}:{n}: not a 'user:bcrypt-hash' line")
            self._hashes[user] = hashed.replace("$2y$", "$2b$", 1).encode()
        self._cache: dict[bytes, float] = {}
        self._lock = threading.Lock()
        _dummy_hash()  # made now, so the first unknown user's check is no slower than the next

    def verify(self, user: str, password: str) -> bool:
        """Slow (bcrypt) on a cache miss: call it off the event loop."""
        key = hashlib.sha256(f"{user}\0{password}".encode("utf-8", "surrogatepass")).digest()
        now = time.monotonic()
        with self._lock:
            if self._cache.get(key, 0) > now:
                return True
        hashed = self._hashes.get(user)
        # an unknown user costs the same bcrypt check, so timing does not tell who exists
        ok = bcrypt.checkpw(password.encode(), hashed or _dummy_hash()) and hashed is not None
        if ok:
            with self._lock:
                self._cache[key] = now + CACHE_SECONDS
        return ok


@cache
def _dummy_hash() -> bytes:
    """A hash to check an unknown user's password against. Made with the first htpasswd file,
    not at import: a bcrypt hash costs 0.1 CPU s, and most commands check no password."""
    return bcrypt.hashpw(b"llm-dlp timing equaliser", bcrypt.gensalt(rounds=10))


class ClientCertVerifier:
    """Accepts a client certificate only if it chains, through the intermediates the client sent,
    to one of the configured CAs, and every certificate on the path is valid now (RFC 5280 path
    validation by ``cryptography.x509.verification``). The leaf needs no SAN: the user may be its CN."""

    def __init__(self, ca_file: Path, user_from: str):
        # cryptography's x509 (0.05 CPU s) is imported where certificates are, not for every command
        from cryptography import x509
        from cryptography.x509.verification import Store

        self.cas = x509.load_pem_x509_certificates(ca_file.read_bytes())
        self.user_from = user_from
        self._store = Store(self.cas)

    def user(self, chain: list[x509.Certificate]) -> str | None:
        from cryptography.x509.verification import ExtensionPolicy, PolicyBuilder, VerificationError

        if not chain:
            return None
        verifier = (
            PolicyBuilder()
            .store(self._store)
            .time(datetime.datetime.now(datetime.UTC))
            .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=ExtensionPolicy.permit_all())
            .build_client_verifier()
        )
        try:
            verifier.verify(chain[0], chain[1:])
        except VerificationError:
            return None
        return _user_of(chain[0], self.user_from)


def _user_of(cert: x509.Certificate, user_from: str) -> str | None:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    if user_from == "cn":
        names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return str(names[0].value) if names else None
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    kind = x509.RFC822Name if user_from == "san_email" else x509.DNSName
    values = san.get_values_for_type(kind)
    return values[0] if values else None


class SourceMap:
    """Source addresses (IPs or CIDRs) to users; the most specific network wins."""

    def __init__(self, mapping: dict[str, str]):
        self.networks = sorted(
            ((ipaddress.ip_network(net, strict=False), user) for net, user in mapping.items()),
            key=lambda nu: -nu[0].prefixlen,
        )

    def user(self, address: str) -> str | None:
        try:
            ip = ipaddress.ip_address(address.split("%")[0])
        except ValueError:
            return None
        if ip.version == 6 and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        return next((user for net, user in self.networks if ip.version == net.version and ip in net), None)
