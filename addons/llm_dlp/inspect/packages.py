"""Package suggestions in model output, checked against the organisation's approved list.

Models invent package names; an attacker who registers the invented name gets installed
("slopsquatting"). We find install commands, import lines and manifest fragments in what the
model writes, and flag every package that is not approved. No network look-ups: an optional
local snapshot of a registry's names tells an unvetted package from one that does not exist."""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from llm_dlp.rules.files import Located, RuleError
from llm_dlp.text.globs import name_matches
from llm_dlp.text.markdown import code_blocks

ECOSYSTEMS = ("pypi", "npm", "cargo", "go", "rubygems")
UNAPPROVED, NOT_IN_REGISTRY = "unapproved", "not_in_registry"


@dataclass(frozen=True)
class PackageFinding:
    name: str
    ecosystem: str
    status: str  # unapproved (not on the list) or not_in_registry (not in the snapshot either)

    def to_dict(self) -> dict:
        return {"name": self.name, "ecosystem": self.ecosystem, "status": self.status}


@dataclass(frozen=True)
class EcosystemPolicy:
    ecosystem: str
    allow: tuple[str, ...]  # names or globs, compared case-insensitively
    snapshot: frozenset[str] | None
    note: bool

    def status(self, name: str) -> str | None:
        lowered = _normal(self.ecosystem, name)
        if name_matches(lowered, self.allow):
            return None
        if self.snapshot is not None and lowered not in self.snapshot:
            return NOT_IN_REGISTRY
        return UNAPPROVED


def _normal(ecosystem: str, name: str) -> str:
    name = name.lower()
    return re.sub(r"[-_.]+", "-", name) if ecosystem == "pypi" else name


# ---- finding package names in text -------------------------------------------------------------
_ARGS = r"\b(?P<args>[^\n`;&|]*)"
# Each pattern starts with a literal, so the regex engine can skip ahead to it: a 100 KB answer
# is searched in well under a millisecond. The word boundary before it is checked in code.
_COMMANDS = [
    (eco, re.compile(rx + _ARGS))
    for eco, rx in [
        ("pypi", r"pip3?\s+install"),
        ("pypi", r"python3?\s+-m\s+pip\s+install"),
        ("pypi", r"pipx\s+install"),
        ("pypi", r"uv\s+(?:pip\s+install|add)"),
        ("pypi", r"poetry\s+add"),
        ("pypi", r"pdm\s+add"),
        ("pypi", r"rye\s+add"),
        ("npm", r"npm\s+(?:install|i|add)"),
        ("npm", r"yarn\s+(?:global\s+)?add"),
        ("npm", r"pnpm\s+(?:add|install|i)"),
        ("npm", r"bun\s+add"),
        ("cargo", r"cargo\s+(?:add|install)"),
        ("go", r"go\s+(?:get|install)"),
        ("rubygems", r"gem\s+install"),
    ]
]
_PY_IMPORT = re.compile(r"^\s*(?:from\s+([A-Za-z_]\w*)(?:\.\w+)*\s+import|import\s+([A-Za-z_]\w*))", re.MULTILINE)
_JS_IMPORT = re.compile(r"""(?:\bfrom\s+|\brequire\(\s*|\bimport\s+)["']((?:@[\w.-]+/)?[\w.-]+)""")
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(?:[=<>!~]=|[<>]|;|$)", re.MULTILINE)
_NODE_BUILTINS = {
    "fs",
    "path",
    "os",
    "http",
    "https",
    "crypto",
    "url",
    "util",
    "child_process",
    "events",
    "stream",
    "net",
    "zlib",
    "assert",
    "buffer",
    "process",
    "readline",
    "tls",
    "dns",
    "querystring",
    "timers",
    "worker_threads",
    "cluster",
}


def _command_names(ecosystem: str, args: str) -> list[str]:
    names: list[str] = []
    for token in args.split():
        sentence_end = token[-1] in ".,;:!?" and not token.endswith("...")
        token = token.rstrip(".,;:!?").strip("'\"{}[]()")
        if sentence_end and names:
            break  # "pip install foo bar now." – prose goes on after the command
        if (
            not token
            or token.startswith(("-", ".", "/", "$", "<"))
            or "://" in token
            or token.endswith((".txt", ".whl", ".tar.gz", ".toml"))
        ):
            continue
        if ecosystem == "pypi":
            token = re.split(r"[\[=<>!~;@ ]", token, maxsplit=1)[0]
        elif ecosystem == "npm":
            token = token if token.startswith("@") and token.count("@") == 1 else re.sub(r"(?<=.)@[^/]*$", "", token)
        elif ecosystem in ("go", "cargo", "rubygems"):
            token = token.split("@")[0].split(":")[0]
        if re.fullmatch(r"[@\w][\w@/.+-]*", token):
            names.append(token)
        if sentence_end:
            break
    return names


