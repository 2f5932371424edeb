"""What watching Portfolio Margin accounts costs: a desk of 10 accounts of 40 held assets each
(400 assets, half of them PM Pro with tiers, half PM) on the fake Binance.

1. cached-scrape throughput of /metrics against a bare aiohttp server serving the same bytes,
   side by side under the same load generator (goal: ratio >= 0.93);
2. the refresh cost per account: CPU time of the exporter's process to refresh everything
   (account, balances, prices, rates) and render, with the accounts and without them;
3. request weight per minute at the default intervals, counted from the weights the fake
   charged for one refresh round of every endpoint.

Prints Markdown; exits 1 if a correctness check fails, never because of a speed figure.

    python -m bench.accounts            # about a minute
    python -m bench.accounts --quick    # seconds: proves it runs
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import aiohttp  # noqa: E402

from bench.load import LoadResult, combine, drive  # noqa: E402
from bench.loops import installed_loops  # noqa: E402
from bench.procs import (  # noqa: E402
    SERVER_CPUS,
    Launch,
    enter_together,
    run_json,
    running_baseline,
    running_exporter,
)
from bench.results import add_json_option, write_json  # noqa: E402
from bench.throughput import check, fetch_exposition  # noqa: E402
from bench.upstream import API_KEY, asset_name, prometheus_headers  # noqa: E402
from exporter.fakebinance.accounts import WEIGHTS, FakeAccount  # noqa: E402
from tests.support.fake_accounts import AccountsFakeBinance, write_accounts_file  # noqa: E402
from tests.support.fake_binance import NO_CAP, tier  # noqa: E402

ACCOUNTS = 10
ASSETS_PER_ACCOUNT = 40
RATES_SECRET = "bench-rates-secret-0123456789abcdef"
CACHED = "86400"
DEFAULT_INTERVAL = 30.0  # --min-interval and --account-min-interval


def desk(accounts: int = ACCOUNTS, per_account: int = ASSETS_PER_ACCOUNT) -> AccountsFakeBinance:
    """The fake with `accounts` accounts (even ones PM Pro, odd ones PM), each holding its own
    `per_account` assets, every asset with a rate, a price, and (for a third) tiers."""
    assets = [asset_name(i) for i in range(accounts * per_account)]
    rates = {asset: f"{0.5 + (i % 50) / 100:.4f}" for i, asset in enumerate(assets)}
    tiers = {
        asset: [
            tier("0.0000", "50000.0000", rates[asset]),
            tier("50000.0000", NO_CAP, f"{float(rates[asset]) * 0.8:.4f}"),
        ]
        for asset in assets[::3]
    }
    prices = {asset: 1.0 + i * 0.37 for i, asset in enumerate(assets)}
    fake = AccountsFakeBinance(rates, tiers, prices, RATES_SECRET, (API_KEY,))
    for number in range(accounts):
        held = assets[number * per_account : (number + 1) * per_account]
        product = "pm_pro" if number % 2 == 0 else "pm"
        balances = {
            asset: {"crossMarginAsset": 100.0 + k, "umUnrealizedPNL": -0.5}
            for k, asset in enumerate(held)
        }
        fake.accounts.add(
            FakeAccount(
                f"acct{number:02d}",
                product,
                f"bench-key-{number:02d}-0123456789",
                f"bench-secret-{number:02d}-0123456789",
                balances,
                maintenance_margin=10_000.0,
                account_type="PM_1" if product == "pm_pro" else "PM_2",
            )
        )
    return fake


def exporter_flags(fake: AccountsFakeBinance, folder: Path, interval: str) -> list[str]:
    (folder / "rates.secret").write_text(RATES_SECRET + "\n")
    accounts_file = write_accounts_file(folder, list(fake.accounts.accounts.values()))
    return [
        "--api-base-url",
        fake.url,
        "--papi-base-url",
        fake.url,
        "--api-key",
        API_KEY,
        "--api-secret-file",
        str(folder / "rates.secret"),
        "--accounts-file",
        str(accounts_file),
        "--min-interval",
        interval,
        "--account-min-interval",
        interval,
        "--max-stale",
        "86400",
    ]


@dataclass(frozen=True)
class ThroughputRow:
    loop: str
    encoding: str
    body_bytes: int
    bare: LoadResult
    exporter: LoadResult

    @property
    def ratio(self) -> float:
        return self.exporter.rps / self.bare.rps


async def throughput(
    loop: str, generator: str, connections: int, duration: float, warmup: float, pairs: int
) -> list[ThroughputRow]:
    """The exporter with the desk's accounts (everything cached after the first scrape) and the
    bare aiohttp server serving its very bytes, in alternating turns, over `pairs` fresh sets
    of processes."""
    fake = desk()
    await fake.start()
    loads: dict[str, list[list[LoadResult]]] = {"identity": [], "gzip": []}
    lengths: dict[str, int] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-accounts-") as folder:
            flags = exporter_flags(fake, Path(folder), CACHED)
            for _ in range(pairs):
                async with AsyncExitStack() as stack:
                    launch = Launch(steady_heap=True)
                    (exp,) = await enter_together(
                        stack, [running_exporter(loop, flags, launch=launch)]
                    )
                    exposition = await fetch_exposition(exp.url)
                    if b'binance_pm_account_asset_collateral_value_usd{account="acct09"' not in (
                        exposition.identity
                    ):
                        raise RuntimeError("the exposition lacks the accounts' series")
                    bare = await stack.enter_async_context(
                        running_baseline(loop, exposition, launch)
                    )
                    for encoding in loads:
                        gzip = encoding == "gzip"
                        length = len(exposition.gzipped if gzip else exposition.identity)
                        result = await drive(
                            generator,
                            [bare, exp],
                            prometheus_headers(gzip),
                            connections=connections,
                            duration=duration / pairs,
                            warmup=warmup,
                        )
                        for server, load in zip((bare, exp), result, strict=True):
                            check(server.name, load, length)
                        loads[encoding].append(result)
                        lengths[encoding] = length
        account_requests = len(fake.accounts.requests)
        expected = pairs * (1 + 2 * ACCOUNTS)  # index prices + account and balance each
        if account_requests != expected:
            raise RuntimeError(f"{account_requests} account requests, expected {expected}")
    finally:
        await fake.stop()
    return [
        ThroughputRow(
            loop,
            encoding,
            lengths[encoding],
            combine([run[0] for run in runs]),
            combine([run[1] for run in runs]),
        )
        for encoding, runs in loads.items()
    ]


@dataclass(frozen=True)
class RefreshRow:
    accounts: int
    cpu_ms: float  # median CPU time of the exporter's process per refresh round
    wall_ms: float
    body_bytes: int


async def refresh_cost(repeats: int) -> list[RefreshRow]:
    """Refresh rounds (every endpoint due, then a render) in a process of their own
    (bench/account_refresh.py), against the desk and against no accounts."""
    fake = desk()
    await fake.start()
    rows = []
    try:
        with tempfile.TemporaryDirectory(prefix="bench-accounts-") as folder:
            flags = exporter_flags(fake, Path(folder), "0")
            for with_accounts in (False, True):
                chosen = flags if with_accounts else without_accounts(flags)
                command = [sys.executable, "-m", "bench.account_refresh"]
                command += ["--repeats", str(repeats), "--", *chosen]
                result = await run_json(command, timeout=600.0, cpus=SERVER_CPUS)
                rows.append(
                    RefreshRow(
                        ACCOUNTS if with_accounts else 0,
                        float(str(result["cpu_ms"])),
                        float(str(result["wall_ms"])),
                        int(str(result["body_bytes"])),
                    )
                )
    finally:
        await fake.stop()
    return rows


def without_accounts(flags: Sequence[str]) -> list[str]:
    chosen = list(flags)
    at = chosen.index("--accounts-file")
    del chosen[at : at + 2]
    return chosen


@dataclass(frozen=True)
class WeightRow:
    endpoint_path: str
    requests_per_round: float
    weight_per_request: int
    header: str

    def per_minute(self, interval: float = DEFAULT_INTERVAL) -> float:
        return self.requests_per_round * self.weight_per_request * 60.0 / interval


async def weights(rounds: int) -> list[WeightRow]:
    """Requests per refresh round of each account endpoint, counted by the fake over `rounds`
    rounds of an exporter whose every interval is 0.5 s: what the default 30 s makes twice
    a minute."""
    fake = desk()
    await fake.start()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-accounts-") as folder:
            flags = exporter_flags(fake, Path(folder), "0.5")
            async with AsyncExitStack() as stack:
                (exp,) = await enter_together(stack, [running_exporter("asyncio", flags)])
                async with aiohttp.ClientSession() as session:
                    for _ in range(rounds):
                        async with session.get(exp.url) as response:
                            await response.read()
                        await asyncio.sleep(0.55)
        counted = {path: fake.accounts.count(path) for path in WEIGHTS}
    finally:
        await fake.stop()
    return [
        WeightRow(path, counted[path] / rounds, weight, header)
        for path, (weight, header) in WEIGHTS.items()
    ]


RATES_WEIGHT_PER_ROUND = 100  # v1 and v2, 50 each, once per --min-interval


def weight_totals(rows: Sequence[WeightRow]) -> list[str]:
    """The desk's weight per minute at the defaults, by budget."""
    by_header: dict[str, float] = {}
    for row in rows:
        by_header[row.header] = by_header.get(row.header, 0.0) + row.per_minute()
    sapi = by_header.get("X-SAPI-USED-IP-WEIGHT-1M", 0.0)
    rates = RATES_WEIGHT_PER_ROUND * 60.0 / DEFAULT_INTERVAL
    return [
        f"At the default intervals the desk costs {sapi:,.0f} of sapi's 12,000 IP weight a "
        f"minute ({sapi + rates:,.0f} with the rates), "
        f"{by_header.get('X-MBX-USED-WEIGHT-1M', 0.0):,.0f} of papi's 6,000, and "
        f"{by_header.get('X-SAPI-USED-UID-WEIGHT-1M', 0.0) / (ACCOUNTS / 2):,.0f} of UID "
        "weight per PM Pro account."
    ]


