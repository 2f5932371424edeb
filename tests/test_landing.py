"""The landing page at /, from the real app against the fake Binance: the current rates and tier
bands, the changes seen since start, the upstream status as our reason names and Binance's
numeric codes (never Binance's text), the settings in force (never a secret), the links; made
once per change of what it shows, never by a scrape."""

from __future__ import annotations

import html
import re

from exporter.web.app import LANDING_KEY
from exporter.web.landing import DOCS_URL, LandingPage
from tests.support.exporter import API_KEY, SECRET, WITH_SECRET, Running, StartExporter
from tests.support.fake_binance import FakeBinance, Reply, error_body

BINANCE_WORDS = "Invalid API-key, IP, or permissions for action, says-binance-7f3a"


def rows(page: str, table_id: str) -> list[list[str]]:
    """The text of each cell of each body row of the table with this id."""
    match = re.search(rf'<table id="{table_id}">.*?</table>', page, re.DOTALL)
    assert match, f"no table {table_id}"
    body = re.search(r"<tbody[^>]*>(.*?)</tbody>", match.group(), re.DOTALL)
    assert body
    found = []
    for row in re.findall(r"<tr>(.*?)</tr>", body.group(1), re.DOTALL):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.DOTALL)
        found.append([html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in cells])
    return found


def rates_rows(page: str) -> dict[str, list[str]]:
    body = re.search(r'<tbody id="rates-body">(.*?)</tbody>', page, re.DOTALL)
    assert body
    table = {}
    for row in re.findall(r"<tr>(.*?)</tr>", body.group(1), re.DOTALL):
        cells = [
            html.unescape(re.sub(r"<[^>]+>", "", c))
            for c in re.findall(r"<td[^>]*>(.*?)</td>", row)
        ]
        table[cells[0]] = cells[1:]
    return table


async def landing(running: Running) -> str:
    response = await running.client.get("/")
    assert response.status == 200
    assert response.content_type == "text/html"
    text: str = await response.text()
    return text


async def test_the_page_shows_the_rates_the_settings_and_the_links(
    fake: FakeBinance, start_exporter: StartExporter
) -> None:
    fake.rates = {"BTC": "0.9500", "ETH": "0.9000", "币安人生": "0.0500"}
    running = await start_exporter("--min-interval", "7", "--max-stale", "90")
    await running.scrape()

    page = await landing(running)

    assert rates_rows(page) == {
        "BTC": ["0.9500", ""],
        "ETH": ["0.9000", ""],
        "币安人生": ["0.0500", ""],
    }
    settings = dict(r for r in (row[:2] for row in rows(page, "settings")) if len(r) == 2)
    assert settings["Min interval"] == "7 s"
    assert settings["Max stale"] == "90 s"
    assert settings["Upstream"] == fake.url
    assert settings["API key"] == "set"
    assert settings["API secret (v2 tiers)"] == "not set"
    assert (settings["TLS"], settings["Basic auth"]) == ("off", "off")
    assert 'href="/metrics"' in page
    assert f'href="{DOCS_URL}"' in page
    assert (
        'href="https://github.com/binance-pm-exporter/binance-pm-exporter/tree/main/docs/dashboard.md"'
        in page
    )
    assert API_KEY not in page
    assert API_KEY[:16] not in page


async def test_the_dashboard_link_is_the_one_configured(
    fake: FakeBinance, start_exporter: StartExporter
) -> None:
    running = await start_exporter("--dashboard-url", "https://grafana.example/d/bpm?orgId=1")
    page = await landing(running)
    assert 'href="https://grafana.example/d/bpm?orgId=1"' in page


async def test_tier_bands_show_with_v2(fake: FakeBinance, start_exporter: StartExporter) -> None:
    fake.api_secret = SECRET
    running = await start_exporter(env=WITH_SECRET)
    await running.scrape()

    page = await landing(running)

    expected = {
        asset: "; ".join(
            f"{float(t['tierFloor']):,.0f} to "
            + ("no cap" if float(t["tierCap"]) >= 1e10 else f"{float(t['tierCap']):,.0f}")
            + f" USD: {float(t['collateralRate']):.4f}"
            for t in sorted(tiers, key=lambda t: float(t["tierFloor"]))
        )
        for asset, tiers in fake.tiers.items()
    }
    shown = rates_rows(page)
    for asset, bands in expected.items():
        assert shown[asset][1] == bands, asset
    assert SECRET not in page
    assert SECRET[:16] not in page


async def test_rate_changes_since_start_are_listed_newest_first(
    fake: FakeBinance, start_exporter: StartExporter
) -> None:
    fake.rates = {"BTC": "0.9500", "ETH": "0.9000", "SOL": "0.8000"}
    running = await start_exporter()
    await running.scrape()
    assert rows(await landing(running), "changes") == [["none since start"]]

    fake.rates = {"BTC": "0.9000", "ETH": "0.9000", "SOL": "0.8000", "NEW": "0.5000"}
    await running.scrape()
    fake.rates = {"BTC": "0.9000", "ETH": "0.9000"}
    await running.scrape()

    changes = [row[:3] for row in rows(await landing(running), "changes")]
    assert changes == [
        ["NEW", "0.5000", "left the list"],
        ["SOL", "0.8000", "left the list"],
        ["BTC", "0.9500", "0.9000"],
        ["NEW", "not listed", "0.5000"],
    ]


async def test_a_failure_shows_our_reason_and_binances_code_never_its_words(
    fake: FakeBinance, start_exporter: StartExporter
) -> None:
    fake.always(Reply(status=401, body=error_body(-2015, BINANCE_WORDS)))
    running = await start_exporter()
    await running.scrape()

    page = await landing(running)

    (v1,) = [row for row in rows(page, "status") if row[0] == "v1"]
    assert v1[1:5] == ["down", "auth", "401", "-2015"]
    assert "says-binance" not in page
    assert "permissions" not in page


async def test_the_page_is_made_once_per_change_and_never_by_a_scrape(
    fake: FakeBinance, start_exporter: StartExporter
) -> None:
    running = await start_exporter("--min-interval", "60")
    made = 0
    page = running.client.app[LANDING_KEY]
    render = page._render

    def counting() -> str:
        nonlocal made
        made += 1
        return render()

    page._render = counting
    for _ in range(5):
        await running.scrape()
    assert made == 0, "a scrape made the page"
    first = await landing(running)
    again = await landing(running)
    assert (made, again) == (1, first)


def test_a_page_is_made_again_when_its_version_changes() -> None:
    version = [1]
    made: list[int] = []

    def render() -> str:
        made.append(version[0])
        return f"page {version[0]}"

    page = LandingPage(render, lambda: version[0])
    assert [page.get(), page.get()] == ["page 1", "page 1"]
    version[0] = 2
    assert page.get() == "page 2"
    assert made == [1, 2]
