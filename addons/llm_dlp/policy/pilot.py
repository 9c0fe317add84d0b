"""The pilot policy: who may use which AI endpoint, with which tool and model, under which
rule actions, on which tenant. Pure Python over plain data; the addon asks, this module answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from llm_dlp.identity.sources import ClientCertVerifier, Htpasswd, Identity, SourceMap
from llm_dlp.rules.files import Located, RuleError
from llm_dlp.text.globs import name_matches

ANONYMOUS = "anonymous"
DEFAULT_MESSAGE = "Your account is not part of the AI coding assistant pilot."


@dataclass(frozen=True)
class Access:
    groups: tuple[str, ...]
    endpoints: tuple[str, ...] = ("*",)
    tools: tuple[str, ...] = ("*",)
    models: tuple[str, ...] = ("*",)
    actions: dict[str, str] = field(default_factory=dict)  # rule id -> action for these groups

    def applies_to(self, groups: tuple[str, ...]) -> bool:
        return "*" in self.groups or any(g in self.groups for g in groups)


@dataclass(frozen=True)
class Refusal:
    status: int  # 403, or 407 to ask for proxy credentials
    reason: str  # a stable label: audit records and metrics
    message: str  # for the developer; never names other users


@dataclass(frozen=True)
class Grant:
    identity: Identity
    access: Access


@dataclass(frozen=True)
class Policy:
    require_identity: bool = False
    htpasswd: Htpasswd | None = None
    realm: str = "llm-dlp"
    client_cert: ClientCertVerifier | None = None
    source_map: SourceMap | None = None
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)  # user -> groups
    pilot_users: tuple[str, ...] | None = None  # None: everyone identified
    pilot_groups: tuple[str, ...] = ()
    message: str = DEFAULT_MESSAGE
    url: str = ""
    access: tuple[Access, ...] = (Access(("*",)),)
    strict: bool = False
    tenant_headers: tuple[tuple[tuple[str, ...], dict[str, str]], ...] = ()
    api_keys: tuple[tuple[tuple[str, ...], frozenset[str]], ...] = ()

    def with_groups(self, user: str, source: str) -> Identity:
        return Identity(user, source, self.groups.get(user, ()))

    def _refusal_text(self, what: str) -> str:
        return f"{what} {self.message}" + (f" Ask for access at {self.url}" if self.url else "")

    def authorize(self, identity: Identity | None, endpoint_id: str, tool: str) -> Grant | Refusal:
        if identity is None:
            if self.require_identity:
                if self.htpasswd:
                    return Refusal(407, "unauthenticated", "Proxy authentication is required for AI services.")
                return Refusal(403, "unidentified", self._refusal_text("llm-dlp could not identify you."))
            identity = Identity(ANONYMOUS, "none")
        if self.pilot_users is not None and identity.user not in self.pilot_users and not set(identity.groups) & set(self.pilot_groups):
            return Refusal(403, "not_in_pilot", self._refusal_text("AI coding assistants are limited to the pilot group."))
        access = next((a for a in self.access if a.applies_to(identity.groups)), None)
        if access is None:
            return Refusal(403, "no_access_rule", self._refusal_text("No access rule covers your groups."))
        if not name_matches(endpoint_id, access.endpoints):
            return Refusal(403, "endpoint_not_allowed", f"Your group may not use the AI endpoint {endpoint_id}.")
        if not name_matches(tool, access.tools):
            return Refusal(403, "tool_not_allowed", f"Your group may not use the tool {tool} (identified from its request headers).")
        return Grant(identity, access)

    def check_model(self, grant: Grant, model: str | None) -> Refusal | None:
        if model is None or name_matches(model, grant.access.models):
            return None
        allowed = ", ".join(grant.access.models)
        return Refusal(403, "model_not_allowed", f"The model {model} is not allowed for your group (allowed: {allowed}).")

    def headers_for(self, endpoint_id: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for endpoints, headers in self.tenant_headers:
            if name_matches(endpoint_id, endpoints):
                out.update(headers)
        return out

    def key_allowed(self, endpoint_id: str, key_hash: str | None) -> bool:
        lists = [allowed for endpoints, allowed in self.api_keys if name_matches(endpoint_id, endpoints)]
        return not lists or (key_hash is not None and any(key_hash in allowed for allowed in lists))


def compile_policy(entries: list[Located], errors: list[RuleError]) -> Policy:
    if not entries:
        return Policy()
    if len(entries) > 1:
        errors.append(entries[1].error("", f"a second policy section (the first is in {entries[0].file})"))
    entry = entries[0]
    d = entry.data
    base = Path(entry.file).parent
    ident = d.get("identity", {})
    kwargs: dict = {}
    try:
        if "proxy_auth" in ident:
            kwargs["htpasswd"] = Htpasswd(base / ident["proxy_auth"]["htpasswd"])
            kwargs["realm"] = ident["proxy_auth"]["realm"]
        if "client_cert" in ident:
            cc = ident["client_cert"]
            kwargs["client_cert"] = ClientCertVerifier(base / cc["ca"], cc["user_from"])
        if "source_address" in ident:
            kwargs["source_map"] = SourceMap(ident["source_address"])
    except (OSError, ValueError) as exc:
        errors.append(entry.error("identity", str(exc)))
        return Policy()
    groups: dict[str, list[str]] = {}
    for group, users in d.get("groups", {}).items():
        for user in users:
            groups.setdefault(user, []).append(group)
    if "group_file" in d:
        try:
            for line in (base / d["group_file"]).read_text().splitlines():
                group, sep, users = line.partition(":")
                if sep and not line.startswith("#"):
                    for user in users.split():
                        groups.setdefault(user, []).append(group.strip())
        except OSError as exc:
            errors.append(entry.error("group_file", f"cannot read: {exc.strerror}"))
    pilot = d.get("pilot", {})
    return Policy(
        require_identity=d["require_identity"],
        groups={u: tuple(g) for u, g in groups.items()},
        pilot_users=tuple(pilot.get("users", ())) if ("users" in pilot or "groups" in pilot) else None,
        pilot_groups=tuple(pilot.get("groups", ())),
        message=pilot.get("message", DEFAULT_MESSAGE),
        url=pilot.get("url", ""),
        access=tuple(
            Access(
                tuple(a.get("groups", ["*"])),
                tuple(a.get("endpoints", ["*"])),
                tuple(a.get("tools", ["*"])),
                tuple(a.get("models", ["*"])),
                dict(a.get("actions", {})),
            )
            for a in d.get("access", [{"groups": ["*"]}])
        ),
        strict=d["strict"],
        tenant_headers=tuple((tuple(t["endpoints"]), dict(t["headers"])) for t in d.get("tenants", [])),
        api_keys=tuple((tuple(k["endpoints"]), frozenset(k["allowed"])) for k in d.get("api_keys", [])),
        **kwargs,
    )
