"""The margin model: what each held asset adds to a Portfolio Margin account's equity under
today's collateral rates, and how far the sum is from Binance's own `accountEquity`.

For an asset with net balance E (units) and index price P (USD), its value is V = E x P.

- Flat rate r (Portfolio Margin, and Portfolio Margin Pro assets without tiers):
  collateral value = min(V x r, V): a rate haircuts a holding, a liability counts in full.
- Tiered rates (Portfolio Margin Pro): tier k applies rate_k to the part of V between its floor
  and the next tier's floor, progressively. In closed form, for floor_k <= V < floor_(k+1),
  collateral value = V x rate_k + cum_k, with cum_1 = 0 and
  cum_k = cum_(k-1) + floor_k x (rate_(k-1) - rate_k), which keeps the value continuous at
  every floor. A liability (V < 0) counts in full, as with flat rates.

Nothing here talks to Binance: the functions take parsed answers and return numbers."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from exporter.upstream.parse_tiers import Tier


class Product(StrEnum):
    PM_PRO = "pm_pro"
    PM = "pm"


@dataclass(frozen=True)
class Band:
    """One tier of a tiered schedule as the formula uses it: its floor, rate and cum."""

    floor_usd: float
    rate: float
    cum_usd: float


def flat_collateral_value(value_usd: float, rate: float) -> float:
    return min(value_usd * rate, value_usd)


def bands_of(tiers: Sequence[Tier]) -> tuple[Band, ...]:
    """The bands of a tier list, by ascending floor, with their cum. The lowest tier reaches
    down to 0 and the highest has no cap: a gap between tiers (a bad tier skipped) is covered
    by the tier below it, so the value stays continuous whatever the list holds."""
    ordered = sorted(tiers, key=lambda tier: tier.floor_usd)
    bands: list[Band] = []
    for index, tier in enumerate(ordered):
        if index == 0:
            bands.append(Band(0.0, tier.rate, 0.0))
            continue
        below = bands[-1]
        cum = below.cum_usd + tier.floor_usd * (below.rate - tier.rate)
        bands.append(Band(tier.floor_usd, tier.rate, cum))
    return tuple(bands)


def tiered_collateral_value(value_usd: float, bands: Sequence[Band]) -> float:
    """V x rate_k + cum_k for the band k holding V; a liability (V < 0) counts in full."""
    if value_usd <= 0.0 or not bands:
        return value_usd
    band = bands[0]
    for candidate in bands[1:]:
        if value_usd < candidate.floor_usd:
            break
        band = candidate
    return value_usd * band.rate + band.cum_usd


@dataclass(frozen=True)
class AssetMargin:
    """One held asset of one account. `price_usd`, `value_usd` and `collateral_value_usd` are
    None when Binance gave no index price for the asset, or no collateral rate is known."""

    asset: str
    balance: float
    price_usd: float | None
    value_usd: float | None
    collateral_value_usd: float | None


@dataclass(frozen=True)
class AccountMargin:
    assets: tuple[AssetMargin, ...]
    residual_usd: float | None  # accountEquity - sum of the collateral values


@dataclass(frozen=True)
class RateSchedule:
    """The collateral rates in force: flat (v1) and, for Portfolio Margin Pro, tiered (v2).
    Either is None while it is not known (not collected, or not yet fetched)."""

    flat: Mapping[str, float] | None
    tiered: Mapping[str, Sequence[Band]] | None

    def collateral_value(self, product: Product, asset: str, value_usd: float) -> float | None:
        """What the value adds to the equity: tiered for a Portfolio Margin Pro asset with
        tiers, else flat; None when the asset has no rate at all."""
        if product is Product.PM_PRO and self.tiered is not None and asset in self.tiered:
            return tiered_collateral_value(value_usd, self.tiered[asset])
        if self.flat is not None and asset in self.flat:
            return flat_collateral_value(value_usd, self.flat[asset])
        if value_usd < 0.0:
            return value_usd  # a liability counts in full, rate or none
        return None


def schedule_of(
    flat: Mapping[str, float] | None, tiers: Mapping[str, Mapping[str, Tier]] | None
) -> RateSchedule:
    tiered = None
    if tiers is not None:
        tiered = {asset: bands_of(list(by_number.values())) for asset, by_number in tiers.items()}
    return RateSchedule(flat, tiered)


def account_margin(
    product: Product,
    balances: Mapping[str, float],
    prices: Mapping[str, float] | None,
    schedule: RateSchedule,
    equity_usd: float | None,
) -> AccountMargin:
    """Every held asset's value and collateral value, and the residual: Binance's
    `accountEquity` minus the sum of the collateral values (None without `accountEquity`)."""
    rows: list[AssetMargin] = []
    total = 0.0
    for asset in sorted(balances):
        balance = balances[asset]
        price = prices.get(asset) if prices is not None else None
        value = balance * price if price is not None else None
        if value is not None and not math.isfinite(value):
            value = None  # beyond what a float holds: no figure rather than an infinite one
        collateral = schedule.collateral_value(product, asset, value) if value is not None else None
        if collateral is not None and not math.isfinite(collateral):
            collateral = None
        if collateral is not None:
            total += collateral
        rows.append(AssetMargin(asset, balance, price, value, collateral))
    residual = equity_usd - total if equity_usd is not None else None
    if residual is not None and not math.isfinite(residual):
        residual = None
    return AccountMargin(tuple(rows), residual)
