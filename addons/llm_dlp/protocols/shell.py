"""Which files a shell command prints: a tool call that runs ``cat .env`` is a file read.

Commands are split into words with a real shell-word parser (``shlex`` in POSIX mode, with
``|``, ``&&``, ``||``, ``;``, ``&`` and newlines as separators), wrappers such as ``bash -lc '…'``,
``sudo`` or ``env VAR=1`` are unwrapped, and each simple command is matched against the readers
it knows. What a command prints that cannot be tied to a file (``$(…)``, globs, variables,
``find -exec``, scripts) is reported as ``opaque`` so that callers can decide to fail closed."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

SEPARATORS = frozenset({"|", "||", "&&", ";", "&", "|&", "\n"})
# words that only change how the next word runs
PREFIX_COMMANDS = frozenset({"sudo", "command", "builtin", "exec", "nohup", "time", "nice", "stdbuf", "timeout", "xargs"})
SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "fish", "pwsh", "powershell", "powershell.exe", "pwsh.exe", "cmd", "cmd.exe"})
# readers whose every non-option argument is a file they print
WHOLE_FILE_READERS = frozenset(
    {
        "cat",
        "tac",
        "nl",
        "less",
        "more",
        "most",
        "bat",
        "batcat",
        "type",
        "gc",
        "get-content",
        "cat.exe",
        "strings",
        "xxd",
        "hexdump",
        "od",
        "base64",
    }
)
# readers that print part of a file; the file is still its source
PARTIAL_READERS = frozenset(
    {
        "head",
        "tail",
        "cut",
        "sort",
        "uniq",
        "column",
        "fold",
        "rev",
        "diff",
        "cmp",
        "wc",
        "jq",
        "yq",
        "sed",
        "awk",
        "gawk",
        "grep",
        "egrep",
        "fgrep",
        "rg",
        "ag",
        "ack",
        "select-string",
        "sls",
    }
)
# options that take a value in the next word, per command (so the value is not read as a file)
VALUE_OPTIONS = {
    "head": {"-n", "-c", "--lines", "--bytes"},
    "tail": {"-n", "-c", "--lines", "--bytes", "-s", "--sleep-interval", "--pid"},
    "grep": {
        "-e",
        "-f",
        "-m",
        "-A",
        "-B",
        "-C",
        "--regexp",
        "--file",
        "--max-count",
        "--context",
        "--after-context",
        "--before-context",
        "--color",
        "--include",
        "--exclude",
        "--exclude-dir",
        "--label",
        "-d",
        "-D",
    },
    "rg": {"-e", "-g", "-t", "-T", "-m", "-A", "-B", "-C", "--glob", "--type", "--max-count", "--context", "-M", "-j", "--regexp"},
    "sed": {"-e", "-f", "--expression", "--file", "-l"},
    "awk": {"-f", "-v", "-F"},
    "cut": {"-d", "-f", "-c", "-b", "--delimiter", "--fields"},
    "sort": {"-k", "-t", "-o", "-S", "--key", "--field-separator"},
    "nl": {"-b", "-n", "-s", "-w", "-v", "-i"},
    "bat": {"-l", "--language", "-r", "--line-range", "-H", "--highlight-line", "--style", "--theme", "--paging"},
    "jq": {"--arg", "--argjson", "--slurpfile", "--rawfile", "-f", "--from-file"},
    "less": {"-p", "-x", "-y", "-b", "-h", "-j", "-z"},
    "xxd": {"-l", "-s", "-c", "-g", "-o"},
    "od": {"-t", "-N", "-j", "-A", "-w"},
    "get-content": {"-totalcount", "-tail", "-head", "-first", "-last", "-encoding", "-delimiter", "-readcount", "-stream"},
    "select-string": {"-pattern", "-encoding", "-context"},
}
ALIASES = {
    "batcat": "bat",
    "egrep": "grep",
    "fgrep": "grep",
    "gawk": "awk",
    "gc": "get-content",
    "sls": "select-string",
    "cat.exe": "cat",
    "type": "cat",
    "more": "less",
    "most": "less",
}
# readers whose first non-option word is a pattern or program, not a file (unless -e/-f gave it)
PATTERN_FIRST = frozenset({"grep", "rg", "ag", "ack", "sed", "awk", "jq", "yq", "select-string"})
POWERSHELL_PATH_OPTIONS = {"-path", "-literalpath", "-lp"}
REDIRECT_IN = re.compile(r"^(\d*)<(?!<)(.*)$")  # "<file", "0<file"; not "<<" heredocs
REDIRECT_OUT = re.compile(r"^(\d*|&)>>?(.*)$")
GLOB_OR_EXPANSION = re.compile(r"[*?\[\]$`{}~]")
# a here-document's body is the command's input, not words of the command line
HEREDOC = re.compile(r"<<-?[ \t]*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1([^\n]*)\n.*?(?:\n[ \t]*\2[ \t]*(?=\n|$)|$)", re.DOTALL)


@dataclass
class ShellReads:
    """Files a command prints to its output, and whether some of its output has no known source."""

    files: list[str] = field(default_factory=list)
    opaque: bool = False

    def add(self, path: str) -> None:
        while path.startswith("./"):
            path = path[2:]
        if GLOB_OR_EXPANSION.search(path) and not path.startswith("~/"):
            self.opaque = True  # a glob or variable: the shell decides which files
        elif path and path not in self.files:
            self.files.append(path)


def split_commands(command: str) -> list[list[str]]:
    """The simple commands of a command line, each as its words (quotes removed)."""
    command = HEREDOC.sub(lambda m: f"<<{m.group(2)}{m.group(3)}", command)
    lexer = shlex.shlex(command, posix=True, punctuation_chars=";&|<>()")
    lexer.whitespace = " \t\r"  # newlines separate commands
    lexer.commenters = "#"
    lexer.wordchars += "~-./*?[]$={}:%+@,^!"
    commands: list[list[str]] = [[]]
    pending_redirect = ""
    for word in _words(lexer):
        if word in SEPARATORS or word in ("(", ")"):
            commands.append([])
        elif word in ("<", ">", ">>", "<<", "<<<", "&>", ">&", ">|", "<<-", "&>>"):
            if commands[-1] and commands[-1][-1].isdigit():  # "2>/dev/null": the shell reads "2>" as one operator
                commands[-1].pop()
            pending_redirect = word
        elif pending_redirect:
            commands[-1].append(pending_redirect + word)
            pending_redirect = ""
        else:
            commands[-1].append(word)
    return [c for c in commands if c]


def _words(lexer: shlex.shlex) -> list[str]:
    words = []
    try:
        for word in lexer:
            words.append(word)
    except ValueError:  # an unterminated quote: the shell would refuse it; keep what was read
        pass
    return words


def files_printed(command: str | list[str]) -> ShellReads:
    """The files that ``command`` (a command line, or argv as some tools send it) prints."""
    reads = ShellReads()
    if isinstance(command, list):
        commands = [list(command)] if command else []
    else:
        commands = split_commands(command)
    for words in commands:
        _simple_command(words, reads, depth=0)
    return reads


def _simple_command(words: list[str], reads: ShellReads, depth: int) -> None:
    words = [w for w in words if not _assignment(w)]
    for w in words:  # "< .env" feeds the file to whatever runs: its output may be the file
        if (m := REDIRECT_IN.match(w)) and m.group(2):
            reads.add(m.group(2))
    words = [w for w in words if not REDIRECT_IN.match(w) and not REDIRECT_OUT.match(w) and not w.startswith("<<")]
    while words and (_name(words[0]) in PREFIX_COMMANDS or _name(words[0]) == "env"):
        words = _drop_prefix(words)
    if not words:
        return
    name = _name(words[0])
    if name in SHELLS:
        script = _inline_script(words)
        if script is not None and depth < 4:
            for inner in split_commands(script):
                _simple_command(inner, reads, depth + 1)
        elif len(words) > 1:
            reads.opaque = True  # runs a script file: what it prints is unknown
        return
    if name == "git":
        _git(words[1:], reads)
        return
    if name in ("eval", "source", "."):
        reads.opaque = True
        return
    if name == "find" and any(w in ("-exec", "-execdir", "-ok") for w in words):
        reads.opaque = True
        return
    canonical = ALIASES.get(name, name)
    if name in WHOLE_FILE_READERS or canonical in PARTIAL_READERS or canonical in WHOLE_FILE_READERS:
        for path in _file_operands(canonical, words[1:]):
            reads.add(path)
    if any("$(" in w or "`" in w for w in words):
        reads.opaque = True


def _name(word: str) -> str:
    """The command's name without its directory, lower-cased (PowerShell and Windows ignore case)."""
    return word.replace("\\", "/").rsplit("/", 1)[-1].lower()


