"""Reads the Grafana dashboard's queries and substitutes its variables the way Grafana does."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.paths import REPO

DASHBOARD = REPO / "grafana" / "dashboards" / "binance-pm-collateral.json"
DATASOURCE_REF = "${datasource}"
TIER_ROW = "Portfolio Margin Pro tiers"
# Exported only when the exporter has an API secret (the signed v2 endpoint).
TIERED_METRICS = frozenset(
    {
        "binance_pm_tiered_collateral_rate",
        "binance_pm_tiered_collateral_floor_usd",
        "binance_pm_tiered_collateral_cap_usd",
        "binance_pm_tiered_collateral_assets",
        "binance_pm_tiered_up",
        "binance_pm_tiered_last_success_timestamp_seconds",
        "binance_pm_server_time_offset_seconds",
    }
)

ACCOUNT_ROW = "Portfolio Margin accounts"
# Exported only when the exporter watches Portfolio Margin accounts.
ACCOUNT_METRICS = frozenset(
    {
        "binance_pm_account_up",
        "binance_pm_account_info",
        "binance_pm_account_uni_mmr",
        "binance_pm_account_equity_usd",
        "binance_pm_account_actual_equity_usd",
        "binance_pm_account_maintenance_margin_usd",
        "binance_pm_account_status",
        "binance_pm_account_asset_balance",
        "binance_pm_asset_index_price_usd",
        "binance_pm_account_asset_value_usd",
        "binance_pm_account_asset_collateral_value_usd",
        "binance_pm_account_equity_residual_usd",
    }
)
# A metric name of the exporter, not part of a recorded series' name (job:binance_pm_x:max).
METRIC_NAME = re.compile(r"(?<![:\w])binance_pm_\w+\b(?!:)")

# Grafana's $var, ${var}, ${var:format} and [[var]] forms.
VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]")
# Grafana's prometheusSpecialRegexEscape: the characters it escapes in multi-value variables.
REGEX_SPECIAL = re.compile(r"[$^*{}\[\]'+?.()|]")
LABEL_VALUES = re.compile(r"^label_values\((?:(?P<selector>.+),\s*)?(?P<label>\w+)\)$")


@dataclass(frozen=True)
class Query:
    """One PromQL query of the dashboard: a panel target or an annotation."""

    where: str
    expr: str
    instant: bool


def load_dashboard(path: Path = DASHBOARD) -> dict[str, Any]:
    dashboard: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return dashboard


def iter_panels(dashboard: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, rows included, and the panels inside collapsed rows."""
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def row_panels(dashboard: Mapping[str, Any], title: str) -> list[dict[str, Any]]:
    """The panels placed between the row titled `title` and the next row."""
    rows = sorted(
        (panel["gridPos"]["y"], panel["title"])
        for panel in iter_panels(dashboard)
        if panel["type"] == "row"
    )
    (start,) = [y for y, row_title in rows if row_title == title]
    end = min((y for y, _ in rows if y > start), default=None)
    return [
        panel
        for panel in iter_panels(dashboard)
        if panel["type"] != "row"
        and start < panel["gridPos"]["y"]
        and (end is None or panel["gridPos"]["y"] < end)
    ]


def panel_queries(dashboard: Mapping[str, Any]) -> list[Query]:
    return queries_of_panels(iter_panels(dashboard))


def queries_of_panels(panels: Iterable[Mapping[str, Any]]) -> list[Query]:
    queries = []
    for panel in panels:
        for target in panel.get("targets", []):
            queries.append(
                Query(
                    f"panel {panel['title']!r} target {target['refId']}",
                    target["expr"],
                    bool(target.get("instant")) and not target.get("range"),
                )
            )
    return queries


def annotation_queries(dashboard: Mapping[str, Any]) -> list[Query]:
    return [
        Query(f"annotation {annotation['name']!r}", annotation["expr"], instant=False)
        for annotation in dashboard["annotations"]["list"]
        if annotation.get("datasource", {}).get("type") == "prometheus"
    ]


def query_variables(dashboard: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        variable["name"]: variable
        for variable in dashboard["templating"]["list"]
        if variable["type"] == "query"
    }


def variable_query(variable: Mapping[str, Any]) -> str:
    query = variable["query"]
    text = query["query"] if isinstance(query, Mapping) else query
    assert isinstance(text, str)
    return text


def parse_label_values(query: str) -> tuple[str | None, str]:
    """label_values(selector, label) -> (selector, label); Grafana's variable query function."""
    match = LABEL_VALUES.match(query.strip())
    assert match is not None, f"not a label_values() query: {query}"
    return match["selector"], match["label"]


def regex_value(values: Sequence[str]) -> str:
    """How Grafana writes the chosen values of a multi-value variable into a Prometheus query."""

    def escape(value: str) -> str:
        value = value.replace("\\", "\\\\\\\\")
        return REGEX_SPECIAL.sub(lambda match: "\\\\" + match.group(0), value)

    escaped = [escape(value) for value in values]
    return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"


def substitute(expr: str, values: Mapping[str, str]) -> str:
    """Replace every variable; an unknown variable is an error, as it would break the panel."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2) or match.group(3)
        if name not in values:
            raise KeyError(f"unknown variable ${name} in {expr}")
        return values[name]

    return VARIABLE.sub(replace, expr)


def metric_names(expr: str) -> set[str]:
    return set(METRIC_NAME.findall(expr))
