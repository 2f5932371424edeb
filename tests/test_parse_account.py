"""The account, balance and index-price parsers: Binance's documented shapes and quirks read,
anything odd counted as invalid or refused as an invalid response, never an exception of
another kind."""

from __future__ import annotations

import json
import math
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exporter.upstream.faults import Reason, UpstreamFault
from exporter.upstream.parse_account import (
    AccountSummary,
    ParsedBalances,
    ParsedPrices,
    parse_account,
    parse_amount,
    parse_balances,
    parse_index_prices,
)

# Binance's own examples (portfolio-margin-pro and portfolio-margin docs).
PM_PRO_ACCOUNT = {
    "uniMMR": "5167.92171923",
    "accountEquity": "122,559.90199491",
    "actualEquity": "142,666.66666667",
    "accountMaintMargin": "23.71544465",
    "accountInitialMargin": "",
    "totalAvailableBalance": "",
    "accountStatus": "NORMAL",
    "accountType": "PM_1",
}
PAPI_ACCOUNT = {
    "uniMMR": "5167.92171923",
    "accountEquity": "122607.35137903",
    "actualEquity": "73.47428058",
    "accountInitialMargin": "23.72469206",
    "accountMaintMargin": "23.72469206",
    "accountStatus": "NORMAL",
    "virtualMaxWithdrawAmount": "1627523.32459208",
    "totalAvailableBalance": "",
    "totalMarginOpenLoss": "",
    "updateTime": 1657707212154,
}
BALANCE_ROW = {
    "asset": "USDT",
    "totalWalletBalance": "122607.35137903",
    "crossMarginAsset": "92.27530794",
    "crossMarginBorrowed": "10.00000000",
    "crossMarginFree": "100.00000000",
    "crossMarginInterest": "0.50000000",
    "crossMarginLocked": "3.00000000",
    "umWalletBalance": "0.00000000",
    "umUnrealizedPNL": "23.72469206",
    "cmWalletBalance": "12.00000000",
    "cmUnrealizedPNL": "",
    "updateTime": 1617939110373,
    "negativeBalance": "0",
}


def body(document: object) -> bytes:
    return json.dumps(document).encode()


def test_pm_pro_account_with_thousands_separators() -> None:
    summary = parse_account(body(PM_PRO_ACCOUNT))
    assert summary.uni_mmr == 5167.92171923
    assert summary.equity_usd == 122559.90199491
    assert summary.actual_equity_usd == 142666.66666667
    assert summary.maintenance_margin_usd == 23.71544465
    assert summary.status == "NORMAL"
    assert summary.account_type == "PM_1"
    assert summary.invalid_entries == 0


def test_papi_account_without_account_type_and_with_empty_strings() -> None:
    summary = parse_account(body(PAPI_ACCOUNT))
    assert summary.account_type is None
    assert summary.equity_usd == 122607.35137903
    assert summary.invalid_entries == 0


def test_huge_uni_mmr_and_unknown_fields() -> None:
    summary = parse_account(body({**PAPI_ACCOUNT, "uniMMR": "99999999", "newField": [1, {}]}))
    assert summary.uni_mmr == 99999999.0


def test_unreadable_figures_are_counted() -> None:
    odd = {**PM_PRO_ACCOUNT, "uniMMR": "", "accountEquity": {"x": 1}, "accountStatus": 3}
    summary = parse_account(body(odd))
    assert summary.uni_mmr is None
    assert summary.equity_usd is None
    assert summary.status is None
    assert summary.invalid_entries == 3


@pytest.mark.parametrize(
    "document", [[], [PM_PRO_ACCOUNT], "NORMAL", 5, {"accountStatus": "NORMAL"}]
)
def test_an_account_answer_without_figures_is_an_invalid_response(document: object) -> None:
    with pytest.raises(UpstreamFault) as caught:
        parse_account(body(document))
    assert caught.value.reason is Reason.INVALID_RESPONSE


