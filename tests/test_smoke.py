from tests.support.exporter import API_KEY, StartExporter
from tests.support.fake_binance import FakeBinance
from tests.support.samples import rates_of


async def test_exports_rates(fake: FakeBinance, start_exporter: StartExporter) -> None:
    running = await start_exporter()
    samples = await running.samples()
    assert rates_of(samples) == {"BTC": 0.95, "USDT": 1.0}
    assert fake.requests[0].headers["X-MBX-APIKEY"] == API_KEY
