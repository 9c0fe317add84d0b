"""Audit records: one JSON line per inspected request and per notable event, chained for
tamper evidence and rotated without losing or splitting a record.

Every record carries ``seq`` (its position in the file), ``prev`` (the previous record's
``mac``) and ``mac``: an HMAC-SHA256, under a key derived from the deployment key, over
``prev`` and the record's canonical JSON. A rotated file ends where the next one begins with a
``chain_start`` record whose ``prev`` is the last ``mac`` of the file before. ``verify`` finds
the first edited, deleted, reordered or truncated record; ``record.checkpoints`` witnesses the
chain's head outside the trail, so that records cut off its end are found too.

A record never holds a raw secret, password, API key or prompt text: findings carry a rule,
a location and a keyed hash of the value. docs/audit.md documents the schema."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import hmac
import json
import math
import os
import socket
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

SCHEMA = "llm-dlp.audit/1"
GENESIS = "0" * 64


def canonical(record: dict) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass")


def record_mac(key: bytes, record: dict) -> str:
    """The MAC of a record (``mac`` itself excluded); ``prev`` is part of the record."""
    body = {k: v for k, v in record.items() if k != "mac"}
    return hmac.new(key, canonical(body), hashlib.sha256).hexdigest()


class _RotatingFile:
    """The file records go to: one unbuffered write per record, so a record is on disk whole or not
    at all (a short write is cut back off), and nothing failed is written later out of order."""

    def __init__(self, path: str, max_bytes: int, max_seconds: float):
        self.path = path
        self.max_bytes = max_bytes
        self.max_seconds = max_seconds
        self._fd: int | None = None
        self.opened = time.time()

    def _ensure_open(self) -> int:
        if self._fd is None:
            if self.path == "-":
                self._fd = sys.stdout.fileno()
            else:
                os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
                self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                self.opened = time.time()
        return self._fd

    def due(self) -> bool:
        if self.path == "-":
            return False
        size = os.fstat(self._ensure_open()).st_size
        return size > 0 and bool(
            (self.max_bytes and size >= self.max_bytes) or (self.max_seconds and time.time() - self.opened >= self.max_seconds)
        )

    def rotate(self) -> str:
        """Close the current file under a timestamped name and start a new one; return that name."""
        self.close()
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        target, n = f"{self.path}.{stamp}", 1
        while os.path.exists(target):  # rotated names sort in rotation order
            target, n = f"{self.path}.{stamp}.{n:04d}", n + 1
        os.replace(self.path, target)
        return target

    def room(self) -> float:
        """Free bytes where the file is (unbounded for stdout, or when the file system won't say)."""
        if self.path == "-":
            return math.inf
        try:
            st = os.statvfs(os.path.dirname(os.path.abspath(self.path)))
        except OSError:
            return math.inf  # the write itself will tell
        return st.f_bavail * st.f_frsize

    def append(self, line: bytes) -> None:
        fd = self._ensure_open()
        size = os.fstat(fd).st_size if self.path != "-" else None
        try:
            if os.write(fd, line) != len(line):
                raise OSError(errno.ENOSPC, "short write to the audit log")
        except OSError:
            if size is not None:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, size)  # no half record in the trail
            self.close()  # reopened by the next write: the path may be back by then
            raise

    def close(self) -> None:
        if self._fd is not None and self.path != "-":
            os.close(self._fd)
        self._fd = None


def key_id(chain_key: bytes) -> str:
    """A public name for the chain key: the trail's first record carries it, so ``verify`` can
    tell a trail written under another key from an edited one."""
    return hmac.new(chain_key, b"llm-dlp audit key id", hashlib.sha256).hexdigest()[:16]


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def instance_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


REFUSE, ALLOW = "refuse", "allow"  # what the proxy does with AI requests while the sink fails
RESERVE_BYTES = 64 * 1024  # with less free space the trail counts as full: requests are refused while their refusals can still be written


