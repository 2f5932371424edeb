"""The signed v2 tiered rates against the fake Binance, which checks signatures and timestamps
as Binance does."""

from __future__ import annotations

import asyncio
import logging
import time

import aiohttp
import pytest

from exporter.upstream.signing import signed_query
from tests.support.exporter import API_KEY, StartExporter
from tests.support.fake_binance import (
    NO_CAP,
    TIME_PATH,
    V1_PATH,
    V2_PATH,
    FakeBinance,
    Reply,
    error_body,
    tier,
)
from tests.support.samples import rates_of

SECRET = "test-api-secret-abcdefghijklmnopqrstuvwxyz0123456789"
WITH_SECRET = {"BINANCE_API_SECRET": SECRET}
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]

# Binance's own documented HMAC example (spot API docs, "SIGNED endpoint examples").
DOC_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
DOC_TIMESTAMP = 1499827319559
DOC_SIGNATURE = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"


@pytest.fixture
def signed_fake(fake: FakeBinance) -> FakeBinance:
    fake.api_secret = SECRET
    return fake


def tiered(
    samples: Samples, metric: str = "binance_pm_tiered_collateral_rate"
) -> dict[tuple[str, str], float]:
    return {
        (dict(labels)["asset"], dict(labels)["tier"]): value
        for (name, labels), value in samples.items()
        if name == metric
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def test_signed_query_matches_binance_documented_example() -> None:
    params: dict[str, str | int] = {
        "symbol": "LTCBTC",
        "side": "BUY",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "1",
        "price": "0.1",
        "recvWindow": 5000,
        "timestamp": DOC_TIMESTAMP,
    }
    query = signed_query(params, DOC_SECRET)
    assert query.endswith(f"&timestamp={DOC_TIMESTAMP}&signature={DOC_SIGNATURE}")


@pytest.mark.parametrize(
    ("signature", "code"),
    [(DOC_SIGNATURE, None), (DOC_SIGNATURE.upper(), None), ("0" + DOC_SIGNATURE[1:], -1022)],
)
async def test_fake_checks_signatures_like_binance(
    fake: FakeBinance, signature: str, code: int | None
) -> None:
    fake.api_secret = DOC_SECRET
    fake.server_offset_ms = DOC_TIMESTAMP + 100 - time.time() * 1000.0
    query = (
        "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
        f"&recvWindow=5000&timestamp={DOC_TIMESTAMP}&signature={signature}"
    )
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{fake.url}{V2_PATH}?{query}", headers={"X-MBX-APIKEY": "k"}) as response,
    ):
        body = await response.json()
    if code is None:
        assert response.status == 200
        assert {entry["asset"] for entry in body} == {"BTC", "USDT"}
    else:
        assert (response.status, body["code"]) == (400, code)


async def test_exports_tiers_from_a_signed_request(
    signed_fake: FakeBinance, start_exporter: StartExporter
) -> None:
    running = await start_exporter(env=WITH_SECRET)
    samples = await running.samples()

    assert tiered(samples) == {("BTC", "1"): 0.95, ("BTC", "2"): 0.9, ("USDT", "1"): 1.0}
    assert tiered(samples, "binance_pm_tiered_collateral_floor_usd") == {
        ("BTC", "1"): 0.0,
        ("BTC", "2"): 1_000_000.0,
        ("USDT", "1"): 0.0,
    }
    assert tiered(samples, "binance_pm_tiered_collateral_cap_usd")[("BTC", "2")] == float(NO_CAP)
    assert value(samples, "binance_pm_tiered_up") == 1.0
    assert value(samples, "binance_pm_tiered_collateral_assets") == 2.0
    assert value(samples, "binance_pm_tiered_last_success_timestamp_seconds") > 0
    assert value(samples, "binance_pm_upstream_requests_total", endpoint="v2") == 1.0
    assert value(samples, "binance_pm_upstream_requests_total", endpoint="v1") == 1.0
    assert value(samples, "binance_pm_up") == 1.0
    assert rates_of(samples) == {"BTC": 0.95, "USDT": 1.0}

    (request,) = [r for r in signed_fake.requests if r.path == V2_PATH]
    assert request.headers["X-MBX-APIKEY"] == API_KEY
    assert list(request.query) == ["timestamp", "recvWindow", "signature"]
    assert request.query["recvWindow"] == "5000"
    assert signed_fake.count(TIME_PATH) == 1


