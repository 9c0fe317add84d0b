"""Optional incident-review store (off by default): the redacted prompt and response text of
each request, in daily files of their own with their own retention, apart from the audit trail.

Every finding is replaced by its placeholder here, whatever its action (a warned value was
forwarded, but it is still not kept), and responses are stored before placeholders are restored."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path


class IncidentLog:
    def __init__(self, directory: str, retention_days: float):
        self.directory = Path(directory)
        self.retention = retention_days * 86400
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._lock = threading.Lock()
        self._day = ""

    def write(self, record: dict) -> None:
        day = time.strftime("%Y-%m-%d", time.gmtime())
        with self._lock:
            if day != self._day:
                self._day = day
                self._prune()
            path = self.directory / f"incidents-{day}.jsonl"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as f:
                f.write(json.dumps(record, ensure_ascii=False) + "\n")

    def _prune(self) -> None:
        cutoff = time.time() - self.retention
        for old in self.directory.glob("incidents-*.jsonl"):
            if old.stat().st_mtime < cutoff:
                old.unlink(missing_ok=True)
