"""What loading rules computes, kept on disk: compiling the bundled rules' hyperscan prefilters
takes seconds (every proxy start, rule reload and ``llm-dlp scan``), loading them back takes
milliseconds. Beside the databases, other entries (``stored``/``store``) keep rule files that
passed the schema, the fact that a set of Python patterns compiles, and detect-secrets plugins'
patterns.

The cache is a directory of the running user's (``LLM_DLP_CACHE_DIR``, else
``$XDG_CACHE_HOME/llm-dlp``, else ``~/.cache/llm-dlp``; ``off`` turns it off). An entry is named
by a digest of everything it depends on (for a database: the expressions, their ids and flags,
the library's version and this machine's CPU features) and holds a digest of its own bytes: a
file cut short by a full disk or changed by hand is computed anew, never used. A directory that
other users could write to is not used. Whatever goes wrong with the cache, the result is
computed as if there were none."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
from functools import cache
from importlib import metadata
from pathlib import Path

import hyperscan

log = logging.getLogger(__name__)

CACHE_ENV = "LLM_DLP_CACHE_DIR"
# the most recently used entries are kept up to this size (the bundled rules' database is about
# 22 MB): a few versions of a rule set and its helpers, in a directory that may have a quota. At
# 32 MB a second version evicted the first, so going back to it compiled it again (7 CPU s)
KEEP_BYTES = 96 << 20
_SUFFIX = ".hsdb"
_TEMPORARY = ".tmp-"
# what an entry is named: a digest (sha256, in hex) and the kind's suffix. Pruning removes
# nothing else, whatever directory the cache is pointed at
_ENTRY = re.compile(r"[0-9a-f]{64}(?:\.[a-z]+)+")
_DIGEST = hashlib.sha256().digest_size


def database(expressions: list[bytes], ids: list[int], flags: list[int]) -> hyperscan.Database:
    """The block-mode database of these expressions; raises ``hyperscan.error`` as compiling does."""
    name = _key(expressions, ids, flags) + _SUFFIX
    if (payload := stored(name)) is not None and (db := _loaded(name, payload)) is not None:
        return db
    db = hyperscan.Database()
    db.compile(expressions=expressions, ids=ids, flags=flags)
    store(name, hyperscan.dumpb(db))
    return db


def cache_directory() -> Path | None:
    """The cache directory, created if need be; None when it is off or not safe to use."""
    configured = os.environ.get(CACHE_ENV, "")
    if configured.lower() == "off":
        return None
    if configured:
        directory = Path(configured)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        directory = Path(base) / "llm-dlp"
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        stat = directory.stat()
    except OSError as exc:
        log.debug("compiled-database cache %s unavailable: %s", directory, exc)
        return None
    if stat.st_uid != os.getuid() or stat.st_mode & 0o022:
        log.warning("compiled-database cache %s is not used: it is not this user's alone", directory)
        return None
    return directory


def _key(expressions: list[bytes], ids: list[int], flags: list[int]) -> str:
    h = hashlib.sha256(_platform())
    for expression, number, flag in zip(expressions, ids, flags, strict=True):
        h.update(b"%d\0%d\0%d\0" % (number, flag, len(expression)) + expression)
    return h.hexdigest()


@cache
def _platform() -> bytes:
    """The library's version and the CPU features it compiles for, as a database reports them."""
    probe = hyperscan.Database()
    probe.compile(expressions=[b"x"], ids=[0], flags=[0])
    return f"{probe.info()!r}\0{metadata.version('hyperscan')}".encode()


def stored(name: str) -> bytes | None:
    """The payload of the cache entry ``name``: None when there is no cache, no such entry, or
    one whose digest does not match its bytes (cut short, or changed by hand)."""
    directory = cache_directory()
    if directory is None:
        return None
    entry = directory / name
    try:
        data = entry.read_bytes()
    except OSError:
        return None
    digest, payload = data[:_DIGEST], data[_DIGEST:]
    if hashlib.sha256(payload).digest() != digest:
        log.warning("cache entry %s is damaged; computing it anew", name)
        return None
    try:
        os.utime(entry)  # most recently used, for pruning
    except OSError:
        pass
    return payload


def store(name: str, payload: bytes) -> None:
    """Write the cache entry ``name`` whole or not at all; a cache that cannot be written is skipped."""
    directory = cache_directory()
    if directory is not None:
        _write(directory / name, payload)


def _write(entry: Path, payload: bytes) -> None:
    temporary = None
    try:
        fd, temporary = tempfile.mkstemp(dir=entry.parent, prefix=_TEMPORARY)
        with os.fdopen(fd, "wb") as out:
            out.write(hashlib.sha256(payload).digest() + payload)
        os.replace(temporary, entry)
    except OSError as exc:  # a full disk or a read-only cache: the caller has its result, go on
        log.debug("cache: cannot write %s: %s", entry.name, exc)
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
        return
    _prune(entry.parent)


def _loaded(name: str, payload: bytes) -> hyperscan.Database | None:
    try:
        db = hyperscan.loadb(payload, hyperscan.HS_MODE_BLOCK)
        db.scratch = hyperscan.Scratch(db)  # a compiled database comes with one; a loaded one must too
    except (hyperscan.error, hyperscan.DatabaseVersionError) as exc:
        log.warning("compiled-database cache entry %s does not load (%s); compiling anew", name, exc)
        return None
    return db


def _prune(directory: Path) -> None:
    entries = []
    for path in directory.iterdir():
        if not _ENTRY.fullmatch(path.name):
            continue  # not an entry: a write in progress, or a file of someone else's
        try:
            stat = path.stat()
        except OSError:
            continue
        entries.append((stat.st_mtime_ns, stat.st_size, path))
    kept = 0
    for _, size, path in sorted(entries, reverse=True):
        kept += size
        if kept > KEEP_BYTES and kept > size:  # the newest is kept whatever its size
            path.unlink(missing_ok=True)
