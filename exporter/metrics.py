"""Every metric the exporter publishes: names, HELP texts and labels are defined here and nowhere
else, and the collector builds the families fresh from the gates' snapshots and counters, one
piece per family group: rates, tiers, upstream health."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

from exporter import __version__
from exporter.gate import RefreshGate
from exporter.margin import Product, RateSchedule, account_margin, schedule_of
from exporter.upstream.budget import IP_WEIGHT_LIMIT, IpBudget
from exporter.upstream.clock import ServerClock
from exporter.upstream.faults import Reason
from exporter.upstream.parse import ParsedRates
from exporter.upstream.parse_account import (
    ACCOUNT_STATUSES,
    AccountSummary,
    ParsedBalances,
    ParsedPrices,
)
from exporter.upstream.parse_tiers import ParsedTiers

PREFIX = "binance_pm"


@dataclass(frozen=True)
class Family:
    """A metric family's name (without the prefix, and without `_total` for counters), its HELP
    text (may hold `{min_interval}`), and its label names."""

    name: str
    help: str
    labels: tuple[str, ...] = ()

    @property
    def full_name(self) -> str:
        return f"{PREFIX}_{self.name}"

    def _help(self, min_interval: float) -> str:
        return self.help.format(min_interval=min_interval)

    def gauge(self, min_interval: float = 0.0) -> GaugeMetricFamily:
        return GaugeMetricFamily(self.full_name, self._help(min_interval), labels=self.labels)

    def gauge_value(self, value: float) -> GaugeMetricFamily:
        return GaugeMetricFamily(self.full_name, self.help, value=value)

    def counter(self) -> CounterMetricFamily:
        return CounterMetricFamily(self.full_name, self.help, labels=self.labels)

    def histogram(self) -> HistogramMetricFamily:
        return HistogramMetricFamily(self.full_name, self.help, labels=self.labels)

    def info(self) -> InfoMetricFamily:
        return InfoMetricFamily(self.full_name, self.help, labels=self.labels)


AGE = "Values may be up to {min_interval:g}s (--min-interval) old."
TIER = ("asset", "tier")

COLLATERAL_RATE = Family(
    "collateral_rate",
    "Binance Portfolio Margin collateral rate of the asset (0..1): the share of its value that "
    f"counts as margin. {AGE}",
    ("asset",),
)
COLLATERAL_ASSETS = Family("collateral_assets", "Number of assets in the last good response.")
UP = Family("up", "1 if the last upstream request succeeded, else 0.")
LAST_SUCCESS = Family(
    "last_success_timestamp_seconds", "Unix time of the last good upstream response."
)

TIERED_RATE = Family(
    "tiered_collateral_rate",
    "Binance Portfolio Margin Pro tiered collateral rate (0..1) of the part of the asset's value "
    f"between the tier's floor and cap; tier 1 has the lowest floor. {AGE}",
    TIER,
)
TIERED_FLOOR = Family(
    "tiered_collateral_floor_usd",
    "Lower bound of the collateral rate tier, in USD of the asset's value.",
    TIER,
)
TIERED_CAP = Family(
    "tiered_collateral_cap_usd",
    "Upper bound of the collateral rate tier, in USD; Binance marks the top tier's missing cap "
    "as 99999999999.",
    TIER,
)
TIERED_ASSETS = Family(
    "tiered_collateral_assets",
    "Number of assets with at least one valid tier in the last good tiered response.",
)
TIERED_UP = Family("tiered_up", "1 if the last tiered (v2) request succeeded, else 0.")
TIERED_LAST_SUCCESS = Family(
    "tiered_last_success_timestamp_seconds", "Unix time of the last good tiered (v2) response."
)
SERVER_TIME_OFFSET = Family(
    "server_time_offset_seconds",
    "Binance's clock minus the local clock, as last learned from /api/v3/time; signed requests "
    "are timestamped with it.",
)

UPSTREAM_REQUESTS = Family(
    "upstream_requests",
    "Requests sent to the Binance API, by endpoint (v1, v2; time: /api/v3/time, asked before "
    "signed requests; account, balance, index_price, papi_account, papi_balance: the Portfolio "
    "Margin accounts, with `account` where per account).",
    ("endpoint",),
)
UPSTREAM_ERRORS = Family(
    "upstream_errors",
    "Failed requests to the Binance API, by endpoint (v1, v2, time and the account endpoints) "
    "and reason.",
    ("endpoint", "reason"),
)
CLOCK_ENDPOINT = "time"
INVALID_ENTRIES = Family(
    "invalid_entries", "Response entries skipped as invalid, by endpoint.", ("endpoint",)
)
UPSTREAM_DURATION = Family(
    "upstream_request_duration_seconds",
    "Duration of requests to the Binance API, by endpoint.",
    ("endpoint",),
)
UPSTREAM_HOST = Family(
    "upstream_host",
    "The base URL requests go to now; it moves to the next --api-base-url after a timeout, "
    "connection error or 5xx.",
    ("url",),
)
USED_WEIGHT = Family(
    "upstream_used_weight_1m",
    "Last X-SAPI-USED-IP-WEIGHT-1M seen: request weight this IP used in the current minute "
    f"(Binance's limit: {IP_WEIGHT_LIMIT}).",
)
BUILD_INFO = Family(
    "exporter_build_info", "Version of binance-pm-exporter; always 1.", ("version",)
)
EXPOSITION_ERRORS = Family(
    "exposition_errors",
    "Failures to build the /metrics exposition (a bug); the last good one was served instead.",
)


ACCOUNT = ("account",)
ACCOUNT_ASSET = ("account", "asset")
ACCOUNT_UP = Family(
    "account_up", "1 if the account's last account and balance requests succeeded, else 0.", ACCOUNT
)
ACCOUNT_INFO = Family(
    "account",
    "The watched account: its product (pm_pro, pm) and Binance's account type; always 1.",
    ("account", "product", "account_type"),
)
ACCOUNT_UNI_MMR = Family(
    "account_uni_mmr",
    "Binance's uniMMR of the account (equity / maintenance margin), as reported.",
    ACCOUNT,
)
ACCOUNT_EQUITY = Family(
    "account_equity_usd",
    "accountEquity: the account's equity after collateral rates, USD.",
    ACCOUNT,
)
ACCOUNT_ACTUAL_EQUITY = Family(
    "account_actual_equity_usd",
    "actualEquity: the account's equity before collateral rates, USD.",
    ACCOUNT,
)
ACCOUNT_MAINTENANCE_MARGIN = Family(
    "account_maintenance_margin_usd", "accountMaintMargin: the maintenance margin, USD.", ACCOUNT
)
ACCOUNT_STATUS = Family(
    "account_status",
    "1 for Binance's current accountStatus of the account, 0 for each other documented status.",
    ("account", "status"),
)
ACCOUNT_ASSET_BALANCE = Family(
    "account_asset_balance",
    "Net balance of a held asset in its own units: margin asset - borrowed - interest + UM and "
    "CM wallet balances and unrealized PnL.",
    ACCOUNT_ASSET,
)
ASSET_INDEX_PRICE = Family(
    "asset_index_price_usd",
    "Binance's Portfolio Margin index price of the asset, USD; for assets some account holds.",
    ("asset",),
)
ACCOUNT_ASSET_VALUE = Family(
    "account_asset_value_usd",
    "Net balance x index price of a held asset, USD (negative for a liability).",
    ACCOUNT_ASSET,
)
ACCOUNT_ASSET_COLLATERAL_VALUE = Family(
    "account_asset_collateral_value_usd",
    "What the held asset adds to accountEquity under today's collateral rate (flat, or tiered "
    "for Portfolio Margin Pro), USD.",
    ACCOUNT_ASSET,
)
ACCOUNT_EQUITY_RESIDUAL = Family(
    "account_equity_residual_usd",
    "accountEquity minus the sum of the account's collateral values: how far the exporter's "
    "model is from Binance's figure, USD.",
    ACCOUNT,
)


@dataclass(frozen=True)
class AccountGates:
    """One watched account: its name, product and the gates of its two requests."""

    name: str
    product: Product
    summary: RefreshGate[AccountSummary]
    balances: RefreshGate[ParsedBalances]


UNKNOWN_ACCOUNT_TYPE = {Product.PM: "PM_2"}  # /papi/v1/account names no accountType


class AccountFamilies:
    """The accounts: Binance's figures as reported, and the margin model's per-asset values
    from the balances, the index prices and the rates in force (all fresh within --max-stale)."""

    def __init__(
        self,
        accounts: Sequence[AccountGates],
        prices: RefreshGate[ParsedPrices],
        v1: RefreshGate[ParsedRates],
        tiers: RefreshGate[ParsedTiers] | None,
        max_stale: float,
    ) -> None:
        self._accounts = tuple(accounts)
        self._prices = prices
        self._v1 = v1
        self._tiers = tiers
        self._max_stale = max_stale
        self._schedule_of: tuple[object, object, RateSchedule] | None = None

    def _schedule(self, now: float) -> RateSchedule:
        v1 = self._v1.snapshot.fresh_payload(now, self._max_stale)
        v2 = self._tiers.snapshot.fresh_payload(now, self._max_stale) if self._tiers else None
        cached = self._schedule_of
        if cached is None or cached[0] is not v1 or cached[1] is not v2:
            schedule = schedule_of(v1.rates if v1 else None, v2.tiers if v2 else None)
            cached = self._schedule_of = (v1, v2, schedule)
        return cached[2]

    def collect(self, now: float) -> Iterator[Metric]:
        up, info = ACCOUNT_UP.gauge(), ACCOUNT_INFO.info()
        uni_mmr, equity = ACCOUNT_UNI_MMR.gauge(), ACCOUNT_EQUITY.gauge()
        actual, maintenance = ACCOUNT_ACTUAL_EQUITY.gauge(), ACCOUNT_MAINTENANCE_MARGIN.gauge()
        status, residual = ACCOUNT_STATUS.gauge(), ACCOUNT_EQUITY_RESIDUAL.gauge()
        balance, value = ACCOUNT_ASSET_BALANCE.gauge(), ACCOUNT_ASSET_VALUE.gauge()
        collateral, index_price = ACCOUNT_ASSET_COLLATERAL_VALUE.gauge(), ASSET_INDEX_PRICE.gauge()
        schedule = self._schedule(now)
        fresh_prices = self._prices.snapshot.fresh_payload(now, self._max_stale)
        prices = fresh_prices.prices if fresh_prices is not None else None
        held_prices: dict[str, float] = {}
        for account in self._accounts:
            name = account.name
            both_up = account.summary.snapshot.up and account.balances.snapshot.up
            up.add_metric([name], 1.0 if both_up else 0.0)
            summary = account.summary.snapshot.fresh_payload(now, self._max_stale)
            if summary is not None:
                kind = summary.account_type or UNKNOWN_ACCOUNT_TYPE.get(account.product, "")
                info.add_metric([name, account.product.value, kind], {})
                for family, figure in (
                    (uni_mmr, summary.uni_mmr),
                    (equity, summary.equity_usd),
                    (actual, summary.actual_equity_usd),
                    (maintenance, summary.maintenance_margin_usd),
                ):
                    if figure is not None:
                        family.add_metric([name], figure)
                for known in ACCOUNT_STATUSES:
                    status.add_metric([name, known], 1.0 if summary.status == known else 0.0)
                if summary.status is not None and summary.status not in ACCOUNT_STATUSES:
                    status.add_metric([name, summary.status], 1.0)
            balances = account.balances.snapshot.fresh_payload(now, self._max_stale)
            if balances is None:
                continue
            margin = account_margin(
                account.product,
                balances.balances,
                prices,
                schedule,
                summary.equity_usd if summary is not None else None,
            )
            for row in margin.assets:
                balance.add_metric([name, row.asset], row.balance)
                if row.price_usd is not None:
                    held_prices[row.asset] = row.price_usd
                if row.value_usd is not None:
                    value.add_metric([name, row.asset], row.value_usd)
                if row.collateral_value_usd is not None:
                    collateral.add_metric([name, row.asset], row.collateral_value_usd)
            if margin.residual_usd is not None:
                residual.add_metric([name], margin.residual_usd)
        for asset in sorted(held_prices):
            index_price.add_metric([asset], held_prices[asset])
        yield from (up, info, uni_mmr, equity, actual, maintenance, status)
        yield from (balance, index_price, value, collateral, residual)


class RateFamilies:
    """The v1 collateral rates and whether they are current."""

    def __init__(self, gate: RefreshGate[ParsedRates], min_interval: float, max_stale: float):
        self._gate = gate
        self._min_interval = min_interval
        self._max_stale = max_stale

    def collect(self, now: float) -> Iterator[Metric]:
        snapshot = self._gate.snapshot
        rate = COLLATERAL_RATE.gauge(self._min_interval)
        fresh = snapshot.fresh_payload(now, self._max_stale)
        if fresh is not None:
            for asset, value in fresh.rates.items():
                rate.add_metric([asset], value)
        yield rate
        assets = COLLATERAL_ASSETS.gauge()
        assets.add_metric([], float(len(snapshot.payload.rates)) if snapshot.payload else 0.0)
        yield assets
        up = UP.gauge()
        up.add_metric([], 1.0 if snapshot.up else 0.0)
        yield up
        if snapshot.last_success is not None:
            yield LAST_SUCCESS.gauge_value(snapshot.last_success)


class TierFamilies:
    """The v2 tiers (rate, floor, cap per asset and tier), their health and Binance's clock."""

    def __init__(
        self,
        gate: RefreshGate[ParsedTiers],
        clock: ServerClock | None,
        min_interval: float,
        max_stale: float,
    ):
        self._gate = gate
        self._clock = clock
        self._min_interval = min_interval
        self._max_stale = max_stale

    def collect(self, now: float) -> Iterator[Metric]:
        snapshot = self._gate.snapshot
        rate = TIERED_RATE.gauge(self._min_interval)
        floor, cap = TIERED_FLOOR.gauge(), TIERED_CAP.gauge()
        fresh = snapshot.fresh_payload(now, self._max_stale)
        if fresh is not None:
            for asset, tiers in fresh.tiers.items():
                for number, tier in tiers.items():
                    rate.add_metric([asset, number], tier.rate)
                    floor.add_metric([asset, number], tier.floor_usd)
                    cap.add_metric([asset, number], tier.cap_usd)
        yield from (rate, floor, cap)
        assets = TIERED_ASSETS.gauge()
        assets.add_metric([], float(len(snapshot.payload.tiers)) if snapshot.payload else 0.0)
        yield assets
        up = TIERED_UP.gauge()
        up.add_metric([], 1.0 if snapshot.up else 0.0)
        yield up
        if snapshot.last_success is not None:
            yield TIERED_LAST_SUCCESS.gauge_value(snapshot.last_success)
        if self._clock is not None and self._clock.learned:
            yield SERVER_TIME_OFFSET.gauge_value(self._clock.offset_ms / 1000.0)


