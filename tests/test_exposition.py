"""The /metrics body: exact values, both formats, gzip, and valid for promtool."""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import subprocess
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
from prometheus_client.parser import text_string_to_metric_families

from exporter.exposition import ExpositionCache
from tests.support.exporter import PLAIN_ACCEPT, StartExporter
from tests.support.fake_binance import FakeBinance, Reply
from tests.support.samples import parse_samples, rates_of

PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)
MANY_RATES = {
    "USDT": "1.0000",
    "BTC": "0.9500",
    "1000SATS": "0.1000",
    "1MBABYDOGE": "0.0500",
    "币安人生": "0.3500",
    "ICP": "0.4500",
    'WEIRD"ASSET\\': "0.1234",
    "ZERO": "0.0000",
    "TINY": "0.0001",
}
CONTRACT_METRICS = {
    "binance_pm_collateral_rate",
    "binance_pm_up",
    "binance_pm_upstream_requests_total",
    "binance_pm_upstream_errors_total",
    "binance_pm_upstream_request_duration_seconds_bucket",
    "binance_pm_upstream_request_duration_seconds_count",
    "binance_pm_upstream_request_duration_seconds_sum",
    "binance_pm_last_success_timestamp_seconds",
    "binance_pm_upstream_used_weight_1m",
    "binance_pm_invalid_entries_total",
    "binance_pm_collateral_assets",
    "binance_pm_exporter_build_info",
    "binance_pm_upstream_host_info",
    "binance_pm_exposition_errors_total",
}
PROCESS_METRICS = {
    "process_virtual_memory_bytes",
    "process_resident_memory_bytes",
    "process_start_time_seconds",
    "process_cpu_seconds_total",
    "process_open_fds",
    "process_max_fds",
    "python_info",
}


async def test_every_asset_exported_with_its_exact_value(
    fake: FakeBinance, start_exporter: StartExporter
) -> None:
    fake.rates = dict(MANY_RATES)
    running = await start_exporter()
    samples = await running.samples()
    assert rates_of(samples) == {asset: float(rate) for asset, rate in MANY_RATES.items()}
    assert samples[("binance_pm_collateral_assets", ())] == len(MANY_RATES)
    assert {name for name, _ in samples} == CONTRACT_METRICS | PROCESS_METRICS


async def test_four_hundred_assets(fake: FakeBinance, start_exporter: StartExporter) -> None:
    fake.rates = {f"A{i:03d}": f"{i / 400:.4f}" for i in range(400)}
    running = await start_exporter()
    rates = rates_of(await running.samples())
    assert len(rates) == 400
    assert rates == {asset: float(rate) for asset, rate in fake.rates.items()}


async def test_invalid_entries_skipped_and_counted(
    fake: FakeBinance, start_exporter: StartExporter
) -> None:
    body = [
        {"asset": "GOOD", "collateralRate": "0.5000", "newField": {"x": 1}},
        {"asset": "NUM", "collateralRate": 0.25},
        {"collateralRate": "0.5"},
        {"asset": "", "collateralRate": "0.5"},
        {"asset": 7, "collateralRate": "0.5"},
        {"asset": "HIGH", "collateralRate": "1.5"},
        {"asset": "NEG", "collateralRate": "-0.1"},
        {"asset": "NAN", "collateralRate": "NaN"},
        {"asset": "INF", "collateralRate": "Infinity"},
        {"asset": "TEXT", "collateralRate": "abc"},
        {"asset": "BOOL", "collateralRate": True},
        {"asset": "NULL", "collateralRate": None},
        {"asset": "DUP", "collateralRate": "0.5"},
        {"asset": "DUP", "collateralRate": "0.6"},
        "not an object",
        None,
    ]
    fake.enqueue(Reply(body=json.dumps(body).encode()))
    running = await start_exporter()
    samples = await running.samples()
    assert rates_of(samples) == {"GOOD": 0.5, "NUM": 0.25}
    assert samples[("binance_pm_invalid_entries_total", (("endpoint", "v1"),))] == 14.0
    assert samples[("binance_pm_up", ())] == 1.0


async def test_openmetrics_by_accept_without_created(
    fake: FakeBinance, start_exporter: StartExporter
) -> None:
    fake.rates = dict(MANY_RATES)
    running = await start_exporter()
    response = await running.client.get("/metrics", headers={"Accept": PROMETHEUS_ACCEPT})
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("application/openmetrics-text")
    text = await response.text()
    assert text.endswith("# EOF\n")
    assert "_created" not in text
    families = {f.name: f for f in parse_om(text)}  # type: ignore[no-untyped-call]
    assert families["binance_pm_upstream_requests"].type == "counter"
    rates = {s.labels["asset"]: s.value for s in families["binance_pm_collateral_rate"].samples}
    assert rates["币安人生"] == 0.35


async def test_text_format_by_default(start_exporter: StartExporter) -> None:
    running = await start_exporter()
    response = await running.client.get("/metrics")
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert "_created" not in await response.text()


