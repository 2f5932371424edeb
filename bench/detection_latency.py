"""Detection latency: from a rate change at the upstream to the notification at the receiver,
through the real chain (fake Binance -> exporter -> Prometheus with the shipped rules ->
Alertmanager with the shipped routing -> webhook), with the shipped example settings unless
told otherwise.

    python bench/detection_latency.py                  # shipped settings, 2 rounds, ~10 minutes
    python bench/detection_latency.py --min-interval 15 --scrape-interval 30s \\
        --evaluation-interval 15s --group-wait 10s      # the faster settings of docs/alerts.md

Each round starts the chain afresh and stages three drops, each at a random moment of the
cycles: a warning and a critical one, each the first of its Alertmanager group (the default
receiver's and the pager's: group_wait applies), then a further warning while the default
receiver's group is active (group_interval applies instead). Worst cases: min-interval +
scrape_interval + evaluation_interval + group_wait, and the same with group_interval for the
further drop.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.results import add_json_option, write_json  # noqa: E402
from tests.support.monitoring_stack import (  # noqa: E402
    AlertingStack,
    Settings,
    alerting_stack,
    seconds,
    shipped,
    wait_for,
)

DROP_ALERT = "BinancePMCollateralRateDropped"
# (asset, new rate, receiver, first of its group): from 0.60, a fall by 0.25 is critical.
DROPS = (
    ("ICP", "0.4500", "default", True),
    ("COMP", "0.3500", "pager", True),
    ("WLD", "0.4500", "default", False),
)


@dataclass(frozen=True)
class Trial:
    round: int
    asset: str
    receiver: str
    first_in_group: bool
    latency_s: float
    worst_case_s: float


async def drop_and_wait(
    stack: AlertingStack, asset: str, rate: str, receiver: str, spread: float
) -> float:
    """Lowers the asset's rate at a random moment within `spread` seconds; the seconds until the
    receiver has it."""
    await asyncio.sleep(random.uniform(0, spread))
    staged = time.time()
    stack.fake.rates[asset] = rate

    async def notified() -> float | None:
        for notification in stack.webhook.notifications:
            for alert in notification.alerts:
                labels = alert["labels"]
                if labels["alertname"] == DROP_ALERT and labels["asset"] == asset:
                    assert notification.receiver == receiver, notification
                    return notification.at - staged
        return None

    return await wait_for(notified, f"the drop of {asset} at the receiver", timeout=600)


async def measure(settings: Settings, round_: int, directory: Path) -> list[Trial]:
    rates = {asset: "0.6000" for asset, _, _, _ in DROPS} | {"BTC": "0.9500"}
    async with alerting_stack(
        directory,
        rates,
        interval=settings.scrape_interval,
        evaluation_interval=settings.evaluation_interval,
        timings={"group_wait": settings.group_wait, "group_interval": settings.group_interval},
        exporter_flags=("--min-interval", f"{settings.min_interval:g}"),
    ) as stack:
        # The drop rule needs one recorded sample before the drop.
        async def recorded() -> bool:
            return len(await stack.query("job_asset:binance_pm_collateral_rate:max")) == len(rates)

        await wait_for(recorded, "the rates to be recorded", timeout=600)
        trials = []
        spread = seconds(settings.scrape_interval)
        for asset, rate, receiver, first in DROPS:
            latency = await drop_and_wait(stack, asset, rate, receiver, spread)
            trial = Trial(round_, asset, receiver, first, latency, settings.worst_case(first))
            trials.append(trial)
            print(
                f"round {round_} {asset} to {receiver}: {latency:.1f} s "
                f"({'first of its group' if first else 'further drop'}, "
                f"worst case {trial.worst_case_s:.0f} s)",
                flush=True,
            )
        return trials


def main(argv: list[str] | None = None) -> int:
    defaults = shipped()
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--min-interval", type=float, default=defaults.min_interval)
    parser.add_argument("--scrape-interval", default=defaults.scrape_interval)
    parser.add_argument("--evaluation-interval", default=defaults.evaluation_interval)
    parser.add_argument("--group-wait", default=defaults.group_wait)
    parser.add_argument("--group-interval", default=defaults.group_interval)
    add_json_option(parser)
    args = parser.parse_args(argv)
    settings = Settings(
        args.min_interval,
        args.scrape_interval,
        args.evaluation_interval,
        args.group_wait,
        args.group_interval,
    )
    print(f"settings: {asdict(settings)}", flush=True)
    trials: list[Trial] = []
    for round_ in range(1, args.rounds + 1):
        with tempfile.TemporaryDirectory(prefix="detection-latency-") as directory:
            trials += asyncio.run(measure(settings, round_, Path(directory)))
    for first in (True, False):
        latencies = [t.latency_s for t in trials if t.first_in_group == first]
        print(
            f"{'first of a group' if first else 'further drop'}: "
            f"min {min(latencies):.1f} s, median {statistics.median(latencies):.1f} s, "
            f"max {max(latencies):.1f} s over {len(latencies)} drops "
            f"(worst case {settings.worst_case(first):.0f} s)"
        )
    figures = {"settings": asdict(settings), "trials": [asdict(t) for t in trials]}
    write_json(args.json, "detection_latency", figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
