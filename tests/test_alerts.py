"""The shipped Prometheus files pass promtool, and the alert rules' unit tests catch bad rules."""

from __future__ import annotations

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


def test_drop_alert_needs_no_day_of_history_and_keeps_the_asset() -> None:
    (rule,) = [rule for rule in alert_rules() if rule["alert"] == DROP_ALERT]
    assert "offset" not in rule["expr"]
    assert " by " not in rule["expr"]
    assert "without" not in rule["expr"]
    for case in alert_tests():
        if case["alertname"] == DROP_ALERT:
            for alert in case.get("exp_alerts") or []:
                asset = alert["exp_labels"]["asset"]
                assert asset in alert["exp_annotations"]["summary"]


# Plausible drop rules that are wrong, each with the unit test that must catch it.
BAD_DROP_RULES = {
    "needs a day of history": (
        "binance_pm_collateral_rate < binance_pm_collateral_rate offset 1d",
        "drop fires for the dropped asset only, on a fresh Prometheus",
    ),
    "fires on a rise": (
        "binance_pm_collateral_rate != binance_pm_collateral_rate offset 5m",
        "drop fires for the dropped asset only, on a fresh Prometheus",
    ),
    "takes a scrape gap for a drop": (
        "binance_pm_collateral_rate < max_over_time(binance_pm_collateral_rate[1h])"
        " or (max_over_time(binance_pm_collateral_rate[1h]) unless binance_pm_collateral_rate)",
        "no drop on a scrape gap",
    ),
    "misses a drop that happened during a gap": (
        "binance_pm_collateral_rate < binance_pm_collateral_rate offset 1m",
        "a drop that happened while Prometheus saw nothing is still reported",
    ),
}


@pytest.mark.parametrize("bad", sorted(BAD_DROP_RULES))
def test_unit_tests_reject_a_wrong_drop_rule(bad: str, tmp_path: Path) -> None:
    expr, failing_test = BAD_DROP_RULES[bad]
    rules = load_yaml(ALERTS)
    replaced = 0
    for group in rules["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == DROP_ALERT:
                rule["expr"] = expr
                replaced += 1
    assert replaced == 1
    (tmp_path / "alerts.yml").write_text(yaml.safe_dump(rules, allow_unicode=True))
    shutil.copy(ALERTS_TEST, tmp_path / "alerts_test.yml")
    result = promtool("test", "rules", "alerts_test.yml", cwd=tmp_path)
    assert result.returncode != 0, f"the unit tests accept a drop rule that {bad}"
    assert failing_test in result.stdout + result.stderr
