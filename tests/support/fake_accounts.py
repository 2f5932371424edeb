"""The tests' fake Binance with the Portfolio Margin account endpoints mounted: the accounts'
figures follow the fake's own rates and tiers (see exporter/fakebinance/accounts.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from aiohttp import web

from exporter.fakebinance.accounts import FakeAccount, FakeAccounts
from tests.support.fake_binance import FakeBinance


class AccountsFakeBinance(FakeBinance):
    """FakeBinance (rates, tiers, clock) plus `accounts`, a FakeAccounts whose flat rates are
    `rates` and whose tiers are `tiers`, read at each request."""

    def __init__(
        self,
        rates: Mapping[str, str],
        tiers: Mapping[str, list[dict[str, str]]],
        prices: Mapping[str, float],
        api_secret: str,
        market_keys: Sequence[str],
    ) -> None:
        super().__init__(rates)
        self.tiers = {asset: list(info) for asset, info in tiers.items()}
        self.api_secret = api_secret
        self.accounts = FakeAccounts(
            rates=lambda: {asset: float(rate) for asset, rate in self.rates.items()},
            prices=prices,
            tiers=lambda: {
                asset: [(float(t["tierFloor"]), float(t["collateralRate"])) for t in info]
                for asset, info in self.tiers.items()
            },
            market_keys=market_keys,
        )

    def make_app(self) -> web.Application:
        app = super().make_app()
        self.accounts.mount(app)
        return app


def write_accounts_file(directory: Path, accounts: Sequence[FakeAccount]) -> Path:
    """An accounts file for `accounts`, with their key and secret files beside it."""
    lines = []
    for account in accounts:
        (directory / f"{account.name}.key").write_text(account.api_key + "\n")
        (directory / f"{account.name}.secret").write_text(account.api_secret + "\n")
        lines.append(
            f"- name: {account.name}\n  product: {account.product}\n"
            f"  api_key_file: {account.name}.key\n  api_secret_file: {account.name}.secret\n"
        )
    path = directory / "accounts.yml"
    path.write_text("".join(lines))
    return path
