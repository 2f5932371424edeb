"""`docker compose up` of docker-compose.yml in a real Docker engine
(tests/support/docker_engine.py), with Compose v2 and stand-in Prometheus and Alertmanager images
made from Debian's packages: Prometheus scrapes the exporter, loads every rule and reaches the
Alertmanager. Grafana has no image that can be made here; tests/test_compose.py checks its
service."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Mapping
from typing import Any

import pytest
import yaml

from tests.support.compose import HOST_PORTS
from tests.support.containers import COMPOSE_FILE, BuiltImage, DockerEngine, wait_for
from tests.support.paths import REPO
from tests.support.process import free_port
from tests.support.tools import tool

pytest_plugins = ["tests.support.docker_engine"]
pytestmark = pytest.mark.slow

STARTED = ("exporter", "prometheus", "alertmanager")


def compose(
    project: str, env: Mapping[str, str], *args: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    command = [
        str(tool("docker-compose")),
        "--project-name",
        project,
        "--file",
        str(COMPOSE_FILE),
        "--project-directory",
        str(REPO),
        *args,
    ]
    result = subprocess.run(
        command, env=dict(env), capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, f"{' '.join(args)}:\n{result.stdout}{result.stderr}"
    return result


def without_port_variables(env: Mapping[str, str]) -> dict[str, str]:
    names = {variable for variable, _ in HOST_PORTS.values()}
    return {key: value for key, value in env.items() if key not in names}


def api(url: str) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return json.load(response)["data"]
    except (OSError, ValueError):
        return None  # not up yet


def test_host_ports_follow_their_variables() -> None:
    env = without_port_variables(os.environ)
    chosen = {variable: str(20000 + i) for i, (variable, _) in enumerate(HOST_PORTS.values())}
    for variables, expected in (
        ({}, {name: str(default) for name, (_, default) in HOST_PORTS.items()}),
        (chosen, {name: chosen[variable] for name, (variable, _) in HOST_PORTS.items()}),
    ):
        config = json.loads(
            compose("bpe-config", env | variables, "config", "--format", "json").stdout
        )
        for name, port in expected.items():
            (mapping,) = config["services"][name]["ports"]
            assert (mapping["host_ip"], mapping["published"]) == ("127.0.0.1", port), name


def test_the_stack_comes_up_scrapes_the_exporter_and_reaches_the_alertmanager(
    docker_engine: DockerEngine,
    exporter_image: BuiltImage,
    monitoring_images: Mapping[str, str],
) -> None:
    ports = {name: free_port() for name in HOST_PORTS}
    env = without_port_variables(docker_engine.env) | {
        HOST_PORTS[name][0]: str(port) for name, port in ports.items()
    }
    project = f"bpe-test-{uuid.uuid4().hex[:8]}"
    prometheus = f"http://127.0.0.1:{ports['prometheus']}/api/v1"
    rule_files = yaml.safe_load((REPO / "prometheus" / "alerts.yml").read_text(encoding="utf-8"))
    shipped = {
        rule.get("alert") or rule["record"]
        for group in rule_files["groups"]
        for rule in group["rules"]
    }
    try:
        compose(project, env, "up", "--detach", "--no-build", "--pull", "never", *STARTED)

        def exporter_up() -> bool:
            result = api(f"{prometheus}/query?query=" + urllib.parse.quote("binance_pm_up"))
            return bool(result and result["result"] and result["result"][0]["value"][1] == "1")

        # One scrape a minute, as shipped: the first may come a minute after the start.
        wait_for(exporter_up, 240, "Prometheus to scrape binance_pm_up 1 from the exporter")
        (target,) = api(f"{prometheus}/targets")["activeTargets"]
        assert (target["labels"]["job"], target["health"]) == ("binance-pm", "up")

        def rules_evaluated() -> bool:
            groups = api(f"{prometheus}/rules")
            rules = [rule for group in (groups or {}).get("groups", []) for rule in group["rules"]]
            return bool(rules) and all(rule["health"] == "ok" for rule in rules)

        wait_for(rules_evaluated, 180, "every rule to be evaluated without error")
        groups = api(f"{prometheus}/rules")["groups"]
        assert len(groups) == len(rule_files["groups"])
        assert {rule["name"] for group in groups for rule in group["rules"]} == shipped

        def alertmanager_active() -> bool:
            found = api(f"{prometheus}/alertmanagers")
            return bool(found and found["activeAlertmanagers"])

        wait_for(alertmanager_active, 120, "Prometheus to find the Alertmanager")
        (active,) = api(f"{prometheus}/alertmanagers")["activeAlertmanagers"]
        assert urllib.parse.urlsplit(active["url"]).netloc == "alertmanager:9093"
        with urllib.request.urlopen(
            f"http://127.0.0.1:{ports['alertmanager']}/-/ready", timeout=30
        ) as ready:
            assert ready.status == 200
        with urllib.request.urlopen(
            f"http://127.0.0.1:{ports['exporter']}/healthz", timeout=30
        ) as healthz:
            assert healthz.status == 200
        # Every service started once and is still running.
        for service in STARTED:
            (container_id,) = compose(project, env, "ps", "--quiet", service).stdout.split()
            state = docker_engine.inspect("container", container_id)
            assert (state["State"]["Status"], state["RestartCount"]) == ("running", 0), service
    except BaseException:
        # Shown with the failure: what the services said.
        print(compose(project, env, "ps", "--all").stdout)
        print(compose(project, env, "logs", "--no-color", "--tail", "60").stdout)
        print(api(f"{prometheus}/targets"))
        raise
    finally:
        compose(project, env, "down", "--volumes", "--remove-orphans", "--timeout", "10")
    left = docker_engine.run("network", "ls", "--format", "{{.Name}}").stdout.split()
    assert not [name for name in left if name.startswith(project)]
