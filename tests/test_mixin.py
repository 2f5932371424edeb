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

import _jsonnet
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


@pytest.mark.slow
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
    edited.write_text(edited.read_text(encoding="utf-8").replace("[1h]", "[2h]"))
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


@pytest.mark.slow
def test_the_config_reaches_every_rule_and_the_dashboard(tmp_path: Path) -> None:
    config = {
        "binancePMSelector": 'job="binance", env="prod"',
        "binancePMCriticalDrop": 0.3,
        "binancePMManyDropsCount": 5,
        "binancePMWatchedAssets": {"SOL": 0.5},
        "binancePMWindow": "2h",
        "binancePMGapMemory": "3d",
        "binancePMDelistedRate": 0.05,
        # A plain JSON override replaces the whole object (jsonnet users would write +:).
        "binancePMSeverities": {**default_severities(), "BinancePMDataStale": "warning"},
        "binancePMRunbookURLPattern": "https://runbooks.example/binance-pm/%s",
    }
    mixin = evaluate(config)
    # Every raw metric the rules read is selected by the configured matchers.
    selected = [found for expr in exprs(mixin) for found in RAW_METRIC.findall(expr)]
    assert len(selected) >= 10
    for metric, selector in selected:
        assert selector.startswith('{job="binance", env="prod"'), metric
    (threshold,) = rules_named(mixin, "BinancePMCollateralRateBelowThreshold")
    assert threshold["expr"] == (
        'label_replace(last_over_time(job_asset:binance_pm_collateral_rate:max{asset="SOL"}[2h])'
        ' < 0.5, "threshold", "0.5000", "", "")'
    )
    recorded = {
        r["record"]: r["expr"]
        for g in mixin["alerts"]["groups"]
        for r in g["rules"]
        if "record" in r
    }
    # The memory looks back over the gap and one refresh of the remembered rate (12h).
    previous = recorded["job_asset:binance_pm_collateral_rate:previous"]
    assert previous.startswith(
        "last_over_time(job_asset:binance_pm_collateral_rate:remembered[84h])"
    )
    assert "+ 0.05 unless" in recorded["job_asset:binance_pm_collateral_rate:effective"]
    assert recorded["job_asset:binance_pm_collateral_rate:high"] == (
        "max_over_time(job_asset:binance_pm_collateral_rate:previous[2h])"
    )
    critical, warning = rules_named(mixin, "BinancePMCollateralRateDropped")
    assert (critical["labels"]["severity"], warning["labels"]["severity"]) == (
        "critical",
        "warning",
    )
    assert ">= 0.29995" in critical["expr"]
    assert "keep_firing_for" not in critical
    assert "keep_firing_for" not in warning
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


@pytest.mark.slow
def test_no_watched_assets_renders_no_threshold_rule() -> None:
    mixin = evaluate({"binancePMWatchedAssets": {}})
    assert rules_named(mixin, "BinancePMCollateralRateBelowThreshold") == []
    assert rules_named(mixin, "BinancePMCollateralRateDropped")


@pytest.mark.slow
def test_rendered_json_is_stable_and_readable() -> None:
    text = (REPO / DASHBOARDS[0] / DASHBOARD).read_text(encoding="utf-8")
    assert json.loads(text) == evaluate()["dashboards"][DASHBOARD]
    assert text.endswith("}\n")
    assert "币安人生" not in text or "\\u" not in text


# --- The dashboard's panels and queries, as rendered before the dashboard was built from helpers --
PANELS_FIXTURE = REPO / "tests" / "fixtures" / "dashboard_panels.json"


def panel_summary(dashboard: dict[str, Any]) -> dict[str, Any]:
    """What a reader of the dashboard sees of it: variables, annotations, and per row its
    panels' type, title, size and queries. Layout positions and styling are left out."""
    rows: list[dict[str, Any]] = []
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            rows.append({"title": panel["title"], "id": panel["id"], "panels": []})
            continue
        if not rows:
            rows.append({"title": None, "id": None, "panels": []})
        rows[-1]["panels"].append(
            {
                "id": panel["id"],
                "type": panel["type"],
                "title": panel["title"],
                "size": [panel["gridPos"]["w"], panel["gridPos"]["h"]],
                "targets": [
                    {key: target[key] for key in ("refId", "expr", "legendFormat", "instant")}
                    | {"format": target["format"]}
                    for target in panel["targets"]
                ],
            }
        )
    return {
        "variables": [
            {"name": v["name"], "query": v["query"]} for v in dashboard["templating"]["list"]
        ],
        "annotations": [
            {"name": a["name"], "expr": a.get("expr")} for a in dashboard["annotations"]["list"]
        ],
        "rows": rows,
    }


