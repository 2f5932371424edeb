"""A simulated Binance upstream for --demo: a few hundred assets whose rates step now and then,
served over HTTP on a free loopback port, so the demo runs the real client, gate and parser.
The tiered (v2) rates follow the flat ones and are signed-checked like Binance's."""

from __future__ import annotations

import hmac
import json
import random
import time
from collections.abc import Callable

from aiohttp import web

from exporter.upstream.signing import signature

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


class DemoUpstream:
    """Serves GET /sapi/v1/portfolio/collateralRate like Binance. Every `step_seconds` one
    asset's rate steps down or up by 0.05 or 0.1 (never below 0.05 nor above 1)."""

    API_KEY = "demo-key"
    API_SECRET = "demo-secret"

    def __init__(self, step_seconds: float = 60.0, seed: int | None = None) -> None:
        self.rates = demo_assets()
        self._rng = random.Random(seed)
        self._step_seconds = step_seconds
        self._last_step = time.monotonic()
        self._runner: web.AppRunner | None = None
        self._weight_minute = 0
        self._weight = 0

    def _maybe_step(self) -> None:
        now = time.monotonic()
        while now - self._last_step >= self._step_seconds:
            self._last_step += self._step_seconds
            asset = self._rng.choice([a for a in self.rates if a not in STABLECOINS])
            change = self._rng.choice(RATE_STEPS) * self._rng.choice((-1, 1))
            self.rates[asset] = round(min(1.0, max(0.05, self.rates[asset] + change)), 4)

    def _used_weight(self, weight: int) -> int:
        minute = int(time.time() // 60)
        if minute != self._weight_minute:
            self._weight_minute, self._weight = minute, 0
        self._weight += weight
        return self._weight

    async def _collateral_rate(self, request: web.Request) -> web.Response:
        if request.headers.get("X-MBX-APIKEY") != self.API_KEY:
            body = {"code": -2014, "msg": "API-key format invalid."}
            return web.json_response(body, status=401)
        self._maybe_step()
        entries = [{"asset": a, "collateralRate": f"{r:.4f}"} for a, r in self.rates.items()]
        return web.Response(
            body=json.dumps(entries, ensure_ascii=False).encode(),
            content_type="application/json",
            headers={"X-SAPI-USED-IP-WEIGHT-1M": str(self._used_weight(50))},
        )

    def _signature_error(self, request: web.Request) -> web.Response | None:
        payload, _, given = request.query_string.rpartition("&signature=")
        expected = signature(self.API_SECRET, payload)
        if not payload or not hmac.compare_digest(given.lower(), expected):
            body = {"code": -1022, "msg": "Signature for this request is not valid."}
            return web.json_response(body, status=400)
        try:
            timestamp = int(request.query["timestamp"])
            recv_window = int(request.query.get("recvWindow", "5000"))
        except (KeyError, ValueError):
            body = {"code": -1102, "msg": "Mandatory parameter 'timestamp' was not sent."}
            return web.json_response(body, status=400)
        now_ms = time.time() * 1000.0
        if not (timestamp < now_ms + 1000.0 and now_ms - timestamp <= recv_window):
            body = {
                "code": -1021,
                "msg": "Timestamp for this request is outside of the recvWindow.",
            }
            return web.json_response(body, status=400)
        return None

    async def _tiered_collateral_rate(self, request: web.Request) -> web.Response:
        if request.headers.get("X-MBX-APIKEY") != self.API_KEY:
            body = {"code": -2014, "msg": "API-key format invalid."}
            return web.json_response(body, status=401)
        refused = self._signature_error(request)
        if refused is not None:
            return refused
        self._maybe_step()
        entries = [{"asset": a, "collateralInfo": demo_tiers(a, r)} for a, r in self.rates.items()]
        return web.Response(
            body=json.dumps(entries, ensure_ascii=False).encode(),
            content_type="application/json",
            headers={"X-SAPI-USED-IP-WEIGHT-1M": str(self._used_weight(50))},
        )

    async def _time(self, request: web.Request) -> web.Response:
        return web.json_response({"serverTime": int(time.time() * 1000)})

    async def start(self, mount: Callable[[web.Application], None] | None = None) -> str:
        """Serves on a free loopback port; `mount` adds more endpoints (the demo accounts)."""
        app = web.Application()
        if mount is not None:
            mount(app)
        app.router.add_get("/sapi/v1/portfolio/collateralRate", self._collateral_rate)
        app.router.add_get("/sapi/v2/portfolio/collateralRate", self._tiered_collateral_rate)
        app.router.add_get("/api/v3/time", self._time)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        return f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
