"""Structure of the Grafana dashboard: provisioning-safe, variables wired, panels consistent."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.dashboard_queries import (
    ACCOUNT_METRICS,
    DASHBOARD,
    DATASOURCE_REF,
    METRIC_NAME,
    TIER_ROW,
    TIERED_METRICS,
    annotation_queries,
    iter_panels,
    load_dashboard,
    metric_names,
    panel_queries,
    parse_label_values,
    query_variables,
    regex_value,
    row_panels,
    substitute,
    variable_query,
)
from tests.support.paths import REPO
from tests.support.tools import promtool

ALERTS = REPO / "prometheus" / "alerts.yml"
GRAFANA_VALUES = {
    "job": ".+",
    "instance": ".+",
    "asset": ".+",
    "account": ".+",
    "__range": "604800s",
    "__rate_interval": "4m",
    "__interval": "10m",
}
# The contract's metric names (design.md), with the histogram's series.
EXPORTED_METRICS = {
    "binance_pm_collateral_rate",
    "binance_pm_up",
    "binance_pm_upstream_requests_total",
    "binance_pm_upstream_errors_total",
    "binance_pm_upstream_request_duration_seconds_bucket",
    "binance_pm_upstream_request_duration_seconds_sum",
    "binance_pm_upstream_request_duration_seconds_count",
    "binance_pm_last_success_timestamp_seconds",
    "binance_pm_upstream_used_weight_1m",
    "binance_pm_invalid_entries_total",
    "binance_pm_collateral_assets",
    "binance_pm_exporter_build_info",
}
TIER_PANELS = [
    "Tiered rates API",
    "Tier data age",
    "Assets with tiers",
    "Clock offset",
    "Collateral tiers",
    "Tiered rate history",
]
NO_CAP = 99999999999


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return load_dashboard()


def panel(dashboard: dict[str, Any], title: str) -> dict[str, Any]:
    found = [p for p in iter_panels(dashboard) if p["title"] == title]
    assert len(found) == 1, f"expected one panel titled {title!r}"
    return found[0]


def exprs(panel: dict[str, Any]) -> list[str]:
    return [target["expr"] for target in panel["targets"]]


def alert_rules() -> dict[str, dict[str, Any]]:
    groups = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))["groups"]
    return {rule["alert"]: rule for group in groups for rule in group["rules"] if "alert" in rule}


def test_dashboard_is_safe_for_file_provisioning(dashboard: dict[str, Any]) -> None:
    text = DASHBOARD.read_text(encoding="utf-8")
    assert "__inputs" not in dashboard
    assert "__requires" not in dashboard
    assert "${DS_" not in text
    assert "$DS_" not in text
    assert dashboard["id"] is None
    assert re.fullmatch(r"[a-z0-9-]{1,40}", dashboard["uid"])
    assert dashboard["title"]


def test_datasource_is_chosen_by_a_template_variable(dashboard: dict[str, Any]) -> None:
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    datasource = variables["datasource"]
    assert datasource["type"] == "datasource"
    assert datasource["query"] == "prometheus"
    for p in iter_panels(dashboard):
        if p["type"] == "row":
            continue
        assert p["datasource"] == {"type": "prometheus", "uid": DATASOURCE_REF}, p["title"]
        assert p["targets"], p["title"]
        for target in p["targets"]:
            assert target["datasource"]["uid"] == DATASOURCE_REF, p["title"]
    for variable in query_variables(dashboard).values():
        assert variable["datasource"]["uid"] == DATASOURCE_REF, variable["name"]
    for annotation in dashboard["annotations"]["list"]:
        if annotation["datasource"]["type"] == "prometheus":
            assert annotation["datasource"]["uid"] == DATASOURCE_REF


def test_job_instance_and_asset_variables(dashboard: dict[str, Any]) -> None:
    variables = query_variables(dashboard)
    assert list(variables) == ["job", "instance", "asset", "account"]
    selectors = {
        name: parse_label_values(variable_query(variable)) for name, variable in variables.items()
    }
    assert selectors["job"] == ('binance_pm_up{job="binance-pm"}', "job")
    assert selectors["instance"] == ('binance_pm_up{job=~"$job"}', "instance")
    assert selectors["asset"] == (
        'binance_pm_collateral_rate{job=~"$job", instance=~"$instance"}',
        "asset",
    )
    assert selectors["account"] == (
        'binance_pm_account_info{job=~"$job", instance=~"$instance"}',
        "account",
    )
    for variable in variables.values():
        assert variable["multi"] is True, variable["name"]
        assert variable["includeAll"] is True, variable["name"]
        assert variable["allValue"] == ".+", variable["name"]
        assert variable["refresh"] in {1, 2}, variable["name"]


def test_every_query_uses_only_known_variables_and_metrics(dashboard: dict[str, Any]) -> None:
    queries = panel_queries(dashboard) + annotation_queries(dashboard)
    assert len(queries) >= 15
    for query in queries:
        substitute(query.expr, GRAFANA_VALUES)  # raises on an unknown variable
        known = EXPORTED_METRICS | TIERED_METRICS | ACCOUNT_METRICS
        assert metric_names(query.expr) <= known, query.where


def test_every_exporter_selector_filters_on_job_and_instance(dashboard: dict[str, Any]) -> None:
    for query in panel_queries(dashboard):
        for match in re.finditer(METRIC_NAME.pattern + r"(\{[^}]*\})?", query.expr):
            selector = match.group(1) or ""
            assert 'job=~"$job"' in selector, f"{query.where}: {match.group(0)}"
            assert 'instance=~"$instance"' in selector, f"{query.where}: {match.group(0)}"


def test_current_rates_table_lists_all_assets_with_the_change_over_the_range(
    dashboard: dict[str, Any],
) -> None:
    table = panel(dashboard, "Current collateral rates")
    assert table["type"] == "table"
    (target,) = table["targets"]
    assert target["expr"] == (
        'max by (asset) (binance_pm_collateral_rate{job=~"$job", instance=~"$instance"})'
    )
    assert target["range"] is True
    assert target["instant"] is False
    reduce, organize = table["transformations"]
    assert reduce["id"] == "reduce"
    assert reduce["options"]["mode"] == "seriesToRows"
    assert reduce["options"]["labelsToFields"] is True
    assert {"lastNotNull", "firstNotNull", "diff"} <= set(reduce["options"]["reducers"])
    renamed = organize["options"]["renameByName"]
    assert renamed["Last *"] == "Rate now"
    assert renamed["First *"] == "Rate at range start"
    assert renamed["Difference"] == "Change"
    assert table["options"]["sortBy"] == [{"displayName": "Change", "desc": False}]


def test_drops_table_shows_from_and_to(dashboard: dict[str, Any]) -> None:
    table = panel(dashboard, "Drops in the range")
    assert table["type"] == "table"
    transformations = [t["id"] for t in table["transformations"]]
    assert transformations == ["merge", "organize"]
    renamed = table["transformations"][1]["options"]["renameByName"]
    for target in table["targets"]:
        assert target["instant"] is True
        assert target["format"] == "table"
        assert "max_over_time(" in target["expr"]
        assert "[$__range]" in target["expr"]
        assert f"Value #{target['refId']}" in renamed
    assert renamed["Value #A"].startswith("From")
    assert renamed["Value #B"].startswith("To")


def test_rate_history_follows_the_asset_selection(dashboard: dict[str, Any]) -> None:
    history = panel(dashboard, "Collateral rate history")
    assert history["type"] == "timeseries"
    selected = 'binance_pm_collateral_rate{job=~"$job", instance=~"$instance", asset=~"$asset"}'
    assert exprs(history) == [
        f"max by (asset) ({selected}) and on (asset) topk(10, max by (asset)"
        f" (max_over_time({selected}[$__range] @ end())"
        f" - min_over_time({selected}[$__range] @ end())))"
    ]
    assert history["fieldConfig"]["defaults"]["custom"]["lineInterpolation"] == "stepAfter"


def test_health_panels(dashboard: dict[str, Any]) -> None:
    assert "binance_pm_up{" in exprs(panel(dashboard, "Binance API up"))[0]
    errors = exprs(panel(dashboard, "Upstream errors by reason"))[0]
    assert "binance_pm_upstream_errors_total" in errors
    assert "reason" in errors
    latency = " ".join(exprs(panel(dashboard, "Upstream latency")))
    assert "histogram_quantile(0.99," in latency
    weight = panel(dashboard, "Binance IP weight used (budget 12,000/min)")
    assert "binance_pm_upstream_used_weight_1m{" in exprs(weight)[0]
    defaults = weight["fieldConfig"]["defaults"]
    assert defaults["max"] == 12000
    assert [s["value"] for s in defaults["thresholds"]["steps"]][-1] == 12000
    age = exprs(panel(dashboard, "Age of the data"))[0]
    # A timestamp of 0 (no success yet) must not show as 56 years of age.
    assert age.startswith("time() - binance_pm_last_success_timestamp_seconds{")
    assert "binance_pm_last_success_timestamp_seconds{" in age.split(" and ")[1]
    assert age.endswith("> 0")


def test_thresholds_agree_with_the_alert_rules(dashboard: dict[str, Any]) -> None:
    rules = alert_rules()
    stale = re.search(r"> (\d+)\)", rules["BinancePMDataStale"]["expr"])
    assert stale is not None
    weight = re.search(r"> (\d+)$", rules["BinancePMIPWeightNearLimit"]["expr"].strip())
    assert weight is not None

    def steps(title: str) -> list[float]:
        thresholds = panel(dashboard, title)["fieldConfig"]["defaults"]["thresholds"]
        return [step["value"] for step in thresholds["steps"] if step["value"] is not None]

    assert int(stale.group(1)) in steps("Age of the data")
    assert int(stale.group(1)) in steps("Data age")
    assert int(weight.group(1)) in steps("Binance IP weight used (budget 12,000/min)")


def test_alert_queries_name_real_alerts(dashboard: dict[str, Any]) -> None:
    names = set(alert_rules())
    annotations = annotation_queries(dashboard)
    annotated = set()
    for annotation in annotations:
        alertname = re.search(r'alertname="(\w+)"', annotation.expr)
        assert alertname is not None
        annotated.add(alertname.group(1))
    assert annotated == {"BinancePMCollateralRateDropped", "BinancePMTieredCollateralRateDropped"}
    assert annotated <= names
    for title in ("Alerts firing", "Firing alerts"):
        pattern = re.search(r'alertname=~"([^"]+)"', exprs(panel(dashboard, title))[0])
        assert pattern is not None
        assert all(re.fullmatch(pattern.group(1), name) for name in names)


def test_layout_has_unique_ids_and_titles_and_no_overlap(dashboard: dict[str, Any]) -> None:
    panels = list(iter_panels(dashboard))
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    titles = [p["title"] for p in panels]
    assert len(titles) == len(set(titles))
    cells: dict[tuple[int, int], str] = {}
    for p in panels:
        grid = p["gridPos"]
        assert grid["x"] >= 0, p["title"]
        assert 0 < grid["w"] <= 24 - grid["x"], p["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{p['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = p["title"]


def test_regex_value_escapes_like_grafana() -> None:
    assert regex_value(["BTC"]) == "BTC"
    assert regex_value(["BTC", "1000SATS"]) == "(BTC|1000SATS)"
    assert regex_value(["127.0.0.1:10471"]) == "127\\\\.0\\\\.0\\\\.1:10471"


def test_provisioning_files_exist() -> None:
    provisioning = REPO / "grafana" / "provisioning"
    datasources = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())
    (datasource,) = datasources["datasources"]
    assert datasource["type"] == "prometheus"
    assert datasource["isDefault"] is True
    providers = yaml.safe_load((provisioning / "dashboards" / "binance-pm.yml").read_text())
    (provider,) = providers["providers"]
    assert provider["type"] == "file"
    assert Path(provider["options"]["path"]).is_absolute()


def test_tiers_have_their_own_row_and_only_there(dashboard: dict[str, Any]) -> None:
    in_row = row_panels(dashboard, TIER_ROW)
    assert [p["title"] for p in in_row] == TIER_PANELS
    for p in iter_panels(dashboard):
        if p["type"] != "row":
            tiered = any(metric_names(expr) & TIERED_METRICS for expr in exprs(p))
            assert tiered == (p in in_row), p["title"]


def test_tier_row_shows_nothing_without_an_api_secret(dashboard: dict[str, Any]) -> None:
    """Without a secret the tiered series do not exist: every query of the row must then be
    empty (no vector(), absent() or v1 fallback that would show a value), and the API status
    must say Off rather than DOWN."""
    for p in row_panels(dashboard, TIER_ROW):
        for expr in exprs(p):
            assert metric_names(expr) <= TIERED_METRICS, p["title"]
            assert "vector(" not in expr, p["title"]
            assert "absent" not in expr, p["title"]
            assert " or " not in expr, p["title"]
    status = panel(dashboard, "Tiered rates API")
    assert exprs(status) == ['min(binance_pm_tiered_up{job=~"$job", instance=~"$instance"})']
    defaults = status["fieldConfig"]["defaults"]
    assert defaults["noValue"] == "Off"
    # No data is drawn in the base colour: it must not be a warning colour.
    assert defaults["thresholds"]["steps"][0]["color"] == "text"
    (mapping,) = defaults["mappings"]
    assert mapping["options"]["0"]["text"] == "DOWN"
    assert mapping["options"]["1"]["text"] == "UP"
    assert "API secret" in status["description"]


def test_tier_table_lists_floor_cap_rate_and_change_per_asset_and_tier(
    dashboard: dict[str, Any],
) -> None:
    table = panel(dashboard, "Collateral tiers")
    assert table["type"] == "table"
    selector = '{job=~"$job", instance=~"$instance", asset=~"$asset"}'
    rate = f"binance_pm_tiered_collateral_rate{selector}"
    deduplicated = f"max by (asset, tier) ({rate})"
    assert {t["refId"]: t["expr"] for t in table["targets"]} == {
        "A": deduplicated,
        "B": f"max by (asset, tier) (binance_pm_tiered_collateral_floor_usd{selector})",
        "C": f"max by (asset, tier) (binance_pm_tiered_collateral_cap_usd{selector})",
        "D": f"{deduplicated} - max by (asset, tier) (max_over_time({rate}[$__range]))",
    }
    for target in table["targets"]:
        assert target["instant"] is True
        assert target["format"] == "table"
    transformations = [t["id"] for t in table["transformations"]]
    assert transformations == ["merge", "convertFieldType", "sortBy", "organize"]
    (conversion,) = table["transformations"][1]["options"]["conversions"]
    assert conversion == {"targetField": "tier", "destinationType": "number"}
    organize = table["transformations"][-1]["options"]
    assert organize["renameByName"] == {
        "asset": "Asset",
        "tier": "Tier",
        "Value #B": "From (USD)",
        "Value #C": "To (USD)",
        "Value #A": "Rate",
        "Value #D": "Change in range",
    }
    order = sorted(organize["indexByName"], key=organize["indexByName"].__getitem__)
    assert [organize["renameByName"][name] for name in order] == [
        "Asset",
        "Tier",
        "From (USD)",
        "To (USD)",
        "Rate",
        "Change in range",
    ]
    assert table["options"]["sortBy"] == [{"displayName": "Asset", "desc": False}]

    def properties(column: str) -> dict[str, Any]:
        (override,) = [
            o for o in table["fieldConfig"]["overrides"] if o["matcher"]["options"] == column
        ]
        return {prop["id"]: prop["value"] for prop in override["properties"]}

    for column in ("From (USD)", "To (USD)"):
        assert properties(column)["unit"] == "currencyUSD"
    (no_cap,) = properties("To (USD)")["mappings"]
    assert no_cap["type"] == "value"
    assert no_cap["options"][str(NO_CAP)]["text"] == "no cap"
    assert table["fieldConfig"]["defaults"]["decimals"] == 4


def test_tier_history_follows_the_asset_selection(dashboard: dict[str, Any]) -> None:
    history = panel(dashboard, "Tiered rate history")
    assert history["type"] == "timeseries"
    selected = (
        'binance_pm_tiered_collateral_rate{job=~"$job", instance=~"$instance", asset=~"$asset"}'
    )
    assert exprs(history) == [
        f"max by (asset, tier) ({selected}) and on (asset) topk(10, max by (asset)"
        f" (max_over_time({selected}[$__range] @ end())"
        f" - min_over_time({selected}[$__range] @ end())))"
    ]
    assert history["targets"][0]["legendFormat"] == "{{asset}} tier {{tier}}"
    defaults = history["fieldConfig"]["defaults"]
    assert defaults["custom"]["lineInterpolation"] == "stepAfter"
    assert (defaults["min"], defaults["max"]) == (0, 1)


def test_tier_drop_annotation_and_firing_alerts_show_the_tier(dashboard: dict[str, Any]) -> None:
    (annotation,) = [
        a for a in dashboard["annotations"]["list"] if a.get("name") == "Tier rate drops"
    ]
    assert 'asset=~"$asset"' in annotation["expr"]
    assert "{{tier}}" in annotation["titleFormat"]
    firing = panel(dashboard, "Firing alerts")
    organize = firing["transformations"][0]["options"]
    assert organize["renameByName"]["tier"] == "Tier"
    assert "tier" in organize["indexByName"]


# Facts about Binance, reported alike by every exporter of an HA pair.
RATE_METRICS = {
    "binance_pm_collateral_rate",
    "binance_pm_collateral_assets",
    "binance_pm_tiered_collateral_rate",
    "binance_pm_tiered_collateral_floor_usd",
    "binance_pm_tiered_collateral_cap_usd",
    "binance_pm_tiered_collateral_assets",
}


def test_rates_are_deduplicated_across_exporter_instances(dashboard: dict[str, Any]) -> None:
    """Two exporters report the same rates: every query of them takes the max per asset (and
    tier), never a sum or one series per instance."""
    checked = 0
    for query in panel_queries(dashboard):
        for match in re.finditer(r"\bbinance_pm_\w+", query.expr):
            if match.group(0) not in RATE_METRICS:
                continue
            before = query.expr[: match.start()]
            # The innermost aggregation around the selector (a range function may sit between).
            aggregation = re.findall(
                r"\b(max|sum|min|count|avg)\s*(?:by \(([\w, ]+)\)\s*)?\(", before
            )
            assert aggregation, f"{query.where}: {match.group(0)} is not aggregated"
            function, by = aggregation[-1]
            assert function == "max", f"{query.where}: {function} over {match.group(0)}"
            assert "instance" not in by, query.where
            checked += 1
    assert checked >= 15


def test_assets_that_fell_links_each_asset_to_its_history(dashboard: dict[str, Any]) -> None:
    fell = panel(dashboard, "Assets that fell")
    (expr,) = exprs(fell)
    assert expr.endswith(" < 0 or on () vector(0)")
    assert fell["targets"][0]["legendFormat"] == "{{asset}}"
    assert fell["options"]["textMode"] == "value_and_name"
    history = panel(dashboard, "Collateral rate history")
    (link,) = fell["fieldConfig"]["defaults"]["links"]
    assert link["url"].startswith(f"/d/{dashboard['uid']}?")
    assert "var-asset=${__field.labels.asset}" in link["url"]
    assert f"viewPanel={history['id']}" in link["url"]
    assert "${__url_time_range}" in link["url"]
    # Grafana's queryparam format writes the whole var-name=value pair itself.
    assert "?${job:queryparam}&" in link["url"]
    assert "&${datasource:queryparam}" in link["url"]
    for title in ("Drops in the range", "Current collateral rates"):
        overrides = panel(dashboard, title)["fieldConfig"]["overrides"]
        links = [
            prop["value"]
            for override in overrides
            if override["matcher"]["options"] == "Asset"
            for prop in override["properties"]
            if prop["id"] == "links"
        ]
        ((link,),) = links
        assert "var-asset=${__data.fields.Asset}" in link["url"], title
        assert f"viewPanel={history['id']}" in link["url"], title


def test_alert_panels_follow_the_job_and_instance_selection(dashboard: dict[str, Any]) -> None:
    for title in ("Alerts firing", "Firing alerts"):
        (expr,) = exprs(panel(dashboard, title))
        # Per-asset alerts carry no instance label: "$instance|" lets them through.
        assert 'job=~"$job", instance=~"$instance|"' in expr, title
    for annotation in annotation_queries(dashboard):
        assert 'job=~"$job"' in annotation.expr
        assert "instance" not in annotation.expr


def test_the_asset_selection_stays_readable_with_all_assets(dashboard: dict[str, Any]) -> None:
    """ "All" would draw every listed asset (300 and more); the histories draw the ten of the
    selection that moved most in the time range, fixed for the whole range (@ end())."""
    (asset,) = [v for v in dashboard["templating"]["list"] if v["name"] == "asset"]
    assert asset["current"]["value"] == ["$__all"]
    for title in ("Collateral rate history", "Tiered rate history"):
        (expr,) = exprs(panel(dashboard, title))
        assert " and on (asset) topk(10, " in expr, title
        assert expr.count("[$__range] @ end()") == 2, title


def expr_test(expr: str, value: float) -> dict[str, Any]:
    return {"expr": expr, "eval_time": "60m", "exp_samples": [{"labels": "{}", "value": value}]}


def test_rate_history_draws_the_ten_that_moved_most(
    dashboard: dict[str, Any], tmp_path: Path
) -> None:
    """The history query, as Grafana sends it with "All" over an hour, in Prometheus' own
    engine (promtool): 12 assets listed by two exporters, two of them moved; ten lines, once
    each, the two movers among them."""
    (expr,) = exprs(panel(dashboard, "Collateral rate history"))
    query = substitute(expr, {**GRAFANA_VALUES, "__range": "1h"})
    rates = {f"FLAT{n}": "0.5x60" for n in range(10)} | {
        "UP": "0.5x30 0.6x30",
        "DOWN": "0.5x30 0.3x30",
    }
    series = [
        {
            "series": f'binance_pm_collateral_rate{{job="binance-pm",instance="{i}",asset="{a}"}}',
            "values": values,
        }
        for i in ("a:10471", "b:10471")
        for a, values in rates.items()
    ]
    movers = f'({query}) and on (asset) binance_pm_collateral_rate{{asset=~"UP|DOWN"}}'
    unit = {
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": series,
                "promql_expr_test": [
                    expr_test(f"count({query})", 10),
                    expr_test(f"count({movers})", 2),
                ],
            }
        ],
    }
    (tmp_path / "history_test.yml").write_text(yaml.safe_dump(unit))
    result = promtool("test", "rules", str(tmp_path / "history_test.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