async def test_recv_window_flag_is_sent(
    signed_fake: FakeBinance, start_exporter: StartExporter
) -> None:
    running = await start_exporter("--recv-window", "15000", env=WITH_SECRET)
    samples = await running.samples()
    assert value(samples, "binance_pm_tiered_up") == 1.0
    (request,) = [r for r in signed_fake.requests if r.path == V2_PATH]
    assert request.query["recvWindow"] == "15000"


async def test_without_a_secret_nothing_of_v2_is_requested_or_exported(
    signed_fake: FakeBinance, start_exporter: StartExporter
) -> None:
    running = await start_exporter()
    text = await running.scrape()
    samples = await running.samples()
    assert rates_of(samples) == {"BTC": 0.95, "USDT": 1.0}
    assert signed_fake.count(V2_PATH) == 0
    assert signed_fake.count(TIME_PATH) == 0
    assert "tiered" not in text
    assert "server_time_offset" not in text
    assert 'endpoint="v2"' not in text


@pytest.mark.parametrize("offset_ms", [7000.0, -4000.0, 45000.0])
async def test_a_server_clock_seconds_away_is_learned(
    signed_fake: FakeBinance, start_exporter: StartExporter, offset_ms: float
) -> None:
    signed_fake.server_offset_ms = offset_ms
    running = await start_exporter(env=WITH_SECRET)
    samples = await running.samples()
    assert value(samples, "binance_pm_tiered_up") == 1.0
    assert value(samples, "binance_pm_server_time_offset_seconds") == pytest.approx(
        offset_ms / 1000.0, abs=0.5
    )
    assert signed_fake.count(TIME_PATH) == 1


async def test_the_clock_is_learned_again_after_minus_1021(
    signed_fake: FakeBinance, start_exporter: StartExporter, caplog: pytest.LogCaptureFixture
) -> None:
    running = await start_exporter(env=WITH_SECRET)
    assert value(await running.samples(), "binance_pm_tiered_up") == 1.0

    signed_fake.server_offset_ms = 9000.0  # Binance's clock (or ours) jumps
    with caplog.at_level(logging.WARNING):
        samples = await running.samples()
    assert value(samples, "binance_pm_tiered_up") == 0.0
    assert value(samples, "binance_pm_upstream_errors_total", endpoint="v2", reason="client_error")
    assert "code=-1021" in caplog.text
    assert "learned again" in caplog.text
    assert value(samples, "binance_pm_up") == 1.0, "v1 is not signed and goes on"

    samples = await running.samples()
    assert value(samples, "binance_pm_tiered_up") == 1.0
    assert value(samples, "binance_pm_server_time_offset_seconds") == pytest.approx(9.0, abs=0.5)
    assert signed_fake.count(TIME_PATH) == 2


async def test_a_failed_time_request_falls_back_to_the_local_clock(
    signed_fake: FakeBinance, start_exporter: StartExporter, caplog: pytest.LogCaptureFixture
) -> None:
    signed_fake.enqueue(Reply(body=b'{"serverTime": "soon"}'), path=TIME_PATH)
    running = await start_exporter(env=WITH_SECRET)
    with caplog.at_level(logging.WARNING):
        samples = await running.samples()
    assert value(samples, "binance_pm_tiered_up") == 1.0
    assert "cannot learn Binance's clock, signing with the local clock" in caplog.text
    assert ("binance_pm_server_time_offset_seconds", ()) not in samples

    await running.samples()
    assert signed_fake.count(TIME_PATH) == 2, "still unknown: asked again before the next request"


async def test_a_wrong_secret_is_refused_and_explained(
    fake: FakeBinance, start_exporter: StartExporter, caplog: pytest.LogCaptureFixture
) -> None:
    fake.api_secret = "the-secret-binance-knows-for-this-key"
    running = await start_exporter(env=WITH_SECRET)
    with caplog.at_level(logging.WARNING):
        samples = await running.samples()
    assert value(samples, "binance_pm_tiered_up") == 0.0
    assert value(samples, "binance_pm_up") == 1.0
    assert (
        value(samples, "binance_pm_upstream_errors_total", endpoint="v2", reason="client_error")
        == 1.0
    )
    assert (
        value(samples, "binance_pm_upstream_errors_total", endpoint="v1", reason="client_error")
        == 0.0
    )
    assert "code=-1022" in caplog.text
    assert "the API secret does not belong to the API key" in caplog.text
    assert tiered(samples) == {}


