"""The Portfolio Margin account endpoints of the fake Binance: accounts whose balances, prices
and maintenance margin are set by whoever runs it (the demo, the tests, the benchmark), and
whose `accountEquity`, `actualEquity` and `uniMMR` are worked out the way Binance describes, from
the collateral rates in force at the moment of the request.

Answers have Binance's shapes and quirks: amounts as decimal strings (optionally with a
thousands separator, and `""` where Binance sends empty strings), a huge uniMMR when there is
no maintenance margin, `/papi/v1/balance` one object when asked for one asset. Requests are
checked as Binance does: an unknown key is `-2015` (401); a bad signature `-1022`, a timestamp
outside recvWindow `-1021` (400); an account that is not Portfolio Margin `-21001` (400).

    accounts = FakeAccounts(rates=lambda: {"BTC": 0.95}, prices={"BTC": 50000.0})
    accounts.add(FakeAccount("alice", "pm_pro", "key", "secret", {"BTC": {"crossMarginAsset": 2}}))
    accounts.mount(app)   # an aiohttp Application, before it starts
"""

from __future__ import annotations

import hmac
import json
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from aiohttp import web

from exporter.upstream.signing import signature

PM_PRO_ACCOUNT_PATH = "/sapi/v1/portfolio/account"
PM_PRO_BALANCE_PATH = "/sapi/v1/portfolio/balance"
INDEX_PRICE_PATH = "/sapi/v1/portfolio/asset-index-price"
PAPI_ACCOUNT_PATH = "/papi/v1/account"
PAPI_BALANCE_PATH = "/papi/v1/balance"
ACCOUNT_PATHS = {
    "pm_pro": (PM_PRO_ACCOUNT_PATH, PM_PRO_BALANCE_PATH),
    "pm": (PAPI_ACCOUNT_PATH, PAPI_BALANCE_PATH),
}
# Binance's weights of each request, and the header that reports the used weight.
WEIGHTS = {
    PM_PRO_ACCOUNT_PATH: (5, "X-SAPI-USED-UID-WEIGHT-1M"),
    PM_PRO_BALANCE_PATH: (20, "X-SAPI-USED-IP-WEIGHT-1M"),
    INDEX_PRICE_PATH: (50, "X-SAPI-USED-IP-WEIGHT-1M"),
    PAPI_ACCOUNT_PATH: (20, "X-MBX-USED-WEIGHT-1M"),
    PAPI_BALANCE_PATH: (20, "X-MBX-USED-WEIGHT-1M"),
}
BALANCE_FIELDS = (
    "crossMarginAsset",
    "crossMarginBorrowed",
    "crossMarginFree",
    "crossMarginInterest",
    "crossMarginLocked",
    "umWalletBalance",
    "umUnrealizedPNL",
    "cmWalletBalance",
    "cmUnrealizedPNL",
)
NO_DEBT_UNI_MMR = "99999999"

# (floor, rate) tiers of one asset, by ascending floor.
TierList = Sequence[tuple[float, float]]


def net_balance(row: Mapping[str, float]) -> float:
    """Binance's E: margin asset - loan - interest + futures wallets + unrealized PnL."""
    return (
        row.get("crossMarginAsset", 0.0)
        - row.get("crossMarginBorrowed", 0.0)
        - row.get("crossMarginInterest", 0.0)
        + row.get("umWalletBalance", 0.0)
        + row.get("umUnrealizedPNL", 0.0)
        + row.get("cmWalletBalance", 0.0)
        + row.get("cmUnrealizedPNL", 0.0)
    )


def progressive_value(value: float, tiers: TierList) -> float:
    """A tiered collateral value summed band by band, as Binance's Cross Margin FAQ does."""
    if value <= 0.0:
        return value
    total = 0.0
    floors = [0.0, *(floor for floor, _ in tiers[1:])]
    tops = [*floors[1:], float("inf")]
    for low, top, (_, rate) in zip(floors, tops, tiers, strict=True):
        if value > low:
            total += (min(value, top) - low) * rate
    return total


@dataclass(frozen=True)
class FakeReply:
    """A scripted answer to one account request, instead of the computed one."""

    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


def error_reply(status: int, code: int, msg: str, **headers: str) -> FakeReply:
    return FakeReply(status, json.dumps({"code": code, "msg": msg}).encode(), headers)


NOT_PORTFOLIO_MARGIN = error_reply(400, -21001, "Request ID is not a Portfolio Margin Account.")
INVALID_KEY = error_reply(401, -2015, "Invalid API-key, IP, or permissions for action.")


