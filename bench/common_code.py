"""Build addons/llm_dlp/detect/common_code.fp: the fingerprints found in several files of public
code, which no index keeps (each language's idioms: equals methods, autoloaders, iterator impls,
sort interfaces, generated headers), and tables of public registries (HTTP's status codes). Run it again after any change to the tokenizer or the
fingerprint parameters (the module refuses a list built otherwise).

    .venv/bin/python bench/common_code.py [--files 1000] [--min-files 3]

The public code is what a Debian machine with the benchmark's packages installed holds, other
than what bench/fingerprint_bench.py indexes or draws its unrelated chunks from, so the
benchmark measures the list on code it was not built from."""

from __future__ import annotations

import argparse
import random
import tempfile
from http import HTTPStatus
from pathlib import Path

import numpy as np

from fingerprint_bench import NODE_MODULES, SITE, java_sources
from llm_dlp.detect.fingerprint import file_fingerprints, language_of, save_common_code

GO = Path("/usr/lib/go/src")
CARGO = Path("/usr/share/cargo/registry")
INCLUDE = Path("/usr/include")
RUBY = next(iter(sorted(Path("/usr/lib/ruby").glob("3.*"))), Path("/nonexistent"))
PHP = Path("/usr/share/php")
BENCH_PYTHON = {
    "mitmproxy",
    "cryptography",
    "hypothesis",
    "pygments",
    "openai",
    "anthropic",
    "httpx",
    "jsonschema",
    "pydantic",
    "h11",
    "yaml",
}
BENCH_NPM = {"@npmcli", "semver", "tar", "minipass", "glob", "cacache", "pacote", "node-gyp", "socks"}


def public_code(java: Path) -> dict[str, tuple[list[Path], str, str]]:
    """Per language: (roots, file pattern, suffix the language is known by)."""
    return {
        "python": (
            [d for d in SITE.iterdir() if d.is_dir() and d.name not in BENCH_PYTHON | {"llm_dlp"} and not d.name.endswith("-info")],
            "*.py",
            ".py",
        ),
        "javascript": ([d for d in (NODE_MODULES / "node_modules").iterdir() if d.name not in BENCH_NPM], "*.js", ".js"),
        "go": (
            [
                GO / d
                for d in [
                    "os",
                    "io",
                    "fmt",
                    "strings",
                    "sync",
                    "time",
                    "text",
                    "html",
                    "image",
                    "math",
                    "sort",
                    "strconv",
                    "bufio",
                    "bytes",
                    "context",
                    "database",
                    "debug",
                    "archive",
                    "compress",
                    "container",
                    "flag",
                    "hash",
                    "log",
                    "mime",
                    "path",
                    "reflect",
                    "regexp",
                    "syscall",
                    "testing",
                    "unicode",
                ]
            ],
            "*.go",
            ".go",
        ),
        "c": (
            [d for d in INCLUDE.iterdir() if d.name not in ("linux", "openssl", "c++") and not d.name.startswith("python3")],
            "*.h",
            ".h",
        ),
        "c++": ([INCLUDE / "c++/12" / d for d in ["ext", "tr1", "tr2", "debug", "parallel", "pstl", "experimental"]], "*", ".hpp"),
        "java": ([java / d for d in ["lang", "nio", "math", "text", "security"]], "*.java", ".java"),
        "rust": (
            [d for d in CARGO.iterdir() if not d.name.startswith(("clap", "regex", "serde", "syn-"))] if CARGO.exists() else [],
            "*.rs",
            ".rs",
        ),
        "php": (
            [PHP / "Psr", PHP / "getallheaders"] + [d for d in (PHP / "Symfony/Component").glob("*") if d.name != "Console"],
            "*.php",
            ".php",
        ),
        "ruby": ([d for d in RUBY.glob("*") if d.name not in ("net", "rubygems", "irb", "rdoc", "ruby_vm")], "*.rb", ".rb"),
        "sql": ([d for d in Path("/usr/share/postgresql").glob("*") if d.is_dir()], "*.sql", ".sql"),
    }


# How the common languages write a map of numbers to names: PHP's and Ruby's arrays and hashes,
# Python's, JavaScript's and Go's dicts, objects and maps.
TABLE_ENTRIES = ("{code} => '{name}',", "{code}: '{name}',")


def public_tables() -> dict[str, str]:
    """Tables of public registries, as code writes them, by language: HTTP's status codes and
    reason phrases (IANA's, as Python's http module holds them). Two projects that copy one are
    alike in it, and it tells nothing of either."""
    statuses = [(s.value, s.phrase) for s in HTTPStatus]
    return {
        f"http-status-{n}": "\n".join(entry.format(code=code, name=name) for code, name in statuses)
        for n, entry in enumerate(TABLE_ENTRIES)
    }


def sample(roots: list[Path], pattern: str, limit: int, rng: random.Random) -> list[Path]:
    found = sorted({p for r in roots if r.exists() for p in r.rglob(pattern) if p.is_file() and "/extension/" not in str(p)})
    found = [p for p in found if 500 < p.stat().st_size < 400_000]
    rng.shuffle(found)
    return found[:limit]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=1000, help="public files per language")
    ap.add_argument("--min-files", type=int, default=3, help="keep fingerprints found in this many files or more")
    args = ap.parse_args()
    rng = random.Random(7)
    per_file, sources = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for language, (roots, pattern, suffix) in public_code(java_sources(Path(tmp))).items():
            found = sample(roots, pattern, args.files, rng)
            per_file += [np.unique(file_fingerprints(p.read_text(errors="replace"), language_of(f"file{suffix}"))[0]) for p in found]
            sources.append(f"{language}: {len(found)} files")
            print(sources[-1])
    values, counts = np.unique(np.concatenate(per_file), return_counts=True)
    tables = public_tables()
    common = np.union1d(values[counts >= args.min_files], np.concatenate([file_fingerprints(t, "generic")[0] for t in tables.values()]))
    sources.append(f"tables: {', '.join(tables)}")
    save_common_code(common, sources)
    print(f"{len(common)} fingerprints in {args.min_files} files or more of {len(values)}, or in the tables")


if __name__ == "__main__":
    main()
