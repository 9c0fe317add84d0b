"""Fingerprints of private repositories: pasted code is caught after renaming, re-indenting and
comment removal, with no path at all; unrelated code is not."""

from __future__ import annotations

import re
import sysconfig
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llm_dlp.detect.fingerprint import (
    K,
    _is_vendored_or_generated,
    fingerprints,
    guess_language,
    kinds_of,
    language_of,
    text_fingerprints,
    tokenise,
)

SITE = Path(sysconfig.get_paths()["purelib"])


def test_fingerprints_ignore_renaming_reindenting_and_comments_in_any_language():
    js = """function total(items, rate) {
    // sum the order lines, then apply the tax rate
    let sum = 0;
    for (const item of items) { sum += item.price * item.qty; }
    return Math.round(sum * (1 + rate) * 100) / 100;
}"""
    renamed = """function f1(a, b) {
  let c = 0;
  for (const d of a) { c += d.e * d.g; }
  return h.i(c * (1 + b) * 100) / 100;
}"""
    assert shapes(js) == shapes(renamed) != []
    assert not set(spelled(js)) & set(spelled(renamed))  # as written, only a copy is alike
    different = renamed.replace("c += d.e * d.g", "c += d.e * c.g")  # one name's use pattern changes
    assert shapes(different) != shapes(js)


def test_any_text_tokenises(tmp_path):
    odd = "x = '\ue001\ue200' + \"\U0001f600\" # \udcff\n" * 40 + "ünïcödé = ‹x› ∑ y\n" * 20 + '`unterminated\n"open'
    hashes, _, lines, *_ = fingerprints(odd)
    assert len(hashes) == len(lines) > 0 and lines.max() <= odd.count("\n") + 1


CODE = """def settle(orders, fees):
    total = 0
    for order in orders:
        if order.state == "open" and order.amount > fees.minimum:
            total += order.amount * (1 - fees.rate)
    return round(total, 2)
"""


def hashes(text: str) -> list[int]:
    return fingerprints(text).hashes.tolist()


def shapes(text: str, language: str = "generic") -> list[int]:
    """The fingerprints of a text's shape (even hashes), which renaming leaves alone."""
    return [h for h in fingerprints(text, language).hashes.tolist() if h % 2 == 0]


def spelled(text: str, language: str = "generic") -> list[int]:
    """The fingerprints of a text as written (odd hashes)."""
    return [h for h in fingerprints(text, language).hashes.tolist() if h % 2]


def by_kind(text: str, language: str = "generic") -> tuple[np.ndarray, np.ndarray]:
    """A text's fingerprints and their kinds (0: shape, 1: as written, 2: prose)."""
    from llm_dlp.detect import _winnow
    from llm_dlp.detect.fingerprint import CAP, K_PROSE, K_SPELLED, KEYWORDS, SEED, SYNTAX, K, W, kinds_of

    found = np.frombuffer(_winnow.fingerprints(text, KEYWORDS, (), K, K_SPELLED, W, CAP, SEED, SYNTAX[language], K_PROSE)[0], np.uint64)
    return found, kinds_of(found)


def code_hashes(text: str, language: str = "generic") -> list[int]:
    """The fingerprints of a text's code, without those of its comments' prose."""
    found, kinds = by_kind(text, language)
    return found[kinds != 2].tolist()


def prose(text: str, language: str = "generic") -> set[int]:
    """The fingerprints of the prose of a text's comments and docstrings."""
    found, kinds = by_kind(text, language)
    return set(found[kinds == 2].tolist())


def test_fence_lines_and_comments_of_every_syntax_leave_the_codes_fingerprints_alone():
    assert hashes(CODE) != []
    assert hashes("```python\n" + CODE + "```\n") == hashes("~~~\n" + CODE + "  ~~~\n") == hashes(CODE)
    commented = CODE.replace("    total = 0\n", "    total = 0  # running sum\n    /* a block\n       comment */\n").replace(
        "    return", "    // done\n    -- SQL style\n    return"
    )
    assert code_hashes(commented) == hashes(CODE) == code_hashes(CODE)
    assert hashes(CODE.replace("total = 0", "total/**/=/* x */0")) == hashes(CODE)


NOTE = (
    "Orders settle at the end of the billing day: the margin model nets the fees of each\n"
    "counterparty against its rebates, then rounds to the ledger's currency so that the\n"
    "reconciliation job finds no difference of a cent.\n"
)


def test_comments_and_docstrings_give_fingerprints_of_their_words_however_marked_or_wrapped():
    def commented(mark: str, note: str = NOTE) -> str:
        return "".join(f"{mark} {line}\n" for line in note.split("\n") if line) + CODE

    words = NOTE.split()
    rewrapped = "\n".join(" ".join(words[i : i + 5]) for i in range(0, len(words), 5))
    ours = prose(commented("#"))
    assert len(ours) >= 6
    block = "/**\n" + commented(" *").replace(CODE, "") + " */\n" + CODE
    assert prose(commented("//")) == prose(block) == prose(commented("--")) == ours
    assert prose(commented("#", rewrapped.upper().replace(":", " -").replace(",", ""))) == ours
    assert prose(f'def settle():\n    """{rewrapped}"""\n    return 0\n', "python") == ours  # a docstring is prose too
    assert prose(commented("#", NOTE.replace("rebates", "refunds"))) != ours  # the words count
    assert not prose(CODE) and not prose("x = 1  # short note\n" + CODE)  # fewer words than a k-gram


def test_string_contents_count_and_comment_marks_inside_strings_are_not_comments():
    assert hashes(CODE.replace('"open"', '"closed"')) != hashes(CODE)
    marked = CODE.replace('"open"', '"#open // -- /*"')
    assert hashes(marked.replace("#open", "#shut")) != hashes(marked)  # still inside the string
    assert hashes(CODE.replace('"open"', "'open'")) == hashes(CODE)  # the content counts, not the quotes


ODD_PIECES = list("ab_$9 \t\n\r\\\"'`#/*-~{}()=;.") + [
    "\u00e9",
    "\u4e2d",
    "\U0001f600",
    "\ud800",
    "\x00",
    "```\n",
    '"""',
    "'''",
    "/*",
    "*/",
    "-- ",
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(ODD_PIECES), max_size=300).map("".join))
def test_any_text_gives_well_formed_fingerprints(text):
    lines_in_text = text.count("\n") + 1
    codes, lines = tokenise(text)
    assert len(codes) == len(lines) and (lines >= 1).all() and (lines <= lines_in_text).all()
    assert (lines[1:] >= lines[:-1]).all()
    prints = fingerprints(text)
    assert len(prints.hashes) == len(prints.lines) == len(prints.end_lines) == len(prints.tokens)
    assert (by_kind(text)[1] != 2).sum() <= len(codes)  # prose aside, a fingerprint per token at most
    assert (prints.tokens <= len(codes)).all() and (np.diff(prints.tokens) >= 0).all()
    assert (prints.lines <= prints.end_lines).all() and (prints.end_lines <= lines_in_text).all()
    assert prints.hashes.tolist() == hashes(text)  # deterministic


