"""The Portfolio Margin account rules: their unit tests catch plausible wrong rules, every account
alert carries `account`, and the mixin's account settings reach the rules."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from scripts.render_mixin import evaluate
from tests.support.rules import (
    ACCOUNT_ALERTS,
    ACCOUNT_ALERTS_TEST,
    ALERTS,
    alert_rules,
    alert_tests,
    load_yaml,
    replace,
    without,
)
from tests.support.tools import promtool

UNI_MMR = "job_account:binance_pm_account_uni_mmr:min"
ACCOUNT_UP = "job_account:binance_pm_account_up:max"
WHAT_IF = "job_account_asset:binance_pm_account_rate_cut_cost_usd:what_if"
LAST_CUT = "job_account_asset:binance_pm_account_rate_cut_cost_usd:last_cut"
IN_TIER = "job_account_asset_tier:binance_pm_account_asset_value_usd:in_tier"
VALUE = "job_account_asset:binance_pm_account_asset_value_usd:max"
TIER_RATE = "job_asset_tier:binance_pm_tiered_collateral_rate:max"
MARGIN_ALERT = "BinancePMAccountMarginRatioLow"
CUT_ALERT = "BinancePMAccountCollateralCut"
COSTS_TEST = "cut costs and what-if for a flat (PM) and a tiered (PM Pro) account"
OUTAGE_TEST = "a cut fires once through an account outage and an exporter restart"
HIDDEN_CUT_TEST = "a cut seen after an account outage that hid it"
MARGIN_TEST = "margin ratio warns under 1.5 and is critical under 1.2"
DOWN_TEST = "account data down fires after 5 minutes"


def drop_tiered_part(rule: dict[str, Any]) -> None:
    """Prices every account with the flat rate."""
    expr = rule["expr"]
    start = expr.index("sum by (job, account, asset)")
    end = expr.index("or\n", start) + len("or\n")
    rule["expr"] = expr[:start] + expr[end:]


# (rule, what is wrong) -> (how, the unit test that must catch it).
BAD_RULES: dict[tuple[str, str], tuple[Callable[[dict[str, Any]], None], str]] = {
    (LAST_CUT, "prices a tiered account with the flat rate"): (drop_tiered_part, COSTS_TEST),
    (WHAT_IF, "prices a tiered account with the flat rate"): (drop_tiered_part, COSTS_TEST),
    (WHAT_IF, "cuts a tier below the cut by the whole cut"): (
        replace(f"clamp_max({TIER_RATE}, 0.1)", f"(0 * {TIER_RATE} + 0.1)"),
        COSTS_TEST,
    ),
    (WHAT_IF, "haircuts a loan"): (replace(f"clamp_min({VALUE}, 0)", VALUE), COSTS_TEST),
    (IN_TIER, "takes the whole value for each tier"): (
        replace(f"({VALUE} <= on", f"({VALUE} >= -1e20 or {VALUE} <= on"),
        COSTS_TEST,
    ),
    (UNI_MMR, "keeps one series per exporter instance"): (
        replace("min by (job, account)", "min by (job, instance, account)"),
        MARGIN_TEST,
    ),
    (MARGIN_ALERT, "reads the uniMMR of the moment: a gap resolves it"): (
        replace(f"last_over_time({UNI_MMR}[15m])", UNI_MMR),
        MARGIN_TEST,
    ),
    (CUT_ALERT, "is critical by the share of equity alone"): (
        replace(
            f"\n  or\n  ({LAST_CUT} and on (job, account) (last_over_time({UNI_MMR}[15m]) < 1.5))",
            "",
        ),
        COSTS_TEST,
    ),
    (CUT_ALERT, "fires before the account's figures after the cut can be fetched"): (
        without("for"),
        COSTS_TEST,
    ),
    (CUT_ALERT, "is not held once the higher rate leaves the window"): (
        without("keep_firing_for"),
        OUTAGE_TEST,
    ),
    (LAST_CUT, "forgets the holding during an account outage"): (
        replace(f"last_over_time({VALUE}[15m])", VALUE),
        HIDDEN_CUT_TEST,
    ),
    (ACCOUNT_UP, "takes one exporter's failure for the pair's"): (
        replace("max by (job, account)", "min by (job, account)"),
        DOWN_TEST,
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize(("name", "bad"), sorted(BAD_RULES))
def test_unit_tests_reject_a_wrong_account_rule(name: str, bad: str, tmp_path: Path) -> None:
    mutate, failing_test = BAD_RULES[(name, bad)]
    unit_tests = load_yaml(ACCOUNT_ALERTS_TEST)
    unit_tests["tests"] = [t for t in unit_tests["tests"] if t["name"].startswith(failing_test)]
    assert len(unit_tests["tests"]) == 1, failing_test
    (tmp_path / "alerts_accounts_test.yml").write_text(
        yaml.safe_dump(unit_tests, allow_unicode=True)
    )
    shutil.copy(ALERTS, tmp_path / "alerts.yml")
    result = promtool("test", "rules", "alerts_accounts_test.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr

    rules = load_yaml(ALERTS)
    changed = 0
    for group in rules["groups"]:
        for rule in group["rules"]:
            if name in (rule.get("alert"), rule.get("record")):
                mutate(rule)
                changed += 1
    assert changed >= 1
    (tmp_path / "alerts.yml").write_text(yaml.safe_dump(rules, allow_unicode=True))
    result = promtool("test", "rules", "alerts_accounts_test.yml", cwd=tmp_path)
    assert result.returncode != 0, f"{failing_test!r} accepts a {name} rule that {bad}"
    # Only that test ran: its failure is the one reported.
    assert "FAILED" in result.stdout + result.stderr


def test_account_alerts_carry_account_and_read_account_series_only() -> None:
    rules = [rule for rule in alert_rules() if rule["alert"] in ACCOUNT_ALERTS]
    assert {rule["alert"] for rule in rules} == ACCOUNT_ALERTS
    for rule in rules:
        # No absent() or vector(): without accounts nothing can fire.
        assert not re.search(r"\b(absent|vector)\(", rule["expr"]), rule["alert"]
        dashboard = rule["annotations"]["dashboard_url"]
        assert "var-account={{ $labels.account | urlquery }}" in dashboard, rule["alert"]
    fired: dict[str, set[str]] = {name: set() for name in ACCOUNT_ALERTS}
    for case in alert_tests():
        if case["alertname"] in ACCOUNT_ALERTS:
            for alert in case.get("exp_alerts") or []:
                assert alert["exp_labels"]["account"], case
                assert "instance" not in alert["exp_labels"], case
                fired[case["alertname"]].add(alert["exp_labels"]["severity"])
    assert fired == {
        "BinancePMAccountMarginRatioLow": {"warning", "critical"},
        "BinancePMAccountStatusAbnormal": {"warning", "critical"},
        "BinancePMAccountCollateralCut": {"warning", "critical"},
        "BinancePMAccountDataDown": {"warning"},
    }


def rules_by_name(mixin: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for group in mixin["alerts"]["groups"]:
        for rule in group["rules"]:
            found.setdefault(rule.get("alert") or rule["record"], []).append(rule)
    return found


def test_the_account_settings_reach_the_rules() -> None:
    rules = rules_by_name(
        evaluate(
            {
                "binancePMAccountWhatIfCut": 0.25,
                "binancePMAccountMaxTiers": 3,
                "binancePMAccountMemory": "20m",
                "binancePMAccountMarginWarning": 1.6,
                "binancePMAccountMarginCritical": 1.3,
                "binancePMAccountCutCriticalShare": 0.05,
                "binancePMAccountCutWarningShare": 0.01,
                "binancePMAccountStatusWarning": ["MARGIN_CALL"],
                "binancePMAccountDownFor": "7m",
                "binancePMAccountDownSeverity": "critical",
                "binancePMAccountCutFor": "2m",
            }
        )
    )
    (what_if,) = rules[WHAT_IF]
    assert f"clamp_max({TIER_RATE}, 0.25)" in what_if["expr"]
    assert '"cut", "0.2500"' in what_if["expr"]
    assert [rule["labels"]["tier"] for rule in rules[IN_TIER]] == ["1", "2", "3"]
    critical, warning = rules[MARGIN_ALERT]
    assert critical["expr"] == f"last_over_time({UNI_MMR}[20m]) < 1.3"
    assert warning["expr"] == f"last_over_time({UNI_MMR}[20m]) < 1.6 >= 1.3"
    cut_critical, cut_warning = rules[CUT_ALERT]
    assert ">= 0.05\n" in cut_critical["expr"]
    assert "< 1.6))" in cut_critical["expr"]
    assert ">= 0.01)" in cut_warning["expr"]
    assert cut_critical["for"] == cut_warning["for"] == "2m"
    status_critical, status_warning = rules["BinancePMAccountStatusAbnormal"]
    assert 'status!~"NORMAL|MARGIN_CALL"' in status_critical["expr"]
    assert 'status=~"MARGIN_CALL"' in status_warning["expr"]
    (down,) = rules["BinancePMAccountDataDown"]
    assert (down["for"], down["labels"]["severity"]) == ("7m", "critical")