def _assignment(word: str) -> bool:
    return bool(re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", word))


def _drop_prefix(words: list[str]) -> list[str]:
    """``sudo -u x cmd`` → ``cmd``; ``env -i A=1 cmd`` → ``cmd``; ``timeout 5 cmd`` → ``cmd``."""
    name = _name(words[0])
    rest = words[1:]
    while rest and (rest[0].startswith("-") or _assignment(rest[0])):
        takes_value = name == "sudo" and rest[0] in ("-u", "-g", "-C", "-D", "-h", "-p", "-U", "-r", "-t")
        rest = rest[2:] if takes_value else rest[1:]
    if name in ("timeout", "nice") and rest and re.match(r"^\d+[smhd]?$", rest[0]):
        rest = rest[1:]
    return rest


def _inline_script(words: list[str]) -> str | None:
    """The script of ``bash -lc 'script'``, ``pwsh -Command …``, ``cmd /c …``; None for ``bash file.sh``."""
    for i, w in enumerate(words[1:], 1):
        low = w.lower()
        if (low.startswith("-") and not low.startswith("--") and "c" in low[1:] and len(low) <= 4) or low in (
            "-command",
            "/c",
            "/k",
            "--command",
        ):
            return " ".join(words[i + 1 :]) if low in ("-command", "/c", "/k") else (words[i + 1] if i + 1 < len(words) else "")
    return None


def _file_operands(name: str, args: list[str]) -> list[str]:
    """The non-option arguments that a reader takes as files."""
    value_options = VALUE_OPTIONS.get(name, set())
    operands: list[str] = []
    pattern_given = False
    powershell = name in ("get-content", "select-string")
    i = 0
    while i < len(args):
        arg = args[i]
        low = arg.lower() if powershell else arg
        if arg == "--":
            operands += args[i + 1 :]
            break
        if powershell and low in POWERSHELL_PATH_OPTIONS and i + 1 < len(args):
            operands.append(args[i + 1])
            i += 2
            continue
        if arg.startswith("-") and arg != "-":
            if low in value_options:
                pattern_given |= low in ("-e", "--regexp", "-f", "--file", "--expression", "-pattern")
                i += 2
                continue
            if "=" in arg:
                pattern_given |= arg.split("=", 1)[0] in ("--regexp", "--expression", "--file")
            i += 1
            continue
        operands.append(arg)
        i += 1
    if name in PATTERN_FIRST and not pattern_given and operands:
        operands = operands[1:]  # grep PATTERN FILE…, sed SCRIPT FILE…, awk PROGRAM FILE…
    return [o for o in operands if o != "-"]


def _git(args: list[str], reads: ShellReads) -> None:
    """``git show REV:PATH``, ``git cat-file -p REV:PATH``, ``git blame PATH``, ``git diff … -- PATH``."""
    while args and args[0].startswith("-"):  # git -C dir, git --no-pager
        args = args[2:] if args[0] in ("-C", "-c") else args[1:]
    if not args:
        return
    sub, rest = args[0], args[1:]
    if sub in ("show", "cat-file"):
        for arg in rest:
            if ":" in arg and not arg.startswith("-"):
                path = arg.split(":", 1)[1]
                reads.add(path)
        if "--" in rest:
            for path in rest[rest.index("--") + 1 :]:
                reads.add(path)
    elif sub in ("blame", "annotate"):
        operands = [a for a in rest if not a.startswith("-")]
        if operands:
            reads.add(operands[-1])
    elif sub in ("diff", "log", "grep") and "--" in rest:
        for path in rest[rest.index("--") + 1 :]:
            reads.add(path)
