"""Audit records: one JSON line per inspected request and per notable event (structlog),
chained for tamper evidence and rotated without losing or splitting a record.

Every record carries ``seq`` (its position in the file), ``prev`` (the previous record's
``mac``) and ``mac``: an HMAC-SHA256, under a key derived from the deployment key, over
``prev`` and the record's canonical JSON. A rotated file ends where the next one begins with a
``chain_start`` record whose ``prev`` is the last ``mac`` of the file before. ``verify`` finds
the first edited, deleted, reordered or truncated record.

A record never holds a raw secret, password, API key or prompt text: findings carry a rule,
a location and a keyed hash of the value. docs/audit.md documents the schema."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import sys
import threading
import time
from dataclasses import dataclass
from typing import IO, Any

import structlog

SCHEMA = "llm-dlp.audit/1"
GENESIS = "0" * 64


def _canonical(record: dict) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass")


def record_mac(key: bytes, record: dict) -> str:
    """The MAC of a record (``mac`` itself excluded); ``prev`` is part of the record."""
    body = {k: v for k, v in record.items() if k != "mac"}
    return hmac.new(key, _canonical(body), hashlib.sha256).hexdigest()


class _RotatingFile:
    """The file structlog writes to: one line per record, flushed; rotation between records."""

    def __init__(self, path: str, max_bytes: int, max_seconds: float):
        self.path = path
        self.max_bytes = max_bytes
        self.max_seconds = max_seconds
        self._file: IO[str] = self._open()
        self.opened = time.time()

    def _open(self) -> IO[str]:
        if self.path == "-":
            return sys.stdout
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        return os.fdopen(fd, "a", encoding="utf-8")

    def due(self) -> bool:
        if self.path == "-":
            return False
        size = self._file.tell()
        return size > 0 and ((self.max_bytes and size >= self.max_bytes) or (self.max_seconds and time.time() - self.opened >= self.max_seconds))

    def rotate(self) -> str:
        """Close the current file under a timestamped name and start a new one; return that name."""
        self._file.close()
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        target, n = f"{self.path}.{stamp}", 1
        while os.path.exists(target):  # rotated names sort in rotation order
            target, n = f"{self.path}.{stamp}.{n:04d}", n + 1
        os.replace(self.path, target)
        self._file = self._open()
        self.opened = time.time()
        return target

    def msg(self, message: str) -> None:
        self._file.write(message + "\n")
        self._file.flush()

    def close(self) -> None:
        if self._file is not sys.stdout:
            self._file.close()


class AuditLog:
    def __init__(self, target: str, chain_key: bytes, max_bytes: int = 0, max_seconds: float = 0):
        """``target``: a file path (appended to, created 0600) or ``-`` for stdout."""
        self.target = target
        self.instance = f"{socket.gethostname()}:{os.getpid()}"
        self._key = chain_key
        self._out = _RotatingFile(target, max_bytes, max_seconds)
        self._lock = threading.Lock()
        self._seq, self._prev = self._resume(target)
        self._log = structlog.wrap_logger(
            self._out,
            processors=[structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"), self._chain, structlog.processors.JSONRenderer()],
            context_class=dict,
            wrapper_class=structlog.BoundLogger,  # .msg() goes to _RotatingFile.msg
        )

    def _resume(self, target: str) -> tuple[int, str]:
        """Continue the chain of an existing file (a restart appends to it)."""
        if target == "-" or not os.path.exists(target):
            return 0, GENESIS
        last = None
        with open(target, "rb") as f:
            for line in f:
                if line.strip():
                    last = line
        try:
            record = json.loads(last) if last else None
            return (record["seq"] + 1, record["mac"]) if record else (0, GENESIS)
        except (ValueError, KeyError):  # a damaged tail: verify will say so; the chain goes on
            return 0, GENESIS

    def _chain(self, _logger, _method, event_dict: dict) -> dict:
        event_dict["seq"], event_dict["prev"] = self._seq, self._prev
        event_dict["mac"] = record_mac(self._key, event_dict)
        self._seq, self._prev = self._seq + 1, event_dict["mac"]
        return event_dict

    def write(self, event: str, **fields: Any) -> None:
        with self._lock:
            if self._out.due():
                previous = self._out.rotate()
                self._seq = 0
                self._log.msg("chain_start", schema=SCHEMA, instance=self.instance, previous_file=os.path.basename(previous))
            self._log.msg(event, schema=SCHEMA, instance=self.instance, **fields)

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
    stops at the first problem of each file, since everything after it is suspect."""
    problems: list[Problem] = []
    count = 0
    prev_file_last: str | None = None
    for path in paths:
        expected_prev: str | None = None
        expected_seq = 0
        with open(path, "rb") as f:
            data = f.read()
        lines = data.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        elif lines:
            problems.append(Problem(path, len(lines), "the last record is cut off (no newline): the file was truncated"))
            lines.pop()
        for n, raw in enumerate(lines, 1):
            try:
                record = json.loads(raw)
                mac, seq, prev = record["mac"], record["seq"], record["prev"]
            except (ValueError, KeyError, TypeError):
                problems.append(Problem(path, n, "not a complete audit record (edited or truncated)"))
                break
            if record_mac(key, record) != mac:
                problems.append(Problem(path, n, f"record seq {seq} was edited (its MAC does not match)"))
                break
            if seq != expected_seq:
                later = any(_seq_of(rest) == expected_seq for rest in lines[n:])
                what = "deleted" if seq > expected_seq and not later else "reordered or duplicated"
                problems.append(Problem(path, n, f"expected seq {expected_seq}, found {seq}: records were {what}"))
                break
            if expected_prev is not None and prev != expected_prev:
                problems.append(Problem(path, n, f"record seq {seq} does not follow the one before it (reordered)"))
                break
            if n == 1 and record.get("event") == "chain_start" and prev_file_last is not None and prev != prev_file_last:
                problems.append(Problem(path, n, "this file does not continue the file before it (records missing at the end of that file)"))
                break
            expected_prev, expected_seq = mac, seq + 1
            count += 1
        prev_file_last = expected_prev
    return count, problems


def _seq_of(raw: bytes) -> int | None:
    try:
        return json.loads(raw).get("seq")
    except (ValueError, AttributeError):
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
