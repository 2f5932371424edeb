"""A rate cut, end to end through a real Prometheus and a real Alertmanager, on loopback: the
fake Binance serves a Portfolio Margin account whose figures follow its rates; the exporter
watches it; the shipped rules price the cut; the receiver gets one notification naming the
account, the asset, what the cut cost in USD and the uniMMR before and after. Every figure is
worked out here from the fake's balances, prices and rates."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from exporter.fakebinance.accounts import FakeAccount
from tests.support.dashboard_queries import (
    ACCOUNT_METRICS,
    ACCOUNT_ROW,
    load_dashboard,
    metric_names,
    queries_of_panels,
    row_panels,
    substitute,
)
from tests.support.fake_accounts import AccountsFakeBinance, write_accounts_file
from tests.support.monitoring_stack import AlertingStack, alerting_stack, wait_for

pytestmark = pytest.mark.slow

CUT_ALERT = "BinancePMAccountCollateralCut"
DROP_ALERT = "BinancePMCollateralRateDropped"
RATES = {"BTC": "0.9500", "ICP": "0.6000", "USDT": "1.0000"}
PRICES = {"BTC": 100_000.0, "ICP": 5.0, "USDT": 1.0}
DESK_KEY, DESK_SECRET = "desk-key-0123456789abcdefghijk", "desk-secret-0123456789abcdefghijk"
EXPORTER_KEY = "e2e-test-key"
TIMINGS = {"group_wait": "1s", "group_interval": "2s", "repeat_interval": "1h"}
# The cut alert waits a minute (binancePMAccountCutFor) before it fires.
NOTIFY_TIMEOUT = 150.0

# desk (PM, flat rates): 10,000 ICP at 5 USD, 20,000 USDT; maintenance margin 20,000 USD.
ICP_VALUE = 10_000 * 5.0
EQUITY_BEFORE = ICP_VALUE * 0.60 + 20_000 * 1.0
EQUITY_AFTER = ICP_VALUE * 0.40 + 20_000 * 1.0
MAINTENANCE = 20_000.0
COST = ICP_VALUE * (0.60 - 0.40)


def desk() -> FakeAccount:
    return FakeAccount(
        "desk",
        "pm",
        DESK_KEY,
        DESK_SECRET,
        {"ICP": {"crossMarginAsset": 10_000.0}, "USDT": {"crossMarginAsset": 20_000.0}},
        maintenance_margin=MAINTENANCE,
        account_type="PM_2",
    )


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[AlertingStack]:
    fake = AccountsFakeBinance(RATES, {}, PRICES, "unused-rates-secret", (EXPORTER_KEY, DESK_KEY))
    fake.accounts.add(desk())
    accounts = write_accounts_file(tmp_path, [desk()])
    flags = ("--min-interval", "1", "--account-min-interval", "1", "--max-stale", "30")
    async with AsyncExitStack() as cleanup:
        await fake.start()
        cleanup.push_async_callback(fake.stop)
        running = await cleanup.enter_async_context(
            alerting_stack(
                tmp_path,
                RATES,
                timings=TIMINGS,
                fake=fake,
                exporter_flags=(
                    *flags,
                    "--accounts-file",
                    str(accounts),
                    "--papi-base-url",
                    fake.url,
                ),
            )
        )

        async def scraped() -> bool:
            uni = await running.query('job_account:binance_pm_account_uni_mmr:min{account="desk"}')
            what_if = await running.query(
                "job_account_asset:binance_pm_account_rate_cut_cost_usd:what_if"
            )
            return bool(uni) and bool(what_if)

        await wait_for(scraped, "the account recorded by the rules", timeout=60)
        yield running


def value(series: dict[str, Any]) -> float:
    return float(series["value"][1])


async def test_a_rate_cut_pages_once_with_the_accounts_cost_and_margin(
    stack: AlertingStack,
) -> None:
    # Before the cut: Binance's uniMMR 50,000 / 20,000; a 0.10 cut of ICP would cost 5,000 USD.
    (uni,) = await stack.query("binance_pm_account_uni_mmr")
    assert value(uni) == pytest.approx(EQUITY_BEFORE / MAINTENANCE)
    what_if = {
        s["metric"]["asset"]: value(s)
        for s in await stack.query("job_account_asset:binance_pm_account_rate_cut_cost_usd:what_if")
    }
    assert what_if == pytest.approx({"ICP": ICP_VALUE * 0.10, "USDT": 20_000 * 0.10})

    # The dashboard's accounts row, as Grafana asks it, has the account's figures.
    values = {"job": ".+", "instance": ".+", "asset": ".+", "account": ".+"}
    values |= {"__range": "300s", "__rate_interval": "4s", "__interval": "2s"}
    results = {}
    for query in queries_of_panels(row_panels(load_dashboard(), ACCOUNT_ROW)):
        assert metric_names(query.expr) <= ACCOUNT_METRICS | {"binance_pm_collateral_rate"}
        expr = substitute(query.expr, values)
        results[query.where] = await stack.query(expr)
    holdings = "panel 'Account holdings' target "
    assert {s["metric"]["asset"]: value(s) for s in results[holdings + "C"]} == pytest.approx(
        {"ICP": ICP_VALUE, "USDT": 20_000.0}
    )
    assert {s["metric"]["asset"]: value(s) for s in results[holdings + "E"]} == pytest.approx(
        {"ICP": ICP_VALUE * 0.60, "USDT": 20_000.0}
    )
    assert {s["metric"]["asset"]: value(s) for s in results[holdings + "G"]} == pytest.approx(
        what_if
    )
    (shown,) = results["panel 'Account uniMMR' target A"]
    assert (shown["metric"], value(shown)) == ({"account": "desk"}, value(uni))
    assert stack.webhook.alerts(CUT_ALERT) == []

    # Binance cuts ICP from 0.60 to 0.40: the account's equity follows at once.
    stack.fake.rates["ICP"] = "0.4000"

    async def cut_notified() -> dict[str, Any] | None:
        for _, alert in stack.webhook.alerts(CUT_ALERT, "firing"):
            return alert
        return None

    alert = await wait_for(cut_notified, "the cut's notification", timeout=NOTIFY_TIMEOUT)
    assert alert["labels"] == {
        "alertname": CUT_ALERT,
        "account": "desk",
        "asset": "ICP",
        "job": "binance-pm",
        "severity": "critical",
    }
    share = COST / EQUITY_BEFORE  # 20 %
    assert alert["annotations"]["summary"] == f"Rate cut of ICP cost account desk {COST:.2f} USD"
    description = alert["annotations"]["description"]
    assert (
        f"cost Portfolio Margin account desk {COST:.2f} USD of equity ({share:.0%} of its equity"
        f" before the cut): its uniMMR went from {EQUITY_BEFORE / MAINTENANCE:.3f} to"
        f" {EQUITY_AFTER / MAINTENANCE:.3f}." in description
    )
    assert alert["annotations"]["runbook_url"].endswith(
        "/docs/accounts.md#binancepmaccountcollateralcut"
    )
    assert alert["annotations"]["dashboard_url"].endswith("var-job=binance-pm&var-account=desk")

    # The drop alert names the account too.
    drops = [a for _, a in stack.webhook.alerts(DROP_ALERT, "firing")]
    assert [a["labels"]["asset"] for a in drops] == ["ICP"]
    assert (
        f"Accounts holding ICP: desk lost {COST:.2f} USD, uniMMR"
        f" {EQUITY_BEFORE / MAINTENANCE:.3f} to {EQUITY_AFTER / MAINTENANCE:.3f}."
        in drops[0]["annotations"]["description"]
    ), drops[0]["annotations"]["description"]

    # One notification of the cut, however long it keeps firing.
    async def later() -> bool:
        evaluations = await stack.query(
            f'count_over_time(ALERTS{{alertname="{CUT_ALERT}",alertstate="firing"}}[1m]) >= 5'
        )
        return bool(evaluations)

    await wait_for(later, "five more evaluations of the firing cut alert", timeout=60)
    cut_notifications = [n for n in stack.webhook.notifications if CUT_ALERT in str(n.body)]
    assert len(cut_notifications) == 1, [n.body for n in cut_notifications]
    assert stack.webhook.alerts(CUT_ALERT, "resolved") == []
