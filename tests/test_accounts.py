"""Portfolio Margin accounts against the fake Binance on loopback: every figure checked against
arithmetic done here from the fake's balances, prices and rates; one account failing never
stops the others or the rates; requests signed with each account's own key; nothing secret in
what the exporter serves or logs."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from exporter.config import load_config
from exporter.fakebinance.accounts import (
    INDEX_PRICE_PATH,
    PAPI_ACCOUNT_PATH,
    PAPI_BALANCE_PATH,
    PM_PRO_ACCOUNT_PATH,
    PM_PRO_BALANCE_PATH,
    FakeAccount,
    FakeReply,
    error_reply,
)
from exporter.service import running_exporter
from exporter.web.app import make_app
from tests.support.exporter import API_KEY, PLAIN_ACCEPT, Running
from tests.support.fake_accounts import AccountsFakeBinance, write_accounts_file
from tests.support.fake_binance import NO_CAP, TIME_PATH, V1_PATH, V2_PATH, tier
from tests.support.samples import parse_samples

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
RATES_SECRET = "rates-secret-0123456789abcdefghijklmnopqrstuvwxyz"
ALICE_KEY, ALICE_SECRET = "alice-key-0123456789abcdefghij", "alice-secret-0123456789abcdefghij"
BOB_KEY, BOB_SECRET = "bob-key-0123456789abcdefghijklm", "bob-secret-0123456789abcdefghijklm"
CAROL_KEY, CAROL_SECRET = "carol-key-0123456789abcdefghijk", "carol-secret-0123456789abcdefghijk"

RATES = {"BTC": "0.9500", "ETH": "0.9000", "USDT": "1.0000", "DOGE": "0.5000", "LINK": "0.7000"}
TIERS = {
    "BTC": [
        tier("0.0000", "1000000.0000", "0.9500"),
        tier("1000000.0000", NO_CAP, "0.9000", "50000.0000"),
    ],
    "USDT": [tier("0.0000", NO_CAP, "1.0000")],
}
PRICES = {"BTC": 50_000.0, "ETH": 3_000.0, "USDT": 1.0, "DOGE": 0.25, "LINK": 20.0, "XRP": 2.0}


def alice() -> FakeAccount:
    """PM Pro: 30 BTC (1.5 M USD, across two tiers), 10 ETH, a USDT loan, a zero row."""
    return FakeAccount(
        "alice",
        "pm_pro",
        ALICE_KEY,
        ALICE_SECRET,
        {
            "BTC": {"crossMarginAsset": 29.5, "umUnrealizedPNL": 0.5},
            "ETH": {"crossMarginAsset": 10.0},
            "USDT": {
                "crossMarginAsset": 1_000.0,
                "crossMarginBorrowed": 20_000.0,
                "crossMarginInterest": 12.5,
            },
            "XRP": {"crossMarginAsset": 0.0},
        },
        maintenance_margin=300_000.0,
        thousands_separators=True,
    )


def bob() -> FakeAccount:
    """PM: flat rates everywhere; DOGE has a price, LINK a futures wallet."""
    return FakeAccount(
        "bob",
        "pm",
        BOB_KEY,
        BOB_SECRET,
        {
            "BTC": {"crossMarginAsset": 2.0},
            "DOGE": {"crossMarginAsset": 100_000.0},
            "LINK": {"cmWalletBalance": 50.0, "cmUnrealizedPNL": -5.0},
        },
        maintenance_margin=50_000.0,
        account_type="PM_2",
    )


def carol() -> FakeAccount:
    return FakeAccount(
        "carol", "pm_pro", CAROL_KEY, CAROL_SECRET, {"ETH": {"crossMarginAsset": 1.0}}, 100.0
    )


# The expected figures, worked out by hand from the numbers above.
ALICE_BTC = 1_000_000 * 0.95 + 500_000 * 0.90  # 30 BTC x 50,000: two tiers
ALICE_ETH = 10 * 3_000 * 0.90  # flat v1 rate: ETH has no tiers
ALICE_USDT = 1_000 - 20_000 - 12.5  # a liability counts in full
ALICE_EQUITY = ALICE_BTC + ALICE_ETH + ALICE_USDT
ALICE_ACTUAL = 1_500_000 + 30_000 + ALICE_USDT
BOB_BTC = 100_000 * 0.95
BOB_DOGE = 25_000 * 0.5
BOB_LINK = 45 * 20 * 0.7
BOB_EQUITY = BOB_BTC + BOB_DOGE + BOB_LINK


@pytest.fixture
async def fake() -> AsyncIterator[AccountsFakeBinance]:
    server = AccountsFakeBinance(RATES, TIERS, PRICES, RATES_SECRET, (API_KEY,))
    server.accounts.add(alice(), bob())
    await server.start()
    yield server
    await server.stop()


StartAccounts = Callable[..., Awaitable[Running]]


@pytest.fixture
async def start(
    fake: AccountsFakeBinance,
    tmp_path: Path,
    aiohttp_client: Callable[..., Awaitable[TestClient[web.Request, web.Application]]],
) -> AsyncIterator[StartAccounts]:
    """The real exporter app watching the fake's accounts (all of them, or those given)."""
    async with AsyncExitStack() as stack:

        async def begin(
            *accounts: FakeAccount,
            min_interval: float = 0.0,
            env: dict[str, str] | None = None,
            flags: tuple[str, ...] = (),
        ) -> Running:
            chosen = accounts or tuple(fake.accounts.accounts.values())
            argv = ["--api-base-url", fake.url, "--api-key", API_KEY, "--min-interval", "0"]
            argv += ["--accounts-file", str(write_accounts_file(tmp_path, chosen))]
            argv += ["--papi-base-url", fake.url, "--account-min-interval", str(min_interval)]
            argv += flags
            config = load_config(argv, {"BINANCE_API_SECRET": RATES_SECRET} if env is None else env)
            exporter = await stack.enter_async_context(running_exporter(config))
            client = await aiohttp_client(make_app(exporter))
            return Running(client, exporter)

        yield begin


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(f"binance_pm_{name}", tuple(sorted(labels.items())))]