GENERATED_HEADS = [
    "// Code generated by protoc-gen-go. DO NOT EDIT.\npackage events\n",
    "# -*- coding: utf-8 -*-\n# Generated by the protocol buffer compiler.  DO NOT EDIT!\n",
    "// <auto-generated>\n//     This code was generated by a tool.\n",
    "/**\n * @generated SignedSource<<1a2b>>\n */\n",
    "# This file is automatically generated by tools/idna-data\n",
    "/* Auto-generated from schema.json */\n",
    "-- AUTOGENERATED\ncreate table t (id int);\n",
    "#!/bin/sh\n# Do not change: regenerate with make. DO NOT EDIT\n",
]
OWN_HEADS = [
    '__version__ = "2.3.2"  # DO NOT EDIT THIS LINE MANUALLY. LET bump2version UTILITY DO IT\n',
    "# Ids are automatically generated by the database.\n",
    "def generated_by(seed):\n    return seed  # @generated_by is our own name\n",
    "x = 'DO NOT EDIT'\n",
    "# Pricing rules. Generated reports go to /srv/reports.\n",
]


@pytest.mark.parametrize("head", GENERATED_HEADS)
def test_generated_files_are_known_by_their_generators_marks(tmp_path, head):
    (tmp_path / "f.txt").write_text(head + "x = 1\n" * 50)
    assert _is_vendored_or_generated("src/f.txt", str(tmp_path / "f.txt"))


@pytest.mark.parametrize("head", OWN_HEADS)
def test_own_code_that_mentions_generation_stays_protected(tmp_path, head):
    (tmp_path / "f.py").write_text(head + "x = 1\n" * 50)
    assert not _is_vendored_or_generated("src/f.py", str(tmp_path / "f.py"))
    assert _is_vendored_or_generated("src/_vendor/f.py", str(tmp_path / "f.py"))  # by where it lives


# ---- formatter-proof, per-language tokens ------------------------------------------------------
JS = """class Scheduler {
  #timers = new Map()
  constructor(clock, limit) {
    this.clock = clock
    this.limit = limit
  }
  schedule(name, fn) {
    const timer = this.clock.after(this.limit, x => fn(x, name))
    this.#timers.set(name, timer)
    return `scheduled ${name} after ${this.limit} ms`
  }
}
"""
# What prettier does to it: semicolons, parentheses around arrow parameters, double quotes,
# trailing commas, a call broken over lines.
PRETTIER_LIKE = """class Scheduler {
  #timers = new Map();
  constructor(clock, limit) {
    this.clock = clock;
    this.limit = limit;
  }
  schedule(name, fn) {
    const timer = this.clock.after(
      this.limit,
      (x) => fn(x, name),
    );
    this.#timers.set(name, timer);
    return `scheduled ${name} after ${this.limit} ms`;
  }
}
"""


def js_hashes(text: str) -> list[int]:
    return fingerprints(text, "c-like").hashes.tolist()


def test_what_formatters_add_or_remove_leaves_fingerprints_alone():
    assert js_hashes(JS) == js_hashes(PRETTIER_LIKE) != []
    assert hashes(JS) == hashes(PRETTIER_LIKE)  # and so with the generic lexer, for a paste of no known language


def test_quote_styles_and_their_escapes_and_number_spellings_leave_fingerprints_alone():
    code = CODE.replace('"open"', "'it\\'s open'").replace("2)", "0x1F)")
    assert hashes(code) == hashes(code.replace("'it\\'s open'", '"it\'s open"').replace("0x1F", "0X1f")) != hashes(CODE)
    assert hashes(CODE.replace("(1 - fees.rate)", "(1.50 - fees.rate)")) == hashes(CODE.replace("(1 - fees.rate)", "(1.5 - fees.rate)"))


def test_a_black_reformatted_file_fingerprints_like_its_source():
    import black

    source = (SITE / "h11" / "_connection.py").read_text()
    narrow = black.format_str(source, mode=black.Mode(line_length=40, string_normalization=True))
    assert narrow.count("\n") > source.count("\n") * 1.2  # really reformatted
    original, formatted = set(fingerprints(source, "python").hashes.tolist()), set(fingerprints(narrow, "python").hashes.tolist())
    assert len(original & formatted) >= 0.9 * len(original)


def test_private_fields_are_code_and_hash_comments_are_comments_only_where_the_language_has_them():
    changed = JS.replace("this.#timers.set(name, timer)", "this.#timers.delete(name, timer)")
    assert js_hashes(changed) != js_hashes(JS) and hashes(changed) != hashes(JS)  # the rest of the line counts
    floor = (
        "def pages(total, size):\n    count = total // size\n    rest = total % size\n    return count + (1 if rest else 0), rest, size\n"
    )
    assert (
        fingerprints(floor, "python").hashes.tolist() != fingerprints(floor.replace("// size", "// (size + 1)"), "python").hashes.tolist()
    )
    lifetimes = "fn first<'a>(items: &'a [Item], key: &str) -> Option<&'a Item> {\n    items.iter().find(|i| i.key == key)\n}\n" * 2
    assert (
        fingerprints(lifetimes, "rust").hashes.tolist()
        != fingerprints(lifetimes.replace("i.key == key", "i.key != key"), "rust").hashes.tolist()
    )


def test_renaming_inside_template_literals_and_f_strings_changes_no_hash():
    renamed = JS.replace("name", "label").replace("limit", "delay")
    assert shapes(renamed, "c-like") == shapes(JS, "c-like")
    py = (
        'def greet(user, count):\n    note = f"Hello {user.name}, you have {count:>3} new items"\n    return note.strip(), user, count\n'
        * 2
    )
    assert shapes(py.replace("user", "u").replace("count", "n")) == shapes(py)
    assert shapes(py.replace("new items", "old items")) != shapes(py)  # the literal parts still count


def test_imports_leave_no_tokens_so_reordering_them_changes_nothing():
    imports = "import os\nimport sys\nfrom collections import (\n    OrderedDict,\n    defaultdict,\n)\n"
    reordered = "from collections import defaultdict, OrderedDict\nimport sys\nimport os\n"
    assert hashes(imports + CODE) == hashes(reordered + CODE) == hashes(CODE)
    js = 'import { a, b } from "./lib.js"\nimport fs from "node:fs"\n'
    assert js_hashes(js + JS) == js_hashes('import fs from "node:fs";\nimport { b, a } from "./lib.js";\n' + JS)


