"""Item 3: scaling in assets. For each size, the cost of one refresh (fetch + parse + render +
gzip, in-process) and of one cached scrape (over HTTP, against the baseline serving the same
bytes), and the exporter's resident size with that many assets."""

from __future__ import annotations

import sys
from dataclasses import dataclass

from bench.procs import SERVER_CPUS, run_json
from bench.throughput import ThroughputRow, compare
from bench.upstream import start_upstream


@dataclass(frozen=True)
class RefreshCost:
    assets: int
    refresh_ms: float  # fetch + parse, as the gate does it
    parse_ms: float
    render_ms: float
    gzip_ms: float
    cached_lookup_us: float
    identity_bytes: int
    gzip_bytes: int

    @property
    def total_ms(self) -> float:
        return self.refresh_ms + self.render_ms + self.gzip_ms


@dataclass(frozen=True)
class ScalingRow:
    cost: RefreshCost
    scrape: ThroughputRow  # one connection, gzip: the latency of a single cached scrape


def _float(result: dict[str, object], key: str) -> float:
    value = result[key]
    if not isinstance(value, int | float):
        raise RuntimeError(f"refresh_cost reported {key}={value!r}")
    return float(value)


async def refresh_cost(assets: int, repeats: int) -> RefreshCost:
    fake = await start_upstream(assets)
    try:
        command = [sys.executable, "-m", "bench.refresh_cost", "--url", fake.url]
        result = await run_json(
            [*command, "--repeats", str(repeats)], timeout=300.0, cpus=SERVER_CPUS
        )
    finally:
        await fake.stop()
    if int(_float(result, "assets")) != assets:
        raise RuntimeError(f"refresh_cost saw {result['assets']} assets, not {assets}")
    return RefreshCost(
        assets=assets,
        refresh_ms=_float(result, "refresh_ms"),
        parse_ms=_float(result, "parse_ms"),
        render_ms=_float(result, "render_ms"),
        gzip_ms=_float(result, "gzip_ms"),
        cached_lookup_us=_float(result, "cached_lookup_us"),
        identity_bytes=int(_float(result, "identity_bytes")),
        gzip_bytes=int(_float(result, "gzip_bytes")),
    )


async def scaling(
    loop: str,
    generator: str,
    sizes: tuple[int, ...],
    *,
    repeats: int,
    duration: float,
    steady_heap: bool = True,
) -> list[ScalingRow]:
    rows = []
    for assets in sizes:
        cost = await refresh_cost(assets, repeats)
        (scrape,) = await compare(
            loop,
            generator,
            assets=assets,
            connections=1,
            duration=duration,
            warmup=min(0.5, duration),
            encodings=("gzip",),
            steady_heap=steady_heap,
        )
        rows.append(ScalingRow(cost, scrape))
    return rows
