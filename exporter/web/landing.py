"""The HTML landing page at /."""

from __future__ import annotations

import html
import time
from datetime import UTC, datetime
from typing import Any

from exporter import __version__
from exporter.gate import RefreshGate
from exporter.state import Snapshot
from exporter.upstream.budget import IP_WEIGHT_LIMIT, IpBudget


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "never"
    stamp = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"{stamp} ({time.time() - timestamp:.0f}s ago)"


def _status_rows(name: str, snapshot: Snapshot[Any], seconds_until_due: float) -> str:
    if snapshot.last_attempt is None:
        status = "no request yet (the first scrape of /metrics sends one)"
    elif snapshot.up:
        status = "up"
    else:
        status = f"down: {snapshot.last_error}"
    rows = [
        ("Upstream status", status),
        ("Last success", _when(snapshot.last_success)),
        ("Last attempt", _when(snapshot.last_attempt)),
        ("Next request allowed in", f"{seconds_until_due:.1f}s"),
    ]
    return "".join(
        f"<tr><th>{html.escape(name)}: {html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
        for k, v in rows
    )


def render_landing(
    gates: list[RefreshGate[Any]], budget: IpBudget, base_urls: tuple[str, ...], demo: bool
) -> str:
    rows = "".join(_status_rows(g.label, g.snapshot, g.seconds_until_due()) for g in gates)
    weight = (
        "not seen yet"
        if budget.used_weight is None
        else f"{budget.used_weight} of {IP_WEIGHT_LIMIT}"
    )
    upstream = "built-in demo upstream" if demo else ", ".join(base_urls)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Binance PM Exporter</title>
<style>body{{font-family:sans-serif;margin:2em}}th{{text-align:left;padding-right:1em}}</style>
</head><body>
<h1>Binance Portfolio Margin Exporter</h1>
<p>Version {html.escape(__version__)}. Upstream: {html.escape(upstream)}.</p>
<p><a href="/metrics">Metrics</a> · <a href="/healthz">Health</a></p>
<table>{rows}
<tr><th>Used IP weight (1m)</th><td>{html.escape(weight)}</td></tr></table>
</body></html>
"""
