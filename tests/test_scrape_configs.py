"""Every shipped way to scrape the exporter gives series that the rules' selector matches: each one
runs on a real Prometheus against a real exporter (--demo), and the selector of the rendered rules
finds `up` and the rates. A way whose series the rules cannot see would leave every alert silent
and the dashboard empty.

Kubernetes' service discovery cannot run without a cluster, so the two Kubernetes ways keep
their relabelling as Prometheus gets it and replace the discovery by a file with the labels
Kubernetes would give the exporter's endpoint, taken from the rendered Service and Deployment."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from tests.support.kubernetes import BASE, render
from tests.support.monitoring_stack import (
    start_prometheus,
    stop_process,
    wait_for,
)
from tests.support.paths import REPO
from tests.support.process import exporter_process, free_port

pytestmark = pytest.mark.slow

ALERTS = REPO / "prometheus" / "alerts.yml"
PROMETHEUS_YML = REPO / "prometheus" / "prometheus.yml"
COMPOSE = REPO / "docker-compose.yml"
SCRAPE_JOB = (
    REPO / "deploy" / "kubernetes" / "overlays" / "without-operator" / "prometheus-scrape-job.yaml"
)
NAMESPACE = "monitoring"
FAST = {"scrape_interval": "1s", "scrape_timeout": "1s"}


def rules_selector() -> str:
    """The one job matcher every rendered rule uses."""
    matchers = set(re.findall(r'job=~?"[^"]*"', ALERTS.read_text(encoding="utf-8")))
    assert len(matchers) == 1, matchers
    (matcher,) = matchers
    return str(matcher)


def label_name(name: str) -> str:
    """A Kubernetes label as a Prometheus meta-label suffix (Prometheus' sanitising)."""
    return re.sub(r"[^a-zA-Z0-9_]", "_", name)


def kubernetes_endpoint_labels(target: str) -> dict[str, str]:
    """What Kubernetes' `endpoints` discovery reports for the exporter's pod behind its Service."""
    objects = render(BASE)
    (service,) = [o for o in objects if o["kind"] == "Service"]
    (deployment,) = [o for o in objects if o["kind"] == "Deployment"]
    pod = deployment["spec"]["template"]["metadata"]
    (port,) = service["spec"]["ports"]
    labels = {
        "__address__": target,
        "__meta_kubernetes_namespace": NAMESPACE,
        "__meta_kubernetes_service_name": service["metadata"]["name"],
        "__meta_kubernetes_endpoint_port_name": port["name"],
        "__meta_kubernetes_endpoint_port_protocol": port.get("protocol", "TCP"),
        "__meta_kubernetes_endpoint_ready": "true",
        "__meta_kubernetes_pod_name": f"{deployment['metadata']['name']}-5d8f7b9c4-x2x7q",
    }
    for name, value in service["metadata"].get("labels", {}).items():
        labels[f"__meta_kubernetes_service_label_{label_name(name)}"] = value
    for name, value in pod.get("labels", {}).items():
        labels[f"__meta_kubernetes_pod_label_{label_name(name)}"] = value
    for name, value in pod.get("annotations", {}).items():
        labels[f"__meta_kubernetes_pod_annotation_{label_name(name)}"] = value
    return labels


def with_file_discovery(
    job: Mapping[str, Any], labels: Mapping[str, str], directory: Path
) -> dict[str, Any]:
    """`job` with Kubernetes' discovery replaced by a file holding one target with `labels`."""
    targets = directory / f"{label_name(job['job_name'])}-targets.yml"
    address = labels["__address__"]
    meta = {k: v for k, v in labels.items() if k != "__address__"}
    targets.write_text(yaml.safe_dump([{"targets": [address], "labels": meta}]), encoding="utf-8")
    replaced = {k: v for k, v in job.items() if k != "kubernetes_sd_configs"}
    replaced["file_sd_configs"] = [{"files": [str(targets)]}]
    return replaced


def static_jobs(config_file: Path, target: str) -> list[dict[str, Any]]:
    jobs: list[dict[str, Any]] = yaml.safe_load(config_file.read_text(encoding="utf-8"))[
        "scrape_configs"
    ]
    for job in jobs:
        assert [list(c) for c in job["static_configs"]] == [["targets"]], job
        job["static_configs"] = [{"targets": [target]}]
    return jobs


def compose_prometheus_config() -> Path:
    """The host file the Compose stack's Prometheus reads as its configuration."""
    service = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]["prometheus"]
    command = " ".join(service.get("command", []))
    config_path = re.search(r"--config\.file=(\S+)", command)
    inside = config_path.group(1) if config_path else "/etc/prometheus/prometheus.yml"
    for volume in service["volumes"]:
        source, _, rest = volume.partition(":")
        if rest.split(":")[0] == inside:
            return Path(COMPOSE.parent / str(source)).resolve()
    raise AssertionError(f"Compose mounts nothing at {inside}")