async def test_a_non_portfolio_margin_account_is_explained(
    signed_fake: FakeBinance, start_exporter: StartExporter, caplog: pytest.LogCaptureFixture
) -> None:
    signed_fake.always(
        Reply(status=400, body=error_body(-21001, "request ID is not a Portfolio Margin Account")),
        path=V2_PATH,
    )
    running = await start_exporter(env=WITH_SECRET)
    with caplog.at_level(logging.WARNING):
        samples = await running.samples()
    assert value(samples, "binance_pm_tiered_up") == 0.0
    assert "code=-21001" in caplog.text
    assert "not a Portfolio Margin account" in caplog.text


async def test_invalid_tiers_are_skipped_counted_and_keep_their_neighbours_numbers(
    signed_fake: FakeBinance, start_exporter: StartExporter
) -> None:
    signed_fake.tiers = {
        "ETH": [
            tier("0.0000", "100000.0000", "0.9500"),
            tier("100000.0000", "500000.0000", "1.5000"),  # rate above 1
            tier("500000.0000", NO_CAP, "0.8000"),
        ],
        "DOGE": [tier("0.0000", NO_CAP, "NaN")],
    }
    running = await start_exporter(env=WITH_SECRET)
    samples = await running.samples()
    assert tiered(samples) == {("ETH", "1"): 0.95, ("ETH", "3"): 0.8}
    assert value(samples, "binance_pm_invalid_entries_total", endpoint="v2") == 2.0
    assert value(samples, "binance_pm_invalid_entries_total", endpoint="v1") == 0.0
    assert value(samples, "binance_pm_tiered_collateral_assets") == 1.0


async def test_an_invalid_tiered_response_keeps_the_last_good_tiers(
    signed_fake: FakeBinance, start_exporter: StartExporter
) -> None:
    running = await start_exporter(env=WITH_SECRET)
    before = tiered(await running.samples())
    signed_fake.enqueue(Reply(body=b"<html>maintenance</html>"), path=V2_PATH)
    samples = await running.samples()
    assert value(samples, "binance_pm_tiered_up") == 0.0
    assert (
        value(samples, "binance_pm_upstream_errors_total", endpoint="v2", reason="invalid_response")
        == 1.0
    )
    assert tiered(samples) == before


@pytest.mark.parametrize("limited_path", [V1_PATH, V2_PATH])
@pytest.mark.parametrize(("status", "reason"), [(429, "rate_limited"), (418, "ip_banned")])
async def test_a_rate_limit_on_either_endpoint_stops_both(
    signed_fake: FakeBinance,
    start_exporter: StartExporter,
    limited_path: str,
    status: int,
    reason: str,
) -> None:
    signed_fake.enqueue(Reply(status=status, headers={"Retry-After": "120"}), path=limited_path)
    running = await start_exporter(env=WITH_SECRET)
    samples = await running.samples()
    endpoint = "v1" if limited_path == V1_PATH else "v2"
    other = "v2" if endpoint == "v1" else "v1"
    assert value(samples, "binance_pm_upstream_errors_total", endpoint=endpoint, reason=reason)
    assert value(samples, "binance_pm_upstream_errors_total", endpoint=other, reason=reason) == 0
    counts = (signed_fake.count(V1_PATH), signed_fake.count(V2_PATH))
    # v2 learns the clock first: if v1's 429 lands meanwhile, the signed request is deferred.
    assert counts in ((1, 1), (1, 0)) if endpoint == "v1" else counts == (1, 1)

    for _ in range(3):
        await running.samples()
    assert (signed_fake.count(V1_PATH), signed_fake.count(V2_PATH)) == counts
    assert signed_fake.count(TIME_PATH) == 1


