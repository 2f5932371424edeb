"""The real monitoring chain on loopback, for the end-to-end tests and the latency benchmark:
fake Binance -> exporter process(es) -> Prometheus server(s) with the shipped rules ->
Alertmanager with the shipped routing -> a webhook receiver that records every notification."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any, TypeVar

import aiohttp
import yaml
from aiohttp import web

from tests.support.fake_binance import FakeBinance
from tests.support.paths import REPO
from tests.support.process import free_port, spawn_exporter
from tests.support.versions import PROMETHEUS_2, Versions

ALERTS = REPO / "prometheus" / "alerts.yml"
PROMETHEUS_CONFIG = REPO / "prometheus" / "prometheus.yml"
ALERTMANAGER_CONFIG = REPO / "alertmanager" / "alertmanager.yml"
STARTUP_TIMEOUT = 30.0

T = TypeVar("T")


def binary(name: str, package: str) -> str:
    path = shutil.which(name)
    assert path is not None, f"{name} is not installed (Debian package: {package})"
    return path


def open_log(path: Path) -> IO[bytes]:
    return path.open("ab")


async def start_process(args: list[str], log_path: Path) -> asyncio.subprocess.Process:
    log = open_log(log_path)
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BINANCE_")}
        return await asyncio.create_subprocess_exec(
            *args, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    finally:
        log.close()


async def stop_process(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()


async def wait_for(
    check: Callable[[], Awaitable[T | None]], what: str, timeout: float = STARTUP_TIMEOUT
) -> T:
    """Polls `check` until it returns something truthy; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = await check()
        except (aiohttp.ClientError, OSError):
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(0.25)


