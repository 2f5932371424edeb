"""The fake Binance of `--demo`: a few hundred assets with Binance-like rates and tiers, the
demo's key and secret, and a scenario that moves the rates over the fake's clock (see
`exporter.fakebinance.scenarios`). The exporter serves it on a free loopback port and runs its
real client, gate and parser against it."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from aiohttp import web

from exporter.fakebinance import demo_accounts, scenarios
from exporter.fakebinance.replies import Reply
from exporter.fakebinance.server import FakeBinance

API_KEY = "demo-key"
API_SECRET = "demo-secret"
STABLECOINS = ("USDT", "USDC", "FDUSD", "TUSD", "USDP", "DAI", "BFUSD", "USDE", "PYUSD", "EURI")
MAJORS = ("BTC", "ETH", "BNB", "SOL", "XRP", "WBTC", "WBETH", "BETH", "BNSOL")
LONG_TAIL = (
    "ADA DOGE TRX TON LINK AVAX DOT MATIC POL SHIB LTC BCH UNI NEAR ATOM XLM ETC FIL APT ARB OP "
    "ICP HBAR VET MKR INJ RNDR RENDER GRT AAVE STX IMX SUI SEI TIA ALGO EGLD SAND MANA AXS THETA "
    "FTM FLOW CHZ KAVA XTZ EOS NEO IOTA ZEC DASH ENJ BAT ZIL CRV COMP SNX YFI SUSHI 1INCH LDO RPL "
    "GMX DYDX APE BLUR PEPE FLOKI BONK WIF ORDI SATS JUP PYTH JTO WLD FET AGIX OCEAN ARKM CYBER "
    "ID EDU MAV PENDLE RDNT STRK MANTA ALT PIXEL PORTAL AEVO ETHFI ENA W TNSR SAGA REZ BB NOT IO "
    "ZK LISTA ZRO BANANA RENDER TAO DOGS CATI HMSTR NEIRO TURBO PNUT ACT THE ME MOVE USUAL VANA "
    "PENGU BIO S TRUMP ANIME BERA LAYER KAITO SHELL RED GPS EPIC PARTI ONDO ENS QNT RUNE CAKE "
    "GALA KSM ROSE CFX AR MINA GMT JASMY LRC ANKR ONE CELO ICX QTUM ZRX SKL STORJ AUDIO COTI ONT "
    "HOT RVN SC DGB WAVES IOST ZEN BAND OGN CTSI NKN CELR ARPA DENT MTL OMG KNC REN BAL UMA LPT "
    "API3 MASK ALICE DAR HIGH MAGIC GLMR ASTR ACH PHB AMB LQTY SSV HOOK ID RIF TRB FXS CVX LUNA "
    "LUNC USTC ACE XAI NFP AI DYM JOY WOO MEME ORCA BOME ACX PEOPLE VANRY AXL SUPER FIDA NMR "
    "OXT PERP POWR QKC RLC SXP TWT VTHO WIN XVS YGG BICO C98 DODO FLM FORTH GTC HFT IDEX ILV "
    "JST KDA LINA LIT LOKA MBL MDT MOVR NTRN OM PROM PUNDIX QI RAD RARE REQ SLP SPELL STEEM STG "
    "SYN SYS T TLM TRU UTK VIC VOXEL WAXP XEC XNO ZEN"
).split()
DIGITS_FIRST = ("1000SATS", "1000CAT", "1000CHEEMS", "1MBABYDOGE", "1000PEPE", "1000BONK")
NON_ASCII = ("币安人生",)
RATE_STEPS = (0.05, 0.1)
NO_CAP = 99999999999.0
TIER_FACTORS = (1.0, 0.9, 0.75, 0.5)
LARGE_TIER_FLOORS = (0.0, 1_000_000.0, 10_000_000.0, 50_000_000.0)
SMALL_TIER_FLOORS = (0.0, 20_000.0, 100_000.0, 500_000.0)


def demo_tiers(asset: str, rate: float) -> list[dict[str, str]]:
    """Tiers of one asset as Binance lists them: the rate falls as the USD value held grows;
    `cum` is what Binance calls the account equity quick addition number."""
    floors = LARGE_TIER_FLOORS if asset in STABLECOINS or asset in MAJORS else SMALL_TIER_FLOORS
    caps = (*floors[1:], NO_CAP)
    tiers: list[dict[str, str]] = []
    cum = 0.0
    previous_rate = 0.0
    for floor, cap, factor in zip(floors, caps, TIER_FACTORS, strict=True):
        tier_rate = round(rate * factor, 4)
        cum += floor * (previous_rate - tier_rate)
        previous_rate = tier_rate
        tiers.append(
            {
                "tierFloor": f"{floor:.4f}",
                "tierCap": f"{cap:.4f}",
                "collateralRate": f"{tier_rate:.4f}",
                "cum": f"{cum:.4f}",
            }
        )
    return tiers


def demo_assets(seed: int = 7) -> dict[str, float]:
    """The demo's starting rates: stablecoins near 1, majors around 0.95, a long tail to 0.1."""
    rng = random.Random(seed)
    rates: dict[str, float] = {}
    for asset in STABLECOINS:
        rates[asset] = rng.choice((1.0, 1.0, 0.9999, 0.99, 0.95))
    for asset in MAJORS:
        rates[asset] = rng.choice((0.95, 0.95, 0.9, 0.85))
    for asset in (*LONG_TAIL, *DIGITS_FIRST, *NON_ASCII):
        if asset not in rates:
            rates[asset] = rng.choice((0.8, 0.75, 0.7, 0.6, 0.5, 0.45, 0.35, 0.25, 0.15, 0.1))
    return rates


