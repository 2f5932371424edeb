"""The shipped Prometheus files pass promtool, and the alert rules' unit tests catch bad rules."""

from __future__ import annotations

import re
import shutil
import subprocess
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
    LONG_GAP_TEST,
    PROMETHEUS_DIR,
    alert_rules,
    alert_tests,
    all_rules,
    load_yaml,
    replace,
)
from tests.support.versions import ALL, Versions, reported_version

UNIT_TESTS = (ALERTS_TEST, LONG_GAP_TEST, ACCOUNT_ALERTS_TEST)

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


@pytest.fixture(params=ALL, ids=[versions.name for versions in ALL])
def versions(request: pytest.FixtureRequest) -> Versions:
    chosen: Versions = request.param
    assert reported_version(chosen.promtool).startswith(chosen.prometheus + "."), chosen
    return chosen


def promtool_of(
    versions: Versions, *args: str, cwd: Path = REPO
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [versions.promtool, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def alert_names() -> set[str]:
    return {rule["alert"] for rule in alert_rules()}


def test_promtool_check_rules(versions: Versions) -> None:
    result = promtool_of(versions, "check", "rules", str(ALERTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(all_rules())} rules found" in result.stdout


@pytest.mark.slow
def test_promtool_test_rules(versions: Versions) -> None:
    result = promtool_of(versions, "test", "rules", *map(str, UNIT_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(UNIT_TESTS)


def test_promtool_check_config_loads_the_rules(versions: Versions) -> None:
    result = promtool_of(versions, "check", "config", str(PROMETHEUS_CONFIG))
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
        # Not held: a rate back up ends the drop at once, so that a cut after it pages.
        assert "keep_firing_for" not in rule
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
BASE = "job_asset:binance_pm_collateral_rate"
EFFECTIVE, PREVIOUS, REMEMBERED = f"{BASE}:effective", f"{BASE}:previous", f"{BASE}:remembered"
DROP_FROM, DROP_TO = f"{BASE}:drop_from", f"{BASE}:drop_to"
TIER_RATE = "job_asset_tier:binance_pm_tiered_collateral_rate:max"
TIER_PREVIOUS = "job_asset_tier:binance_pm_tiered_collateral_rate:previous"
TIER_FLOOR = "job_asset_tier:binance_pm_tiered_collateral_floor_usd:max"
TIER_CAP = "job_asset_tier:binance_pm_tiered_collateral_cap_usd:max"
SELECTED = '{job="binance-pm"}'
ON = "on (job, asset)"


def expr(new: str) -> Callable[[dict[str, Any]], None]:
    def mutate(rule: dict[str, Any]) -> None:
        rule["expr"] = new

    return mutate


def setting(key: str, value: str) -> Callable[[dict[str, Any]], None]:
    def mutate(rule: dict[str, Any]) -> None:
        rule[key] = value

    return mutate


HIGH, LAST = f"{BASE}:high", f"{BASE}:last"

# Plausible rules that are wrong: (rule, what is wrong) -> (how, the unit test that must catch
# it). The change applies to every rule of that alert name (both severities) or record name.
BAD_RULES: dict[tuple[str, str], tuple[Callable[[dict[str, Any]], None], str]] = {
    (HIGH, "needs a day of history"): (
        replace("[1h])", "[1h] offset 1d)"),
        "drop fires for the dropped asset only, on a fresh Prometheus",
    ),
    (LAST, "is the rate of the moment: a long outage resolves the drop, recovery pages"): (
        expr(EFFECTIVE),
        "a 45-minute outage keeps the drop firing to its end",
    ),
    (DROP_TO, "labels the alert with the rate of the moment: a partial rise pages"): (
        expr(LAST),
        "a second drop replaces the alert with a new one",
    ),
    (DROP_FROM, "measures from the window's highest: a two-step cut turns into a new warning"): (
        expr(f"{HIGH} and {ON} ({LAST} < {ON} {HIGH}) or {LAST}"),
        "a cut in two steps pages twice",
    ),
    (DROP_ALERT, "is held after a revert: a cut after it pages nothing"): (
        setting("keep_firing_for", "30m"),
        "a drop that is reverted resolves at once, and a cut after it fires anew",
    ),
    (PREVIOUS, "forgets the rate before a gap longer than the window"): (
        replace("[180h]", "[1h]"),
        "a cut made during a gap longer than the window fires when the data is back",
    ),
    (REMEMBERED, "is not refreshed: a steady rate is forgotten within the week"): (
        replace(f"\nor\n{EFFECTIVE} unless {ON} last_over_time({REMEMBERED}[12h])", ""),
        "a cut made during a 7-day gap fires when the data is back",
    ),
    (EFFECTIVE, "takes a delisted asset for no cut"): (
        expr(RATE),
        "an asset that leaves the list is a cut to 0.1",
    ),
    (EFFECTIVE, "takes every asset for delisted while the whole list is withheld"): (
        replace(f"\n  and on (job) {RATE}", ""),
        "no drop on withheld rates",
    ),
    (DROP_ALERT, "takes a cut to 0 for a warning"): (
        replace(f"\n  or {DROP_TO} == 0", ""),
        "severity by size",
    ),
    (DROP_ALERT, "takes an exact 0.2 cut for a warning (floating point)"): (
        replace(">= 0.19995", ">= 0.2"),
        "severity by size",
    ),
    (RATE, "takes the lowest rate of the exporters: one exporter's early view fires"): (
        replace("max by (job, asset)", "min by (job, asset)"),
        "an HA pair of exporters gives one alert per drop",
    ),
    (RATE, "reads a withheld rate as 0"): (
        expr(
            f"max by (job, asset) (binance_pm_collateral_rate{SELECTED}) or 0 * max by (job, asset)"
            f" (max_over_time(binance_pm_collateral_rate{SELECTED}[1h]))"
        ),
        "no drop on withheld rates",
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
        "assets do not disappear, nor count as delisted, on a scrape gap",
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
    (TIER_PREVIOUS, "needs a day of history"): (
        replace("[180h])", "[180h] offset 1d)"),
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
def test_unit_tests_reject_a_wrong_rule(
    name: str, bad: str, versions: Versions, tmp_path: Path
) -> None:
    mutate, failing_test = BAD_RULES[(name, bad)]
    # Only the unit test that must catch the bad rule: it passes with the shipped rules.
    found = []
    for path in UNIT_TESTS:
        unit_tests = load_yaml(path)
        unit_tests["tests"] = [t for t in unit_tests["tests"] if t["name"].startswith(failing_test)]
        if unit_tests["tests"]:
            found.append(unit_tests)
    (unit_test,) = found
    assert len(unit_test["tests"]) == 1, failing_test
    (tmp_path / "alerts_test.yml").write_text(yaml.safe_dump(unit_test, allow_unicode=True))
    shutil.copy(ALERTS, tmp_path / "alerts.yml")
    result = promtool_of(versions, "test", "rules", "alerts_test.yml", cwd=tmp_path)
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
    result = promtool_of(versions, "test", "rules", "alerts_test.yml", cwd=tmp_path)
    assert result.returncode != 0, f"{failing_test!r} accepts a {name} rule that {bad}"
    assert failing_test in result.stdout + result.stderr
