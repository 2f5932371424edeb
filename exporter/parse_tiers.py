"""v2 response bodies -> validated tiered collateral rates; bad tiers skipped and counted.

Tiers are numbered "1", "2", ... by ascending floor among the tiers whose floor can be read.
A tier that is invalid otherwise keeps its number and is left out, so that a bad tier never
shifts its neighbours onto the wrong series (which would look like a rate change)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from exporter.faults import Reason, UpstreamFault
from exporter.parse import decode_json, parse_decimal, parse_rate, valid_asset

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
    document = decode_json(body)
    if not isinstance(document, list):
        raise UpstreamFault(
            Reason.INVALID_RESPONSE,
            f"expected a JSON array of assets, got {type(document).__name__}",
        )
    candidates: list[tuple[str, list[object]]] = []
    occurrences: dict[str, int] = {}
    invalid = 0
    for entry in document:
        asset = valid_asset(entry.get("asset")) if isinstance(entry, dict) else None
        info = entry.get("collateralInfo") if isinstance(entry, dict) else None
        if asset is not None:
            occurrences[asset] = occurrences.get(asset, 0) + 1
        if asset is None or not isinstance(info, list) or not 0 < len(info) <= MAX_TIERS_PER_ASSET:
            invalid += 1
        else:
            candidates.append((asset, info))
    tiers: dict[str, Mapping[str, Tier]] = {}
    for asset, info in candidates:
        if occurrences[asset] > 1:
            invalid += 1
            continue
        valid, invalid_tiers = _asset_tiers(info)
        invalid += invalid_tiers
        if valid:
            tiers[asset] = MappingProxyType(valid)
    if not tiers:
        raise UpstreamFault(
            Reason.INVALID_RESPONSE,
            f"no valid tier in the response ({len(document)} assets, {invalid} invalid entries)",
        )
    return ParsedTiers(MappingProxyType(tiers), invalid)
