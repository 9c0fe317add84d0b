"""The on-disk cache of compiled hyperscan databases: a hit scans like a fresh compile, and no
damaged, foreign or unwritable cache changes what is compiled."""

from __future__ import annotations

import errno
import os

import hyperscan
import pytest

from llm_dlp.detect import compiled

EXPRESSIONS = [rb"tok_[a-z0-9]{8}", rb"(?i)secret\s*=\s*\w+"]
IDS = [0, 1]
FLAGS = [hyperscan.HS_FLAG_PREFILTER, hyperscan.HS_FLAG_MULTILINE]
TEXT = b"a tok_abcd1234 and Secret = x1 and tok_short"


@pytest.fixture
def stores(monkeypatch):
    """The entries written: one per compile, none for a cache hit."""
    written: list[str] = []
    write = compiled._write

    def spy(entry, payload):
        written.append(entry.name)
        write(entry, payload)

    monkeypatch.setattr(compiled, "_write", spy)
    return written


def matches(db: hyperscan.Database) -> list[tuple[int, int]]:
    found: list[tuple[int, int]] = []
    db.scan(TEXT, match_event_handler=lambda i, _s, end, _f, _c: found.append((i, end)))
    return sorted(found)


def test_the_second_compile_of_the_same_expressions_is_read_back_and_scans_alike(cache_dir, stores):
    first = compiled.database(EXPRESSIONS, IDS, FLAGS)
    second = compiled.database(EXPRESSIONS, IDS, FLAGS)
    assert len(stores) == 1
    assert matches(second) == matches(first) != []
    assert [p.name for p in cache_dir.iterdir()] == stores
    assert oct(cache_dir.stat().st_mode & 0o777) == "0o700"


def test_other_flags_or_ids_are_another_entry(cache_dir, stores):
    compiled.database(EXPRESSIONS, IDS, FLAGS)
    compiled.database(EXPRESSIONS, IDS, [0, 0])
    compiled.database(EXPRESSIONS, [5, 6], FLAGS)
    assert len(set(stores)) == 3


@pytest.mark.parametrize("damage", [lambda data: data[:-100], lambda data: data[:-1] + bytes([data[-1] ^ 1]), lambda data: b""])
def test_a_damaged_entry_is_compiled_anew_and_replaced(cache_dir, stores, damage):
    expected = matches(compiled.database(EXPRESSIONS, IDS, FLAGS))
    (entry,) = cache_dir.iterdir()
    entry.write_bytes(damage(entry.read_bytes()))
    assert matches(compiled.database(EXPRESSIONS, IDS, FLAGS)) == expected
    assert len(stores) == 2
    assert matches(compiled.database(EXPRESSIONS, IDS, FLAGS)) == expected
    assert len(stores) == 2  # the replacement is good


def test_a_directory_others_can_write_to_is_not_used(cache_dir, stores):
    cache_dir.mkdir(mode=0o700)
    cache_dir.chmod(0o777)
    assert compiled.cache_directory() is None
    assert matches(compiled.database(EXPRESSIONS, IDS, FLAGS)) != []
    assert stores == [] and list(cache_dir.iterdir()) == []


def test_off_turns_the_cache_off(monkeypatch, stores):
    monkeypatch.setenv(compiled.CACHE_ENV, "off")
    assert compiled.cache_directory() is None
    assert matches(compiled.database(EXPRESSIONS, IDS, FLAGS)) != []
    assert stores == []


def test_a_cache_that_cannot_be_created_only_costs_the_compile(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv(compiled.CACHE_ENV, str(blocker / "cache"))
    assert compiled.cache_directory() is None
    assert matches(compiled.database(EXPRESSIONS, IDS, FLAGS)) != []


def test_a_full_disk_leaves_no_partial_entry_and_the_database_works(cache_dir, monkeypatch):
    real_fdopen = os.fdopen

    class FullDisk:
        def __init__(self, fd, mode):
            self.file = real_fdopen(fd, mode)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.file.close()

        def write(self, data):
            self.file.write(data[:10])
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(compiled.os, "fdopen", FullDisk)
    assert matches(compiled.database(EXPRESSIONS, IDS, FLAGS)) != []
    assert list(cache_dir.iterdir()) == []


def test_the_cache_keeps_the_most_recently_used_entries_within_its_size(cache_dir, monkeypatch):
    compiled.database([b"word0"], [0], [0])
    (entry,) = cache_dir.iterdir()
    monkeypatch.setattr(compiled, "KEEP_BYTES", 3 * entry.stat().st_size)
    for n in range(1, 6):
        compiled.database([b"word%d" % n], [0], [0])
        for i, path in enumerate(sorted(cache_dir.iterdir(), key=lambda p: p.stat().st_mtime_ns)):
            os.utime(path, ns=(i, i))  # distinct times, oldest first, whatever the clock's resolution
    newest = compiled.database([b"word5"], [0], [0])  # a hit: most recently used again
    assert matches(newest) == []
    assert len(list(cache_dir.iterdir())) == 3
    assert entry not in set(cache_dir.iterdir())


def test_an_entry_larger_than_the_whole_allowance_is_still_kept(cache_dir, monkeypatch):
    monkeypatch.setattr(compiled, "KEEP_BYTES", 1)
    compiled.database(EXPRESSIONS, IDS, FLAGS)
    assert len(list(cache_dir.iterdir())) == 1


def test_pruning_removes_only_entries_whatever_else_the_directory_holds(cache_dir, monkeypatch):
    cache_dir.mkdir(mode=0o700)
    foreign = [cache_dir / "notes.txt", cache_dir / ("0" * 64), cache_dir / "report.hsdb"]
    for i, path in enumerate(foreign):
        path.write_bytes(b"x" * 1000)
        os.utime(path, ns=(i, i))  # the oldest files in the directory
    monkeypatch.setattr(compiled, "KEEP_BYTES", 1)
    compiled.database(EXPRESSIONS, IDS, FLAGS)
    compiled.store("f" * 64 + ".other.kind", b"payload")
    assert all(path.exists() for path in foreign)
    assert len([p for p in cache_dir.iterdir() if p not in foreign]) == 1  # the newest entry
