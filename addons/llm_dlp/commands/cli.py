"""The ``llm-dlp`` command: run the proxy, scan files offline, check and test rule files."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
from pathlib import Path

from llm_dlp import __version__
from llm_dlp.protocols.registry import REGISTRY
from llm_dlp.rules.files import RuleFileError, bundled_rules_dir

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _host_port(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="llm-dlp", description="Data loss prevention egress proxy for LLM traffic.")
    parser.add_argument("--version", action="version", version=f"llm-dlp {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the proxy", description="Run the proxy (mitmproxy in-process with the llm-dlp addon).")
    run.add_argument(
        "--listen",
        type=_host_port,
        default=("127.0.0.1", 8080),
        metavar="HOST:PORT",
        help="proxy address (default 127.0.0.1:8080; port 0 picks a free one)",
    )
    run.add_argument("--rules", type=Path, default=None, metavar="DIR", help="rules directory (default: the bundled rules/)")
    run.add_argument(
        "--audit-log",
        default="llm-dlp-audit.jsonl",
        metavar="PATH",
        help="audit log, JSON lines; '-' for stdout (default ./llm-dlp-audit.jsonl)",
    )
    run.add_argument(
        "--metrics-listen",
        default="127.0.0.1:9464",
        metavar="HOST:PORT",
        help="Prometheus /metrics address (default 127.0.0.1:9464); 'off' disables",
    )
    run.add_argument(
        "--upstream-ca", type=Path, metavar="FILE", help="extra CA bundle (PEM) trusted for upstream TLS, in addition to the system's"
    )
    run.add_argument(
        "--confdir",
        default="~/.mitmproxy",
        metavar="DIR",
        help="mitmproxy confdir: CA certificate and key, placeholder key (default ~/.mitmproxy)",
    )
    run.add_argument("--mode", default=None, metavar="MODE", help="mitmproxy proxy mode, e.g. regular (default) or transparent")
    run.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        dest="setoptions",
        help="set a mitmproxy or llm_dlp_* option (repeatable)",
    )
    run.add_argument(
        "--wait-for-rules",
        action="store_true",
        help="start even when the rules are invalid: refuse every connection and report not ready on /readyz until valid rules appear (for orchestrators)",
    )
    run.add_argument("-q", "--quiet", action="store_true", help="log warnings and errors only")

    scan = sub.add_parser(
        "scan",
        help="scan a file or request body offline",
        description="Scan a file, or a captured API request body, with the same engine as the proxy. Exit 0: clean, 1: findings, 2: error.",
    )
    scan.add_argument("input", metavar="FILE|-", help="file to scan, '-' for stdin")
    scan.add_argument("--rules", type=Path, default=None, metavar="DIR", help="rules directory (default: the bundled rules/)")
    scan.add_argument(
        "--protocol",
        choices=REGISTRY.families() + [n for n in REGISTRY.names() if n not in REGISTRY.families()],
        metavar="PROTOCOL",
        help=f"treat the input as a request body of this API, as the catalog names it ({', '.join(REGISTRY.families())}) or one API "
        "of a family by name ('text': raw text). Default: generic (JSON bodies field by field, anything else raw text)",
    )
    scan.add_argument(
        "--path", default="", metavar="PATH", help="the request path, which picks the API within a family (e.g. /v1/responses)"
    )
    scan.add_argument("--json", action="store_true", help="one JSON object per finding")
    scan.add_argument("--redact", action="store_true", help="print the input with every finding replaced by its placeholder")

    keyhash = sub.add_parser(
        "keyhash",
        help="hash an API key for the policy's api_keys allow-list",
        description="Read an API key from standard input (never from the command line, so it stays out of shell history) and print its keyed hash, as the proxy computes it with the same placeholder key.",
    )

    audit = sub.add_parser("audit", help="verify audit logs")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser(
        "verify",
        help="check the tamper-evident chain of audit files",
        description="Check audit files (oldest first, rotated files before the live one). Reports the first edited, deleted, reordered or truncated record of each file, "
        "records the proxy could not write, and a trail written under another key; exit 1 if there is one.",
    )
    verify.add_argument("files", nargs="+", metavar="FILE")
    verify.add_argument(
        "--checkpoints",
        metavar="FILE",
        help="signed checkpoints of the chain head (llm_dlp_audit_checkpoint_file): also report records cut off after the last witnessed head",
    )
    verify.add_argument(
        "--head",
        metavar="SEQ:HEAD",
        help="a head witnessed elsewhere, e.g. Prometheus' llm_dlp_audit_checkpoint_seq and llm_dlp_audit_checkpoint_head: "
        "the last file must hold record SEQ with that head",
    )
    lineage = sub.add_parser("lineage", help="attribute code in a working tree to AI generations")
    lineage_sub = lineage.add_subparsers(dest="lineage_command", required=True)
    lscan = lineage_sub.add_parser(
        "scan",
        help="find code that AI models generated",
        description="Report which lines of the given files or directories match code that a model generated through the proxy, with engine, model, tool, user and date from the audit records.",
    )
    lscan.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    lscan.add_argument("--audit", nargs="+", required=True, metavar="FILE", help="audit files to read generations from")
    lscan.add_argument("--json", action="store_true", help="one JSON object per matched range")
    lscan.add_argument("--trailers", action="store_true", help="print git commit trailers (AI-Assisted: ...) instead of a table")
    for p in (keyhash, verify, lscan):
        p.add_argument(
            "--confdir",
            default="~/.mitmproxy",
            metavar="DIR",
            help="where the proxy's placeholder key lives (LLM_DLP_PLACEHOLDER_KEY wins)",
        )
        p.add_argument("--key-file", default=None, metavar="FILE", help="the placeholder key file, if not the confdir default")

    fingerprint = sub.add_parser("fingerprint", help="fingerprint private repositories")
    fp_sub = fingerprint.add_subparsers(dest="fingerprint_command", required=True)
    fp_index = fp_sub.add_parser(
        "index",
        help="build a fingerprint index of proprietary code",
        description="Index the source files under each REPO_DIR (winnowing fingerprints, renaming- and re-indentation-proof). Re-runs are incremental. Vendored directories (vendor/, node_modules/, third_party/...) and generated files (DO NOT EDIT, @generated, *_pb2.py, *.min.js...) inside REPO_DIR count as public code; fingerprints found in public code (the shipped list of common code too) or in more than --max-files indexed files (3 for a fingerprint of the shape alone) are dropped.",
    )
    fp_index.add_argument("repos", nargs="+", type=Path, metavar="REPO_DIR")
    fp_index.add_argument("--out", required=True, type=Path, metavar="INDEX")
    fp_index.add_argument(
        "--public", nargs="*", type=Path, default=[], metavar="DIR", help="public or boilerplate code whose fingerprints are left out"
    )
    fp_index.add_argument("--max-files", type=int, default=10, help="drop fingerprints found in more indexed files than this (default 10)")
    fp_index.add_argument("--index-all", action="store_true", help="index vendored directories and generated files as proprietary code too")

    pac = sub.add_parser(
        "pac",
        help="print a PAC file for developer machines",
        description="A proxy auto-config script that sends the catalog's AI endpoints through the proxy (with no DIRECT fallback: fail closed) and everything else direct or to --fallback.",
    )
    pac.add_argument("--proxy", required=True, metavar="HOST:PORT", help="the llm-dlp proxy as clients reach it")
    pac.add_argument("--rules", type=Path, default=None, metavar="DIR", help="rules directory (default: the bundled rules/)")
    pac.add_argument(
        "--fallback", default="DIRECT", metavar="PAC_RESULT", help="for other traffic, e.g. 'PROXY corp-proxy:3128' (default DIRECT)"
    )

    ca = sub.add_parser("ca", help="export the proxy's CA certificate")
    ca_sub = ca.add_subparsers(dest="ca_command", required=True)
    ca_export = ca_sub.add_parser(
        "export",
        help="write the CA certificate (never its key)",
        description="Write the proxy's CA certificate for trust stores: PEM (Linux, curl, Python, Node), DER (Windows, Java keytool), or a key-less PKCS#12 bundle.",
    )
    ca_export.add_argument("--format", choices=["pem", "der", "p12"], default="pem")
    ca_export.add_argument("--confdir", default="~/.mitmproxy", metavar="DIR")
    ca_export.add_argument("--out", type=Path, default=None, metavar="FILE", help="default: standard output")

    report = sub.add_parser(
        "report",
        help="write an HTML governance report from audit files",
        description="A self-contained HTML report (inline SVG charts): adoption by tool, model and group over time, findings and blocks by rule, refused endpoints, unapproved packages.",
    )
    report.add_argument("--audit", nargs="+", required=True, metavar="FILE")
    report.add_argument("--html", required=True, type=Path, metavar="OUT")

    rules = sub.add_parser("rules", help="check or test rule files")
    rules_sub = rules.add_subparsers(dest="rules_command", required=True)
    doctor = sub.add_parser(
        "doctor",
        help="check this machine's set-up: proxy, CA trust, inspection, identity",
        description="From a developer machine: is the proxy reachable, do Python (its defaults, httpx, requests), Node and curl trust its CA, "
        "is a request to an approved endpoint inspected (the proxy answers a diagnostic path itself; nothing goes upstream), "
        "and who does the proxy take you for. Exit code 0 when every check passes, 1 otherwise.",
    )
    doctor.add_argument(
        "--proxy",
        default=None,
        metavar="URL",
        help="the proxy (default: HTTPS_PROXY or ALL_PROXY; none: direct, as in a transparent segment)",
    )
    doctor.add_argument(
        "--url",
        default="https://api.openai.com",
        metavar="URL",
        help="an approved endpoint in the proxy's catalog (default https://api.openai.com)",
    )
    doctor.add_argument("--json", action="store_true", help="the checks as JSON")

    for name, text in (("check", "validate every rule file against the schema"), ("test", "run every rule's examples")):
        p = rules_sub.add_parser(name, help=text, description=text.capitalize() + ".")
        p.add_argument("dir", nargs="?", type=Path, default=None, help="rules directory (default: the bundled rules/)")
    imp = rules_sub.add_parser(
        "import",
        help="convert another scanner's rules into an llm-dlp rule file",
        description="Convert a gitleaks configuration (TOML) into an llm-dlp rule file that passes 'rules check'. "
        "Every rule that cannot be converted, and every part of a rule that is left out, is listed on stderr. "
        "Exit code 0 when every rule converted whole, 1 when something was left out, 2 on an unreadable file.",
    )
    imp.add_argument("format", choices=["gitleaks"])
    imp.add_argument("file", type=Path, metavar="FILE.toml")
    imp.add_argument("--out", type=Path, default=None, metavar="DIR", help="write DIR/<FILE>.yaml (default: the rule file on stdout)")
    imp.add_argument("--prefix", default="gitleaks.", help="prefix of the converted rule ids (default gitleaks.)")
    imp.add_argument(
        "--action", choices=["redact", "block", "warn"], default="redact", help="action of the converted rules (default redact)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = {
        "run": cmd_run,
        "scan": cmd_scan,
        "rules": cmd_rules,
        "keyhash": cmd_keyhash,
        "audit": cmd_audit,
        "lineage": cmd_lineage,
        "report": cmd_report,
        "fingerprint": cmd_fingerprint,
        "pac": cmd_pac,
        "ca": cmd_ca,
        "doctor": cmd_doctor,
    }[args.command]
    return handler(args)


# ---- keyhash and audit ----------------------------------------------------------------------------
def _keyring(args, command: str):
    from llm_dlp.act.placeholders import Keyring, load_key

    try:
        return Keyring(load_key(args.key_file, os.path.expanduser(args.confdir)))
    except (OSError, ValueError) as exc:
        print(f"llm-dlp {command}: {exc}", file=sys.stderr)
        return None


def cmd_keyhash(args) -> int:
    key = sys.stdin.readline().strip()
    if not key:
        print("llm-dlp keyhash: give the API key on standard input", file=sys.stderr)
        return EXIT_ERROR
    if (keyring := _keyring(args, "keyhash")) is None:
        return EXIT_ERROR
    print(keyring.fingerprint(key))
    return EXIT_CLEAN


def cmd_audit(args) -> int:
    from llm_dlp.record.audit import verify
    from llm_dlp.record.checkpoints import verify_checkpoints, verify_head

    if (keyring := _keyring(args, "audit verify")) is None:
        return EXIT_ERROR
    try:
        count, problems = verify(args.files, keyring.chain_key)
        if args.checkpoints:
            problems += verify_checkpoints(args.files, args.checkpoints, keyring.chain_key)
        if args.head:
            problems += verify_head(args.files[-1], args.head)
    except ValueError as exc:
        print(f"llm-dlp audit verify: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as exc:
        print(f"llm-dlp audit verify: cannot read {exc.filename}: {exc.strerror}", file=sys.stderr)
        return EXIT_ERROR
    for problem in problems:
        print(f"TAMPERED {problem}")
    print(f"{count} records verified in {len(args.files)} file(s), {len(problems)} problem(s)")
    return EXIT_FINDINGS if problems else EXIT_CLEAN


def cmd_lineage(args) -> int:
    from llm_dlp.record.audit import read_records
    from llm_dlp.record.lineage import Fingerprinter, index_audit, scan_paths

    if (keyring := _keyring(args, "lineage scan")) is None:
        return EXIT_ERROR
    try:
        index = index_audit(read_records(args.audit))
    except OSError as exc:
        print(f"llm-dlp lineage scan: cannot read {exc.filename}: {exc.strerror}", file=sys.stderr)
        return EXIT_ERROR
    matches = scan_paths(args.paths, index, Fingerprinter(keyring.lineage_key))
    if args.json:
        for m in matches:
            print(json.dumps(m.to_dict()))
    elif args.trailers:
        for trailer in dict.fromkeys(m.provenance.trailer() for m in matches):
            print(trailer)
    else:
        for m in matches:
            p = m.provenance
            print(f"{m.file}:{m.start}-{m.end}\t{p.model or '?'}\tvia {p.tool} ({p.endpoint})\t{p.user or '?'}\t{p.ts}")
        print(f"{len(matches)} AI-generated range(s), {sum(m.end - m.start + 1 for m in matches)} lines")
    return EXIT_CLEAN


def cmd_fingerprint(args) -> int:
    import time

    from llm_dlp.detect.fingerprint import build_index, print_progress

    missing = [str(p) for p in [*args.repos, *args.public] if not p.is_dir()]
    if missing:
        print(f"llm-dlp fingerprint index: not a directory: {', '.join(missing)}", file=sys.stderr)
        return EXIT_ERROR
    started = time.perf_counter()
    stats = build_index(args.repos, args.out, args.public, args.max_files, progress=print_progress, index_all=args.index_all)
    print(
        f"{args.out}: {stats['files']} files, {stats['lines']} lines, {stats['fingerprints']} fingerprints, "
        f"{stats['bytes'] / 1e6:.1f} MB, {time.perf_counter() - started:.1f} s ({stats['read']} files read, the rest unchanged); "
        f"{stats['vendored_or_generated']} vendored or generated files counted as public (--index-all to index them)"
    )
    return EXIT_CLEAN


def cmd_pac(args) -> int:
    from llm_dlp.commands.clientsetup import pac
    from llm_dlp.rules.ruleset import load_ruleset

    try:
        catalog = load_ruleset(args.rules or bundled_rules_dir()).catalog
    except RuleFileError as exc:
        print(f"llm-dlp pac: invalid rules:\n{exc}", file=sys.stderr)
        return EXIT_ERROR
    print(pac(catalog, args.proxy, args.fallback), end="")
    return EXIT_CLEAN


def cmd_ca(args) -> int:
    from llm_dlp.commands.clientsetup import export_ca

    data = export_ca(Path(os.path.expanduser(args.confdir)), args.format)
    if args.out:
        args.out.write_bytes(data)
    else:
        sys.stdout.buffer.write(data)
    return EXIT_CLEAN


def cmd_doctor(args) -> int:
    from llm_dlp.commands.doctor import as_json, proxy_without_credentials, report, run_checks

    proxy = args.proxy or next((os.environ[v] for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy") if os.environ.get(v)), None)
    checks = run_checks(proxy, args.url)
    if args.json:
        print(as_json(checks))
    else:
        print(f"llm-dlp doctor: {args.url} through {proxy_without_credentials(proxy) if proxy else 'no proxy'}")
        print(report(checks))
    return EXIT_FINDINGS if any(c.status == "fail" for c in checks) else EXIT_CLEAN


def cmd_report(args) -> int:
    from llm_dlp.commands.report import render
    from llm_dlp.record.audit import read_records

    try:
        args.html.write_text(render(read_records(args.audit)), encoding="utf-8")
    except OSError as exc:
        print(f"llm-dlp report: {exc.filename}: {exc.strerror}", file=sys.stderr)
        return EXIT_ERROR
    print(f"wrote {args.html}")
    return EXIT_CLEAN


# ---- rules ------------------------------------------------------------------------------------
def cmd_rules(args) -> int:
    from llm_dlp.rules.ruleset import disarm_errors, load_ruleset, run_examples

    if args.rules_command == "import":
        return cmd_rules_import(args)
    directory = args.dir or bundled_rules_dir()
    try:
        ruleset = load_ruleset(directory)
        if args.rules_command == "check" and (errors := disarm_errors(ruleset)):
            raise RuleFileError(errors)
    except RuleFileError as exc:
        for err in exc.errors:
            print(f"error: {err}", file=sys.stderr)
        return EXIT_FINDINGS
    if args.rules_command == "check":
        for rule_id in ruleset.detector.slow_rule_ids():
            print(f"warning: a pattern of rule {rule_id} cannot be prefiltered and runs slowly", file=sys.stderr)
        print(
            f"ok: {directory}: {len(ruleset.rules)} secret rules, {len(ruleset.catalog.endpoints)} endpoints, {len(ruleset.tools.signatures)} tool signatures"
        )
        return EXIT_CLEAN
    count, failures = run_examples(ruleset)
    for failure in failures:
        print(f"FAIL {failure}")
    print(f"{count - len(failures)} passed, {len(failures)} failed")
    return EXIT_FINDINGS if failures else EXIT_CLEAN


def cmd_rules_import(args) -> int:
    import tempfile
    import tomllib

    import yaml

    from llm_dlp.rules.gitleaks import convert
    from llm_dlp.rules.ruleset import load_ruleset

    try:
        conversion = convert(args.file.read_text(encoding="utf-8"), prefix=args.prefix, action=args.action)
    except (OSError, UnicodeDecodeError) as exc:
        print(f"llm-dlp rules import: cannot read {args.file}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except tomllib.TOMLDecodeError as exc:
        print(f"llm-dlp rules import: {args.file}: invalid TOML: {exc}", file=sys.stderr)
        return EXIT_ERROR
    header = f"# Converted from the gitleaks configuration {args.file.name} by 'llm-dlp rules import gitleaks'.\n"
    text = header + yaml.safe_dump(conversion.document, sort_keys=False, allow_unicode=True, width=1000)
    with tempfile.TemporaryDirectory() as tmp:  # the result must load exactly as 'rules check' loads it
        (Path(tmp) / "imported.yaml").write_text(text, encoding="utf-8")
        try:
            load_ruleset(Path(tmp))
        except RuleFileError as exc:
            print(f"llm-dlp rules import: the converted file does not load:\n{exc}", file=sys.stderr)
            return EXIT_ERROR
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        target = args.out / f"{args.file.stem}.yaml"
        target.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    for note in conversion.notes:
        print(f"gitleaks rule {note}", file=sys.stderr)
    rules = conversion.document["secrets"]
    where = f" to {target}" if args.out else ""
    print(f"converted {len(rules)} rules{where}; {len(set(conversion.skipped))} not converted", file=sys.stderr)
    return EXIT_FINDINGS if conversion.notes else EXIT_CLEAN


# ---- scan -------------------------------------------------------------------------------------
def cmd_scan(args) -> int:
    """What the proxy would do with this body: the proxy's own request pipeline, offline."""
    from llm_dlp.act.placeholders import KEY_ENV, Keyring
    from llm_dlp.inspect.request import inspect_request
    from llm_dlp.protocols.strictjson import BodyError
    from llm_dlp.rules.ruleset import load_ruleset

    try:
        ruleset = load_ruleset(args.rules or bundled_rules_dir())
        raw = sys.stdin.buffer.read() if args.input == "-" else Path(args.input).read_bytes()
    except RuleFileError as exc:
        print(f"llm-dlp scan: invalid rules:\n{exc}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as exc:
        print(f"llm-dlp scan: cannot read {args.input}: {exc.strerror}", file=sys.stderr)
        return EXIT_ERROR
    # a stable key when one is configured, else a throwaway one: placeholders are still unique per value
    keyring = Keyring(os.environ.get(KEY_ENV, "").encode() or secrets.token_bytes(32))
    # offline there is no user: rules scoped to groups are left out
    try:
        inspection = inspect_request(
            raw,
            args.protocol or "generic",
            args.path,
            ruleset.detector,
            keyring,
            review=args.redact,
            path_rules=ruleset.paths,
            code_rules=ruleset.fingerprints,
            rewrite=False,  # a report: nothing is forwarded
        )
    except BodyError as exc:  # the proxy would refuse it (400/413): say why, as the proxy would
        print(f"llm-dlp scan: {args.input}: refused ({exc.reason}): {exc}", file=sys.stderr)
        return EXIT_ERROR
    for f in inspection.findings:
        if args.json:
            print(json.dumps({k: v for k, v in f.to_dict().items() if v != "" or k != "field"}))
        elif not args.redact:
            print(_scan_line(args.input, f))
    if args.redact:
        sys.stdout.buffer.write((inspection.review_text or "").encode("utf-8", "surrogateescape") if inspection.findings else raw)
    return EXIT_FINDINGS if inspection.findings else EXIT_CLEAN


def _scan_line(source: str, f) -> str:
    where = ":".join(str(p) for p in (source, f.field, f.line) if p != "")
    if f.kind in ("protected-path", "protected-code"):
        what = "protected path" if f.kind == "protected-path" else "code matching"
        return f"{where}: {f.rule} ({what} {f.path}, {f.action})"
    return f"{where}: {f.rule} ({f.kind}, {f.action}) at {f.start}-{f.end}"


# ---- run --------------------------------------------------------------------------------------
def cmd_run(args) -> int:
    import asyncio  # 0.07 CPU s: only the proxy needs it

    try:
        return asyncio.run(_run(args))
    except KeyboardInterrupt:
        return 0


def _upstream_bundle(extra: Path, confdir: Path) -> str:
    """The system's CA bundle plus ``extra``: --upstream-ca adds trust, it does not replace it."""
    import certifi

    bundle = confdir / "llm-dlp-upstream-ca.pem"
    confdir.mkdir(parents=True, exist_ok=True)
    bundle.write_text(Path(certifi.where()).read_text() + "\n" + extra.read_text())
    return str(bundle)


async def _run(args) -> int:
    import logging

    from mitmproxy import exceptions, options
    from mitmproxy.addons import termlog
    from mitmproxy.tools.dump import DumpMaster

    from llm_dlp.proxy.addon import LlmDlp

    confdir = Path(os.path.expanduser(args.confdir))
    opts = options.Options(listen_host=args.listen[0], listen_port=args.listen[1], confdir=str(confdir))
    master = DumpMaster(opts, with_termlog=False, with_dumper=False)
    logging.getLogger().setLevel(logging.WARNING if args.quiet else logging.INFO)
    master.addons.add(termlog.TermLog(out=sys.stderr), LlmDlp())  # stdout stays clean for --audit-log -
    try:
        updates = dict(
            llm_dlp_rules=str(args.rules or bundled_rules_dir()),
            llm_dlp_audit_log=args.audit_log,
            llm_dlp_metrics_listen="" if args.metrics_listen == "off" else args.metrics_listen,
            llm_dlp_key_file="",
            llm_dlp_wait_for_rules=args.wait_for_rules,
        )
        if args.mode:
            updates["mode"] = [args.mode]
        if args.upstream_ca:
            updates["ssl_verify_upstream_trusted_ca"] = _upstream_bundle(args.upstream_ca, confdir)
        # llm_dlp_* values given with --set win over the flags
        opts.set(*args.setoptions, defer=True)
        for name in list(opts.deferred):
            updates.pop(name, None)
        opts.update(**updates)
        opts.process_deferred()
        if opts.deferred:
            raise exceptions.OptionsError(f"unknown options: {', '.join(opts.deferred)}")
    except (exceptions.OptionsError, OSError) as exc:
        print(f"llm-dlp: {exc}", file=sys.stderr)
        return EXIT_ERROR
    await master.run()  # the addon handles SIGTERM/SIGINT (graceful) and SIGHUP (reload)
    return 0


if __name__ == "__main__":
    sys.exit(main())