def test_a_paste_hashes_as_in_its_file_however_it_starts():
    """Every k-gram of a paste that starts mid-file hashes as the same k-gram in the file: an
    identifier whose earlier use was not pasted counts as a first use in both."""
    from llm_dlp.detect import _winnow
    from llm_dlp.detect.fingerprint import CAP, K_SPELLED, KEYWORDS, SEED, SYNTAX, K

    source = (SITE / "h11" / "_connection.py").read_text()
    lines = source.split("\n")
    methods = [n for n, line in enumerate(lines) if line.startswith("    def ")]
    for first, last in zip(methods[3:12:4], methods[5:14:4]):  # two whole methods, from their def on: no edge cuts a string
        paste = "\n".join(lines[first:last])
        every = [
            set(np.frombuffer(_winnow.fingerprints(t, KEYWORDS, (), K, K_SPELLED, 1, CAP, SEED, SYNTAX["python"])[0], np.uint64).tolist())
            for t in (source, paste)
        ]
        assert every[1] and every[1] <= every[0]


def test_the_language_comes_from_the_fence_or_the_path_or_plain_signs():
    assert [language_of(n) for n in ("src/app.ts", "lib/x.rb", "main.tf", "ts", "Python", "notes.txt", None)] == [
        "c-like",
        "ruby",
        "terraform",
        "c-like",
        "python",
        "generic",
        "generic",
    ]
    assert guess_language("    def run(self):\n        pass\n") == "python" and guess_language("const a = 1\n") == "generic"
    assert guess_language('case "$cur" in\n  -h) return ;;\nesac\n') == "shell"  # "-- " is no comment there
    assert guess_language("CREATE OPERATOR #<=# (\n  LEFTARG = hstore\n);\n") == "sql"  # nor "#" in SQL
    assert guess_language("CREATE\nOPERATOR CLASS ledger_ops DEFAULT\nFOR TYPE int4 USING btree AS\n") == "sql"  # reindented
    assert guess_language("\tselect {\n\tcase <-done:\n\t\treturn\n\t}\n") == "generic"  # Go's select, no SQL
    floor = "total = 0\nfor page in pages:\n    total += page.size // block + page.extra // block\n" * 3
    fenced = f"See:\n```python\n{floor}```\n"
    prints = text_fingerprints(fenced)
    assert prints.hashes.tolist() == fingerprints(floor, "python").hashes.tolist()
    assert prints.lines.min() == 3  # the text's own line numbers


def test_many_fenced_blocks_keep_an_even_gap_between_pieces():
    """Each piece's tokens start 2K past the last piece's, however many pieces: the gap once grew
    with every piece, and a chat with a few dozen fenced blocks overflowed the token positions."""
    block = "```python\ndef handler_%d(event, context):\n    value = compute(event['key'], context.retries + %d)\n    return value\n```\nWords between.\n"
    count = 40
    text = "".join(block % (i, i) for i in range(count))
    piece = text_fingerprints(block % (0, 0))
    prints = text_fingerprints(text)
    span = int(piece.tokens[-1]) + 2 * K  # one piece and its gap
    assert len(prints.tokens) and np.all(np.diff(prints.tokens) >= 0)
    assert int(prints.tokens[-1]) < count * span


def test_a_match_widens_to_the_whole_paste_between_prose_lines():
    from llm_dlp.detect.fingerprint import _paste_around

    lines = ["Why does this fail?", "", "def f(x):", "    y = x + 1", "    return y", "", "Thanks!"]
    assert _paste_around(lines, 4, 4) == (2, 6)
    fenced = ["Look:", "```", "a = 1", "b = 2", "c = 3", "```", "It is slow, as you can see here."]
    assert _paste_around(fenced, 4, 4) == (3, 5)


def test_a_fingerprint_of_the_shape_counts_less_than_one_as_written():
    from llm_dlp.detect.fingerprint import PROSE, PROSE_WEIGHT, SHAPE, SHAPE_LITERALS, SHAPE_RUN_WEIGHT, SHAPE_WEIGHT, SPELLED, _regions

    def found(*kinds: int, unbroken: bool = False) -> bool:
        """Whether fingerprints of these kinds, found in one file, match; of the text's shapes,
        in an unbroken run or with others of the text, not found, between them."""
        n = len(kinds)
        tokens = np.arange(n, dtype=np.int32) * 2
        lines = np.arange(n, dtype=np.int32) + 1
        ranks = np.arange(n) if unbroken else np.arange(n) * 2
        return bool(_regions(np.zeros(n, np.uint32), np.array(kinds, np.uint8), ranks, tokens, lines, lines, 6, 180))

    assert SHAPE_WEIGHT == 0.6
    assert found(*[SPELLED] * 6) and not found(*[SPELLED] * 5)
    assert found(*[SHAPE] * 10) and not found(*[SHAPE] * 9)  # a renamed copy needs 10
    assert PROSE_WEIGHT == 0.5
    assert found(*[PROSE] * 12) and not found(*[PROSE] * 11)
    assert found(*[SPELLED, PROSE] * 4) and not found(*[SPELLED] * 4 + [PROSE] * 3)  # prose adds to the code as written...
    assert not found(*[SHAPE, PROSE] * 6)  # ...not to its shape
    assert found(*[SHAPE_LITERALS] * 6) and not found(*[SHAPE_LITERALS] * 5)  # a shape holding literals counts one...
    assert found(*[SPELLED, SHAPE_LITERALS] * 3) and found(*[SHAPE_LITERALS, SHAPE] * 5)  # ...with those as written, and is a shape
    assert SHAPE_RUN_WEIGHT == 6 / 7
    assert found(*[SHAPE] * 7, unbroken=True) and not found(*[SHAPE] * 6, unbroken=True)  # a run of the text's shapes needs 7
    assert found(*[SHAPE, SHAPE_LITERALS] * 4, unbroken=True) and not found(*[SHAPE] * 9)


ROUTES = """def dispatch(request, handlers):
    if request.path == "/billing/invoices":
        return handlers.render(request, "invoices.html", 25)
    if request.path == "/billing/refunds":
        return handlers.render(request, "refunds.html", 10)
    if request.path == "/ledger/close":
        return handlers.close(request, "month-end", 30)
    return handlers.missing(request, "not found", 404)
"""


def test_a_shape_holding_two_telling_literals_is_a_kind_of_its_own():
    from llm_dlp.detect.fingerprint import SHAPE, SHAPE_LITERALS, SPELLED

    assert SHAPE_LITERALS in by_kind(ROUTES)[1].tolist()
    letters = "def is_letter(c):\n    if c >= 'a' and c <= 'z' or c >= 'A' and c <= 'Z':\n        return 1\n    return 0\n"
    assert set(by_kind(letters)[1].tolist()) == {SHAPE, SPELLED}  # one-character literals are everyone's


