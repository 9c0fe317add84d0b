"""Positions in text: where a string occurs, and where each of several texts starts once they are
joined. Works on ``str`` and ``bytes`` alike."""

from __future__ import annotations

from collections.abc import Iterator, Sequence


def occurrences[T: (str, bytes)](haystack: T, needle: T, start: int = 0, end: int | None = None) -> Iterator[int]:
    """The start of every occurrence of ``needle`` (within ``haystack[start:end]``), overlapping
    ones too, in order. ``find`` jumps from one to the next at memory speed, where a regular
    expression would try every position."""
    end = len(haystack) if end is None else end
    pos = haystack.find(needle, start, end)
    while pos >= 0:
        yield pos
        pos = haystack.find(needle, pos + 1, end)


def joined_starts(lengths: Sequence[int], gap: int) -> list[int]:
    """Where each of texts of these ``lengths`` starts once they are joined with a separator of
    ``gap`` characters."""
    starts, pos = [], 0
    for length in lengths:
        starts.append(pos)
        pos += length + gap
    return starts
