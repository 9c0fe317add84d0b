"""Loading and validating rule files (YAML), with errors that name file, line and field.

Every rule file follows one JSON Schema (``schemas/rules.schema.json``); a directory of rule
files is merged into one ``RuleDocument`` (the sections of all files concatenated)."""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata, resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from llm_dlp.detect import compiled

if TYPE_CHECKING:
    from jsonschema import ValidationError

SECTIONS = ("secrets", "endpoints", "tools", "allow", "packages", "policy", "paths", "fingerprints", "fragments")
OBJECT_SECTIONS = ("allow", "policy", "fragments")  # one object per file, not a list
RULE_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class RuleError:
    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field or '(file)'}: {self.message}"


class RuleFileError(Exception):
    """One or more rule files are invalid; ``errors`` lists each problem."""

    def __init__(self, errors: list[RuleError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


@dataclass
class Located:
    """A rule-file entry with where it came from, for error messages."""

    data: dict[str, Any]
    file: str
    pointer: str
    lines: dict[str, int] = field(repr=False, default_factory=dict)

    def line(self, key: str = "") -> int | None:
        return self.lines.get(f"{self.pointer}/{key}" if key else self.pointer)

    def error(self, key: str, message: str) -> RuleError:
        return RuleError(self.file, self.line(key) or self.line(), f"{self.pointer}/{key}".lstrip("/"), message)


@dataclass
class RuleDocument:
    files: list[str] = field(default_factory=list)
    secrets: list[Located] = field(default_factory=list)
    endpoints: list[Located] = field(default_factory=list)
    tools: list[Located] = field(default_factory=list)
    allow: list[Located] = field(default_factory=list)
    packages: list[Located] = field(default_factory=list)
    policy: list[Located] = field(default_factory=list)
    paths: list[Located] = field(default_factory=list)
    fingerprints: list[Located] = field(default_factory=list)
    fragments: list[Located] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)  # files with nothing in them (an editor half-way through a save?)


@cache
def schema() -> dict[str, Any]:
    """The rule-file JSON Schema, with the endpoint ``protocol`` values of the protocol registry."""
    from llm_dlp.protocols.registry import REGISTRY

    doc = json.loads(resources.files("llm_dlp").joinpath("schemas/rules.schema.json").read_text())
    doc["$defs"]["endpoint"]["properties"]["protocol"]["enum"] = REGISTRY.families()
    return doc


def bundled_rules_dir() -> Path:
    return Path(str(resources.files("llm_dlp").joinpath("bundled_rules"))).resolve()


def rule_files(directory: Path) -> list[Path]:
    if directory.is_file():
        return [directory]
    if not directory.is_dir():
        raise RuleFileError([RuleError(str(directory), None, "", "no such rules directory")])
    return sorted(p for p in directory.iterdir() if p.suffix in RULE_SUFFIXES and p.is_file())


def _line_map(node: yaml.Node, pointer: str, out: dict[str, int], repeated: list[tuple[str, int]]) -> None:
    """Map every JSON pointer in a composed YAML tree to its 1-based line, and list the keys a
    mapping repeats: YAML keeps the last of them silently, so the file does not say one thing."""
    out[pointer] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            child = f"{pointer}/{key.value}"
            if key.value in seen:
                repeated.append((child, key.start_mark.line + 1))
            seen.add(key.value)
            _line_map(value, child, out, repeated)
            out[child] = key.start_mark.line + 1  # a field's line is its key's line
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_map(item, f"{pointer}/{i}", out, repeated)


# libyaml's parser where PyYAML was built with it: the same documents, marks and errors, and
# the bundled secrets.yaml parsed in 0.06 CPU s where pure Python took 0.52
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_file(path: Path) -> tuple[dict[str, Any], dict[str, int]]:
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
        key = _checked_key(text)
        checked = _checked(key)
        loader = _LOADER(text)
        try:
            node = loader.get_single_node()
            data = checked if checked is not None else loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleFileError([RuleError(name, None, "", f"cannot read: {exc}")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise RuleFileError([RuleError(name, line, "", f"YAML syntax error: {problem}")]) from None
    data = {} if data is None else data
    lines: dict[str, int] = {}
    repeated: list[tuple[str, int]] = []
    if node is not None:
        _line_map(node, "", lines, repeated)
    errors = [RuleError(name, line, pointer.lstrip("/"), "key given twice (the last would silently win)") for pointer, line in repeated]
    if checked is None:
        errors += _schema_errors(name, data, lines)
    if errors:
        raise RuleFileError(errors)
    if checked is None:
        _remember_checked(key, data)
    return data, lines


def _schema_errors(name: str, data: Any, lines: dict[str, int]) -> list[RuleError]:
    """The file's schema errors. One pass checks the file and fills in the schema's defaults (the
    one place they are written); no required property has a default, so a filled default never
    hides a missing one."""
    validator = _defaults_validator()(schema())
    errors = []
    for err in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        pointer = "".join(f"/{p}" for p in err.absolute_path)
        errors.append(RuleError(name, lines.get(pointer), pointer.lstrip("/"), _short(err)))
    return errors


# A file that passed the schema is kept in the cache as its data with the defaults filled in,
# named by a digest of its text and of the schema, the validator's and this package's versions:
# the same file loads again without the schema check (and without importing jsonschema), a
# changed one is checked. An entry that is missing or damaged means the check runs.
_CHECKED = ".rules.json"


def _checked_key(text: str) -> str:
    h = hashlib.sha256(_schema_identity())
    h.update(text.encode("utf-8", "surrogatepass"))
    return h.hexdigest() + _CHECKED


@cache
def _schema_identity() -> bytes:
    from llm_dlp import __version__

    versions = f"rule file checked\0{__version__}\0{metadata.version('jsonschema')}\0"
    return versions.encode() + json.dumps(schema(), sort_keys=True).encode()


def _checked(key: str) -> dict[str, Any] | None:
    payload = compiled.stored(key)
    if payload is None:
        return None
    try:
        data = json.loads(payload)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _remember_checked(key: str, data: dict[str, Any]) -> None:
    """Keep the checked data, if JSON gives it back as it is (YAML has types JSON has not)."""
    try:
        payload = json.dumps(data, allow_nan=False)
    except (TypeError, ValueError):
        return
    if json.loads(payload) == data:
        compiled.store(key, payload.encode())


@cache
def _defaults_validator():
    """A validator that, as it checks ``properties``, writes each missing property's default."""
    import jsonschema  # 0.1 CPU s: imported only when a file is checked

    check_properties = jsonschema.Draft202012Validator.VALIDATORS["properties"]

    def properties(validator, props, instance, schema):
        if isinstance(instance, dict):
            for name, sub in props.items():
                if isinstance(sub, dict) and "default" in sub:
                    instance.setdefault(name, copy.deepcopy(sub["default"]))
        yield from check_properties(validator, props, instance, schema)

    return jsonschema.validators.extend(jsonschema.Draft202012Validator, {"properties": properties})


def _short(err: ValidationError) -> str:
    if err.validator == "additionalProperties":
        return err.message.replace("Additional properties are not allowed", "unknown field(s)")
    return err.message if len(err.message) < 300 else err.message[:300] + "…"


def load_directory(directory: Path) -> RuleDocument:
    """Load and schema-check every rule file; raise RuleFileError listing all problems."""
    doc = RuleDocument()
    errors: list[RuleError] = []
    for path in rule_files(directory):
        try:
            data, lines = load_file(path)
        except RuleFileError as exc:
            errors.extend(exc.errors)
            continue
        doc.files.append(str(path))
        if not data:
            doc.empty.append(str(path))
        for section in SECTIONS:
            entries = data.get(section, [])
            target = getattr(doc, section)
            if section in OBJECT_SECTIONS:
                target.extend([Located(entries, str(path), f"/{section}", lines)] if entries else [])
            else:
                target.extend(Located(e, str(path), f"/{section}/{i}", lines) for i, e in enumerate(entries))
    if errors:
        raise RuleFileError(errors)
    return doc
