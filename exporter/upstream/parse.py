"""Upstream response bodies -> validated collateral rates; bad entries skipped and counted."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, TypeVar

from exporter.upstream.faults import invalid_response

ValueT = TypeVar("ValueT")


@dataclass(frozen=True)
class ParsedRates:
    rates: Mapping[str, float]
    invalid_entries: int


def decode_json(body: bytes) -> Any:
    """The JSON document of a body, or an invalid_response fault (HTML, truncated, trailing
    commas, NaN literals, nesting deeper than the parser allows)."""
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        head = body[:60].decode("utf-8", "replace")
        raise invalid_response(f"body is not valid JSON ({type(exc).__name__}): {head!r}") from None


def _reject_constant(name: str) -> float:
    raise ValueError(f"non-standard JSON constant {name}")


def parse_decimal(value: object) -> float | None:
    """A finite number from a decimal string (as Binance sends them) or a JSON number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text or len(text) > 64:
            return None
        try:
            number = float(text)
        except ValueError:
            return None
    elif isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def parse_rate(value: object) -> float | None:
    """A collateral rate: a finite decimal in [0, 1]."""
    rate = parse_decimal(value)
    return rate if rate is not None and 0.0 <= rate <= 1.0 else None


def valid_asset(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    asset = value.strip()
    if not asset or len(asset) > 64 or not asset.isprintable():
        return None
    return asset


def entries_by_asset(
    body: bytes, field: str, read: Callable[[object], ValueT | None]
) -> tuple[dict[str, ValueT], int, int]:
    """The entries of a JSON array of `{"asset": ..., field: ...}` objects: each asset's value
    as `read` makes it, how many entries were skipped, and how many there were. An asset seen
    twice is skipped everywhere it appears, since neither value can be trusted over the other."""
    document = decode_json(body)
    if not isinstance(document, list):
        raise invalid_response(f"expected a JSON array of assets, got {type(document).__name__}")
    readable: list[tuple[str, ValueT]] = []
    occurrences: dict[str, int] = {}
    invalid = 0
    for entry in document:
        asset = valid_asset(entry.get("asset")) if isinstance(entry, dict) else None
        value = read(entry.get(field)) if isinstance(entry, dict) else None
        if asset is not None:
            occurrences[asset] = occurrences.get(asset, 0) + 1
        if asset is None or value is None:
            invalid += 1
        else:
            readable.append((asset, value))
    values: dict[str, ValueT] = {}
    for asset, value in readable:
        if occurrences[asset] > 1:
            invalid += 1
        else:
            values[asset] = value
    return values, invalid, len(document)


def parse_collateral_rates(body: bytes) -> ParsedRates:
    """Validate a v1 `/sapi/v1/portfolio/collateralRate` body: a JSON array of
    `{"asset": ..., "collateralRate": ...}`. Unknown fields are ignored. A response with no valid
    entry at all is a fault, so that the last good rates stay exported."""
    rates, invalid, total = entries_by_asset(body, "collateralRate", parse_rate)
    if not rates:
        raise invalid_response(
            f"no valid asset in the response ({total} entries, {invalid} invalid)"
        )
    return ParsedRates(MappingProxyType(rates), invalid)
