"""The cost of one refresh, in-process, step by step: fetch + parse (the gate's request to the
fake Binance), render (prometheus_client, OpenMetrics as Prometheus asks), gzip, and a cached
lookup afterwards. Run as its own process, so the fake Binance's work is not counted.

    python -m bench.refresh_cost --url http://127.0.0.1:PORT --repeats 20
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
from bench.upstream import API_KEY, PROMETHEUS_ACCEPT
from exporter.config import load_config
from exporter.service import running_exporter
from exporter.upstream.endpoints import V1_PATH
from exporter.upstream.parse import parse_collateral_rates


async def measure(url: str, repeats: int) -> dict[str, object]:
    argv = ["--api-base-url", url, "--api-key", API_KEY, "--min-interval", "0"]
    config = load_config([*argv, "--max-stale", "86400"], {})
    steps: dict[str, list[float]] = {"refresh": [], "parse": [], "render": [], "gzip": []}
    cached: list[float] = []
    async with running_exporter(config) as exporter:
        cache = exporter.exposition
        body = (await exporter.client.get(V1_PATH, config.timeout)).body
        for attempt in range(repeats + 1):  # the first is a warm-up
            requests_before = exporter.v1.stats.requests
            started = time.perf_counter()
            await exporter.scrapes.refresh(time.monotonic() + config.timeout)
            fetched = time.perf_counter()
            plain = cache.for_request(PROMETHEUS_ACCEPT, "identity")
            rendered = time.perf_counter()
            gzipped = cache.for_request(PROMETHEUS_ACCEPT, "gzip")
            compressed = time.perf_counter()
            for _ in range(100):
                cache.for_request(PROMETHEUS_ACCEPT, "gzip")
            looked_up = time.perf_counter()
            parse_started = time.perf_counter()
            parsed = parse_collateral_rates(body)
            parse_done = time.perf_counter()
            if exporter.v1.stats.requests != requests_before + 1 or not exporter.v1.snapshot.up:
                raise RuntimeError("the refresh did not fetch the rates")
            if attempt:
                steps["refresh"].append(fetched - started)
                steps["render"].append(rendered - fetched)
                steps["gzip"].append(compressed - rendered)
                steps["parse"].append(parse_done - parse_started)
                cached.append((looked_up - compressed) / 100)
    return {
        "assets": len(parsed.rates),
        "repeats": repeats,
        **{f"{name}_ms": statistics.median(times) * 1e3 for name, times in steps.items()},
        "cached_lookup_us": statistics.median(cached) * 1e6,
        "identity_bytes": len(plain.body),
        "gzip_bytes": len(gzipped.body),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.refresh_cost", description=__doc__)
    parser.add_argument("--url", required=True, help="base URL of the fake Binance")
    parser.add_argument("--repeats", type=int, default=20)
    add_json_option(parser)
    args = parser.parse_args(argv)
    figures = asyncio.run(measure(args.url, args.repeats))
    print(json.dumps(figures), flush=True)
    write_json(args.json, "refresh_cost", figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
