"""docker-compose.yml holds together: files, service names, ports and paths all agree."""

from __future__ import annotations

import subprocess
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from exporter.config import load_config
from tests.support.compose import HOST_PORTS
from tests.support.paths import REPO
from tests.support.process import exporter_help

COMPOSE = REPO / "docker-compose.yml"
LIVE = REPO / "docker-compose.live.yml"
PROVISIONING = REPO / "grafana" / "provisioning"


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = load(COMPOSE)
    return loaded


@pytest.fixture(scope="module")
def live() -> dict[str, Any]:
    loaded: dict[str, Any] = load(LIVE)
    return loaded


def bind_mounts(service: dict[str, Any]) -> dict[PurePosixPath, Path]:
    """Container path -> host path of the service's bind mounts (named volumes left out)."""
    mounts = {}
    for volume in service.get("volumes", []):
        source, target, *_ = volume.split(":")
        if source.startswith((".", "/")):
            mounts[PurePosixPath(target)] = (REPO / source).resolve()
    return mounts


def host_path(service: dict[str, Any], container_path: str) -> Path:
    """Where a path inside the container comes from on the host, through the bind mounts."""
    path = PurePosixPath(container_path)
    for target, source in bind_mounts(service).items():
        if path == target or target in path.parents:
            return source / path.relative_to(target)
    raise AssertionError(f"{container_path} is not bind-mounted")


def container_ports(service: dict[str, Any]) -> set[int]:
    return {int(str(mapping).split(":")[-1].split("/")[0]) for mapping in service["ports"]}


def test_four_services_and_demo_by_default(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"exporter", "prometheus", "alertmanager", "grafana"}
    exporter = services["exporter"]
    assert exporter["build"] == "."
    environment = exporter["environment"]
    assert not any(key in environment for key in ("BINANCE_API_KEY", "BINANCE_API_KEY_FILE"))
    config = load_config([], {key: str(value) for key, value in environment.items()})
    assert config.demo is True


def test_dockerfile_for_the_exporter_build_exists(compose: dict[str, Any]) -> None:
    context = REPO / compose["services"]["exporter"]["build"]
    assert (context / "Dockerfile").is_file()


def test_every_bind_mount_source_exists(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for target, source in bind_mounts(service).items():
            assert source.exists(), f"{name}: {source} (mounted at {target}) is missing"
            assert REPO in source.parents, f"{name}: {source} is outside the repository"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith((".", "/")):
                assert source in compose["volumes"], f"{name}: undeclared volume {source}"


def test_prometheus_scrapes_the_exporter_service_and_loads_the_rules(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    prometheus = services["prometheus"]
    config_arg = next(a for a in prometheus["command"] if a.startswith("--config.file="))
    config_path = config_arg.split("=", 1)[1]
    config_file = host_path(prometheus, config_path)
    assert config_file == REPO / "prometheus" / "prometheus.yml"
    config = load(config_file)
    for rule_file in config["rule_files"]:
        inside = PurePosixPath(config_path).parent / rule_file
        assert host_path(prometheus, str(inside)) == REPO / "prometheus" / "alerts.yml"
    (job,) = config["scrape_configs"]
    assert job["job_name"] == "binance-pm"  # BinancePMExporterDown looks for this job
    (static,) = job["static_configs"]
    (target,) = static["targets"]
    host, port = target.rsplit(":", 1)
    assert host == "exporter"
    assert host in services
    listen = str(services["exporter"]["environment"]["BINANCE_PM_LISTEN_ADDRESS"])
    assert listen == f":{port}"
    assert int(port) in container_ports(services["exporter"])


def test_prometheus_sends_alerts_to_the_alertmanager_service(compose: dict[str, Any]) -> None:
    services = compose["services"]
    config = load(REPO / "prometheus" / "prometheus.yml")
    (alertmanagers,) = config["alerting"]["alertmanagers"]
    (static,) = alertmanagers["static_configs"]
    (target,) = static["targets"]
    host, port = target.rsplit(":", 1)
    assert host == "alertmanager"
    alertmanager = services["alertmanager"]
    assert int(port) in container_ports(alertmanager)
    config_arg = next(a for a in alertmanager["command"] if a.startswith("--config.file="))
    config_file = host_path(alertmanager, config_arg.split("=", 1)[1])
    assert config_file == REPO / "alertmanager" / "alertmanager.yml"
    assert "alertmanager" in services["prometheus"]["depends_on"]


def test_grafana_is_provisioned_from_the_repository(compose: dict[str, Any]) -> None:
    services = compose["services"]
    grafana = services["grafana"]
    assert host_path(grafana, "/etc/grafana/provisioning") == PROVISIONING
    datasources = load(PROVISIONING / "datasources" / "prometheus.yml")["datasources"]
    (datasource,) = datasources
    url = urlsplit(datasource["url"])
    assert url.hostname == "prometheus"
    assert url.hostname in services
    assert url.port in container_ports(services["prometheus"])
    scrape = load(REPO / "prometheus" / "prometheus.yml")["scrape_configs"][0]
    assert datasource["jsonData"]["timeInterval"] == scrape["scrape_interval"]
    (provider,) = load(PROVISIONING / "dashboards" / "binance-pm.yml")["providers"]
    dashboards = host_path(grafana, provider["options"]["path"])
    assert dashboards == REPO / "grafana" / "dashboards"
    assert (dashboards / "binance-pm-collateral.json").is_file()
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert host_path(grafana, home).is_file()
    assert 3000 in container_ports(grafana)


def test_published_ports_are_loopback_only(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for mapping in service.get("ports", []):
            assert str(mapping).startswith("127.0.0.1:"), f"{name}: {mapping}"


def test_every_host_port_is_a_variable_with_the_usual_default(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        variable, default = HOST_PORTS[name]
        (mapping,) = service["ports"]
        container_port = default
        assert mapping == f"127.0.0.1:${{{variable}:-{default}}}:{container_port}", name


def test_live_override_switches_to_a_key_file(live: dict[str, Any], tmp_path: Path) -> None:
    exporter = live["services"]["exporter"]
    (secret,) = exporter["secrets"]
    environment = {key: str(value) for key, value in exporter["environment"].items()}
    assert environment["BINANCE_API_KEY_FILE"] == f"/run/secrets/{secret}"
    source = REPO / live["secrets"][secret]["file"]
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", str(source)], cwd=REPO, check=False, timeout=30
    )
    assert ignored.returncode == 0, f"{source} is not ignored by git"
    # The merged environment (compose overrides key by key) is a valid non-demo config.
    merged = load(COMPOSE)["services"]["exporter"]["environment"] | environment
    key_file = tmp_path / "binance_api_key"
    key_file.write_text("live-key\n")
    merged["BINANCE_API_KEY_FILE"] = str(key_file)
    config = load_config([], {key: str(value) for key, value in merged.items()})
    assert config.demo is False
    assert config.api_key == "live-key"


def test_compose_environment_names_are_the_exporters(
    compose: dict[str, Any], live: dict[str, Any]
) -> None:
    help_text = exporter_help()
    names = set(compose["services"]["exporter"]["environment"])
    names |= set(live["services"]["exporter"]["environment"])
    for name in names:
        assert name in help_text, f"{name} is not an environment variable of the exporter"
