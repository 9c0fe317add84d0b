"""Types of the compiled fingerprinter (_winnow.c)."""

from collections.abc import Buffer, Sequence

def tokens(
    text: str, keywords: tuple[str, ...], reserved: tuple[str, ...], cap: int, syntax: int, own: int = 0, /
) -> tuple[bytes, bytes]: ...
def fingerprints(
    text: str,
    keywords: tuple[str, ...],
    reserved: tuple[str, ...],
    k: int,
    k_spelled: int,
    w: int,
    cap: int,
    seed: int,
    syntax: int,
    k_prose: int = 0,
    fence_lines: Sequence[int] | None = None,
    own: int = 0,
    /,
) -> tuple[bytes, bytes, bytes, bytes, bytes]: ...
def fence_lines(text: str, /) -> list[int]: ...
def numbered_prefixes(text: str, run: int, /) -> list[int]: ...
def bucket_starts(hashes: Buffer, bits: int, starts: Buffer, filter: Buffer, /) -> None: ...
def lookup(hashes: Buffer, files: Buffer, starts: Buffer, filter: Buffer, bits: int, queries: Buffer, /) -> tuple[bytes, bytes]: ...