def endpoint_labels(gate: RefreshGate[Any]) -> dict[str, str]:
    """`endpoint`, and `account` for the requests of one account."""
    if gate.account is None:
        return {"endpoint": gate.name}
    return {"endpoint": gate.name, "account": gate.account}


class UpstreamHealthFamilies:
    """Per-endpoint requests, errors, invalid entries and latency; the current host; the IP's
    used request weight."""

    def __init__(
        self,
        gates: Iterable[RefreshGate[Any]],
        budget: IpBudget,
        upstream_url: Callable[[], str] | None,
        clock: ServerClock | None = None,
    ):
        self._gates = tuple(gates)
        self._budget = budget
        self._upstream_url = upstream_url
        self._clock = clock

    def collect(self) -> Iterator[Metric]:
        requests, errors = UPSTREAM_REQUESTS.counter(), UPSTREAM_ERRORS.counter()
        invalid, latency = INVALID_ENTRIES.counter(), UPSTREAM_DURATION.histogram()
        for gate in self._gates:
            stats = gate.stats
            labels = endpoint_labels(gate)
            requests.samples.append(Sample(requests.name + "_total", labels, float(stats.requests)))
            for reason in Reason:
                errors.samples.append(
                    Sample(
                        errors.name + "_total",
                        {**labels, "reason": reason.value},
                        float(stats.errors[reason]),
                    )
                )
            invalid.samples.append(
                Sample(invalid.name + "_total", labels, float(stats.invalid_entries))
            )
            buckets = stats.latency.cumulative()
            for le, count in buckets:
                latency.samples.append(
                    Sample(latency.name + "_bucket", {**labels, "le": le}, float(count))
                )
            latency.samples.append(Sample(latency.name + "_count", labels, float(buckets[-1][1])))
            latency.samples.append(Sample(latency.name + "_sum", labels, stats.latency.total))
        if self._clock is not None:
            requests.add_metric([CLOCK_ENDPOINT], float(self._clock.requests))
            for reason in Reason:
                errors.add_metric([CLOCK_ENDPOINT, reason.value], float(self._clock.errors[reason]))
        yield from (requests, errors, invalid, latency)
        if self._upstream_url is not None:
            host = UPSTREAM_HOST.info()
            host.add_metric([self._upstream_url()], {})
            yield host
        if self._budget.used_weight is not None:
            yield USED_WEIGHT.gauge_value(float(self._budget.used_weight))