async def test_a_rate_limit_on_the_time_request_stops_both_endpoints(
    signed_fake: FakeBinance, start_exporter: StartExporter
) -> None:
    signed_fake.enqueue(Reply(status=429, headers={"Retry-After": "120"}), path=TIME_PATH)
    running = await start_exporter(env=WITH_SECRET)
    samples = await running.samples()
    assert value(
        samples, "binance_pm_upstream_errors_total", endpoint="time", reason="rate_limited"
    )
    assert value(samples, "binance_pm_upstream_requests_total", endpoint="time") == 1
    errors_v2 = value(
        samples, "binance_pm_upstream_errors_total", endpoint="v2", reason="rate_limited"
    )
    assert errors_v2 == 0, "counted where it happened: the clock request"
    assert signed_fake.count(V2_PATH) == 0, "no signed request after a 429"
    await running.samples()
    assert (signed_fake.count(V1_PATH), signed_fake.count(TIME_PATH)) == (1, 1)


async def test_each_endpoint_has_its_own_single_flight_and_interval(
    signed_fake: FakeBinance, start_exporter: StartExporter
) -> None:
    signed_fake.enqueue(Reply(delay=0.3), path=V2_PATH)
    running = await start_exporter("--min-interval", "60", env=WITH_SECRET)
    scrapes = await asyncio.gather(*(running.samples() for _ in range(4)))
    assert all(value(s, "binance_pm_tiered_up") == 1.0 for s in scrapes[1:])
    assert (signed_fake.count(V1_PATH), signed_fake.count(V2_PATH)) == (1, 1)
    await running.samples()
    assert (signed_fake.count(V1_PATH), signed_fake.count(V2_PATH)) == (1, 1)


async def test_the_demo_upstream_serves_tiers(start_exporter: StartExporter) -> None:
    running = await start_exporter("--demo")
    samples = await running.samples()
    rates = rates_of(samples)
    tiers = tiered(samples)
    assert value(samples, "binance_pm_tiered_up") == 1.0
    assert {asset for asset, _ in tiers} == set(rates)
    assert tiers[("BTC", "1")] == rates["BTC"]
    assert tiers[("BTC", "4")] < tiers[("BTC", "3")] < tiers[("BTC", "2")] < tiers[("BTC", "1")]
    assert value(samples, "binance_pm_server_time_offset_seconds") == pytest.approx(0.0, abs=0.5)


async def test_a_rate_limit_met_while_learning_the_clock_defers_the_signed_request(
    signed_fake: FakeBinance, start_exporter: StartExporter
) -> None:
    signed_fake.enqueue(Reply(delay=0.3), path=TIME_PATH)
    signed_fake.enqueue(Reply(status=429, headers={"Retry-After": "30"}))
    running = await start_exporter(env=WITH_SECRET)
    samples = await running.samples()
    await asyncio.sleep(0.5)  # the clock answer arrives after v1's 429 closed the IP budget
    assert signed_fake.count(V2_PATH) == 0, "no signed request inside Retry-After"
    errors_v2 = sum(
        value
        for (name, labels), value in (await running.samples()).items()
        if name == "binance_pm_upstream_errors_total" and ("endpoint", "v2") in labels
    )
    assert errors_v2 == 0, "a deferred request is no error of its own"
    assert value(samples, "binance_pm_upstream_errors_total", endpoint="v1", reason="rate_limited")
    assert running.exporter.tiers is not None
    assert running.exporter.tiers.seconds_until_due() > 25


async def test_signed_query_echoed_in_an_error_page_is_redacted(
    signed_fake: FakeBinance, start_exporter: StartExporter
) -> None:
    running = await start_exporter(env=WITH_SECRET)
    await running.scrape()
    signed_fake.enqueue(Reply(status=403, echo_request=True), path=V2_PATH)
    assert running.exporter.tiers is not None
    running.exporter.tiers.next_allowed = 0.0
    await running.scrape()
    sent = [r.query_string for r in signed_fake.requests if r.path == V2_PATH][-1]
    assert "signature=" in sent
    page = await (await running.client.get("/")).text()
    snapshot = running.exporter.tiers.snapshot
    assert snapshot.last_reason is not None
    assert sent not in snapshot.last_error
    assert sent.split("signature=")[1] not in page
    assert "signature=<redacted" in snapshot.last_error  # the excerpt may cut the mark short
