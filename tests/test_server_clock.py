"""Binance's clock (/api/v3/time) as a hostile upstream may answer it: an answer that cannot be a
time is a failed clock learn, the signed request still goes out signed with the local clock, the
failure is logged once, and every clock request and error is counted (`endpoint="time"`)."""

from __future__ import annotations

import logging

import pytest

from tests.support.exporter import SECRET, WITH_SECRET, StartExporter
from tests.support.fake_binance import TIME_PATH, V2_PATH, FakeBinance, Reply
from tests.support.samples import value

ABSURD_TIMES = [
    b'{"serverTime": 1' + b"0" * 400 + b"}",
    b'{"serverTime": -1' + b"0" * 400 + b"}",
    b'{"serverTime": 1e400}',
    b'{"serverTime": 1e300}',
    b'{"serverTime": 0}',
    b'{"serverTime": true}',
    b'{"serverTime": [1]}',
    b'{"serverTime": ' + b"[" * 5000 + b"]" * 5000 + b"}",
]


@pytest.mark.parametrize("body", ABSURD_TIMES)
async def test_an_absurd_server_time_signs_with_the_local_clock(
    body: bytes,
    fake: FakeBinance,
    start_exporter: StartExporter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake.api_secret = SECRET
    fake.always(Reply(body=body), path=TIME_PATH)
    caplog.set_level(logging.DEBUG)
    running = await start_exporter(env=WITH_SECRET)
    attempts = 4
    for _ in range(attempts):
        assert running.exporter.tiers is not None
        running.exporter.tiers.next_allowed = 0.0
        running.exporter.scrapes.expire()
        samples = await running.samples()
        assert value(samples, "binance_pm_tiered_up") == 1.0, "signed with the local clock"
    assert fake.count(V2_PATH) == attempts
    assert fake.count(TIME_PATH) == attempts, "asked again before each signed request"
    assert value(samples, "binance_pm_upstream_requests_total", endpoint="time") == attempts
    errors = value(
        samples, "binance_pm_upstream_errors_total", endpoint="time", reason="invalid_response"
    )
    assert errors == attempts
    assert (
        value(samples, "binance_pm_upstream_errors_total", endpoint="v2", reason="invalid_response")
        == 0
    )
    assert ("binance_pm_server_time_offset_seconds", ()) not in samples
    warnings = [r for r in caplog.records if "cannot learn Binance's clock" in r.getMessage()]
    assert [r.levelno for r in warnings] == [logging.WARNING] + [logging.DEBUG] * (attempts - 1)
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []


async def test_a_clock_that_heals_is_learned_and_a_new_failure_warns_again(
    fake: FakeBinance, start_exporter: StartExporter, caplog: pytest.LogCaptureFixture
) -> None:
    fake.api_secret = SECRET
    fake.enqueue(Reply(body=b'{"serverTime": 1' + b"0" * 400 + b"}"), Reply(), path=TIME_PATH)
    caplog.set_level(logging.DEBUG)
    running = await start_exporter(env=WITH_SECRET)
    await running.scrape()
    assert running.exporter.clock is not None
    assert running.exporter.tiers is not None
    running.exporter.clock.forget()  # as a -1021 would
    running.exporter.tiers.next_allowed = 0.0
    samples = await running.samples()
    assert value(samples, "binance_pm_server_time_offset_seconds") == pytest.approx(0.0, abs=1.0)
    assert value(samples, "binance_pm_upstream_requests_total", endpoint="time") == 2
    fake.enqueue(Reply(status=503, body=b"down"), path=TIME_PATH)
    running.exporter.clock.forget()
    running.exporter.tiers.next_allowed = 0.0
    samples = await running.samples()
    assert (
        value(samples, "binance_pm_upstream_errors_total", endpoint="time", reason="server_error")
        == 1
    )
    warnings = [
        r.levelno for r in caplog.records if "cannot learn Binance's clock" in r.getMessage()
    ]
    assert warnings == [logging.WARNING, logging.WARNING]


async def test_every_reason_of_the_time_endpoint_is_present_from_the_start(
    fake: FakeBinance, start_exporter: StartExporter
) -> None:
    fake.api_secret = SECRET
    running = await start_exporter(env=WITH_SECRET)
    samples = await running.samples()
    reasons = {
        dict(labels)["reason"]
        for (name, labels), _ in samples.items()
        if name == "binance_pm_upstream_errors_total" and ("endpoint", "time") in labels
    }
    assert len(reasons) == 11
    assert value(samples, "binance_pm_upstream_requests_total", endpoint="time") == 1


async def test_without_a_secret_there_is_no_time_endpoint(start_exporter: StartExporter) -> None:
    running = await start_exporter()
    text = await running.scrape()
    assert 'endpoint="time"' not in text
