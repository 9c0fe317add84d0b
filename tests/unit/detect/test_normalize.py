"""Reading views: what the detector reads, and how its offsets map back to the original."""

import random

from llm_dlp.detect import normalize
from llm_dlp.detect.normalize import json_unescaped, lines_joined, normalised, reading_view, rebuild


def _back(view, sub: str) -> tuple[int, int]:
    start = view.text.index(sub)
    return view.span(start, start + len(sub))


def test_ascii_text_is_its_own_view():
    view = reading_view("plain ascii text")
    assert view.text == "plain ascii text" and not view.changed


def test_invisible_characters_are_removed_and_kept_inside_the_mapped_span():
    original = "key=ab\u200bcd\u00adef end"
    view = normalised(original)
    assert view.text == "key=abcdef end"
    s, e = _back(view, "abcdef")
    assert original[s:e] == "ab\u200bcd\u00adef"


def test_invisible_characters_at_the_edges_stay_outside_the_span():
    original = "x \u200babc\u200d y"
    view = normalised(original)
    s, e = _back(view, "abc")
    assert original[s:e] == "abc"


def test_fullwidth_and_confusable_letters_fold_to_latin():
    original = "\uff21KIA" + "\u0430\u0435\u043e" + "\u0391"
    view = normalised(original)
    assert view.text == "AKIAaeoA"
    assert view.span(0, len(view.text)) == (0, len(original))


def test_text_that_reads_the_same_is_unchanged():
    assert not normalised("naïve café — 東京").changed


def test_expanding_compatibility_character_maps_to_itself():
    original = "a\ufb01b"  # the fi ligature reads as two letters
    view = normalised(original)
    assert view.text == "afib"
    assert view.span(1, 3) == (1, 2) and view.span(2, 4) == (1, 3)


def test_json_escapes_are_undone_with_offsets_into_the_escaped_text():
    original = r'{"k":"\u0041KIA\n\"x\"\ud83d\ude00z"}'
    view = json_unescaped(original)
    assert view.text == '{"k":"AKIA\n"x"\U0001f600z"}'
    s, e = _back(view, "AKIA")
    assert original[s:e] == r"\u0041KIA"
    s, e = _back(view, "\U0001f600z")
    assert original[s:e] == r"\ud83d\ude00z"


def test_escaped_disguises_are_undone_and_normalised_in_one_view():
    original = r"id \u200bab\uff43d"
    view = reading_view(original)
    assert view.text == "id abcd"
    s, e = _back(view, "abcd")
    assert original[s:e] == r"ab\uff43d"


def test_plain_escapes_in_a_json_value_are_left_alone_except_in_a_raw_body():
    assert not reading_view(r"C:\new\path").changed
    assert reading_view(r"C:\new\path", raw=True).text == "C:\new\\path"


def test_breaks_between_token_pieces_are_removed_and_mapped_back():
    for text, joined in [
        ("k = abcd\nefgh", "k = abcdefgh"),
        ('k = "abcd" + "efgh"', 'k = "abcdefgh"'),
        ('k = ("abcd"\n     "efgh")', 'k = ("abcdefgh")'),
        ("k=abcd\\\n    efgh", "k=abcdefgh"),
    ]:
        view = lines_joined([text])[0]
        assert view.text == joined
        start = joined.index("abcd")
        assert view.span(start, start + 8) == (text.index("abcd"), text.index("efgh") + 4)


def test_joins_are_found_in_each_of_many_texts_and_never_across_them():
    views = lines_joined(["abcd", "efgh\nijkl", "mnop\n", "qrst"])
    assert [v.text for v in views] == ["abcd", "efghijkl", "mnop\n", "qrst"]


def test_indented_lines_and_short_words_are_not_joined():
    for text in ("if x:\n    return value", "one\ntwo", "abcd\n efgh", 'f("ab", "cd")'):
        assert not lines_joined([text])[0].changed


def test_an_inner_part_of_a_view_maps_to_the_same_original():
    text = 'x {"v": "a\\u0062cd"} y'
    view = reading_view(text)
    start = view.text.index("abcd")
    inner = view.inner(start, start + 4)
    assert inner.text == "abcd" and inner.span(0, 4) == (text.index("a\\u"), text.index("cd") + 2)
    assert inner.position(text.index("cd")) == 2


def _spliced(text: str, replacements: list[tuple[int, int, str]]) -> str:
    pieces, pos = [], 0
    for start, end, new in replacements:
        pieces += [text[pos:start], new]
        pos = end
    return "".join([*pieces, text[pos:]])


def test_a_part_of_a_view_is_that_slice_of_its_text_without_building_it():
    rng = random.Random(3)
    for _ in range(500):
        text = "".join(rng.choice("ab\u200b\n") for _ in range(rng.randint(1, 40)))
        replacements, pos = [], 0
        while pos < len(text) and rng.random() < 0.8:  # replacements that grow, shrink, remove, touch
            start = rng.randint(pos, len(text))
            end = min(len(text), start + rng.randint(0, 3))
            replacements.append((start, end, "XYZ"[: rng.randint(0, 3)]))
            pos = end + (end == start)
        view, expected = rebuild(text, replacements), _spliced(text, replacements)
        assert view.length == len(expected)
        for _ in range(10):
            start = rng.randint(0, len(expected))
            end = rng.randint(start, len(expected))
            assert view.part(start, end) == expected[start:end]
        assert view.text == expected


def test_a_scan_around_edits_builds_no_whole_view():
    view = reading_view("x" * 1000 + r"\u0041" + "y" * 1000)
    assert view.part(990, 1010) == "x" * 10 + "A" + "y" * 9
    assert view._text is None  # the whole text is built only when read
    assert view.text == "x" * 1000 + "A" + "y" * 1000


def test_characters_are_read_in_pieces_exactly_as_in_one(monkeypatch):
    # disguises on both sides of every piece boundary, including a character beyond U+FFFF
    rng = random.Random(4)
    text = "".join(rng.choice(["ab", "\u200b", "\uff43", "\u0430", "\U0001d400", "\u00e9", "\n", "-"]) for _ in range(400))
    whole = reading_view(text)
    for piece in (1, 2, 3, 7, 64):
        monkeypatch.setattr(normalize, "CHAR_PIECE", piece)
        pieces = reading_view(text)
        assert (pieces.text, pieces.edits) == (whole.text, whole.edits)


def test_every_character_that_folds_is_one_the_quick_test_keeps():
    # the table of characters that read differently is built from those _may_fold keeps: one it
    # passed over and _fold changes would never be looked at in a text
    missed = [code for code in range(0x80, 0x10000) if not normalize._may_fold(chr(code)) and normalize._fold(chr(code)) != chr(code)]
    assert missed == []
    assert all(normalize._may_fold(ch) for ch in ("\u200b", "\uff21", "а", "\u00ad"))
