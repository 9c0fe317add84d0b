"""The compiled index lookup and fence-line search find what numpy and a line-by-line reading find."""

from __future__ import annotations

import numpy as np
import pytest

from llm_dlp.detect import _winnow
from llm_dlp.detect.fingerprint import bucket_bits, filter_bits

TOP = 2**64 - 1


def searched(index: np.ndarray, files: np.ndarray, queries: np.ndarray) -> tuple[list[int], list[int]]:
    """What lookup must return, by numpy's binary search: by query, then along the index."""
    lo, hi = np.searchsorted(index, queries, "left"), np.searchsorted(index, queries, "right")
    rows = [(i, int(f)) for i in range(len(queries)) for f in files[lo[i] : hi[i]]]
    return [i for i, _ in rows], [f for _, f in rows]


def bucket_starts(index: np.ndarray, bits: int, fbits: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """The bucket starts and a filter of 2**fbits words."""
    starts, words = np.empty((1 << bits) + 1, np.uint32), np.empty(1 << fbits, np.uint64)
    _winnow.bucket_starts(index, bits, starts, words)
    return starts, words


def looked_up(index: np.ndarray, files: np.ndarray, queries: np.ndarray, bits: int, fbits: int = 4) -> tuple[list[int], list[int]]:
    starts, words = bucket_starts(index, bits, fbits)
    positions, found = _winnow.lookup(index, files, starts, words, bits, queries)
    return np.frombuffer(positions, np.intp).tolist(), np.frombuffer(found, np.uint32).tolist()


def edges(bits: int) -> np.ndarray:
    """Hashes on both sides of bucket boundaries, and the extremes."""
    shift = 64 - bits
    boundaries = {(b % (1 << bits)) << shift for b in (1, 2, 3, (1 << bits) - 1)} - {0}
    return np.array(sorted({0, 1, TOP - 1, TOP} | boundaries | {b - 1 for b in boundaries}), np.uint64)


@pytest.mark.parametrize(("bits", "fbits"), [(1, 0), (8, 3), (13, 9), (20, 12)])  # filters of one word (passing all) to a sparse one
def test_lookup_finds_what_a_binary_search_finds(bits, fbits):
    rng = np.random.default_rng(bits)
    values = np.concatenate([rng.integers(0, 2**64, 3000, dtype=np.uint64, endpoint=False), edges(bits)])
    index = np.sort(np.concatenate([values, values[::5], values[::11]]))  # some in several files
    files = rng.integers(0, 50, len(index)).astype(np.uint32)
    queries = np.concatenate([values[::3], rng.integers(0, 2**64, 2000, dtype=np.uint64, endpoint=False), edges(bits), edges(bits)[::-1]])
    rng.shuffle(queries)
    expected = searched(index, files, queries)
    assert looked_up(index, files, queries, bits, fbits) == expected and len(expected[0]) > 1000


def test_lookup_of_nothing_and_in_an_empty_index():
    empty, nothing = np.empty(0, np.uint64), np.empty(0, np.uint32)
    assert looked_up(empty, nothing, edges(8), 8) == ([], [])
    assert looked_up(np.sort(edges(8)), np.zeros(len(edges(8)), np.uint32), empty, 8) == ([], [])


def test_an_index_of_one_hash_in_many_files():
    index = np.full(40, 2**63, np.uint64)
    files = np.arange(40, dtype=np.uint32)
    assert looked_up(index, files, np.array([2**63, 5, 2**63], np.uint64), 8) == ([0] * 40 + [2] * 40, list(range(40)) * 2)


def test_lookup_refuses_mismatched_arrays():
    index = np.sort(edges(8))
    starts, words = bucket_starts(index, 8)
    with pytest.raises(ValueError):
        _winnow.lookup(index, np.zeros(3, np.uint32), starts, words, 8, index)
    with pytest.raises(ValueError):
        _winnow.lookup(index, np.zeros(len(index), np.uint32), bucket_starts(index, 9)[0], words, 8, index)
    with pytest.raises(ValueError):
        _winnow.lookup(index, np.zeros(len(index), np.uint32), starts, words[:3], 8, index)  # no power of two
    with pytest.raises(ValueError):
        _winnow.bucket_starts(index, 8, np.empty(2**8, np.uint32), words)  # one short
    with pytest.raises(ValueError):
        _winnow.bucket_starts(index, 33, np.empty(3, np.uint32), words)
    with pytest.raises(ValueError):
        _winnow.bucket_starts(index, 8, starts, np.empty(0, np.uint64))


def test_buckets_hold_a_few_fingerprints_each():
    assert [bucket_bits(n) for n in (0, 1000, 5_280_000, 2**40)] == [1, 9, 22, 32]
    index = np.sort(np.random.default_rng(3).integers(0, 2**64, 100_000, dtype=np.uint64, endpoint=False))
    bits = bucket_bits(len(index))
    starts = bucket_starts(index, bits)[0]
    assert starts[0] == 0 and starts[-1] == len(index) and 1 <= len(index) / (len(starts) - 1) <= 2
    assert (starts[1:-1] == np.searchsorted(index >> np.uint64(64 - bits), np.arange(1, 2**bits, dtype=np.uint64))).all()


EDGE_TEXTS = {
    "empty": "",
    "one huge line": "total = price * rate + fee; " * 20_000,
    "NUL bytes": "def f(x):\n    return x\0 + 1\0\0\n" * 200,
    "lone surrogates": "name = '\ud800' + \"\udfff\"  # \udc80 note\nvalue = \ud83d + 1\n" * 200,
    "deeply nested brackets": "x = " + "[{(" * 5000 + "y" + ")}]" * 5000 + "\n",
}


@pytest.mark.parametrize("name", EDGE_TEXTS)
def test_fingerprints_of_odd_texts_are_each_found_in_an_index_of_them(name):
    """Every fingerprint of a text is found through the filter in an index holding it among
    others; random hashes are found as a binary search finds them."""
    from llm_dlp.detect.fingerprint import fingerprints

    own = fingerprints(EDGE_TEXTS[name]).hashes
    assert (name == "empty") == (len(own) == 0)
    others = np.random.default_rng(2).integers(0, 2**64, 50_000, dtype=np.uint64, endpoint=False)
    index = np.sort(np.concatenate([np.unique(own), others]))  # each once, as an index holds it per file
    files = np.arange(len(index), dtype=np.uint32)
    queries = np.concatenate([own, others[:5000] ^ np.uint64(1 << 40)])
    found = looked_up(index, files, queries, bucket_bits(len(index)), filter_bits(len(index)))
    assert found == searched(index, files, queries) and set(range(len(own))) <= set(found[0])


def test_the_filter_is_sparse():
    """8 to 16 bits a fingerprint, two of them set by each: an eighth to a quarter of its bits set."""
    assert [filter_bits(n) for n in (0, 1000, 6_300_000, 2**40)] == [0, 7, 20, 32]
    for n in (20_000, 30_000):
        index = np.sort(np.random.default_rng(n).integers(0, 2**64, n, dtype=np.uint64, endpoint=False))
        words = bucket_starts(index, bucket_bits(n), filter_bits(n))[1]
        assert 0.1 < np.unpackbits(words.view(np.uint8)).mean() < 0.25


def fence_lines_read(text: str) -> list[int]:
    """The start of each line that is spaces and tabs, then ``` or ~~~, read line by line."""
    starts, at = [], 0
    for line in text.split("\n"):
        if line.lstrip(" \t")[:3] in ("```", "~~~"):
            starts.append(at)
        at += len(line) + 1
    return starts


@pytest.mark.parametrize("wide", ["", "é", "\u20ac", "\U0001f600"])  # one, two and four bytes a character
def test_fence_lines_are_found_at_line_starts_only(wide):
    text = f"```python\nx = 1{wide}\n  ~~~\n a ```\n\t```\n``\n~~x\n~~~~ {wide}\n```"
    assert _winnow.fence_lines(text) == fence_lines_read(text) == [0, 16 + len(wide), 29 + len(wide), 41 + len(wide), 47 + 2 * len(wide)]
    assert _winnow.fence_lines(wide + "no fence ``` here\n") == [] and _winnow.fence_lines("") == []


def test_fingerprints_with_the_fence_lines_given_are_those_found():
    from llm_dlp.detect.fingerprint import fingerprints

    code = "def total(xs):\n    s = 0\n    for x in xs:\n        s += x.price * x.qty\n    return s\n" * 4
    text = "```python\n" + code + "```\n" + code + "~~~\n"
    lines = _winnow.fence_lines(text)
    assert fingerprints(text, "python", lines).hashes.tolist() == fingerprints(text, "python").hashes.tolist()
    assert fingerprints(text, "python", []).hashes.tolist() != fingerprints(text, "python").hashes.tolist()
    with pytest.raises(ValueError):
        fingerprints(text, "python", [lines[1], lines[0]])


def test_threads_fingerprinting_at_once_each_get_their_own_results():
    """Each thread lexes in memory of its own, kept between its calls."""
    from concurrent.futures import ThreadPoolExecutor

    from llm_dlp.detect.fingerprint import fingerprints

    texts = [f"def f{n}(a):\n    b = a * {n}\n    return b + '{n}' * a\n" * (50 + 30 * n) for n in range(6)]
    alone = [fingerprints(text).hashes.tolist() for text in texts]

    def repeated(n: int) -> bool:
        return all(fingerprints(texts[n]).hashes.tolist() == alone[n] for _ in range(20))

    with ThreadPoolExecutor(6) as pool:
        assert all(pool.map(repeated, range(6)))
    large = texts[5] * 300  # beyond what a thread keeps between calls
    first = fingerprints(large).hashes.tolist()
    assert first == fingerprints(large).hashes.tolist() and len(first) > 10_000 and len(large) > 1_000_000
    assert fingerprints(texts[0]).hashes.tolist() == alone[0]  # in memory given back and taken anew


def distances_read(words: list[str], cap: int) -> list[int]:
    """Each word's distance in words back to its previous use, 0 when none within ``cap``."""
    last: dict[str, int] = {}
    found = []
    for n, word in enumerate(words):
        found.append(n - last[word] if word in last and n - last[word] <= cap else 0)
        last[word] = n
    return found


@pytest.mark.parametrize("vocabulary", [5, 40, 5000])
def test_an_identifier_codes_the_distance_back_to_its_last_use(vocabulary):
    """Many names, so that names share the lexer's slots of last uses (1024), and few, so that
    each is reused within reach."""
    import random

    from llm_dlp.detect.fingerprint import CAP, KEYWORDS

    rng = random.Random(vocabulary)
    words = [f"n{rng.randrange(vocabulary)}" for _ in range(20_000)]
    codes = np.frombuffer(_winnow.tokens(" ".join(words), KEYWORDS, (), CAP, 0)[0], np.uint32)
    assert (codes - codes.min()).tolist() == distances_read(words, CAP)


def test_fingerprints_of_every_kind_come_along_the_text():
    """By token, and at one token the prose's first, then the shape's, then those as written;
    each kind in the order the text gives it."""
    import random

    from llm_dlp.detect.fingerprint import PROSE, SHAPE, SHAPE_LITERALS, SPELLED, fingerprints, kinds_of

    rng = random.Random(7)
    pieces = [
        "x = y + 1\n",
        "# a comment of some words that goes on for a while\n",
        "s = 'text %d'\n",
        "f(a, b)\n",
        '"""Words of a docstring, here."""\n',
    ]
    text = "".join(rng.choice(pieces).replace("%d", str(rng.randrange(9))) for _ in range(3000))
    prints = fingerprints(text, "python")
    rank = {PROSE: 0, SHAPE: 1, SHAPE_LITERALS: 1, SPELLED: 2}
    kinds = kinds_of(prints.hashes)
    ranks = np.array([rank[k] for k in kinds.tolist()])
    assert set(kinds.tolist()) == {PROSE, SHAPE, SHAPE_LITERALS, SPELLED}
    assert np.lexsort((ranks, prints.tokens)).tolist() == list(range(len(kinds)))