def render(
    throughput_rows: Sequence[ThroughputRow],
    refresh_rows: Sequence[RefreshRow],
    weight_rows: Sequence[WeightRow],
    command: str,
) -> str:
    parts = [
        "## Accounts benchmark",
        "",
        f"Command: `{command}`; {ACCOUNTS} accounts of {ASSETS_PER_ACCOUNT} held assets each.",
        "",
        "| loop | encoding | body bytes | bare aiohttp req/s | exporter req/s | ratio "
        "| CPU µs per scrape: bare / exporter |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in throughput_rows:
        parts.append(
            f"| {row.loop} | {row.encoding} | {row.body_bytes:,} | {row.bare.rps:,.0f} | "
            f"{row.exporter.rps:,.0f} | **{row.ratio:.3f}** | "
            f"{row.bare.cpu_us_per_request:.0f} / {row.exporter.cpu_us_per_request:.0f} |"
        )
    if refresh_rows:
        base, desk_row = refresh_rows[0], refresh_rows[-1]
        per_account = (desk_row.cpu_ms - base.cpu_ms) / ACCOUNTS
        parts += [
            "",
            "| accounts | CPU ms per refresh round | wall ms | body bytes |",
            "|---|---|---|---|",
            *(
                f"| {r.accounts} | {r.cpu_ms:.2f} | {r.wall_ms:.2f} | {r.body_bytes:,} |"
                for r in refresh_rows
            ),
            "",
            f"Refresh cost per account: **{per_account:.2f} ms** of CPU per round "
            f"(twice a minute at the default --account-min-interval).",
        ]
    if weight_rows:
        parts += [
            "",
            "| endpoint | requests per round | weight each | counted in | per minute at 30 s |",
            "|---|---|---|---|---|",
            *(
                f"| `{r.endpoint_path}` | {r.requests_per_round:g} | {r.weight_per_request} | "
                f"{r.header} | {r.per_minute():,.0f} |"
                for r in weight_rows
            ),
            "",
            *weight_totals(weight_rows),
        ]
    worst = min((r.ratio for r in throughput_rows), default=None)
    if worst is not None:
        parts += ["", f"- cached scrape >= 0.93 x bare aiohttp: {'yes' if worst >= 0.93 else 'NO'}"]
    return "\n".join(parts) + "\n"


async def run(args: argparse.Namespace) -> tuple[str, dict[str, object]]:
    loop = args.loop
    duration, warmup, pairs = (0.3, 0.0, 1) if args.quick else (args.duration, 0.5, args.pairs)
    rows = await throughput(loop, "python", args.connections, duration, warmup, pairs)
    refresh = await refresh_cost(2 if args.quick else 20)
    weight_rows = await weights(2 if args.quick else 6)
    command = ("python -m bench.accounts " + " ".join(args.argv)).strip()
    figures: dict[str, object] = {
        "command": command,
        "throughput": [asdict(row) for row in rows],
        "refresh": [asdict(row) for row in refresh],
        "weights": [asdict(row) for row in weight_rows],
    }
    return render(rows, refresh, weight_rows, command), figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.accounts", description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--loop", choices=installed_loops(), default=installed_loops()[-1])
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--pairs", type=int, default=4)
    parser.add_argument("--connections", type=int, default=16)
    add_json_option(parser)
    given = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(given)
    args.argv = given
    started = time.monotonic()
    try:
        text, figures = asyncio.run(run(args))
    except RuntimeError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    print(text + f"\n({time.monotonic() - started:.0f} s)")
    write_json(args.json, "accounts", figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
