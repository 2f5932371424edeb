"""A cached scrape asks neither the gates nor the collector, yet never serves anything older
than what the exporter knows: it goes through the gates again when a request falls due, while
one is in flight, and when the last good rates reach --max-stale."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable

import pytest

from tests.conftest import StartExporter, rates_of
from tests.fake_binance import FakeBinance, Reply


async def test_cached_scrapes_do_not_ask_the_collector(
    start_exporter: StartExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    running = await start_exporter("--min-interval", "60")
    collector = running.exporter.collector
    real_version = collector.version
    asked: list[Hashable] = []

    def counted_version() -> Hashable:
        asked.append(real_version())
        return asked[-1]

    monkeypatch.setattr(collector, "version", counted_version)
    await running.scrape()
    assert len(asked) == 1, "the first scrape fetched and looked at the collector once"
    for _ in range(200):
        assert rates_of(await running.samples()) == {"BTC": 0.95, "USDT": 1.0}
    assert len(asked) == 1, "cached scrapes are served without asking the collector"


async def test_settled_until_the_next_request_is_allowed(
    fake: FakeBinance, start_exporter: StartExporter
) -> None:
    running = await start_exporter("--min-interval", "0.5")
    assert not running.exporter.is_settled(), "nothing fetched yet"
    await running.scrape()
    assert running.exporter.is_settled()
    await asyncio.sleep(0.6)
    assert not running.exporter.is_settled()
    fake.rates["BTC"] = "0.5000"
    assert rates_of(await running.samples())["BTC"] == 0.5
    assert fake.count() == 2


async def test_never_settled_while_a_request_is_in_flight(
    fake: FakeBinance, start_exporter: StartExporter
) -> None:
    running = await start_exporter("--min-interval", "60", "--timeout", "5")
    fake.enqueue(Reply(delay=0.5))
    await running.scrape(**{"X-Prometheus-Scrape-Timeout-Seconds": "0.1"})
    assert not running.exporter.is_settled(), "the request outlived its scrape"
    await asyncio.sleep(0.6)
    assert rates_of(await running.samples()) == {"BTC": 0.95, "USDT": 1.0}
    assert running.exporter.is_settled()
    assert fake.count() == 1


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
