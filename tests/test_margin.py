"""The margin model against arithmetic done here: flat min(E x P x r, E x P), the progressive
tiered schedule (summed band by band, not with cum), and continuity at every tier floor."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from exporter.margin import (
    Product,
    RateSchedule,
    account_margin,
    bands_of,
    flat_collateral_value,
    schedule_of,
    tiered_collateral_value,
)
from exporter.upstream.parse_tiers import Tier

NO_CAP = 99999999999.0


def progressive(value: float, tiers: list[tuple[float, float]]) -> float:
    """(floor, rate) tiers summed band by band: each rate on the part of the value between its
    floor and the next floor; the lowest from 0."""
    ordered = sorted(tiers)
    floors = [0.0] + [floor for floor, _ in ordered[1:]]
    tops = [*floors[1:], math.inf]
    total = 0.0
    for low, top, (_, rate) in zip(floors, tops, ordered, strict=True):
        if value > low:
            total += (min(value, top) - low) * rate
    return total


def test_flat_value_haircuts_a_holding_and_counts_a_liability_in_full() -> None:
    assert flat_collateral_value(2 * 50_000.0, 0.95) == 95_000.0
    assert flat_collateral_value(-1000.0 * 1.0, 0.95) == -1000.0
    assert flat_collateral_value(0.0, 0.5) == 0.0


def test_tiered_value_of_the_demo_like_schedule() -> None:
    tiers = [
        Tier(0.0, 1_000_000.0, 0.95),
        Tier(1_000_000.0, 10_000_000.0, 0.9),
        Tier(10_000_000.0, NO_CAP, 0.5),
    ]
    bands = bands_of(tiers)
    cums = [band.cum_usd for band in bands]
    for got, expected in zip(cums, [0.0, 50_000.0, 50_000.0 + 4_000_000.0], strict=True):
        assert math.isclose(got, expected, abs_tol=1e-6)
    # 2.5 M: 1 M at 0.95 + 1.5 M at 0.9
    assert math.isclose(tiered_collateral_value(2_500_000.0, bands), 950_000.0 + 1_350_000.0)
    # 12 M: 1 M at 0.95 + 9 M at 0.9 + 2 M at 0.5
    expected = 950_000.0 + 8_100_000.0 + 1_000_000.0
    assert math.isclose(tiered_collateral_value(12_000_000.0, bands), expected)
    assert tiered_collateral_value(-5.0, bands) == -5.0


tier_lists = st.lists(
    st.tuples(
        st.floats(min_value=1.0, max_value=1e9, allow_nan=False),
        st.floats(min_value=0.0, max_value=1.0, allow_nan=False),
    ),
    min_size=1,
    max_size=8,
    unique_by=lambda tier: tier[0],
).map(lambda tiers: [(0.0, tiers[0][1]), *tiers[1:]])


def as_tiers(pairs: list[tuple[float, float]]) -> list[Tier]:
    ordered = sorted(pairs)
    caps = [floor for floor, _ in ordered[1:]] + [NO_CAP]
    return [Tier(floor, cap, rate) for (floor, rate), cap in zip(ordered, caps, strict=True)]


@given(tier_lists, st.floats(min_value=0.0, max_value=2e9, allow_nan=False))
def test_tiered_value_is_the_progressive_sum(
    pairs: list[tuple[float, float]], value: float
) -> None:
    got = tiered_collateral_value(value, bands_of(as_tiers(pairs)))
    assert math.isclose(got, progressive(value, pairs), rel_tol=1e-9, abs_tol=1e-3)


@given(tier_lists)
def test_tiered_value_is_continuous_at_every_tier_floor(pairs: list[tuple[float, float]]) -> None:
    bands = bands_of(as_tiers(pairs))
    for floor, _ in sorted(pairs)[1:]:
        below = tiered_collateral_value(floor * (1 - 1e-12), bands)
        at = tiered_collateral_value(floor, bands)
        assert math.isclose(below, at, rel_tol=1e-9, abs_tol=1e-3), floor


def test_account_margin_sums_the_collateral_values_and_reports_the_residual() -> None:
    tiers = {"BTC": {"1": Tier(0.0, 1e6, 0.95), "2": Tier(1e6, NO_CAP, 0.9)}}
    schedule = schedule_of({"BTC": 0.95, "ETH": 0.9, "USDT": 1.0}, tiers)
    balances = {"BTC": 30.0, "ETH": 10.0, "USDT": -20_000.0, "XYZ": 5.0}
    prices = {"BTC": 50_000.0, "ETH": 3_000.0, "USDT": 1.0}
    btc = 1e6 * 0.95 + (1.5e6 - 1e6) * 0.9
    eth = 30_000.0 * 0.9
    expected_sum = btc + eth - 20_000.0
    margin = account_margin(Product.PM_PRO, balances, prices, schedule, expected_sum + 12.5)
    rows = {row.asset: row for row in margin.assets}
    assert math.isclose(rows["BTC"].collateral_value_usd or 0, btc)
    assert rows["BTC"].value_usd == 1.5e6
    assert rows["USDT"].collateral_value_usd == -20_000.0
    assert rows["XYZ"].price_usd is None
    assert rows["XYZ"].collateral_value_usd is None
    assert margin.residual_usd is not None
    assert math.isclose(margin.residual_usd, 12.5)
    # Portfolio Margin uses the flat rate even where tiers are listed.
    pm = account_margin(Product.PM, balances, prices, schedule, None)
    assert {row.asset: row.collateral_value_usd for row in pm.assets}["BTC"] == 1.5e6 * 0.95
    assert pm.residual_usd is None


def test_a_liability_without_a_rate_counts_in_full() -> None:
    schedule = RateSchedule(flat={}, tiered=None)
    margin = account_margin(Product.PM, {"ABC": -3.0}, {"ABC": 2.0}, schedule, -6.0)
    assert margin.assets[0].collateral_value_usd == -6.0
    assert margin.residual_usd == 0.0


finite = st.floats(allow_nan=False, allow_infinity=False)


@given(
    st.dictionaries(st.sampled_from(["A", "B", "C"]), finite, max_size=3),
    st.dictionaries(st.sampled_from(["A", "B", "C"]), finite.map(abs), max_size=3),
    st.dictionaries(st.sampled_from(["A", "B"]), st.floats(min_value=0, max_value=1), max_size=2),
    tier_lists,
    st.none() | finite,
)
def test_any_finite_inputs_give_finite_figures_or_none(
    balances: dict[str, float],
    prices: dict[str, float],
    flat: dict[str, float],
    pairs: list[tuple[float, float]],
    equity: float | None,
) -> None:
    tiers = {"B": dict(zip("123456789", as_tiers(pairs), strict=False))}
    schedule = schedule_of(flat, tiers)
    for product in Product:
        margin = account_margin(product, balances, prices, schedule, equity)
        assert [row.asset for row in margin.assets] == sorted(balances)
        for row in margin.assets:
            for figure in (row.value_usd, row.collateral_value_usd):
                assert figure is None or math.isfinite(figure)
        assert margin.residual_usd is None or math.isfinite(margin.residual_usd)