def by_asset(samples: Samples, name: str, account: str) -> dict[str, float]:
    return {
        dict(labels)["asset"]: v
        for (metric, labels), v in samples.items()
        if metric == f"binance_pm_{name}" and dict(labels).get("account") == account
    }


async def test_figures_match_the_arithmetic_of_both_products(start: StartAccounts) -> None:
    running = await start()
    samples = await running.samples()

    assert value(samples, "account_up", account="alice") == 1.0
    assert value(samples, "account_up", account="bob") == 1.0
    info = {"account": "alice", "product": "pm_pro", "account_type": "PM_1"}
    assert value(samples, "account_info", **info) == 1.0
    assert value(samples, "account_info", account="bob", product="pm", account_type="PM_2") == 1.0

    # Binance's figures as the fake reported them (alice's with thousands separators).
    assert math.isclose(value(samples, "account_equity_usd", account="alice"), ALICE_EQUITY)
    assert math.isclose(value(samples, "account_actual_equity_usd", account="alice"), ALICE_ACTUAL)
    assert value(samples, "account_maintenance_margin_usd", account="alice") == 300_000.0
    assert math.isclose(
        value(samples, "account_uni_mmr", account="alice"), ALICE_EQUITY / 300_000, rel_tol=1e-8
    )
    assert value(samples, "account_status", account="alice", status="NORMAL") == 1.0
    assert value(samples, "account_status", account="alice", status="REDUCE_ONLY") == 0.0

    # The per-asset model: held assets only (XRP's row is all zeros).
    assert by_asset(samples, "account_asset_balance", "alice") == {
        "BTC": 30.0,
        "ETH": 10.0,
        "USDT": ALICE_USDT,
    }
    assert by_asset(samples, "account_asset_value_usd", "alice") == {
        "BTC": 1_500_000.0,
        "ETH": 30_000.0,
        "USDT": ALICE_USDT,
    }
    collateral = by_asset(samples, "account_asset_collateral_value_usd", "alice")
    assert collateral.keys() == {"BTC", "ETH", "USDT"}
    assert math.isclose(collateral["BTC"], ALICE_BTC)
    assert math.isclose(collateral["ETH"], ALICE_ETH)
    assert collateral["USDT"] == ALICE_USDT
    bob_collateral = by_asset(samples, "account_asset_collateral_value_usd", "bob")
    assert math.isclose(bob_collateral["BTC"], BOB_BTC)  # PM: flat 0.95, no tiers
    assert math.isclose(bob_collateral["DOGE"], BOB_DOGE)
    assert math.isclose(bob_collateral["LINK"], BOB_LINK)

    # Our model agrees with Binance's: the residual is (about) 0 for both.
    assert abs(value(samples, "account_equity_residual_usd", account="alice")) < 1e-6
    assert abs(value(samples, "account_equity_residual_usd", account="bob")) < 1e-6

    prices = {
        dict(labels)["asset"]: v
        for (metric, labels), v in samples.items()
        if metric == "binance_pm_asset_index_price_usd"
    }
    assert prices == {"BTC": 50_000.0, "ETH": 3_000.0, "USDT": 1.0, "DOGE": 0.25, "LINK": 20.0}


