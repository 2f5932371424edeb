"""What the exporter's HTTP client takes from its environment: the proxy variables, and nothing
else (no ~/.netrc credentials, for Binance or for the proxy); and what it keeps from the
upstream: no cookies."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from exporter.config import load_config
from exporter.service import running_exporter
from exporter.upstream.proxy import DIRECT, env_proxy
from tests.support.exporter import API_KEY, StartExporter
from tests.support.fake_binance import V1_PATH, FakeBinance, Reply
from tests.support.samples import rates_of

PROXY_VARIABLES = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in (*PROXY_VARIABLES, "NO_PROXY", "no_proxy", "all_proxy", "NETRC"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    return monkeypatch


@pytest.fixture
async def proxy() -> AsyncIterator[FakeBinance]:
    """A second fake that answers whatever reaches it, as a forwarding proxy would."""
    server = FakeBinance({"PROXIED": "0.5000"})
    await server.start()
    yield server
    await server.stop()


def netrc(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    path = tmp_path / ".netrc"
    path.write_text(
        "machine 127.0.0.1 login operator password for-another-service\n"
        "default login anyone password secret-for-every-host\n",
        encoding="utf-8",
    )
    path.chmod(0o600)
    clean_env.setenv("NETRC", str(path))


async def test_netrc_credentials_are_never_sent(
    fake: FakeBinance,
    start_exporter: StartExporter,
    tmp_path: Path,
    clean_env: pytest.MonkeyPatch,
) -> None:
    netrc(tmp_path, clean_env)
    running = await start_exporter()
    assert rates_of(await running.samples()) == {"BTC": 0.95, "USDT": 1.0}
    assert fake.count() == 1
    headers = {name.lower() for name in fake.requests[0].headers}
    assert "authorization" not in headers
    assert "proxy-authorization" not in headers


async def test_the_proxy_variable_is_honoured_with_its_own_credentials_only(
    fake: FakeBinance,
    proxy: FakeBinance,
    start_exporter: StartExporter,
    tmp_path: Path,
    clean_env: pytest.MonkeyPatch,
) -> None:
    netrc(tmp_path, clean_env)
    clean_env.setenv("HTTP_PROXY", proxy.url.replace("http://", "http://relay:p%40ss@"))
    running = await start_exporter()
    assert rates_of(await running.samples()) == {"PROXIED": 0.5}
    assert (fake.count(), proxy.count()) == (0, 1)
    request = proxy.requests[0]
    assert request.headers.get("X-MBX-APIKEY") == API_KEY
    expected = "Basic " + base64.b64encode(b"relay:p@ss").decode()
    assert request.headers.get("Proxy-Authorization") == expected
    assert "Authorization" not in request.headers


async def test_a_proxy_without_credentials_gets_none_from_netrc(
    fake: FakeBinance,
    proxy: FakeBinance,
    start_exporter: StartExporter,
    tmp_path: Path,
    clean_env: pytest.MonkeyPatch,
) -> None:
    netrc(tmp_path, clean_env)
    clean_env.setenv("http_proxy", proxy.url)
    running = await start_exporter()
    await running.scrape()
    assert proxy.count() == 1
    assert "Proxy-Authorization" not in proxy.requests[0].headers
    assert "Authorization" not in proxy.requests[0].headers


async def test_no_proxy_bypasses_the_proxy(
    fake: FakeBinance,
    proxy: FakeBinance,
    start_exporter: StartExporter,
    clean_env: pytest.MonkeyPatch,
) -> None:
    clean_env.setenv("HTTP_PROXY", proxy.url)
    clean_env.setenv("NO_PROXY", "example.invalid,127.0.0.1")
    running = await start_exporter()
    assert rates_of(await running.samples()) == {"BTC": 0.95, "USDT": 1.0}
    assert (fake.count(), proxy.count()) == (1, 0)


async def test_the_demo_ignores_the_proxy(
    proxy: FakeBinance, start_exporter: StartExporter, clean_env: pytest.MonkeyPatch
) -> None:
    clean_env.setenv("HTTP_PROXY", proxy.url)
    running = await start_exporter("--demo")
    assert rates_of(await running.samples())
    assert proxy.count() == 0


async def test_a_malformed_proxy_variable_is_ignored_with_a_warning(
    fake: FakeBinance,
    clean_env: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    clean_env.setenv("HTTP_PROXY", "http://relay:secret-pw@127.0.0.1:99999999")
    config = load_config(["--api-base-url", fake.url, "--api-key", API_KEY], {})
    async with running_exporter(config) as exporter:
        await exporter.scrapes.refresh(deadline=float("inf"))
        assert exporter.v1.snapshot.up
    assert "ignored the http proxy of the environment" in caplog.text
    assert "secret-pw" not in caplog.text


async def test_cookies_from_the_upstream_are_not_kept(fake: FakeBinance) -> None:
    by_name = fake.url.replace("127.0.0.1", "localhost")  # cookie jars ignore IP hosts
    fake.always(Reply(headers={"Set-Cookie": "tracker=1; Path=/"}))
    config = load_config(["--api-base-url", by_name, "--api-key", API_KEY], {})
    async with running_exporter(config) as exporter:
        for _ in range(3):
            exporter.v1.next_allowed = 0.0
            await exporter.scrapes.refresh(deadline=float("inf"))
            assert exporter.v1.snapshot.up
    sent = [r for r in fake.requests if r.path == V1_PATH]
    assert len(sent) == 3
    assert all("Cookie" not in r.headers for r in sent)


def test_proxy_credentials_go_on_the_connect_of_https_and_with_plain_http(
    clean_env: pytest.MonkeyPatch,
) -> None:
    clean_env.setenv("HTTPS_PROXY", "http://relay:p%40ss@proxy.example:3128")
    clean_env.setenv("HTTP_PROXY", "proxy.example:8080")  # no scheme, as curl takes it
    tunnelled = env_proxy("https://api.binance.com")
    assert str(tunnelled.url) == "http://proxy.example:3128"
    assert tunnelled.tunnel_headers == {"Proxy-Authorization": "Basic cmVsYXk6cEBzcw=="}
    assert tunnelled.request_headers == {}
    plain = env_proxy("http://api.binance.com")
    assert str(plain.url) == "http://proxy.example:8080"
    assert (plain.tunnel_headers, plain.request_headers) == (None, {})
    clean_env.setenv("NO_PROXY", ".binance.com")
    assert env_proxy("https://api.binance.com") == DIRECT
