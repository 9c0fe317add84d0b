"""Repository fingerprints, per language: disguised pastes caught and withheld whole, false
alarms on unrelated code and boilerplate, indexing speed and size, matching time, in one run.

    .venv/bin/python bench/fingerprint_bench.py [--queries 200] [--negatives 300] [--languages python,go]
        [--explain-false-alarms]

"Private" code: for each language found on this machine, some installed code of it (copied into
one organisation's repositories and indexed together; of TypeScript, C#, Kotlin and Terraform,
npm and PyPI packages' sources that ``deploy/bootstrap.sh bench`` unpacks, left out when absent). Positives: random 20-line chunks of the
indexed files, sparse ones included (any chunk that starts and ends outside a multi-line string
or comment and has 8 non-blank lines), under each disguise alone and all combined:

- plain: the chunk as it is;
- numbered: the chunk as an assistant's file-reading tool returns it, each line after its
  number in the file and a tab (`cat -n`, `nl -ba`, Claude Code's Read);
- renamed: every identifier renamed consistently, interpolations in template literals and
  f-strings too; what a developer renaming identifiers leaves stays: the language's keywords,
  builtins and standard types (SQL's, PostgreSQL's keyword list, in any case), string prefixes
  (r"...", R"(...)", u8"..."), sigils ($name), Ruby's capitals; of a shell script, only its
  variables and functions are renamed, not its commands and options; of a Terraform configuration,
  the names it gives (in its block labels too), not the provider's attributes and types;
- quotes: single and double quotes swapped (languages where both are strings);
- formatted: a chunk of the file run through the language's formatter with settings unlike
  the project's (black -l 60, prettier, clang-format in another style, rustfmt at 60 columns,
  shfmt, sqlformat; gofmt has no settings and Go's sources are its output already, so their
  lines wider than 60 columns are first broken after every comma, then gofmt -s re-indents
  them and simplifies composite literals and slices; Kotlin's and Terraform's have no package
  here);
- layout: comments and blank lines dropped, tabs, import lines reordered, and wrapped in a chat
  message, fenced with or without the language's name;
- combined: all of these but the numbering at once (a tool lists a file as it is).

The first four go out bare, as a tool result would (no language named); layout and combined in
a fence. Where the language's parser is installed (Python's ast, gofmt -e, node --check, bash -n,
rustfmt, php -l, ruby -c, python-hcl2, TypeScript's compiler), each disguised paste is put back in place of its chunk in a file that
parses, and those that make it fail are counted. Negatives: random 40-line chunks of other installed code of the same language,
and short ones: 12-line chunks of it under layout, in a chat message.
Boilerplate: Debian copyright files, package manifests and the import block at the top of
unrelated files. Then scale: every installed Python source file (over a million lines) is
indexed, fresh and again unchanged, and 256 KB of unrelated code is matched against it, beside
two baselines measured in the same run on the same text: the secret-detection engine that
scans every request anyway, and Pygments' Python lexer alone."""

from __future__ import annotations

import argparse
import ast
import asyncio
import builtins
import functools
import importlib.util
import keyword
import random
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from pygments.lexers import _postgres_builtins as postgres
from pygments.lexers import get_lexer_by_name
from pygments.token import Comment, Keyword, Name, String

from false_alarms import explain
from llm_dlp.detect.fingerprint import FingerprintIndex, build_index, guess_language, match, tokenise
from llm_dlp.rules.files import bundled_rules_dir
from llm_dlp.rules.ruleset import load_ruleset

ROOT = Path(__file__).resolve().parent.parent
SITE = Path(sysconfig.get_paths()["purelib"])
NODE_MODULES = Path("/usr/lib/node_modules/npm")
PRETTIER = [str(p) for p in [Path(sys.prefix) / "share/llm-dlp/prettier/node_modules/.bin/prettier"] if p.exists()]  # bootstrap.sh test
VENV_BIN = Path(sys.executable).parent
CORPORA = Path(sys.prefix) / "share/llm-dlp/corpora"  # bootstrap.sh bench: npm and PyPI packages' sources, unpacked


@dataclass
class Language:
    name: str
    suffix: str
    private: list[Path]  # files
    public: list[Path]  # unrelated files of the same language
    pygments: str
    formatter: list[str] | None  # a command formatting the files given after it in place
    quotes: bool  # '...' and "..." are both strings
    comment: str  # a regex for its comments
    any_case: bool = False  # its keywords are of any case (SQL's CREATE is create)


def files(roots: list[Path], pattern: str, limit: int, seed: int) -> list[Path]:
    """A sample of the files drawn with random numbers of its own, so that no other sample
    (another language's, or one the run leaves out) changes which files it holds."""
    found = sorted({p for r in roots if r.exists() for p in r.rglob(pattern) if p.is_file() and "test" not in p.name.lower()})
    found = [p for p in found if 1000 < p.stat().st_size < 400_000 and not p.name.endswith(".d.ts")]  # declarations are no code
    random.Random(f"{seed}-{pattern}-{' '.join(map(str, roots))}").shuffle(found)
    return found[:limit]


def java_sources(into: Path) -> Path:
    """OpenJDK's java.base sources, from the JDK's src.zip."""
    src = next(iter(sorted(Path("/usr/lib/jvm").glob("java-17-openjdk*/lib/src.zip"))), None)
    if src and not (into / "java").exists():
        with zipfile.ZipFile(src) as z:
            z.extractall(into / "java", [n for n in z.namelist() if n.startswith("java.base/java/") and n.endswith(".java")])
    return into / "java" / "java.base" / "java"


