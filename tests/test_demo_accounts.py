"""The demo's two accounts: their figures agree with Binance's formulas (residual 0, checked
here from the exported rates, prices and balances) and fall when a demo rate is cut."""

from __future__ import annotations

import math
import time

from exporter.config import load_config
from exporter.fakebinance.demo_accounts import (
    NEAR_LIQUIDATION,
    NEAR_LIQUIDATION_UNI_MMR,
    PM_NAME,
    PM_PRO_NAME,
    demo_accounts,
)
from exporter.service import running_exporter
from tests.support.exporter import PLAIN_ACCEPT
from tests.support.samples import parse_samples

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def series(samples: Samples, name: str, **labels: str) -> dict[str, float]:
    """Values of a per-asset family, by asset, among the samples with `labels`."""
    return {
        dict(found)["asset"]: value
        for (metric, found), value in samples.items()
        if metric == f"binance_pm_{name}" and labels.items() <= dict(found).items()
    }


def one(samples: Samples, name: str, **labels: str) -> float:
    return samples[(f"binance_pm_{name}", tuple(sorted(labels.items())))]


async def demo_samples(cut: dict[str, float] | None = None) -> tuple[Samples, Samples]:
    """Samples of a demo exporter, before and after the demo rates in `cut` are lowered."""
    argv = ["--demo", "--min-interval", "0", "--account-min-interval", "0"]
    async with running_exporter(load_config(argv, {})) as exporter:
        assert exporter.demo is not None
        await exporter.scrapes.refresh(time.monotonic() + 10)
        before = parse_samples(exporter.exposition.for_request(PLAIN_ACCEPT, "").body.decode())
        for asset, rate in (cut or {}).items():
            exporter.demo.rates[asset] = rate
        await exporter.scrapes.refresh(time.monotonic() + 10)
        after = parse_samples(exporter.exposition.for_request(PLAIN_ACCEPT, "").body.decode())
    return before, after


async def test_the_demo_pm_account_follows_the_flat_formula() -> None:
    samples, _ = await demo_samples()
    rates = series(samples, "collateral_rate")
    prices = series(samples, "asset_index_price_usd")
    balances = series(samples, "account_asset_balance", account=PM_NAME)
    collateral = series(samples, "account_asset_collateral_value_usd", account=PM_NAME)
    assert balances.keys() == collateral.keys() == {"BTC", "ETH", "DOGE", "LINK", "USDT", "USDC"}
    expected_equity = 0.0
    for asset, balance in balances.items():
        value = balance * prices[asset]
        expected = min(value * rates[asset], value)
        assert math.isclose(collateral[asset], expected, rel_tol=1e-9), asset
        expected_equity += expected
    assert math.isclose(one(samples, "account_equity_usd", account=PM_NAME), expected_equity)
    for account in (PM_NAME, PM_PRO_NAME):
        assert abs(one(samples, "account_equity_residual_usd", account=account)) < 0.01
        assert one(samples, "account_up", account=account) == 1.0
        assert 1.5 < one(samples, "account_uni_mmr", account=account) < 4.0


async def test_a_demo_rate_cut_lowers_the_accounts_equity() -> None:
    before, after = await demo_samples(cut={"BTC": 0.5, "DOGE": 0.1})
    btc = one(before, "account_asset_balance", account=PM_NAME, asset="BTC")
    doge = one(before, "account_asset_balance", account=PM_NAME, asset="DOGE")
    btc_price = one(before, "asset_index_price_usd", asset="BTC")
    doge_price = one(before, "asset_index_price_usd", asset="DOGE")
    old_btc = one(before, "collateral_rate", asset="BTC")
    old_doge = one(before, "collateral_rate", asset="DOGE")
    drop = btc * btc_price * (old_btc - 0.5) + doge * doge_price * (old_doge - 0.1)
    equity_before = one(before, "account_equity_usd", account=PM_NAME)
    equity_after = one(after, "account_equity_usd", account=PM_NAME)
    assert math.isclose(equity_before - equity_after, drop, rel_tol=1e-6)
    maintenance = one(after, "account_maintenance_margin_usd", account=PM_NAME)
    assert math.isclose(
        one(after, "account_uni_mmr", account=PM_NAME), equity_after / maintenance, rel_tol=1e-6
    )
    # The PM Pro account holds BTC under tiers that follow the flat rate: it loses too.
    assert one(after, "account_equity_usd", account=PM_PRO_NAME) < one(
        before, "account_equity_usd", account=PM_PRO_NAME
    )
    for account in (PM_NAME, PM_PRO_NAME):
        assert abs(one(after, "account_equity_residual_usd", account=account)) < 0.01


def test_the_near_liquidation_scenario() -> None:
    rates = {"BTC": 0.95, "ETH": 0.9, "BNB": 0.85, "SOL": 0.7, "USDT": 1.0}
    accounts = demo_accounts(lambda: rates, None, (), scenario=NEAR_LIQUIDATION)
    pm_pro = accounts.accounts[PM_PRO_NAME]
    uni_mmr = float(accounts.uni_mmr(pm_pro))
    assert math.isclose(uni_mmr, NEAR_LIQUIDATION_UNI_MMR, rel_tol=1e-6)
    assert 1.05 < uni_mmr < 1.2
    assert pm_pro.status == "REDUCE_ONLY"