def test_a_short_renamed_paste_is_caught_by_its_literals_and_the_same_shape_with_others_is_not(tmp_path, monkeypatch):
    import re

    from llm_dlp.detect import fingerprint
    from llm_dlp.detect.fingerprint import FingerprintIndex, build_index, match

    (tmp_path / "org").mkdir()
    (tmp_path / "org" / "web.py").write_text(ROUTES)
    build_index([tmp_path / "org"], tmp_path / "i.fpidx")
    names = {"dispatch": "route", "request": "req", "handlers": "views", "path": "url", "render": "show"}
    head = "\n".join(ROUTES.split("\n")[:5])  # 35 tokens: 9 shapes, 7 of them holding literals (of the shape alone 10 match)
    renamed = re.sub(r"\b(" + "|".join(names) + r")\b", lambda m: names[m.group()], head)
    others = {
        "/billing/invoices": "/shop/cart",
        "/billing/refunds": "/shop/orders",
        "invoices": "cart",
        "refunds": "pay",
        "25": "50",
        "10": "20",
    }
    unrelated = re.sub("|".join(others), lambda m: others[m.group()], renamed)
    assert [m.file for m in match(FingerprintIndex(tmp_path / "i.fpidx"), renamed, 6, 30)] == ["org/web.py"]
    assert match(FingerprintIndex(tmp_path / "i.fpidx"), unrelated, 6, 30) == []
    monkeypatch.setattr(fingerprint, "SHAPE_LITERALS_WEIGHT", 0.0)  # the 9 shapes alone are not enough, but for their run...
    monkeypatch.setattr(fingerprint, "SHAPE_RUN_WEIGHT", 0.0)
    monkeypatch.setattr(fingerprint, "SHORT_SHARE", 2.0)  # ...or unless every shape the paste carries counts
    assert match(FingerprintIndex(tmp_path / "i.fpidx"), renamed, 6, 30) == []


LEDGER_H = """#ifndef LEDGER_FLAGS_H
#define LEDGER_FLAGS_H

enum ledger_state {
	LEDGER_OPEN,
	LEDGER_HELD = LEDGER_OPEN + 4,
	LEDGER_CLOSED,
	LEDGER_VOID = -2,
};

struct ledger_entry {
	unsigned long amount;
	struct ledger_entry *next;
	char memo[LEDGER_MEMO];
	enum ledger_state state;
	short *tags[LEDGER_TAGS];
};
#endif
"""


def renamed_c(code: str) -> str:
    names: dict[str, str] = {}
    keep = r"(?!enum\b|struct\b|unsigned\b|long\b|char\b|short\b)"
    return re.sub(rf"\b{keep}[A-Za-z_]\w*", lambda m: names.setdefault(m.group(), f"v{len(names)}"), code)


def test_a_short_renamed_paste_whose_every_shape_is_one_files_is_caught(tmp_path, monkeypatch):
    from llm_dlp.detect import fingerprint
    from llm_dlp.detect.fingerprint import SHAPE, SHAPE_LITERALS, FingerprintIndex, build_index, match

    (tmp_path / "org").mkdir()
    (tmp_path / "org" / "ledger.h").write_text(LEDGER_H)
    build_index([tmp_path / "org"], tmp_path / "i.fpidx")
    index = FingerprintIndex(tmp_path / "i.fpidx")
    piece = renamed_c("\n".join(LEDGER_H.split("\n")[3:14]))  # the enum and three fields: 8 shapes, 10 would match
    shapes = {h for h, kind in zip(*by_kind(piece, "c-like")) if kind in (SHAPE, SHAPE_LITERALS)}
    assert 6 <= len(shapes) < 10
    text = f"Why does this not compile?\n\n```c\n{piece}\n```\n"
    assert [(m.file, m.first_line, m.last_line) for m in match(index, text, 6, 30)] == [("org/ledger.h", 4, 14)]
    # In its own fence beside unrelated code, the piece is still caught; diluted in one fence, not.
    other = "int main(void) {\n\tfor (int i = 0; i < count; i++)\n\t\ttotal += prices[i] * rate / 100;\n\treturn total;\n}"
    assert match(index, f"{text}\nAnd this:\n```c\n{other}\n```\n", 6, 30)
    diluted = f"```c\n{piece}\n{other}\n```\n"
    assert match(index, diluted, 6, 30)  # (by the unbroken run of its shapes)
    monkeypatch.setattr(fingerprint, "SHAPE_RUN_WEIGHT", 0.0)  # the rule of short pieces alone from here
    index = FingerprintIndex(tmp_path / "i.fpidx")
    assert [(m.file, m.first_line, m.last_line) for m in match(index, text, 6, 30)] == [("org/ledger.h", 4, 14)]
    assert match(index, diluted, 6, 30) == []
    # Fewer shapes than the threshold carry too little, however they are all the file's.
    assert match(index, f"```c\n{renamed_c(chr(10).join(LEDGER_H.split(chr(10))[3:9]))}\n```\n", 6, 30) == []


def test_shapes_everyone_has_do_not_dilute_a_short_piece(tmp_path, monkeypatch):
    from llm_dlp.detect import fingerprint
    from llm_dlp.detect.fingerprint import FingerprintIndex, build_index, common_prefix, file_fingerprints, match, text_fingerprints

    monkeypatch.setattr(fingerprint, "SHAPE_RUN_WEIGHT", 0.0)  # (its run of shapes would catch the paste alone)
    (tmp_path / "org").mkdir()
    (tmp_path / "org" / "ledger.h").write_text(LEDGER_H)
    build_index([tmp_path / "org"], tmp_path / "i.fpidx")
    index = FingerprintIndex(tmp_path / "i.fpidx")
    idiom = "int main(void) {\n\tfor (int i = 0; i < count; i++)\n\t\ttotal += prices[i] * rate / 100;\n\treturn total;\n}"
    text = f"```c\n{renamed_c(chr(10).join(LEDGER_H.split(chr(10))[3:14]))}\n{idiom}\n```\n"
    assert match(index, text, 6, 30) == []  # the file's 8 shapes are not 90% of what the piece carries...
    theirs = set(file_fingerprints(LEDGER_H, "c-like")[0].tolist())
    others = np.array(sorted(set(text_fingerprints(text).hashes.tolist()) - theirs), np.uint64)
    monkeypatch.setattr(fingerprint, "common_code", lambda: np.unique(common_prefix(others)))
    assert [m.file for m in match(FingerprintIndex(tmp_path / "i.fpidx"), text, 6, 30)] == [
        "org/ledger.h"
    ]  # ...but of what is not everyone's


def test_the_kind_of_a_fingerprint_is_in_its_lowest_bits():
    from llm_dlp.detect.fingerprint import PROSE, SHAPE, SPELLED

    (note, note_kinds), (code, code_kinds) = by_kind("/* " + NOTE + " */\n"), by_kind(CODE)
    assert set(note_kinds.tolist()) == {PROSE} and set(code_kinds.tolist()) == {SHAPE, SPELLED}
    assert sorted(by_kind("/* " + NOTE + " */\n" + CODE)[0].tolist()) == sorted(note.tolist() + code.tolist())


