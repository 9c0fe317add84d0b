"""Fuzzing rule files: arbitrary text and arbitrary YAML documents load, or fail with a
RuleFileError naming the file: never another exception."""

from __future__ import annotations

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llm_dlp.rules.files import SECTIONS, RuleFileError
from llm_dlp.rules.ruleset import disarm_errors, load_ruleset

FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
KEYS = st.sampled_from([*SECTIONS, "id", "action", "patterns", "hosts", "protocol", "enabled", "version", "identity", "x"])
SCALARS = (
    st.none() | st.booleans() | st.integers() | st.text(max_size=12) | st.sampled_from(["redact", "block", "[", "(?P<", "*", "openai"])
)
YAMLISH = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=4), max_leaves=14)


def load(tmp_path, text: str) -> None:
    (tmp_path / "r.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        disarm_errors(load_ruleset(tmp_path))
    except RuleFileError as exc:
        assert exc.errors and all(e.file.endswith("r.yaml") for e in exc.errors)


@FUZZ
@given(text=st.text(st.characters(exclude_categories=["Cs"]), max_size=200))
def test_arbitrary_text(tmp_path, text):
    load(tmp_path, text)


@FUZZ
@given(doc=st.dictionaries(KEYS, YAMLISH, max_size=4))
def test_arbitrary_documents(tmp_path, doc):
    load(tmp_path, yaml.safe_dump(doc))