async def test_gzip_when_asked(start_exporter: StartExporter) -> None:
    running = await start_exporter()
    response = await running.client.get(
        "/metrics", headers={"Accept-Encoding": "gzip"}, auto_decompress=False
    )
    assert response.headers["Content-Encoding"] == "gzip"
    body = gzip.decompress(await response.read()).decode()
    assert rates_of(parse_samples(body)) == {"BTC": 0.95, "USDT": 1.0}
    plain = await running.client.get(
        "/metrics", headers={"Accept-Encoding": "identity"}, auto_decompress=False
    )
    assert "Content-Encoding" not in plain.headers


async def test_promtool_check_metrics_passes(
    fake: FakeBinance, start_exporter: StartExporter
) -> None:
    fake.rates = dict(MANY_RATES)
    running = await start_exporter()
    text = await running.scrape()
    fake.always(Reply(status=500))
    failed_text = await running.scrape()
    for body in (text, failed_text):
        result = await asyncio.to_thread(
            subprocess.run,
            ["promtool", "check", "metrics"],
            input=body.encode(),
            capture_output=True,
            timeout=30,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr


async def test_cached_body_changes_when_a_new_fetch_lands(
    fake: FakeBinance, start_exporter: StartExporter
) -> None:
    running = await start_exporter()
    first = await running.scrape()
    fake.rates["BTC"] = "0.9000"
    second = await running.scrape()
    assert first != second
    assert rates_of(parse_samples(second))["BTC"] == 0.9


async def test_distinct_accept_versions_share_the_renderings_of_one_format(
    start_exporter: StartExporter,
) -> None:
    running = await start_exporter(
        "--min-interval", "600", "--max-stale", "600", "--disable-exporter-metrics"
    )
    first = await running.client.get("/metrics", headers={"Accept": PROMETHEUS_ACCEPT})
    expected = await first.read()
    for n in range(300):
        accept = f"application/openmetrics-text;version=1.0.{n}" if n % 2 else PROMETHEUS_ACCEPT
        accept_encoding = f"gzip;q=0.{n % 10}, identity;q=1" if n % 3 else ""
        response = await running.client.get(
            "/metrics", headers={"Accept": accept, "Accept-Encoding": accept_encoding}
        )
        assert response.status == 200
        body = await response.read()
        if n % 2 == 0:
            assert body == expected
        else:  # a version we do not produce: text 0.0.4, the same bytes each time
            assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    renderings, remembered = running.exporter.exposition.sizes()
    assert renderings <= 4
    assert remembered <= 64


BAD_ACCEPTS = (
    "application/openmetrics-text;version=abc",
    "application/openmetrics-text;version=1.x",
    "application/openmetrics-text;version=1.0.0-rc1",
    "text/plain;version=v1",
    "application/openmetrics-text;version=2.0.0",
    "application/openmetrics-text;;;q=;version==1",
    ",,,;;;===",
    "application/json",
    "application/openmetrics-text;q=0, text/plain;q=0",
)


async def test_unparseable_accept_headers_get_text_and_log_nothing(
    start_exporter: StartExporter, caplog: pytest.LogCaptureFixture
) -> None:
    running = await start_exporter()
    await running.scrape()
    caplog.set_level(logging.INFO)
    caplog.clear()
    for accept in BAD_ACCEPTS:
        response = await running.client.get("/metrics", headers={"Accept": accept})
        assert response.status == 200, accept
        assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
        assert rates_of(parse_samples(await response.text())) == {"BTC": 0.95, "USDT": 1.0}
    assert [r for r in caplog.records if r.levelno >= logging.INFO] == []


@pytest.mark.parametrize(
    ("accept_encoding", "gzipped"),
    [
        ("gzip;q=0", False),
        ("identity, gzip;q=0.000", False),
        ("gzip;q=abc", False),
        ("gzip;q=0.5, identity;q=1", False),
        ("GZIP;Q=0.5", True),
        ("identity;q=0.1, gzip;q=0.9", True),
        ("deflate, x-gzip", True),
        ("br", False),
    ],
)
async def test_accept_encoding_q_values_are_honoured(
    start_exporter: StartExporter, accept_encoding: str, gzipped: bool
) -> None:
    running = await start_exporter()
    response = await running.client.get(
        "/metrics", headers={"Accept-Encoding": accept_encoding}, auto_decompress=False
    )
    assert response.status == 200
    body = await response.read()
    assert (response.headers.get("Content-Encoding") == "gzip") == gzipped
    text = (gzip.decompress(body) if gzipped else body).decode()
    assert rates_of(parse_samples(text)) == {"BTC": 0.95, "USDT": 1.0}


async def test_a_failing_collector_serves_the_last_good_exposition_and_counts(
    fake: FakeBinance, start_exporter: StartExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    running = await start_exporter()
    good = await running.samples()
    assert good[("binance_pm_exposition_errors_total", ())] == 0.0
    openmetrics = await running.client.get("/metrics", headers={"Accept": PROMETHEUS_ACCEPT})
    assert openmetrics.status == 200
    collector = running.exporter.collector

    def broken() -> Iterator[Metric]:
        yield from ()
        raise OverflowError("int too large to convert to float")

    monkeypatch.setattr(collector, "collect", broken)
    fake.rates["BTC"] = "0.9000"  # a new fetch: the exposition must be built again
    for accept in (PLAIN_ACCEPT, PROMETHEUS_ACCEPT):
        response = await running.client.get("/metrics", headers={"Accept": accept})
        assert response.status == 200
        text = await response.text()
        parse = parse_om if accept == PROMETHEUS_ACCEPT else text_string_to_metric_families
        families = {f.name: f for f in parse(text)}
        rates = {s.labels["asset"]: s.value for s in families["binance_pm_collateral_rate"].samples}
        assert rates == {"BTC": 0.95, "USDT": 1.0}  # the last good one
        errors = families["binance_pm_exposition_errors"].samples[0].value
        assert errors >= 1
    monkeypatch.undo()
    fake.rates["BTC"] = "0.8000"
    assert rates_of(await running.samples())["BTC"] == 0.8


OPENMETRICS_ACCEPT = "application/openmetrics-text;version=1.0.0"


def _assert_one_gzip_member_of(gzipped: bytes, identity: bytes) -> None:
    assert gzip.decompress(gzipped) == identity
    first_member = zlib.decompressobj(wbits=31)  # reads one member and stops
    assert first_member.decompress(gzipped) == identity
    assert first_member.eof
    assert first_member.unused_data == b""


def _assert_every_gzip_variant_matches(cache: ExpositionCache) -> list[bytes]:
    bodies = []
    for accept in (PLAIN_ACCEPT, OPENMETRICS_ACCEPT):
        identity = cache.for_request(accept, "identity").body
        _assert_one_gzip_member_of(cache.for_request(accept, "gzip").body, identity)
        bodies.append(identity)
    return bodies


async def test_gzip_body_is_one_member_of_the_identity_body_across_renderings(
    fake: FakeBinance, start_exporter: StartExporter
) -> None:
    fake.rates = {f"A{i:03d}": f"{i / 400:.4f}" for i in range(400)}
    running = await start_exporter()
    await running.scrape()
    cache = running.exporter.exposition
    first = _assert_every_gzip_variant_matches(cache)
    text, openmetrics = first
    assert openmetrics.count(b"# EOF") == 1
    assert openmetrics.endswith(b"# EOF\n")
    assert b"process_resident_memory_bytes" in text

    for _ in range(3):
        cache.forget_own_metrics()
        _assert_every_gzip_variant_matches(cache)

    fake.rates["A001"] = "0.9000"
    await running.scrape()
    after_snapshot = _assert_every_gzip_variant_matches(cache)
    assert b'binance_pm_collateral_rate{asset="A001"} 0.9' in after_snapshot[0]
    cache.forget_own_metrics()
    _assert_every_gzip_variant_matches(cache)


class _CountingCompressor:
    def __init__(self, real: Any, fed: list[bytes]) -> None:
        self._real = real
        self._fed = fed

    def compress(self, data: bytes) -> bytes:
        self._fed.append(data)
        return bytes(self._real.compress(data))

    def flush(self, mode: int = zlib.Z_FINISH) -> bytes:
        return bytes(self._real.flush(mode))

    def copy(self) -> _CountingCompressor:
        return _CountingCompressor(self._real.copy(), self._fed)


async def test_the_exporter_part_is_gzipped_once_per_snapshot(
    fake: FakeBinance, start_exporter: StartExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.rates = {f"A{i:03d}": f"{i / 400:.4f}" for i in range(400)}
    running = await start_exporter()
    await running.scrape()
    cache = running.exporter.exposition
    fed: list[bytes] = []
    real_compress, real_compressobj = zlib.compress, zlib.compressobj

    def counting_compress(data: bytes, /, *args: Any, **kwargs: Any) -> bytes:
        fed.append(data)
        return real_compress(data, *args, **kwargs)

    def counting_compressobj(*args: Any, **kwargs: Any) -> _CountingCompressor:
        return _CountingCompressor(real_compressobj(*args, **kwargs), fed)

    monkeypatch.setattr(zlib, "compress", counting_compress)
    monkeypatch.setattr(zlib, "compressobj", counting_compressobj)
    cache.forget_exporter_metrics()
    renderings = 20
    for _ in range(renderings):
        cache.forget_own_metrics()
        for accept in (PLAIN_ACCEPT, OPENMETRICS_ACCEPT):
            cache.for_request(accept, "gzip")
    monkeypatch.undo()

    text, openmetrics = _assert_every_gzip_variant_matches(cache)
    own_part = text[text.index(b"# HELP binance_pm_exposition_errors_total") :]
    exporter_part = text[: -len(own_part)]
    assert len(exporter_part) > 5 * len(own_part)
    # the exporter's part once per format, the process part at every rendering
    big = [data for data in fed if len(data) > len(own_part) * 2]
    assert len(big) == 2
    assert sum(map(len, fed)) < 2 * (len(exporter_part) + renderings * len(own_part) + 1000)
    assert len(openmetrics) > len(exporter_part)
