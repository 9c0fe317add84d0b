"""The deployment files as shipped: the Dockerfile (linted, non-root, health check, and its
command run for real), the compose file (Compose Specification schema, Prometheus config), the
Kubernetes manifests (Kubernetes schemas, and consistency between them) and the systemd unit
(systemd-analyze). Docker and a cluster cannot run here; everything that can is run."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import httpx
import jsonschema
import pytest
import yaml

from llm_dlp.commands.cli import build_parser
from support.proxy import ROOT, TEST_RULES, wait_for

LLM_DLP = str(Path(sys.executable).parent / "llm-dlp")
BIN = Path(sys.executable).parent
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "kubernetes"
COMPOSE_SPEC = Path(sys.prefix) / "share" / "llm-dlp" / "compose_spec.json"


def dockerfile() -> dict[str, list[str] | str]:
    """The final stage's instructions (continuation lines joined); exec-form ones as lists."""
    text = (DEPLOY / "docker" / "Dockerfile").read_text().replace("\\\n", " ")
    final = text.split("\nFROM ")[-1]
    out: dict[str, list[str] | str] = {}
    for line in final.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            word, _, rest = line.strip().partition(" ")
            out[word.upper()] = json.loads(rest) if rest.startswith("[") else rest.strip()
    return out


def image_command() -> list[str]:
    d = dockerfile()
    return [*d["ENTRYPOINT"], *d["CMD"]]


def manifests() -> dict[str, dict]:
    docs = {}
    for path in sorted(K8S.glob("*.yaml")):
        if path.name != "kustomization.yaml":
            for doc in yaml.safe_load_all(path.read_text()):
                docs[f"{doc['kind']}/{doc['metadata']['name']}"] = doc
    return docs