def test_sql_declarations_of_reserved_words_alone_leave_no_fingerprints():
    # Extensions' declarations differ only in their names (in any case): what lies between is boilerplate.
    template = (
        "CREATE FUNCTION {0}(internal, internal, int2, internal)\nRETURNS internal\nAS 'MODULE_PATHNAME'\n"
        "LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;\n\n"
    )

    def spelled(code: str, language: str) -> set[int]:
        hashes = fingerprints(code, language).hashes
        return set(hashes[(hashes & 1) == 1].tolist())

    for case in (str, str.lower):
        one, other = (case(template.format(name)) * 2 for name in ("gin_extract_a", "g_cube_b"))
        assert not spelled(one, "sql") & spelled(other, "sql")
        assert spelled(one, "generic") & spelled(other, "generic")  # where SQL's words are not known
    # a k-gram with a name keeps its fingerprints: a declaration of one's own tables stays protected
    table = (
        "CREATE TABLE invoices (customer_id int NOT NULL, amount numeric DEFAULT 0, paid bool DEFAULT false, ledger text DEFAULT 'main');\n"
    )
    as_sql, as_generic = (set(fingerprints(table, language).hashes.tolist()) for language in ("sql", "generic"))
    without_grammar = set(fingerprints(table, "sql", grammar=False).hashes.tolist())
    assert as_sql and as_generic and as_generic <= without_grammar  # and its words alone around a name, as written (below)


def test_sql_grammar_has_codes_of_its_own_and_files_are_indexed_in_both_readings(tmp_path):
    from llm_dlp.detect.fingerprint import FingerprintIndex, build_index, file_fingerprints, match

    def declarations(names: list[str], kind: str) -> str:
        return "".join(
            f"CREATE FUNCTION {name}({kind}, internal)\nRETURNS {kind}\nAS 'MODULE_PATHNAME'\nLANGUAGE C STRICT;\n\n" for name in names
        )

    names = ["ledger_open", "ledger_close", "ledger_post", "ledger_void", "ledger_merge", "ledger_audit"]
    ours, renamed = declarations(names, "int4"), declarations([f"v{n}" for n in range(6)], "int4")
    other_type = declarations([f"v{n}" for n in range(6)], "text")
    assert set(shapes(renamed, "sql")) != set(shapes(other_type, "sql"))  # the type is no name to SQL...
    assert set(shapes(renamed, "generic")) == set(shapes(other_type, "generic"))  # ...where its words are not known
    both = set(file_fingerprints(ours, "sql")[0].tolist())
    assert set(fingerprints(ours, "sql").hashes.tolist()) | set(fingerprints(ours, "sql", grammar=False).hashes.tolist()) == both
    repo = tmp_path / "org"
    repo.mkdir()
    (repo / "ledger.sql").write_text(ours)
    build_index([repo], tmp_path / "i.fpidx")
    index = FingerprintIndex(tmp_path / "i.fpidx")
    for language in ("sql", "generic"):  # named, or bare and read with the generic syntax
        assert [m.file for m in match(index, ours, 6, 30, language)] == ["org/ledger.sql"]


def test_sql_runs_of_names_and_reserved_words_are_fingerprinted(tmp_path):
    # Their punctuation makes no token: words alone, a copy's as written; in shape only where the
    # grammar's words are known, since their distances alone are every such run's.
    from llm_dlp.detect.fingerprint import FingerprintIndex, build_index, match

    def run(names: list[str], types: list[str]) -> str:
        return "".join(f"ALTER FUNCTION {name}({types[n % len(types)]}) PARALLEL SAFE;\n" for n, name in enumerate(names))

    words, types = (
        ["open", "close", "post", "void", "merge", "split", "audit", "lock"],
        ["text", "text, boolean", "internal, int4", "cstring"],
    )
    ours, renamed = run([f"ledger_{word}" for word in words], types), run([f"v{n}" for n in range(len(words))], types)
    theirs = run([f"cube_{word}" for word in words], ["cube", "cube, cube", "internal, cube, int2", "float8, cube"])
    assert spelled(ours, "sql") and shapes(ours, "sql")
    no_grammar = fingerprints(ours, "sql", grammar=False).hashes
    assert len(no_grammar) and not (no_grammar % 2 == 0).any()
    assert not fingerprints(ours, "generic").hashes.size  # words alone are prose where SQL's words are not known
    repo = tmp_path / "org"
    repo.mkdir()
    (repo / "upgrade.sql").write_text(ours)
    build_index([repo], tmp_path / "i.fpidx")
    index = FingerprintIndex(tmp_path / "i.fpidx")
    assert [m.file for m in match(index, ours, 6, 30, "sql")] == ["org/upgrade.sql"]
    assert [m.file for m in match(index, renamed, 6, 30, "sql")] == ["org/upgrade.sql"]
    assert match(index, theirs, 6, 30, "sql") == []


def test_shapes_in_several_indexed_files_and_common_code_are_dropped(tmp_path, monkeypatch):
    from llm_dlp.detect import fingerprint

    template = "def {0}(self, {1}):\n    if {1} is None:\n        raise ValueError('missing')\n    self._{1} = {1}\n    return self\n"
    repo = tmp_path / "repo"
    repo.mkdir()
    for n in range(fingerprint.MAX_FILES_PER_SHAPE + 1):  # one shape in many files: boilerplate
        (repo / f"m{n}.py").write_text("".join(template.format(f"set_{n}_{i}", f"v{n}_{i}") for i in range(4)))
    fingerprint.build_index([repo], tmp_path / "a.fpidx")
    kept = fingerprint.FingerprintIndex(tmp_path / "a.fpidx")._hashes
    assert len(kept) and all(h % 2 for h in kept.tolist())  # as written each file is its own
    common = np.unique(np.concatenate([fingerprints((repo / "m0.py").read_text(), "python").hashes]))
    monkeypatch.setattr(fingerprint, "common_code", lambda: fingerprint.common_prefix(common))
    fingerprint.build_index([repo], tmp_path / "b.fpidx")
    assert not set(common.tolist()) & set(fingerprint.FingerprintIndex(tmp_path / "b.fpidx")._hashes.tolist())


def test_in_common_code_finds_what_isin_finds(monkeypatch):
    from llm_dlp.detect import fingerprint

    rng = np.random.default_rng(5)
    listed = np.unique(rng.integers(1 << 40, 1 << 62, 500, dtype=np.uint64))
    extremes = np.array([0, 2**64 - 1], np.uint64)
    queries = np.concatenate([listed[::7], rng.integers(0, 2**64, 500, dtype=np.uint64, endpoint=False), extremes])
    monkeypatch.setattr(fingerprint, "common_code", lambda: fingerprint.common_prefix(listed))
    expected = np.isin(fingerprint.common_prefix(queries), fingerprint.common_prefix(listed))
    assert (fingerprint.in_common_code(queries) == expected).all() and expected.sum() >= len(listed[::7])
    monkeypatch.setattr(fingerprint, "common_code", lambda: np.empty(0, np.uint32))
    assert not fingerprint.in_common_code(queries).any() and len(fingerprint.in_common_code(queries[:0])) == 0


