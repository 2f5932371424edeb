"""The monitoring mixin is the one source: the committed rules, PrometheusRule and dashboards are
its rendering, and its config reaches every rule and query."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from scripts.render_mixin import ALERTS, DASHBOARDS, PROMETHEUS_RULE, REPO, evaluate, render
from tests.support.tools import promtool

DASHBOARD = "binance-pm-collateral.json"
RAW_METRIC = re.compile(r"(?<![:\w])(binance_pm_\w+|up)(?![:\w])(\{[^}]*\})?")


def run_render(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "scripts" / "render_mixin.py"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_committed_files_equal_the_rendering() -> None:
    files = render()
    assert set(files) == {ALERTS, PROMETHEUS_RULE, *(d / DASHBOARD for d in DASHBOARDS)}
    for path, text in files.items():
        assert (REPO / path).read_text(encoding="utf-8") == text, (
            f"{path} differs from the mixin: run scripts/render_mixin.py"
        )
    assert run_render("--check").returncode == 0


@pytest.mark.slow
def test_check_names_the_file_that_differs(tmp_path: Path) -> None:
    for path in render():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / path, tmp_path / path)
    assert run_render("--check", "--root", str(tmp_path)).returncode == 0
    edited = tmp_path / PROMETHEUS_RULE
    edited.write_text(edited.read_text(encoding="utf-8").replace("30m", "31m"))
    result = run_render("--check", "--root", str(tmp_path))
    assert result.returncode == 1
    assert result.stdout.strip() == (
        f"{PROMETHEUS_RULE} differs from the mixin's rendering: run scripts/render_mixin.py"
    )


def test_prometheus_rule_carries_the_same_groups_and_the_dashboard_copy_is_identical() -> None:
    alerts = yaml.safe_load((REPO / ALERTS).read_text(encoding="utf-8"))
    rule = yaml.safe_load((REPO / PROMETHEUS_RULE).read_text(encoding="utf-8"))
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["kind"] == "PrometheusRule"
    assert rule["metadata"] == {
        "name": "binance-pm-exporter",
        "labels": {
            "app.kubernetes.io/name": "binance-pm-exporter",
            "app.kubernetes.io/component": "alerting",
        },
    }
    assert rule["spec"]["groups"] == alerts["groups"]
    grafana, kubernetes = (REPO / d / DASHBOARD for d in DASHBOARDS)
    assert grafana.read_bytes() == kubernetes.read_bytes()


def exprs(mixin: dict[str, Any]) -> list[str]:
    return [rule["expr"] for group in mixin["alerts"]["groups"] for rule in group["rules"]]


def rules_named(mixin: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [
        rule
        for group in mixin["alerts"]["groups"]
        for rule in group["rules"]
        if rule.get("alert") == name
    ]


def default_severities() -> dict[str, str]:
    chosen = evaluate()
    return {
        rule["alert"]: rule["labels"]["severity"]
        for group in chosen["alerts"]["groups"]
        for rule in group["rules"]
        if "alert" in rule and len(rules_named(chosen, rule["alert"])) == 1
    }


def test_the_config_reaches_every_rule_and_the_dashboard(tmp_path: Path) -> None:
    config = {
        "selector": 'job="binance", env="prod"',
        "criticalDrop": 0.3,
        "manyDropsCount": 5,
        "watchedAssets": {"SOL": 0.5},
        "dropKeepFiringFor": "45m",
        # A plain JSON override replaces the whole object (jsonnet users would write +:).
        "severities": {**default_severities(), "BinancePMDataStale": "warning"},
        "runbookURLPattern": "https://runbooks.example/binance-pm/%s",
    }
    mixin = evaluate(config)
    # Every raw metric the rules read is selected by the configured matchers.
    selected = [found for expr in exprs(mixin) for found in RAW_METRIC.findall(expr)]
    assert len(selected) >= 10
    for metric, selector in selected:
        assert selector.startswith('{job="binance", env="prod"'), metric
    (threshold,) = rules_named(mixin, "BinancePMCollateralRateBelowThreshold")
    assert threshold["expr"] == (
        'label_replace(last_over_time(job_asset:binance_pm_collateral_rate:max{asset="SOL"}[1h])'
        ' < 0.5, "threshold", "0.5000", "", "")'
    )
    critical, warning = rules_named(mixin, "BinancePMCollateralRateDropped")
    assert (critical["labels"]["severity"], warning["labels"]["severity"]) == (
        "critical",
        "warning",
    )
    assert ">= 0.29995" in critical["expr"]
    assert critical["keep_firing_for"] == warning["keep_firing_for"] == "45m"
    (many,) = rules_named(mixin, "BinancePMManyCollateralRatesDropped")
    assert many["expr"].endswith(">= 5")
    (stale,) = rules_named(mixin, "BinancePMDataStale")
    assert stale["labels"]["severity"] == "warning"
    for group in mixin["alerts"]["groups"]:
        for rule in group["rules"]:
            if "alert" in rule:
                url = rule["annotations"]["runbook_url"]
                assert url == f"https://runbooks.example/binance-pm/{rule['alert'].lower()}"
    dashboard = mixin["dashboards"][DASHBOARD]
    (job,) = [v for v in dashboard["templating"]["list"] if v["name"] == "job"]
    assert job["query"]["query"] == 'label_values(binance_pm_up{job="binance", env="prod"}, job)'

    # The overridden rendering is valid for Prometheus too.
    rules = tmp_path / "alerts.yml"
    rules.write_text(yaml.safe_dump({"groups": mixin["alerts"]["groups"]}, allow_unicode=True))
    result = promtool("check", "rules", str(rules))
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_watched_assets_renders_no_threshold_rule() -> None:
    mixin = evaluate({"watchedAssets": {}})
    assert rules_named(mixin, "BinancePMCollateralRateBelowThreshold") == []
    assert rules_named(mixin, "BinancePMCollateralRateDropped")


def test_rendered_json_is_stable_and_readable() -> None:
    text = (REPO / DASHBOARDS[0] / DASHBOARD).read_text(encoding="utf-8")
    assert json.loads(text) == evaluate()["dashboards"][DASHBOARD]
    assert text.endswith("}\n")
    assert "币安人生" not in text or "\\u" not in text