class AuditLog:
    """The tamper-evident trail. A record's ``seq`` is taken before it is written: a record that
    cannot be written leaves a gap that ``verify`` reports, and the next record written links
    (``prev``) to the last one on disk, which shows the gap was a write failure, not a deletion."""

    def __init__(
        self,
        target: str,
        chain_key: bytes,
        max_bytes: int = 0,
        max_seconds: float = 0,
        on_failure: str = REFUSE,
        retry_seconds: float = 0.5,
        witness=None,
    ):
        """``target``: a file path (appended to, created 0600) or ``-`` for stdout. ``on_failure``:
        ``refuse`` (``admit()`` is false while the sink fails) or ``allow``. ``witness``: a
        ``checkpoints.Witness`` told of every record written."""
        if on_failure not in (REFUSE, ALLOW):
            raise ValueError(f"audit on_failure must be {REFUSE!r} or {ALLOW!r}, not {on_failure!r}")
        self.target = target
        self.instance = instance_name()
        self.key_id = key_id(chain_key)
        self.on_failure = on_failure
        self.retry_seconds = retry_seconds
        self.witness = witness
        self._key = chain_key
        self._out = _RotatingFile(target, max_bytes, max_seconds)
        self._out.due()  # opens the file: a trail that cannot be created stops the start-up
        self._lock = threading.Lock()
        self._seq, self._prev, self.trail_id = self._resume(target)
        self._lost = 0  # records not written since the sink last worked
        self._failed_at: float | None = None

    def _resume(self, target: str) -> tuple[int, str, str | None]:
        """Continue the chain of an existing file (a restart appends to it)."""
        if target == "-" or not os.path.exists(target):
            return 0, GENESIS, None
        first = last = b""
        with open(target, "rb") as f:  # line by line: the file can be large
            for line in f:
                if line.strip():
                    first, last = first or line, line
        if not last:
            return 0, GENESIS, None
        try:
            record = json.loads(last)
            return record["seq"] + 1, record["mac"], json.loads(first)["mac"]
        except (ValueError, KeyError, TypeError):  # a damaged tail: verify will say so; the chain goes on
            return 0, GENESIS, None

    @property
    def healthy(self) -> bool:
        """The last write succeeded and the file system has room for more records."""
        return self._failed_at is None and self._out.room() >= RESERVE_BYTES

    def admit(self) -> bool:
        """May a request to an AI endpoint go on? Always under ``allow``; under ``refuse`` only while
        records can be written. A failing sink is retried at most every ``retry_seconds``."""
        if self._failed_at is not None and time.monotonic() - self._failed_at >= self.retry_seconds:
            with self._lock, contextlib.suppress(OSError):
                self._guarded(lambda: None)
        return self.healthy or self.on_failure == ALLOW

    def write(self, event: str, **fields: Any) -> None:
        """Write one record; raise OSError (after counting its ``seq`` as lost) when it cannot be."""
        with self._lock:
            self._guarded(lambda: self._append(event, fields))

    def _guarded(self, write) -> None:
        """Rotate when due, say first how many records were lost if the sink was failing, then
        ``write``; any OSError marks the sink failed."""
        try:
            if self._out.due():
                previous = self._out.rotate()
                self._seq, self.trail_id = 0, None
                self._append("chain_start", {"previous_file": os.path.basename(previous)})
            if self._failed_at is not None:
                self._append("audit_resumed", {"lost_records": self._lost})
                self._failed_at, self._lost = None, 0
            write()
        except OSError:
            self._failed_at = time.monotonic()
            raise

    def _append(self, event: str, fields: dict) -> None:
        record = {"event": event, "schema": SCHEMA, "instance": self.instance, **fields, "ts": _now(), "seq": self._seq, "prev": self._prev}
        if record["seq"] == 0:
            record["key_id"] = self.key_id
        record["mac"] = record_mac(self._key, record)
        self._seq += 1  # taken whether or not the write succeeds: a lost record is a gap
        try:
            self._out.append(json.dumps(record, ensure_ascii=False).encode("utf-8", "surrogatepass") + b"\n")
        except OSError:
            self._lost += 1
            raise
        self._prev = record["mac"]
        self.trail_id = self.trail_id or record["mac"]
        if self.witness:
            self.witness.observe(self.trail_id, record["seq"], record["mac"])

    def close(self) -> None:
        with self._lock:
            self._out.close()


