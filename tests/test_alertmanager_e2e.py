"""End to end through a real Alertmanager, on loopback: fake Binance -> exporter(s) -> Prometheus
with the shipped rules -> Alertmanager with the shipped routing -> a webhook receiver. What the
receiver gets is what a pager would get."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from scripts.render_mixin import ALERTS as RENDERED_ALERTS
from scripts.render_mixin import render
from tests.support.dashboard_queries import load_dashboard, panel_queries, substitute
from tests.support.fake_binance import Reply
from tests.support.monitoring_stack import (
    ALERTMANAGER_CONFIG,
    AlertingStack,
    Webhook,
    alerting_stack,
    shipped,
    wait_for,
)
from tests.support.paths import REPO
from tests.support.versions import ALL, Versions, reported_version

DROP_ALERT = "BinancePMCollateralRateDropped"
RATES = {
    "BTC": "0.9500",
    "ETH": "0.9500",
    "ICP": "0.6000",
    "SOL": "0.8000",
    "USDT": "1.0000",
}
# Short enough for a test, in the shipped route tree (group_by, receivers, inhibitions).
TIMINGS = {"group_wait": "1s", "group_interval": "2s", "repeat_interval": "1h"}
NOTIFY_TIMEOUT = 60.0


async def scraped(stack: AlertingStack, replica: int = 0) -> None:
    instances = len(stack.exporters)
    assets = len(stack.fake.rates)

    async def ready() -> bool:
        rates = await stack.query("binance_pm_collateral_rate", replica)
        scrapes = await stack.query('count_over_time(up{job="binance-pm"}[10s]) >= 5', replica)
        return len(rates) == assets * instances and len(scrapes) == instances

    await wait_for(ready, "five scrapes of every exporter", timeout=NOTIFY_TIMEOUT)


async def settle(stack: AlertingStack, seconds: float) -> None:
    """Lets every Prometheus evaluate the rules and Alertmanager flush its groups again."""
    await asyncio.sleep(seconds)
    moment = time.time()
    for replica in range(len(stack.prometheus_ports)):

        async def evaluated(replica: int = replica) -> bool:
            return await stack.rules_evaluated_since(moment, replica)

        await wait_for(evaluated, "another rule evaluation")
    await asyncio.sleep(3 * 2)  # three of the test's group_interval


async def notified(
    stack: AlertingStack, receiver: str, asset: str, dropped_to: str
) -> dict[str, Any]:
    async def arrived() -> dict[str, Any] | None:
        for got, alert in stack.webhook.alerts(DROP_ALERT, "firing"):
            labels = alert["labels"]
            if (got, labels["asset"], labels["dropped_to"]) == (receiver, asset, dropped_to):
                return alert
        return None

    return await wait_for(arrived, f"{asset} -> {dropped_to} at {receiver}", NOTIFY_TIMEOUT)


@pytest.fixture(params=ALL, ids=[versions.name for versions in ALL])
def versions(request: pytest.FixtureRequest) -> Versions:
    chosen: Versions = request.param
    assert reported_version(chosen.alertmanager_server).startswith(chosen.alertmanager + ".")
    assert reported_version(chosen.prometheus_server).startswith(chosen.prometheus + ".")
    return chosen


@pytest.fixture
async def single(tmp_path: Path, versions: Versions) -> AsyncIterator[AlertingStack]:
    async with alerting_stack(
        tmp_path,
        RATES,
        timings=TIMINGS,
        exporter_flags=("--min-interval", "1", "--max-stale", "3"),
        versions=versions,
    ) as stack:
        await scraped(stack)
        yield stack


@pytest.mark.slow
async def test_a_drop_pages_once_through_an_outage_and_a_further_drop_pages_again(
    single: AlertingStack,
) -> None:
    stack = single
    # ICP 0.60 -> 0.45 (a warning), SOL 0.80 -> 0.55 (0.25: critical, to the pager).
    stack.fake.rates.update(ICP="0.4500", SOL="0.5500")
    icp = await notified(stack, "default", "ICP", "0.4500")
    sol = await notified(stack, "pager", "SOL", "0.5500")
    assert icp["labels"] == {
        "alertname": DROP_ALERT,
        "asset": "ICP",
        "dropped_to": "0.4500",
        "job": "binance-pm",
        "severity": "warning",
    }
    assert icp["annotations"]["summary"] == "ICP collateral rate dropped from 0.6000 to 0.4500"
    runbook = icp["annotations"]["runbook_url"]
    assert runbook.endswith("/docs/alerts.md#binancepmcollateralratedropped")
    assert icp["annotations"]["dashboard_url"].endswith("var-job=binance-pm&var-asset=ICP")
    assert sol["labels"]["severity"] == "critical"
    assert sol["annotations"]["summary"] == "SOL collateral rate dropped from 0.8000 to 0.5500"

    # Binance fails; past --max-stale the exporter withholds every rate. The rates are still
    # cut when it answers again.
    stack.fake.always(Reply(status=503))

    async def withheld() -> bool:
        up = await stack.query("binance_pm_up == 0")
        return bool(up) and await stack.query("binance_pm_collateral_rate") == []

    await wait_for(withheld, "the rates to be withheld", timeout=NOTIFY_TIMEOUT)
    await settle(stack, 5)
    stack.fake.always(None)

    async def back() -> bool:
        return len(await stack.query("binance_pm_collateral_rate")) == len(RATES)

    await wait_for(back, "the rates to be back", timeout=NOTIFY_TIMEOUT)
    await settle(stack, 2)

    # One page per drop: nothing resolved, nothing fired anew, no asset taken for delisted.
    assert stack.webhook.alerts(DROP_ALERT, "resolved") == []
    pages = [(r, a["labels"]["asset"]) for r, a in stack.webhook.alerts(DROP_ALERT)]
    assert sorted(set(pages)) == [("default", "ICP"), ("pager", "SOL")]
    by_receiver = [n.receiver for n in stack.webhook.notifications if DROP_ALERT in str(n.body)]
    assert sorted(by_receiver) == ["default", "pager"]
    assert stack.webhook.alerts("BinancePMCollateralAssetDisappeared") == []

    # A further drop of ICP is a new alert: Alertmanager notifies again. The alert of the
    # earlier rate is replaced (resolved); nothing else resolved.
    stack.fake.rates["ICP"] = "0.4200"
    again = await notified(stack, "default", "ICP", "0.4200")
    assert again["annotations"]["summary"] == "ICP collateral rate dropped from 0.6000 to 0.4200"
    resolved = {
        (a["labels"]["asset"], a["labels"]["dropped_to"])
        for _, a in stack.webhook.alerts(DROP_ALERT, "resolved")
    }
    assert resolved <= {("ICP", "0.4500")}


@pytest.mark.slow
async def test_an_ha_pair_of_exporters_and_of_prometheus_pages_once_per_drop(
    tmp_path: Path, versions: Versions
) -> None:
    async with alerting_stack(
        tmp_path, RATES, exporters=2, replicas=2, timings=TIMINGS, versions=versions
    ) as stack:
        for replica in (0, 1):
            await scraped(stack, replica)

        # The dashboard shows each asset once, though two exporters report it.
        values = {"job": ".+", "instance": ".+", "asset": ".+", "__range": "300s"}
        by_title = {q.where: q for q in panel_queries(load_dashboard())}
        listed = by_title["panel 'Assets listed' target A"]
        (count,) = await stack.query(substitute(listed.expr, values))
        assert float(count["value"][1]) == len(RATES)
        table = by_title["panel 'Current collateral rates' target A"]
        rows = await stack.query(substitute(table.expr, values))
        assert sorted(row["metric"]["asset"] for row in rows) == sorted(RATES)

        stack.fake.rates["ICP"] = "0.4500"
        await notified(stack, "default", "ICP", "0.4500")
        await settle(stack, 2)
        drops = [n for n in stack.webhook.notifications if DROP_ALERT in str(n.body)]
        assert len(drops) == 1, [n.body for n in drops]
        (alert,) = drops[0].alerts
        # One alert: no instance (the rate is Binance's), no replica (dropped before sending).
        assert alert["labels"] == {
            "alertname": DROP_ALERT,
            "asset": "ICP",
            "dropped_to": "0.4500",
            "job": "binance-pm",
            "severity": "warning",
        }
        fell = by_title["panel 'Assets that fell' target A"]
        (icp,) = await stack.query(substitute(fell.expr, values))
        assert icp["metric"] == {"asset": "ICP"}


def amtool(versions: Versions, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [versions.amtool, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (["alertname=BinancePMCollateralRateDropped", "severity=critical", "asset=ICP"], "pager"),
        (["alertname=BinancePMCollateralRateDropped", "severity=warning", "asset=ICP"], "default"),
        (["alertname=BinancePMDataStale", "severity=critical"], "pager"),
        (["alertname=BinancePMExporterDown", "severity=critical"], "pager"),
        (["alertname=BinancePMUpstreamDown", "severity=warning"], "default"),
    ],
)
def test_the_shipped_routing_sends_critical_to_the_pager(
    labels: list[str], receiver: str, versions: Versions
) -> None:
    config = f"--config.file={ALERTMANAGER_CONFIG}"
    assert amtool(versions, "check-config", str(ALERTMANAGER_CONFIG)).returncode == 0
    result = amtool(versions, "config", "routes", "test", config, *labels)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.split() == [receiver]


def test_the_shipped_routing_groups_and_points_nowhere_outside() -> None:
    config = yaml.safe_load(ALERTMANAGER_CONFIG.read_text(encoding="utf-8"))
    assert config["route"]["group_by"] == ["alertname", "job"]
    assert {r["name"]: set(r) for r in config["receivers"]} == {
        "default": {"name"},
        "pager": {"name"},
    }


def test_the_documented_latency_is_the_shipped_configs() -> None:
    settings = shipped()
    assert settings.worst_case(first=True) == 30 + 60 + 30 + 30
    assert settings.worst_case(first=False) == 30 + 60 + 30 + 60
    text = (REPO / "docs" / "alerts.md").read_text(encoding="utf-8")
    assert "30 s      +      60 s       +        30 s         +    30 s     = 2 min 30 s" in text
    assert "30 + 60 + 30 + 30 s = **2.5 min**" in (REPO / "README.md").read_text(encoding="utf-8")


# The drop alert's episodes, end to end, with the rules rendered for a window of WINDOW seconds.
WINDOW = 20
EPISODE_RATES = {
    "ADA": "0.7000",
    "DOT": "0.7000",
    "ICP": "0.6000",
    "LUNA": "0.5000",
    "SOL": "0.8000",
    "USDT": "1.0000",
}


def firing_episodes(webhook: Webhook) -> Counter[tuple[str, str, str, str]]:
    """(receiver, asset, dropped_to, severity) -> how many times that drop alert started (a
    notified firing alert with a start time not seen before): the pages."""
    started = {
        (
            receiver,
            alert["labels"]["asset"],
            alert["labels"]["dropped_to"],
            alert["labels"]["severity"],
            alert["startsAt"],
        )
        for receiver, alert in webhook.alerts(DROP_ALERT, "firing")
    }
    return Counter(episode[:4] for episode in started)


async def paged(
    stack: AlertingStack, receiver: str, asset: str, dropped_to: str, severity: str, times: int = 1
) -> None:
    async def arrived() -> bool:
        episodes = firing_episodes(stack.webhook)
        return episodes[(receiver, asset, dropped_to, severity)] >= times

    await wait_for(arrived, f"{asset} -> {dropped_to} page {times} at {receiver}", NOTIFY_TIMEOUT)


async def resolved(stack: AlertingStack, receiver: str, asset: str, dropped_to: str) -> None:
    async def arrived() -> bool:
        return any(
            (got, alert["labels"]["asset"], alert["labels"]["dropped_to"])
            == (receiver, asset, dropped_to)
            for got, alert in stack.webhook.alerts(DROP_ALERT, "resolved")
        )

    await wait_for(arrived, f"{asset} -> {dropped_to} resolved at {receiver}", NOTIFY_TIMEOUT)


@pytest.mark.slow
async def test_each_drop_episode_pages_once_two_steps_a_revert_a_delisting_and_long_gaps(
    tmp_path: Path, versions: Versions
) -> None:
    rules = tmp_path / "alerts.yml"
    rendered = render({"binancePMWindow": f"{WINDOW}s"})[RENDERED_ALERTS]
    rules.write_text(rendered, encoding="utf-8")
    async with alerting_stack(
        tmp_path, EPISODE_RATES, timings=TIMINGS, versions=versions, rules=rules
    ) as stack:
        await scraped(stack)
        # ICP cut in two steps, 0.60 -> 0.45 -> 0.30; SOL cut, reverted and cut again; LUNA
        # leaves the list (Binance counts it at 0.1).
        stack.fake.rates.update(ICP="0.4500", SOL="0.7000")
        del stack.fake.rates["LUNA"]
        await paged(stack, "default", "ICP", "0.4500", "warning")
        await paged(stack, "default", "SOL", "0.7000", "warning")
        await paged(stack, "pager", "LUNA", "0.1000", "critical")
        stack.fake.rates.update(ICP="0.3000", SOL="0.8000")
        await paged(stack, "pager", "ICP", "0.3000", "critical")
        await resolved(stack, "default", "SOL", "0.7000")
        stack.fake.rates["SOL"] = "0.7000"
        await paged(stack, "default", "SOL", "0.7000", "warning", times=2)
        # The 0.60 leaves the window, then the 0.45: ICP's drop ends, still critical.
        await resolved(stack, "pager", "ICP", "0.3000")

        # ADA cut while the exporter is away for longer than the window.
        await stack.stop("exporter-0")
        stack.fake.rates["ADA"] = "0.6000"
        await asyncio.sleep(WINDOW + 5)
        await stack.start_exporter(0)
        await paged(stack, "default", "ADA", "0.6000", "warning")

        # DOT cut while Prometheus is away for longer than the window.
        await stack.stop("prometheus-0")
        stack.fake.rates["DOT"] = "0.6000"
        await asyncio.sleep(WINDOW + 5)
        await stack.start_prometheus(0)
        await paged(stack, "default", "DOT", "0.6000", "warning")
        await settle(stack, 2)

        # Exactly one page per drop: no third page for ICP, a second one for SOL's new cut.
        assert firing_episodes(stack.webhook) == {
            ("default", "ICP", "0.4500", "warning"): 1,
            ("pager", "ICP", "0.3000", "critical"): 1,
            ("default", "SOL", "0.7000", "warning"): 2,
            ("pager", "LUNA", "0.1000", "critical"): 1,
            ("default", "ADA", "0.6000", "warning"): 1,
            ("default", "DOT", "0.6000", "warning"): 1,
        }
        summaries = {
            alert["labels"]["asset"]: alert["annotations"]["summary"]
            for _, alert in stack.webhook.alerts(DROP_ALERT, "firing")
            if alert["labels"]["asset"] in {"ADA", "DOT", "LUNA"}
        }
        assert summaries == {
            "ADA": "ADA collateral rate dropped from 0.7000 to 0.6000",
            "DOT": "DOT collateral rate dropped from 0.7000 to 0.6000",
            "LUNA": "LUNA collateral rate dropped from 0.5000 to 0.1000",
        }
