"""Every upstream failure is classified into its reason, counted, and survived."""

from __future__ import annotations

import asyncio
import resource

import pytest

from tests.support.exporter import StartExporter
from tests.support.fake_binance import FakeBinance, Reply, error_body
from tests.support.samples import parse_samples, rates_of

DOC_EXAMPLE = b"""[
   {
       "asset": "USDC",
       "collateralRate": "1.0000"
   },
   {
       "asset": "BUSD",
       "collateralRate": "1.0000"
   },
]"""

CASES: dict[str, tuple[Reply, str]] = {
    "timeout": (Reply(delay=3.0), "timeout"),
    "connection reset": (Reply(reset=True), "connection"),
    "429": (
        Reply(
            status=429, body=error_body(-1003, "Too many requests"), headers={"Retry-After": "0"}
        ),
        "rate_limited",
    ),
    "418": (
        Reply(
            status=418,
            body=error_body(-1003, "Way too many requests; IP banned"),
            headers={"Retry-After": "0"},
        ),
        "ip_banned",
    ),
    "401 -2014": (Reply(status=401, body=error_body(-2014, "API-key format invalid.")), "auth"),
    "401 -2015": (
        Reply(
            status=401, body=error_body(-2015, "Invalid API-key, IP, or permissions for action.")
        ),
        "auth",
    ),
    "400 -2015": (Reply(status=400, body=error_body(-2015, "Invalid API-key")), "auth"),
    "403 firewall html": (
        Reply(
            status=403,
            body=b"<html><body>403 Forbidden</body></html>",
            headers={"Content-Type": "text/html"},
        ),
        "forbidden",
    ),
    "451 restricted": (
        Reply(status=451, body=error_body(0, "Service unavailable from a restricted location")),
        "restricted_location",
    ),
    "500": (Reply(status=500, body=error_body(-1001, "Internal error")), "server_error"),
    "503 html": (Reply(status=503, body=b"<html>Service Unavailable</html>"), "server_error"),
    "400 other": (Reply(status=400, body=error_body(-1121, "Invalid symbol.")), "client_error"),
    "404": (Reply(status=404, body=b"Not Found"), "client_error"),
    "204 no content": (Reply(status=204, body=b""), "invalid_response"),
    "302 redirect": (
        Reply(status=302, headers={"Location": "https://example.invalid/"}),
        "invalid_response",
    ),
    "200 html": (
        Reply(
            body=b"<!DOCTYPE html><html>maintenance</html>", headers={"Content-Type": "text/html"}
        ),
        "invalid_response",
    ),
    "200 doc example (trailing comma)": (Reply(body=DOC_EXAMPLE), "invalid_response"),
    "200 object instead of list": (
        Reply(body=b'{"asset": "BTC", "collateralRate": "0.95"}'),
        "invalid_response",
    ),
    "200 truncated json": (Reply(body=b'[{"asset": "BTC", "collat'), "invalid_response"),
    "200 empty list": (Reply(body=b"[]"), "invalid_response"),
    "200 too large (declared)": (Reply(body=b"[" + b" " * 5000 + b"]"), "invalid_response"),
    "200 too large (streamed)": (Reply(stream_bytes=64 * 1024), "invalid_response"),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
async def test_failure_is_classified_counted_and_survived(
    case: str, fake: FakeBinance, start_exporter: StartExporter
) -> None:
    reply, reason = CASES[case]
    running = await start_exporter("--timeout", "1", "--max-response-bytes", "4096")
    good = await running.samples()
    assert good[("binance_pm_up", ())] == 1.0

    fake.always(reply)  # sticky: the client's own retry of a reset keep-alive meets it too
    text = await running.scrape()
    fake.always(None)
    samples = parse_samples(text)

    assert samples[("binance_pm_up", ())] == 0.0
    errors = {
        dict(labels)["reason"]: value
        for (name, labels), value in samples.items()
        if name == "binance_pm_upstream_errors_total"
    }
    assert errors[reason] == 1.0
    assert sum(errors.values()) == 1.0
    assert samples[("binance_pm_upstream_requests_total", (("endpoint", "v1"),))] == 2.0
    assert rates_of(samples) == {"BTC": 0.95, "USDT": 1.0}, "last good rates stay"

    # and the next good answer brings it back up
    await asyncio.sleep(0)
    if reason in ("rate_limited", "ip_banned"):
        running.exporter.budget.not_before = 0.0
    running.exporter.v1.next_allowed = 0.0
    assert (await running.samples())[("binance_pm_up", ())] == 1.0


async def test_all_reasons_present_at_zero_from_start(start_exporter: StartExporter) -> None:
    running = await start_exporter()
    samples = await running.samples()
    reasons = sorted(
        dict(labels)["reason"]
        for (name, labels), _ in samples.items()
        if name == "binance_pm_upstream_errors_total"
    )
    assert reasons == sorted(
        [
            "timeout",
            "connection",
            "rate_limited",
            "ip_banned",
            "auth",
            "forbidden",
            "restricted_location",
            "server_error",
            "client_error",
            "invalid_response",
            "internal_error",
        ]
    )


async def test_connection_refused(start_exporter: StartExporter, fake: FakeBinance) -> None:
    running = await start_exporter()
    await fake.stop()
    samples = await running.samples()
    assert samples[("binance_pm_up", ())] == 0.0
    key = ("binance_pm_upstream_errors_total", (("endpoint", "v1"), ("reason", "connection")))
    assert samples[key] == 1.0


@pytest.mark.slow
async def test_rates_dropped_after_max_stale(
    fake: FakeBinance, start_exporter: StartExporter
) -> None:
    running = await start_exporter("--max-stale", "1")
    assert rates_of(await running.samples()) == {"BTC": 0.95, "USDT": 1.0}
    fake.always(Reply(status=500))
    samples = await running.samples()
    assert rates_of(samples) == {"BTC": 0.95, "USDT": 1.0}
    await asyncio.sleep(1.2)
    samples = await running.samples()
    assert rates_of(samples) == {}
    assert samples[("binance_pm_up", ())] == 0.0
    assert ("binance_pm_last_success_timestamp_seconds", ()) in samples


async def test_huge_body_does_not_raise_memory(
    fake: FakeBinance, start_exporter: StartExporter
) -> None:
    running = await start_exporter()
    await running.samples()
    before_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    fake.enqueue(Reply(stream_bytes=64 * 1024 * 1024))
    samples = await running.samples()
    after_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    key = ("binance_pm_upstream_errors_total", (("endpoint", "v1"), ("reason", "invalid_response")))
    assert samples[key] == 1.0
    assert after_kib - before_kib < 16 * 1024, "a 64 MiB body must not be held in memory"


async def test_upstream_code_and_msg_are_logged(
    fake: FakeBinance, start_exporter: StartExporter, caplog: pytest.LogCaptureFixture
) -> None:
    running = await start_exporter()
    fake.enqueue(Reply(status=401, body=error_body(-2015, "Invalid API-key, IP, or permissions")))
    await running.scrape()
    messages = " ".join(record.getMessage() for record in caplog.records)
    assert "code=-2015" in messages
    assert "Invalid API-key, IP, or permissions" in messages