def flag(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


# ---- Dockerfile ------------------------------------------------------------------------------
def test_dockerfile_passes_hadolint():
    out = subprocess.run([str(BIN / "hadolint"), str(DEPLOY / "docker" / "Dockerfile")], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_image_runs_unprivileged_with_a_health_check_on_the_metrics_port():
    d = dockerfile()
    assert d["USER"].split(":")[0] not in ("", "0", "root")
    metrics_port = flag(image_command(), "--metrics-listen").rsplit(":", 1)[1]
    assert f"127.0.0.1:{metrics_port}/healthz" in d["HEALTHCHECK"]
    assert d["STOPSIGNAL"] == "SIGTERM" and "--wait-for-rules" in image_command()
    assert flag(image_command(), "--audit-log") == "-"  # audit to stdout, logs to stderr


def test_the_image_command_is_the_one_tested(tmp_path, pki, upstream):
    """Run the image's ENTRYPOINT + CMD with only its paths and ports moved into the test's
    directory, and use it: ready, inspecting, audit records alone on stdout."""
    command = image_command()
    assert command[:2] == ["llm-dlp", "run"]
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    (rules / "zz-test.yaml").write_text(TEST_RULES.format(port=upstream.port))
    moved = {"--listen": "127.0.0.1:0", "--metrics-listen": "127.0.0.1:0", "--rules": str(rules), "--confdir": str(tmp_path / "conf")}
    args = [moved.get(prev, arg) for prev, arg in zip(["", *command], command)]
    args += ["--upstream-ca", str(pki.ca_file)]  # the test upstream's private CA, beside the system's
    out, err = open(tmp_path / "stdout", "wb"), open(tmp_path / "stderr", "wb")
    proc = subprocess.Popen([LLM_DLP, *args[1:]], stdout=out, stderr=err)
    try:
        port = wait_for(lambda: re.search(r"listening at .*?:(\d+)", (tmp_path / "stderr").read_text()), "the proxy")
        metrics = wait_for(lambda: re.search(r"metrics at http://[^:]+:(\d+)/", (tmp_path / "stderr").read_text()), "metrics")
        wait_for(lambda: _status(f"http://127.0.0.1:{metrics.group(1)}/readyz") == 200, "readiness")
        ca = ssl.create_default_context(cafile=str(tmp_path / "conf" / "mitmproxy-ca-cert.pem"))
        with httpx.Client(proxy=f"http://127.0.0.1:{port.group(1)}", verify=ca, timeout=20) as c:
            body = {"model": "m", "messages": [{"role": "user", "content": "BLOCKME-0123456789abcdef"}]}
            assert c.post(f"{upstream.url}/v1/chat/completions", json=body).status_code == 403
        records = wait_for(lambda: [json.loads(x) for x in (tmp_path / "stdout").read_text().splitlines()][1:], "the audit record")
        assert [r["event"] for r in records] == ["request"] and records[0]["decision"] == "block"
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def _status(url: str) -> int:
    try:
        return urllib.request.urlopen(url, timeout=3).status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return 0


# ---- compose ---------------------------------------------------------------------------------
def test_compose_file_is_valid_and_runs_the_image_command(tmp_path):
    compose_dir = DEPLOY / "docker"
    doc = yaml.safe_load((compose_dir / "compose.yaml").read_text())
    jsonschema.Draft201909Validator(json.loads(COMPOSE_SPEC.read_text())).validate(doc)  # its $schema URL has a stray "#"
    proxy = doc["services"]["llm-dlp"]
    assert proxy["command"] == dockerfile()["CMD"]
    assert proxy["read_only"] is True and proxy["cap_drop"] == ["ALL"]
    for service in doc["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (compose_dir / source).exists(), source
    # the Prometheus it starts: a valid configuration whose target is the proxy's metrics port
    shutil.copy(compose_dir / "prometheus.yml", tmp_path)
    shutil.copy(DEPLOY / "monitoring" / "alerts.yml", tmp_path)
    check = subprocess.run(["promtool", "check", "config", str(tmp_path / "prometheus.yml")], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    target = yaml.safe_load((compose_dir / "prometheus.yml").read_text())["scrape_configs"][0]["static_configs"][0]["targets"][0]
    assert target == "llm-dlp:" + flag(proxy["command"], "--metrics-listen").rsplit(":", 1)[1]


# ---- Kubernetes ------------------------------------------------------------------------------
def test_kubernetes_manifests_pass_the_kubernetes_schemas(tmp_path):
    files = [p for p in sorted(K8S.glob("*.yaml")) if p.name not in ("kustomization.yaml", "servicemonitor.yaml")]
    # and the rules ConfigMap, built the way docs/deploy.md says (kubectl create configmap --from-file=rules/)
    configmap = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "llm-dlp-rules"},
        "data": {p.name: p.read_text() for p in sorted((ROOT / "rules").glob("*.yaml"))},
    }
    assert len(json.dumps(configmap)) < 1024 * 1024  # the ConfigMap size limit
    (tmp_path / "configmap.yaml").write_text(yaml.safe_dump(configmap))
    out = subprocess.run(
        [str(BIN / "kubernetes-validate"), "--strict", *map(str, files), str(tmp_path / "configmap.yaml")], capture_output=True, text=True
    )
    assert out.returncode == 0 and "passed" in out.stdout, out.stdout + out.stderr


def test_kustomization_lists_every_manifest():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == sorted(p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


def test_deployment_runs_the_image_command_hardened_with_the_right_probes():
    docs = manifests()
    pod = docs["Deployment/llm-dlp"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["args"] == dockerfile()["CMD"]
    build_parser().parse_args(["run", *container["args"]])  # every flag exists
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert str(ports["metrics"]) == flag(container["args"], "--metrics-listen").rsplit(":", 1)[1]
    assert str(ports["proxy"]) == flag(container["args"], "--listen").rsplit(":", 1)[1]
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] and not security["allowPrivilegeEscalation"] and security["capabilities"]["drop"] == ["ALL"]
    assert pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["runAsUser"] != 0
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert mounts[flag(container["args"], "--rules")]["readOnly"]
    assert flag(container["args"], "--confdir") in mounts  # writable state on a volume, not the root filesystem
    # the pod outlives the drain: preStop sleep, then up to the default 30 s grace for streams in flight
    assert pod["terminationGracePeriodSeconds"] > container["lifecycle"]["preStop"]["sleep"]["seconds"] + 30
    env = {e["name"]: e for e in container["env"]}
    assert env["LLM_DLP_PLACEHOLDER_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "llm-dlp"  # one key for every replica


def test_services_monitoring_and_budgets_select_the_pods():
    docs = manifests()
    pod_labels = docs["Deployment/llm-dlp"]["spec"]["template"]["metadata"]["labels"]
    for name in ("Service/llm-dlp", "Service/llm-dlp-metrics"):
        assert docs[name]["spec"]["selector"].items() <= pod_labels.items()
    for name in ("PodDisruptionBudget/llm-dlp", "NetworkPolicy/llm-dlp"):
        selector = docs[name]["spec"].get("selector") or docs[name]["spec"]["podSelector"]
        assert selector["matchLabels"].items() <= pod_labels.items()
    monitor = docs["ServiceMonitor/llm-dlp"]
    metrics_service = docs["Service/llm-dlp-metrics"]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= metrics_service["metadata"]["labels"].items()
    assert not monitor["spec"]["selector"]["matchLabels"].items() <= docs["Service/llm-dlp"]["metadata"]["labels"].items()
    assert {e["port"] for e in monitor["spec"]["endpoints"]} <= {p["name"] for p in metrics_service["spec"]["ports"]}
    assert docs["HorizontalPodAutoscaler/llm-dlp"]["spec"]["scaleTargetRef"]["name"] == "llm-dlp"


# ---- systemd ---------------------------------------------------------------------------------
def test_systemd_unit_verifies_and_is_hardened(tmp_path):
    unit = (DEPLOY / "systemd" / "llm-dlp.service").read_text()
    exec_start = shlex.split(re.search(r"^ExecStart=(.*?)(?<!\\)$", unit, re.M | re.S).group(1).replace("\\\n", " "))
    assert exec_start[0] == "/opt/llm-dlp/bin/llm-dlp"
    build_parser().parse_args(exec_start[1:])  # every flag exists
    local = tmp_path / "llm-dlp.service"
    local.write_text(unit.replace("/opt/llm-dlp/bin/llm-dlp", LLM_DLP))  # verify checks that the binary exists
    verify = subprocess.run(["systemd-analyze", "verify", str(local)], capture_output=True, text=True)
    assert verify.returncode == 0, verify.stderr
    security = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--threshold=20", str(local)], capture_output=True, text=True
    )
    assert security.returncode == 0, security.stdout[-2000:]
    for setting in (
        "User=llm-dlp",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "CapabilityBoundingSet=\n",
        "ExecReload=/bin/kill -HUP $MAINPID",
    ):
        assert setting in unit


def test_shipped_nftables_rules_parse():
    if shutil.which("nft") is None:
        pytest.fail("nft is missing: deploy/bootstrap.sh test installs nftables")
    out = subprocess.run(["nft", "-c", "-f", str(DEPLOY / "pilot-segment" / "nftables.conf")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_the_package_installs_complete_as_in_the_image(tmp_path):
    """The image installs the package from a wheel, not from the checkout: the bundled rules and
    schemas must be inside it, and the installed copy must work on its own rules."""
    source = tmp_path / "src"  # what the Dockerfile copies into its build stage, and nothing else
    source.mkdir()
    build_stage = (DEPLOY / "docker" / "Dockerfile").read_text().split("\nFROM ")[1]
    copied = [name for line in re.findall(r"^COPY (.+) \S+$", build_stage, re.M) for name in line.split()]
    assert "addons" in copied and "pyproject.toml" in copied
    for name in copied:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy(ROOT / name, source)
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "wheel"), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = (tmp_path / "wheel").glob("*.whl")
    site = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr
    env = {**os.environ, "PYTHONPATH": str(site)}
    where = subprocess.run([sys.executable, "-c", "import llm_dlp; print(llm_dlp.__file__)"], capture_output=True, text=True, env=env)
    assert where.stdout.startswith(str(site)), where.stdout + where.stderr  # the installed copy, not the checkout
    for command in (["rules", "check"], ["rules", "test"]):
        out = subprocess.run([sys.executable, "-m", "llm_dlp.commands.cli", *command], capture_output=True, text=True, env=env, timeout=120)
        assert out.returncode == 0, out.stdout + out.stderr
