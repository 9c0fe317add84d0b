"""Options, and the services they configure: rules, placeholder key, audit log, incident store,
the /metrics server. A new rule set also decides what is decrypted (mitmproxy's allow_hosts)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from mitmproxy import ctx, exceptions

from llm_dlp.act.placeholders import Keyring, load_key
from llm_dlp.detect import normalize
from llm_dlp.proxy.lifecycle import serve
from llm_dlp.proxy.state import Runtime, log
from llm_dlp.record.audit import ALLOW, REFUSE, AuditLog
from llm_dlp.record.checkpoints import Witness, file_sink, syslog_sink
from llm_dlp.record.incidents import IncidentLog
from llm_dlp.rules.files import RuleFileError, bundled_rules_dir
from llm_dlp.rules.ruleset import RuleSet, disarm_errors, load_ruleset

NEVER_MATCHES = r"(?!)"  # an empty allow_hosts list would mean "decrypt everything"
AUDIT_OPTIONS = {
    "llm_dlp_audit_log",
    "llm_dlp_audit_max_bytes",
    "llm_dlp_audit_rotate_seconds",
    "llm_dlp_key_file",
    "confdir",
    "llm_dlp_audit_on_failure",
    "llm_dlp_audit_checkpoint_file",
    "llm_dlp_audit_checkpoint_syslog",
    "llm_dlp_audit_checkpoint_records",
    "llm_dlp_audit_checkpoint_seconds",
}


class Configuration:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        self._metrics_port: int | None = None
        self._ticker: asyncio.Task | None = None

    def load(self, loader) -> None:
        loader.add_option("llm_dlp_rules", str, str(bundled_rules_dir()), "Directory (or file) of llm-dlp rule files.")
        loader.add_option("llm_dlp_audit_log", str, "llm-dlp-audit.jsonl", "Audit log path, or '-' for stdout.")
        loader.add_option("llm_dlp_audit_max_bytes", int, 100 * 1024 * 1024, "Rotate the audit log when it reaches this size; 0: never.")
        loader.add_option("llm_dlp_audit_rotate_seconds", int, 86400, "Rotate the audit log when it is this old; 0: never.")
        loader.add_option(
            "llm_dlp_audit_on_failure",
            str,
            REFUSE,
            "While audit records cannot be written: refuse AI requests with 503, or allow them.",
            choices=[REFUSE, ALLOW],
        )
        loader.add_option(
            "llm_dlp_audit_checkpoint_file",
            str,
            "",
            "Append signed checkpoints of the audit chain's head to this file (put it on another volume); empty: off.",
        )
        loader.add_option("llm_dlp_audit_checkpoint_syslog", bool, False, "Also send every audit checkpoint to syslog.")
        loader.add_option("llm_dlp_audit_checkpoint_records", int, 1000, "An audit checkpoint every this many records; 0: only by time.")
        loader.add_option(
            "llm_dlp_audit_checkpoint_seconds",
            int,
            60,
            "An audit checkpoint every this many seconds (when records were written); 0: only by count.",
        )
        loader.add_option(
            "llm_dlp_incident_dir",
            str,
            "",
            "Directory for the optional incident-review store of redacted prompts and responses; empty: off.",
        )
        loader.add_option("llm_dlp_incident_retention_days", int, 30, "Days the incident-review files are kept.")
        loader.add_option("llm_dlp_metrics_listen", str, "127.0.0.1:9464", "HOST:PORT for Prometheus /metrics; empty to disable.")
        loader.add_option(
            "llm_dlp_metrics_user_labels", bool, False, "Also count requests per user name in metrics (high cardinality; off by default)."
        )
        loader.add_option("llm_dlp_max_body_bytes", int, 32 * 1024 * 1024, "Larger request bodies to LLM endpoints are blocked.")
        loader.add_option(
            "llm_dlp_key_file", str, "", "Placeholder key file (default: generated in confdir; env LLM_DLP_PLACEHOLDER_KEY wins)."
        )
        loader.add_option(
            "llm_dlp_wait_for_rules",
            bool,
            False,
            "Start even when the rules are invalid: refuse every connection and report not ready on /readyz until valid rules appear.",
        )

    def configure(self, updated: set[str]) -> None:
        if "llm_dlp_rules" in updated:
            if self.rt.ruleset is None:
                normalize.prepare()
            self._load_rules()
        if "llm_dlp_key_file" in updated or "confdir" in updated:
            try:
                self.rt.keyring = Keyring(load_key(ctx.options.llm_dlp_key_file or None, ctx.options.confdir))
            except (OSError, ValueError) as exc:
                raise exceptions.OptionsError(f"llm-dlp placeholder key: {exc}") from None
        if updated & AUDIT_OPTIONS and self.rt.keyring:  # a --set option can arrive before the key
            self._open_audit()
        if updated & {"llm_dlp_incident_dir", "llm_dlp_incident_retention_days"}:
            directory = ctx.options.llm_dlp_incident_dir
            self.rt.incidents = IncidentLog(directory, ctx.options.llm_dlp_incident_retention_days) if directory else None
        if "llm_dlp_metrics_listen" in updated and ctx.options.llm_dlp_metrics_listen and self._metrics_port is None:
            host, _, port = ctx.options.llm_dlp_metrics_listen.rpartition(":")
            self._metrics_port = serve(host.strip("[]") or "127.0.0.1", int(port), self.rt.metrics.registry, self.rt.lifecycle)
            log.info(f"llm-dlp metrics at http://{host}:{self._metrics_port}/metrics (and /healthz, /readyz)")

    def _open_audit(self) -> None:
        if self.rt.audit:
            close_audit(self.rt.audit)
        o, key = ctx.options, self.rt.keys.chain_key
        sinks: list[Callable[[dict], None]] = [self.rt.metrics.witnessed]
        if o.llm_dlp_audit_checkpoint_file:
            sinks.append(file_sink(o.llm_dlp_audit_checkpoint_file))
        if o.llm_dlp_audit_checkpoint_syslog:
            sinks.append(syslog_sink)
        witness = Witness(key, o.llm_dlp_audit_checkpoint_records, o.llm_dlp_audit_checkpoint_seconds, sinks)
        self.rt.audit = AuditLog(
            o.llm_dlp_audit_log, key, o.llm_dlp_audit_max_bytes, o.llm_dlp_audit_rotate_seconds, o.llm_dlp_audit_on_failure, witness=witness
        )

    async def _tick(self) -> None:
        """Time-based checkpoints, and the sink's health (retried while it fails)."""
        while True:
            await asyncio.sleep(1)
            audit = self.rt.audit
            if audit:
                audit.admit()
                self.rt.metrics.audit_healthy.set(audit.healthy)
                if audit.witness:
                    audit.witness.tick()

    def _load_rules(self) -> None:
        try:
            ruleset = load_ruleset(Path(ctx.options.llm_dlp_rules))
            if errors := disarm_errors(ruleset):
                raise RuleFileError(errors)
            install(self.rt, ruleset)
        except RuleFileError as exc:
            if self.rt.ruleset is not None or not ctx.options.llm_dlp_wait_for_rules:
                raise exceptions.OptionsError(f"llm-dlp rules are invalid:\n{exc}") from None
            # a warning: mitmproxy exits on any error logged during start-up
            log.warning(f"llm-dlp: rules are invalid; refusing all connections until they are fixed:\n{exc}")
            self.rt.lifecycle.rules_invalid = True

    def running(self) -> None:
        ruleset = self.rt.ruleset
        self.rt.record("start", rules=ruleset.source if ruleset else None, rule_count=len(ruleset.rules) if ruleset else 0)
        self.rt.lifecycle.started = True
        if self._ticker is None:
            self._ticker = asyncio.get_running_loop().create_task(self._tick())

    def done(self) -> None:
        if self._ticker:
            self._ticker.cancel()
        self.rt.record("stop")
        if self.rt.audit:
            close_audit(self.rt.audit)


def close_audit(audit: AuditLog) -> None:
    """The last checkpoint, then close: a stop is witnessed too."""
    if audit.witness:
        audit.witness.checkpoint()
    audit.close()


def install(rt: Runtime, ruleset: RuleSet) -> None:
    """Make ``ruleset`` live, and decrypt exactly its catalogued hosts."""
    rt.ruleset = ruleset
    rt.lifecycle.rules_invalid = False
    rt.metrics.rules_loaded.set(len(ruleset.rules))
    ctx.options.update(allow_hosts=ruleset.catalog.allow_hosts() or [NEVER_MATCHES])
    # known only where mitmproxy's TLS addon is loaded (not in unit-test contexts)
    ctx.options.update_known(request_client_cert=ruleset.policy.client_cert is not None)
    if ruleset.policy.strict:  # connect only once the TLS SNI is known, so destinations are checked by name
        ctx.options.update_known(connection_strategy="lazy")
