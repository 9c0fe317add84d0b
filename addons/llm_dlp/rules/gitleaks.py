"""Converting a gitleaks configuration (TOML) into an llm-dlp rule file.

Pure: ``convert(toml_text)`` returns the rule-file document and one note per rule that could not
be carried over whole. Nothing is dropped silently: a rule that cannot be converted is listed with
the reason, and so is every part of a converted rule that llm-dlp ignores (file paths, commits).

What maps: regex (Go RE2 syntax rewritten for Python where the two differ), secretGroup (the
group becomes ``(?P<secret>...)``), entropy (min_entropy), keywords, per-rule and global
allowlists (regexes on the secret, stopwords). What does not: rules that only match file paths,
a path condition on a rule (a request has no file path to test), allowlists on the match or the
line, AND-conditions, and RE2 syntax Python lacks (Unicode classes, flags switched on mid-pattern,
ungreedy mode)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_POSIX = {
    "alnum": "A-Za-z0-9",
    "alpha": "A-Za-z",
    "digit": "0-9",
    "xdigit": "0-9A-Fa-f",
    "upper": "A-Z",
    "lower": "a-z",
    "space": r" \t\r\n\v\f",
    "blank": r" \t",
    "punct": r"!-/:-@\[-`{-~",
    "word": r"\w",
    "cntrl": r"\x00-\x1f\x7f",
    "print": r" -~",
    "graph": r"!-~",
}


class Unsupported(Exception):
    """A construct the conversion cannot carry over; the message says which."""


@dataclass
class Note:
    rule: str  # the gitleaks rule id, or "(global)" for the file-wide parts
    converted: bool
    message: str

    def __str__(self) -> str:
        return f"{self.rule}: {'converted, but ' if self.converted else 'not converted: '}{self.message}"


@dataclass
class Conversion:
    document: dict
    notes: list[Note] = field(default_factory=list)

    @property
    def skipped(self) -> list[str]:
        return [n.rule for n in self.notes if not n.converted]


def go_regex_to_python(source: str) -> str:
    """Rewrite the RE2 constructs whose Python spelling differs; raise Unsupported for the rest."""
    if re.search(r"\\[pP][{A-Za-z]", source):
        raise Unsupported("Unicode character classes (\\p{...}) have no Python equivalent")
    if re.search(r"\(\?[a-zA-Z]*U", source):
        raise Unsupported("ungreedy mode (?U) has no Python equivalent")
    if "\\C" in source:
        raise Unsupported("\\C (any byte) has no Python equivalent")
    source = re.sub(r"\\Q(.*?)(?:\\E|$)", lambda m: re.escape(m.group(1)), source, flags=re.DOTALL)
    source = re.sub(r"\[:(\^?)([a-z]+):\]", _posix_class, source)
    source = re.sub(r"\(\?<(?![=!])(\w+)>", r"(?P<\1>", source)
    source = source.replace(r"\z", r"\Z")
    flags = list(re.finditer(r"\(\?([imsU]+)\)", source))
    if flags and (flags[0].start() != 0 or len(flags) > 1):
        raise Unsupported("a flag group (?i) that is not at the start of the pattern (Python applies flags to the whole pattern only)")
    return source


def _posix_class(m: re.Match[str]) -> str:
    negate, name = m.groups()
    if name not in _POSIX:
        raise Unsupported(f"unknown POSIX class [:{name}:]")
    if negate:
        raise Unsupported(f"negated POSIX class [:^{name}:]")
    return _POSIX[name]


def capture_groups(source: str) -> list[int]:
    """Offsets of the '(' of every capturing group, in group-number order."""
    starts, i, in_class = [], 0, False
    while i < len(source):
        c = source[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            i += 1 + source.startswith("^", i + 1)
            i += source.startswith("]", i)  # a leading ] is a literal
            continue
        elif c == "(" and _capturing(source, i):
            starts.append(i)
        i += 1
    return starts


def _capturing(source: str, i: int) -> bool:
    if not source.startswith("(?", i):
        return True
    return source.startswith("(?P<", i) or (source.startswith("(?<", i) and not source.startswith(("(?<=", "(?<!"), i))


def with_secret_group(source: str, group: int) -> str:
    """The pattern with capturing group number ``group`` named ``secret``."""
    starts = capture_groups(source)
    if group > len(starts):
        raise Unsupported(f"secretGroup {group} but the regex has {len(starts)} capture groups")
    at = starts[group - 1]
    named = re.match(r"\(\?P?<\w+>", source[at:])
    head = named.end() if named else 1
    return source[:at] + "(?P<secret>" + source[at + head :]


def rule_id(raw: str, prefix: str) -> str:
    clean = re.sub(r"[^a-z0-9._-]+", "-", raw.lower()).strip("-._") or "rule"
    return (prefix + clean)[:64].rstrip("-._")


def _allow(entries: list[dict], where: str, notes: list[Note], converted: bool = True) -> dict:
    """Allowlist entries -> an llm-dlp allow list; what it cannot use is noted."""
    patterns: list[str] = []
    for entry in entries:
        target = entry.get("regexTarget", "secret")
        kinds = [k for k in ("regexes", "stopwords", "paths", "commits") if entry.get(k)]
        if str(entry.get("condition", "OR")).upper() == "AND" and len(kinds) > 1:
            notes.append(
                Note(where, converted, f"an allowlist with condition AND over {', '.join(kinds)} is left out (llm-dlp allow lists are OR)")
            )
            continue
        for regex in entry.get("regexes", []):
            if target != "secret":
                notes.append(Note(where, converted, f"an allowlist regex on the {target} (not the secret) is left out: {regex!r}"))
                continue
            try:
                patterns.append(_checked(go_regex_to_python(regex)))
            except Unsupported as exc:
                notes.append(Note(where, converted, f"an allowlist regex is left out ({exc}): {regex!r}"))
        patterns += ["(?i)" + re.escape(word) for word in entry.get("stopwords", [])]
        for kind in ("paths", "commits"):
            if entry.get(kind):
                notes.append(Note(where, converted, f"allowlist {kind} are ignored: a request has no {kind[:-1]}"))
    return {"patterns": patterns} if patterns else {}


def _checked(source: str) -> str:
    try:
        re.compile(source)
    except re.error as exc:
        raise Unsupported(f"Python cannot compile it: {exc}") from None
    return source


def _rule_allowlists(rule: dict) -> list[dict]:
    """Both spellings: [rules.allowlist] (one table) and [[rules.allowlists]] (a list)."""
    single = rule.get("allowlist")
    return ([single] if single else []) + list(rule.get("allowlists", []))


def convert_rule(rule: dict, prefix: str, action: str, notes: list[Note]) -> dict | None:
    gid = str(rule.get("id", "")) or "(no id)"
    if "regex" not in rule:
        notes.append(Note(gid, False, "a path-only rule (no regex): llm-dlp inspects content, not file names"))
        return None
    if rule.get("path"):
        notes.append(
            Note(
                gid,
                False,
                f"its path condition {rule['path']!r} cannot apply to a request, and the regex alone would match more than the rule does",
            )
        )
        return None
    try:
        source = go_regex_to_python(rule["regex"])
        if rule.get("secretGroup"):
            source = with_secret_group(source, int(rule["secretGroup"]))
        elif len(capture_groups(source)) >= 1:
            if len(capture_groups(source)) > 1:
                notes.append(
                    Note(
                        gid,
                        True,
                        "no secretGroup and several groups: the first group is the secret (gitleaks takes the first non-empty one)",
                    )
                )
            source = with_secret_group(source, 1)
        source = _checked(source)
    except Unsupported as exc:
        notes.append(Note(gid, False, str(exc)))
        return None
    out: dict = {
        "id": rule_id(gid, prefix),
        "description": rule.get("description") or f"gitleaks rule {gid}",
        "action": action,
        "patterns": [source],
    }
    if rule.get("keywords"):
        out["keywords"] = [k for k in rule["keywords"] if len(k) >= 2]
    if rule.get("entropy"):
        out["min_entropy"] = min(float(rule["entropy"]), 8.0)
    allow = _allow(_rule_allowlists(rule), gid, notes)
    if allow:
        out["allow"] = allow
    for ignored in sorted(
        set(rule) - {"id", "description", "regex", "secretGroup", "entropy", "keywords", "allowlist", "allowlists", "tags", "path"}
    ):
        notes.append(Note(gid, True, f"field {ignored!r} has no llm-dlp equivalent and is ignored"))
    return out


def convert(toml_text: str, prefix: str = "gitleaks.", action: str = "redact") -> Conversion:
    """A gitleaks TOML configuration -> an llm-dlp rule-file document and notes. Raises
    tomllib.TOMLDecodeError on invalid TOML."""
    config = tomllib.loads(toml_text)
    notes: list[Note] = []
    if config.get("extend"):
        notes.append(
            Note(
                "(global)",
                True,
                "[extend] is not followed: gitleaks' default rules are not imported (llm-dlp's bundled rules cover the common providers)",
            )
        )
    secrets, seen = [], set()
    for rule in config.get("rules", []):
        converted = convert_rule(rule, prefix, action, notes)
        if converted is None:
            continue
        if converted["id"] in seen:
            notes.append(Note(str(rule.get("id")), False, f"its id becomes {converted['id']!r}, already used by an earlier rule"))
            continue
        seen.add(converted["id"])
        secrets.append(converted)
    document: dict = {"version": 1}
    global_lists = ([config["allowlist"]] if config.get("allowlist") else []) + list(config.get("allowlists", []))
    allow = _allow(global_lists, "(global)", notes)
    if allow:
        document["allow"] = allow
    document["secrets"] = secrets
    return Conversion(document, notes)
