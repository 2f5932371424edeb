"""The shipped alert rules and their promtool unit tests, read for assertions, and the changes
that make plausible wrong rules of them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from tests.support.paths import REPO

PROMETHEUS_DIR = REPO / "prometheus"
ALERTS = PROMETHEUS_DIR / "alerts.yml"
ALERTS_TEST = PROMETHEUS_DIR / "alerts_test.yml"
LONG_GAP_TEST = PROMETHEUS_DIR / "alerts_long_gap_test.yml"
ACCOUNT_ALERTS_TEST = PROMETHEUS_DIR / "alerts_accounts_test.yml"
ACCOUNT_ALERTS = {
    "BinancePMAccountMarginRatioLow",
    "BinancePMAccountStatusAbnormal",
    "BinancePMAccountCollateralCut",
    "BinancePMAccountDataDown",
}


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def all_rules() -> list[dict[str, Any]]:
    return [rule for group in load_yaml(ALERTS)["groups"] for rule in group["rules"]]


def alert_rules() -> list[dict[str, Any]]:
    return [rule for rule in all_rules() if "alert" in rule]


def alert_tests() -> list[dict[str, Any]]:
    return [
        case
        for path in (ALERTS_TEST, ACCOUNT_ALERTS_TEST)
        for test in load_yaml(path)["tests"]
        for case in test.get("alert_rule_test", [])
    ]


def replace(old: str, new: str) -> Callable[[dict[str, Any]], None]:
    def mutate(rule: dict[str, Any]) -> None:
        assert old in rule["expr"], f"{old!r} not in {rule['expr']!r}"
        rule["expr"] = rule["expr"].replace(old, new)

    return mutate


def without(key: str) -> Callable[[dict[str, Any]], None]:
    def mutate(rule: dict[str, Any]) -> None:
        del rule[key]

    return mutate
