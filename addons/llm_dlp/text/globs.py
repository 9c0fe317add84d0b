"""The one glob dialect of the rule files: ``*`` and ``?`` within a path segment, ``**`` across
segments. File paths match at a directory boundary (a pattern starting with ``/`` is absolute);
names (endpoint ids, tools, models, packages) match whole, case-insensitively, and ``*`` crosses
``/`` in them, since model and package names use it as an ordinary character."""

from __future__ import annotations

import re
from functools import lru_cache


def glob_regex(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    """``**`` crosses directories, ``*`` and ``?`` do not. A pattern starting with ``/`` is
    absolute; any other matches the end of a path at a directory boundary (repo-relative)."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    body = "".join(out)
    anchor = "^" if pattern.startswith("/") else r"(?:^|/)"
    return re.compile(anchor + body + "$", 0 if case_sensitive else re.IGNORECASE)


@lru_cache(maxsize=4096)
def _name_regex(pattern: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern.replace("**", "*")), re.IGNORECASE)


def name_matches(value: str | None, patterns: tuple[str, ...]) -> bool:
    """Whether a name matches any of the glob ``patterns``, whole and ignoring case."""
    return any(_name_regex(p).fullmatch(value or "") for p in patterns)