def languages(tmp: Path, seed: int, per_language: int) -> list[Language]:
    c_comment = r"//[^\n]*|/\*[\s\S]*?\*/"
    hash_comment = r"#[^\n]*"
    go = Path("/usr/lib/go/src")
    cargo = Path("/usr/share/cargo/registry")
    java = java_sources(tmp)
    include = Path("/usr/include")
    symfony = Path("/usr/share/php/Symfony/Component")
    ruby = next(iter(sorted(Path("/usr/lib/ruby").glob("3.*"))), Path("/nonexistent"))
    pg = Path("/usr/share/postgresql")
    n = per_language
    out = [
        Language(
            "python",
            ".py",
            files([SITE / p for p in ("mitmproxy", "cryptography", "hypothesis", "pygments")], "*.py", n, seed),
            files([SITE / p for p in ("openai", "anthropic", "httpx", "jsonschema", "pydantic", "h11", "yaml")], "*.py", n, seed),
            "python",
            [str(VENV_BIN / "black"), "-q", "-l", "60"],
            True,
            hash_comment,
        ),
        Language(
            "javascript",
            ".js",
            files([NODE_MODULES / "lib", NODE_MODULES / "node_modules/@npmcli"], "*.js", n, seed),
            files(
                [NODE_MODULES / "node_modules" / d for d in ("semver", "tar", "minipass", "glob", "cacache", "pacote", "node-gyp", "socks")]
                + [Path("/usr/share/nodejs")],
                "*.js",
                n,
                seed,
            ),
            "javascript",
            PRETTIER + ["--log-level", "silent", "--write"] if PRETTIER else None,
            True,
            c_comment,
        ),
        Language(
            "go",
            ".go",
            files([go / "net", go / "crypto", go / "encoding"], "*.go", n, seed),
            files([go / "cmd", go / "runtime", go / "go"], "*.go", n, seed),
            "go",
            ["gofmt", "-s", "-w"],  # after wrap_go_lines: gofmt has no settings, and the sources are gofmt's already
            False,
            c_comment,
        ),
        Language(
            "c",
            ".h",
            files([include / "linux"], "*.h", n, seed),
            files([include / "openssl", *include.glob("python3*")], "*.h", n, seed),
            "c",
            ["clang-format", "-i", "--style=Google"],
            False,
            c_comment,
        ),
        Language(
            "c++",
            ".hpp",
            files([include / "c++/12/bits"], "*", n, seed),
            files([include / "fmt", include / "spdlog", include / "nlohmann"], "*", n, seed),
            "cpp",
            ["clang-format", "-i", "--style=Mozilla"],
            False,
            c_comment,
        ),
        Language(
            "java",
            ".java",
            files([java / "util"], "*.java", n, seed),
            files([java / "net", java / "io", java / "time"], "*.java", n, seed),
            "java",
            ["clang-format", "-i", "--style=Google"],
            False,
            c_comment,
        ),
        Language(
            "rust",
            ".rs",
            files(sorted(cargo.glob("clap*")) + sorted(cargo.glob("regex*")), "*.rs", n, seed),
            files(sorted(cargo.glob("serde*")) + sorted(cargo.glob("syn-*")), "*.rs", n, seed),
            "rust",
            [str(Path.home() / ".cargo/bin/rustfmt"), "--edition", "2021", "--config", "max_width=60"],
            False,
            c_comment,
        ),
        Language(
            "php",
            ".php",
            files([symfony / "Console"], "*.php", n, seed),
            files([Path("/usr/share/php/GuzzleHttp")], "*.php", n, seed),
            "php",
            None,
            True,
            c_comment + "|" + hash_comment,
        ),
        Language(
            "ruby",
            ".rb",
            files([ruby / "net", ruby / "rubygems"], "*.rb", n, seed),
            files([ruby / "irb", ruby / "rdoc", ruby / "ruby_vm"], "*.rb", n, seed),
            "ruby",
            None,
            True,
            hash_comment,
        ),
        Language(
            "shell",
            ".sh",
            files([Path("/usr/share/bash-completion/completions")], "*", n, seed),
            files([Path("/usr/lib"), Path("/usr/share/doc"), Path("/usr/share/prometheus-node-exporter-collectors")], "*.sh", n, seed),
            "bash",
            ["shfmt", "-w", "-i", "3", "-ci"],
            False,
            SHELL_COMMENT,
        ),
        Language(
            "sql",
            ".sql",
            *by_extension_name(files([pg], "*.sql", 4 * n, seed), n),
            "postgresql",
            ["SQLFORMAT"],
            False,
            r"--[^\n]*|/\*[\s\S]*?\*/",
            any_case=True,
        ),
        *corpora_languages(seed, n, c_comment, hash_comment),
    ]
    return [lang for lang in out if len(lang.private) >= 5 and len(lang.public) >= 5]


def corpora_languages(seed: int, n: int, c_comment: str, hash_comment: str) -> list[Language]:
    """The languages of CORPORA (absent there: too few files, left out like the others)."""

    def of(packages: str, pattern: str) -> list[Path]:
        return files([CORPORA / p for p in packages.split()], pattern, n, seed)

    return [
        Language(
            "typescript",
            ".ts",
            of("rxjs/src", "*.ts"),
            of("zod/src @tanstack/query-core/src react-native-gesture-handler/src", "*.ts"),
            "typescript",
            PRETTIER + ["--log-level", "silent", "--write"] if PRETTIER else None,
            True,
            c_comment,
        ),
        Language(
            "csharp",
            ".cs",
            of("pythonnet/src", "*.cs"),
            of("react-native-windows edge-js", "*.cs"),
            "csharp",
            ["clang-format", "-i", "--style=Microsoft"],  # by the .cs suffix, as C#
            False,
            c_comment,
        ),
        Language(
            "kotlin",
            ".kt",
            of("expo-modules-core/android", "*.kt"),
            of("react-native-screens/android react-native-gesture-handler/android", "*.kt"),
            "kotlin",
            None,
            False,
            c_comment,
        ),
        Language(
            "terraform",
            ".tf",
            of("jupyter-deploy-tf-aws-eks-oidc", "*.tf"),
            of("jupyter-deploy-tf-aws-ec2-base jupyter-deploy-tf-aws-ec2-jupyterlab", "*.tf"),
            "terraform",
            None,
            False,
            c_comment + "|" + hash_comment,
        ),
    ]


def by_extension_name(found: list[Path], n: int) -> tuple[list[Path], list[Path]]:
    """PostgreSQL's scripts of extensions a to m, and the rest: an extension's upgrade scripts are
    near copies of each other, so they stay on one side."""
    first = [p for p in found if p.name[0] < "n"]
    return first[:n], [p for p in found if p not in first][:n]


