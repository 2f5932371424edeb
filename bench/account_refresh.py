"""Refresh rounds in a process of their own (so the fake Binance's work is not counted): every
endpoint due (all intervals 0), one refresh and one rendering per round; prints the median CPU
time of this process and wall time per round as JSON.

    python -m bench.account_refresh --repeats 20 -- <the exporter's flags>
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Sequence

from bench.results import add_json_option, write_json
from bench.upstream import PROMETHEUS_ACCEPT
from exporter.config import load_config
from exporter.service import running_exporter


async def measure(flags: Sequence[str], repeats: int) -> dict[str, object]:
    config = load_config(flags, {})
    cpu: list[float] = []
    wall: list[float] = []
    body = b""
    async with running_exporter(config) as exporter:
        for attempt in range(repeats + 1):  # the first is a warm-up (and learns the clock)
            before = [gate.stats.requests for gate in exporter.gates]
            started_cpu, started = time.process_time(), time.perf_counter()
            await exporter.scrapes.refresh(time.monotonic() + config.timeout)
            body = exporter.exposition.for_request(PROMETHEUS_ACCEPT, "identity").body
            if attempt:
                cpu.append(time.process_time() - started_cpu)
                wall.append(time.perf_counter() - started)
            after = [gate.stats.requests for gate in exporter.gates]
            if any(a != b + 1 for a, b in zip(after, before, strict=True)):
                raise RuntimeError("a round did not refresh every endpoint")
            if not all(gate.snapshot.up for gate in exporter.gates):
                raise RuntimeError("an endpoint failed")
    return {
        "gates": len(before),
        "cpu_ms": statistics.median(cpu) * 1e3,
        "wall_ms": statistics.median(wall) * 1e3,
        "body_bytes": len(body),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.account_refresh", description=__doc__)
    parser.add_argument("--repeats", type=int, default=20)
    add_json_option(parser)
    parser.add_argument("flags", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    flags = args.flags[1:] if args.flags[:1] == ["--"] else args.flags
    figures = asyncio.run(measure(flags, args.repeats))
    print(json.dumps(figures))
    write_json(args.json, "account_refresh", figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
