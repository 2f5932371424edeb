"""The HTML landing page at /: the current rates (sortable and filterable, with the tier bands
when v2 is on), the changes seen since start, the upstream status, the settings in force and
links to /metrics, the docs and the dashboard. It is a plain HTML page that refreshes itself
(`<meta http-equiv="refresh">`, or a small script that keeps the filter and the sort order);
nothing from Binance is shown but rates, asset names and Binance's numeric error codes, and no
secret at all. It is rendered only for a request of /, once per change of what it shows."""

from __future__ import annotations

import html
import math
import time
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from exporter import __version__
from exporter.changes import RateChange
from exporter.gate import RefreshGate
from exporter.state import Snapshot
from exporter.upstream.parse import ParsedRates
from exporter.upstream.parse_tiers import ParsedTiers, Tier

DOCS_URL = "https://github.com/binance-pm-exporter/binance-pm-exporter/tree/main/docs"
DASHBOARD_DOCS_URL = f"{DOCS_URL}/dashboard.md"
REFRESH_SECONDS = 30
UNCAPPED_USD = 1e10  # Binance writes the top tier's cap as 99999999999: no cap

STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#1d2330}
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.6em}
table{border-collapse:collapse}th,td{text-align:left;padding:.2em .8em .2em 0;vertical-align:top}
thead th{border-bottom:1px solid #999}td.num{text-align:right;font-variant-numeric:tabular-nums}
.up{color:#126b2f}.down{color:#b3261e}.muted{color:#666}
#rates-filter{margin:.4em 0;padding:.2em}th[data-sort]{cursor:pointer}
"""

# Sorting by a click on a column head and filtering by asset, kept across the page's own
# refresh, and asked for in the address too (/#filter=btc&sort=rate-desc): without a script the
# page is the same table, refreshed by the meta tag.
SCRIPT = """
(function () {
  var state = {column: 0, descending: false, text: ''};
  var filter = document.getElementById('rates-filter');
  function apply() {
    var body = document.getElementById('rates-body');
    var rows = Array.prototype.slice.call(body.rows).filter(function (row) {
      return row.cells.length === 3;
    });
    rows.sort(function (a, b) {
      var x = a.cells[state.column].getAttribute('data-value');
      var y = b.cells[state.column].getAttribute('data-value');
      var nx = parseFloat(x), ny = parseFloat(y);
      var order = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
      return state.descending ? -order : order;
    });
    rows.forEach(function (row) {
      var asset = row.cells[0].getAttribute('data-value').toLowerCase();
      row.hidden = state.text !== '' && asset.indexOf(state.text) < 0;
      body.appendChild(row);
    });
    var shown = rows.filter(function (row) { return !row.hidden; }).length;
    document.getElementById('rates-shown').textContent = shown + ' of ' + rows.length;
  }
  var heads = document.getElementById('rates-table').tHead.rows[0].cells;
  Array.prototype.forEach.call(heads, function (cell, index) {
    cell.addEventListener('click', function () {
      state.descending = state.column === index ? !state.descending : false;
      state.column = index;
      apply();
    });
  });
  var asked = new URLSearchParams(window.location.hash.slice(1));
  var sort = (asked.get('sort') || '').split('-');
  var column = ['asset', 'rate', 'tiers'].indexOf(sort[0]);
  if (column >= 0) { state.column = column; state.descending = sort[1] === 'desc'; }
  filter.value = asked.get('filter') || '';
  state.text = filter.value.trim().toLowerCase();
  filter.hidden = false;
  filter.addEventListener('input', function () {
    state.text = filter.value.trim().toLowerCase();
    apply();
  });
  apply();
  setInterval(function () {
    fetch(window.location.href, {cache: 'no-store', credentials: 'same-origin'})
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (text) {
        if (text === null) { return; }
        var fresh = new DOMParser().parseFromString(text, 'text/html');
        ['status', 'rates-body', 'changes', 'settings', 'generated'].forEach(function (id) {
          var now = document.getElementById(id), next = fresh.getElementById(id);
          if (now && next) { now.replaceWith(next); }
        });
        apply();
      })
      .catch(function () {});
  }, REFRESH_MS);
})();
""".replace("REFRESH_MS", str(REFRESH_SECONDS * 1000))


@dataclass(frozen=True)
class PageSettings:
    """What the page says of the configuration: never a secret, only whether one is set."""

    min_interval: float
    timeout: float
    max_stale: float
    account_min_interval: float
    recv_window: int
    base_urls: tuple[str, ...]
    papi_base_urls: tuple[str, ...]
    demo: bool
    api_key_set: bool
    api_secret_set: bool
    accounts: tuple[str, ...]
    exporter_metrics: bool
    dashboard_url: str | None


@dataclass(frozen=True)
class Serving:
    """How the page itself is served, read from the web config in force."""

    tls: bool
    basic_auth: bool


def _utc(timestamp: float | None) -> str:
    if timestamp is None:
        return "never"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"


def _usd(value: float) -> str:
    return "no cap" if value >= UNCAPPED_USD else f"{value:,.0f}"


def _cells(*cells: str) -> str:
    return "".join(f"<td>{html.escape(cell)}</td>" for cell in cells)


def _status_row(gate: RefreshGate[Any], now: float) -> str:
    snapshot = gate.snapshot
    if snapshot.last_attempt is None:
        state, css = "no request yet (the first scrape of /metrics sends one)", "muted"
    elif snapshot.up:
        state, css = "up", "up"
    else:
        state, css = "down", "down"
    reason = "" if snapshot.up or snapshot.last_reason is None else snapshot.last_reason.value
    status = "" if snapshot.up or snapshot.last_status is None else str(snapshot.last_status)
    code = "" if snapshot.up or snapshot.last_code is None else str(snapshot.last_code)
    wait = gate.seconds_until_due()
    due = "at the next scrape" if wait <= 0 else _utc(now + wait)
    return (
        f"<tr><th>{html.escape(gate.label)}</th>"
        f'<td class="{css}">{html.escape(state)}</td>'
        + _cells(reason, status, code, _utc(snapshot.last_success), _utc(snapshot.last_attempt))
        + f"<td>{html.escape(due)}</td></tr>"
    )


def _status_table(gates: Sequence[RefreshGate[Any]], now: float) -> str:
    rows = "".join(_status_row(gate, now) for gate in gates)
    return (
        '<table id="status"><thead><tr><th>Endpoint</th><th>Status</th><th>Reason</th>'
        "<th>HTTP status</th><th>Binance code</th><th>Last success</th><th>Last attempt</th>"
        f"<th>Next request</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _tier_bands(tiers: Mapping[str, Tier] | None) -> str:
    if not tiers:
        return ""
    ordered = sorted(tiers.values(), key=lambda tier: tier.floor_usd)
    return "; ".join(
        f"{_usd(t.floor_usd)} to {_usd(t.cap_usd)} USD: {_rate(t.rate)}" for t in ordered
    )


def _rates_rows(rates: Mapping[str, float], tiers: Mapping[str, Mapping[str, Tier]]) -> str:
    rows = []
    for asset in sorted(rates.keys() | tiers.keys()):
        rate = rates.get(asset)
        bands = _tier_bands(tiers.get(asset))
        rows.append(
            f'<tr><td data-value="{html.escape(asset)}">{html.escape(asset)}</td>'
            f'<td class="num" data-value="{"" if rate is None else rate}">{_rate(rate)}</td>'
            f'<td data-value="{html.escape(bands)}">{html.escape(bands)}</td></tr>'
        )
    return "".join(rows)


def _rates_section(
    rates: Mapping[str, float] | None, tiers: Mapping[str, Mapping[str, Tier]] | None
) -> str:
    if rates is None and tiers is None:
        body = '<tr><td colspan="3" class="muted">no rates yet, or withheld: too old</td></tr>'
        count = "0"
    else:
        body = _rates_rows(rates or {}, tiers or {})
        count = str(len((rates or {}).keys() | (tiers or {}).keys()))
    tier_head = "Tier bands (USD value: rate)" if tiers is not None else "Tier bands (v2 off)"
    return (
        f'<p><span id="rates-shown">{count}</span> assets. '
        '<input id="rates-filter" type="search" placeholder="Filter assets" '
        'aria-label="Filter assets" hidden></p>'
        '<table id="rates-table"><thead><tr><th data-sort="text">Asset</th>'
        f'<th data-sort="number">Rate (v1)</th><th data-sort="text">{tier_head}</th></tr></thead>'
        f'<tbody id="rates-body">{body}</tbody></table>'
    )


def _changes_table(changes: Iterable[RateChange]) -> str:
    rows = "".join(
        "<tr>"
        + _cells(
            change.asset,
            "not listed" if change.before is None else _rate(change.before),
            "left the list" if change.after is None else _rate(change.after),
            _utc(change.at),
        )
        + "</tr>"
        for change in changes
    )
    if not rows:
        rows = '<tr><td colspan="4" class="muted">none since start</td></tr>'
    return (
        '<table id="changes"><thead><tr><th>Asset</th><th>From</th><th>To</th><th>Seen at</th>'
        f"</tr></thead><tbody>{rows}</tbody></table>"
    )


def _settings_table(settings: PageSettings, serving: Serving) -> str:
    def on(flag: bool) -> str:
        return "on" if flag else "off"

    def seconds(value: float) -> str:
        return f"{value:g} s"

    upstream = "built-in demo upstream" if settings.demo else ", ".join(settings.base_urls)
    rows = [
        ("Upstream", upstream),
        ("Min interval", seconds(settings.min_interval)),
        ("Timeout", seconds(settings.timeout)),
        ("Max stale", seconds(settings.max_stale)),
        ("recvWindow", f"{settings.recv_window} ms"),
        ("API key", "set" if settings.api_key_set else "not set"),
        ("API secret (v2 tiers)", "set" if settings.api_secret_set else "not set"),
        ("TLS", on(serving.tls)),
        ("Basic auth", on(serving.basic_auth)),
        ("Exporter process metrics", on(settings.exporter_metrics)),
    ]
    if settings.accounts:
        rows += [
            ("Accounts", ", ".join(settings.accounts)),
            ("Account min interval", seconds(settings.account_min_interval)),
            ("Portfolio Margin (papi) upstream", ", ".join(settings.papi_base_urls)),
        ]
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    return f'<table id="settings"><tbody>{body}</tbody></table>'


def render_landing(
    gates: Sequence[RefreshGate[Any]],
    rates: Snapshot[ParsedRates],
    tiers: Snapshot[ParsedTiers] | None,
    changes: Iterable[RateChange],
    settings: PageSettings,
    serving: Serving,
    *,
    now: float | None = None,
    monotonic: float | None = None,
) -> str:
    wall = time.time() if now is None else now
    clock = time.monotonic() if monotonic is None else monotonic
    current = rates.fresh_payload(clock, settings.max_stale)
    tiered = None if tiers is None else tiers.fresh_payload(clock, settings.max_stale)
    dashboard = settings.dashboard_url or DASHBOARD_DOCS_URL
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<noscript><meta http-equiv="refresh" content="{REFRESH_SECONDS}"></noscript>
<title>Binance PM Exporter</title><style>{STYLE}</style></head><body>
<h1>Binance Portfolio Margin Exporter</h1>
<nav><a href="/metrics">Metrics</a> · <a href="/healthz">Health</a> ·
<a href="{html.escape(DOCS_URL)}">Documentation</a> ·
<a href="{html.escape(dashboard)}">Dashboard</a></nav>
<h2>Upstream status</h2>
{_status_table(gates, wall)}
<h2>Collateral rates</h2>
{
        _rates_section(
            None if current is None else current.rates,
            None if tiers is None else (None if tiered is None else tiered.tiers),
        )
    }
<h2>Changes since start</h2>
{_changes_table(changes)}
<h2>Settings in force</h2>
{_settings_table(settings, serving)}
<p class="muted" id="generated">Version {html.escape(__version__)}. Page made at {_utc(wall)};
it refreshes itself every {REFRESH_SECONDS} s.</p>
<script>{SCRIPT}</script>
</body></html>
"""


class LandingPage:
    """The page, made again only when what it shows has changed: an answer from upstream, a
    rate change, the web config, or the rates passing --max-stale."""

    def __init__(self, render: Callable[[], str], version: Callable[[], Hashable]) -> None:
        self._render = render
        self._version = version
        self._seen: Hashable = object()
        self._page = ""

    def get(self) -> str:
        version = self._version()
        if version != self._seen:
            self._page = self._render()
            self._seen = version
        return self._page


def minute(now: float) -> int:
    """The minute of `now`: a page that shows times is made again at least this often."""
    return math.floor(now / 60.0)
