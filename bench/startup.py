"""Item 5: start-up, from launching the process to the first served scrape (which includes the
first upstream request), next to the bare aiohttp server and to the bare interpreter."""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from dataclasses import dataclass

from bench.procs import (
    CHILD_ENV,
    REPO,
    SERVER_CPUS,
    Exposition,
    exporter_command,
    pin,
    running_baseline,
    stop_process,
    wait_for_http,
)
from bench.upstream import exporter_flags, start_upstream
from tests.support.process import free_port


@dataclass(frozen=True)
class StartupResult:
    loop: str
    exporter_s: float  # median, launch to the first 200 on /metrics
    baseline_s: float  # median, launch to the first 200 from the bare aiohttp server
    interpreter_s: float  # median, `python -c pass`
    runs: int


async def exporter_start(loop: str, flags: list[str]) -> float:
    port = free_port()
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        *exporter_command(loop, port, flags), cwd=REPO, env=CHILD_ENV
    )
    pin(process.pid, SERVER_CPUS)
    try:
        answered = await wait_for_http(f"http://127.0.0.1:{port}/metrics", process)
    finally:
        await stop_process(process)
    return answered - started


async def baseline_start(loop: str, exposition: Exposition) -> float:
    started = time.perf_counter()
    async with running_baseline(loop, exposition) as server:
        answered = await wait_for_http(server.url, server.process)
    return answered - started


async def interpreter_start() -> float:
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass", env=CHILD_ENV)
    await process.wait()
    return time.perf_counter() - started


async def startup(loop: str, runs: int) -> StartupResult:
    fake = await start_upstream(400)
    try:
        flags = exporter_flags(fake, "--min-interval", "86400")
        exporter_times = []
        for _ in range(runs):
            before = fake.count()
            exporter_times.append(await exporter_start(loop, flags))
            if fake.count() != before + 1:
                raise RuntimeError("the first scrape did not fetch the rates exactly once")
        exposition = Exposition(b"", b"", "text/plain")
        baseline_times = [await baseline_start(loop, exposition) for _ in range(runs)]
        interpreter_times = [await interpreter_start() for _ in range(runs)]
    finally:
        await fake.stop()
    return StartupResult(
        loop,
        statistics.median(exporter_times),
        statistics.median(baseline_times),
        statistics.median(interpreter_times),
        runs,
    )