def suggested_packages(text: str) -> list[tuple[str, str]]:
    """(ecosystem, name) pairs the text suggests installing, in order, without repeats."""
    found: list[tuple[str, str]] = []
    for ecosystem, rx in _COMMANDS:
        for m in rx.finditer(text):
            if m.start() and (text[m.start() - 1].isalnum() or text[m.start() - 1] in "_-"):
                continue  # part of a longer word
            found += [(ecosystem, n) for n in _command_names(ecosystem, m.group("args"))]
    for lang, code in code_blocks(text):
        lang = lang.lower()
        if lang in ("python", "py", "python3"):
            for a, b in _PY_IMPORT.findall(code):
                module = a or b
                if module not in sys.stdlib_module_names and module != "__future__":
                    found.append(("pypi", module))
        elif lang in ("javascript", "js", "typescript", "ts", "jsx", "tsx", "mjs"):
            found += [("npm", n) for n in _JS_IMPORT.findall(code) if n.split("/")[0] not in _NODE_BUILTINS and not n.startswith("node:")]
        elif lang in ("requirements", "pip", "requirements.txt"):
            found += [("pypi", n) for n in _REQUIREMENT.findall(code)]
        elif lang == "json":
            found += [("npm", n) for n in _package_json_names(code)]
        elif lang == "toml":
            found += [("pypi", n) for n in _pyproject_names(code)]
    return list(dict.fromkeys(found))


def _package_json_names(code: str) -> list[str]:
    try:
        doc = json.loads(code)
    except ValueError:
        return []
    if not isinstance(doc, dict):
        return []
    return [
        n for key in ("dependencies", "devDependencies", "peerDependencies") for n in (doc.get(key) or {}) if isinstance(doc.get(key), dict)
    ]


def _pyproject_names(code: str) -> list[str]:
    m = re.search(r"^\s*dependencies\s*=\s*\[(.*?)\]", code, re.MULTILINE | re.DOTALL)
    found = (_REQUIREMENT.match(s) for s in re.findall(r"[\"']([^\"']+)[\"']", m.group(1))) if m else ()
    return [r.group(1) for r in found if r]


# ---- policy ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PackagePolicy:
    ecosystems: dict[str, EcosystemPolicy]

    def check(self, text: str) -> list[PackageFinding]:
        out = []
        for ecosystem, name in suggested_packages(text):
            policy = self.ecosystems.get(ecosystem)
            status = policy.status(name) if policy else None
            if status:
                out.append(PackageFinding(name, ecosystem, status))
        return out

    def note(self, findings: list[PackageFinding]) -> str:
        """The warning appended to the assistant's answer (empty when no policy asks for one)."""
        shown = [f for f in findings if self.ecosystems[f.ecosystem].note]
        if not shown:
            return ""
        items = ", ".join(
            f"`{f.name}` ({f.ecosystem}{', not found in the registry snapshot' if f.status == NOT_IN_REGISTRY else ''})" for f in shown
        )
        return f"\n\n> llm-dlp: not on the approved package list: {items}. Check that it exists and is vetted before you install it."


def compile_packages(entries: list[Located], base: dict[str, Path], errors: list[RuleError]) -> PackagePolicy:
    """``base`` maps a rule file to its directory, for relative snapshot paths."""
    ecosystems: dict[str, EcosystemPolicy] = {}
    for entry in entries:
        d = entry.data
        eco = d["ecosystem"]
        snapshot = None
        if "snapshot" in d:
            path = base[entry.file] / d["snapshot"]
            try:
                snapshot = frozenset(_normal(eco, line.strip()) for line in path.read_text().splitlines() if line.strip())
            except OSError as exc:
                errors.append(entry.error("snapshot", f"cannot read {path}: {exc.strerror}"))
                continue
        previous = ecosystems.get(eco)
        allow = tuple(_normal(eco, p) for p in d.get("allow", ()))
        if previous:  # several files may add to one ecosystem's list
            allow = previous.allow + allow
            snapshot = snapshot if snapshot is not None else previous.snapshot
        ecosystems[eco] = EcosystemPolicy(eco, allow, snapshot, d.get("note", True))
    return PackagePolicy(ecosystems)
