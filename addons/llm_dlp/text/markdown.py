"""Markdown as models write it: fenced code blocks."""

from __future__ import annotations

import re

# ```lang (anything else on the line)\n code ```; a block left open runs to the end of the text
# (a long answer cut short, or a stream's text so far).
_FENCED_BLOCK = re.compile(r"```[ \t]*([\w+.#-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)


def code_blocks(text: str) -> list[tuple[str, str]]:
    """(language tag, "" when none; code) of every fenced block in ``text``."""
    return [(m.group(1), m.group(2)) for m in _FENCED_BLOCK.finditer(text)]