def changed_panels(dashboard: dict[str, Any], before: dict[str, Any]) -> list[str]:
    """Where the dashboard differs from `before`. Rows that `before` does not have are new
    and left alone; the rows it has keep their order, panels and queries."""
    now = panel_summary(dashboard)
    known = {row["title"] for row in before["rows"]}
    kept = [row for row in now["rows"] if row["title"] in known]
    problems = [
        f"{part} changed" for part in ("variables", "annotations") if now[part] != before[part]
    ]
    if [row["title"] for row in kept] != [row["title"] for row in before["rows"]]:
        problems.append("rows missing or reordered")
    for old, new in zip(before["rows"], kept, strict=False):
        if old != new:
            problems.append(f"row {old['title']!r} changed")
    return problems


@pytest.mark.slow
def test_the_dashboard_renders_the_panels_and_queries_it_had_before_the_helpers() -> None:
    before = json.loads(PANELS_FIXTURE.read_text(encoding="utf-8"))
    assert sum(len(row["panels"]) for row in before["rows"]) == 23
    assert changed_panels(evaluate()["dashboards"][DASHBOARD], before) == []


@pytest.mark.slow
def test_the_panel_comparison_sees_a_changed_query_a_lost_panel_and_allows_a_new_row() -> None:
    before = json.loads(PANELS_FIXTURE.read_text(encoding="utf-8"))
    fewer_movers = evaluate({"binancePMDashboardTopAssets": 5})["dashboards"][DASHBOARD]
    assert changed_panels(fewer_movers, before) == [
        "row 'Collateral rates' changed",
        "row 'Portfolio Margin Pro tiers' changed",
    ]
    dashboard = evaluate()["dashboards"][DASHBOARD]
    lost = dict(dashboard, panels=[p for p in dashboard["panels"] if p["title"] != "Clock offset"])
    assert changed_panels(lost, before) == ["row 'Portfolio Margin Pro tiers' changed"]
    new_row = {"type": "row", "id": 90, "title": "Another row", "gridPos": {}, "panels": []}
    grown = dict(dashboard, panels=[*dashboard["panels"], new_row])
    assert changed_panels(grown, before) == []
    reordered = dict(dashboard, panels=list(reversed(dashboard["panels"])))
    assert "rows missing or reordered" in changed_panels(reordered, before)


MIXIN_SOURCES = sorted((REPO / "mixin").rglob("*.libsonnet"))


