"""The fake Binance of the tests, serving a realistic collateral-rate list of any length."""

from __future__ import annotations

from tests.support.fake_binance import FakeBinance, Reply, rates_body

PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)
SCRAPE_TIMEOUT = "10"
API_KEY = "bench-api-key"


def prometheus_headers(gzip: bool) -> list[tuple[str, str]]:
    """The headers Prometheus sends with a scrape."""
    return [
        ("Accept", PROMETHEUS_ACCEPT),
        ("Accept-Encoding", "gzip" if gzip else "identity"),
        ("User-Agent", "Prometheus/2.42.0"),
        ("X-Prometheus-Scrape-Timeout-Seconds", SCRAPE_TIMEOUT),
    ]


def asset_name(index: int) -> str:
    """Ticker-like names of 3 to 6 capitals: AAA, AAB, ..."""
    letters = []
    n = index
    while True:
        n, digit = divmod(n, 26)
        letters.append(chr(ord("A") + digit))
        if n == 0:
            break
    return "".join(reversed(letters)).rjust(3, "A")


def collateral_rates(assets: int) -> dict[str, str]:
    """Rates as Binance writes them: decimal strings with four places, spread over 0..1."""
    return {asset_name(i): f"{(i * 37 % 101) / 100:.4f}" for i in range(assets)}


async def start_upstream(assets: int, delay: float = 0.0) -> FakeBinance:
    """A fake Binance on loopback answering every request with `assets` rates after `delay`."""
    fake = FakeBinance(collateral_rates(assets))
    await fake.start()
    fake.always(Reply(body=rates_body(fake.rates), delay=delay))
    return fake


def exporter_flags(fake: FakeBinance, *extra: str) -> list[str]:
    return ["--api-base-url", fake.url, "--api-key", API_KEY, "--max-stale", "86400", *extra]