# ---- disguises -------------------------------------------------------------------------------
KEEP = set(
    [
        "abstract",
        "and",
        "as",
        "assert",
        "async",
        "await",
        "break",
        "case",
        "catch",
        "char",
        "class",
        "const",
        "continue",
        "def",
        "default",
        "defer",
        "del",
        "delete",
        "do",
        "double",
        "elif",
        "else",
        "enum",
        "except",
        "export",
        "extends",
        "extern",
        "false",
        "final",
        "finally",
        "float",
        "fn",
        "for",
        "from",
        "func",
        "function",
        "go",
        "goto",
        "if",
        "impl",
        "implements",
        "import",
        "in",
        "instanceof",
        "int",
        "interface",
        "is",
        "lambda",
        "let",
        "long",
        "loop",
        "match",
        "mod",
        "module",
        "mut",
        "namespace",
        "new",
        "nil",
        "none",
        "None",
        "nonlocal",
        "not",
        "null",
        "or",
        "package",
        "pass",
        "private",
        "protected",
        "public",
        "raise",
        "range",
        "ref",
        "return",
        "self",
        "Self",
        "short",
        "signed",
        "sizeof",
        "static",
        "struct",
        "super",
        "switch",
        "synchronized",
        "template",
        "this",
        "throw",
        "throws",
        "true",
        "True",
        "False",
        "try",
        "type",
        "typedef",
        "typeof",
        "union",
        "unsafe",
        "unsigned",
        "use",
        "using",
        "var",
        "virtual",
        "void",
        "volatile",
        "where",
        "while",
        "with",
        "yield",
        "begin",
        "end",
        "elsif",
        "unless",
        "until",
        "then",
        "fi",
        "done",
        "esac",
        "echo",
        "local",
        "function",
        "select",
        "from",
        "where",
        "insert",
        "into",
        "values",
        "create",
        "table",
        "drop",
        "alter",
        "index",
        "view",
        "update",
        "set",
        "bool",
        "byte",
        "string",
        "error",
        "uint",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "int8",
        "int16",
        "int32",
        "int64",
        "float32",
        "float64",
        "usize",
        "isize",
        "u8",
        "u16",
        "u32",
        "u64",
        "i8",
        "i16",
        "i32",
        "i64",
        "f32",
        "f64",
        "str",
        "len",
        "print",
        "range",
        "list",
        "dict",
        "tuple",
        "object",
        "isinstance",
        "super",
        "property",
        "staticmethod",
        "classmethod",
        "open",
        "map",
        "filter",
        "sorted",
        "min",
        "max",
        "sum",
        "any",
        "all",
        "zip",
        "enumerate",
        "console",
        "Math",
        "Object",
        "Array",
        "JSON",
        "Promise",
        "String",
        "Number",
        "Boolean",
        "Error",
        "require",
        "module",
        "exports",
        "process",
        "undefined",
        "Some",
        "Ok",
        "Err",
        "Vec",
        "Box",
        "Option",
        "Result",
        "String",
        "println",
        "format",
        "vec",
        "size_t",
        "NULL",
        "std",
        "printf",
        "malloc",
        "free",
        "memcpy",
        "strlen",
        "include",
        "define",
        "ifdef",
        "ifndef",
        "endif",
        "elseif",
        "php",
        "echo",
        "attr_reader",
        "require_relative",
        "puts",
        "nullptr",
        "auto",
        "constexpr",
        "inline",
        "override",
    ]
)
# The language's own words beyond KEEP, which a developer renaming identifiers leaves as they are.
RUST_MACROS = (
    "assert assert_eq assert_ne cfg column compile_error concat dbg debug_assert debug_assert_eq debug_assert_ne env eprint "
    "eprintln file format format_args include include_bytes include_str line matches module_path option_env panic print "
    "println stringify thread_local todo unimplemented unreachable vec write writeln macro_rules "
    "block expr ident item lifetime literal meta pat pat_param path stmt tt ty vis"  # and macro_rules' fragment kinds
)
JAVASCRIPT_CONTEXTUAL = "async await get let of set static yield"
TYPESCRIPT_WORDS = (  # its keywords, contextual ones and types beyond JavaScript's (Pygments' lexer misses some)
    "abstract accessor any as asserts bigint boolean declare enum implements infer interface is keyof module namespace never "
    "number object out override private protected public readonly satisfies string symbol type undefined unique unknown"
)
BASH_VARIABLES = (
    "BASH BASHOPTS BASHPID BASH_ALIASES BASH_ARGC BASH_ARGV BASH_CMDS BASH_COMMAND BASH_LINENO BASH_REMATCH BASH_SOURCE "
    "BASH_SUBSHELL BASH_VERSINFO BASH_VERSION COLUMNS COMPREPLY COMP_CWORD COMP_KEY COMP_LINE COMP_POINT COMP_TYPE "
    "COMP_WORDBREAKS COMP_WORDS DIRSTACK EUID FUNCNAME GROUPS HOME HOSTNAME HOSTTYPE IFS LANG LC_ALL LC_CTYPE LINENO LINES "
    "MACHTYPE OLDPWD OPTARG OPTERR OPTIND OSTYPE PATH PIPESTATUS PPID PS1 PS2 PS3 PS4 PWD RANDOM REPLY SECONDS SHELL "
    "SHELLOPTS SHLVL TERM TMPDIR UID USER"
)
SQL_OPTION_WORDS = "c internal plpgsql restricted safe sql unsafe"  # LANGUAGE c, PARALLEL safe: names to the grammar


@functools.cache
def language_words(name: str) -> frozenset[str]:
    """Reserved words, builtin types and functions of the language, from its own lists."""
    if name == "python":
        return frozenset(keyword.kwlist + keyword.softkwlist + dir(builtins))
    if name == "sql":  # PostgreSQL's reserved and non-reserved keywords and types, as Pygments lists them
        entries = postgres.KEYWORDS + postgres.DATATYPES + postgres.PSEUDO_TYPES + postgres.PLPGSQL_KEYWORDS
        return frozenset(w.lower() for e in entries for w in e.split()) | frozenset(SQL_OPTION_WORDS.split())
    own = {
        "rust": RUST_MACROS,
        "shell": BASH_VARIABLES,
        "javascript": JAVASCRIPT_CONTEXTUAL,
        "typescript": f"{JAVASCRIPT_CONTEXTUAL} {TYPESCRIPT_WORDS}",
    }
    return frozenset(own.get(name, "").split())


def reserved(lang: Language, path: Path) -> frozenset[str]:
    """The words the renamer keeps in a paste of this file: KEEP, the language's lists, and what
    Pygments reads as a keyword or builtin in the file."""
    words = KEEP | language_words(lang.name) | lexed(path, lang.pygments)[1]
    return frozenset(w.lower() for w in words) if lang.any_case else words


NAME = r"(?<!\w)[A-Za-z_]\w*"
SIGILS = r"(?<![\w$])\$?[A-Za-z_]\w*"  # PHP's and Ruby's $name: the sigil stays
JS_NAME = r"(?<![\w$])[A-Za-z_$][\w$]*"
NAMES = {"javascript": JS_NAME, "typescript": JS_NAME, "php": SIGILS, "ruby": SIGILS, "shell": r"(?<![\w$./-])\$?[A-Za-z_]\w*"}
# A string's prefix is part of the literal (r"..." in Rust and Python, u8"..." in C++), not a name.
STRING_PREFIX = {"python": r"[rbuRBUfF]{1,2}", "rust": r"[bc]", "c": r"u8|[uUL]", "c++": r"u8|[uUL]", "csharp": r"\$@|@\$|\$|@"}
RAW_STRING = {
    "rust": r'(?<!\w)b?r(?P<hashes>#*)"[\s\S]*?"(?P=hashes)|',
    "c++": r'(?<!\w)(?:u8|[uUL])?R"(?P<delim>[^\s()\\"]{0,16})\([\s\S]*?\)(?P=delim)"|',
    "csharp": r'(?:\$@|@\$?)"(?:[^"]|"")*"|',  # verbatim: no escapes, "" is a quote
}
# A here-document is a string to its closing line (Ruby's <<~EOS, PHP's <<<EOT, shell's <<-'EOF').
HEREDOC = r"(?m:<<<?[~-]?[ \t]*(?P<quote>['\"]?)(?P<tag>[A-Za-z_]\w*)(?P=quote)[^\n]*\n[\s\S]*?^[ \t]*(?P=tag);?$)|"
JS_LIKE = ("javascript", "typescript")  # one syntax of names, templates, regular expressions and private names
# A JavaScript regular expression literal (its escapes and flags are no names): a slash where an
# operand starts, after punctuation or `return`, not a comment's.
JS_REGEX = r"(?:(?<=[=(,:;!&|?{}\[\n])|(?<=return ))[ \t]*/(?![/*])(?:\\.|\[(?:\\.|[^\]\\\n])*\]|[^/\\\n\[])+/[a-z]*"
# Languages whose double-quoted strings interpolate ${code} (Ruby's #{code}), and
# those where "$name" names a variable too.
INTERPOLATING = ("ruby", "php", "shell", "kotlin", "terraform")
DOLLAR_NAMES = ("php", "shell", "kotlin")
SHELL_COMMENT = r"(?<![^\s;&|(])#[^\n]*"  # a word starting with #: not $# or ${#x} or ${x#y}


