"""Audit records: one JSON line per inspected request and per notable event (structlog).

A record never holds a raw secret, password, API key or prompt text: findings carry a rule,
a location and a keyed hash of the value. docs/audit.md documents the schema."""

from __future__ import annotations

import os
import socket
import sys
from typing import IO, Any

import structlog

SCHEMA = "llm-dlp.audit/1"


class AuditLog:
    def __init__(self, target: str):
        """``target``: a file path (appended to, created 0600) or ``-`` for stdout."""
        self.target = target
        self._file: IO[str] = sys.stdout if target == "-" else _open_append(target)
        self.instance = f"{socket.gethostname()}:{os.getpid()}"
        self._log = structlog.wrap_logger(
            structlog.WriteLogger(self._file),
            processors=[
                structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"),
                structlog.processors.JSONRenderer(sort_keys=False),
            ],
            context_class=dict,
        )

    def write(self, event: str, **fields: Any) -> None:
        self._log.msg(event, schema=SCHEMA, instance=self.instance, **fields)

    def close(self) -> None:
        if self._file is not sys.stdout:
            self._file.close()


def _open_append(path: str) -> IO[str]:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    return os.fdopen(fd, "a", encoding="utf-8", buffering=1)
