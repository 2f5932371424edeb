"""The dashboard's Portfolio Margin accounts row: its panels, and every one of its queries run in
Prometheus' own engine (promtool, with the shipped rules) over two accounts reported by an HA
pair of exporters, against figures worked out here."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.dashboard_queries import (
    ACCOUNT_METRICS,
    ACCOUNT_ROW,
    load_dashboard,
    metric_names,
    queries_of_panels,
    row_panels,
    substitute,
)
from tests.support.rules import ALERTS, alert_rules
from tests.support.tools import promtool

PANELS = [
    "Account uniMMR",
    "Account status",
    "Account data",
    "uniMMR history",
    "Equity before and after collateral rates",
    "Account holdings",
]
VALUES = {
    "job": ".+",
    "instance": ".+",
    "asset": ".+",
    "account": ".+",
    "__interval": "2m",
    "__rate_interval": "4m",
    "__range": "1h",
}
JOB = 'job="binance-pm"'

# desk (PM, flat): 4,000 ICP at 5 USD, rate 0.60 (0.50 from 6m); a 10,000 USDT loan.
# pro (PM Pro): 30 BTC at 100,000 USD: 1M in the tier at 0.95, 2M in the tier at 0.90.
DESK_ICP_VALUE = 4_000 * 5.0
DESK_ICP_COLLATERAL = DESK_ICP_VALUE * 0.5
PRO_BTC_VALUE = 30 * 100_000.0
PRO_BTC_COLLATERAL = 1_000_000 * 0.95 + 2_000_000 * 0.90
# A cut by 0.10: every rate here is above it, so each holding loses a tenth of its value.
DESK_ICP_WHAT_IF = DESK_ICP_VALUE * 0.10
PRO_BTC_WHAT_IF = 1_000_000 * 0.10 + 2_000_000 * 0.10
DESK_MM, PRO_MM = 5_000.0, 1_000_000.0
DESK_UNI, PRO_UNI = 2.0, 2.5


@pytest.fixture(scope="module")
def panels() -> dict[str, dict[str, Any]]:
    return {p["title"]: p for p in row_panels(load_dashboard(), ACCOUNT_ROW)}


def test_the_row_has_its_panels_and_reads_account_series(
    panels: dict[str, dict[str, Any]],
) -> None:
    assert list(panels) == PANELS
    for query in queries_of_panels(panels.values()):
        recorded = re.findall(r"\bjob_account\w*:\w+:\w+\{([^}]*)\}", query.expr)
        assert metric_names(query.expr) & ACCOUNT_METRICS or recorded, query.where
        for selector in recorded:
            assert selector == 'job=~"$job", account=~"$account"', query.where
        for match in re.finditer(r"\b(binance_pm_account_\w+)\{([^}]*)\}", query.expr):
            assert 'account=~"$account"' in match.group(2), query.where
    # The uniMMR colours are Binance's ladder and the alert's levels.
    levels = {
        float(number)
        for rule in alert_rules()
        if rule["alert"] == "BinancePMAccountMarginRatioLow"
        for number in re.findall(r"< (\d+\.\d+)", rule["expr"])
    }
    assert levels == {1.2, 1.5}
    for title in ("Account uniMMR", "uniMMR history"):
        steps = panels[title]["fieldConfig"]["defaults"]["thresholds"]["steps"]
        assert [s["value"] for s in steps] == [None, 1.05, 1.2, 1.5], title
    columns = panels["Account holdings"]["transformations"][1]["options"]["renameByName"]
    assert columns["Value #G"] == "Cost of a 0.1 cut (USD)"


def series(metric: str, labels: str, values: str) -> list[dict[str, str]]:
    """The series of both exporters of the HA pair."""
    return [
        {"series": f"{metric}{{{JOB},instance={i!r},{labels}}}".replace("'", '"'), "values": values}
        for i in ("a:10471", "b:10471")
    ]


def samples(rows: dict[str, float]) -> list[dict[str, Any]]:
    return [{"labels": labels, "value": value} for labels, value in rows.items()]


def test_every_query_of_the_row_gives_the_figures_worked_out_here(
    panels: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    inputs = [
        *series("binance_pm_collateral_rate", 'asset="ICP"', "0.6x5 0.5x10"),
        *series("binance_pm_collateral_rate", 'asset="SOL"', "0.6x5 0.4x10"),
        *series("binance_pm_collateral_rate", 'asset="BTC"', "0.95x15"),
        *series("binance_pm_collateral_rate", 'asset="USDT"', "1x15"),
        *series("binance_pm_tiered_collateral_rate", 'asset="BTC",tier="1"', "0.95x15"),
        *series("binance_pm_tiered_collateral_rate", 'asset="BTC",tier="2"', "0.9x15"),
        *series("binance_pm_tiered_collateral_floor_usd", 'asset="BTC",tier="1"', "0x15"),
        *series("binance_pm_tiered_collateral_cap_usd", 'asset="BTC",tier="1"', "1000000x15"),
        *series("binance_pm_tiered_collateral_floor_usd", 'asset="BTC",tier="2"', "1000000x15"),
        *series("binance_pm_tiered_collateral_cap_usd", 'asset="BTC",tier="2"', "99999999999x15"),
        *series(
            "binance_pm_account_info", 'account="desk",product="pm",account_type="PM_2"', "1x15"
        ),
        *series(
            "binance_pm_account_info", 'account="pro",product="pm_pro",account_type="PM_1"', "1x15"
        ),
        *series("binance_pm_account_status", 'account="desk",status="NORMAL"', "1x15"),
        *series("binance_pm_account_status", 'account="desk",status="MARGIN_CALL"', "0x15"),
        *series("binance_pm_account_status", 'account="pro",status="NORMAL"', "0x15"),
        *series("binance_pm_account_status", 'account="pro",status="MARGIN_CALL"', "1x15"),
        *series("binance_pm_account_up", 'account="pro"', "1x15"),
        *series("binance_pm_account_maintenance_margin_usd", 'account="desk"', f"{DESK_MM}x15"),
        *series("binance_pm_account_maintenance_margin_usd", 'account="pro"', f"{PRO_MM}x15"),
        *series("binance_pm_account_uni_mmr", 'account="pro"', f"{PRO_UNI}x15"),
        *series("binance_pm_asset_index_price_usd", 'asset="ICP"', "5x15"),
        *series("binance_pm_asset_index_price_usd", 'asset="USDT"', "1x15"),
        *series("binance_pm_asset_index_price_usd", 'asset="BTC"', "100000x15"),
    ]
    # desk: a uniMMR of 2.0 on a, 2.1 on b (fetched a moment apart); up on a only.
    inputs += [
        {
            "series": f'binance_pm_account_uni_mmr{{{JOB},instance="a:10471",account="desk"}}',
            "values": f"{DESK_UNI}x15",
        },
        {
            "series": f'binance_pm_account_uni_mmr{{{JOB},instance="b:10471",account="desk"}}',
            "values": "2.1x15",
        },
        {
            "series": f'binance_pm_account_up{{{JOB},instance="a:10471",account="desk"}}',
            "values": "1x15",
        },
        {
            "series": f'binance_pm_account_up{{{JOB},instance="b:10471",account="desk"}}',
            "values": "0x15",
        },
    ]
    holdings = {
        # account, asset: balance, value, collateral value
        ("desk", "ICP"): (4_000, DESK_ICP_VALUE, DESK_ICP_COLLATERAL),
        ("desk", "USDT"): (-10_000, -10_000.0, -10_000.0),
        ("pro", "BTC"): (30, PRO_BTC_VALUE, PRO_BTC_COLLATERAL),
    }
    for (account, asset), (balance, value, collateral) in holdings.items():
        labels = f'account="{account}",asset="{asset}"'
        inputs += series("binance_pm_account_asset_balance", labels, f"{balance}x15")
        inputs += series("binance_pm_account_asset_value_usd", labels, f"{value}x15")
        inputs += series(
            "binance_pm_account_asset_collateral_value_usd", labels, f"{collateral}x15"
        )
    equity = {a: sum(h[2] for (acc, _), h in holdings.items() if acc == a) for a in ("desk", "pro")}
    actual = {a: sum(h[1] for (acc, _), h in holdings.items() if acc == a) for a in ("desk", "pro")}
    for account in ("desk", "pro"):
        inputs += series(
            "binance_pm_account_equity_usd", f'account="{account}"', f"{equity[account]}x15"
        )
        inputs += series(
            "binance_pm_account_actual_equity_usd", f'account="{account}"', f"{actual[account]}x15"
        )

    def row(account: str, asset: str | None = None, **extra: str) -> str:
        labels = {"account": account, **({"asset": asset} if asset else {}), **extra}
        return "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"

    by_holding = {key: key for key in holdings}
    expected: dict[str, dict[str, float]] = {
        "Account uniMMR A": {row("desk"): DESK_UNI, row("pro"): PRO_UNI},
        "Account status A": {row("desk", status="NORMAL"): 1, row("pro", status="MARGIN_CALL"): 1},
        "Account data A": {row("desk"): 1, row("pro"): 1},
        "uniMMR history A": {row("desk"): DESK_UNI, row("pro"): PRO_UNI},
        # At 10m no rate changed in the last 4 minutes (the ICP cut at 6m is checked below).
        "uniMMR history B": {},
        "Equity before and after collateral rates A": {row(a): actual[a] for a in actual},
        "Equity before and after collateral rates B": {row(a): equity[a] for a in equity},
        "Equity before and after collateral rates C": {
            row(a): actual[a] - equity[a] for a in actual
        },
        "Account holdings A": {row(*k): holdings[k][0] for k in by_holding},
        "Account holdings B": {
            row("desk", "ICP"): 5,
            row("desk", "USDT"): 1,
            row("pro", "BTC"): 100_000,
        },
        "Account holdings C": {row(*k): holdings[k][1] for k in by_holding},
        "Account holdings D": {row(*k): holdings[k][2] / holdings[k][1] for k in by_holding},
        "Account holdings E": {row(*k): holdings[k][2] for k in by_holding},
        "Account holdings F": {row(*k): holdings[k][1] - holdings[k][2] for k in by_holding},
        "Account holdings G": {
            row("desk", "ICP"): DESK_ICP_WHAT_IF,
            row("desk", "USDT"): 0,
            row("pro", "BTC"): PRO_BTC_WHAT_IF,
        },
        "Account holdings H": {
            row("desk", "ICP"): DESK_UNI - DESK_ICP_WHAT_IF / DESK_MM,
            row("desk", "USDT"): DESK_UNI,
            row("pro", "BTC"): PRO_UNI - PRO_BTC_WHAT_IF / PRO_MM,
        },
    }
    tests = []
    queries = {}
    for query in queries_of_panels(panels.values()):
        title, ref = re.fullmatch(r"panel '(.+)' target (\w)", query.where).groups()  # type: ignore[union-attr]
        queries[f"{title} {ref}"] = substitute(query.expr, VALUES)
    assert set(queries) == set(expected)
    for name, rows in expected.items():
        # Sums and quotients of floats: compared in millionths.
        tests.append(
            {
                "expr": f"round(({queries[name]}) * 1000000)",
                "eval_time": "10m",
                "exp_samples": [
                    {"labels": labels, "value": round(value * 1_000_000)}
                    for labels, value in rows.items()
                ],
            }
        )
    # The ICP cut (6m) is marked, while desk holds ICP; SOL's, held by nobody, is not.
    tests.append(
        {
            "expr": queries["uniMMR history B"],
            "eval_time": "7m",
            "exp_samples": [{"labels": '{asset="ICP"}', "value": 1}],
        }
    )
    unit = {
        "rule_files": ["alerts.yml"],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": inputs, "promql_expr_test": tests}],
    }
    shutil.copy(ALERTS, tmp_path / "alerts.yml")
    (tmp_path / "row_test.yml").write_text(yaml.safe_dump(unit, allow_unicode=True))
    result = promtool("test", "rules", "row_test.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