def service_monitor_jobs(target: str, directory: Path) -> list[dict[str, Any]]:
    """The scrape job the Prometheus Operator generates for the ServiceMonitor: endpoints
    discovery, keep the selected Service and port, job from the Service name, then from the
    Service label that `jobLabel` names when the Service has it."""
    objects = render(BASE)
    (monitor,) = [o for o in objects if o["kind"] == "ServiceMonitor"]
    spec = monitor["spec"]
    jobs = []
    for index, endpoint in enumerate(spec["endpoints"]):
        relabel: list[dict[str, Any]] = [
            {
                "action": "keep",
                "source_labels": [f"__meta_kubernetes_service_label_{label_name(name)}"],
                "regex": value,
            }
            for name, value in spec["selector"]["matchLabels"].items()
        ]
        relabel.append(
            {
                "action": "keep",
                "source_labels": ["__meta_kubernetes_endpoint_port_name"],
                "regex": endpoint["port"],
            }
        )
        relabel.append({"source_labels": ["__meta_kubernetes_service_name"], "target_label": "job"})
        if "jobLabel" in spec:
            relabel.append(
                {
                    "source_labels": [
                        f"__meta_kubernetes_service_label_{label_name(spec['jobLabel'])}"
                    ],
                    "target_label": "job",
                    "regex": "(.+)",
                }
            )
        name = monitor["metadata"]["name"]
        job = {
            "job_name": f"serviceMonitor/{NAMESPACE}/{name}/{index}",
            "metrics_path": endpoint.get("path", "/metrics"),
            "kubernetes_sd_configs": [{"role": "endpoints"}],
            "relabel_configs": relabel,
        }
        jobs.append(with_file_discovery(job, kubernetes_endpoint_labels(target), directory))
    return jobs


def shipped_scrape_job(target: str, directory: Path) -> list[dict[str, Any]]:
    jobs: list[dict[str, Any]] = yaml.safe_load(SCRAPE_JOB.read_text(encoding="utf-8"))
    return [with_file_discovery(j, kubernetes_endpoint_labels(target), directory) for j in jobs]


WAYS = {
    "prometheus.yml": lambda target, _directory: static_jobs(PROMETHEUS_YML, target),
    "compose": lambda target, _directory: static_jobs(compose_prometheus_config(), target),
    "service-monitor": service_monitor_jobs,
    "without-operator": shipped_scrape_job,
}


@pytest.fixture
async def exporter_target() -> AsyncIterator[str]:
    async with exporter_process(["--demo"]) as running:
        yield f"127.0.0.1:{running.port}"


async def series(session: aiohttp.ClientSession, port: int, expr: str) -> list[dict[str, Any]]:
    async with session.get(
        f"http://127.0.0.1:{port}/api/v1/query", params={"query": expr}
    ) as response:
        body = await response.json()
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


@pytest.mark.parametrize("way", sorted(WAYS))
async def test_the_rules_selector_matches_what_the_way_scrapes(
    way: str, exporter_target: str, tmp_path: Path
) -> None:
    jobs = [{**job, **FAST} for job in WAYS[way](exporter_target, tmp_path)]
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(ALERTS)],
        "scrape_configs": jobs,
    }
    selector = rules_selector()
    port = free_port()
    async with aiohttp.ClientSession() as session:
        prometheus = await start_prometheus(session, config, tmp_path, port)
        try:

            async def scraped() -> list[dict[str, Any]] | None:
                return await series(session, port, "up") or None

            (up,) = await wait_for(scraped, f"Prometheus to scrape the exporter the {way} way")
            rates = await series(session, port, f"binance_pm_collateral_rate{{{selector}}}")
            selected_up = await series(session, port, f"up{{{selector}}}")
        finally:
            await stop_process(prometheus)

    assert up["value"][1] == "1", up
    assert [s["metric"] for s in selected_up] == [up["metric"]], (
        f"the rules select {selector}; the {way} way gives {up['metric']}"
    )
    assert rates, f"no rate matches {selector} the {way} way"


def test_the_pods_offer_no_annotation_route_the_rules_cannot_see() -> None:
    """The usual pod-annotation job names its series job="kubernetes-pods": the pods must not
    invite it."""
    (deployment,) = [o for o in render(BASE) if o["kind"] == "Deployment"]
    annotations = deployment["spec"]["template"]["metadata"].get("annotations", {})
    assert not [a for a in annotations if a.startswith("prometheus.io/")]
    assert "kubernetes-pods" not in rules_selector()
