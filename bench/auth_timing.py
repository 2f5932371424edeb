"""How long basic auth takes to refuse a wrong password, by kind of user, with hashes of
different bcrypt costs in one web config: a user with a cheap hash, one with the dearest, and a
user that does not exist. Every check costs the work of the dearest configured hash, so the
three should take the same time. The real exporter app (in this process) on loopback, one new
wrong password per request, the kinds interleaved; medians and quartiles in milliseconds.

    python -m bench.auth_timing [--rounds 40] [--costs 4,10] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import bcrypt

from bench.results import add_json_option, write_json
from tests.support.exporter import served
from tests.support.fake_binance import FakeBinance

PASSWORD = "right-password"


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


async def measure(rounds: int, costs: tuple[int, int]) -> dict[str, list[float]]:
    cheap, dear = costs
    fake = FakeBinance()
    await fake.start()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-auth-") as folder:
            path = Path(folder) / "web.yml"
            hashes = {
                user: bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(cost)).decode()
                for user, cost in (("cheap", cheap), ("dear", dear))
            }
            path.write_text(
                "basic_auth_users:\n" + "".join(f"  {u}: {h}\n" for u, h in hashes.items())
            )
            timings: dict[str, list[float]] = {"cheap": [], "dear": [], "unknown": []}
            async with (
                served(fake.url, web_config=path) as server,
                aiohttp.ClientSession() as session,
            ):
                for turn in range(rounds):
                    for user, samples in timings.items():
                        started = time.perf_counter()
                        headers = basic(user, f"wrong-{turn}")
                        async with session.get(server.url + "/", headers=headers) as r:
                            await r.read()
                        samples.append(time.perf_counter() - started)
            return timings
    finally:
        await fake.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.auth_timing", description=__doc__)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--costs", default="4,10", help="the cheap and the dear bcrypt cost")
    add_json_option(parser)
    args = parser.parse_args(argv)
    cheap, dear = (int(cost) for cost in args.costs.split(","))
    timings = asyncio.run(measure(args.rounds, (cheap, dear)))
    print(f"wrong password, {args.rounds} rounds, costs {cheap} and {dear}: ms (q1 median q3)")
    users: dict[str, dict[str, float]] = {}
    for user, samples in timings.items():
        q1, median, q3 = statistics.quantiles([s * 1000 for s in samples], n=4)
        print(f"  {user:<8} {q1:7.1f} {median:7.1f} {q3:7.1f}")
        users[user] = {"q1_ms": q1, "median_ms": median, "q3_ms": q3}
    write_json(
        args.json, "auth_timing", {"rounds": args.rounds, "costs": [cheap, dear], "users": users}
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