# ---- verification ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


def verify(paths: list[str], key: bytes) -> tuple[int, list[Problem]]:
    """Check the chain across ``paths`` (oldest first). Returns (records checked, problems);
    stops at the first sign of tampering in each file, since everything after it is suspect.
    Records the proxy could not write (a gap the next record links across) are reported and
    checking goes on."""
    problems: list[Problem] = []
    count = 0
    prev_file_last: str | None = None
    for path in paths:
        checked, last, found = _verify_file(path, key, prev_file_last)
        count += checked
        problems += found
        prev_file_last = last
    return count, problems


def _verify_file(path: str, key: bytes, prev_file_last: str | None) -> tuple[int, str | None, list[Problem]]:
    problems: list[Problem] = []
    lines = _lines(path, problems)
    expected_prev: str | None = None
    expected_seq, count = 0, 0
    for n, raw in enumerate(lines, 1):
        try:
            record = json.loads(raw)
            mac, seq, prev = record["mac"], record["seq"], record["prev"]
            if not isinstance(seq, int) or not isinstance(mac, str):
                raise TypeError
        except (ValueError, KeyError, TypeError, RecursionError):
            problems.append(Problem(path, n, "not a complete audit record (edited or truncated)"))
            break
        if n == 1 and (problem := _wrong_key(record, key)):
            problems.append(Problem(path, n, problem))
            break
        if record_mac(key, record) != mac:
            problems.append(Problem(path, n, f"record seq {seq} was edited (its MAC does not match)"))
            break
        if seq > expected_seq and expected_prev is not None and prev == expected_prev:
            # the proxy wrote this record after failing to write the ones before it
            problems.append(Problem(path, n, f"records seq {expected_seq}..{seq - 1} were never written (the proxy could not write them)"))
        elif seq != expected_seq:
            later = any(_seq_of(rest) == expected_seq for rest in lines[n:])
            what = "deleted" if seq > expected_seq and not later else "reordered or duplicated"
            problems.append(Problem(path, n, f"expected seq {expected_seq}, found {seq}: records were {what}"))
            break
        elif expected_prev is not None and prev != expected_prev:
            problems.append(Problem(path, n, f"record seq {seq} does not follow the one before it (reordered)"))
            break
        if n == 1 and record.get("event") == "chain_start" and prev_file_last is not None and prev != prev_file_last:
            problems.append(Problem(path, n, "this file does not continue the file before it (records missing at the end of that file)"))
            break
        expected_prev, expected_seq = mac, seq + 1
        count += 1
    return count, expected_prev, problems


def _lines(path: str, problems: list[Problem]) -> list[bytes]:
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    elif lines:
        problems.append(Problem(path, len(lines), "the last record is cut off (no newline): the file was truncated"))
        lines.pop()
    return lines


def _wrong_key(first: dict, key: bytes) -> str | None:
    written = first.get("key_id")
    if isinstance(written, str) and written != key_id(key) and record_mac(key, first) != first.get("mac"):
        return (
            f"wrong key: this trail was written with key id {written}, the key given has id {key_id(key)} (check --confdir or --key-file)"
        )
    return None


def _seq_of(raw: bytes) -> int | None:
    try:
        return json.loads(raw).get("seq")
    except (ValueError, AttributeError, RecursionError):
        return None


def read_records(paths: list[str]) -> list[dict]:
    """Every record of ``paths``, skipping damaged lines (for reports and lineage)."""
    out = []
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    continue
    return out
