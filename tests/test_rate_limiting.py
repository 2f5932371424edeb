"""At most one upstream request per --min-interval, shared by concurrent scrapes; Retry-After,
backoff and the IP weight budget are obeyed."""

from __future__ import annotations

import asyncio
import time

import pytest

from exporter.gate import BACKOFF_CAP_SECONDS, BackoffPolicy
from tests.support.exporter import StartExporter
from tests.support.fake_binance import FakeBinance, Reply
from tests.support.samples import rates_of


async def test_scrapes_within_min_interval_are_served_from_the_last_fetch(
    fake: FakeBinance, start_exporter: StartExporter
) -> None:
    running = await start_exporter("--min-interval", "60")
    for _ in range(5):
        assert rates_of(await running.samples()) == {"BTC": 0.95, "USDT": 1.0}
    fake.rates["BTC"] = "0.5000"
    assert rates_of(await running.samples())["BTC"] == 0.95, "still the cached value"
    assert fake.count() == 1


async def test_min_interval_elapsed_fetches_again(
    fake: FakeBinance, start_exporter: StartExporter
) -> None:
    running = await start_exporter("--min-interval", "0.5")
    await running.scrape()
    fake.rates["BTC"] = "0.5000"
    await asyncio.sleep(0.6)
    assert rates_of(await running.samples())["BTC"] == 0.5
    assert fake.count() == 2


async def test_concurrent_scrapes_share_one_request(
    fake: FakeBinance, start_exporter: StartExporter
) -> None:
    running = await start_exporter("--min-interval", "60")
    fake.enqueue(Reply(delay=0.3))
    results = await asyncio.gather(*(running.samples() for _ in range(100)))
    assert fake.count() == 1
    assert all(rates_of(r) == {"BTC": 0.95, "USDT": 1.0} for r in results)


@pytest.mark.slow
async def test_scrape_that_gives_up_does_not_cancel_the_fetch(
    fake: FakeBinance, start_exporter: StartExporter
) -> None:
    running = await start_exporter("--min-interval", "60", "--timeout", "5")
    fake.enqueue(Reply(delay=1.0))
    samples = await running.samples(**{"X-Prometheus-Scrape-Timeout-Seconds": "0.3"})
    assert rates_of(samples) == {}
    assert samples[("binance_pm_up", ())] == 0.0
    await asyncio.sleep(1.0)
    samples = await running.samples()
    assert rates_of(samples) == {"BTC": 0.95, "USDT": 1.0}, "the fetch finished after all"
    assert fake.count() == 1


@pytest.mark.slow
async def test_retry_after_is_a_hard_floor(
    fake: FakeBinance, start_exporter: StartExporter
) -> None:
    running = await start_exporter("--min-interval", "0")
    fake.enqueue(Reply(status=429, headers={"Retry-After": "1"}))
    await running.scrape()
    for _ in range(10):
        await running.scrape()
    assert fake.count() == 1, "no request while Retry-After is in force"
    await asyncio.sleep(1.1)
    assert rates_of(await running.samples()) == {"BTC": 0.95, "USDT": 1.0}
    assert fake.count() == 2
    assert fake.requests[1].at - fake.requests[0].at >= 1.0


@pytest.mark.slow
@pytest.mark.parametrize("value", ["0000000001", "01", "0" * 400 + "1", "0000000001.0"])
async def test_retry_after_with_leading_zeros_is_the_seconds_it_says(
    fake: FakeBinance, start_exporter: StartExporter, value: str
) -> None:
    """RFC 9110 delay-seconds is 1*DIGIT: leading zeros do not make it large."""
    running = await start_exporter("--min-interval", "0")
    fake.enqueue(Reply(status=429, headers={"Retry-After": value}))
    await running.scrape()
    assert fake.count() == 1
    await asyncio.sleep(1.1)
    assert rates_of(await running.samples()) == {"BTC": 0.95, "USDT": 1.0}
    assert fake.count() == 2, "held one second, not the longest hold"


async def test_ip_ban_retry_after_is_obeyed(
    fake: FakeBinance, start_exporter: StartExporter
) -> None:
    running = await start_exporter("--min-interval", "0")
    fake.enqueue(Reply(status=418, headers={"Retry-After": "120"}))
    await running.scrape()
    for _ in range(5):
        await running.scrape()
    assert fake.count() == 1
    assert running.exporter.budget.not_before - time.monotonic() > 100