def write_config(directory: Path, name: str, config: Mapping[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(yaml.safe_dump(dict(config), allow_unicode=True), encoding="utf-8")
    return path


def seconds(duration: str) -> float:
    """A Prometheus duration of one unit ("30s", "1m") in seconds."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    unit = "ms" if duration.endswith("ms") else duration[-1]
    return float(duration.removesuffix(unit)) * units[unit]


def timestamp(rfc3339: str) -> float:
    return datetime.fromisoformat(rfc3339).timestamp()


def exporter_args(fake: FakeBinance, listen: str, *extra: str) -> list[str]:
    return [
        "--api-base-url",
        fake.url,
        "--api-key",
        "e2e-test-key",
        "--listen-address",
        listen,
        *extra,
    ]


async def start_exporter(
    session: aiohttp.ClientSession, args: list[str], log_path: Path, listen: str
) -> asyncio.subprocess.Process:
    """An exporter process on the fixed address `listen` (Prometheus' target), logging to
    `log_path`; the caller stops it (`stop_process`), e.g. to restart it on the same port."""
    with open_log(log_path) as log:
        process = await spawn_exporter(args, stdout=log, stderr=subprocess.STDOUT)

    async def healthy() -> bool:
        async with session.get(f"http://{listen}/healthz") as response:
            return response.status == 200

    await wait_for(healthy, f"the exporter's /healthz on {listen}")
    return process


def prometheus_config(
    targets: Sequence[str],
    *,
    interval: str | None = None,
    evaluation_interval: str | None = None,
    alertmanager: str | None = None,
    external_labels: Mapping[str, str] | None = None,
    rules: Path = ALERTS,
) -> dict[str, Any]:
    """The shipped prometheus/prometheus.yml with the shipped rules (or `rules`), pointed at
    `targets` (and at `alertmanager`, or none); `interval` replaces the scrape interval and,
    unless `evaluation_interval` is given, the evaluation interval."""
    config: dict[str, Any] = yaml.safe_load(PROMETHEUS_CONFIG.read_text(encoding="utf-8"))
    config["rule_files"] = [str(rules)]
    (job,) = config["scrape_configs"]
    job["static_configs"] = [{"targets": list(targets)}]
    if interval is not None:
        timeout = min(interval, job["scrape_timeout"], key=seconds)
        job.update(scrape_interval=interval, scrape_timeout=timeout)
        config["global"].update(scrape_interval=interval, evaluation_interval=interval)
    if evaluation_interval is not None:
        config["global"]["evaluation_interval"] = evaluation_interval
    config.pop("alerting", None)
    if alertmanager is not None:
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]}
    if external_labels:
        config["global"]["external_labels"] = dict(external_labels)
        # The pair's replicas send the same alert: drop what tells them apart (docs/alerts.md).
        config["alerting"]["alert_relabel_configs"] = [
            {"action": "labeldrop", "regex": "|".join(external_labels)}
        ]
    return config


async def start_prometheus(
    session: aiohttp.ClientSession,
    config: Mapping[str, Any],
    directory: Path,
    port: int,
    versions: Versions = PROMETHEUS_2,
    startup_timeout: float = STARTUP_TIMEOUT,
) -> asyncio.subprocess.Process:
    """A Prometheus of `versions` on loopback; its storage in `directory` is kept across
    restarts."""
    config_file = write_config(directory, "prometheus.yml", config)
    process = await start_process(
        [
            versions.prometheus_server,
            f"--config.file={config_file}",
            f"--storage.tsdb.path={directory / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        directory / "prometheus.log",
    )

    async def ready() -> bool:
        async with session.get(f"http://127.0.0.1:{port}/-/ready") as response:
            return response.status == 200

    await wait_for(ready, "Prometheus to be ready", startup_timeout)
    return process


def alertmanager_config(webhook: str, timings: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The shipped alertmanager/alertmanager.yml (routes, grouping, inhibitions as they are),
    each receiver given a webhook at `webhook`/<receiver name>; `timings` replace group_wait,
    group_interval or repeat_interval."""
    config: dict[str, Any] = yaml.safe_load(ALERTMANAGER_CONFIG.read_text(encoding="utf-8"))
    for receiver in config["receivers"]:
        assert set(receiver) == {"name"}, "the shipped receivers must have no integration"
        receiver["webhook_configs"] = [
            {"url": f"{webhook}/{receiver['name']}", "send_resolved": True}
        ]
    config["route"].update(timings or {})
    return config


async def start_alertmanager(
    session: aiohttp.ClientSession,
    config: Mapping[str, Any],
    directory: Path,
    port: int,
    versions: Versions = PROMETHEUS_2,
) -> asyncio.subprocess.Process:
    config_file = write_config(directory, "alertmanager.yml", config)
    process = await start_process(
        [
            versions.alertmanager_server,
            f"--config.file={config_file}",
            f"--storage.path={directory / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            # A single Alertmanager: no cluster port, nothing listening beyond loopback.
            "--cluster.listen-address=",
            "--log.level=warn",
        ],
        directory / "alertmanager.log",
    )

    async def ready() -> bool:
        async with session.get(f"http://127.0.0.1:{port}/-/ready") as response:
            return response.status == 200

    await wait_for(ready, "Alertmanager to be ready")
    return process


@dataclass(frozen=True)
class Notification:
    """One webhook call of Alertmanager, as received."""

    receiver: str
    at: float
    body: dict[str, Any]

    @property
    def alerts(self) -> list[dict[str, Any]]:
        alerts: list[dict[str, Any]] = self.body["alerts"]
        return alerts


@dataclass
class Webhook:
    """A webhook receiver on loopback: every POST to /<receiver> is recorded."""

    notifications: list[Notification] = field(default_factory=list)
    url: str = ""
    _runner: web.AppRunner | None = None
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def _receive(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.notifications.append(Notification(request.match_info["receiver"], time.time(), body))
        self._arrived.set()
        return web.Response(text="ok")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{receiver}", self._receive)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def alerts(self, alertname: str, status: str | None = None) -> list[tuple[str, dict[str, Any]]]:
        """(receiver, alert) of every notified alert of that name, in order of arrival."""
        return [
            (notification.receiver, alert)
            for notification in self.notifications
            for alert in notification.alerts
            if alert["labels"]["alertname"] == alertname
            and (status is None or alert["status"] == status)
        ]


@dataclass
class AlertingStack:
    """Fake Binance, exporters, Prometheus servers, one Alertmanager and the webhook."""

    fake: FakeBinance
    session: aiohttp.ClientSession
    webhook: Webhook
    tmp_path: Path
    exporters: list[str]
    prometheus_ports: list[int]
    alertmanager_port: int
    versions: Versions = PROMETHEUS_2
    exporter_flags: Sequence[str] = ()
    prometheus_configs: list[dict[str, Any]] = field(default_factory=list)
    processes: dict[str, asyncio.subprocess.Process] = field(default_factory=dict)

    @property
    def logs(self) -> str:
        parts = []
        for path in sorted(self.tmp_path.glob("**/*.log")):
            tail = path.read_text(errors="replace")[-3000:]
            parts.append(f"--- {path.relative_to(self.tmp_path)} ---\n{tail}")
        return "\n".join(parts)

    async def query(self, expr: str, replica: int = 0) -> list[dict[str, Any]]:
        url = f"http://127.0.0.1:{self.prometheus_ports[replica]}/api/v1/query"
        async with self.session.get(url, params={"query": expr}) as response:
            body = await response.json()
        assert body["status"] == "success", f"{expr}: {body}"
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    async def stop(self, name: str) -> None:
        """Stops one part: "exporter-N" or "prometheus-N"."""
        await stop_process(self.processes.pop(name))

    async def start_exporter(self, number: int) -> None:
        listen = self.exporters[number]
        self.processes[f"exporter-{number}"] = await start_exporter(
            self.session,
            exporter_args(self.fake, listen, *self.exporter_flags),
            self.tmp_path / f"exporter-{number}.log",
            listen,
        )

    async def start_prometheus(self, replica: int) -> None:
        """Starts (or starts again, on the same storage) one Prometheus server."""
        self.processes[f"prometheus-{replica}"] = await start_prometheus(
            self.session,
            self.prometheus_configs[replica],
            self.tmp_path / f"prometheus-{replica}",
            self.prometheus_ports[replica],
            self.versions,
        )

    async def rules_evaluated_since(self, moment: float, replica: int = 0) -> bool:
        url = f"http://127.0.0.1:{self.prometheus_ports[replica]}/api/v1/rules"
        async with self.session.get(url) as response:
            groups = (await response.json())["data"]["groups"]
        return all(timestamp(group["lastEvaluation"]) > moment for group in groups)


@asynccontextmanager
async def alerting_stack(
    tmp_path: Path,
    rates: Mapping[str, str],
    *,
    exporters: int = 1,
    replicas: int = 1,
    interval: str | None = "1s",
    evaluation_interval: str | None = None,
    timings: Mapping[str, str] | None = None,
    exporter_flags: Sequence[str] = ("--min-interval", "1"),
    fake: FakeBinance | None = None,
    versions: Versions = PROMETHEUS_2,
    rules: Path = ALERTS,
) -> AsyncIterator[AlertingStack]:
    """The whole chain, every part on loopback and stopped at the end whatever happens, with
    the Prometheus and Alertmanager of `versions` and the rules of `rules`. `interval` shortens
    scrape and evaluation intervals (None: the shipped ones); `timings` replace Alertmanager's
    group_wait, group_interval, repeat_interval; `fake`, already started and stopped by the
    caller, is the fake Binance to serve (by default one with `rates`)."""
    own_fake = fake is None
    fake = fake or FakeBinance(rates)
    webhook = Webhook()
    async with AsyncExitStack() as cleanup:
        if own_fake:
            await fake.start()
            cleanup.push_async_callback(fake.stop)
        await webhook.start()
        cleanup.push_async_callback(webhook.stop)
        session = await cleanup.enter_async_context(
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        )
        stack = AlertingStack(
            fake,
            session,
            webhook,
            tmp_path,
            [f"127.0.0.1:{free_port()}" for _ in range(exporters)],
            [free_port() for _ in range(replicas)],
            free_port(),
            versions,
            exporter_flags,
        )

        async def stop_all() -> None:
            for process in list(stack.processes.values()):
                await stop_process(process)

        cleanup.push_async_callback(stop_all)
        try:
            stack.processes["alertmanager"] = await start_alertmanager(
                session,
                alertmanager_config(webhook.url, timings),
                tmp_path / "alertmanager",
                stack.alertmanager_port,
                versions,
            )
            for number in range(exporters):
                await stack.start_exporter(number)
            for replica in range(replicas):
                stack.prometheus_configs.append(
                    prometheus_config(
                        stack.exporters,
                        interval=interval,
                        evaluation_interval=evaluation_interval,
                        alertmanager=f"127.0.0.1:{stack.alertmanager_port}",
                        external_labels={"replica": str(replica)} if replicas > 1 else None,
                        rules=rules,
                    )
                )
                await stack.start_prometheus(replica)
            yield stack
        except BaseException:
            print(stack.logs)
            raise


@dataclass(frozen=True)
class Settings:
    """The settings that add up to the detection latency of a rate cut."""

    min_interval: float
    scrape_interval: str
    evaluation_interval: str
    group_wait: str
    group_interval: str

    def worst_case(self, first: bool) -> float:
        grouping = self.group_wait if first else self.group_interval
        return (
            self.min_interval
            + seconds(self.scrape_interval)
            + seconds(self.evaluation_interval)
            + seconds(grouping)
        )


def shipped() -> Settings:
    """The settings of the shipped prometheus.yml and alertmanager.yml."""
    prometheus = yaml.safe_load(PROMETHEUS_CONFIG.read_text(encoding="utf-8"))
    route = yaml.safe_load(ALERTMANAGER_CONFIG.read_text(encoding="utf-8"))["route"]
    (job,) = prometheus["scrape_configs"]
    return Settings(
        min_interval=30.0,  # the exporter's default --min-interval
        scrape_interval=job["scrape_interval"],
        evaluation_interval=prometheus["global"]["evaluation_interval"],
        group_wait=route["group_wait"],
        group_interval=route["group_interval"],
    )
