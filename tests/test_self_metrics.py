"""The exporter's own metrics: prometheus_client's process and platform collectors (on by
default, off with --disable-exporter-metrics), joined to the cached exposition in both formats,
rendered at most once a second; and the process's open-files limit and connection cap."""

from __future__ import annotations

import asyncio
import contextlib
import resource
import sys
from collections.abc import Callable

import aiohttp
import pytest
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
from prometheus_client.registry import Collector

from exporter.exposition import ExpositionCache
from exporter.scrape import ScrapePlanner
from tests.support.exporter import PLAIN_ACCEPT, PROMETHEUS_ACCEPT, StartExporter
from tests.support.paths import REPO
from tests.support.process import exporter_process
from tests.support.samples import parse_samples, rates_of

PROCESS_FAMILIES = {
    "process_resident_memory_bytes",
    "process_open_fds",
    "process_max_fds",
    "process_start_time_seconds",
    "process_cpu_seconds_total",
    "process_virtual_memory_bytes",
    "python_info",
}


async def test_process_metrics_in_both_formats_with_one_eof(start_exporter: StartExporter) -> None:
    running = await start_exporter()
    samples = await running.samples()
    assert {name for name, _ in samples} >= PROCESS_FAMILIES
    assert samples[("process_open_fds", ())] > 0
    assert rates_of(samples) == {"BTC": 0.95, "USDT": 1.0}
    for accept_encoding in ("identity", "gzip"):
        response = await running.client.get(
            "/metrics",
            headers={"Accept": PROMETHEUS_ACCEPT, "Accept-Encoding": accept_encoding},
        )
        text = await response.text()
        assert text.endswith("# EOF\n")
        assert text.count("# EOF") == 1
        families = {f.name: f for f in parse_om(text)}  # type: ignore[no-untyped-call]
        assert families["process_resident_memory_bytes"].samples[0].value > 0
        assert families["process_cpu_seconds"].type == "counter"
        assert "binance_pm_collateral_rate" in families


async def test_the_flag_and_its_variable_turn_them_off(start_exporter: StartExporter) -> None:
    for running in (
        await start_exporter("--disable-exporter-metrics"),
        await start_exporter(env={"BINANCE_PM_DISABLE_EXPORTER_METRICS": "true"}),
    ):
        names = {name for name, _ in await running.samples()}
        assert not names & PROCESS_FAMILIES
        assert "binance_pm_exposition_errors_total" in names
        assert "binance_pm_collateral_rate" in names


async def test_process_metrics_are_rendered_at_most_once_a_second(
    start_exporter: StartExporter,
) -> None:
    running = await start_exporter("--min-interval", "600", "--max-stale", "600")
    await running.scrape()
    clock = [1000.0]
    real = running.exporter.exposition
    cache = ExpositionCache(running.exporter.collector, _process_collectors_counting(calls := [0]))
    scrapes = ScrapePlanner(
        running.exporter.gates,
        running.exporter.collector,
        cache,
        timeout=10.0,
        max_stale=600.0,
        monotonic=lambda: clock[0],
    )
    first = await scrapes.serve(None, PLAIN_ACCEPT, "")
    for _ in range(50):
        assert await scrapes.serve(None, PLAIN_ACCEPT, "") is first
    clock[0] += 0.99
    assert await scrapes.serve(None, PLAIN_ACCEPT, "") is first
    assert calls == [1]
    clock[0] += 0.02
    again = await scrapes.serve(None, PLAIN_ACCEPT, "")
    assert again is not first
    assert calls == [2]
    assert real is not cache


def _process_collectors_counting(calls: list[int]) -> tuple[Collector, ...]:
    class Counting(Collector):
        def collect(self) -> list[Metric]:
            calls[0] += 1
            return [GaugeMetricFamily("process_test_renders", "renders", value=calls[0])]

    return (Counting(),)


def _low_files_limit(soft: int, hard: int) -> Callable[[], None]:
    def lower() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    return lower


def _limits_of(pid: int) -> tuple[int, int]:
    with open(f"/proc/{pid}/limits", encoding="ascii") as limits:
        for line in limits:
            if line.startswith("Max open files"):
                soft, hard = line.split()[3:5]
                return int(soft), int(hard)
    raise AssertionError("no open files line")


async def test_the_soft_open_files_limit_is_raised_to_the_hard_one() -> None:
    hard = min(resource.getrlimit(resource.RLIMIT_NOFILE)[1], 4096)
    async with exporter_process(["--demo"], preexec_fn=_low_files_limit(256, hard)) as exporter:
        assert _limits_of(exporter.process.pid) == (hard, hard)
        async with aiohttp.ClientSession() as session, session.get(exporter.url) as response:
            assert response.status == 200


IDLE_CONNECTIONS = 400


@pytest.mark.slow
async def test_idle_connections_beyond_the_files_limit_do_not_stop_scrapes() -> None:
    async with exporter_process(
        ["--demo", "--min-interval", "1"], preexec_fn=_low_files_limit(200, 200)
    ) as exporter:
        writers: list[asyncio.StreamWriter] = []
        try:
            for _ in range(IDLE_CONNECTIONS):
                with contextlib.suppress(OSError):
                    _, writer = await asyncio.open_connection("127.0.0.1", exporter.port)
                    writers.append(writer)
            await asyncio.sleep(0.5)
            timeout = aiohttp.ClientTimeout(total=10)
            async with aiohttp.ClientSession(timeout=timeout) as session:
                for _ in range(5):
                    async with session.get(
                        exporter.url + "/metrics", headers={"Accept": PLAIN_ACCEPT}
                    ) as response:
                        assert response.status == 200
                        samples = parse_samples(await response.text())
                        assert samples[("process_max_fds", ())] == 200
                        assert samples[("process_open_fds", ())] < 200
        finally:
            for writer in writers:
                writer.close()
        assert "out of system resource" not in exporter.stderr
        assert "Traceback" not in exporter.stderr


ACCEPT_FLOOD_SCRIPT = """
import asyncio, logging, os, resource, sys
from aiohttp import web
from exporter.web.listener import serving
resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
logging.basicConfig(level=logging.INFO, stream=sys.stderr)
async def main():
    async with serving(web.Application(), "127.0.0.1", 0, max_connections=40) as listener:
        taken = []
        while True:  # the descriptors the connection cap counts on, taken by something else
            try:
                taken.append(os.open(os.devnull, os.O_RDONLY))
            except OSError:
                break
        for fd in taken[:8]:
            os.close(fd)
        print(listener.port, flush=True)
        await asyncio.sleep(4)
asyncio.run(main())
"""


@pytest.mark.slow
async def test_accept_out_of_descriptors_is_logged_once_not_per_attempt() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        ACCEPT_FLOOD_SCRIPT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO,
    )
    assert process.stdout is not None
    try:
        port = int(await asyncio.wait_for(process.stdout.readline(), 20))
        sockets = []
        for _ in range(150):
            with contextlib.suppress(OSError):
                sockets.append(await asyncio.open_connection("127.0.0.1", port))
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    for _, writer in sockets:
        writer.close()
    text = stderr.decode()
    assert text.count("cannot accept connections: Too many open files") == 1, text
    assert "Traceback" not in text
    assert "out of system resource" not in text