class ExporterCollector(Collector):
    """A prometheus_client collector over the refresh gates. Its output changes only when
    `version()` changes, which lets the exposition be rendered once per version; that happens
    after an upstream request, or when a payload reaches --max-stale. The tiered (v2) families
    exist only when a `tiers` gate is given, i.e. when an API secret is set."""

    def __init__(
        self,
        v1: RefreshGate[ParsedRates],
        budget: IpBudget,
        *,
        min_interval: float,
        max_stale: float,
        monotonic: Callable[[], float] = time.monotonic,
        tiers: RefreshGate[ParsedTiers] | None = None,
        clock: ServerClock | None = None,
        upstream_url: Callable[[], str] | None = None,
        accounts: Sequence[AccountGates] = (),
        prices: RefreshGate[ParsedPrices] | None = None,
    ) -> None:
        self._gates: tuple[RefreshGate[Any], ...] = (v1,) if tiers is None else (v1, tiers)
        self._accounts = None
        if prices is not None:
            self._accounts = AccountFamilies(accounts, prices, v1, tiers, max_stale)
            self._gates += (prices,)
            for account in accounts:
                self._gates += (account.summary, account.balances)
        self._max_stale = max_stale
        self._monotonic = monotonic
        self._upstream_url = upstream_url
        self._rates = RateFamilies(v1, min_interval, max_stale)
        self._tiers = None if tiers is None else TierFamilies(tiers, clock, min_interval, max_stale)
        self._clock = clock
        self._health = UpstreamHealthFamilies(self._gates, budget, upstream_url, clock)

    def version(self) -> Hashable:
        now = self._monotonic()
        gates = tuple(
            (gate.generation, gate.snapshot.fresh_payload(now, self._max_stale) is None)
            for gate in self._gates
        )
        url = self._upstream_url() if self._upstream_url is not None else None
        return (gates, url)

    def collect(self) -> Iterator[Metric]:
        now = self._monotonic()
        yield from self._rates.collect(now)
        if self._tiers is not None:
            yield from self._tiers.collect(now)
        elif self._clock is not None and self._clock.learned:  # signed account requests only
            yield SERVER_TIME_OFFSET.gauge_value(self._clock.offset_ms / 1000.0)
        if self._accounts is not None:
            yield from self._accounts.collect(now)
        yield from self._health.collect()
        build = BUILD_INFO.gauge()
        build.add_metric([__version__], 1.0)
        yield build


class ExpositionErrorsCollector(Collector):
    """The exposition's own health: how often building it failed."""

    def __init__(self, errors: Callable[[], int]) -> None:
        self._errors = errors

    def collect(self) -> Iterator[Metric]:
        errors = EXPOSITION_ERRORS.counter()
        errors.add_metric([], float(self._errors()))
        yield errors


def process_collectors() -> tuple[Collector, ...]:
    """prometheus_client's process_* (memory, CPU, open and maximum file descriptors, start
    time) and python_info families, the counterparts of a Go exporter's process_* and go_*."""
    return (ProcessCollector(registry=None), PlatformCollector(registry=None))
