"""deploy/kubernetes/ rendered by `kubectl kustomize` (kustomize v5, from docker/test-tools.lock):
every core object passes kubernetes-validate's strict schema check; the Deployment is locked
down and probed on /healthz; the ServiceMonitor finds the Service and names the job the alerts
expect; the PrometheusRule carries exactly the shipped rules; the dashboard ConfigMap is the
shipped dashboard, labelled for Grafana's sidecar; the example overlay turns a key file into a
working configuration; the overlay without the Prometheus Operator has none of its objects."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from exporter.config import load_config
from exporter.web.healthcheck import PATH as HEALTHZ
from tests.support.kubernetes import BASE, KUBERNETES, render
from tests.support.paths import REPO
from tests.support.tools import tool

ALERTS = REPO / "prometheus" / "alerts.yml"
DASHBOARD = REPO / "grafana" / "dashboards" / "binance-pm-collateral.json"
OPERATOR_GROUP = "monitoring.coreos.com/v1"
EXPORTER = {"app.kubernetes.io/name": "binance-pm-exporter"}


def one(objects: list[dict[str, Any]], kind: str, name_prefix: str = "") -> dict[str, Any]:
    (found,) = [
        o for o in objects if o["kind"] == kind and o["metadata"]["name"].startswith(name_prefix)
    ]
    return found


@pytest.fixture(scope="module")
def base() -> list[dict[str, Any]]:
    return render(BASE)


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """The example overlay, rendered from a copy that has the (git-ignored) key file."""
    copy = tmp_path_factory.mktemp("kubernetes") / "kubernetes"
    shutil.copytree(KUBERNETES, copy)
    secrets = copy / "overlays" / "example" / "secrets"
    secrets.mkdir(exist_ok=True)
    (secrets / "api-key").write_text("example-key")
    return render(copy / "overlays" / "example")


def exporter_container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    (container,) = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert isinstance(container, dict)
    return container


def environment(objects: list[dict[str, Any]]) -> dict[str, str]:
    """The exporter's environment: the ConfigMap its envFrom names."""
    (source,) = exporter_container(objects)["envFrom"]
    name = source["configMapRef"]["name"]
    (config_map,) = [
        o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == name
    ]
    data: dict[str, str] = config_map["data"]
    return data


def validate(manifest: Path) -> subprocess.CompletedProcess[str]:
    """kubernetes-validate, strict, on a file of manifests."""
    return subprocess.run(
        [str(tool("kubernetes-validate")), "--strict", "--quiet", str(manifest)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
@pytest.mark.parametrize("overlay", ["base", "example", "without-operator"])
def test_every_core_object_passes_the_strict_schema_check(
    overlay: str, base: list[dict[str, Any]], example: list[dict[str, Any]], tmp_path: Path
) -> None:
    objects = {"base": base, "example": example}.get(overlay) or render(
        KUBERNETES / "overlays" / overlay
    )
    core = [o for o in objects if o["apiVersion"] != OPERATOR_GROUP]
    assert {o["kind"] for o in core} >= {"Deployment", "Service", "ConfigMap"}
    manifest = tmp_path / "core.yaml"
    manifest.write_text(yaml.safe_dump_all(core), encoding="utf-8")
    result = validate(manifest)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_the_schema_check_would_catch_a_bad_object(tmp_path: Path) -> None:
    manifest = tmp_path / "bad.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: x}\n"
        "spec: {ports: [{port: not-a-number}], sellector: {}}\n",
        encoding="utf-8",
    )
    result = validate(manifest)
    assert result.returncode != 0


def test_the_deployment_is_locked_down_probed_and_bounded(base: list[dict[str, Any]]) -> None:
    pod = one(base, "Deployment")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001  # the image's user
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    container = exporter_container(base)
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }
    (port,) = container["ports"]
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": HEALTHZ, "port": port["name"]}, probe
    listen = load_config([], environment(base)).listen_port
    assert port["containerPort"] == listen
    assert set(container["resources"]["requests"]) == {"cpu", "memory"}
    assert "memory" in container["resources"]["limits"]


def test_the_base_runs_the_demo(base: list[dict[str, Any]]) -> None:
    config = load_config([], environment(base))
    assert config.demo is True
    assert config.api_key is None


