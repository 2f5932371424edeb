"""Portfolio Margin account response bodies -> validated account summaries, per-asset net
balances and index prices; bad entries skipped and counted.

Binance writes every amount as a decimal string. Its own examples show empty strings (read as
0 in a balance row, as "not given" in the account summary) and a thousands separator
(`"122,559.90199491"`); both are read here. `/papi/v1/balance` answers one object instead of an
array when asked for one asset: both shapes are read. Unknown fields are ignored."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from exporter.upstream.faults import invalid_response
from exporter.upstream.parse import decode_json, entries_by_asset, parse_decimal, valid_asset

# Binance's documented `accountStatus` values: the state set exports each of them.
ACCOUNT_STATUSES = (
    "NORMAL",
    "MARGIN_CALL",
    "SUPPLY_MARGIN",
    "REDUCE_ONLY",
    "ACTIVE_LIQUIDATION",
    "FORCE_LIQUIDATION",
    "BANKRUPTED",
)
STATUS_PATTERN = re.compile(r"[A-Z][A-Z0-9_]{0,39}")
ACCOUNT_TYPE_PATTERN = re.compile(r"[A-Z][A-Z0-9_]{0,15}")
GROUPED_DECIMAL = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?")
MAX_BALANCE_ROWS = 10_000

# E, the net balance of an asset in its own units, is the sum of these fields with these signs
# (inferred from the fields of the balance rows; the residual metric shows how well it fits).
NET_BALANCE_TERMS: tuple[tuple[str, float], ...] = (
    ("crossMarginAsset", 1.0),
    ("crossMarginBorrowed", -1.0),
    ("crossMarginInterest", -1.0),
    ("umWalletBalance", 1.0),
    ("umUnrealizedPNL", 1.0),
    ("cmWalletBalance", 1.0),
    ("cmUnrealizedPNL", 1.0),
)
SUMMARY_FIELDS = ("uniMMR", "accountEquity", "actualEquity", "accountMaintMargin")


def parse_amount(value: object) -> float | None:
    """A finite number from a Binance amount: a decimal string, possibly with thousands
    separators, or a JSON number. None for anything else (an empty string included)."""
    if isinstance(value, str):
        text = value.strip()
        if GROUPED_DECIMAL.fullmatch(text):
            text = text.replace(",", "")
        return parse_decimal(text)
    return parse_decimal(value)


@dataclass(frozen=True)
class AccountSummary:
    """What `/sapi/v1/portfolio/account` or `/papi/v1/account` says about the whole account.
    A figure Binance left out or sent unreadable is None (and counted as invalid)."""

    uni_mmr: float | None
    equity_usd: float | None
    actual_equity_usd: float | None
    maintenance_margin_usd: float | None
    status: str | None
    account_type: str | None
    invalid_entries: int


def _status(value: object, pattern: re.Pattern[str]) -> str | None:
    if isinstance(value, str) and pattern.fullmatch(value.strip()):
        return value.strip()
    return None


def parse_account(body: bytes) -> AccountSummary:
    """An account summary. A body that is not an object, or holds none of the four figures
    (uniMMR, accountEquity, actualEquity, accountMaintMargin), is an invalid response, so the
    last good summary stays. Each figure or status present but unreadable counts once."""
    document = decode_json(body)
    if not isinstance(document, dict):
        raise invalid_response(
            f"expected a JSON object for the account, got {type(document).__name__}",
        )
    invalid = 0
    figures: dict[str, float | None] = {}
    for name in SUMMARY_FIELDS:
        figures[name] = parse_amount(document.get(name))
        if figures[name] is None and name in document:
            invalid += 1
    if all(value is None for value in figures.values()):
        raise invalid_response("no readable figure in the account response")
    status = _status(document.get("accountStatus"), STATUS_PATTERN)
    if status is None and "accountStatus" in document:
        invalid += 1
    account_type = _status(document.get("accountType"), ACCOUNT_TYPE_PATTERN)
    if account_type is None and "accountType" in document:
        invalid += 1
    return AccountSummary(
        uni_mmr=figures["uniMMR"],
        equity_usd=figures["accountEquity"],
        actual_equity_usd=figures["actualEquity"],
        maintenance_margin_usd=figures["accountMaintMargin"],
        status=status,
        account_type=account_type,
        invalid_entries=invalid,
    )


@dataclass(frozen=True)
class ParsedBalances:
    """Net balance E of every asset the account holds (E != 0), in units of the asset."""

    balances: Mapping[str, float]
    invalid_entries: int


def net_balance(row: Mapping[str, object]) -> float | None:
    """E of one balance row; a missing field or an empty string counts as 0, any other value
    that is not a finite amount makes the row invalid (None)."""
    total = 0.0
    for name, sign in NET_BALANCE_TERMS:
        value = row.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        amount = parse_amount(value)
        if amount is None:
            return None
        total += sign * amount
    return total if math.isfinite(total) else None


def parse_balances(body: bytes) -> ParsedBalances:
    """Per-asset rows of `/sapi/v1/portfolio/balance` or `/papi/v1/balance`: an array, or one
    object (the answer for one asset). A row without a valid asset, with an unreadable amount,
    or whose asset is listed twice is skipped and counted. An empty array is a valid answer
    (an account holding nothing); anything else that is not a row or an array of rows is an
    invalid response."""
    document = decode_json(body)
    if isinstance(document, dict):
        document = [document]
    if not isinstance(document, list):
        raise invalid_response(
            f"expected a JSON array of balances, got {type(document).__name__}",
        )
    if len(document) > MAX_BALANCE_ROWS:
        raise invalid_response(f"{len(document)} balance rows, more than {MAX_BALANCE_ROWS}")
    rows: list[tuple[str, float]] = []
    seen: dict[str, int] = {}
    invalid = 0
    for row in document:
        asset = valid_asset(row.get("asset")) if isinstance(row, dict) else None
        balance = net_balance(row) if isinstance(row, dict) else None
        if asset is not None:
            seen[asset] = seen.get(asset, 0) + 1
        if asset is None or balance is None:
            invalid += 1
        else:
            rows.append((asset, balance))
    held: dict[str, float] = {}
    for asset, balance in rows:
        if seen[asset] > 1:
            invalid += 1
        elif balance != 0.0:
            held[asset] = balance
    return ParsedBalances(MappingProxyType(held), invalid)


@dataclass(frozen=True)
class ParsedPrices:
    prices: Mapping[str, float]  # asset -> USD index price
    invalid_entries: int


def parse_price(value: object) -> float | None:
    price = parse_amount(value)
    return price if price is not None and price >= 0.0 else None


def parse_index_prices(body: bytes) -> ParsedPrices:
    """`/sapi/v1/portfolio/asset-index-price`: an array of `{asset, assetIndexPrice, time}`
    (one object when asked for one asset). A response with no valid price is invalid."""
    document = decode_json(body)
    if isinstance(document, dict):
        body = b"[" + body + b"]"
    prices, invalid, total = entries_by_asset(body, "assetIndexPrice", parse_price)
    if not prices:
        raise invalid_response(
            f"no valid index price in the response ({total} entries, {invalid} invalid)",
        )
    return ParsedPrices(MappingProxyType(prices), invalid)
