from llm_dlp.text.positions import joined_starts, occurrences


def test_every_occurrence_overlapping_ones_too_in_str_and_bytes():
    assert list(occurrences("aaaa", "aa")) == [0, 1, 2]
    assert list(occurrences(b"x-ab-ab", b"ab")) == [2, 5]
    assert list(occurrences("abc", "z")) == []


def test_where_each_text_starts_once_joined():
    texts = ["ab", "", "cde"]
    for gap in (0, 1, 3):
        joined = ("-" * gap).join(texts)
        assert [joined[s : s + len(t)] for s, t in zip(joined_starts([len(t) for t in texts], gap), texts)] == texts
    assert joined_starts([2, 0, 3], 3) == [0, 5, 8]