@functools.cache
def code_regex(lang: str, comment: str) -> re.Pattern[str]:
    triple = r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|' if lang in ("python", "ruby", "java", "kotlin", "csharp") else ""
    double = r'"(?:[^"\\]|\\.)*"' if lang == "rust" else r'"(?:[^"\\\n]|\\.)*"'  # Rust's strings span lines
    single = r"'(?:[^'\\\n]|\\.){0,2}'" if lang in ("rust", "c", "c++", "java", "go", "csharp", "kotlin") else r"'(?:[^'\\\n]|\\.)*'"
    backtick = r"|`[^`]*`" if lang in ("javascript", "typescript", "go", "shell", "sql", "kotlin") else ""
    prefix = rf"(?:(?<!\w)(?:{STRING_PREFIX[lang]}))?" if lang in STRING_PREFIX else ""
    heredoc = HEREDOC if lang in ("ruby", "php", "shell", "terraform") else ""
    regex = rf"|(?P<regex>{JS_REGEX})" if lang in JS_LIKE else ""
    return re.compile(
        rf"(?P<comment>{comment})|(?P<string>{heredoc}{RAW_STRING.get(lang, '')}{prefix}(?:{triple}{double}|{single}{backtick}))"
        rf"{regex}|(?P<number>\d[\w.]*)|(?P<name>{NAMES.get(lang, NAME)})"
    )


SHELL_DECLARED = re.compile(
    r"\$\{?[#!]?(?P<ref>[A-Za-z_]\w*)"  # $name ${name} ${#name} ${!name}
    r"|(?<![\w$./-])(?P<set>[A-Za-z_]\w*)(?:\[[^\]\n]*\])?\+?="  # name= name+= name[i]=
    r"|^[ \t]*(?:function[ \t]+)?(?P<function>[A-Za-z_]\w*)[ \t]*\(\)"
    r"|\b(?:for|select)[ \t]+(?P<loop>[A-Za-z_]\w*)"
    r"|\b(?:local|declare|typeset|export|readonly|unset|read)(?P<listed>(?:[ \t]+-\w+)*(?:[ \t]+[A-Za-z_]\w*)+)",
    re.M,
)


def shell_names(code: str) -> set[str]:
    """A script's identifiers are its variables and functions; its commands, options and words are not."""
    out = set()
    for m in SHELL_DECLARED.finditer(code):
        out.update(m.group("listed").split() if m.lastgroup == "listed" else [m.group(m.lastgroup)])
    return {w for w in out if not w.startswith("-")}


TERRAFORM_LABELLED = r'^[ \t]*(?:variable|output|module|resource[ \t]+"\w+"|data[ \t]+"\w+")[ \t]+'  # before a name it gives
TERRAFORM_LABEL = re.compile(TERRAFORM_LABELLED + "$", re.M)
TERRAFORM_DECLARED = re.compile(
    TERRAFORM_LABELLED + r'"(?P<label>[A-Za-z_][\w-]*)"'  # its labels
    r"|\b(?:var|local|module|data\.\w+)\.(?P<ref>[A-Za-z_]\w*)"  # var.name local.name module.name data.type.name
    r"|\bfor[ \t]+(?P<loop>[A-Za-z_]\w*(?:[ \t]*,[ \t]*[A-Za-z_]\w*)?)[ \t]+in\b",
    re.M,
)


def terraform_names(code: str) -> set[str]:
    """A configuration's identifiers are the names it gives (of variables, locals, modules, resources
    and loop variables); its attribute names and resource types are the provider's."""
    out = set()
    for m in TERRAFORM_DECLARED.finditer(code):
        out.update(re.split(r"[ \t]*,[ \t]*", m.group("loop")) if m.lastgroup == "loop" else [m.group(m.lastgroup)])
    return out


def rename(code: str, lang: Language, keep: frozenset[str], names: dict[str, str] | None = None) -> str:
    """Every identifier renamed consistently; the language's keywords, builtins, string prefixes
    and sigils stay (a shell script's identifiers: its variables and functions; a Terraform
    configuration's: the names it gives, in its block labels too). ``names``: old name to new,
    filled in."""
    names = {} if names is None else names
    only = shell_names(code) if lang.name == "shell" else terraform_names(code) if lang.name == "terraform" else None

    def new(word: str) -> str:
        sigil, bare = ("$", word[1:]) if word.startswith("$") and lang.name not in JS_LIKE else ("", word)
        kept = (bare.lower() if lang.any_case else bare) in keep or (only is not None and bare not in only)
        if kept:
            return word
        constant = lang.name == "ruby" and bare[0].isupper()  # Ruby's constants and classes are capitalised
        return sigil + names.setdefault(bare, f"{'V' if constant else 'v'}{len(names)}")

    def words(s: str) -> str:  # a JavaScript template's interpolations are code: their literals stay
        if lang.name in JS_LIKE:
            return code_regex(lang.name, lang.comment).sub(rewrite, s)
        return re.sub(NAMES.get(lang.name, NAME), lambda w: new(w.group()), s)

    def inside(s: str, pattern: str) -> str:  # interpolated code in a string
        return re.sub(pattern, lambda m: m.group(1) + words(m.group(2)) + m.group(3), s)

    def rewrite(m: re.Match[str]) -> str:
        s = m.group()
        if m.lastgroup == "string":
            if lang.name == "terraform" and TERRAFORM_LABEL.match(code, code.rfind("\n", 0, m.start()) + 1, m.start()):
                return s[0] + new(s[1:-1]) + s[-1]  # resource "aws_instance" "web": a name given
            if s.startswith("`") or (lang.name in INTERPOLATING and s.startswith('"')) or (lang.name == "terraform" and s.startswith("<<")):
                s = inside(s, r"([$#]\{)([^}]*)(\})")
                return re.sub(r"(?<!\\)\$[A-Za-z_]\w*", lambda w: new(w.group()), s) if lang.name in DOLLAR_NAMES else s
            if lang.name == "csharp" and s.startswith(("$", "@$")):  # $"{name,8:F2}": the alignment and format stay
                return inside(s, r"(\{)([^{}:,]*)((?:,[^{}:]*)?(?::[^{}]*)?\})")
            if lang.name == "python" and s[:2].lower() in ("f'", 'f"', "rf", "fr"):
                return inside(s, r"(\{)([^{}!:]*)((?:![rsa])?(?::[^{}]*)?\})")  # {name!r:>10}: the conversion stays
            return s
        return new(s) if m.lastgroup == "name" else s

    return code_regex(lang.name, lang.comment).sub(rewrite, code)


def swap_quotes(code: str, lang: Language) -> str:
    def rewrite(m: re.Match[str]) -> str:
        s = m.group()
        if m.lastgroup != "string":
            return s
        body = s.lstrip("rbuRBUfF")
        prefix, q = s[: len(s) - len(body)], body[:1]
        if q not in "'\"" or body.startswith(q * 3) or len(body) < 2:
            return s
        other = "'" if q == '"' else '"'
        inner = body[1:-1]
        if other in inner or "\\" in inner or (lang.name in ("php", "ruby") and ("$" in inner or "#{" in inner)):
            return s
        return prefix + other + inner + other

    return code_regex(lang.name, lang.comment).sub(rewrite, code)


IMPORT_LINE = re.compile(r"^[ \t]*(?:import\b|from\s+\S+\s+import\b|#\s*include\b|use\s+\w|using\s+\w|require\b)")
OPENS_LINES = re.compile(r"[({\[,\\]\s*$")  # `from x import (` or Go's `import (`: continued below, stays


