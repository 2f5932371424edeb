"""v2 response bodies -> validated tiered collateral rates; bad tiers skipped and counted.

Tiers are numbered "1", "2", ... by ascending floor among the tiers whose floor can be read.
A tier that is invalid otherwise keeps its number and is left out, so that a bad tier never
shifts its neighbours onto the wrong series (which would look like a rate change)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from exporter.upstream.faults import invalid_response
from exporter.upstream.parse import entries_by_asset, parse_decimal, parse_rate

MAX_TIERS_PER_ASSET = 64


@dataclass(frozen=True)
class Tier:
    floor_usd: float
    cap_usd: float
    rate: float


@dataclass(frozen=True)
class ParsedTiers:
    tiers: Mapping[str, Mapping[str, Tier]]  # asset -> tier number -> tier
    invalid_entries: int


def parse_amount(value: object) -> float | None:
    """A USD amount: a finite decimal, zero or more."""
    amount = parse_decimal(value)
    return amount if amount is not None and amount >= 0.0 else None


def _tier_list(value: object) -> list[object] | None:
    if isinstance(value, list) and 0 < len(value) <= MAX_TIERS_PER_ASSET:
        return value
    return None


def _asset_tiers(info: list[object]) -> tuple[dict[str, Tier], int]:
    """The valid tiers of one asset by number, and how many were invalid."""
    by_floor: dict[float, list[dict[str, object]]] = {}
    invalid = 0
    for raw in info:
        floor = parse_amount(raw.get("tierFloor")) if isinstance(raw, dict) else None
        if floor is None or not isinstance(raw, dict):
            invalid += 1
        else:
            by_floor.setdefault(floor, []).append(raw)
    tiers: dict[str, Tier] = {}
    for number, floor in enumerate(sorted(by_floor), start=1):
        same_floor = by_floor[floor]
        if len(same_floor) > 1:  # two tiers from one floor: neither can be trusted
            invalid += len(same_floor)
            continue
        cap = parse_amount(same_floor[0].get("tierCap"))
        rate = parse_rate(same_floor[0].get("collateralRate"))
        if cap is None or cap <= floor or rate is None:
            invalid += 1
            continue
        tiers[str(number)] = Tier(floor, cap, rate)
    return tiers, invalid


def parse_tiered_rates(body: bytes) -> ParsedTiers:
    """Validate a v2 `/sapi/v2/portfolio/collateralRate` body: a JSON array of
    `{"asset": ..., "collateralInfo": [{"tierFloor", "tierCap", "collateralRate", ...}]}`.
    Unknown fields are ignored. An asset entry that cannot be used as a whole (no valid asset,
    seen twice, no list of tiers) counts as one invalid entry; otherwise each invalid tier
    counts as one. A response with no valid tier at all is a fault, so that the last good tiers
    stay exported."""
    tier_lists, invalid, total = entries_by_asset(body, "collateralInfo", _tier_list)
    tiers: dict[str, Mapping[str, Tier]] = {}
    for asset, info in tier_lists.items():
        valid, invalid_tiers = _asset_tiers(info)
        invalid += invalid_tiers
        if valid:
            tiers[asset] = MappingProxyType(valid)
    if not tiers:
        raise invalid_response(
            f"no valid tier in the response ({total} assets, {invalid} invalid entries)"
        )
    return ParsedTiers(MappingProxyType(tiers), invalid)
