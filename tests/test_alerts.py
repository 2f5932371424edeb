"""The shipped Prometheus files pass promtool, and the alert rules' unit tests catch bad rules."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.paths import REPO
from tests.support.rules import (
    ACCOUNT_ALERTS,
    ACCOUNT_ALERTS_TEST,
    ALERTS,
    ALERTS_TEST,
    PROMETHEUS_DIR,
    alert_rules,
    alert_tests,
    all_rules,
    load_yaml,
    replace,
    without,
)
from tests.support.tools import promtool

PROMETHEUS_CONFIG = PROMETHEUS_DIR / "prometheus.yml"
DROP_ALERT = "BinancePMCollateralRateDropped"
DISAPPEARED_ALERT = "BinancePMCollateralAssetDisappeared"
MANY_ALERT = "BinancePMManyCollateralRatesDropped"
THRESHOLD_ALERT = "BinancePMCollateralRateBelowThreshold"
LIST_SEEN = "job:binance_pm_collateral_rate:seen_timestamp_seconds"
TIER_DROP_ALERT = "BinancePMTieredCollateralRateDropped"
TIER_BRACKETS_ALERT = "BinancePMTieredCollateralBracketsChanged"
TIER_DOWN_ALERT = "BinancePMTieredUpstreamDown"
EXPECTED_ALERTS = {
    DROP_ALERT,
    DISAPPEARED_ALERT,
    MANY_ALERT,
    THRESHOLD_ALERT,
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
# The page of each alert's runbook.
RUNBOOK_PAGES = {"alerts.md": EXPECTED_ALERTS, "accounts.md": ACCOUNT_ALERTS}


def alert_names() -> set[str]:
    return {rule["alert"] for rule in alert_rules()}


def test_promtool_check_rules() -> None:
    result = promtool("check", "rules", str(ALERTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(all_rules())} rules found" in result.stdout


@pytest.mark.slow
def test_promtool_test_rules() -> None:
    result = promtool("test", "rules", str(ALERTS_TEST), str(ACCOUNT_ALERTS_TEST))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_check_config_loads_the_rules() -> None:
    result = promtool("check", "config", str(PROMETHEUS_CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 1 rule files found" in result.stdout
    assert f"SUCCESS: {len(all_rules())} rules found" in result.stdout


def test_prometheus_config_sends_alerts_to_the_compose_alertmanager() -> None:
    config = load_yaml(PROMETHEUS_CONFIG)
    (alertmanager,) = config["alerting"]["alertmanagers"]
    assert alertmanager["static_configs"] == [{"targets": ["alertmanager:9093"]}]
    (job,) = config["scrape_configs"]
    assert job["static_configs"] == [{"targets": ["exporter:10471"]}]


def runbook_headings(page: str) -> set[str]:
    runbook = (REPO / "docs" / page).read_text(encoding="utf-8").split("\n## Runbook\n")[1]
    return {h.lower() for h in re.findall(r"^### (\S+)\s*$", runbook, re.M)}


def test_every_alert_has_severity_summary_description_and_links() -> None:
    assert alert_names() == EXPECTED_ALERTS | ACCOUNT_ALERTS
    for rule in alert_rules():
        name = rule["alert"]
        assert rule["labels"]["severity"] in {"warning", "critical"}, name
        annotations = rule["annotations"]
        assert annotations["summary"].strip(), name
        assert len(annotations["description"].split()) >= 15, name
        page, anchor = annotations["runbook_url"].split("#")
        (doc,) = [doc for doc, names in RUNBOOK_PAGES.items() if name in names]
        assert page.endswith(f"/docs/{doc}"), name
        assert anchor == name.lower(), name
        assert anchor in runbook_headings(doc), name
        assert annotations["dashboard_url"].startswith("http"), name
        assert "/d/binance-pm-collateral" in annotations["dashboard_url"], name


def test_recording_rules_come_before_the_alerts_that_read_them() -> None:
    """Rules of a group run in order: an alert sees its recordings of the same evaluation."""
    for group in load_yaml(ALERTS)["groups"]:
        recorded: set[str] = set()
        for rule in group["rules"]:
            if "record" in rule:
                recorded.add(rule["record"])
                continue
            used = set(re.findall(r"\b\w+:\w+:\w+\b", rule["expr"]))
            assert used <= recorded, f"{rule['alert']} reads {used - recorded} before recording"


def test_every_alert_has_positive_and_negative_unit_tests() -> None:
    firing: set[str] = set()
    silent: set[str] = set()
    for case in alert_tests():
        (firing if case.get("exp_alerts") else silent).add(case["alertname"])
    names = alert_names()
    assert firing == names, f"never tested firing: {names - firing}"
    assert silent == names, f"never tested silent: {names - silent}"


@pytest.mark.parametrize(
    ("alertname", "labels"), [(DROP_ALERT, ("asset",)), (TIER_DROP_ALERT, ("asset", "tier"))]
)
def test_drop_alerts_carry_asset_new_rate_and_severity_by_size(
    alertname: str, labels: tuple[str, ...]
) -> None:
    rules = [rule for rule in alert_rules() if rule["alert"] == alertname]
    assert {rule["labels"]["severity"] for rule in rules} == {"warning", "critical"}
    for rule in rules:
        assert "offset" not in rule["expr"]
        assert "for" not in rule
        # Held through the window's end by at least 30 minutes.
        assert rule["keep_firing_for"] == "30m"
        assert rule["labels"]["dropped_to"] == '{{ printf "%.4f" $value }}'
    fired = {"warning": 0, "critical": 0}
    for case in alert_tests():
        if case["alertname"] == alertname:
            for alert in case.get("exp_alerts") or []:
                summary = alert["exp_annotations"]["summary"]
                for label in labels:
                    assert alert["exp_labels"][label] in summary
                match = re.search(r"dropped from \d\.\d{4} to (\d\.\d{4})$", summary)
                assert match is not None, summary
                assert alert["exp_labels"]["dropped_to"] == match.group(1)
                fired[alert["exp_labels"]["severity"]] += 1
    assert fired["warning"] >= 2
    assert alertname == TIER_DROP_ALERT or fired["critical"] >= 2


def test_tier_alerts_need_the_tiered_series_only() -> None:
    """Without an API secret the exporter has no tiered series: none of these rules may fire
    then (no absent(), no vector(), no v1 metric)."""
    (tier_group,) = [g for g in load_yaml(ALERTS)["groups"] if g["name"].endswith("-tiers")]
    assert {rule["alert"] for rule in tier_group["rules"] if "alert" in rule} == {
        TIER_DROP_ALERT,
        TIER_BRACKETS_ALERT,
        TIER_DOWN_ALERT,
    }
    for rule in tier_group["rules"]:
        expr = rule["expr"]
        names = set(re.findall(r"\b(?:binance_pm_\w+|absent|vector|up)\b", expr))
        assert names, rule
        assert all(name.startswith("binance_pm_tiered_") for name in names), rule


RATE = "job_asset:binance_pm_collateral_rate:max"
TIER_RATE = "job_asset_tier:binance_pm_tiered_collateral_rate:max"
TIER_FLOOR = "job_asset_tier:binance_pm_tiered_collateral_floor_usd:max"
TIER_CAP = "job_asset_tier:binance_pm_tiered_collateral_cap_usd:max"
SELECTED = '{job="binance-pm"}'


def expr(new: str) -> Callable[[dict[str, Any]], None]:
    def mutate(rule: dict[str, Any]) -> None:
        rule["expr"] = new

    return mutate


# Plausible rules that are wrong: (rule, what is wrong) -> (how, the unit test that must catch
# it). The change applies to every rule of that alert name (both severities) or record name.
BAD_RULES: dict[tuple[str, str], tuple[Callable[[dict[str, Any]], None], str]] = {
    (DROP_ALERT, "needs a day of history"): (
        replace(f"max_over_time({RATE}[1h])", f"max_over_time({RATE}[1h] offset 1d)"),
        "drop fires for the dropped asset only, on a fresh Prometheus",
    ),
    (DROP_ALERT, "reads the rate of the moment: a long outage resolves it, recovery pages"): (
        replace(f"last_over_time({RATE}[1h]) <", f"{RATE} <"),
        "a 45-minute outage keeps the drop firing to its end",
    ),
    (DROP_ALERT, "is not held once the higher rate leaves the window"): (
        without("keep_firing_for"),
        "a drop hidden by a data gap still fires, and for at least 30 minutes",
    ),
    (DROP_ALERT, "labels the alert with the rate of the moment: a partial rise pages"): (
        replace(f"min_over_time({RATE}[1h])\n  and", f"last_over_time({RATE}[1h])\n  and"),
        "a second drop while the alert fires adds a new alert",
    ),
    (DROP_ALERT, "takes a cut to 0 for a warning"): (
        replace(f"\n  or min_over_time({RATE}[1h]) == 0", ""),
        "severity by size",
    ),
    (DROP_ALERT, "takes an exact 0.2 cut for a warning (floating point)"): (
        replace(">= 0.19995", ">= 0.2"),
        "severity by size",
    ),
    (RATE, "keeps one series per exporter instance"): (
        replace("max by (job, asset)", "max by (job, instance, asset)"),
        "an HA pair of exporters gives one alert per drop",
    ),
    (RATE, "reads a withheld rate as 0"): (
        expr(
            f"max by (job, asset) (binance_pm_collateral_rate{SELECTED}) or 0 * max by (job, asset)"
            f" (max_over_time(binance_pm_collateral_rate{SELECTED}[1h]))"
        ),
        "no drop on a scrape gap, an exporter restart or withheld rates",
    ),
    (DISAPPEARED_ALERT, "resolves while the list is withheld"): (
        expr(f"(last_over_time({RATE}[1h]) unless {RATE}) and on (job) {LIST_SEEN}"),
        "an asset that leaves the list fires after 5 minutes, stays through an outage",
    ),
    (DISAPPEARED_ALERT, "takes one instance's list for the pair's"): (
        expr(
            f"last_over_time(binance_pm_collateral_rate{SELECTED}[1h])"
            f" unless binance_pm_collateral_rate{SELECTED}"
        ),
        "assets do not disappear on a scrape gap, an exporter restart, withheld rates or in an HA",
    ),
    (MANY_ALERT, "counts the assets of an HA pair twice"): (
        expr(
            f"count by (job) (binance_pm_collateral_rate{SELECTED}"
            f" < max_over_time(binance_pm_collateral_rate{SELECTED}[1h])) >= 10"
        ),
        "nine assets cut, seen by both exporters of an HA pair",
    ),
    (THRESHOLD_ALERT, "resolves during an outage"): (
        replace(f'last_over_time({RATE}{{asset="BTC"}}[1h])', f'{RATE}{{asset="BTC"}}'),
        "a watched asset below its threshold fires as long as it stays below",
    ),
    (TIER_DROP_ALERT, "fires on a rise"): (
        replace(f"last_over_time({TIER_RATE}[1h]) <", f"min_over_time({TIER_RATE}[1h]) <"),
        "tier drop fires for the dropped asset and tier only, on a fresh Prometheus",
    ),
    (TIER_RATE, "reads withheld tiers as 0"): (
        expr(
            'max by (job, asset, tier) (binance_pm_tiered_collateral_rate{job="binance-pm"})'
            " or 0 * max by (job, asset, tier)"
            ' (max_over_time(binance_pm_tiered_collateral_rate{job="binance-pm"}[1h]))'
        ),
        "no tier drop and no bracket change on a scrape gap, an exporter restart",
    ),
    (TIER_BRACKETS_ALERT, "misses a change of the cap alone"): (
        replace(f" + changes({TIER_CAP}[1h])", ""),
        "a lower cap on the best tier fires the bracket alert though no rate falls",
    ),
    (TIER_BRACKETS_ALERT, "takes a restart for a change"): (
        expr(
            f"count by (job, asset) (changes({TIER_FLOOR}[1h]) > 0"
            f" or (last_over_time({TIER_CAP}[1h]) unless {TIER_CAP}))"
        ),
        "no tier drop and no bracket change on a scrape gap, an exporter restart",
    ),
    (TIER_DOWN_ALERT, "fires without an API secret"): (
        expr(f"binance_pm_tiered_up{SELECTED} == 0 or absent(binance_pm_tiered_up{SELECTED})"),
        "tiered requests failing less than 5 minutes, or no tiers collected, do not fire",
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize(("name", "bad"), sorted(BAD_RULES))
def test_unit_tests_reject_a_wrong_rule(name: str, bad: str, tmp_path: Path) -> None:
    mutate, failing_test = BAD_RULES[(name, bad)]
    # Only the unit test that must catch the bad rule: it passes with the shipped rules.
    unit_tests = load_yaml(ALERTS_TEST)
    unit_tests["tests"] = [t for t in unit_tests["tests"] if t["name"].startswith(failing_test)]
    assert len(unit_tests["tests"]) == 1, failing_test
    (tmp_path / "alerts_test.yml").write_text(yaml.safe_dump(unit_tests, allow_unicode=True))
    shutil.copy(ALERTS, tmp_path / "alerts.yml")
    result = promtool("test", "rules", "alerts_test.yml", cwd=tmp_path)
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
    result = promtool("test", "rules", "alerts_test.yml", cwd=tmp_path)
    assert result.returncode != 0, f"{failing_test!r} accepts a {name} rule that {bad}"
    assert failing_test in result.stdout + result.stderr