async def test_a_rate_cut_moves_the_figures(
    start: StartAccounts, fake: AccountsFakeBinance
) -> None:
    running = await start()
    await running.samples()
    fake.rates["DOGE"] = "0.3000"
    fake.tiers["BTC"] = [
        tier("0.0000", "1000000.0000", "0.9000"),
        tier("1000000.0000", NO_CAP, "0.8000", "0.0000"),
    ]
    samples = await running.samples()
    assert math.isclose(
        value(samples, "account_asset_collateral_value_usd", account="bob", asset="DOGE"),
        25_000 * 0.3,
    )
    alice_btc = 1_000_000 * 0.9 + 500_000 * 0.8
    assert math.isclose(
        value(samples, "account_asset_collateral_value_usd", account="alice", asset="BTC"),
        alice_btc,
    )
    new_equity = alice_btc + ALICE_ETH + ALICE_USDT
    assert math.isclose(value(samples, "account_equity_usd", account="alice"), new_equity)
    assert math.isclose(
        value(samples, "account_uni_mmr", account="alice"), new_equity / 300_000, rel_tol=1e-8
    )
    assert abs(value(samples, "account_equity_residual_usd", account="alice")) < 1e-6


async def test_requests_are_signed_with_each_accounts_key_and_counted(
    start: StartAccounts, fake: AccountsFakeBinance
) -> None:
    running = await start()
    samples = await running.samples()
    for path, account in (
        (PM_PRO_ACCOUNT_PATH, "alice"),
        (PM_PRO_BALANCE_PATH, "alice"),
        (PAPI_ACCOUNT_PATH, "bob"),
        (PAPI_BALANCE_PATH, "bob"),
    ):
        assert fake.accounts.count(path, account) == 1, path
    assert fake.accounts.count(INDEX_PRICE_PATH) == 1
    for endpoint, account in (
        ("account", "alice"),
        ("balance", "alice"),
        ("papi_account", "bob"),
        ("papi_balance", "bob"),
    ):
        labels = {"endpoint": endpoint, "account": account}
        assert value(samples, "upstream_requests_total", **labels) == 1.0
        assert value(samples, "upstream_errors_total", **labels, reason="auth") == 0.0
    assert value(samples, "upstream_requests_total", endpoint="index_price") == 1.0
    # The rates are fetched once, and Binance's clock is asked once for every signed request.
    assert fake.count(V1_PATH) == 1
    assert fake.count(V2_PATH) == 1
    assert fake.count(TIME_PATH) == 1


async def test_one_account_failing_stops_neither_the_others_nor_the_rates(
    start: StartAccounts, fake: AccountsFakeBinance
) -> None:
    fake.accounts.add(carol())
    fake.accounts.accounts["carol"].portfolio_margin = False  # -21001
    fake.accounts.always(PAPI_ACCOUNT_PATH, error_reply(401, -2015, "Invalid API-key."), "bob")
    running = await start()
    samples = await running.samples()
    assert value(samples, "account_up", account="alice") == 1.0
    assert value(samples, "account_up", account="bob") == 0.0
    assert value(samples, "account_up", account="carol") == 0.0
    assert value(samples, "up") == 1.0
    assert value(samples, "tiered_up") == 1.0
    auth = {"endpoint": "papi_account", "account": "bob", "reason": "auth"}
    assert value(samples, "upstream_errors_total", **auth) == 1.0
    not_pm = {"endpoint": "account", "account": "carol", "reason": "client_error"}
    assert value(samples, "upstream_errors_total", **not_pm) == 1.0
    # bob's balances still came; his account figures did not
    assert ("binance_pm_account_equity_usd", (("account", "bob"),)) not in samples
    assert by_asset(samples, "account_asset_balance", "bob").keys() == {"BTC", "DOGE", "LINK"}
    assert math.isclose(value(samples, "account_equity_usd", account="alice"), ALICE_EQUITY)