@dataclass
class FakeAccount:
    """One account: balance rows by asset (numbers, written as Binance writes them), the
    maintenance margin, the status, and how Binance would answer."""

    name: str
    product: str  # pm_pro | pm
    api_key: str
    api_secret: str
    balances: dict[str, dict[str, float]]
    maintenance_margin: float = 0.0
    status: str = "NORMAL"
    account_type: str = "PM_1"
    open_loss: float = 0.0  # PM only: loss of open cross-margin orders, taken off the equity
    portfolio_margin: bool = True  # False: every request is -21001
    thousands_separators: bool = False  # write accountEquity and actualEquity as 122,559.9


@dataclass(frozen=True)
class AccountRequest:
    path: str
    account: str | None  # None: no known key
    at: float


class FakeAccounts:
    """The account endpoints for a set of accounts. `rates()` gives the flat rates in force,
    `tiers()` the tiered ones (PM Pro): both read at each request, so a cut of a rate shows in
    the next account answer. `prices` are the index prices (USD)."""

    def __init__(
        self,
        rates: Callable[[], Mapping[str, float]],
        prices: Mapping[str, float],
        tiers: Callable[[], Mapping[str, TierList]] | None = None,
        market_keys: Sequence[str] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.rates = rates
        self.tiers = tiers
        self.prices: dict[str, float] = dict(prices)
        self.accounts: dict[str, FakeAccount] = {}
        self.market_keys = set(market_keys)
        self.requests: list[AccountRequest] = []
        self.server_offset_ms = 0.0
        self._clock = clock
        self._scripted: dict[tuple[str, str | None], deque[FakeReply]] = {}
        self._sticky: dict[tuple[str, str | None], FakeReply] = {}
        self._weights: dict[str, tuple[int, int]] = {}

    def add(self, *accounts: FakeAccount) -> None:
        for account in accounts:
            self.accounts[account.name] = account

    def enqueue(self, path: str, *replies: FakeReply, account: str | None = None) -> None:
        """Answers for the next requests to `path` (of `account`, or of any account)."""
        self._scripted.setdefault((path, account), deque()).extend(replies)

    def always(self, path: str, reply: FakeReply | None, account: str | None = None) -> None:
        if reply is None:
            self._sticky.pop((path, account), None)
        else:
            self._sticky[(path, account)] = reply

    def count(self, path: str, account: str | None = None) -> int:
        return sum(
            1 for r in self.requests if r.path == path and (account is None or r.account == account)
        )

    # The numbers, as Binance works them out.

    def collateral_value(
        self,
        account: FakeAccount,
        asset: str,
        rates: Mapping[str, float] | None = None,
        tiers: Mapping[str, TierList] | None = None,
    ) -> float:
        """The asset's collateral value under the rates (and tiers) given, or those in force."""
        rates = self.rates() if rates is None else rates
        if tiers is None:
            tiers = self.tiers() if self.tiers is not None else {}
        row = account.balances[asset]
        value = net_balance(row) * self.prices.get(asset, 0.0)
        if account.product == "pm_pro" and asset in tiers:
            return progressive_value(value, tiers[asset])
        rate = rates.get(asset, 0.0)
        return min(value * rate, value)

    def actual_equity(self, account: FakeAccount) -> float:
        return sum(
            net_balance(row) * self.prices.get(asset, 0.0)
            for asset, row in account.balances.items()
        )

    def account_equity(self, account: FakeAccount) -> float:
        rates = self.rates()
        tiers = self.tiers() if self.tiers is not None else {}
        equity = sum(
            self.collateral_value(account, asset, rates, tiers) for asset in account.balances
        )
        return equity - (account.open_loss if account.product == "pm" else 0.0)

    def uni_mmr(self, account: FakeAccount, equity: float | None = None) -> str:
        if account.maintenance_margin <= 0.0:
            return NO_DEBT_UNI_MMR
        equity = self.account_equity(account) if equity is None else equity
        return f"{equity / account.maintenance_margin:.8f}"

    # The HTTP side.

    def mount(self, app: web.Application) -> None:
        app.router.add_get(PM_PRO_ACCOUNT_PATH, self._handle)
        app.router.add_get(PM_PRO_BALANCE_PATH, self._handle)
        app.router.add_get(INDEX_PRICE_PATH, self._handle)
        app.router.add_get(PAPI_ACCOUNT_PATH, self._handle)
        app.router.add_get(PAPI_BALANCE_PATH, self._handle)

    def _account_of(self, key: str) -> FakeAccount | None:
        return next((a for a in self.accounts.values() if a.api_key == key), None)

    def _used_weight(self, header: str, weight: int) -> int:
        minute = int(self._clock() // 60)
        last_minute, used = self._weights.get(header, (minute, 0))
        used = (used if last_minute == minute else 0) + weight
        self._weights[header] = (minute, used)
        return used

    async def _handle(self, request: web.Request) -> web.Response:
        path = request.path
        account = self._account_of(request.headers.get("X-MBX-APIKEY", ""))
        self.requests.append(AccountRequest(path, account.name if account else None, self._clock()))
        reply = self._scripted_reply(path, account.name if account else None)
        if reply is None:
            reply = self._answer(request, path, account)
        weight, header = WEIGHTS[path]
        headers = {header: str(self._used_weight(header, weight)), **reply.headers}
        return web.Response(
            status=reply.status,
            body=reply.body,
            headers=headers,
            content_type="application/json",
        )

    def _scripted_reply(self, path: str, account: str | None) -> FakeReply | None:
        for key in ((path, account), (path, None)):
            queue = self._scripted.get(key)
            if queue:
                return queue.popleft()
        for key in ((path, account), (path, None)):
            if key in self._sticky:
                return self._sticky[key]
        return None

    def _answer(self, request: web.Request, path: str, account: FakeAccount | None) -> FakeReply:
        if path == INDEX_PRICE_PATH:
            key = request.headers.get("X-MBX-APIKEY", "")
            if account is None and key not in self.market_keys:
                return INVALID_KEY
            return FakeReply(200, self._prices_body(request.query.get("asset")))
        if account is None or path not in ACCOUNT_PATHS[account.product]:
            return INVALID_KEY
        refused = self._signature_error(request, account)
        if refused is not None:
            return refused
        if not account.portfolio_margin:
            return NOT_PORTFOLIO_MARGIN
        if path in (PM_PRO_ACCOUNT_PATH, PAPI_ACCOUNT_PATH):
            return FakeReply(200, self._account_body(account))
        return FakeReply(200, self._balance_body(account, request.query.get("asset")))

    def _signature_error(self, request: web.Request, account: FakeAccount) -> FakeReply | None:
        payload, marker, given = request.rel_url.raw_query_string.rpartition("&signature=")
        expected = signature(account.api_secret, payload)
        if not marker or not hmac.compare_digest(given.lower(), expected):
            return error_reply(400, -1022, "Signature for this request is not valid.")
        try:
            timestamp = int(request.query["timestamp"])
            recv_window = int(request.query.get("recvWindow", "5000"))
        except (KeyError, ValueError):
            return error_reply(400, -1102, "Mandatory parameter 'timestamp' was not sent.")
        now_ms = self._clock() * 1000.0 + self.server_offset_ms
        if not (timestamp < now_ms + 1000.0 and now_ms - timestamp <= recv_window):
            return error_reply(
                400, -1021, "Timestamp for this request is outside of the recvWindow."
            )
        return None

    def _amount(self, value: float, separators: bool = False) -> str:
        return f"{value:,.8f}" if separators else f"{value:.8f}"

    def _account_body(self, account: FakeAccount) -> bytes:
        commas = account.thousands_separators
        equity = self.account_equity(account)
        document: dict[str, object] = {
            "uniMMR": self.uni_mmr(account, equity),
            "accountEquity": self._amount(equity, commas),
            "actualEquity": self._amount(self.actual_equity(account), commas),
            "accountMaintMargin": self._amount(account.maintenance_margin),
            "accountStatus": account.status,
        }
        if account.product == "pm_pro":
            document |= {
                "accountInitialMargin": "",
                "totalAvailableBalance": "",
                "accountType": account.account_type,
            }
        else:
            document |= {
                "accountInitialMargin": self._amount(account.maintenance_margin * 1.5),
                "virtualMaxWithdrawAmount": self._amount(self.actual_equity(account) / 2),
                "totalAvailableBalance": "",
                "totalMarginOpenLoss": self._amount(account.open_loss) if account.open_loss else "",
                "updateTime": int(self._clock() * 1000),
            }
        return json.dumps(document).encode()

    def _balance_row(self, account: FakeAccount, asset: str) -> dict[str, object]:
        row = account.balances[asset]
        fields: dict[str, object] = {"asset": asset}
        fields["totalWalletBalance"] = self._amount(net_balance(row))
        for name in BALANCE_FIELDS:
            value = row.get(name)
            # Binance sends "" for an unrealized PnL it has not worked out.
            fields[name] = (
                "" if value is None and name.endswith("PNL") else self._amount(value or 0)
            )
        fields["updateTime"] = int(self._clock() * 1000)
        fields["negativeBalance"] = "0"
        return fields

    def _balance_body(self, account: FakeAccount, asset: str | None) -> bytes:
        if asset is not None:
            if asset not in account.balances:
                return json.dumps([]).encode()
            row = self._balance_row(account, asset)
            # papi answers one object for one asset, sapi an array of one
            return json.dumps(row if account.product == "pm" else [row]).encode()
        return json.dumps([self._balance_row(account, a) for a in account.balances]).encode()

    def _prices_body(self, asset: str | None) -> bytes:
        now = int(self._clock() * 1000)
        chosen = [asset] if asset is not None and asset in self.prices else list(self.prices)
        entries = [
            {"asset": a, "assetIndexPrice": f"{self.prices[a]:.8f}", "time": now} for a in chosen
        ]
        return json.dumps(entries).encode()
