"""Recall on examples drawn from other scanners' public rule sets: for each rule, a random value
of its secret group, put in 30 assignment shapes (code, config, markup, CSV), each case scanned
alone as `llm-dlp scan --protocol text` scans it; a case counts only when one finding covers the
whole value.

    .venv/bin/python bench/public_rules.py [--kingfisher BIN] [--gitleaks CONFIG.toml] [--misses]

--kingfisher: a Kingfisher binary (default: the one `deploy/bootstrap.sh bench` installs from
PyPI's kingfisher-bin): the rule sets built into it (Betterleaks and Veles), read with `kingfisher rules list
--format json`. --gitleaks: a gitleaks configuration (its `regex` and `secretGroup`). Either
gives a measure on formats and contexts this project's own generator (tests/support/secretgen.py)
does not make.

Left out of scope, and counted apart: rules that find identifiers or public values (ids, names,
hosts, URLs, public keys), generic rules (passwords, private keys, JWTs: the engine benchmark
covers them), and values the generator drew from a class so wide that the value is noise (spaces,
quotes or backslashes inside, fewer than 8 characters). Nothing is written to the repository: the
rule sets are read where they are installed."""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tomllib
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import rstr

from llm_dlp.inspect.request import scan_segments
from llm_dlp.protocols.registry import REGISTRY
from llm_dlp.rules.files import bundled_rules_dir
from llm_dlp.rules.gitleaks import Unsupported, capture_groups, go_regex_to_python
from llm_dlp.rules.ruleset import load_ruleset
from llm_dlp.text.positions import occurrences

# Where a value is assigned to a name: {n} the name (from the rule's vendor), {v} the value.
SHAPES = [
    '{n}Token="{v}"', '{n}Token = "{v}"', "{n}Token={v}", "{n}Token = {v}",
    '{{\n    "{n}_token": "{v}"\n}}', '{{\\"{n}_token\\": \\"{v}\\"}}',
    "<{n}Token>{v}</{n}Token>", "<{n}Token>\n    {v}\n</{n}Token>",
    "{n}_token: {v}", "{n}_token: '{v}'", '{n}_token: "{v}"', "{n}_token: |\n  {v}", "{n}_token: >\n  {v}",
    'string {n}Token = "{v}";', 'var {n}Token string = "{v}"', '{n}Token := "{v}"', "{n}Token := `{v}`",
    'String {n}Token = "{v}";', 'var {n}Token = "{v}"', '${n}Token .= "{v}";', "{n}Token = '{v}'",
    'const {n}Token = "{v}";', "{n}Token,{v},", '  "{n}Token" => "{v}",',
    '{N}_TOKEN = "{v}"', '{N}_TOKEN := "{v}"', '{N}_TOKEN ::= "{v}"', '{N}_TOKEN ?= "{v}"', '{N}_TOKEN += "{v}"',
    'export {N}_TOKEN="{v}"',
]  # fmt: skip
OUT_OF_SCOPE = re.compile(
    r"generic|password|passwd|private-key|privatekey|pkcs12|jwt$|curl-auth|(?:^|[-_./])(?:id|ids|client-id|account-id|"
    r"app-id|tenant-id|user(?:name)?|[a-z]*-name|email|host|url|uri|domain|endpoint|bucket|public(?:-key)?|pubkey|recipient)(?:[-_.]\d+)?$"
)
NOISE = re.compile(r"[\s'\"`\\]")


@dataclass(frozen=True)
class Rule:
    source: str
    id: str
    pattern: str  # RE2 syntax, as the scanner's rule file spells it
    group: int = 1  # the capture group that holds the secret


def kingfisher_rules(binary: str) -> list[Rule]:
    listed = subprocess.run([binary, "rules", "list", "--format", "json"], capture_output=True, text=True, check=True)
    return [Rule(r["id"].split(".", 1)[0], r["id"].split(".", 1)[1], r["pattern"]) for r in json.loads(listed.stdout)]


def gitleaks_rules(path: Path) -> list[Rule]:
    config = tomllib.loads(path.read_text())
    return [Rule("gitleaks", r["id"], r["regex"], r.get("secretGroup") or 1) for r in config.get("rules", []) if "regex" in r]


def secret_source(rule: Rule) -> tuple[str, bool]:
    """The Python source of the rule's secret (its secret group, else the whole pattern), and
    whether the rule ignores case."""
    inline = re.search(r"(?<!^)\(\?i\)", rule.pattern)  # case-blind from there on: drawn case-blind
    python = go_regex_to_python(rule.pattern.replace("(?i)", "") if inline else rule.pattern)
    nocase = bool(inline) or python.startswith("(?i)")
    starts = capture_groups(python)
    if len(starts) < rule.group:
        return _plain(python), nocase
    depth, i = 0, starts[rule.group - 1]
    while True:  # the group's closing parenthesis
        c = python[i]
        if c == "\\":
            i += 2
            continue
        depth += (c == "(") - (c == ")")
        if depth == 0:
            break
        i += 1
    group = re.sub(r"^\((?:\?P?<\w+>)?", "", python[starts[rule.group - 1] : i])
    return _plain(group), nocase or "(?i" in group