async def test_a_papi_rate_limit_pauses_papi_only(
    start: StartAccounts, fake: AccountsFakeBinance
) -> None:
    fake.accounts.enqueue(
        PAPI_BALANCE_PATH,
        error_reply(429, -1003, "Too many requests.", **{"Retry-After": "120"}),
    )
    running = await start()
    await running.samples()
    await running.samples()
    exporter = running.exporter
    assert not exporter.papi_budget.is_open()
    assert exporter.budget.is_open()
    samples = await running.samples()
    limited = {"endpoint": "papi_balance", "account": "bob", "reason": "rate_limited"}
    assert value(samples, "upstream_errors_total", **limited) == 1.0
    # sapi went on (min interval 0: every scrape asks again); papi waited.
    assert fake.accounts.count(PM_PRO_BALANCE_PATH, "alice") == 3
    assert fake.count(V1_PATH) == 3
    assert fake.accounts.count(PAPI_BALANCE_PATH, "bob") == 1
    assert fake.accounts.count(PAPI_ACCOUNT_PATH, "bob") == 1


async def test_a_sapi_ban_is_a_hard_floor_for_every_sapi_request(
    start: StartAccounts, fake: AccountsFakeBinance
) -> None:
    fake.accounts.enqueue(
        PM_PRO_BALANCE_PATH,
        error_reply(418, -1003, "Way too many requests; IP banned.", **{"Retry-After": "300"}),
    )
    running = await start()
    await running.samples()
    before = len(fake.requests), fake.accounts.count(PM_PRO_ACCOUNT_PATH)
    for _ in range(3):
        await running.samples()
    assert (len(fake.requests), fake.accounts.count(PM_PRO_ACCOUNT_PATH)) == before
    # papi is counted apart: bob goes on.
    assert fake.accounts.count(PAPI_BALANCE_PATH, "bob") == 4


async def test_a_timestamp_refusal_learns_the_clock_again(
    start: StartAccounts, fake: AccountsFakeBinance
) -> None:
    running = await start(alice())
    await running.samples()
    fake.accounts.enqueue(
        PM_PRO_ACCOUNT_PATH,
        error_reply(400, -1021, "Timestamp for this request is outside of the recvWindow."),
    )
    samples = await running.samples()
    labels = {"endpoint": "account", "account": "alice", "reason": "client_error"}
    assert value(samples, "upstream_errors_total", **labels) == 1.0
    await running.samples()
    assert fake.count(TIME_PATH) == 2


async def test_the_account_min_interval_and_single_flight(
    start: StartAccounts, fake: AccountsFakeBinance
) -> None:
    running = await start(min_interval=3600.0)
    await asyncio.gather(*(running.samples() for _ in range(20)))
    await running.samples()
    assert fake.accounts.count(PM_PRO_ACCOUNT_PATH, "alice") == 1
    assert fake.accounts.count(PAPI_BALANCE_PATH, "bob") == 1
    assert fake.accounts.count(INDEX_PRICE_PATH) == 1
    assert fake.count(V1_PATH) == 2  # --min-interval 0 for the rates


async def test_odd_rows_are_counted_per_account(
    start: StartAccounts, fake: AccountsFakeBinance
) -> None:
    rows = (
        b'[{"asset": "BTC", "crossMarginAsset": "1,000.5"},'
        b' {"asset": "ETH", "crossMarginAsset": "lots"},'
        b' {"asset": "", "crossMarginAsset": "1"}, "junk",'
        b' {"asset": "LINK", "cmUnrealizedPNL": ""}]'
    )
    fake.accounts.always(PAPI_BALANCE_PATH, FakeReply(200, rows), "bob")
    running = await start()
    samples = await running.samples()
    invalid = {"endpoint": "papi_balance", "account": "bob"}
    assert value(samples, "invalid_entries_total", **invalid) == 3.0
    assert by_asset(samples, "account_asset_balance", "bob") == {"BTC": 1000.5}
    assert value(samples, "account_up", account="bob") == 1.0


