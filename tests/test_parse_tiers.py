"""The v2 parser on bodies built by hand: what is kept, what is skipped and counted, and when
the whole response is a fault."""

from __future__ import annotations

import json

import pytest

from exporter.upstream.faults import Reason, UpstreamFault
from exporter.upstream.parse_tiers import Tier, parse_tiered_rates

NO_CAP = "99999999999"


def body(entries: object) -> bytes:
    return json.dumps(entries).encode()


def tier(floor: object, cap: object, rate: object) -> dict[str, object]:
    return {"tierFloor": floor, "tierCap": cap, "collateralRate": rate, "cum": "0"}


def test_tiers_are_numbered_from_the_lowest_floor_whatever_the_order() -> None:
    parsed = parse_tiered_rates(
        body(
            [
                {
                    "asset": "BNB",
                    "collateralInfo": [
                        tier("5000000.0000", NO_CAP, "0.5000"),
                        tier("0.0000", "1000000.0000", "0.9500"),
                        tier("1000000.0000", "5000000.0000", "0.8500"),
                    ],
                    "newField": {"ignored": True},
                }
            ]
        )
    )
    assert dict(parsed.tiers["BNB"]) == {
        "1": Tier(0.0, 1_000_000.0, 0.95),
        "2": Tier(1_000_000.0, 5_000_000.0, 0.85),
        "3": Tier(5_000_000.0, 99999999999.0, 0.5),
    }
    assert parsed.invalid_entries == 0


@pytest.mark.parametrize(
    "bad",
    [
        tier("1000", "1000", "0.9"),  # floor not below cap
        tier("1000", "500", "0.9"),
        tier("1000", "2000", "1.0001"),
        tier("1000", "2000", "-0.1"),
        tier("1000", "2000", "NaN"),
        tier("1000", "2000", None),
        tier("1000", "Infinity", "0.9"),
        tier("1000", "-5", "0.9"),
        tier("1000", "2000", True),
        {"tierFloor": "1000", "collateralRate": "0.9"},
    ],
)
def test_a_bad_tier_is_skipped_and_its_number_left_empty(bad: dict[str, object]) -> None:
    info = [tier("0", "1000", "1"), bad, tier("2000", NO_CAP, "0.5")]
    parsed = parse_tiered_rates(body([{"asset": "ETH", "collateralInfo": info}]))
    assert set(parsed.tiers["ETH"]) == {"1", "3"}
    assert parsed.invalid_entries == 1


@pytest.mark.parametrize("bad", ["x", 7, None, {"tierFloor": "-1"}, {"tierFloor": "abc"}])
def test_a_tier_without_a_readable_floor_is_skipped(bad: object) -> None:
    info = [tier("0", "1000", "1"), bad, tier("1000", NO_CAP, "0.5")]
    parsed = parse_tiered_rates(body([{"asset": "ETH", "collateralInfo": info}]))
    assert set(parsed.tiers["ETH"]) == {"1", "2"}
    assert parsed.invalid_entries == 1


def test_tiers_sharing_a_floor_are_all_skipped() -> None:
    info = [tier("0", "1000", "1"), tier("0", "1000", "0.9"), tier("1000", NO_CAP, "0.5")]
    parsed = parse_tiered_rates(body([{"asset": "ETH", "collateralInfo": info}]))
    assert dict(parsed.tiers["ETH"]) == {"2": Tier(1000.0, 99999999999.0, 0.5)}
    assert parsed.invalid_entries == 2


@pytest.mark.parametrize(
    "entry",
    [
        {"asset": "", "collateralInfo": [tier("0", NO_CAP, "1")]},
        {"asset": 5, "collateralInfo": [tier("0", NO_CAP, "1")]},
        {"collateralInfo": [tier("0", NO_CAP, "1")]},
        {"asset": "DOGE"},
        {"asset": "DOGE", "collateralInfo": []},
        {"asset": "DOGE", "collateralInfo": {"tierFloor": "0"}},
        {"asset": "DOGE", "collateralInfo": [tier("0", NO_CAP, "1")] * 65},
        ["DOGE"],
        "DOGE",
    ],
)
def test_an_unusable_asset_entry_counts_once(entry: object) -> None:
    parsed = parse_tiered_rates(
        body([entry, {"asset": "BTC", "collateralInfo": [tier(0, 1e11, 1)]}])
    )
    assert list(parsed.tiers) == ["BTC"]
    assert parsed.invalid_entries == 1


def test_an_asset_listed_twice_is_skipped_everywhere() -> None:
    twice = {"asset": "SOL", "collateralInfo": [tier("0", NO_CAP, "0.8")]}
    other = {"asset": "BTC", "collateralInfo": [tier("0", NO_CAP, "0.95")]}
    parsed = parse_tiered_rates(body([twice, other, twice]))
    assert list(parsed.tiers) == ["BTC"]
    assert parsed.invalid_entries == 2


def test_an_asset_whose_tiers_are_all_bad_is_left_out() -> None:
    bad = {"asset": "SOL", "collateralInfo": [tier("0", NO_CAP, "2"), tier("5", "1", "0.5")]}
    good = {"asset": "BTC", "collateralInfo": [tier("0", NO_CAP, "0.95")]}
    parsed = parse_tiered_rates(body([bad, good]))
    assert list(parsed.tiers) == ["BTC"]
    assert parsed.invalid_entries == 2


@pytest.mark.parametrize(
    "raw",
    [
        b"[]",
        b'{"code": -1, "msg": "x"}',
        b"<html></html>",
        b'[{"asset": "BTC", "collateralInfo": [{"tierFloor": "0", "tierCap": "1", '
        b'"collateralRate": "1",}]}]',  # the trailing comma of Binance's documentation example
        body([{"asset": "BTC", "collateralInfo": [tier("0", NO_CAP, "7")]}]),
    ],
)
def test_a_response_without_any_valid_tier_is_a_fault(raw: bytes) -> None:
    with pytest.raises(UpstreamFault) as caught:
        parse_tiered_rates(raw)
    assert caught.value.reason is Reason.INVALID_RESPONSE