def test_the_shipped_common_code_list_is_of_this_tokenizer(tmp_path, monkeypatch):
    from llm_dlp.detect import fingerprint
    from llm_dlp.detect.fingerprint import VERSION, common_code, load_common_code, save_common_code

    common = common_code()
    assert len(common) > 1000 and bool(np.all(common[1:] > common[:-1]))
    save_common_code(np.array([3 << 32, 1 << 32], np.uint64), ["test"], tmp_path / "c.fp")
    assert load_common_code(tmp_path / "c.fp").tolist() == [1, 3]
    with monkeypatch.context() as older:
        older.setattr(fingerprint, "VERSION", {**VERSION, "tokenizer": VERSION["tokenizer"] - 1})
        save_common_code(np.array([1 << 32], np.uint64), ["test"], tmp_path / "c.fp")
    with pytest.raises(ValueError, match="rebuild it"):
        load_common_code(tmp_path / "c.fp")


def test_an_escaped_quote_outside_a_string_opens_none():
    """In shell, \\` and \\" outside strings are characters: code after them lexes as in a paste."""
    escaped = 'case "$ch" in\n\t\\`) word="$word$ch" ;;\nesac\n'
    code = 'complete_common () {\n\tlocal command="$1"\n\tcase "$cur" in\n\t--*) __gitcomp "$command" ;;\n\tesac\n}\n' * 3 + "now=`date`\n"
    assert set(shapes(code, "shell")) <= set(shapes(escaped + code, "shell")) and shapes(code, "shell")


def test_the_index_lookup_loses_no_hit(tmp_path):
    from llm_dlp.detect.fingerprint import FingerprintIndex, _write_index

    rng = np.random.default_rng(1)
    hashes = np.sort(rng.integers(0, 2**63, 5000, dtype=np.uint64).repeat(2))  # each in two files
    _write_index(tmp_path / "i.fpidx", ["a", "b"], (hashes, np.tile(np.arange(2, dtype=np.uint32), 5000), np.ones(10000, np.uint32)))
    index = FingerprintIndex(tmp_path / "i.fpidx")
    asked = np.concatenate([hashes[::7], rng.integers(0, 2**63, 3000, dtype=np.uint64)])
    query, files = index.lookup(asked)
    assert sorted(query.tolist()) == sorted(np.flatnonzero(np.isin(asked, hashes)).repeat(2).tolist())
    assert index.lookup(np.empty(0, np.uint64))[0].tolist() == []


def test_a_text_past_ascii_is_matched_and_widened_as_its_ascii_twin_and_cached_apart(tmp_path):
    from llm_dlp.detect.fingerprint import FingerprintIndex, _encoded, build_index, match

    code = "".join(
        f"def total_{n}(order, rate):\n    fee = order.amount * rate + {n}\n    return fee - order.discount({n})\n" for n in range(12)
    )
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "ledger.py").write_text(code)
    build_index([tmp_path / "repo"], tmp_path / "i.fpidx")
    index = FingerprintIndex(tmp_path / "i.fpidx")
    found = {}
    for note in ("Why is it slow? It is.", "Why is it slow \u2014 \u00e9t\u00e9? It is.", "Why is it slow \U0001f600 \ud800? It is."):
        text = f"{note}\n\n{code}\n{note}"
        found[note] = [(m.file, m.fingerprints, m.first_line, m.last_line) for m in match(index, text, 6, 30)]
        assert match(index, text, 6, 30) == match(index, text, 6, 30)  # the second from the cache
    assert len(set(map(tuple, found.values()))) == 1 and list(found.values())[0][0][2:] == (2, 39)
    assert len(index.recent._items) == 3
    paired, lone = _encoded("\U0001f600 x"), _encoded("\ud83d\ude00 x")  # alike in UTF-16: one is not encoded so
    assert paired[0] == "utf-16-le" and lone[0] == "utf-8" and paired[1] != lone[1]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(["a", "\n", "\n\n", "\u00e9", "\u2014", "\U0001f600", "\ud800", "\udc00", "x y "]), max_size=400).map("".join),
    st.randoms(),
)
def test_the_lines_a_match_widens_over_are_the_texts_in_any_order(text, rng):
    from llm_dlp.detect.fingerprint import _encoded, _Lines

    encoding, encoded = _encoded(text)
    lines, expected = _Lines(encoded, encoding), text.split("\n")
    order = list(range(len(expected)))
    rng.shuffle(order)
    assert len(lines) == len(expected) and [lines[i] for i in order] == [expected[i] for i in order]


WORDS = [
    "order",
    "amount",
    "ledger",
    "rate",
    "total",
    "fee",
    "customer",
    "invoice",
    "balance",
    "account",
    "state",
    "limit",
    "price",
    "quantity",
    "tax",
    "region",
]


def generated_name(rng) -> str:
    return "_".join(rng.sample(WORDS, 2)) + str(rng.randrange(10))


def python_function(rng) -> str:
    f, a, b, c = (generated_name(rng) for _ in range(4))
    body = [f"def {f}({a}, {b}):", f"    {c} = {rng.randrange(100)}"]
    for _ in range(rng.randrange(3, 7)):
        body.append(
            rng.choice(
                [
                    f"    for item in {a}:\n        {c} += item.{rng.choice(WORDS)} * {b}.{rng.choice(WORDS)}",
                    f'    if {c} > {rng.randrange(1000)} and {a}.{rng.choice(WORDS)} == "{rng.choice(WORDS)}":\n        {c} -= {rng.random():.3f}',
                    f"    {c} = max({c}, {b}.{rng.choice(WORDS)}({rng.randrange(9)}))",
                    f'    log.info("{" ".join(rng.sample(WORDS, 3))}", {c})',
                ]
            )
        )
    return "\n".join(body + [f"    return round({c}, {rng.randrange(4)})"]) + "\n"


def js_function(rng) -> str:
    f, a, b, c = (generated_name(rng).replace("_", "") for _ in range(4))
    body = [f"function {f}({a}, {b}) {{", f"  let {c} = {rng.randrange(100)};"]
    for _ in range(rng.randrange(3, 7)):
        body.append(
            rng.choice(
                [
                    f"  for (const item of {a}) {{ {c} += item.{rng.choice(WORDS)} * {b}.{rng.choice(WORDS)}; }}",
                    f"  if ({c} > {rng.randrange(1000)} && {a}.{rng.choice(WORDS)} === '{rng.choice(WORDS)}') {{\n    {c} -= {rng.random():.3f};\n  }}",
                    f"  {c} = Math.max({c}, {b}.{rng.choice(WORDS)}({rng.randrange(9)}));",
                ]
            )
        )
    return "\n".join(body + [f"  return {c};\n}}"]) + "\n"


def generated_module(rng, function, functions: int) -> str:
    return "\n\n".join(function(rng) for _ in range(functions))


