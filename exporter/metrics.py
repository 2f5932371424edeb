"""Every metric the exporter publishes, built fresh from the gates' snapshots and counters.

Names, HELP texts and labels live here and nowhere else."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterator
from typing import Any

from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from exporter import __version__
from exporter.clock import ServerClock
from exporter.faults import Reason
from exporter.gate import IpBudget, RefreshGate
from exporter.parse import ParsedRates
from exporter.parse_tiers import ParsedTiers

PREFIX = "binance_pm"


class ExporterCollector(Collector):
    """A prometheus_client collector over the refresh gates. Its output changes only when
    `version()` changes, which lets the exposition be rendered once per version; that happens
    after an upstream request, or at `stale_at()`. The tiered (v2) families
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
    ) -> None:
        self._v1 = v1
        self._tiers = tiers
        self._clock = clock
        self._upstream_url = upstream_url
        self._budget = budget
        self._min_interval = min_interval
        self._max_stale = max_stale
        self._monotonic = monotonic

    def _gates(self) -> list[RefreshGate[Any]]:
        return [self._v1] if self._tiers is None else [self._v1, self._tiers]

    def version(self) -> Hashable:
        now = self._monotonic()
        gates = tuple(
            (gate.generation, gate.snapshot.fresh_payload(now, self._max_stale) is None)
            for gate in self._gates()
        )
        url = self._upstream_url() if self._upstream_url is not None else None
        return (gates, url)

    def stale_at(self) -> float:
        """The time.monotonic() at which the output changes with no upstream request: the
        rates of an endpoint reach --max-stale and are dropped. inf when none are exported."""
        now = self._monotonic()
        return min(gate.snapshot.stale_at(now, self._max_stale) for gate in self._gates())

    def collect(self) -> Iterator[Metric]:
        now = self._monotonic()
        yield from self._rates(now)
        if self._tiers is not None:
            yield from self._tiered_rates(self._tiers, now)
        yield from self._upstream()
        build = GaugeMetricFamily(
            f"{PREFIX}_exporter_build_info",
            "Version of binance-pm-exporter; always 1.",
            labels=["version"],
        )
        build.add_metric([__version__], 1.0)
        yield build

    def _rates(self, now: float) -> Iterator[Metric]:
        snapshot = self._v1.snapshot
        rate = GaugeMetricFamily(
            f"{PREFIX}_collateral_rate",
            "Binance Portfolio Margin collateral rate of the asset (0..1): the share of its value "
            f"that counts as margin. Values may be up to {self._min_interval:g}s "
            "(--min-interval) old.",
            labels=["asset"],
        )
        fresh = snapshot.fresh_payload(now, self._max_stale)
        if fresh is not None:
            for asset, value in fresh.rates.items():
                rate.add_metric([asset], value)
        yield rate
        assets = GaugeMetricFamily(
            f"{PREFIX}_collateral_assets", "Number of assets in the last good response."
        )
        assets.add_metric([], float(len(snapshot.payload.rates)) if snapshot.payload else 0.0)
        yield assets
        up = GaugeMetricFamily(f"{PREFIX}_up", "1 if the last upstream request succeeded, else 0.")
        up.add_metric([], 1.0 if snapshot.up else 0.0)
        yield up
        if snapshot.last_success is not None:
            yield GaugeMetricFamily(
                f"{PREFIX}_last_success_timestamp_seconds",
                "Unix time of the last good upstream response.",
                value=snapshot.last_success,
            )

    def _tiered_rates(self, gate: RefreshGate[ParsedTiers], now: float) -> Iterator[Metric]:
        snapshot = gate.snapshot
        labels = ["asset", "tier"]
        rate = GaugeMetricFamily(
            f"{PREFIX}_tiered_collateral_rate",
            "Binance Portfolio Margin Pro tiered collateral rate (0..1) of the part of the "
            "asset's value between the tier's floor and cap; tier 1 has the lowest floor. "
            f"Values may be up to {self._min_interval:g}s (--min-interval) old.",
            labels=labels,
        )
        floor = GaugeMetricFamily(
            f"{PREFIX}_tiered_collateral_floor_usd",
            "Lower bound of the collateral rate tier, in USD of the asset's value.",
            labels=labels,
        )
        cap = GaugeMetricFamily(
            f"{PREFIX}_tiered_collateral_cap_usd",
            "Upper bound of the collateral rate tier, in USD; Binance marks the top tier's "
            "missing cap as 99999999999.",
            labels=labels,
        )
        fresh = snapshot.fresh_payload(now, self._max_stale)
        if fresh is not None:
            for asset, tiers in fresh.tiers.items():
                for number, tier in tiers.items():
                    rate.add_metric([asset, number], tier.rate)
                    floor.add_metric([asset, number], tier.floor_usd)
                    cap.add_metric([asset, number], tier.cap_usd)
        yield from (rate, floor, cap)
        assets = GaugeMetricFamily(
            f"{PREFIX}_tiered_collateral_assets",
            "Number of assets with at least one valid tier in the last good tiered response.",
        )
        assets.add_metric([], float(len(snapshot.payload.tiers)) if snapshot.payload else 0.0)
        yield assets
        up = GaugeMetricFamily(
            f"{PREFIX}_tiered_up", "1 if the last tiered (v2) request succeeded, else 0."
        )
        up.add_metric([], 1.0 if snapshot.up else 0.0)
        yield up
        if snapshot.last_success is not None:
            yield GaugeMetricFamily(
                f"{PREFIX}_tiered_last_success_timestamp_seconds",
                "Unix time of the last good tiered (v2) response.",
                value=snapshot.last_success,
            )
        if self._clock is not None and self._clock.learned:
            yield GaugeMetricFamily(
                f"{PREFIX}_server_time_offset_seconds",
                "Binance's clock minus the local clock, as last learned from /api/v3/time; "
                "signed requests are timestamped with it.",
                value=self._clock.offset_ms / 1000.0,
            )

    def _upstream(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            f"{PREFIX}_upstream_requests",
            "Requests sent to the Binance API, by endpoint.",
            labels=["endpoint"],
        )
        errors = CounterMetricFamily(
            f"{PREFIX}_upstream_errors",
            "Failed requests to the Binance API, by endpoint and reason.",
            labels=["endpoint", "reason"],
        )
        invalid = CounterMetricFamily(
            f"{PREFIX}_invalid_entries",
            "Response entries skipped as invalid, by endpoint.",
            labels=["endpoint"],
        )
        latency = HistogramMetricFamily(
            f"{PREFIX}_upstream_request_duration_seconds",
            "Duration of requests to the Binance API, by endpoint.",
            labels=["endpoint"],
        )
        for gate in self._gates():
            stats = gate.stats
            requests.add_metric([gate.name], float(stats.requests))
            for reason in Reason:
                errors.add_metric([gate.name, reason.value], float(stats.errors[reason]))
            invalid.add_metric([gate.name], float(stats.invalid_entries))
            latency.add_metric(
                [gate.name],
                [(le, float(count)) for le, count in stats.latency.cumulative()],
                sum_value=stats.latency.total,
            )
        yield from (requests, errors, invalid, latency)
        if self._upstream_url is not None:
            host = InfoMetricFamily(
                f"{PREFIX}_upstream_host",
                "The base URL requests go to now; it moves to the next --api-base-url after a "
                "timeout, connection error or 5xx.",
                labels=["url"],
            )
            host.add_metric([self._upstream_url()], {})
            yield host
        if self._budget.used_weight is not None:
            yield GaugeMetricFamily(
                f"{PREFIX}_upstream_used_weight_1m",
                "Last X-SAPI-USED-IP-WEIGHT-1M seen: request weight this IP used in the current "
                "minute (Binance's limit: 12000).",
                value=float(self._budget.used_weight),
            )