def jsonnetfmt_test(*paths: Path) -> subprocess.CompletedProcess[str]:
    jsonnetfmt = shutil.which("jsonnetfmt")
    assert jsonnetfmt, "jsonnetfmt is missing: scripts/test.sh installs Debian's jsonnet package"
    return subprocess.run(
        [jsonnetfmt, "--test", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_mixin_sources_are_formatted_by_jsonnetfmt(tmp_path: Path) -> None:
    assert len(MIXIN_SOURCES) >= 6
    result = jsonnetfmt_test(*MIXIN_SOURCES)
    assert result.returncode == 0, f"run jsonnetfmt -i on mixin/: {result.stdout}{result.stderr}"
    untidy = tmp_path / "untidy.libsonnet"
    untidy.write_text("{a:1,\n   b:  [1,2]}\n", encoding="utf-8")
    assert jsonnetfmt_test(untidy).returncode != 0


# Keys of node-mixin's and kubernetes-mixin's _config that a second mixin must not reuse.
NEIGHBOUR_KEYS = {"runbookURLPattern", "dashboardTags", "grafanaURL", "dashboardTimezone"}


def test_every_config_key_carries_the_mixin_prefix() -> None:
    keys = sorted(config_keys())
    assert len(keys) >= 20
    assert [key for key in keys if not re.fullmatch(r"binancePM[A-Z]\w+", key)] == []
    assert NEIGHBOUR_KEYS.isdisjoint(keys)


@pytest.mark.slow
def test_an_unknown_or_old_config_key_is_refused_with_one_line(tmp_path: Path) -> None:
    overrides = tmp_path / "old.libsonnet"
    overrides.write_text("{ selector: 'job=\"binance\"' }\n", encoding="utf-8")
    result = run_render("--overrides", str(overrides), "--root", str(tmp_path / "out"))
    assert result.returncode == 2
    assert result.stderr == (
        "render_mixin.py: unknown config key selector: the mixin's keys are those of"
        " mixin/config.libsonnet (they start with binancePM)\n"
    )
    assert not (tmp_path / "out").exists()
    broken = tmp_path / "broken.libsonnet"
    broken.write_text("{ binancePMSelector: ", encoding="utf-8")
    result = run_render("--overrides", str(broken), "--root", str(tmp_path / "out"))
    assert result.returncode == 2
    assert result.stderr.startswith("render_mixin.py: STATIC ERROR: ")
    assert result.stderr.count("\n") == 1


def documented_overrides() -> tuple[str, list[str]]:
    """The overrides file and the render command of docs/alerts.md's "Your own settings"."""
    text = (REPO / "docs" / "alerts.md").read_text(encoding="utf-8")
    section = text.split("### Your own settings", 1)[1].split("\n## ", 1)[0]
    (example,) = re.findall(r"```jsonnet\n(.*?)```", section, re.S)
    commands = [
        line.split("#", 1)[0].split()
        for block in re.findall(r"```sh\n(.*?)```", section, re.S)
        for line in block.splitlines()
        if "render_mixin.py" in line
    ]
    (command,) = commands
    return example, command


@pytest.mark.slow
def test_the_documented_overrides_command_renders_rules_and_dashboard(tmp_path: Path) -> None:
    example, command = documented_overrides()
    assert command[:4] == [
        ".venv/bin/python",
        "scripts/render_mixin.py",
        "--overrides",
        "my-mixin.libsonnet",
    ]
    assert command[4:] == ["--root", "my-monitoring"]
    (tmp_path / "my-mixin.libsonnet").write_text(example, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(REPO / command[1]), *command[2:]],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = tmp_path / "my-monitoring"
    rules = yaml.safe_load((out / ALERTS).read_text(encoding="utf-8"))
    alerts = [rule for group in rules["groups"] for rule in group["rules"] if "alert" in rule]
    dashboard = json.loads((out / DASHBOARDS[0] / DASHBOARD).read_text(encoding="utf-8"))
    # The example's settings, as the docs show them, reach the rules and the dashboard.
    assert all(
        '{job="binance", env="prod"' in m[1] for r in alerts for m in RAW_METRIC.findall(r["expr"])
    )
    for rule in alerts:
        name = rule["alert"].lower()
        assert rule["annotations"]["runbook_url"] == f"https://wiki.example/binance-pm#{name}"
        assert rule["annotations"]["dashboard_url"].startswith(
            "https://grafana.example/d/binance-pm-collateral"
        )
    (stale,) = [rule for rule in alerts if rule["alert"] == "BinancePMUpstreamDown"]
    assert stale["labels"]["severity"] == "critical"
    (job,) = [v for v in dashboard["templating"]["list"] if v["name"] == "job"]
    assert job["query"]["query"] == 'label_values(binance_pm_up{job="binance", env="prod"}, job)'
    assert (out / PROMETHEUS_RULE).is_file()
    assert (out / DASHBOARDS[1] / DASHBOARD).read_bytes() == (
        out / DASHBOARDS[0] / DASHBOARD
    ).read_bytes()
    result = promtool("check", "rules", str(out / ALERTS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_renderer_needs_only_the_package_and_its_mixin_extra() -> None:
    """`pip install '.[mixin]'` (the README's virtualenv) is all scripts/render_mixin.py needs:
    every module it imports is the standard library's or a distribution that the package's
    dependencies or its `mixin` extra name."""
    import ast
    import tomllib
    from importlib.metadata import packages_distributions

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    allowed = {
        canonicalize_name(Requirement(line).name)
        for line in [*project["dependencies"], *project["optional-dependencies"]["mixin"]]
    }
    tree = ast.parse((REPO / "scripts" / "render_mixin.py").read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
    }
    third_party = sorted(imported - set(sys.stdlib_module_names) - {"__future__"})
    assert third_party == ["_jsonnet", "yaml"]
    distributions = packages_distributions()
    needed = {canonicalize_name(distributions[module][0]) for module in third_party}
    assert needed <= allowed, f"{sorted(needed - allowed)} not in dependencies or the mixin extra"


@pytest.mark.slow
def test_the_dashboards_thresholds_follow_the_alerts_config() -> None:
    mixin = evaluate(
        {
            "binancePMStaleAfterSeconds": 900,
            "binancePMIPWeightBudget": 6000,
            "binancePMIPWeightNearLimitRatio": 0.5,
        }
    )
    panels = {p["title"]: p for p in mixin["dashboards"][DASHBOARD]["panels"]}
    steps = {
        title: [
            step["value"]
            for step in panels[title]["fieldConfig"]["defaults"]["thresholds"]["steps"]
        ]
        for title in ("Data age", "Age of the data", "Binance IP weight used (budget 6,000/min)")
    }
    assert steps == {
        "Data age": [None, 300, 900],
        "Age of the data": [None, 300, 900],
        "Binance IP weight used (budget 6,000/min)": [None, 3000, 6000],
    }
    weight = panels["Binance IP weight used (budget 6,000/min)"]
    assert weight["fieldConfig"]["defaults"]["max"] == 6000
    assert (
        "Orange from 3,000 (50%, BinancePMIPWeightNearLimit), red at 6,000" in weight["description"]
    )
    assert panels["Data age"]["description"].endswith(
        "the BinancePMDataStale alert fires past 15m."
    )
    assert "BinancePMDataStale fires past 900 s" in panels["Age of the data"]["description"]
    (stale,) = rules_named(mixin, "BinancePMDataStale")
    assert "> 900" in stale["expr"]


PANELS_LIB = json.dumps(str(REPO / "mixin" / "dashboards" / "panels.libsonnet"))


def layout(rows: str) -> Any:
    code = (
        f"local p = import {PANELS_LIB};"
        " local s(w, h=4) = p.stat('s', 'a stat', p.instant('up'), width=w, height=h);"
        f" [[q.id, q.type, q.gridPos] for q in p.layout({rows})]"
    )
    return json.loads(_jsonnet.evaluate_snippet("layout", code))


def test_rows_lay_their_panels_out_in_lines_and_number_them_after_the_row() -> None:
    placed = layout("[p.row('A', 1, [s(12), s(12, 6), s(8)]), p.row('B', 30, [s(24, 2)])]")
    assert placed == [
        [1, "row", {"x": 0, "y": 0, "w": 24, "h": 1}],
        [2, "stat", {"x": 0, "y": 1, "w": 12, "h": 4}],
        [3, "stat", {"x": 12, "y": 1, "w": 12, "h": 6}],
        [4, "stat", {"x": 0, "y": 7, "w": 8, "h": 4}],
        [30, "row", {"x": 0, "y": 11, "w": 24, "h": 1}],
        [31, "stat", {"x": 0, "y": 12, "w": 24, "h": 2}],
    ]
    with pytest.raises(RuntimeError, match="panel ids collide"):
        layout("[p.row('A', 1, [s(4), s(4)]), p.row('B', 2, [s(4)])]")


def config_keys() -> set[str]:
    mixin = json.dumps(str(REPO / "mixin" / "mixin.libsonnet"))
    code = f"std.objectFieldsAll((import {mixin})._config)"
    return set(json.loads(_jsonnet.evaluate_snippet("keys", code)))


def test_every_config_key_the_docs_and_comments_name_exists() -> None:
    places = [
        REPO / "README.md",
        REPO / "CHANGELOG.md",
        *sorted((REPO / "docs").glob("*.md")),
        *sorted((REPO / "prometheus").glob("*.yml")),
        *MIXIN_SOURCES,
    ]
    named = {
        (path.relative_to(REPO).as_posix(), key)
        for path in places
        for key in re.findall(r"\bbinancePM[A-Z]\w*", path.read_text(encoding="utf-8"))
    }
    assert len({key for _, key in named}) >= 20
    keys = config_keys()
    assert sorted((where, key) for where, key in named if key not in keys) == []


@pytest.mark.slow
def test_the_mixin_merges_with_another_that_uses_the_common_key_names() -> None:
    """Beside a mixin with node-mixin's and kubernetes-mixin's own `_config` keys (in either
    order), each keeps its settings, rules and dashboards."""
    neighbour = (
        "{ _config+:: { runbookURLPattern: 'https://runbooks.example/node/%s',"
        " dashboardTags: ['node-exporter-mixin'], grafanaURL: 'https://node.example',"
        " selector: 'job=\"node\"' },"
        " prometheusAlerts+:: { groups+: [{ name: 'node', rules: [{ alert: 'NodeDown',"
        " expr: 'up{%s} == 0' % $._config.selector,"
        " annotations: { runbook_url: $._config.runbookURLPattern % 'nodedown' } }] }] },"
        " grafanaDashboards+:: { 'node.json': { tags: $._config.dashboardTags } } }"
    )
    ours = f"(import {json.dumps(str(REPO / 'mixin' / 'mixin.libsonnet'))})"
    alone = evaluate()
    for combined in (f"{neighbour} + {ours}", f"{ours} + {neighbour}"):
        code = (
            f"local m = {combined};"
            " { alerts: m.prometheusAlerts, dashboards: m.grafanaDashboards }"
        )
        merged = json.loads(_jsonnet.evaluate_snippet("merged", code))
        node, *rest = sorted(merged["alerts"]["groups"], key=lambda g: g["name"] != "node")
        assert node["rules"] == [
            {
                "alert": "NodeDown",
                "expr": 'up{job="node"} == 0',
                "annotations": {"runbook_url": "https://runbooks.example/node/nodedown"},
            }
        ]
        assert sorted(rest, key=lambda g: g["name"]) == sorted(
            alone["alerts"]["groups"], key=lambda g: g["name"]
        )
        assert merged["dashboards"]["node.json"] == {"tags": ["node-exporter-mixin"]}
        assert merged["dashboards"][DASHBOARD] == alone["dashboards"][DASHBOARD]
