"""Rule evaluation cost: how long a real Prometheus takes to evaluate the collateral rule group
(the drop alert and the recordings it reads) for 400 assets, as Prometheus reports it
(`evaluationTime` of the group in /api/v1/rules), with the shipped settings.

    python bench/rule_evaluation.py                   # every tested Prometheus, 400 assets
    python bench/rule_evaluation.py --rules OLD.yml   # another rule file, to compare

Prometheus' storage is first filled with eight days of the group's recorded series at the
shipped evaluation interval (30 s), as a Prometheus that has run for a week holds them: the
dense ones for the last two hours (the rules read one hour), the remembered rate every 12 hours
for eight days (the rules look back 7.5 days); Prometheus compacts them as it would have. Then the
real exporter, fed by the fake Binance with 400 assets, is scraped at the shipped interval and
the group's evaluation time is read after each evaluation. The machine's load average is printed
with the figures: evaluation times are wall-clock times.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.support.fake_binance import FakeBinance  # noqa: E402
from tests.support.monitoring_stack import (  # noqa: E402
    ALERTS,
    exporter_args,
    prometheus_config,
    start_exporter,
    start_prometheus,
    stop_process,
    wait_for,
)
from tests.support.process import free_port  # noqa: E402
from tests.support.versions import ALL, Versions, reported_version  # noqa: E402

GROUP = "binance-pm-collateral"
JOB = "binance-pm"
BASE = "job_asset:binance_pm_collateral_rate"
STEP = 30.0  # the shipped evaluation interval
DENSE_HISTORY = 2 * 3600.0
REMEMBERED_EVERY = 12 * 3600.0
REMEMBERED_HISTORY = 8 * 86400.0


def rates(assets: int) -> dict[str, str]:
    return {f"A{number:03d}": f"{0.5 + (number % 5) / 10:.4f}" for number in range(assets)}


def history(assets: dict[str, str], now: float) -> Iterator[str]:
    """OpenMetrics text of the recorded series a week-old Prometheus holds."""
    end = now - 2 * STEP
    dense = [end - DENSE_HISTORY + i * STEP for i in range(int(DENSE_HISTORY / STEP) + 1)]
    sparse = [
        end - REMEMBERED_HISTORY + i * REMEMBERED_EVERY
        for i in range(int(REMEMBERED_HISTORY / REMEMBERED_EVERY) + 1)
    ]
    for suffix in ("max", "effective", "previous", "drop_from", "drop_to", "remembered"):
        name = f"{BASE}:{suffix}"
        yield f"# TYPE {name} gauge"
        moments = sparse if suffix == "remembered" else dense
        for asset, rate in assets.items():
            for moment in moments:
                yield f'{name}{{job="{JOB}",asset="{asset}"}} {rate} {moment:.3f}'
    seen = f"{BASE}:seen_timestamp_seconds"
    yield f"# TYPE {seen} gauge"
    for asset in assets:
        for moment in dense:
            yield f'{seen}{{job="{JOB}",asset="{asset}"}} {moment:.3f} {moment:.3f}'
    listed = "job:binance_pm_collateral_rate:seen_timestamp_seconds"
    yield f"# TYPE {listed} gauge"
    for moment in dense:
        yield f'{listed}{{job="{JOB}"}} {moment:.3f} {moment:.3f}'
    yield "# EOF"


def backfill(versions: Versions, listed: dict[str, str], work: Path) -> None:
    """Writes the history into the storage directory of the Prometheus to start."""
    data = work / "prometheus" / "data"
    data.mkdir(parents=True)
    openmetrics = work / "history.om"
    openmetrics.write_text("\n".join(history(listed, time.time())) + "\n", encoding="utf-8")
    subprocess.run(
        [
            versions.promtool,
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            str(openmetrics),
            str(data),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    openmetrics.unlink()


async def measure(
    versions: Versions, rules: Path, listed: dict[str, str], evaluations: int, work: Path
) -> list[float]:
    """The group's evaluation times (seconds) of `evaluations` evaluations after the first
    three (Prometheus settles: its first scrape, the backfilled blocks opened)."""
    assets = len(listed)
    fake = FakeBinance(listed)
    await fake.start()
    listen = f"127.0.0.1:{free_port()}"
    port = free_port()
    processes = []
    times: list[float] = []
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            processes.append(
                await start_exporter(
                    session, exporter_args(fake, listen), work / "exporter.log", listen
                )
            )
            config = prometheus_config([listen], rules=rules)
            processes.append(
                await start_prometheus(
                    session, config, work / "prometheus", port, versions, startup_timeout=300
                )
            )

            # Prometheus compacts the backfilled two-hour blocks into longer ones first, as a
            # Prometheus that ran for the week would hold them.
            async def compacted() -> bool:
                async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
                    text = await response.text()
                (loaded,) = [
                    line
                    for line in text.splitlines()
                    if line.startswith("prometheus_tsdb_blocks_loaded ")
                ]
                return float(loaded.split()[1]) <= 20

            await wait_for(compacted, "the backfilled blocks to be compacted", timeout=600)
            url = f"http://127.0.0.1:{port}/api/v1/rules"
            last = ""
            skipped = 0

            async def evaluated() -> tuple[str, float] | None:
                async with session.get(url) as response:
                    groups = (await response.json())["data"]["groups"]
                (group,) = [g for g in groups if g["name"] == GROUP]
                moment = group["lastEvaluation"]
                if moment == last or moment.startswith("0001"):
                    return None
                return moment, float(group["evaluationTime"])

            while len(times) < evaluations:
                last, seconds = await wait_for(evaluated, "an evaluation", timeout=120)
                if skipped < 3:
                    skipped += 1
                    continue
                times.append(seconds)

            query = f"http://127.0.0.1:{port}/api/v1/query"
            for expr, expected in (
                (f"count({BASE}:max)", assets),
                (f"count(count_over_time({BASE}:previous[1h]) > 100)", assets),
            ):
                async with session.get(query, params={"query": expr}) as response:
                    (result,) = (await response.json())["data"]["result"]
                assert int(float(result["value"][1])) == expected, (expr, result)
    finally:
        for process in reversed(processes):
            await stop_process(process)
        await fake.stop()
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assets", type=int, default=400)
    parser.add_argument("--evaluations", type=int, default=6)
    parser.add_argument("--rules", type=Path, default=ALERTS)
    parser.add_argument(
        "--versions",
        nargs="+",
        choices=[versions.name for versions in ALL],
        default=[versions.name for versions in ALL],
        help="the Prometheus versions to measure (default: every tested one)",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    report = {}
    for versions in [versions for versions in ALL if versions.name in args.versions]:
        listed = rates(args.assets)
        with tempfile.TemporaryDirectory(prefix="rule-evaluation-") as work:
            backfill(versions, listed, Path(work))
            times = asyncio.run(
                measure(versions, args.rules.resolve(), listed, args.evaluations, Path(work))
            )
        name = f"Prometheus {reported_version(versions.prometheus_server)}"
        report[name] = {
            "assets": args.assets,
            "evaluations_ms": [round(t * 1000, 2) for t in times],
            "median_ms": round(statistics.median(times) * 1000, 2),
            "max_ms": round(max(times) * 1000, 2),
        }
        report[name]["load_average_1m"] = round(os.getloadavg()[0], 2)
        if not args.json:
            figures = report[name]
            print(
                f"{name}: group {GROUP!r}, {args.assets} assets: median"
                f" {figures['median_ms']} ms, max {figures['max_ms']} ms"
                f" ({', '.join(map(str, figures['evaluations_ms']))}; load average"
                f" {figures['load_average_1m']})"
            )
    if args.json:
        print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
