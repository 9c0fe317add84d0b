"""A finding as the outside world may see it — audit records, metrics, ``llm-dlp scan``: which
rule, where, and a keyed hash of the value; never the value itself. Request and response
findings are the same type; each fills the fields that apply to it."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class FindingReport:
    rule: str
    kind: str
    severity: str
    action: str
    value_hash: str
    field: str | None = None  # request: the JSON pointer of the text it was found in
    role: str | None = None
    path: str | None = None  # the file the text came from; for protected code, the file in the repository
    line: int | None = None
    start: int | None = None
    end: int | None = None
    repository: str | None = None  # protected code: the indexed repository
    document: str | None = None  # request: the document (file name or title, else its field) the text was read from
    partly_sent: bool | None = None  # response: it began in text that had already gone to the client

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}
