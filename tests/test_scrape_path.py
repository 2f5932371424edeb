"""A cached scrape asks neither the gates nor the collector, yet serves every change as soon as
there is one: it goes through the gates again when a request falls due, while one is in flight,
and when the last good rates reach --max-stale."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.exporter import SECRET, WITH_SECRET, StartExporter
from tests.support.fake_binance import V1_PATH, V2_PATH, FakeBinance, Reply
from tests.support.samples import rates_of


async def test_cached_scrapes_ask_neither_the_gates_nor_the_collector(
    fake: FakeBinance, start_exporter: StartExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.api_secret = SECRET
    running = await start_exporter("--min-interval", "60", env=WITH_SECRET)
    exporter = running.exporter
    asked: list[str] = []

    def counted(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            asked.append(name)
            return real(*args, **kwargs)

        return call

    for gate in exporter.gates:
        for method in ("in_flight", "is_due", "start", "next_request_at"):
            monkeypatch.setattr(gate, method, counted(method, getattr(gate, method)))
    for method in ("version", "collect"):
        monkeypatch.setattr(
            exporter.collector, method, counted(method, getattr(exporter.collector, method))
        )
    first = await running.scrape()
    assert {"in_flight", "start", "next_request_at", "version", "collect"} <= set(asked)
    asked.clear()
    for _ in range(200):
        assert await running.scrape() == first
    assert asked == [], "cached scrapes are served without asking the gates or the collector"
    assert (fake.count(V1_PATH), fake.count(V2_PATH)) == (1, 1)


async def test_settled_until_the_next_request_is_allowed(
    fake: FakeBinance, start_exporter: StartExporter
) -> None:
    running = await start_exporter("--min-interval", "0.5")
    assert not running.exporter.scrapes.cache_holds(), "nothing fetched yet"
    await running.scrape()
    assert running.exporter.scrapes.cache_holds()
    await asyncio.sleep(0.6)
    assert not running.exporter.scrapes.cache_holds()
    fake.rates["BTC"] = "0.5000"
    assert rates_of(await running.samples())["BTC"] == 0.5
    assert fake.count() == 2


async def test_never_settled_while_a_request_is_in_flight(
    fake: FakeBinance, start_exporter: StartExporter
) -> None:
    running = await start_exporter("--min-interval", "60", "--timeout", "5")
    fake.enqueue(Reply(delay=0.5))
    await running.scrape(**{"X-Prometheus-Scrape-Timeout-Seconds": "0.1"})
    assert not running.exporter.scrapes.cache_holds(), "the request outlived its scrape"
    await asyncio.sleep(0.6)
    assert rates_of(await running.samples()) == {"BTC": 0.95, "USDT": 1.0}
    assert running.exporter.scrapes.cache_holds()
    assert fake.count() == 1


@pytest.mark.slow
async def test_rates_drop_at_max_stale_while_no_request_is_allowed(
    fake: FakeBinance, start_exporter: StartExporter
) -> None:
    running = await start_exporter("--min-interval", "1", "--max-stale", "1.5")
    assert rates_of(await running.samples()) == {"BTC": 0.95, "USDT": 1.0}
    fake.always(Reply(status=500))
    await asyncio.sleep(1.05)
    samples = await running.samples()
    assert rates_of(samples) == {"BTC": 0.95, "USDT": 1.0}, "failed, but not stale yet"
    assert fake.count() == 2
    await asyncio.sleep(0.55)  # 1.6 s after the success; the next request only after 2.05 s
    samples = await running.samples()
    assert fake.count() == 2, "no request was allowed"
    assert rates_of(samples) == {}, "dropped at --max-stale all the same"
    assert samples[("binance_pm_up", ())] == 0.0


@pytest.mark.slow
async def test_a_result_that_lands_while_the_other_endpoint_closed_the_budget_is_served(
    fake: FakeBinance, start_exporter: StartExporter
) -> None:
    """v2's request is in flight when v1's 429 closes the IP budget for 30 s: v2's outcome must
    reach the next scrape, not wait for the budget to open."""
    fake.api_secret = SECRET
    running = await start_exporter("--min-interval", "1", env=WITH_SECRET)
    samples = await running.samples()
    assert samples[("binance_pm_tiered_up", ())] == 1.0
    await asyncio.sleep(1.05)
    fake.enqueue(Reply(status=429, headers={"Retry-After": "30"}), path=V1_PATH)
    fake.enqueue(Reply(status=500, delay=0.5), path=V2_PATH)
    samples = await running.samples(**{"X-Prometheus-Scrape-Timeout-Seconds": "0.25"})
    assert samples[("binance_pm_up", ())] == 0.0
    assert samples[("binance_pm_tiered_up", ())] == 1.0, "v2's request is still in flight"
    await asyncio.sleep(0.8)
    samples = await running.samples()
    assert samples[("binance_pm_tiered_up", ())] == 0.0, "v2's failure, as soon as it landed"
    assert (fake.count(V1_PATH), fake.count(V2_PATH)) == (2, 2)
