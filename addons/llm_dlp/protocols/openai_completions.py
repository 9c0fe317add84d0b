"""OpenAI legacy Completions, and Copilot's fill-in-the-middle requests (prompt + suffix)."""

from __future__ import annotations

import re
from typing import Any

from llm_dlp.protocols.api import Protocol
from llm_dlp.protocols.base import Annotations, Delta, as_list

# Copilot completions start the prompt with a comment naming the file: "# Path: src/app.py"
_PATH_MARKER = re.compile(r"^\W{0,4}\s*Path:\s*(\S[^\n]*?)\s*$", re.MULTILINE)


class OpenAICompletions(Protocol):
    name = "openai-completions"
    family = "openai"
    paths = re.compile(r"(?<!/chat)/completions$")
    key_headers = ("authorization", "api-key")
    answers_are_code = True
    description = "OpenAI legacy Completions and Copilot FIM: prompt and suffix are the file around the cursor."

    def annotate(self, doc: dict[str, Any], path: str) -> Annotations:
        notes = Annotations()
        for key in ("prompt", "suffix"):
            if key in doc:
                notes.mark((key,), "file", _path_marker(doc.get("prompt")))
        return notes

    def deltas(self, event: Any) -> list[Delta]:
        choices = as_list(event.get("choices")) if isinstance(event, dict) else []
        return [
            Delta(("choice", c.get("index", i)), ("choices", i, "text"), False)
            for i, c in enumerate(choices)
            if isinstance(c, dict) and isinstance(c.get("text"), str)
        ]


def _path_marker(prompt: Any) -> str | None:
    text = prompt if isinstance(prompt, str) else prompt[0] if isinstance(prompt, list) and prompt and isinstance(prompt[0], str) else ""
    m = _PATH_MARKER.search(text[:2000])
    return m.group(1) if m else None
