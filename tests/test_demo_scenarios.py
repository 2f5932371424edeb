"""The demo's scenarios (`--demo-scenario`), as the exporter shows them over time: the demo's
fake Binance runs on a scripted clock, and the real exporter scrapes it at the moments that
matter, hours of demo time in a second. The expected rates are worked out from the demo's
starting rates, not through the exporter."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from exporter.config import ConfigError, load_config
from exporter.config.settings import DEMO_SCENARIOS
from exporter.fakebinance.demo import DemoBinance, demo_assets
from exporter.fakebinance.demo_accounts import PM_PRO_NAME
from exporter.fakebinance.endpoints import V1_PATH
from exporter.fakebinance.scenarios import NAMES
from exporter.service import running_exporter
from tests.support.exporter import (
    PLAIN_ACCEPT,
    SECRET,
    WITH_SECRET,
    AiohttpClient,
    Running,
    exporter_starter,
)
from tests.support.samples import Samples, parse_samples, rates_of, value

MINUTE = 60.0
HOUR = 3600.0
BASE = {asset: round(rate, 4) for asset, rate in demo_assets().items()}


@dataclass
class Clock:
    now: float = 1_767_225_600.0  # 2026-01-01 00:00:00 UTC

    def __call__(self) -> float:
        return self.now


@dataclass
class Demo:
    clock: Clock
    binance: DemoBinance
    exporter: Running
    started: float

    async def at(self, seconds: float) -> Samples:
        """A scrape when the demo has run for `seconds`."""
        self.clock.now = self.started + seconds
        return await self.exporter.samples()


StartDemo = Callable[[str], Awaitable[Demo]]


@pytest.fixture
async def start_demo(aiohttp_client: AiohttpClient) -> AsyncIterator[StartDemo]:
    """Starts the demo's fake Binance of a scenario on a scripted clock, and the real exporter
    against it (with the tests' key and secret)."""
    binaries: list[DemoBinance] = []

    async def start(scenario: str) -> Demo:
        clock = Clock()
        binance = DemoBinance(scenario, clock=clock)
        binance.fake.api_key = None  # the tests' key
        binance.fake.api_secret = SECRET
        binaries.append(binance)
        url = await binance.start()
        starter = exporter_starter(url, aiohttp_client)
        start_exporter = await stack.enter_async_context(starter)
        running = await start_exporter("--max-stale", "86400", env=WITH_SECRET)
        return Demo(clock, binance, running, clock.now)

    async with AsyncExitStack() as stack:
        yield start
        for binance in binaries:
            await binance.stop()


async def asked(demo: Demo, seconds: float) -> tuple[int, Mapping[str, str], Any]:
    """What the demo's fake answers a v1 request when the demo has run for `seconds`."""
    demo.clock.now = demo.started + seconds
    async with (
        aiohttp.ClientSession() as session,
        session.get(demo.binance.fake.url + V1_PATH, headers={"X-MBX-APIKEY": "k"}) as response,
    ):
        return response.status, response.headers, await response.json(content_type=None)


def cut(asset: str, by: float) -> float:
    return round(BASE[asset] - by, 4)


def errors(samples: Samples, reason: str) -> float:
    return value(samples, "binance_pm_upstream_errors_total", endpoint="v1", reason=reason)


def test_the_scenarios_are_the_settings_choices() -> None:
    assert set(NAMES) == set(DEMO_SCENARIOS)
    assert load_config(["--demo"], {}).demo_scenario == "steady"
    assert load_config(["--demo", "--demo-scenario", "ban"], {}).demo_scenario == "ban"
    env = {"BINANCE_PM_DEMO_SCENARIO": "outage"}
    assert load_config(["--demo"], env).demo_scenario == "outage"
    with pytest.raises(ConfigError, match="--demo-scenario"):
        load_config(["--demo", "--demo-scenario", "apocalypse"], {})


@pytest.mark.slow
async def test_steady_holds_but_for_one_cut_and_restore_every_6_hours(
    start_demo: StartDemo,
) -> None:
    demo: Demo = await start_demo("steady")
    assert rates_of(await demo.at(0)) == BASE
    assert rates_of(await demo.at(9 * MINUTE + 59)) == BASE
    assert rates_of(await demo.at(10 * MINUTE)) == {**BASE, "ICP": cut("ICP", 0.10)}
    assert rates_of(await demo.at(39 * MINUTE + 59)) == {**BASE, "ICP": cut("ICP", 0.10)}
    assert rates_of(await demo.at(40 * MINUTE)) == BASE
    assert rates_of(await demo.at(6 * HOUR - 1)) == BASE
    assert rates_of(await demo.at(6 * HOUR + 10 * MINUTE))["ICP"] == cut("ICP", 0.10)
    assert rates_of(await demo.at(6 * HOUR + 40 * MINUTE)) == BASE


async def test_mass_cut_takes_25_assets_by_0_20_and_keeps_them_cut(start_demo: StartDemo) -> None:
    demo: Demo = await start_demo("mass-cut")
    assert rates_of(await demo.at(MINUTE)) == BASE
    after = rates_of(await demo.at(2 * MINUTE))
    changed = {asset for asset in BASE if after[asset] != BASE[asset]}
    assert len(changed) == 25
    assert all(after[asset] == cut(asset, 0.20) for asset in changed)
    assert all(0.25 <= BASE[asset] < 0.95 for asset in changed)
    assert rates_of(await demo.at(12 * HOUR)) == after


async def test_delisting_takes_icp_off_the_list(start_demo: StartDemo) -> None:
    demo: Demo = await start_demo("delisting")
    before = await demo.at(MINUTE)
    assert "ICP" in rates_of(before)
    assert value(before, "binance_pm_collateral_assets") == len(BASE)
    after = await demo.at(2 * MINUTE)
    assert rates_of(after) == {asset: rate for asset, rate in BASE.items() if asset != "ICP"}
    assert value(after, "binance_pm_collateral_assets") == len(BASE) - 1


async def test_outage_answers_503_for_10_minutes_then_heals(start_demo: StartDemo) -> None:
    demo: Demo = await start_demo("outage")
    assert value(await demo.at(MINUTE), "binance_pm_up") == 1.0
    down = await demo.at(2 * MINUTE)
    assert value(down, "binance_pm_up") == 0.0
    assert errors(down, "server_error") == 1.0
    assert rates_of(down) == BASE  # the last good rates, within --max-stale
    assert (await asked(demo, 12 * MINUTE - 1))[0] == 503
    status, _, body = await asked(demo, 12 * MINUTE)
    assert status == 200
    assert {entry["asset"]: float(entry["collateralRate"]) for entry in body} == BASE


async def test_ban_answers_418_with_the_seconds_left(start_demo: StartDemo) -> None:
    demo: Demo = await start_demo("ban")
    banned = await demo.at(2 * MINUTE)
    assert value(banned, "binance_pm_up") == 0.0
    assert errors(banned, "ip_banned") == 1.0
    early = demo.binance.fake.requests_inside_retry_after
    held = await demo.at(3 * MINUTE)  # within the ban: the exporter asks nothing
    assert demo.binance.fake.requests_inside_retry_after == early
    assert errors(held, "ip_banned") == 1.0
    status, headers, body = await asked(demo, 5 * MINUTE)
    assert (status, headers["Retry-After"], body["code"]) == (418, str(7 * 60), -1003)
    assert (await asked(demo, 12 * MINUTE))[0] == 200


async def test_account_near_liquidation_puts_the_pm_pro_account_at_1_1() -> None:
    argv = ["--demo", "--demo-scenario", "account-near-liquidation", "--min-interval", "0"]
    config = load_config([*argv, "--account-min-interval", "0"], {})
    async with running_exporter(config) as exporter:
        assert exporter.demo is not None
        assert exporter.demo.scenario == "account-near-liquidation"
        await exporter.scrapes.refresh(time.monotonic() + 10)
        text = exporter.exposition.for_request(PLAIN_ACCEPT, "").body.decode()
    samples = parse_samples(text)
    uni_mmr = value(samples, "binance_pm_account_uni_mmr", account=PM_PRO_NAME)
    assert uni_mmr == pytest.approx(1.1, abs=0.001)
    status = value(samples, "binance_pm_account_status", account=PM_PRO_NAME, status="REDUCE_ONLY")
    assert status == 1.0
