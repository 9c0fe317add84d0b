"""Witnessed audit chain: signed checkpoints of the chain's head, published outside the trail.

A hash chain proves that nothing was changed or removed *before* its last record, never that
its last record is the real end. A checkpoint (after Certificate Transparency's signed tree
heads and RFC 5848's signature blocks) states "trail T had reached ``seq`` with head ``head``",
signed, and goes to places that whoever can write the trail cannot rewrite: a file on another
volume, syslog, and Prometheus (which scrapes the head as gauges). ``verify_checkpoints`` then
finds records cut off after the last witnessed head.

Checkpoints are signed with Ed25519 under a key derived from the deployment key: the public key
(``public_key_hex``) checks them, and cannot make them."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from llm_dlp.record.audit import Problem, canonical, instance_name, key_id

SCHEMA = "llm-dlp.checkpoint/1"
HEAD_GAUGE_BITS = 52  # a float64 gauge holds this many bits of the head exactly


def signing_key(chain_key: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hmac.new(chain_key, b"llm-dlp audit checkpoint v1", hashlib.sha256).digest())


def public_key_hex(chain_key: bytes) -> str:
    return signing_key(chain_key).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def head_number(mac: str) -> int:
    """The head as a Prometheus gauge value: its first 52 bits, exact in a float64."""
    return int(mac, 16) >> (256 - HEAD_GAUGE_BITS)


class Witness:
    """Told of every record the trail writes (``observe``); signs a checkpoint every
    ``every_records`` records or ``every_seconds`` seconds (``tick``) and at stop (``checkpoint``),
    and hands it to every sink. A sink that fails does not stop the others or the trail."""

    def __init__(
        self, chain_key: bytes, every_records: int = 1000, every_seconds: float = 60, sinks: Sequence[Callable[[dict], None]] = ()
    ):
        self._key = signing_key(chain_key)
        self.key_id = key_id(chain_key)
        self.instance = instance_name()
        self.every_records = every_records
        self.every_seconds = every_seconds
        self.sinks = list(sinks)
        self.failures = 0
        self._lock = threading.Lock()
        self._head: tuple[str, int, str] | None = None  # trail id, seq, mac
        self._since, self._last = 0, time.monotonic()

    def observe(self, trail_id: str, seq: int, mac: str) -> None:
        with self._lock:
            self._head, self._since = (trail_id, seq, mac), self._since + 1
        if self.every_records and self._since >= self.every_records:
            self.checkpoint()

    def tick(self) -> None:
        """Called periodically: a checkpoint when ``every_seconds`` have passed since the last."""
        if self.every_seconds and time.monotonic() - self._last >= self.every_seconds:
            self.checkpoint()

    def checkpoint(self) -> dict | None:
        """Sign the current head and publish it (nothing when no record was written yet)."""
        with self._lock:
            if self._head is None:
                return None
            trail, seq, head = self._head
            self._since, self._last = 0, time.monotonic()
        body = {
            "schema": SCHEMA,
            "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "instance": self.instance,
            "key_id": self.key_id,
            "trail": trail,
            "seq": seq,
            "head": head,
        }
        body["sig"] = self._key.sign(canonical(body)).hex()
        for sink in self.sinks:
            try:
                sink(body)
            except Exception:  # one witness down must not silence the others
                self.failures += 1
        return body


def file_sink(path: str) -> Callable[[dict], None]:
    """Append checkpoints as JSON lines to ``path`` (put it on another volume than the trail)."""

    def write(checkpoint: dict) -> None:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, json.dumps(checkpoint).encode() + b"\n")
        finally:
            os.close(fd)

    return write


def syslog_sink(checkpoint: dict) -> None:
    import syslog

    syslog.openlog("llm-dlp-audit", 0, syslog.LOG_AUTH)
    syslog.syslog(syslog.LOG_NOTICE, json.dumps(checkpoint))


# ---- verification ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Checkpoint:
    line: int
    trail: str
    seq: int
    head: str
    ts: str


def read_checkpoints(path: str, chain_key: bytes) -> tuple[list[Checkpoint], list[Problem]]:
    """The checkpoints of ``path`` whose signature verifies under the deployment key."""
    public: Ed25519PublicKey = signing_key(chain_key).public_key()
    good: list[Checkpoint] = []
    problems: list[Problem] = []
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            try:
                doc = json.loads(raw)
                body = {k: v for k, v in doc.items() if k != "sig"}
                public.verify(bytes.fromhex(doc["sig"]), canonical(body))
                good.append(Checkpoint(n, doc["trail"], int(doc["seq"]), str(doc["head"]), str(doc.get("ts"))))
            except (InvalidSignature, ValueError, KeyError, TypeError, AttributeError, RecursionError):
                problems.append(Problem(path, n, "not a checkpoint signed with this deployment's key"))
    return good, problems


def verify_checkpoints(paths: list[str], checkpoint_file: str, chain_key: bytes) -> list[Problem]:
    """Compare the trail files with the last checkpoint of each: records missing after a
    witnessed head, or a witnessed record replaced. The newest checkpoint must name one of the
    files given (the live file), else the trail it witnessed is gone."""
    checkpoints, problems = read_checkpoints(checkpoint_file, chain_key)
    trails = {t.trail_id: t for t in map(_trail, paths) if t.trail_id}
    last: dict[str, Checkpoint] = {}
    for cp in checkpoints:
        if cp.trail not in last or cp.seq >= last[cp.trail].seq:
            last[cp.trail] = cp
    for cp in last.values():
        if (trail := trails.get(cp.trail)) is not None:
            problems += trail.against(cp)
    if checkpoints and checkpoints[-1].trail not in trails:
        cp = checkpoints[-1]
        problems.append(
            Problem(
                checkpoint_file,
                cp.line,
                f"the last checkpoint ({cp.ts}) witnesses a trail file with {cp.seq + 1} records "
                "that is not among the files given: it was deleted or replaced",
            )
        )
    return problems


def verify_head(path: str, witnessed: str) -> list[Problem]:
    """``witnessed`` is ``SEQ:HEAD``, HEAD the 64-digit head or its gauge number (as Prometheus
    holds it): ``path`` must hold record SEQ with that head."""
    seq_text, _, head = witnessed.partition(":")
    try:
        seq = int(float(seq_text))
        number = int(float(head)) if len(head) != 64 else None
    except ValueError:
        raise ValueError(f"--head expects SEQ:HEAD, got {witnessed!r}") from None
    trail = _trail(path)
    mac = trail.macs.get(seq)
    if mac is not None and number is not None and head_number(mac) == number:
        return []
    return trail.against(Checkpoint(0, "", seq, head, "given with --head"))


@dataclass
class _Trail:
    path: str
    trail_id: str | None
    macs: dict[int, str]
    lines: int

    def against(self, cp: Checkpoint) -> list[Problem]:
        last = max(self.macs, default=-1)
        if last < cp.seq:
            return [
                Problem(
                    self.path,
                    self.lines,
                    f"records seq {last + 1}..{cp.seq} are missing after the last witnessed head "
                    f"(witnessed: {cp.ts}): the end of the trail was cut off",
                )
            ]
        if self.macs.get(cp.seq) != cp.head:
            return [Problem(self.path, self.lines, f"record seq {cp.seq} is not the one witnessed ({cp.ts}): it was replaced")]
        return []


def _trail(path: str) -> _Trail:
    macs: dict[int, str] = {}
    first = None
    n = 0
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            with contextlib.suppress(ValueError, KeyError, TypeError, AttributeError, RecursionError):
                record = json.loads(raw)
                macs[int(record["seq"])] = str(record["mac"])
                first = first or str(record["mac"])
    return _Trail(path, first, macs, n)