def test_the_matches_of_a_fixed_text_against_a_fixed_index_stay_as_they_were(tmp_path, monkeypatch):
    """Fingerprints, index hits and matches pinned: a faster matcher must find exactly the same."""
    import hashlib
    import random
    import re

    from llm_dlp.detect import fingerprint
    from llm_dlp.detect.fingerprint import FingerprintIndex, build_index, match

    rng = random.Random(19)
    files = {}
    for n in range(4):
        files[f"billing{n}.py"] = generated_module(rng, python_function, 12)
        files[f"ledger{n}.js"] = generated_module(rng, js_function, 12)
    (tmp_path / "org").mkdir()
    for name, code in files.items():
        (tmp_path / "org" / name).write_text(code)
    build_index([tmp_path / "org"], tmp_path / "i.fpidx")
    index = FingerprintIndex(tmp_path / "i.fpidx")
    py, js = files["billing1.py"].split("\n"), files["ledger2.js"].split("\n")
    renamed = re.sub(r"\b(" + "|".join(WORDS) + r")\b", lambda m: m.group()[::-1], "\n".join(js[30:60]))
    text = (
        "Why is this slow?\n\n```python\n"
        + "\n".join(py[20:50])
        + "\n```\n\nAnd this one, which is mine:\n\n"
        + renamed
        + "\n\nThanks for looking at it.\n"
        + generated_module(random.Random(7), python_function, 6)
        + "\n\nAnd later on:\n\n"
        + "\n".join(py[100:130])
        + "\n\nThat is all.\n"
    )

    def digest(*arrays: np.ndarray) -> str:
        return hashlib.sha256(b"".join(a.tobytes() for a in arrays)).hexdigest()[:16]

    prints = text_fingerprints(text)
    query, fids = index.lookup(prints.hashes)
    order = np.lexsort((fids, query))
    assert (len(prints.hashes), digest(*prints[:4])) == (855, "67c14e141fca75a3")  # hashes, lines, end lines, tokens
    assert prints.shapes.tolist() == np.cumsum(kinds_of(prints.hashes) % 3 == 0).tolist()  # SHAPE and SHAPE_LITERALS
    assert (len(query), digest(query[order].astype(np.int64), fids[order].astype(np.uint32))) == (350, "ecb58761bab77b02")
    found = [("org/billing1.py", 132, 4, 33), ("org/billing1.py", 137, 71, 174), ("org/ledger2.js", 53, 37, 68)]
    assert [(m.file, m.fingerprints, m.first_line, m.last_line) for m in match(index, text, 6, 30)] == found
    monkeypatch.setattr(fingerprint, "_paste_around", lambda lines, first, last: (first, last))  # the regions, unwidened
    unwidened = [("org/billing1.py", 132, 4, 33), ("org/billing1.py", 137, 145, 173), ("org/ledger2.js", 53, 40, 61)]
    fresh = FingerprintIndex(tmp_path / "i.fpidx")  # no results remembered
    assert [(m.file, m.fingerprints, m.first_line, m.last_line) for m in match(fresh, text, 6, 30)] == unwidened


def test_a_paste_of_mostly_comments_is_caught_and_comments_several_files_share_are_not(tmp_path):
    import random

    from llm_dlp.detect.fingerprint import FingerprintIndex, build_index, match

    rng = random.Random(5)
    licence = "".join(f"// {line}\n" for line in NOTICE.split("\n"))  # in every file: boilerplate

    def remark() -> str:  # a comment of one file's own
        return "".join("// " + " ".join(rng.choice(WORDS + ["the", "of", "is", "when"]) for _ in range(10)) + "\n" for _ in range(8))

    repo = tmp_path / "org"
    repo.mkdir()
    remarks, stock = [remark() for _ in range(12)], remark()  # stock: a comment two files repeat
    for n, own in enumerate(remarks):
        (repo / f"m{n}.js").write_text(licence + own + generated_module(rng, js_function, 3) + (stock if n < 2 else ""))
    build_index([repo], tmp_path / "i.fpidx")
    index = FingerprintIndex(tmp_path / "i.fpidx")
    paste = f"Is this note still right?\n\n{remarks[4]}let limit = 3;\n"
    assert [m.file for m in match(index, paste, 6, 30)] == ["org/m4.js"]
    words = remarks[4].replace("// ", "").upper().split()
    rewrapped = "/*\n" + "".join(" * " + " ".join(words[i : i + 16]) + "\n" for i in range(0, len(words), 16)) + " */\nlet limit = 3;\n"
    assert [m.file for m in match(index, rewrapped, 6, 30)] == ["org/m4.js"]
    assert match(index, licence + generated_module(random.Random(8), js_function, 3), 6, 30) == []
    assert match(index, f"Is this note still right?\n\n{stock}let limit = 3;\n", 6, 30) == []


NOTICE = (
    "Copyright the Example Ledger authors. Licensed under the terms of the licence that comes with\n"
    "this distribution; you may not use this file except in compliance with it. Unless required by\n"
    "law or agreed to in writing, it is distributed on an as is basis, without warranties of any kind."
)


SETTLEMENT = """class Settlement:
    def __init__(self, ledger, limit):
        self.ledger = ledger
        self.limit = limit

    def settle(self, batch, holds):
        pending = [entry for entry in batch if entry.amount > 0 and not entry.reversed]
        for entry in pending:
            account = self.ledger.accounts[entry.account_id]
            if account.balance + entry.amount > self.limit or account.frozen:
                holds.append((entry, account.owner, account.balance))  # over the limit: a clerk decides
                continue
            account.balance += entry.amount
            self.ledger.post(entry, account, when=entry.booked_at, batch=batch.number)
        return self.ledger.summary(pending, holds)
"""
# Lines of it as black -l 60 writes them (calls exploded, one argument a line, a trailing comma),
# every name renamed, the comment dropped: 31 tokens of code.
FORMATTED_RENAMED = """                or wallet.locked
            ):
                parked.push(
                    (item, wallet.holder, wallet.funds)
                )
                continue
            wallet.funds += item.sum
            self.book.record(
                item,
                wallet,
                at=item.dated,
"""


def test_a_formatted_renamed_paste_is_caught_by_its_unbroken_run_of_shapes(tmp_path, monkeypatch):
    from llm_dlp.detect import fingerprint
    from llm_dlp.detect.fingerprint import SHAPE, FingerprintIndex, build_index, match

    monkeypatch.setattr(fingerprint, "SHORT_SHARE", 2.0)  # the run alone (the paste is short: its piece would match too)
    (tmp_path / "org").mkdir()
    (tmp_path / "org" / "settle.py").write_text(SETTLEMENT)
    build_index([tmp_path / "org"], tmp_path / "i.fpidx")
    _, kinds = by_kind(FORMATTED_RENAMED)
    assert kinds.tolist().count(SHAPE) < 10  # fewer than the shapes apart need, and nothing else is alike
    assert [m.file for m in match(FingerprintIndex(tmp_path / "i.fpidx"), FORMATTED_RENAMED, 6, 30)] == ["org/settle.py"]
    edited = FORMATTED_RENAMED.replace("wallet.funds += item.sum", "wallet.funds -= 2 * item.sum")  # a run broken in two
    assert match(FingerprintIndex(tmp_path / "i.fpidx"), edited, 6, 30) == []
    monkeypatch.setattr(fingerprint, "SHAPE_RUN_WEIGHT", 0.0)  # the same shapes, counted apart
    assert match(FingerprintIndex(tmp_path / "i.fpidx"), FORMATTED_RENAMED, 6, 30) == []