def layout(code: str, lang: Language, rng: random.Random) -> str:
    """Comments and blank lines dropped, tabs for indentation, import lines reordered (within each
    run of whole import lines at one indentation, as a developer sorting a block would)."""
    stripped = code_regex(lang.name, lang.comment).sub(lambda m: "" if m.lastgroup == "comment" else m.group(), code)
    lines = [line.rstrip() for line in stripped.split("\n") if line.strip()]
    order = [i for i, line in enumerate(lines) if IMPORT_LINE.match(line)]
    rng.shuffle(order)
    rank = {i: n for n, i in enumerate(order)}
    movable = [i for i in sorted(order) if not OPENS_LINES.search(lines[i])]
    for run in import_runs(movable, lines):
        for i, line in zip(run, [lines[j] for j in sorted(run, key=rank.__getitem__)]):
            lines[i] = line
    return "\n".join("\t" * ((len(line) - len(line.lstrip(" "))) // 2) + line.lstrip(" ") for line in lines)


def import_runs(at: list[int], lines: list[str]) -> list[list[int]]:
    """Consecutive line numbers of ``at`` whose lines have the same indentation."""
    runs: list[list[int]] = []
    indent = [len(lines[i]) - len(lines[i].lstrip()) for i in at]
    for n, i in enumerate(at):
        if runs and runs[-1][-1] == i - 1 and indent[n] == indent[n - 1]:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


def numbered(code: str, first: int) -> str:
    """The code as an assistant's file-reading tool returns it: `cat -n`'s numbers from the
    chunk's own first line, right-aligned, then a tab."""
    return "\n".join(f"{first + n:>6}\t{line}" for n, line in enumerate(code.split("\n")))


def chat(code: str, lang: Language, rng: random.Random) -> tuple[str, int, int]:
    """The code in a chat message; with the first and last lines (from 1) of the code in it."""
    info = rng.choice([lang.name, ""])
    before = "Here is part of our service, it fails under load.\nCan you tell me why?\n\n"
    text = f"{before}```{info}\n{code}\n```\n\nThanks in advance!"
    first = before.count("\n") + 2
    return text, first, first + code.count("\n")


# ---- chunks ----------------------------------------------------------------------------------
@functools.cache
def lexed(path: Path, lexer: str) -> tuple[frozenset[int], frozenset[str]]:
    """Lines (from 0) that start inside a multi-line string or comment, and the words read as
    keywords or builtins, by Pygments."""
    text = path.read_text(errors="replace")
    inside, reserved_words, line = set(), set(), 0
    for kind, value in get_lexer_by_name(lexer).get_tokens(text):
        breaks = value.count("\n")
        if breaks and (kind in String or kind in Comment):
            inside.update(range(line + 1, line + breaks + (not value.endswith("\n"))))
        if kind in Keyword or kind in Name.Builtin:
            reserved_words.update(re.findall(r"[A-Za-z_]\w*", value))
        line += breaks
    return frozenset(inside), frozenset(reserved_words)


@functools.cache
def file_lines(path: Path) -> list[str]:
    return path.read_text(errors="replace").split("\n")


def chunk_spots(paths: list[Path], lexer: str, lines: int, n: int, rng: random.Random) -> list[tuple[Path, int]]:
    """Where random runs of ``lines`` lines start, as a developer would paste them: starting and
    ending outside a multi-line string or comment, with 8 non-blank lines at least (sparse code too)."""
    out, tries = [], 0
    candidates = [p for p in paths if p.exists()]
    while len(out) < n and candidates and tries < 50 * n:
        tries += 1
        path = rng.choice(candidates)
        text = file_lines(path)
        if len(text) <= lines + 1:
            continue
        i = rng.randrange(len(text) - lines)
        inside = lexed(path, lexer)[0]
        if i in inside or i + lines - 1 in inside or i + lines in inside or sum(1 for line in text[i : i + lines] if line.strip()) < 8:
            continue
        out.append((path, i))
    return out


def chunk_text(spot: tuple[Path, int], lines: int) -> str:
    path, i = spot
    return "\n".join(file_lines(path)[i : i + lines])


def chunks(paths: list[Path], lexer: str, lines: int, n: int, rng: random.Random) -> list[str]:
    return [chunk_text(spot, lines) for spot in chunk_spots(paths, lexer, lines, n, rng)]


# ---- is a disguised paste still code? --------------------------------------------------------
RUSTFMT = str(Path.home() / ".cargo/bin/rustfmt")
PARSERS = {  # a command that reads a file on standard input and fails on a syntax error
    "go": ["gofmt", "-e"],
    "javascript": ["node", "--check", "-"],
    "shell": ["bash", "-O", "extglob", "-n"],  # completion scripts turn extglob on before their patterns
    "rust": [RUSTFMT, "--edition", "2021", "--emit", "stdout"],
    "php": ["php", "-l"],
    "ruby": ["ruby", "-c"],
}
TYPESCRIPT = Path(sys.prefix) / "share/llm-dlp/typescript/node_modules/typescript"  # bootstrap.sh bench
if TYPESCRIPT.exists():  # its compiler's syntax errors, reported without type checking
    PARSERS["typescript"] = [
        "node",
        "-e",
        f"const ts = require({str(TYPESCRIPT)!r}); const src = require('fs').readFileSync(0, 'utf8');"
        "process.exit(ts.transpileModule(src, {reportDiagnostics: true}).diagnostics.length ? 1 : 0)",
    ]


@functools.cache
def parses(lang: str, text: str) -> bool:
    if lang == "python":
        try:
            ast.parse(text)
        except (SyntaxError, ValueError):
            return False
        return True
    if lang == "terraform":  # python-hcl2's parser of HCL 2
        import hcl2

        try:
            hcl2.loads(text)
        except Exception:  # its parser's errors (lark's) share no class of their own
            return False
        return True
    run = subprocess.run(PARSERS[lang], input=text.encode(), capture_output=True, timeout=60, check=False)
    return run.returncode == 0


def checkable(lang: Language) -> bool:
    if lang.name == "terraform":
        return importlib.util.find_spec("hcl2") is not None
    return lang.name == "python" or (lang.name in PARSERS and shutil.which(PARSERS[lang.name][0]) is not None)


def put_back(spot: tuple[Path, int], code: str, lang: Language, names: dict[str, str]) -> str:
    """The file with the 20-line chunk at ``spot`` replaced by ``code``, whose renaming of
    ``names`` renamed JavaScript's private names (`#name`) in the rest of the file too, as a
    developer renaming a class's field does: JavaScript rejects a private name that no enclosing
    class declares, and the paste may hold the declaration or the uses alone."""
    path, i = spot
    lines = file_lines(path)
    before, after = "\n".join(lines[:i]), "\n".join(lines[i + 20 :])
    if lang.name in JS_LIKE and names:
        private = re.compile(r"#(" + "|".join(map(re.escape, names)) + r")(?![\w$])")
        before, after = (private.sub(lambda m: "#" + names[m.group(1)], part) for part in (before, after))
    return "\n".join([before, code, after])


def invalid_pastes(lang: Language, plain: list[tuple[Path, int]], base: list[tuple[Path, int]]) -> dict[str, tuple[int, int]]:
    """For each disguise: pastes that, put back in place of their chunk in a file that parses,
    make it fail to parse; and pastes checked (layout's applied to the whole file put back)."""
    renamed = functools.partial(rename, lang=lang)
    both = (lambda c, keep, names: swap_quotes(renamed(c, keep=keep, names=names), lang)) if lang.quotes else renamed
    disguises = {
        "renamed": (plain, lambda c, keep, names: renamed(c, keep=keep, names=names), False),
        "quotes": (plain, lambda c, keep, names: swap_quotes(c, lang), False) if lang.quotes else None,
        "layout": (plain, lambda c, keep, names: c, True),
        "combined": (base, lambda c, keep, names: both(c, keep=keep, names=names), True),
    }
    out = {}
    for name, disguise in disguises.items():
        if disguise is None:
            continue
        spots, change, laid_out = disguise
        valid = [s for s in spots if parses(lang.name, "\n".join(file_lines(s[0])))]
        broken = 0
        for spot in valid:
            names: dict[str, str] = {}
            pasted = change(chunk_text(spot, 20), reserved(lang, spot[0]), names)
            text = put_back(spot, pasted, lang, names)
            broken += not parses(lang.name, layout(text, lang, random.Random(0)) if laid_out else text)
        out[name] = (broken, len(valid))
    return out


# A negative that holds this many consecutive lines of an indexed file, alike but for whitespace,
# is a copy: counted apart from the false alarms (PostgreSQL's extensions share whole upgrade blocks).
COPIED_LINES = 6


def line_runs(text: str) -> set[int]:
    """Hashes of every run of COPIED_LINES consecutive non-blank lines, whitespace left out (a
    copy re-aligned or re-indented is a copy), with 120 characters or more between them: runs
    of braces or ``END;`` alone are no evidence."""
    lines = ["".join(line.split()) for line in text.split("\n") if line.strip()]
    runs = (lines[i : i + COPIED_LINES] for i in range(len(lines) - COPIED_LINES + 1))
    return {hash(tuple(run)) for run in runs if sum(map(len, run)) >= 120}


def formatted_copies(lang: Language, indexed: list[Path], into: Path) -> list[Path]:
    """The indexed files run through the language's formatter (those it could format): not
    the private files the index left out as generated."""
    if not lang.formatter or (lang.formatter != ["SQLFORMAT"] and not shutil.which(lang.formatter[0])):
        return []  # not installed here: the disguise is left out
    into.mkdir(parents=True)
    copies = []
    for n, p in enumerate(indexed):
        copy = into / f"f{n}{lang.suffix}"
        shutil.copy(p, copy)
        copies.append(copy)
    before = {c: c.read_bytes() for c in copies}
    if lang.name == "go":
        for c in copies:
            c.write_text(wrap_go_lines(c.read_text(errors="replace")))
    if lang.formatter == ["SQLFORMAT"]:
        import sqlparse

        for c in copies:
            c.write_text(sqlparse.format(c.read_text(errors="replace"), reindent=True, keyword_case="upper", indent_width=4))
    else:
        for at in range(0, len(copies), 50):
            subprocess.run(lang.formatter + [str(c) for c in copies[at : at + 50]], capture_output=True, timeout=600, cwd=into, check=False)
    return [c for c in copies if c.read_bytes() != before[c]]  # formatted (a file it could not parse stays as it was)


GO_LEXEMES = re.compile(r'//[^\n]*|/\*[\s\S]*?\*/|"(?:[^"\\\n]|\\.)*"|`[^`]*`|\'(?:[^\'\\\n]|\\.)+\'|(?P<comma>,)[ \t]*(?![ \t\n]|//|/\*)')
WRAP_COLUMNS = 60


def wrap_go_lines(code: str) -> str:
    """Each line wider than WRAP_COLUMNS (a tab is 4) broken after every comma outside strings
    and comments, one item a line, for gofmt to re-indent: it keeps a line break after a comma
    (no semicolon goes there). Go's standard library is gofmt's output already, and gofmt has no
    settings to format it otherwise."""
    out, start = [], 0
    for m in GO_LEXEMES.finditer(code):
        if m.group("comma") is None:
            continue
        line = code[code.rfind("\n", 0, m.start()) + 1 : code.find("\n", m.start()) % (len(code) + 1)]
        if len(line.expandtabs(4)) > WRAP_COLUMNS:
            out.append(code[start : m.start() + 1] + "\n")
            start = m.end()
    return "".join(out) + code[start:]


def lines_left_out(text: str, first: int, last: int, hits) -> int:
    """How many non-blank lines of the paste (lines first to last of the text) no match covers."""
    covered = {n for h in hits for n in range(h.first_line, h.last_line + 1)}
    lines = text.split("\n")
    return sum(1 for n in range(first, last + 1) if lines[n - 1].strip() and n not in covered)


# ---- timing ----------------------------------------------------------------------------------
def best_ms(run, repeats: int = 15) -> float:
    """The fastest of ``repeats`` runs: the least disturbed by other work on a shared machine."""
    times = []
    for n in range(repeats):
        t0 = time.perf_counter()
        run(n)
        times.append(time.perf_counter() - t0)
    return min(times) * 1000


def fresh_match_ms(index: FingerprintIndex, text: str, threshold: int, window_lines: int) -> float:
    return best_ms(lambda n: match(index, f"{text}\n# fresh text {n} {time.perf_counter_ns()}", threshold, window_lines))


def event_loop_lateness_ms(work) -> float:
    """The worst lateness of a 1 ms asyncio timer while two worker threads each run ``work``
    20 times, as the proxy runs inspection off its event loop."""

    async def run() -> float:
        worst, stop = 0.0, False

        async def ticker():
            nonlocal worst
            while not stop:
                t0 = time.perf_counter()
                await asyncio.sleep(0.001)
                worst = max(worst, time.perf_counter() - t0 - 0.001)

        tick = asyncio.create_task(ticker())
        await asyncio.gather(*(asyncio.to_thread(lambda t=t: [work(f"{t} {i}") for i in range(20)]) for t in range(2)))
        stop = True
        await tick
        return worst * 1000

    return asyncio.run(run())


# ---- the run ---------------------------------------------------------------------------------
DISGUISES = ("plain", "numbered", "renamed", "quotes", "formatted", "layout", "combined")
FEW_TOKENS = 40
INVALID: dict[str, dict[str, tuple[int, int]]] = {}  # language: disguise: (pastes that break their file, checked)


def positives(
    lang: Language, indexed: list[Path], formatted: list[Path], n: int, rng: random.Random
) -> dict[str, list[tuple[str, int, int]]]:
    """For each disguise: (request text, first and last line of the paste in it)."""

    def bare(code: str) -> tuple[str, int, int]:
        return code, 1, code.count("\n") + 1

    plain = chunk_spots(indexed, lang.pygments, 20, n, rng)

    def renamed(spot: tuple[Path, int]) -> str:
        return rename(chunk_text(spot, 20), lang, reserved(lang, spot[0]))

    out = {
        "plain": [bare(chunk_text(s, 20)) for s in plain],
        "numbered": [bare(numbered(chunk_text(s, 20), s[1] + 1)) for s in plain],
        "renamed": [bare(renamed(s)) for s in plain],
    }
    if lang.quotes:
        out["quotes"] = [bare(swap_quotes(chunk_text(s, 20), lang)) for s in plain]
    out["layout"] = [chat(layout(chunk_text(s, 20), lang, rng), lang, rng) for s in plain]
    base = chunk_spots(formatted, lang.pygments, 20, n, rng) if formatted else plain
    if formatted:
        out["formatted"] = [bare(chunk_text(s, 20)) for s in base]
    out["combined"] = [chat(layout(swap_quotes(renamed(s), lang) if lang.quotes else renamed(s), lang, rng), lang, rng) for s in base]
    if checkable(lang):
        INVALID[lang.name] = invalid_pastes(lang, plain, base)
    return out


def boilerplate(rng: random.Random, n: int) -> list[str]:
    """Licence texts, package manifests and the import blocks at the top of unrelated files."""
    copyrights = sorted(Path("/usr/share/doc").glob("*/copyright"))
    manifests = sorted(NODE_MODULES.glob("node_modules/*/package.json")) + sorted(Path("/usr/share/cargo/registry").glob("*/Cargo.toml"))
    tops = sorted((SITE / "openai").rglob("*.py")) + sorted(Path("/usr/lib/go/src/cmd").rglob("*.go"))[:400]
    out = []
    for pool in (copyrights, manifests, tops):
        for p in rng.sample(pool, min(n // 3, len(pool))):
            text = p.read_text(errors="replace").split("\n")
            start = 0 if pool is tops else rng.randrange(max(1, len(text) - 40))
            out.append("\n".join(text[start : start + 40]))
    return out


def detection(args, tmp: Path) -> FingerprintIndex:
    langs = [lang for lang in languages(tmp, args.seed, args.files) if not args.languages or lang.name in args.languages.split(",")]
    if not langs:
        raise SystemExit(f"no code here of {args.languages or 'any language'}: deploy/bootstrap.sh bench installs the corpora")
    private = tmp / "org"
    for lang in langs:  # the organisation's repositories, one per language
        for n, p in enumerate(lang.private):
            copy = private / lang.name / f"{n:03d}-{p.stem}{lang.suffix}"
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(p, copy)
    t0 = time.perf_counter()
    stats = build_index(sorted(private.iterdir()), tmp / "org.fpidx")
    secs = time.perf_counter() - t0
    index = FingerprintIndex(tmp / "org.fpidx")
    print(
        f"index: {stats['files']} files in {len(langs)} languages, {stats['lines']} lines, {stats['fingerprints']} fingerprints in "
        f"{secs:.1f} s ({secs * 1e6 / stats['lines']:.1f} s and {stats['bytes'] * 1e6 / stats['lines'] / 1e6:.0f} MB per million lines)"
    )
    print(f"{'language':<11} {'formatter':<26} " + " ".join(f"{d:>15}" for d in DISGUISES) + f" {'false alarms':>14} {'short ones':>15}")
    totals = {
        "caught": 0,
        "queries": 0,
        "whole": 0,
        "false": 0,
        "negatives": 0,
        "copies": 0,
        "copies_matched": 0,
        "short_false": 0,
        "short": 0,
    }
    sparse = {True: [0, 0], False: [0, 0]}  # caught, pastes: with fewer than FEW_TOKENS tokens of code, and the rest
    for lang in langs:
        rng = random.Random(f"{args.seed}-{lang.name}")  # its own (and its negatives' theirs): no sample depends on what else is run
        indexed = [private / name.split("/", 1)[0] / name.split("/", 1)[1] for name in index.files if name.startswith(f"{lang.name}/")]
        formatted = formatted_copies(lang, indexed, tmp / "formatted" / lang.name)
        cells = []
        for disguise in DISGUISES:
            queries = positives_cache(lang, indexed, formatted, args.queries, rng).get(disguise)
            if not queries:
                cells.append(f"{'n/a':>15}")
                continue
            found = [match(index, text, args.threshold, args.window_lines) for text, _, _ in queries]
            caught = [(q, hits) for q, hits in zip(queries, found) if hits]
            for (text, first, last), hits in zip(queries, found):
                code = "\n".join(text.split("\n")[first - 1 : last])
                few = len(tokenise(code, guess_language(code))[0]) < FEW_TOKENS
                sparse[few][0] += bool(hits)
                sparse[few][1] += 1
            whole = sum(lines_left_out(text, first, last, hits) == 0 for (text, first, last), hits in caught)
            totals["caught"] += len(caught)
            totals["queries"] += len(queries)
            totals["whole"] += whole
            cells.append(f"{len(caught) / len(queries):>6.1%} w{whole / max(len(caught), 1):>6.1%}")
        drawn = chunks(lang.public, lang.pygments, 40, args.negatives, random.Random(f"{args.seed}-negatives-{lang.name}"))
        indexed_runs = set().union(*(line_runs(p.read_text(errors="replace")) for p in indexed))
        negatives = [q for q in drawn if not line_runs(q) & indexed_runs]
        copies = [q for q in drawn if line_runs(q) & indexed_runs]
        copies_matched = sum(bool(match(index, q, args.threshold, args.window_lines)) for q in copies)
        alarms = [(q, hits) for q in negatives if (hits := match(index, q, args.threshold, args.window_lines))]
        false = len(alarms)
        totals["copies"] += len(copies)
        totals["copies_matched"] += copies_matched
        show_false_alarms(args, index, lang, private, "40-line", alarms)
        totals["false"] += false
        totals["negatives"] += len(negatives)
        short = short_negatives(lang, indexed_runs, args)
        short_alarms = [(text, hits) for text, _, _ in short if (hits := match(index, text, args.threshold, args.window_lines))]
        show_false_alarms(args, index, lang, private, "short", short_alarms)
        short_false = len(short_alarms)
        totals["short_false"] += short_false
        totals["short"] += len(short)
        tool = (
            "none here"
            if not lang.formatter
            else f"{Path(lang.formatter[0]).name} ({len(formatted)} files)"
            if formatted
            else "none could run"
        )
        print(
            f"{lang.name:<11} {tool:<26} "
            + " ".join(cells)
            + f" {false:>5}/{len(negatives):<4}({false / max(len(negatives), 1):.1%}) {short_false:>5}/{len(short):<4}({short_false / max(len(short), 1):.1%})"
        )
    plates = boilerplate(random.Random(f"{args.seed}-boilerplate"), args.negatives)
    false_plates = sum(bool(match(index, q, args.threshold, args.window_lines)) for q in plates)
    print(
        f"(each cell: caught, then w: of those, withheld whole; {args.queries} 20-line pastes per disguise and language; "
        f"negatives: 40-line chunks of unrelated code of the language)"
    )
    print(
        f"all: {totals['caught']}/{totals['queries']} pastes caught ({totals['caught'] / max(totals['queries'], 1):.1%}), "
        f"{totals['whole'] / max(totals['caught'], 1):.1%} of them withheld whole; false alarms {totals['false']}/{totals['negatives']} "
        f"unrelated chunks ({totals['false'] / max(totals['negatives'], 1):.2%}) and {false_plates}/{len(plates)} boilerplate texts "
        f"(licences, manifests, import blocks)"
    )
    print(
        f"short unrelated pastes ({SHORT_LINES}-line chunks of the same unrelated code, under layout, in a chat message): "
        f"{totals['short_false']}/{totals['short']} matched ({totals['short_false'] / max(totals['short'], 1):.2%})"
    )
    print(
        f"negatives that are copies ({COPIED_LINES} or more consecutive lines of an indexed file, alike but for whitespace), counted apart: "
        f"{totals['copies']}, of which {totals['copies_matched']} matched"
    )
    print_invalid(langs)
    (few_caught, few), (rest_caught, rest) = sparse[True], sparse[False]
    print(
        f"pastes with fewer than {FEW_TOKENS} tokens of code (comments, imports, short lists; a copy needs about 20, a renamed one "
        f"about 28): {few} of {few + rest} ({few / max(few + rest, 1):.1%}), {few_caught / max(few, 1):.1%} caught; "
        f"the rest {rest_caught / max(rest, 1):.1%} caught"
    )
    return index


def show_false_alarms(args, index: FingerprintIndex, lang: Language, private: Path, kind: str, alarms: list) -> None:
    """The first --show-false-alarms of ``alarms`` ((text, matches) of ``kind``) as they read, and
    with --explain-false-alarms each one's rule and what it shares with the file it matched."""
    for n, (text, hits) in enumerate(alarms):
        head = f"  false alarm ({lang.name}, {kind}, {hits[0].file}, {hits[0].fingerprints} fingerprints)"
        if n < args.show_false_alarms:
            print(head + ":\n    " + "\n    ".join(text.split("\n")[:12]))
        if args.explain_false_alarms:
            path = private / hits[0].file
            print(head + ": " + explain(index, text, hits[0].file, path, lang.pygments, args.threshold, args.window_lines))


SHORT_LINES = 12


def short_negatives(lang: Language, indexed_runs: set[int], args) -> list[tuple[str, int, int]]:
    """Unrelated code pasted as the positives are, but short: SHORT_LINES-line chunks under
    layout, in a chat message (a short piece that carries few shapes is matched by their share,
    docs/paths.md). Drawn with their own random numbers, so the other samples stay as they were."""
    rng = random.Random(f"{args.seed}-short-{lang.name}")
    drawn = chunks(lang.public, lang.pygments, SHORT_LINES, args.negatives, rng)
    return [chat(layout(q, lang, rng), lang, rng) for q in drawn if not line_runs(q) & indexed_runs]


def print_invalid(langs: list[Language]) -> None:
    checked = [lang.name for lang in langs if lang.name in INVALID]
    print(
        "disguised pastes that are not code, put back in their file (a file that parses; layout on the whole file): "
        + "; ".join(f"{name} " + ", ".join(f"{d} {bad}/{n}" for d, (bad, n) in INVALID[name].items()) for name in checked)
        + f" (no parser run here for {', '.join(lang.name for lang in langs if lang.name not in INVALID) or 'none'})"
    )


_POSITIVES: dict[str, dict] = {}


def positives_cache(lang, indexed, formatted, n, rng):
    if lang.name not in _POSITIVES:
        _POSITIVES[lang.name] = positives(lang, indexed, formatted, n, rng)
    return _POSITIVES[lang.name]


def scale_texts(rng: random.Random) -> tuple[str, str]:
    """256 KB of unrelated Python (the standard library's, not installed packages), and 256 KB
    of Go and JavaScript, in 40-line chunks."""
    stdlib = sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py"))
    unrelated = "\n".join(chunks(stdlib, "python", 40, 400, rng))[: 256 * 1024]
    mixed = "\n".join(
        chunks(sorted(Path("/usr/lib/go/src/cmd").rglob("*.go"))[:300], "go", 40, 150, rng)
        + chunks([p for p in sorted(Path("/usr/share/nodejs").rglob("*.js")) if p.is_file()], "javascript", 40, 150, rng)
    )[: 256 * 1024]
    return unrelated, mixed


def scale(args, rng: random.Random, tmp: Path, index: FingerprintIndex) -> None:
    everything = tmp / "installed.fpidx"
    t0 = time.perf_counter()
    stats = build_index([SITE], everything)
    secs = time.perf_counter() - t0
    t0 = time.perf_counter()
    build_index([SITE], everything)
    rerun = time.perf_counter() - t0
    at_scale = FingerprintIndex(everything)
    unrelated, mixed = scale_texts(rng)
    print(
        f"index at scale: all {stats['files']} installed Python source files, {stats['lines']} lines, in {secs:.1f} s "
        f"({secs * 1e6 / stats['lines']:.1f} s and {stats['bytes'] / stats['lines']:.0f} MB per million lines); again unchanged: {rerun:.1f} s"
    )
    per_256k = fresh_match_ms(index, unrelated, args.threshold, args.window_lines)
    at_scale_ms = fresh_match_ms(at_scale, unrelated, args.threshold, args.window_lines)
    mixed_ms = fresh_match_ms(at_scale, mixed, args.threshold, args.window_lines)
    messages = [unrelated[i : i + 4096] for i in range(0, len(unrelated), 4096)]
    for message in messages[:-1]:
        match(at_scale, message, args.threshold, args.window_lines)  # the earlier turns
    t0 = time.perf_counter()
    for message in messages:
        match(at_scale, message, args.threshold, args.window_lines)
    last_turn = (time.perf_counter() - t0) * 1000
    lateness = event_loop_lateness_ms(
        lambda tag: match(at_scale, f"{unrelated}\n# {tag} {time.perf_counter_ns()}", args.threshold, args.window_lines)
    )
    detector = load_ruleset(bundled_rules_dir()).detector
    secrets_256k = best_ms(lambda n: detector.scan(f"{unrelated}\n# {n}"))
    secrets_lateness = event_loop_lateness_ms(lambda tag: detector.scan(f"{unrelated}\n# {tag}"))
    from pygments.lexers import PythonLexer

    pygments_256k = best_ms(lambda n: list(PythonLexer().get_tokens(f"{unrelated}\n# {n}")), repeats=2)
    tokens_256k = best_ms(lambda n: tokenise(f"{unrelated}\n# {n}", "python"))
    print(
        f"matching: {per_256k:.1f} ms per fresh 256 KB of unrelated Python against the benchmark's index; against the "
        f"{stats['lines'] / 1e6:.1f}M-line index {at_scale_ms:.1f} ms, and {mixed_ms:.1f} ms for 256 KB of Go and JavaScript; "
        f"{last_turn:.1f} ms for the 64th turn of a conversation (256 KB in 64 messages, one of them new)"
    )
    print(
        f"baselines on the same 256 KB: secret detection {secrets_256k:.1f} ms (matching at scale costs {at_scale_ms / secrets_256k:.2f}x it); "
        f"the lexer alone {tokens_256k:.1f} ms; Pygments' Python lexer alone {pygments_256k:.0f} ms ({pygments_256k / at_scale_ms:.0f}x matching)"
    )
    print(
        f"event loop: a 1 ms timer fired at worst {lateness:.1f} ms late while two threads matched 256 KB requests; "
        f"{secrets_lateness:.1f} ms while they scanned them for secrets"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--queries", type=int, default=200, help="pastes per disguise and language")
    ap.add_argument("--negatives", type=int, default=300, help="unrelated chunks per language, and boilerplate texts")
    ap.add_argument("--files", type=int, default=120, help="private and public files per language")
    ap.add_argument("--languages", default="", help="comma-separated, default all found")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threshold", type=int, default=6, help="the rule's threshold (default 6)")
    ap.add_argument("--window-lines", type=int, default=30, help="the rule's window_lines (default 30)")
    ap.add_argument("--no-scale", action="store_true", help="skip the million-line index and the timings")
    ap.add_argument("--show-false-alarms", type=int, default=0, metavar="N", help="print the first N false alarms of each language")
    ap.add_argument(
        "--explain-false-alarms",
        action="store_true",
        help="for every false alarm: the matching rule that fired and the fingerprints and tokens it shares with the file",
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        index = detection(args, Path(d))
        if not args.no_scale:
            scale(args, random.Random(f"{args.seed}-scale"), Path(d), index)


if __name__ == "__main__":
    main()