async def test_consecutive_failures_back_off(
    fake: FakeBinance, start_exporter: StartExporter
) -> None:
    running = await start_exporter("--min-interval", "0")
    fake.always(Reply(status=500))
    await running.scrape()  # failure 1: next allowed after --min-interval (0)
    await running.scrape()  # failure 2: backoff between 1 and 2 s
    for _ in range(5):
        await running.scrape()
    assert fake.count() == 2
    assert 0.9 <= running.exporter.v1.seconds_until_due() <= 2.0
    assert running.exporter.v1.failures == 2


async def test_retry_after_of_a_server_error_is_bounded_like_backoff(
    fake: FakeBinance, start_exporter: StartExporter
) -> None:
    running = await start_exporter("--min-interval", "0")
    fake.enqueue(Reply(status=503, headers={"Retry-After": "86400"}))
    await running.scrape()
    assert 50.0 <= running.exporter.v1.seconds_until_due() <= 60.0
    assert running.exporter.budget.is_open(), "a 503 does not pause the other endpoints"


async def test_backoff_grows_exponentially_with_jitter_and_is_capped() -> None:
    policy = BackoffPolicy(1.0)
    assert policy.delay(1) == 1.0
    delays = {n: [policy.delay(n) for _ in range(200)] for n in (2, 3, 11, 5000)}
    assert all(1.0 <= d <= 2.0 for d in delays[2])
    assert all(2.0 <= d <= 4.0 for d in delays[3])
    assert len(set(delays[3])) > 1, "jittered"
    assert all(BACKOFF_CAP_SECONDS / 2 <= d <= BACKOFF_CAP_SECONDS for d in delays[11])
    assert all(BACKOFF_CAP_SECONDS / 2 <= d <= BACKOFF_CAP_SECONDS for d in delays[5000])


async def test_a_long_outage_backs_off_at_most_the_cap_at_default_settings(
    fake: FakeBinance, start_exporter: StartExporter
) -> None:
    """--min-interval 30 (the default): however many failures in a row, the next request is
    allowed within 60 s, so with a scrape every 60 s a healed upstream shows within 2 minutes."""
    running = await start_exporter("--min-interval", "30")
    fake.always(Reply(status=500))
    waits = []
    for _ in range(12):
        running.exporter.v1.next_allowed = 0.0  # as if the wait had passed
        running.exporter.scrapes.expire()
        await running.scrape()
        waits.append(running.exporter.v1.seconds_until_due())
    assert fake.count() == 12
    assert running.exporter.v1.failures == 12
    assert all(29.0 <= wait <= 60.0 for wait in waits)
    assert max(waits) > 30.5, "it does back off"
    fake.always(None)
    running.exporter.v1.next_allowed = 0.0
    running.exporter.scrapes.expire()
    assert rates_of(await running.samples()) == {"BTC": 0.95, "USDT": 1.0}
    assert 29.0 <= running.exporter.v1.seconds_until_due() <= 30.0, "one success resets it"


def test_backoff_at_default_settings_lets_recovery_show_within_two_minutes() -> None:
    """--min-interval 30 and a scrape every 60 s: a healed upstream is asked again at the
    first scrape after the backoff, so the backoff may be 60 s at most."""
    policy = BackoffPolicy(30.0)
    assert policy.delay(1) == 30.0
    for failures in range(2, 2000):
        delay = policy.delay(failures)
        assert 30.0 <= delay <= 60.0
        assert delay + 60.0 <= 120.0


async def test_near_the_ip_weight_budget_waits_for_the_next_minute(
    fake: FakeBinance, start_exporter: StartExporter
) -> None:
    running = await start_exporter("--min-interval", "0")
    fake.used_weight = 11500
    samples = await running.samples()
    assert samples[("binance_pm_upstream_used_weight_1m", ())] == 11500.0
    for _ in range(5):
        await running.scrape()
    assert fake.count() == 1
    wait = running.exporter.budget.not_before - time.monotonic()
    seconds_to_next_minute = 60 - time.time() % 60
    assert seconds_to_next_minute - 1 <= wait <= seconds_to_next_minute + 1.5


async def test_low_weight_does_not_pause(fake: FakeBinance, start_exporter: StartExporter) -> None:
    running = await start_exporter("--min-interval", "0")
    fake.used_weight = 5000
    for _ in range(3):
        await running.scrape()
    assert fake.count() == 3
