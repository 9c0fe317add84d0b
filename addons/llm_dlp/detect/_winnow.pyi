"""Types of the compiled fingerprinter (_winnow.c)."""

from typing import Any

def __getattr__(name: str) -> Any: ...
