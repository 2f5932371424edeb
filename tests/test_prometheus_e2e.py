"""End to end on loopback: a real Prometheus scrapes the real exporter, fed by the fake Binance,
with the shipped alert rules; the dashboard's queries run through Prometheus' HTTP API."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
import yaml

from tests.support.dashboard_queries import (
    ACCOUNT_METRICS,
    TIER_ROW,
    TIERED_METRICS,
    Query,
    annotation_queries,
    iter_panels,
    load_dashboard,
    metric_names,
    panel_queries,
    parse_label_values,
    queries_of_panels,
    query_variables,
    regex_value,
    row_panels,
    substitute,
    variable_query,
)
from tests.support.fake_binance import NO_CAP, TIME_PATH, V2_PATH, FakeBinance, tier
from tests.support.monitoring_stack import (
    ALERTS,
    exporter_args,
    prometheus_config,
    start_exporter,
    start_prometheus,
    stop_process,
    timestamp,
    wait_for,
)
from tests.support.process import free_port
from tests.support.versions import ALL, Versions

pytestmark = pytest.mark.slow

RATES = {"BTC": "0.9500", "ETH": "0.9500", "USDT": "1.0000", "ICP": "0.6000"}
DROP_ALERT = "BinancePMCollateralRateDropped"
DISAPPEARED = "BinancePMCollateralAssetDisappeared"
TIER_DROP_ALERT = "BinancePMTieredCollateralRateDropped"
TIER_ALERTS = "BinancePMTiered.+"
API_SECRET = "e2e-test-secret"
TIERS = {
    "BTC": [
        tier("0.0000", "1000000.0000", "0.9500"),
        tier("1000000.0000", "5000000.0000", "0.9000", "50000.0000"),
        tier("5000000.0000", NO_CAP, "0.8000", "550000.0000"),
    ],
    "ICP": [
        tier("0.0000", "100000.0000", "0.6000"),
        tier("100000.0000", NO_CAP, "0.5000", "10000.0000"),
    ],
    "USDT": [tier("0.0000", NO_CAP, "1.0000")],
}
# With 1s scrape and evaluation intervals; Grafana's $__rate_interval is 4 scrape intervals.
BUILTINS = {"__range": "300s", "__rate_interval": "4s", "__interval": "1s"}

T = TypeVar("T")


def alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def recording_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))["groups"]
    return [rule for group in groups for rule in group["rules"] if "record" in rule]


@dataclass
class Stack:
    fake: FakeBinance
    session: aiohttp.ClientSession
    tmp_path: Path
    exporter_port: int
    prometheus_port: int
    versions: Versions
    api_secret_file: Path | None = None
    processes: dict[str, asyncio.subprocess.Process] = field(default_factory=dict)

    @property
    def instance(self) -> str:
        return f"127.0.0.1:{self.exporter_port}"

    @property
    def logs(self) -> str:
        parts = []
        for name in ("exporter.log", "prometheus/prometheus.log"):
            path = self.tmp_path / name
            if path.exists():
                tail = path.read_text(errors="replace")[-3000:]
                parts.append(f"--- {name} log ---\n{tail}")
        return "\n".join(parts)

    async def start_exporter(self) -> None:
        secret = ["--api-secret-file", str(self.api_secret_file)] if self.api_secret_file else []
        self.processes["exporter"] = await start_exporter(
            self.session,
            exporter_args(self.fake, self.instance, "--min-interval", "1", *secret),
            self.tmp_path / "exporter.log",
            self.instance,
        )

    async def stop_exporter(self) -> None:
        await stop_process(self.processes.pop("exporter"))

    async def start_prometheus(self) -> None:
        config = prometheus_config([self.instance], interval="1s")
        self.processes["prometheus"] = await start_prometheus(
            self.session, config, self.tmp_path / "prometheus", self.prometheus_port, self.versions
        )

    async def api(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        url = f"http://127.0.0.1:{self.prometheus_port}/api/v1/{path}"
        async with self.session.get(url, params=params) as response:
            body = await response.json()
        assert body["status"] == "success", f"{path} {params}: {body}"
        return body["data"]

    async def query(self, expr: str) -> list[dict[str, Any]]:
        data = await self.api("query", {"query": expr})
        assert data["resultType"] in {"vector", "scalar", "matrix"}, data
        result: list[dict[str, Any]] = data["result"]
        return [{"metric": {}, "value": result}] if data["resultType"] == "scalar" else result

    async def query_range(self, expr: str, seconds: float = 60) -> list[dict[str, Any]]:
        end = time.time()
        params = {"query": expr, "start": str(end - seconds), "end": str(end), "step": "1"}
        data = await self.api("query_range", params)
        assert data["resultType"] == "matrix", data
        result: list[dict[str, Any]] = data["result"]
        return result

    async def run(self, query: Query, values: Mapping[str, str]) -> list[dict[str, Any]]:
        expr = substitute(query.expr, values)
        return await (self.query(expr) if query.instant else self.query_range(expr))

    async def alerts(self) -> list[dict[str, Any]]:
        alerts: list[dict[str, Any]] = (await self.api("alerts"))["alerts"]
        return alerts

    async def scrapes_since(self, seconds: int) -> int:
        result = await self.query(f'count_over_time(up{{job="binance-pm"}}[{seconds}s])')
        return int(float(result[0]["value"][1])) if result else 0

    async def wait_for_evaluations(self, count: int) -> None:
        """Waits until every rule group has been evaluated `count` more times."""
        start = time.time()

        async def evaluated() -> bool:
            groups = (await self.api("rules"))["groups"]
            return all(timestamp(group["lastEvaluation"]) >= start + count - 1 for group in groups)

        await wait_for(evaluated, f"{count} more rule evaluations")


@asynccontextmanager
async def running_stack(
    tmp_path: Path, versions: Versions, *, tiered: bool
) -> AsyncIterator[Stack]:
    """Fake Binance, exporter and the Prometheus of `versions`, after five scrapes; with an API
    secret (the tiered v2 rates collected) when `tiered`."""
    fake = FakeBinance(RATES)
    fake.tiers = {asset: list(tiers) for asset, tiers in TIERS.items()}
    secret_file = None
    if tiered:
        fake.api_secret = API_SECRET
        secret_file = tmp_path / "api_secret"
        secret_file.write_text(API_SECRET)
    await fake.start()
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        running = Stack(fake, session, tmp_path, free_port(), free_port(), versions, secret_file)
        try:
            await running.start_exporter()
            await running.start_prometheus()
            tier_count = sum(len(tiers) for tiers in TIERS.values()) if tiered else 0

            async def rates_scraped() -> bool:
                series = await running.query("binance_pm_collateral_rate")
                tiers = await running.query("binance_pm_tiered_collateral_rate")
                return (
                    len(series) == len(RATES)
                    and len(tiers) == tier_count
                    and await running.scrapes_since(10) >= 5
                )

            await wait_for(rates_scraped, "five scrapes of the rates")
            yield running
        except BaseException:
            print(running.logs)
            raise
        finally:
            for process in list(running.processes.values()):
                await stop_process(process)
            await fake.stop()


@pytest.fixture(params=ALL, ids=[versions.name for versions in ALL])
def versions(request: pytest.FixtureRequest) -> Versions:
    chosen: Versions = request.param
    return chosen


@pytest.fixture
async def stack(tmp_path: Path, versions: Versions) -> AsyncIterator[Stack]:
    async with running_stack(tmp_path, versions, tiered=True) as running:
        yield running


@pytest.fixture
async def stack_without_secret(tmp_path: Path, versions: Versions) -> AsyncIterator[Stack]:
    async with running_stack(tmp_path, versions, tiered=False) as running:
        yield running


def assets_of(result: list[dict[str, Any]]) -> set[str]:
    return {series["metric"]["asset"] for series in result}


def value_of(series: dict[str, Any]) -> float:
    return float(series["value"][1])


def queries_of(title: str) -> list[Query]:
    return [q for q in panel_queries(load_dashboard()) if q.where.startswith(f"panel {title!r}")]


def tiers_of(result: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(s["metric"]["asset"], s["metric"]["tier"]) for s in result}


def by_tier(result: list[dict[str, Any]]) -> dict[tuple[str, str], float]:
    return {(s["metric"]["asset"], s["metric"]["tier"]): value_of(s) for s in result}


def expected_tiers(field: str, assets: set[str]) -> dict[tuple[str, str], float]:
    return {
        (asset, str(number)): float(t[field])
        for asset, tiers in TIERS.items()
        if asset in assets
        for number, t in enumerate(tiers, start=1)
    }


async def test_every_dashboard_query_and_alert_expression_runs(stack: Stack) -> None:
    dashboard = load_dashboard()
    all_values = {"job": ".+", "instance": ".+", "asset": ".+", "account": ".+", **BUILTINS}
    chosen = {
        "job": regex_value(["binance-pm"]),
        "instance": regex_value([stack.instance]),
        "asset": regex_value(["BTC", "ICP"]),
        "account": ".+",
        **BUILTINS,
    }

    # The variables' label_values() queries, as Grafana sends them.
    # No account is watched here: tests/test_accounts_e2e.py runs the accounts row with some.
    expected_values = {
        "job": ["binance-pm"],
        "instance": [stack.instance],
        "asset": sorted(RATES),
        "account": [],
    }
    for name, variable in query_variables(dashboard).items():
        selector, label = parse_label_values(variable_query(variable))
        params = {"match[]": substitute(selector, chosen)} if selector else {}
        values = await stack.api(f"label/{label}/values", params)
        assert sorted(values) == expected_values[name], name

    # Every panel and annotation query is accepted, with "All" and with a selection.
    results: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for label, values in (("all", all_values), ("chosen", chosen)):
        for query in panel_queries(dashboard) + annotation_queries(dashboard):
            results[(label, query.where)] = await stack.run(query, values)

    def result(label: str, title: str, ref: str = "A") -> list[dict[str, Any]]:
        return results[(label, f"panel {title!r} target {ref}")]

    for label in ("all", "chosen"):
        # The rate panels have data: every asset in the table, the chosen ones in the history.
        assert assets_of(result(label, "Current collateral rates")) == set(RATES)
        history = assets_of(result(label, "Collateral rate history"))
        assert history == (set(RATES) if label == "all" else {"BTC", "ICP"})
        # Nothing fell: the drops table is empty and its counter says 0.
        for ref in "ABCD":
            assert result(label, "Drops in the range", ref) == []
        assert [value_of(s) for s in result(label, "Assets that fell")] == [0]
        assert [value_of(s) for s in result(label, "Assets listed")] == [len(RATES)]
        assert [value_of(s) for s in result(label, "Binance API status")] == [1]
        (age,) = result(label, "Data age")
        assert 0 <= value_of(age) < 10
        for title in (
            "Binance API up",
            "Upstream requests per minute",
            "Upstream latency",
            "Binance IP weight used (budget 12,000/min)",
            "Age of the data",
            "Invalid entries skipped",
        ):
            assert result(label, title), f"{title} has no data"
        assert result(label, "Upstream errors by reason") == []

        # The tier row: every tier of the selected assets, with its bounds, no change.
        assets = set(TIERS) if label == "all" else {"BTC", "ICP"}
        rate, floor, cap, change = (result(label, "Collateral tiers", ref) for ref in "ABCD")
        assert by_tier(rate) == expected_tiers("collateralRate", assets)
        assert by_tier(floor) == expected_tiers("tierFloor", assets)
        assert by_tier(cap) == expected_tiers("tierCap", assets)
        assert by_tier(cap)[("BTC", "3")] == 99999999999
        assert by_tier(change) == {key: 0.0 for key in expected_tiers("tierCap", assets)}
        tier_history = tiers_of(result(label, "Tiered rate history"))
        assert tier_history == set(expected_tiers("tierCap", assets))
        assert [value_of(s) for s in result(label, "Tiered rates API")] == [1]
        assert [value_of(s) for s in result(label, "Assets with tiers")] == [len(TIERS)]
        (tier_age,) = result(label, "Tier data age")
        assert 0 <= value_of(tier_age) < 10
        (offset,) = result(label, "Clock offset")
        assert abs(value_of(offset)) < 1

    # Every metric name the dashboard and the rules use is one the exporter exports.
    exported = {
        series["metric"]["__name__"]
        for series in await stack.query('count by (__name__) ({__name__=~"binance_pm_.+"})')
    }
    used: set[str] = set()
    for query in panel_queries(dashboard) + annotation_queries(dashboard):
        used |= metric_names(query.expr)
    for rule in alert_rules():
        used |= metric_names(rule["expr"])
    assert used - ACCOUNT_METRICS <= exported, f"not exported: {used - exported}"

    # Every alert expression evaluates, in the API and in the rule manager.
    for rule in alert_rules() + recording_rules():
        await stack.query(rule["expr"])
    await stack.wait_for_evaluations(2)
    groups = (await stack.api("rules"))["groups"]
    evaluated = {rule["name"]: rule for group in groups for rule in group["rules"]}
    names = {rule["alert"] for rule in alert_rules()} | {r["record"] for r in recording_rules()}
    assert set(evaluated) == names
    for name, rule in evaluated.items():
        assert rule["health"] == "ok", f"{name}: {rule.get('lastError')}"
    assert [a for a in await stack.alerts() if a["state"] == "firing"] == []


async def test_drop_alert_names_the_asset_and_ignores_restart_and_rise(stack: Stack) -> None:
    # An exporter restart: every series goes stale, then comes back with the same values.
    await stack.stop_exporter()

    async def target_down() -> bool:
        return bool(await stack.query('up{job="binance-pm"} == 0'))

    await wait_for(target_down, "Prometheus to see the exporter down")
    await stack.start_exporter()

    async def rates_back() -> bool:
        up = await stack.query('up{job="binance-pm"} == 1')
        return bool(up) and len(await stack.query("binance_pm_collateral_rate")) == len(RATES)

    await wait_for(rates_back, "the rates to be scraped again")
    await stack.wait_for_evaluations(3)
    # ALERTS keeps every pending or firing moment: none during or after the restart.
    watched = f"{DROP_ALERT}|{DISAPPEARED}|{TIER_ALERTS}"
    seen = await stack.query(f'ALERTS{{alertname=~"{watched}"}}[5m]')
    assert seen == []

    # Binance lowers ICP and raises BTC; in the tiers, lowers BTC tier 2 and raises tier 3.
    staged = time.monotonic()
    stack.fake.rates["ICP"] = "0.4500"
    stack.fake.rates["BTC"] = "0.9700"
    btc = TIERS["BTC"]
    stack.fake.tiers["BTC"] = [
        btc[0],
        {**btc[1], "collateralRate": "0.8500"},
        {**btc[2], "collateralRate": "0.8200"},
    ]

    async def drop_firing() -> list[dict[str, Any]]:
        return [
            alert
            for alert in await stack.alerts()
            if alert["labels"]["alertname"] == DROP_ALERT and alert["state"] == "firing"
        ]

    (alert,) = await wait_for(drop_firing, "the drop alert to fire", timeout=60)
    assert time.monotonic() - staged < 60
    assert alert["labels"] == {
        "alertname": DROP_ALERT,
        "asset": "ICP",
        "job": "binance-pm",
        "dropped_to": "0.4500",
        "severity": "warning",
    }
    assert alert["annotations"]["summary"] == "ICP collateral rate dropped from 0.6000 to 0.4500"
    description = alert["annotations"]["description"]
    assert "of ICP from 0.6000" in description
    assert "to 0.4500" in description

    async def tier_drop_firing() -> list[dict[str, Any]]:
        return [
            alert
            for alert in await stack.alerts()
            if alert["labels"]["alertname"] == TIER_DROP_ALERT and alert["state"] == "firing"
        ]

    (tier_alert,) = await wait_for(tier_drop_firing, "the tier drop alert to fire", timeout=30)
    assert tier_alert["labels"] == {
        "alertname": TIER_DROP_ALERT,
        "asset": "BTC",
        "tier": "2",
        "job": "binance-pm",
        "dropped_to": "0.8500",
        "severity": "warning",
    }
    summary = tier_alert["annotations"]["summary"]
    assert summary == "BTC tier 2 collateral rate dropped from 0.9000 to 0.8500"
    description = tier_alert["annotations"]["description"]
    assert "of BTC tier 2 from 0.9000" in description
    assert "to 0.8500" in description
    assert "worth 1M USD to 5M USD" in description
    assert "changed in the last hour" not in description

    # A few evaluations later the rises (BTC, BTC tier 3) have fired nothing, not even for a
    # moment, and no tier bracket changed.
    await stack.wait_for_evaluations(2)
    seen = await stack.query(f'ALERTS{{alertname=~"{watched}"}}[5m]')
    assert {
        (s["metric"]["alertname"], s["metric"]["asset"], s["metric"].get("tier")) for s in seen
    } == {(DROP_ALERT, "ICP", None), (TIER_DROP_ALERT, "BTC", "2")}

    # The dashboard shows the drop: from what to what, and in the counters.
    values = {"job": ".+", "instance": ".+", "asset": ".+", **BUILTINS}
    columns = {}
    for query in queries_of("Drops in the range"):
        (row,) = await stack.run(query, values)
        assert row["metric"]["asset"] == "ICP"
        columns[query.where[-1]] = value_of(row)
    assert columns == pytest.approx({"A": 0.60, "B": 0.45, "C": -0.15, "D": -0.25})
    (fell,) = queries_of("Assets that fell")
    (icp,) = await stack.run(fell, values)
    assert icp["metric"] == {"asset": "ICP"}
    assert value_of(icp) == pytest.approx(-0.15)
    (table,) = queries_of("Current collateral rates")
    history = {s["metric"]["asset"]: s["values"] for s in await stack.run(table, values)}
    assert float(history["ICP"][0][1]) == 0.60
    assert float(history["ICP"][-1][1]) == 0.45
    assert float(history["BTC"][0][1]) == 0.95
    assert float(history["BTC"][-1][1]) == 0.97
    drops, tier_drops = annotation_queries(load_dashboard())
    assert assets_of(await stack.run(drops, values)) == {"ICP"}
    assert tiers_of(await stack.run(tier_drops, values)) == {("BTC", "2")}
    change = {q.where[-1]: q for q in queries_of("Collateral tiers")}["D"]
    changes = by_tier(await stack.run(change, values))
    assert changes.pop(("BTC", "2")) == pytest.approx(-0.05)
    assert set(changes.values()) == {0.0}
    (firing,) = queries_of("Firing alerts")
    firing_alerts = {
        (s["metric"]["alertname"], s["metric"].get("tier")) for s in await stack.run(firing, values)
    }
    assert {(DROP_ALERT, None), (TIER_DROP_ALERT, "2")} <= firing_alerts
    assert all(panel["title"] for panel in iter_panels(load_dashboard()))


async def test_without_an_api_secret_the_tier_row_is_empty_and_no_tier_alert_fires(
    stack_without_secret: Stack,
) -> None:
    stack = stack_without_secret
    # Nothing of v2 is requested or exported.
    assert stack.fake.count(V2_PATH) == 0
    assert stack.fake.count(TIME_PATH) == 0
    exported = await stack.query('{__name__=~"binance_pm_.+"}')
    assert {s["metric"]["__name__"] for s in exported} & TIERED_METRICS == set()

    # Every query of the tier row and the tier annotation is empty, with "All" and with a
    # selection, while the flat rates are there.
    dashboard = load_dashboard()
    tier_queries = queries_of_panels(row_panels(dashboard, TIER_ROW))
    tier_queries += [q for q in annotation_queries(dashboard) if TIER_DROP_ALERT in q.expr]
    assert len(tier_queries) >= 8
    all_values = {"job": ".+", "instance": ".+", "asset": ".+", "account": ".+", **BUILTINS}
    chosen = {**all_values, "instance": regex_value([stack.instance]), "asset": "BTC"}
    for values in (all_values, chosen):
        for query in tier_queries:
            assert await stack.run(query, values) == [], query.where
    (history,) = queries_of("Collateral rate history")
    assert assets_of(await stack.run(history, chosen)) == {"BTC"}

    # The rules evaluate without error, and none fires or is pending.
    await stack.wait_for_evaluations(2)
    groups = (await stack.api("rules"))["groups"]
    for group in groups:
        for rule in group["rules"]:
            assert rule["health"] == "ok", f"{rule['name']}: {rule.get('lastError')}"
    assert await stack.alerts() == []
    assert await stack.query(f'ALERTS{{alertname=~"{TIER_ALERTS}"}}[5m]') == []
