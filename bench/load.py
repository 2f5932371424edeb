"""Driving load at servers from another process: bench/loadgen.py (Python, always available) or
wrk (C, if installed), both closed-loop over keep-alive connections. With several servers the
load alternates between them in short turns (A B B A ...), so that noise from anything else on
the machine falls on all of them alike; each server's CPU time is counted during its own turns.
"""

from __future__ import annotations

import math
import shutil
import statistics
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass

from bench import procstat
from bench.procs import Server, run_json

GENERATORS = ("python", "wrk")
SLICE_SECONDS = 0.5  # one turn of the Python generator; wrk's shortest run is 1s
WRK_REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "elapsed": %f, "non_200": %d, "socket_errors": %d, '
    .. '"p50_ms": %f, "p99_ms": %f}\\n',
    summary.requests, summary.duration / 1e6, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


WrkRun = tuple[dict[str, object], procstat.Counters]  # wrk's report, the server's counters


@dataclass(frozen=True)
class LoadResult:
    requests: int
    non_200: int
    elapsed: float
    p50_ms: float
    p99_ms: float
    cpu_seconds: float
    minor_faults: int
    body_lengths: tuple[int, ...]
    turn_rps: tuple[float, ...]  # requests per second in each turn, in order

    @property
    def rps(self) -> float:
        return self.requests / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def cpu_us_per_request(self) -> float:
        return self.cpu_seconds / self.requests * 1e6 if self.requests else 0.0

    @property
    def faults_per_request(self) -> float:
        return self.minor_faults / self.requests if self.requests else 0.0


def combine(results: Sequence[LoadResult]) -> LoadResult:
    """Several runs against equivalent servers as one: totals, and the median percentiles."""
    return LoadResult(
        requests=sum(r.requests for r in results),
        non_200=sum(r.non_200 for r in results),
        elapsed=sum(r.elapsed for r in results),
        p50_ms=statistics.median(r.p50_ms for r in results),
        p99_ms=statistics.median(r.p99_ms for r in results),
        cpu_seconds=sum(r.cpu_seconds for r in results),
        minor_faults=sum(r.minor_faults for r in results),
        body_lengths=tuple(sorted({n for r in results for n in r.body_lengths})),
        turn_rps=tuple(rps for r in results for rps in r.turn_rps),
    )


def wrk_installed() -> bool:
    return shutil.which("wrk") is not None


def ensure_generator(name: str) -> None:
    if name not in GENERATORS:
        raise ValueError(f"unknown load generator {name!r}; expected one of {GENERATORS}")
    if name == "wrk" and not wrk_installed():
        raise RuntimeError("wrk is not installed (Debian/Ubuntu: apt-get install wrk)")


def _number(value: object) -> float:
    if isinstance(value, int | float):
        return float(value)
    raise RuntimeError(f"the load generator reported {value!r} where a number was expected")


def _list(value: object) -> list[object]:
    if isinstance(value, list):
        return value
    raise RuntimeError(f"the load generator reported {value!r} where a list was expected")


async def drive(
    generator: str,
    servers: Sequence[Server],
    headers: Sequence[tuple[str, str]],
    *,
    connections: int,
    duration: float,
    warmup: float = 0.0,
    requests: int | None = None,
) -> list[LoadResult]:
    """Load on each server for `duration` seconds in alternating turns, after `warmup` seconds
    each; or (Python generator, one server) until `requests` answers."""
    if generator == "wrk":
        if requests is not None:
            raise ValueError("wrk runs for a duration, not a number of requests")
        return await _wrk(servers, headers, connections, duration, warmup)
    command = [sys.executable, "-m", "bench.loadgen", "--connections", str(connections)]
    command += ["--duration", str(duration), "--warmup", str(warmup)]
    command += ["--slice", str(SLICE_SECONDS)]
    for server in servers:
        command += ["--url", server.url, "--pid", str(server.pid)]
    if requests is not None:
        command += ["--requests", str(requests)]
    for name, value in headers:
        command += ["--header", f"{name}: {value}"]
    result = await run_json(command, timeout=(duration + warmup) * len(servers) + 600.0)
    found = []
    for target in _list(result["targets"]):
        assert isinstance(target, dict)
        turns = []
        for turn in _list(target["slices"]):
            assert isinstance(turn, dict)
            elapsed = _number(turn["elapsed"])
            turns.append(_number(turn["requests"]) / elapsed if elapsed > 0 else 0.0)
        found.append(
            LoadResult(
                requests=int(_number(target["requests"])),
                non_200=int(_number(target["non_200"])),
                elapsed=_number(target["elapsed"]),
                p50_ms=_number(target["p50_ms"]),
                p99_ms=_number(target["p99_ms"]),
                cpu_seconds=_number(target["cpu_seconds"]),
                minor_faults=int(_number(target["minor_faults"])),
                body_lengths=tuple(int(_number(n)) for n in _list(target["body_lengths"])),
                turn_rps=tuple(turns),
            )
        )
    return found


async def _wrk_once(
    server: Server, headers: Sequence[tuple[str, str]], connections: int, seconds: int
) -> WrkRun:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="bench-wrk-") as script:
        script.write(WRK_REPORT)
        script.flush()
        command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s"]
        command += ["-s", script.name]
        for name, value in headers:
            command += ["-H", f"{name}: {value}"]
        before = procstat.counters(server.pid)
        result = await run_json([*command, server.url], timeout=seconds + 60.0)
        return result, procstat.counters(server.pid) - before


async def _wrk(
    servers: Sequence[Server],
    headers: Sequence[tuple[str, str]],
    connections: int,
    duration: float,
    warmup: float,
) -> list[LoadResult]:
    if warmup > 0:
        for server in servers:
            await _wrk_once(server, headers, connections, max(1, math.ceil(warmup)))
    turns = max(1, round(duration)) if len(servers) > 1 else 1
    seconds = max(1, math.ceil(duration / turns))
    runs: dict[int, list[WrkRun]] = {id(s): [] for s in servers}
    for number in range(turns):
        for server in servers if number % 2 == 0 else servers[::-1]:
            runs[id(server)].append(await _wrk_once(server, headers, connections, seconds))
    found = []
    for server in servers:
        results = runs[id(server)]
        found.append(
            LoadResult(
                requests=int(sum(_number(r["requests"]) for r, _ in results)),
                non_200=int(
                    sum(_number(r["non_200"]) + _number(r["socket_errors"]) for r, _ in results)
                ),
                elapsed=sum(_number(r["elapsed"]) for r, _ in results),
                p50_ms=statistics.median(_number(r["p50_ms"]) for r, _ in results),
                p99_ms=statistics.median(_number(r["p99_ms"]) for r, _ in results),
                cpu_seconds=sum(used.cpu_seconds for _, used in results),
                minor_faults=sum(used.minor_faults for _, used in results),
                body_lengths=(),
                turn_rps=tuple(_number(r["requests"]) / _number(r["elapsed"]) for r, _ in results),
            )
        )
    return found


async def scrape_exactly(
    server: Server, headers: Sequence[tuple[str, str]], count: int, connections: int
) -> None:
    """`count` scrapes of `server` (Python generator); RuntimeError unless all answered 200."""
    (load,) = await drive(
        "python", [server], headers, connections=connections, duration=3600.0, requests=count
    )
    if load.requests != count or load.non_200:
        raise RuntimeError(f"{server.name}: {load.requests} scrapes, {load.non_200} not 200")