async def test_an_answer_of_the_wrong_shape_keeps_the_last_good_figures(
    start: StartAccounts, fake: AccountsFakeBinance
) -> None:
    running = await start()
    await running.samples()
    fake.accounts.enqueue(PM_PRO_ACCOUNT_PATH, FakeReply(200, b"[1, 2]"), account="alice")
    samples = await running.samples()
    assert value(samples, "account_up", account="alice") == 0.0
    bad = {"endpoint": "account", "account": "alice", "reason": "invalid_response"}
    assert value(samples, "upstream_errors_total", **bad) == 1.0
    assert math.isclose(value(samples, "account_equity_usd", account="alice"), ALICE_EQUITY)


async def test_no_account_secret_is_served_or_logged(
    start: StartAccounts, fake: AccountsFakeBinance, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    echo = error_reply(400, -1022, f"Signature invalid for {BOB_KEY} / {BOB_SECRET}")
    fake.accounts.always(PAPI_ACCOUNT_PATH, echo, "bob")
    echo_pro = FakeReply(500, f"<html>{ALICE_KEY} {ALICE_SECRET}</html>".encode())
    fake.accounts.always(PM_PRO_BALANCE_PATH, echo_pro, "alice")
    running = await start()
    await running.samples()
    metrics = await running.scrape()
    landing = await (await running.client.get("/", headers={"Accept": PLAIN_ACCEPT})).text()
    for text in (metrics, landing, caplog.text):
        for secret in (ALICE_KEY, ALICE_SECRET, BOB_KEY, BOB_SECRET, RATES_SECRET):
            assert secret not in text
    assert "<redacted>" in caplog.text


async def test_without_accounts_nothing_of_them_is_exported(fake: AccountsFakeBinance) -> None:
    config = load_config(["--api-base-url", fake.url, "--api-key", API_KEY], {})
    async with running_exporter(config) as exporter:
        await exporter.scrapes.refresh(time.monotonic() + 5)
        text = exporter.exposition.for_request(PLAIN_ACCEPT, "").body.decode()
    samples = parse_samples(text)
    assert not [name for name, _ in samples if name.startswith("binance_pm_account")]
    assert fake.accounts.requests == []
    assert fake.count(TIME_PATH) == 0


ODD_BODIES = [
    b"",
    b"null",
    b"{}",
    b'{"uniMMR": "", "accountEquity": ""}',
    b'{"uniMMR": "1e999", "accountEquity": "NaN", "actualEquity": [1], "accountStatus": {}}',
    b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]"
    + b"]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
    b'{"asset": "BTC", "crossMarginAsset": "99999999999999999999999999999999999999"}',
    b'[{"asset": "BTC", "crossMarginAsset": 1e308, "umWalletBalance": 1e308}]',
    b"<html>502 Bad Gateway</html>",
    b'{"uniMMR": "99999999", "accountEquity": "122,559.90199491", "extra": {"a": [1, 2]}}',
]


@pytest.mark.parametrize("body", ODD_BODIES)
async def test_odd_answers_never_break_the_scrape(
    start: StartAccounts, fake: AccountsFakeBinance, body: bytes
) -> None:
    for path in (PAPI_ACCOUNT_PATH, PAPI_BALANCE_PATH, PM_PRO_ACCOUNT_PATH, PM_PRO_BALANCE_PATH):
        fake.accounts.always(path, FakeReply(200, body))
    fake.accounts.always(INDEX_PRICE_PATH, FakeReply(200, body))
    running = await start()
    samples = await running.samples()
    assert value(samples, "up") == 1.0
    for (name, _), figure in samples.items():
        if name.startswith("binance_pm_account"):
            assert math.isfinite(figure), name


async def test_an_oversized_balance_answer_is_refused_and_the_others_go_on(
    start: StartAccounts, fake: AccountsFakeBinance
) -> None:
    huge = b"[" + b'{"asset": "BTC"},' * 400_000 + b"{}]"
    fake.accounts.always(PM_PRO_BALANCE_PATH, FakeReply(200, huge), "alice")
    running = await start()
    samples = await running.samples()
    too_large = {"endpoint": "balance", "account": "alice", "reason": "invalid_response"}
    assert value(samples, "upstream_errors_total", **too_large) == 1.0
    assert value(samples, "account_up", account="alice") == 0.0
    assert value(samples, "account_up", account="bob") == 1.0


async def test_a_wrong_secret_is_refused_by_its_signature(
    start: StartAccounts, fake: AccountsFakeBinance
) -> None:
    wrong = replace(bob(), api_secret="not-bobs-secret-0123456789")
    running = await start(alice(), wrong)
    samples = await running.samples()
    assert value(samples, "account_up", account="bob") == 0.0
    signature = {"endpoint": "papi_account", "account": "bob", "reason": "client_error"}
    assert value(samples, "upstream_errors_total", **signature) == 1.0
    assert value(samples, "account_up", account="alice") == 1.0


