"""Failover across --api-base-url hosts, against two fake Binance hosts on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.exporter import SECRET, WITH_SECRET, StartExporter
from tests.support.fake_binance import TIME_PATH, V1_PATH, V2_PATH, FakeBinance, Reply
from tests.support.samples import Samples

HOST_INFO = "binance_pm_upstream_host_info"


@pytest.fixture
async def second() -> AsyncIterator[FakeBinance]:
    server = FakeBinance()
    await server.start()
    yield server
    await server.stop()


def current_host(samples: Samples) -> str:
    (url,) = [dict(labels)["url"] for (name, labels) in samples if name == HOST_INFO]
    return url


def errors(samples: Samples, reason: str, endpoint: str = "v1") -> float:
    key = (("endpoint", endpoint), ("reason", reason))
    return samples[("binance_pm_upstream_errors_total", key)]


FAILURES = {
    "server_error": Reply(status=503, body=b"<html>503 Service Unavailable</html>"),
    "connection": Reply(reset=True),
    "timeout": Reply(delay=3.0),
}


@pytest.mark.slow
@pytest.mark.parametrize("reason", list(FAILURES))
async def test_failover_moves_on_and_comes_back(
    fake: FakeBinance, second: FakeBinance, start_exporter: StartExporter, reason: str
) -> None:
    first = fake
    running = await start_exporter("--api-base-url", second.url, "--timeout", "0.5")
    samples = await running.samples()
    assert samples[("binance_pm_up", ())] == 1.0
    assert current_host(samples) == first.url

    first.always(FAILURES[reason])
    samples = await running.samples()
    assert samples[("binance_pm_up", ())] == 0.0
    assert errors(samples, reason) == 1.0
    assert current_host(samples) == second.url, "the next request goes to the next host"

    samples = await running.samples()
    assert samples[("binance_pm_up", ())] == 1.0
    assert second.count() == 1

    first.always(None)
    second.always(FAILURES[reason])
    samples = await running.samples()
    assert samples[("binance_pm_up", ())] == 0.0
    assert current_host(samples) == first.url, "after the last host comes the first again"

    before = (first.count(), second.count())
    samples = await running.samples()
    assert samples[("binance_pm_up", ())] == 1.0
    assert current_host(samples) == first.url
    assert (first.count(), second.count()) == (before[0] + 1, before[1])


@pytest.mark.parametrize(("status", "reason"), [(429, "rate_limited"), (418, "ip_banned")])
async def test_a_rate_limit_stops_every_host(
    fake: FakeBinance, second: FakeBinance, start_exporter: StartExporter, status: int, reason: str
) -> None:
    fake.enqueue(Reply(status=status, headers={"Retry-After": "120"}))
    running = await start_exporter("--api-base-url", second.url)
    samples = await running.samples()
    assert errors(samples, reason) == 1.0
    assert current_host(samples) == fake.url, "a rate limit is per IP: another host won't help"
    for _ in range(3):
        await running.samples()
    assert (fake.count(), second.count()) == (1, 0)


async def test_endpoints_failing_together_move_on_once(
    fake: FakeBinance, second: FakeBinance, start_exporter: StartExporter
) -> None:
    for server in (fake, second):
        server.api_secret = SECRET
    running = await start_exporter("--api-base-url", second.url, env=WITH_SECRET)
    samples = await running.samples()
    assert samples[("binance_pm_tiered_up", ())] == 1.0

    for path in (V1_PATH, V2_PATH):
        fake.always(Reply(status=502), path=path)
    samples = await running.samples()
    assert (errors(samples, "server_error"), errors(samples, "server_error", "v2")) == (1.0, 1.0)
    assert current_host(samples) == second.url, "two failures of one host: one step on"

    samples = await running.samples()
    assert samples[("binance_pm_up", ())] == 1.0
    assert samples[("binance_pm_tiered_up", ())] == 1.0
    assert (second.count(V1_PATH), second.count(V2_PATH), second.count(TIME_PATH)) == (1, 1, 0)


async def test_a_single_host_stays_put(fake: FakeBinance, start_exporter: StartExporter) -> None:
    fake.enqueue(Reply(status=500))
    running = await start_exporter()
    assert current_host(await running.samples()) == fake.url
    samples = await running.samples()
    assert samples[("binance_pm_up", ())] == 1.0
    assert current_host(samples) == fake.url
