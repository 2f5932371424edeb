"""The shipped Prometheus files pass promtool, and the alert rules' unit tests catch bad rules."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
PROMETHEUS_DIR = REPO / "prometheus"
ALERTS = PROMETHEUS_DIR / "alerts.yml"
ALERTS_TEST = PROMETHEUS_DIR / "alerts_test.yml"
PROMETHEUS_CONFIG = PROMETHEUS_DIR / "prometheus.yml"
DROP_ALERT = "BinancePMCollateralRateDropped"
TIER_DROP_ALERT = "BinancePMTieredCollateralRateDropped"
TIER_BRACKETS_ALERT = "BinancePMTieredCollateralBracketsChanged"
TIER_DOWN_ALERT = "BinancePMTieredUpstreamDown"


def promtool(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    assert binary is not None, "promtool is not installed (Debian package: prometheus)"
    return subprocess.run(
        [binary, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def alert_rules() -> list[dict[str, Any]]:
    return [rule for group in load_yaml(ALERTS)["groups"] for rule in group["rules"]]


def alert_tests() -> list[dict[str, Any]]:
    return [
        case for test in load_yaml(ALERTS_TEST)["tests"] for case in test.get("alert_rule_test", [])
    ]


def test_promtool_check_rules() -> None:
    result = promtool("check", "rules", str(ALERTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alert_rules())} rules found" in result.stdout


def test_promtool_test_rules() -> None:
    result = promtool("test", "rules", str(ALERTS_TEST))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_check_config_loads_the_rules() -> None:
    result = promtool("check", "config", str(PROMETHEUS_CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 1 rule files found" in result.stdout
    assert f"SUCCESS: {len(alert_rules())} rules found" in result.stdout


def test_every_alert_has_severity_summary_and_description() -> None:
    rules = alert_rules()
    names = [rule["alert"] for rule in rules]
    assert len(names) == len(set(names))
    expected = {
        DROP_ALERT,
        "BinancePMCollateralAssetDisappeared",
        "BinancePMUpstreamDown",
        "BinancePMDataStale",
        "BinancePMRateLimited",
        "BinancePMIPBanned",
        "BinancePMIPWeightNearLimit",
        "BinancePMExporterDown",
        TIER_DROP_ALERT,
        TIER_BRACKETS_ALERT,
        TIER_DOWN_ALERT,
    }
    assert set(names) == expected
    for rule in rules:
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert rule["annotations"]["summary"].strip(), rule["alert"]
        assert len(rule["annotations"]["description"].split()) >= 15, rule["alert"]


def test_every_alert_has_positive_and_negative_unit_tests() -> None:
    firing: set[str] = set()
    silent: set[str] = set()
    for case in alert_tests():
        (firing if case.get("exp_alerts") else silent).add(case["alertname"])
    names = {rule["alert"] for rule in alert_rules()}
    assert firing == names, f"never tested firing: {names - firing}"
    assert silent == names, f"never tested silent: {names - silent}"


@pytest.mark.parametrize(
    ("alertname", "labels"), [(DROP_ALERT, ("asset",)), (TIER_DROP_ALERT, ("asset", "tier"))]
)
def test_drop_alerts_need_no_day_of_history_and_keep_their_labels(
    alertname: str, labels: tuple[str, ...]
) -> None:
    (rule,) = [rule for rule in alert_rules() if rule["alert"] == alertname]
    assert "offset" not in rule["expr"]
    assert " by " not in rule["expr"]
    assert "without" not in rule["expr"]
    assert "for" not in rule
    fired = 0
    for case in alert_tests():
        if case["alertname"] == alertname:
            for alert in case.get("exp_alerts") or []:
                summary = alert["exp_annotations"]["summary"]
                for label in labels:
                    assert alert["exp_labels"][label] in summary
                assert re.search(r"dropped from \d\.\d{4} to \d\.\d{4}$", summary), summary
                fired += 1
    assert fired >= 2


def test_tier_alerts_need_the_tiered_series_only() -> None:
    """Without an API secret the exporter has no tiered series: none of these rules may fire
    then (no absent(), no vector(), no v1 metric)."""
    tier_rules = [rule for rule in alert_rules() if "Tiered" in rule["alert"]]
    assert {rule["alert"] for rule in tier_rules} == {
        TIER_DROP_ALERT,
        TIER_BRACKETS_ALERT,
        TIER_DOWN_ALERT,
    }
    for rule in tier_rules:
        names = set(re.findall(r"\b(?:binance_pm_\w+|absent|vector|up)\b", rule["expr"]))
        assert names, rule["alert"]
        assert all(name.startswith("binance_pm_tiered_") for name in names), rule["alert"]


TIER_RATE = "binance_pm_tiered_collateral_rate"
TIER_BOUNDS = "binance_pm_tiered_collateral_{}_usd"

# Plausible rules that are wrong, each with the unit test that must catch it.
BAD_RULES = {
    (DROP_ALERT, "needs a day of history"): (
        "binance_pm_collateral_rate < binance_pm_collateral_rate offset 1d",
        "drop fires for the dropped asset only, on a fresh Prometheus",
    ),
    (DROP_ALERT, "fires on a rise"): (
        "binance_pm_collateral_rate != binance_pm_collateral_rate offset 5m",
        "drop fires for the dropped asset only, on a fresh Prometheus",
    ),
    (DROP_ALERT, "takes a scrape gap for a drop"): (
        "binance_pm_collateral_rate < max_over_time(binance_pm_collateral_rate[1h])"
        " or (max_over_time(binance_pm_collateral_rate[1h]) unless binance_pm_collateral_rate)",
        "no drop on a scrape gap",
    ),
    (DROP_ALERT, "misses a drop that happened during a gap"): (
        "binance_pm_collateral_rate < binance_pm_collateral_rate offset 1m",
        "a drop that happened while Prometheus saw nothing is still reported",
    ),
    (TIER_DROP_ALERT, "needs a day of history"): (
        f"{TIER_RATE} < {TIER_RATE} offset 1d",
        "tier drop fires for the dropped asset and tier only, on a fresh Prometheus",
    ),
    (TIER_DROP_ALERT, "fires on a rise"): (
        f"{TIER_RATE} != {TIER_RATE} offset 5m",
        "tier drop fires for the dropped asset and tier only, on a fresh Prometheus",
    ),
    (TIER_DROP_ALERT, "takes a restart for a drop"): (
        f"{TIER_RATE} < max_over_time({TIER_RATE}[1h])"
        f" or (max_over_time({TIER_RATE}[1h]) unless {TIER_RATE})",
        "no tier drop and no bracket change on a scrape gap, an exporter restart",
    ),
    (TIER_DROP_ALERT, "loses the tier label"): (
        f"min by (job, instance, asset) ({TIER_RATE} < max_over_time({TIER_RATE}[1h]))",
        "tier drop fires for the dropped asset and tier only, on a fresh Prometheus",
    ),
    (TIER_BRACKETS_ALERT, "misses a change of the cap alone"): (
        f"count by (job, instance, asset) (changes({TIER_BOUNDS.format('floor')}[1h]) > 0)",
        "a lower cap on the best tier fires the bracket alert though no rate falls",
    ),
    (TIER_BRACKETS_ALERT, "takes a restart for a change"): (
        f"count by (job, instance, asset) (changes({TIER_BOUNDS.format('floor')}[1h]) > 0"
        f" or changes({TIER_BOUNDS.format('cap')}[1h]) > 0"
        f" or (last_over_time({TIER_BOUNDS.format('cap')}[1h])"
        f" unless {TIER_BOUNDS.format('cap')}))",
        "no tier drop and no bracket change on a scrape gap, an exporter restart",
    ),
    (TIER_DOWN_ALERT, "fires without an API secret"): (
        "binance_pm_tiered_up == 0 or absent(binance_pm_tiered_up)",
        "tiered requests failing less than 5 minutes, or no tiers collected, do not fire",
    ),
}


@pytest.mark.parametrize(("alertname", "bad"), sorted(BAD_RULES))
def test_unit_tests_reject_a_wrong_rule(alertname: str, bad: str, tmp_path: Path) -> None:
    expr, failing_test = BAD_RULES[(alertname, bad)]
    # Only the unit test that must catch the bad rule: it passes with the shipped rules.
    unit_tests = load_yaml(ALERTS_TEST)
    unit_tests["tests"] = [t for t in unit_tests["tests"] if t["name"].startswith(failing_test)]
    assert len(unit_tests["tests"]) == 1, failing_test
    (tmp_path / "alerts_test.yml").write_text(yaml.safe_dump(unit_tests, allow_unicode=True))
    shutil.copy(ALERTS, tmp_path / "alerts.yml")
    result = promtool("test", "rules", "alerts_test.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr

    rules = load_yaml(ALERTS)
    replaced = 0
    for group in rules["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == alertname:
                rule["expr"] = expr
                replaced += 1
    assert replaced == 1
    (tmp_path / "alerts.yml").write_text(yaml.safe_dump(rules, allow_unicode=True))
    result = promtool("test", "rules", "alerts_test.yml", cwd=tmp_path)
    assert result.returncode != 0, f"{failing_test!r} accepts a {alertname} rule that {bad}"
    assert failing_test in result.stdout + result.stderr