async def test_requests_are_timed_by_binances_clock(
    start: StartAccounts, fake: AccountsFakeBinance
) -> None:
    """Binance's clock 40 s ahead of this host's: outside any recvWindow, unless the learned
    offset is used to sign."""
    fake.server_offset_ms = 40_000.0
    fake.accounts.server_offset_ms = 40_000.0
    running = await start()
    samples = await running.samples()
    assert value(samples, "account_up", account="alice") == 1.0
    assert value(samples, "account_up", account="bob") == 1.0
    assert 39.0 < value(samples, "server_time_offset_seconds") < 41.0


async def test_the_one_account_shorthand(
    fake: AccountsFakeBinance,
    tmp_path: Path,
    aiohttp_client: Callable[..., Awaitable[TestClient[web.Request, web.Application]]],
) -> None:
    (tmp_path / "key").write_text(BOB_KEY + "\n")
    (tmp_path / "secret").write_text(BOB_SECRET + "\n")
    argv = ["--api-base-url", fake.url, "--papi-base-url", fake.url, "--account-product", "pm"]
    argv += ["--api-key-file", str(tmp_path / "key"), "--api-secret-file", str(tmp_path / "secret")]
    async with running_exporter(load_config(argv, {})) as exporter:
        running = Running(await aiohttp_client(make_app(exporter)), exporter)
        samples = await running.samples()
    assert value(samples, "account_up", account="default") == 1.0
    assert math.isclose(value(samples, "account_equity_usd", account="default"), BOB_EQUITY)
    assert fake.accounts.count(PAPI_ACCOUNT_PATH, "bob") == 1


async def test_papis_weight_is_counted_against_its_own_limit(
    start: StartAccounts, fake: AccountsFakeBinance
) -> None:
    """5,500 used is 92 % of papi's 6,000 (a pause until the next minute) but 46 % of sapi's."""
    near = FakeReply(200, b"[]", {"X-MBX-USED-WEIGHT-1M": "5500"})
    fake.accounts.enqueue(PAPI_BALANCE_PATH, near, account="bob")
    running = await start()
    await running.samples()
    assert not running.exporter.papi_budget.is_open()
    assert running.exporter.papi_budget.used_weight == 5500
    assert running.exporter.budget.is_open()
    await running.samples()
    assert fake.accounts.count(PAPI_ACCOUNT_PATH, "bob") == 1
    assert fake.accounts.count(PM_PRO_ACCOUNT_PATH, "alice") == 2


async def test_pm_accounts_without_a_secret_of_the_exporters_own(
    start: StartAccounts, fake: AccountsFakeBinance
) -> None:
    """No v2 (nobody to sign it), the accounts signed with their own keys by Binance's clock."""
    fake.server_offset_ms = fake.accounts.server_offset_ms = -20_000.0
    running = await start(bob(), env={})
    samples = await running.samples()
    assert value(samples, "account_up", account="bob") == 1.0
    assert -21.0 < value(samples, "server_time_offset_seconds") < -19.0
    assert fake.count(V2_PATH) == 0
    assert not [name for name, _ in samples if name.startswith("binance_pm_tiered")]


@pytest.mark.slow
async def test_an_accounts_figures_go_at_max_stale(
    start: StartAccounts, fake: AccountsFakeBinance
) -> None:
    running = await start(flags=("--max-stale", "1"))
    await running.samples()
    fake.accounts.always(PAPI_ACCOUNT_PATH, FakeReply(503, b"down"), "bob")
    fake.accounts.always(PAPI_BALANCE_PATH, FakeReply(503, b"down"), "bob")
    samples = await running.samples()
    assert value(samples, "account_up", account="bob") == 0.0
    assert ("binance_pm_account_equity_usd", (("account", "bob"),)) in samples
    await asyncio.sleep(1.2)
    samples = await running.samples()
    assert ("binance_pm_account_equity_usd", (("account", "bob"),)) not in samples
    assert by_asset(samples, "account_asset_balance", "bob") == {}
    assert value(samples, "account_up", account="bob") == 0.0
    assert math.isclose(value(samples, "account_equity_usd", account="alice"), ALICE_EQUITY)