def test_a_string_holding_interpolation_marks_lexes_alike_in_either_quotes():
    # Formatters swap quotes (black and prettier write "..." for '...'): what reads as code in one
    # must read so in the other.
    single = "PATTERNS = ['$sinh', '${prefix}/bin', '#{count} items', 'cost: $5']\n"
    double = single.replace("'", '"')
    for language in ("python", "generic", "c-like", "php", "ruby", "shell"):
        assert tokenise(single, language)[0].tolist() == tokenise(double, language)[0].tolist()


def test_a_public_table_of_http_statuses_is_no_evidence_but_the_code_beside_it_is(tmp_path):
    from http import HTTPStatus

    from llm_dlp.detect.fingerprint import FingerprintIndex, build_index, match

    private = "\n".join(
        f"def settle_{n}(ledger, amount):\n    fee = ledger.rate('tier-{n}') * amount\n    ledger.post('fees/{n}', fee, {n + 11})\n"
        f"    return ledger.balance('acct-{n}') - fee\n"
        for n in range(6)
    )
    table = "".join(f"  {s.value} => '{s.phrase}',\n" for s in HTTPStatus)  # IANA's registry, copied
    (tmp_path / "org").mkdir()
    (tmp_path / "org" / "status.rb").write_text(f"STATUS = {{\n{table}}}\n\n{private}")
    build_index([tmp_path / "org"], tmp_path / "i.fpidx")
    index = FingerprintIndex(tmp_path / "i.fpidx")
    php = "<?php\nfinal class Phrases\n{\n    private const PHRASES = [\n" + table.replace("  ", "        ") + "    ];\n}\n"
    assert match(index, php, 6, 30) == []
    assert [m.file for m in match(index, private, 6, 30)] == ["org/status.rb"]


NUMBERINGS = {
    "cat -n, nl -ba": lambda n, line: f"{n:>6}\t{line}",
    "an arrow": lambda n, line: f"{n:>6}\u2192{line}",
    "a colon": lambda n, line: f"{n}:{line}",
    "an excerpt's bar": lambda n, line: f"{n:>4} | {line}",
}


@pytest.mark.parametrize("number", NUMBERINGS.values(), ids=NUMBERINGS.keys())
def test_a_numbered_listing_fingerprints_as_its_code(number):
    """A file read through an assistant's tool (Claude Code's Read, `cat -n`, `nl -ba`) arrives
    with each line's number before it, from wherever the read started."""
    listing = "\n".join(number(120 + n, line) for n, line in enumerate(CODE.split("\n")))
    bare, read = text_fingerprints(CODE), text_fingerprints(listing)
    assert read.hashes.tolist() == bare.hashes.tolist() and read.lines.tolist() == bare.lines.tolist()
    in_chat = text_fingerprints(f"Why is this slow?\n```\n{listing}\n```\n")
    assert in_chat.hashes.tolist() == bare.hashes.tolist() and in_chat.lines.tolist() == (bare.lines + 2).tolist()


def test_numbers_that_start_lines_of_code_are_left_alone():
    from llm_dlp.detect.fingerprint import NUMBERED_RUN, without_line_numbers

    keys = "codes = {\n" + "".join(f"    {n}: 'x{n}',\n" for n in range(1, NUMBERED_RUN)) + "}\n"  # too few to be a listing
    unordered = "".join(f"{n}:\tstep {n}\n" for n in (3, 1, 4, 1, 5, 9, 2, 6))  # not one after another
    gapped = "".join(f"{n}\tline\n" for n in (1, 2, 4, 5, 7, 8))
    for text in (keys, unordered, gapped, CODE):
        assert without_line_numbers(text) == text
    listing = "".join(f"{n:>6}\t{line}\n" for n, line in enumerate(["a = 1", "", "  b = a", "c = b"], 7))
    assert without_line_numbers(listing) == "a = 1\n\n  b = a\nc = b\n"  # numbered blank lines, indentation kept
    wide = "".join(f"{n}\u2192\U0001f600 {n}\n" for n in range(9, 13))  # 4 bytes a character, a run from 9 to 12
    assert without_line_numbers(wide) == "".join(f"\U0001f600 {n}\n" for n in range(9, 13))
    ids = "".join(f"{n}\tid\n" for n in range(1234567890, 1234567894))  # ten digits: no line number
    assert without_line_numbers(ids) == ids


def test_a_numbered_read_of_an_indexed_file_is_matched_and_withheld_whole(tmp_path):
    from llm_dlp.detect.fingerprint import FingerprintIndex, build_index, match

    source = (SITE / "h11" / "_connection.py").read_text().split("\n")
    (tmp_path / "org").mkdir()
    (tmp_path / "org" / "conn.py").write_text("\n".join(source))
    build_index([tmp_path / "org"], tmp_path / "i.fpidx")
    index = FingerprintIndex(tmp_path / "i.fpidx")
    start = next(n for n, line in enumerate(source) if line.startswith("    def ") and n > 200)
    read = "\n".join(f"{start + 1 + n:>6}\t{line}" for n, line in enumerate(source[start : start + 30]))
    found = match(index, read, 6, 30)
    assert [(m.file, m.first_line, m.last_line) for m in found] == [("org/conn.py", 1, 30)]


def test_tokens_after_a_bracketed_import_keep_their_lines():
    """The import's own lines make no tokens but still count: a match's lines are the text's."""
    text = "from billing import (\n    Ledger,\n    Rate,\n)\n\ntotal = Ledger(Rate(3))\n"
    assert set(tokenise(text, "python")[1].tolist()) == {6}
    assert set(tokenise("import {\n  a,\n  b,\n} from './x'\nrun(a, b)\n", "c-like")[1].tolist()) == {5}


def test_a_paste_cut_inside_a_docstring_keeps_the_words_of_its_file():
    """A read that stops inside a docstring (a tool's line limit, a selection) leaves it unclosed:
    its rest is still the docstring's words, fingerprinted as prose as in the file."""
    from llm_dlp.detect.fingerprint import PROSE

    source = (SITE / "h11" / "_connection.py").read_text()
    lines = source.split("\n")
    opener = next(n for n, line in enumerate(lines) if line.strip().startswith('"""') and not line.strip().endswith('"""') and n > 100)
    cut = "\n".join(lines[opener - 1 : opener + 12])  # the def, then the docstring's first 12 lines
    assert '"""' not in cut.split("\n", 2)[2]  # left open
    prints = fingerprints(cut, "python")
    prose = prints.hashes[kinds_of(prints.hashes) == PROSE]
    assert len(prose) and set(prose.tolist()) <= set(fingerprints(source, "python").hashes.tolist())
