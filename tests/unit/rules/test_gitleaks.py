"""Converting gitleaks configurations: what maps, what is reported, and that the result loads
and detects like a hand-written rule file."""

import random
import string

import pytest
import yaml

from llm_dlp.rules.gitleaks import Unsupported, capture_groups, convert, go_regex_to_python, with_secret_group
from llm_dlp.rules.ruleset import load_ruleset

CONFIG = """
title = "an organisation's gitleaks configuration"

[extend]
useDefault = true

[allowlist]
regexes = ['''^test-[a-z]+$''']
stopwords = ["dummyvalue"]
paths = ['''(?:^|/)vendor/''']

[[rules]]
id = "acme-api-token"
description = "Acme API token"
regex = '''\\b(acme_[a-zA-Z0-9]{32})(?:['"\\s;]|$)'''
secretGroup = 1
entropy = 3.2
keywords = ["acme_"]
tags = ["internal"]

  [rules.allowlist]
  regexes = ['''acme_0{32}''']
  stopwords = ["exampl"]

[[rules]]
id = "Internal Service Key"
regex = '''(?i)(?:svc|service)[_-]?key\\s*[:=]\\s*["']?([[:alnum:]]{24})["']?'''

[[rules]]
id = "two-groups"
regex = '''(host|svc)=(k[0-9]{12})'''
secretGroup = 2

[[rules]]
id = "pkcs12-file"
path = '''\\.p12$'''

[[rules]]
id = "ini-password"
regex = '''password=\\S+'''
path = '''config/.*\\.ini'''

[[rules]]
id = "greek"
regex = '''\\p{Greek}{10}'''

[[rules]]
id = "mid-flag"
regex = '''key_(?i)[a-z]{10}'''

[[rules]]
id = "line-allowlist"
regex = '''zz_[0-9]{10}'''
[[rules.allowlists]]
regexTarget = "line"
regexes = ['''^#''']
"""


def _token(rng: random.Random) -> str:
    return "acme_" + "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(30)) + "7Q"


@pytest.fixture
def converted(tmp_path):
    conversion = convert(CONFIG)
    (tmp_path / "imported.yaml").write_text(yaml.safe_dump(conversion.document, sort_keys=False))
    return conversion, load_ruleset(tmp_path)


def test_fields_map_and_the_result_loads_into_the_prefiltered_database(converted):
    conversion, ruleset = converted
    rules = {r.id: r for r in ruleset.rules}
    acme = rules["gitleaks.acme-api-token"]
    assert acme.min_entropy == 3.2 and acme.patterns[0].regex.groupindex == {"secret": 1}
    assert "gitleaks.internal-service-key" in rules and "gitleaks.two-groups" in rules
    assert ruleset.detector.slow_rule_ids() == []  # every converted pattern is hyperscan-prefiltered
    token = _token(random.Random())
    text = f'ACME_TOKEN = "{token}"\n'
    found = [f for f in ruleset.detector.scan(text) if f.rule_id == acme.id]
    assert [text[f.start : f.end] for f in found] == [token]
    found = ruleset.detector.scan("host=svc=k123456789012 ")
    assert [f.value for f in found] == ["k123456789012"]


def test_allowlists_rule_and_global(converted):
    _, ruleset = converted
    det = ruleset.detector
    assert not det.scan('x = "acme_' + "0" * 32 + '"\n')
    assert not det.scan('x = "acme_exampl' + "a1" * 13 + '"\n')  # the rule's stopword
    assert not det.scan('x = "acme_dummyvalue' + "b2" * 11 + '"\n')  # the global stopword


def test_every_unsupported_construct_is_reported_per_rule(converted):
    conversion, ruleset = converted
    skipped = set(conversion.skipped)
    assert skipped == {"pkcs12-file", "ini-password", "greek", "mid-flag"}
    assert not {r.id for r in ruleset.rules} & {"gitleaks." + s for s in skipped}
    text = "\n".join(str(n) for n in conversion.notes)
    assert "path-only" in text and "Unicode" in text and "not at the start" in text
    assert "[extend]" in text and "allowlist paths are ignored" in text
    assert "line-allowlist: converted, but an allowlist regex on the line" in text
    assert "field 'tags'" not in text  # tags are labels, nothing is lost


@pytest.mark.parametrize(
    "go, python",
    [
        ("[[:alnum:]]{4}", "[A-Za-z0-9]{4}"),
        ("a\\z", "a\\Z"),
        ("(?<v>x)", "(?P<v>x)"),
        ("\\Qa.b\\E+", "a\\.b+"),
    ],
)
def test_re2_rewrites(go, python):
    assert go_regex_to_python(go) == python


def test_capture_groups_skip_classes_escapes_and_non_capturing():
    source = r"[(]\((?:a)(?P<n>b)(?<=c)(d)[^)(](e)"
    assert [source[i : i + 4] for i in capture_groups(source)] == ["(?P<", "(d)[", "(e)"]
    assert with_secret_group(source, 3).endswith("(?P<secret>e)")
    with pytest.raises(Unsupported):
        with_secret_group("(a)", 2)