def _plain(source: str) -> str:
    """What rstr can draw from: no flags, anchors or word boundaries."""
    source = re.sub(r"\(\?[imsx]+\)", "", source).replace("(?i:", "(?:").replace("(?-i:", "(?:")
    return re.sub(r"\\[bBAZ]|(?<![\\[])\^|(?<!\\)\$(?!\w)", "", source)


class _Drawer(rstr.Rstr):
    """rstr, with repeats of more than its 100-repeat cap drawn too (a {372} key)."""

    def _handle_repeat(self, start_range: int, end_range: int, value: str) -> str:
        times = self._random.randint(start_range, max(start_range, min(end_range, start_range + 60)))
        return "".join("".join(self._handle_state(i) for i in value) for _ in range(times))


def draw(source: str, nocase: bool, rnd: random.Random) -> str | None:
    """A value of ``source`` that is not noise; with ``nocase``, letters after the literal prefix in
    mixed case, as a real key of a case-blind pattern would be."""
    generator = _Drawer(rnd)
    for _ in range(30):
        value = generator.xeger(source)
        if len(value) >= 8 and not NOISE.search(value):
            break
    else:
        return None
    if nocase:
        fixed = len(re.match(r"[\w-]*", source).group())
        value = value[:fixed] + "".join(c.upper() if rnd.random() < 0.5 else c for c in value[fixed:])
    return value


def vendor_name(rule: Rule) -> str:
    """A name the rule's context would accept: the first word of a leading (?i)(?:word|...)
    group, else the rule id's first part."""
    lead = re.match(r"\(\?i\)\(\?:([\w.\\ -]+)[|)]", rule.pattern)
    name = lead.group(1).replace("\\", "") if lead else rule.id.split("/")[-1].split("-")[0]
    return re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_") or "vendor"


def found(detector, text: str, value: str) -> bool:
    parsed = REGISTRY.parse(text.encode(), "text", "", "")
    return any(
        f.start <= at and at + len(value) <= f.end
        for segment, f in scan_segments(detector, parsed.segments)
        for at in occurrences(segment.text, value)
    )


def main() -> int:
    if os.environ.get("PYTHONHASHSEED") != "0":  # rstr draws from sets of characters: fix their order
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, "PYTHONHASHSEED": "0"})
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    installed = Path(sys.executable).parent / "kingfisher"
    ap.add_argument(
        "--kingfisher",
        default=str(installed) if installed.exists() else None,
        help="a Kingfisher binary, whose built-in rule sets are read (default: the one bootstrap.sh bench installs)",
    )
    ap.add_argument("--gitleaks", type=Path, help="a gitleaks configuration file")
    ap.add_argument("--rules", type=Path, help="llm-dlp rules directory (default: the bundled rules)")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--misses", action="store_true", help="print one missed case per rule")
    args = ap.parse_args()
    if not (args.kingfisher or args.gitleaks):
        ap.error("no Kingfisher installed (deploy/bootstrap.sh bench): give --kingfisher BIN and/or --gitleaks CONFIG.toml")
    rules = (kingfisher_rules(args.kingfisher) if args.kingfisher else []) + (gitleaks_rules(args.gitleaks) if args.gitleaks else [])
    detector = load_ruleset(args.rules or bundled_rules_dir()).detector
    skipped: Counter[str] = Counter()
    cases: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_shape: Counter[str] = Counter()
    missed: dict[tuple[str, str], str] = {}
    misses: Counter[tuple[str, str]] = Counter()
    for rule in rules:
        if OUT_OF_SCOPE.search(rule.id):
            skipped["out of scope"] += 1
            continue
        try:
            value = draw(*secret_source(rule), random.Random(f"{args.seed}:{rule.source}:{rule.id}"))  # per rule: any order
        except (Unsupported, re.error, ValueError, IndexError):
            value = None
        if value is None:
            skipped["no value could be drawn"] += 1
            continue
        name = vendor_name(rule)
        for shape in SHAPES:
            text = shape.format(n=name, N=name.upper(), v=value)
            hit = found(detector, text, value)
            cases[rule.source][0] += 1
            cases[rule.source][1] += hit
            if not hit:
                by_shape[shape] += 1
                missed.setdefault((rule.source, rule.id), text)
                misses[rule.source, rule.id] += 1
    print(f"{'rule set':14} {'rules':>6} {'cases':>7} {'whole':>7}")
    for source, (n, hit) in sorted(cases.items()):
        print(f"{source:14} {n // len(SHAPES):6} {n:7} {hit / n:7.1%}")
    total, hits = sum(n for n, _ in cases.values()), sum(h for _, h in cases.values())
    print(f"{'all':14} {total // len(SHAPES):6} {total:7} {hits / max(total, 1):7.1%}")
    print("rules left out: " + ", ".join(f"{n} {why}" for why, n in skipped.items()))
    print(f"rules with a miss: {len(missed)}; misses per shape (the most missed first):")
    for shape, n in by_shape.most_common(8):
        print(f"  {n:5}  {shape!r}")
    if args.misses:
        for (source, rule_id), text in sorted(missed.items()):
            print(f"{source}/{rule_id} ({misses[source, rule_id]} of {len(SHAPES)}): {text[:160]!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