def test_the_service_monitor_selects_the_service_and_names_the_alerts_job(
    base: list[dict[str, Any]],
) -> None:
    service = one(base, "Service")
    monitor = one(base, "ServiceMonitor")
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= service["metadata"]["labels"].items()
    service_ports = {p["name"]: p for p in service["spec"]["ports"]}
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] in service_ports
    # The Service reaches the Deployment's pods on the exporter's port.
    pod_labels = one(base, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert service_ports[endpoint["port"]]["targetPort"] in {
        p["name"] for p in exporter_container(base)["ports"]
    }
    # The job label comes from the Service: the job BinancePMExporterDown looks for.
    job = service["metadata"]["labels"][monitor["spec"]["jobLabel"]]
    scrape = yaml.safe_load((REPO / "prometheus" / "prometheus.yml").read_text())["scrape_configs"]
    assert job == scrape[0]["job_name"]
    assert f'up{{job="{job}"}}' in ALERTS.read_text(encoding="utf-8")
    assert (endpoint["interval"], endpoint["scrapeTimeout"]) == (
        scrape[0]["scrape_interval"],
        scrape[0]["scrape_timeout"],
    )


def test_the_prometheus_rule_is_the_shipped_rules(
    base: list[dict[str, Any]], tmp_path: Path
) -> None:
    rule = one(base, "PrometheusRule")
    assert rule["apiVersion"] == OPERATOR_GROUP
    assert rule["metadata"]["name"] == "binance-pm-exporter"
    assert rule["metadata"]["labels"]["app.kubernetes.io/component"] == "alerting"
    shipped = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    assert rule["spec"]["groups"] == shipped["groups"]
    rules_file = tmp_path / "rules.yml"
    rules_file.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}), encoding="utf-8")
    promtool = shutil.which("promtool")
    assert promtool is not None, "promtool is not installed (Debian package: prometheus)"
    checked = subprocess.run(
        [promtool, "check", "rules", str(rules_file)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_dashboard_config_map_is_the_shipped_dashboard_for_the_sidecar(
    base: list[dict[str, Any]],
) -> None:
    assert (BASE / "dashboards" / DASHBOARD.name).read_bytes() == DASHBOARD.read_bytes()
    config_map = one(base, "ConfigMap", "binance-pm-exporter-dashboard")
    assert config_map["metadata"]["name"] == "binance-pm-exporter-dashboard"  # no hash suffix
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert config_map["data"] == {DASHBOARD.name: DASHBOARD.read_text(encoding="utf-8")}


def test_every_object_carries_the_exporters_name(base: list[dict[str, Any]]) -> None:
    for found in base:
        assert EXPORTER.items() <= found["metadata"]["labels"].items(), found["kind"]


def test_the_example_overlay_reads_the_key_from_the_secret_as_a_file(
    example: list[dict[str, Any]], tmp_path: Path
) -> None:
    secret = one(example, "Secret")
    assert set(secret["data"]) == {"api-key"}
    pod = one(example, "Deployment")["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["name"]: m for m in exporter_container(example)["volumeMounts"]}
    (name,) = [n for n, v in volumes.items() if "secret" in v]
    assert volumes[name]["secret"]["secretName"] == secret["metadata"]["name"]
    assert mounts[name]["readOnly"] is True
    env = environment(example)
    key_file = PurePosixPath(env["BINANCE_API_KEY_FILE"])
    assert key_file == PurePosixPath(mounts[name]["mountPath"]) / "api-key"
    assert not any("KEY" in k and "FILE" not in k for k in env), "a key in an environment value"
    # The rendered environment is a valid live configuration once the file is there.
    local_key = tmp_path / "api-key"
    local_key.write_text("example-key")
    config = load_config([], env | {"BINANCE_API_KEY_FILE": str(local_key)})
    assert config.demo is False
    assert config.api_key == "example-key"
    assert one(example, "Deployment")["metadata"]["namespace"] == "monitoring"


def test_the_example_key_files_are_ignored_by_git() -> None:
    checked = subprocess.run(
        ["git", "check-ignore", "-q", "deploy/kubernetes/overlays/example/secrets/api-key"],
        cwd=REPO,
        timeout=30,
        check=False,
    )
    assert checked.returncode == 0


def test_without_the_operator_no_operator_object_is_left() -> None:
    objects = render(KUBERNETES / "overlays" / "without-operator")
    assert [o["kind"] for o in objects if o["apiVersion"] == OPERATOR_GROUP] == []
    assert {o["kind"] for o in objects} == {"Deployment", "Service", "ConfigMap"}