def test_net_balance_is_the_documented_sum() -> None:
    parsed = parse_balances(body([BALANCE_ROW]))
    expected = 92.27530794 - 10.0 - 0.5 + 0.0 + 23.72469206 + 12.0 + 0.0
    assert math.isclose(parsed.balances["USDT"], expected)
    assert parsed.invalid_entries == 0


def test_balance_as_one_object_and_zero_rows_left_out() -> None:
    parsed = parse_balances(body({**BALANCE_ROW, "asset": "BTC"}))
    assert set(parsed.balances) == {"BTC"}
    zero = {"asset": "ETH", "crossMarginAsset": "0", "umWalletBalance": "0.00000000"}
    parsed = parse_balances(body([zero, BALANCE_ROW]))
    assert set(parsed.balances) == {"USDT"}


def test_odd_balance_rows_are_counted() -> None:
    rows = [
        BALANCE_ROW,
        {**BALANCE_ROW, "asset": "BTC", "umWalletBalance": "lots"},
        {"asset": "", "crossMarginAsset": "1"},
        {"crossMarginAsset": "1"},
        "BTC",
        {"asset": "ETH", "crossMarginAsset": "1"},
        {"asset": "ETH", "crossMarginAsset": "2"},
    ]
    parsed = parse_balances(body(rows))
    assert dict(parsed.balances).keys() == {"USDT"}
    assert parsed.invalid_entries == 6


def test_an_empty_balance_list_holds_nothing() -> None:
    assert parse_balances(b"[]").balances == {}


def test_index_prices_as_an_array_or_one_object() -> None:
    rows = [
        {"asset": "BTC", "assetIndexPrice": "28,251.9136906", "time": 1683518338121},
        {"asset": "ETH", "assetIndexPrice": "-5", "time": 1},
    ]
    parsed = parse_index_prices(body(rows))
    assert parsed.prices == {"BTC": 28251.9136906}
    assert parsed.invalid_entries == 1
    one = parse_index_prices(body({"asset": "BNB", "assetIndexPrice": "300.5"}))
    assert one.prices == {"BNB": 300.5}


@pytest.mark.parametrize("text", ["1,2", "12,34.5", ",100", "1,000,00", "1e400", "nan", ""])
def test_amounts_that_are_not_numbers(text: str) -> None:
    assert parse_amount(text) is None


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(["", "1,234.5", "99999999", "-0", "NORMAL", "PM_1", "1e309"]),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "asset",
                    "uniMMR",
                    "accountEquity",
                    "actualEquity",
                    "accountMaintMargin",
                    "accountStatus",
                    "accountType",
                    "crossMarginAsset",
                    "umWalletBalance",
                    "cmUnrealizedPNL",
                    "assetIndexPrice",
                    "other",
                ]
            ),
            children,
            max_size=8,
        )
    ),
    max_leaves=20,
)


Parsed = AccountSummary | ParsedBalances | ParsedPrices
PARSERS: tuple[Callable[[bytes], Parsed], ...] = (parse_account, parse_balances, parse_index_prices)


def parsed_or_fault(parse: Callable[[bytes], Parsed], raw: bytes) -> Parsed | UpstreamFault:
    """The parsed answer, or the UpstreamFault it raised; any other exception fails the test."""
    try:
        return parse(raw)
    except UpstreamFault as fault:
        return fault


@given(json_values)
def test_any_json_is_parsed_or_refused_as_invalid(document: object) -> None:
    raw = json.dumps(document).encode()
    for parse in PARSERS:
        outcome = parsed_or_fault(parse, raw)
        if isinstance(outcome, UpstreamFault):
            assert outcome.reason is Reason.INVALID_RESPONSE
        else:
            assert outcome.invalid_entries >= 0


@given(st.binary(max_size=200))
def test_any_bytes_are_parsed_or_refused_as_invalid(raw: bytes) -> None:
    for parse in PARSERS:
        outcome = parsed_or_fault(parse, raw)
        if isinstance(outcome, UpstreamFault):
            assert outcome.reason is Reason.INVALID_RESPONSE
