"""The demo's two accounts, one Portfolio Margin Pro and one Portfolio Margin, whose figures
follow the demo's collateral rates: when a demo rate is cut, their equity and uniMMR fall.

The `account-near-liquidation` scenario gives the PM Pro account a maintenance margin that puts
its uniMMR just above Binance's liquidation line (1.05), under the 1.2 "no new orders" level."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from exporter.fakebinance.accounts import FakeAccount, FakeAccounts, TierList

PM_PRO_NAME = "demo-pm-pro"
PM_NAME = "demo-pm"
PM_PRO_KEY, PM_PRO_SECRET = "demo-pm-pro-key", "demo-pm-pro-secret"
PM_KEY, PM_SECRET = "demo-pm-key", "demo-pm-secret"
NEAR_LIQUIDATION = "account-near-liquidation"
NEAR_LIQUIDATION_UNI_MMR = 1.1
PRICES = {
    "BTC": 97_250.0,
    "ETH": 3_612.5,
    "BNB": 655.2,
    "SOL": 231.4,
    "DOGE": 0.3815,
    "LINK": 23.1,
    "USDT": 1.0,
    "USDC": 0.9999,
}


def pm_pro_account() -> FakeAccount:
    return FakeAccount(
        PM_PRO_NAME,
        "pm_pro",
        PM_PRO_KEY,
        PM_PRO_SECRET,
        {
            "BTC": {"crossMarginAsset": 14.5, "umUnrealizedPNL": 0.25},
            "ETH": {"crossMarginAsset": 160.0, "umWalletBalance": 20.0},
            "BNB": {"crossMarginAsset": 900.0},
            "SOL": {"crossMarginAsset": 2_500.0, "crossMarginBorrowed": 300.0},
            "USDT": {
                "crossMarginAsset": 50_000.0,
                "crossMarginBorrowed": 1_200_000.0,
                "crossMarginInterest": 85.5,
                "umWalletBalance": 120_000.0,
                "umUnrealizedPNL": -4_250.75,
            },
        },
        maintenance_margin=760_000.0,
        account_type="PM_1",
    )


def pm_account() -> FakeAccount:
    return FakeAccount(
        PM_NAME,
        "pm",
        PM_KEY,
        PM_SECRET,
        {
            "BTC": {"crossMarginAsset": 3.2},
            "ETH": {"umWalletBalance": 0.0, "umUnrealizedPNL": -1.5, "crossMarginAsset": 41.0},
            "DOGE": {"crossMarginAsset": 650_000.0},
            "LINK": {"crossMarginAsset": 4_000.0, "cmWalletBalance": 250.0},
            "USDT": {"crossMarginAsset": 80_000.0, "crossMarginBorrowed": 210_000.0},
            "USDC": {"umWalletBalance": 25_000.0},
        },
        maintenance_margin=190_000.0,
        account_type="PM_2",
    )


def demo_accounts(
    rates: Callable[[], Mapping[str, float]],
    tiers: Callable[[], Mapping[str, TierList]] | None,
    market_keys: tuple[str, ...],
    scenario: str | None = None,
) -> FakeAccounts:
    accounts = FakeAccounts(rates, PRICES, tiers=tiers, market_keys=market_keys)
    accounts.add(pm_pro_account(), pm_account())
    if scenario == NEAR_LIQUIDATION:
        near_liquidation(accounts)
    return accounts


def near_liquidation(accounts: FakeAccounts) -> None:
    """The PM Pro account's maintenance margin raised so its uniMMR is 1.1 at today's rates."""
    account = accounts.accounts[PM_PRO_NAME]
    account.maintenance_margin = accounts.account_equity(account) / NEAR_LIQUIDATION_UNI_MMR
    account.status = "REDUCE_ONLY"