class DemoBinance:
    """The demo's fake Binance: `rates` are the demo's own (floats, by asset), moved by the
    scenario when one of its events comes (a change made by hand meanwhile stays until the
    scenario changes that asset); every request is answered from them, the tiers follow them,
    and the demo accounts (`exporter.fakebinance.demo_accounts`) are valued at them."""

    def __init__(self, scenario: str = scenarios.DEFAULT, clock: Callable[[], float] = time.time):
        self.scenario = scenario
        self.plan = scenarios.SCENARIOS[scenario](demo_assets())
        self.clock = clock
        self.started = clock()
        self._planned = self.plan.rates_at(0.0)
        self.rates: dict[str, float] = dict(self._planned)
        self.fake = FakeBinance(clock=clock)
        self.fake.api_key = API_KEY
        self.fake.api_secret = API_SECRET
        self.fake.tiers_source = self._tiers
        self.fake.scripts.append(self._follow_the_scenario)
        self.accounts = demo_accounts.demo_accounts(
            self.current_rates, self.tier_lists, (API_KEY,), scenario
        )
        self.fake.mounts.append(self.accounts.mount)

    def elapsed(self) -> float:
        return self.clock() - self.started

    def current_rates(self) -> dict[str, float]:
        planned = self.plan.rates_at(self.elapsed())
        if planned != self._planned:
            for asset in self._planned.keys() - planned.keys():
                self.rates.pop(asset, None)
            for asset, rate in planned.items():
                if self._planned.get(asset) != rate:
                    self.rates[asset] = rate
            self._planned = planned
        return self.rates

    def tier_lists(self) -> dict[str, list[tuple[float, float]]]:
        return {
            asset: [(float(t["tierFloor"]), float(t["collateralRate"])) for t in tiers]
            for asset, tiers in self._tiers().items()
        }

    def _tiers(self) -> dict[str, list[dict[str, str]]]:
        return {asset: demo_tiers(asset, rate) for asset, rate in self.current_rates().items()}

    def _follow_the_scenario(self, request: web.Request) -> Reply | None:
        rates = self.current_rates()
        self.fake.rates = {asset: f"{rate:.4f}" for asset, rate in rates.items()}
        return self.plan.fault_at(self.elapsed())

    async def start(self) -> str:
        """Serves on a free loopback port; returns its URL."""
        return await self.fake.start()

    async def stop(self) -> None:
        await self.fake.stop()
