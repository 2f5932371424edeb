"""TLS, client certificates, basic auth and response headers from the web config, seen by real
TLS clients against the exporter's real listener; the file re-read when it changes."""

from __future__ import annotations

import asyncio
import base64
import logging
import signal
import ssl
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp
import bcrypt
import pytest

from exporter.web.healthcheck import alive
from tests.support.exporter import served
from tests.support.fake_binance import FakeBinance
from tests.support.pki import Pki, make_pki
from tests.support.process import exporter_process, run_exporter

PASSWORD = "s3cret-scrape-password"
HASH = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()
PATHS = ("/", "/metrics", "/healthz")


def tls_section(pki: Pki, extra: str = "") -> str:
    return f"tls_server_config:\n  cert_file: {pki.cert_file}\n  key_file: {pki.key_file}\n{extra}"


def write_config(path: Path, text: str) -> Path:
    # Written aside and renamed, as config management tools and Kubernetes do.
    staging = path.with_suffix(".tmp")
    staging.write_text(text, encoding="utf-8")
    staging.replace(path)
    return path


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


async def status_of(url: str, context: ssl.SSLContext | None, **headers: str) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, ssl=context if context is not None else True, headers=headers) as resp,
    ):
        await resp.read()
        return resp.status


async def negotiated(port: int, context: ssl.SSLContext) -> tuple[str, str, bytes]:
    """TLS version, cipher and HTTP status line of GET /healthz over a fresh connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
    try:
        tls = writer.get_extra_info("ssl_object")
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        status_line = await reader.readline()
        return tls.version(), tls.cipher()[0], status_line.strip()
    finally:
        writer.close()


async def eventually(check: Callable[[], object], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            result = check()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return
        except (aiohttp.ClientError, ssl.SSLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path / "pki")


async def test_tls_serves_every_path_to_a_verifying_client(
    fake: FakeBinance, pki: Pki, tmp_path: Path
) -> None:
    path = write_config(tmp_path / "web.yml", tls_section(pki))
    async with served(fake.url, web_config=path) as server:
        assert server.url.startswith("https://")
        context = pki.client_context()
        for route in PATHS:
            assert await status_of(server.url + route, context) == 200
        version, _, status = await negotiated(server.listener.port, context)
        assert (version, status) == ("TLSv1.3", b"HTTP/1.1 200 OK")
        # A client that does not trust the CA refuses the certificate.
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await status_of(server.url + "/healthz", ssl.create_default_context())
        # Plain HTTP on the TLS port gets no HTTP answer.
        plain = server.url.replace("https://", "http://")
        with pytest.raises(aiohttp.ClientError):
            await status_of(plain + "/healthz", None)


async def test_min_version_and_cipher_suites(fake: FakeBinance, pki: Pki, tmp_path: Path) -> None:
    only13 = write_config(tmp_path / "web13.yml", tls_section(pki, "  min_version: TLS13\n"))
    async with served(fake.url, web_config=only13) as server:
        old_client = pki.client_context()
        old_client.maximum_version = ssl.TLSVersion.TLSv1_2
        with pytest.raises(aiohttp.ClientConnectorError):
            await status_of(server.url + "/healthz", old_client)
        assert await status_of(server.url + "/healthz", pki.client_context()) == 200

    suite = "  max_version: TLS12\n  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]\n"
    only12 = write_config(tmp_path / "web12.yml", tls_section(pki, suite))
    async with served(fake.url, web_config=only12) as server:
        assert await negotiated(server.listener.port, pki.client_context()) == (
            "TLSv1.2",
            "ECDHE-ECDSA-AES128-GCM-SHA256",
            b"HTTP/1.1 200 OK",
        )


async def test_client_certificate_required_and_verified(
    fake: FakeBinance, pki: Pki, tmp_path: Path
) -> None:
    extra = f"  client_ca_file: {pki.ca_file}\n  client_auth_type: RequireAndVerifyClientCert\n"
    path = write_config(tmp_path / "web.yml", tls_section(pki, extra))
    stranger = make_pki(tmp_path / "stranger")
    async with served(fake.url, web_config=path) as server:
        url = server.url + "/metrics"
        good = pki.client_context(client_cert=pki.client_cert())
        assert await status_of(url, good) == 200
        with pytest.raises(aiohttp.ClientError):
            await status_of(url, pki.client_context())
        with pytest.raises(aiohttp.ClientError):
            await status_of(url, pki.client_context(client_cert=stranger.client_cert()))
        # The container health check still sees a live server.
        assert await asyncio.to_thread(alive, "127.0.0.1", server.listener.port)


async def test_basic_auth_guards_every_path_and_headers_are_added(
    fake: FakeBinance, pki: Pki, tmp_path: Path
) -> None:
    text = tls_section(pki) + (
        f"basic_auth_users:\n  alice: {HASH}\n"
        "http_server_config:\n  headers:\n    X-Frame-Options: deny\n"
        "    Content-Security-Policy: default-src 'none'\n"
    )
    path = write_config(tmp_path / "web.yml", text)
    async with served(fake.url, web_config=path) as server:
        context = pki.client_context()
        wrong: tuple[dict[str, str], ...] = (
            {},
            basic("alice", "wrong"),
            basic("mallory", PASSWORD),
            basic("alice", PASSWORD + "x"),
            basic("alice", "x" * 100),
            {"Authorization": "Bearer abc"},
            {"Authorization": "Basic !!!not-base64"},
            {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
            {"Authorization": "Basic " + "A" * 6000},
        )
        async with aiohttp.ClientSession() as session:
            for route in (*PATHS, "/no-such-page"):
                for headers in wrong:
                    async with session.get(
                        server.url + route, ssl=context, headers=headers
                    ) as response:
                        assert response.status == 401, (route, headers)
                        assert response.headers["WWW-Authenticate"].startswith("Basic realm=")
                        assert response.headers["X-Frame-Options"] == "deny"
                async with session.get(
                    server.url + route, ssl=context, headers=basic("alice", PASSWORD)
                ) as response:
                    assert response.status == (404 if route == "/no-such-page" else 200)
                    assert response.headers["X-Frame-Options"] == "deny"
                    assert response.headers["Content-Security-Policy"] == "default-src 'none'"
        assert await asyncio.to_thread(alive, "127.0.0.1", server.listener.port)


async def test_verified_credentials_are_cached(fake: FakeBinance, tmp_path: Path) -> None:
    path = write_config(tmp_path / "web.yml", f"basic_auth_users:\n  alice: {HASH}\n")
    async with served(fake.url, web_config=path) as server:
        assert server.live is not None
        verifier = server.live.auth
        for _ in range(20):
            assert await status_of(server.url + "/metrics", None, **basic("alice", PASSWORD)) == 200
        assert verifier.bcrypt_runs == 1
        for _ in range(5):
            assert await status_of(server.url + "/metrics", None, **basic("alice", "nope")) == 401
        assert verifier.bcrypt_runs == 2


async def test_changed_file_is_picked_up_and_a_bad_one_ignored(
    fake: FakeBinance, pki: Pki, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_config(tmp_path / "web.yml", tls_section(pki, "") + "basic_auth_users:\n")
    async with served(fake.url, web_config=path) as server:
        assert server.live is not None
        url = server.url + "/metrics"
        assert await status_of(url, pki.client_context()) == 200

        write_config(path, tls_section(pki) + f"basic_auth_users:\n  bob: {HASH}\n")

        async def bob_required() -> bool:
            return await status_of(url, pki.client_context()) == 401

        await eventually(bob_required)
        assert await status_of(url, pki.client_context(), **basic("bob", PASSWORD)) == 200

        caplog.set_level(logging.ERROR, logger="exporter.web.guard")
        write_config(path, "basic_auth_users:\n  bob: plaintext-oops\n")
        await eventually(lambda: "web config not reloaded" in caplog.text)
        assert "plaintext-oops" not in caplog.text
        assert await status_of(url, pki.client_context(), **basic("bob", PASSWORD)) == 200

        # A renewed certificate from a new CA: new connections get it.
        renewed = make_pki(tmp_path / "renewed")
        write_config(path, tls_section(renewed) + f"basic_auth_users:\n  bob: {HASH}\n")

        async def renewed_served() -> bool:
            context = renewed.client_context()
            return await status_of(url, context, **basic("bob", PASSWORD)) == 200

        await eventually(renewed_served)
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await status_of(url, pki.client_context(), **basic("bob", PASSWORD))


async def test_certificate_rewritten_in_place_is_picked_up(
    fake: FakeBinance, pki: Pki, tmp_path: Path
) -> None:
    path = write_config(tmp_path / "web.yml", tls_section(pki))
    async with served(fake.url, web_config=path) as server:
        url = server.url + "/healthz"
        assert await status_of(url, pki.client_context()) == 200
        renewed = make_pki(tmp_path / "renewed")
        pki.key_file.write_bytes(renewed.key_file.read_bytes())
        pki.cert_file.write_bytes(renewed.cert_file.read_bytes())

        async def renewed_served() -> bool:
            return await status_of(url, renewed.client_context()) == 200

        await eventually(renewed_served)


async def test_sighup_reloads_the_file_of_a_running_process(pki: Pki, tmp_path: Path) -> None:
    path = write_config(
        tmp_path / "web.yml", tls_section(pki) + f"basic_auth_users:\n  alice: {HASH}\n"
    )
    async with exporter_process(["--demo", "--web-config-file", str(path)]) as exporter:
        assert exporter.tls
        url = exporter.url + "/healthz"
        assert await status_of(url, pki.client_context(), **basic("alice", PASSWORD)) == 200
        assert await status_of(url, pki.client_context(), **basic("bob", PASSWORD)) == 401

        renewed = make_pki(tmp_path / "renewed")
        write_config(path, tls_section(renewed) + f"basic_auth_users:\n  bob: {HASH}\n")
        exporter.process.send_signal(signal.SIGHUP)
        await exporter.wait_for_log("web config reloaded (SIGHUP)")
        await exporter.wait_for_log("new TLS settings in force: TLS on")
        assert await status_of(url, renewed.client_context(), **basic("bob", PASSWORD)) == 200
        assert await status_of(url, renewed.client_context(), **basic("alice", PASSWORD)) == 401
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await status_of(url, pki.client_context(), **basic("bob", PASSWORD))
    assert exporter.process.returncode == 0


async def test_process_with_a_bad_file_exits_2_with_one_line(tmp_path: Path) -> None:
    path = write_config(tmp_path / "web.yml", "tls_server_config:\n  cert_file: gone.crt\n")
    result = run_exporter(["--demo", "--web-config-file", str(path)])
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"binance-pm-exporter: --web-config-file {str(path)!r}: "
        "tls_server_config.key_file: is required when tls_server_config is given"
        " (or key, inline)\n"
    )


async def test_sighup_without_a_web_config_is_harmless() -> None:
    async with exporter_process(["--demo"]) as exporter:
        exporter.process.send_signal(signal.SIGHUP)
        await exporter.wait_for_log("SIGHUP: no --web-config-file, nothing to reload")
        assert await status_of(exporter.url + "/healthz", None) == 200
    assert exporter.process.returncode == 0


FLOOD_CONNECTIONS = 256
FLOOD_SECONDS = 3.0
SCRAPE_LIMIT_SECONDS = 5.0  # the flood delayed real scrapes by 14-16 s before


@pytest.mark.slow
async def test_a_flood_of_wrong_passwords_does_not_delay_a_verified_scrape(
    fake: FakeBinance, tmp_path: Path
) -> None:
    costly = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(10)).decode()
    path = write_config(tmp_path / "web.yml", f"basic_auth_users:\n  alice: {costly}\n")
    async with served(fake.url, web_config=path) as server:
        assert server.live is not None
        verifier = server.live.auth
        url = server.url + "/metrics"
        assert await status_of(url, None, **basic("alice", PASSWORD)) == 200
        # A burst of new wrong passwords at once: answered without queueing a bcrypt for each
        # (which would take 256 x ~75 ms, one at a time).
        connector = aiohttp.TCPConnector(limit=FLOOD_CONNECTIONS)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def guess(n: int) -> int:
                async with session.get(url, headers=basic("alice", f"burst-{n}")) as resp:
                    await resp.read()
                    return resp.status

            async with asyncio.timeout(SCRAPE_LIMIT_SECONDS):
                burst = await asyncio.gather(*(guess(n) for n in range(FLOOD_CONNECTIONS)))
        assert burst == [401] * FLOOD_CONNECTIONS
        stop = time.monotonic() + FLOOD_SECONDS
        refused = 0

        async def attacker(session: aiohttp.ClientSession, n: int) -> None:
            nonlocal refused
            turn = 0
            while time.monotonic() < stop:
                turn += 1
                user = "alice" if n % 2 else f"mallory{n}"
                async with session.get(url, headers=basic(user, f"guess-{n}-{turn}")) as resp:
                    await resp.read()
                    assert resp.status == 401
                    refused += 1

        connector = aiohttp.TCPConnector(limit=FLOOD_CONNECTIONS)
        async with aiohttp.ClientSession(connector=connector) as session:
            flood = [asyncio.create_task(attacker(session, n)) for n in range(FLOOD_CONNECTIONS)]
            try:
                await asyncio.sleep(0.5)
                for _ in range(5):
                    async with asyncio.timeout(SCRAPE_LIMIT_SECONDS):
                        status = await status_of(url, None, **basic("alice", PASSWORD))
                    assert status == 200
                    await asyncio.sleep(0.2)
            finally:
                await asyncio.gather(*flood, return_exceptions=True)
        assert refused > FLOOD_CONNECTIONS
        assert verifier.turned_away > 0  # most guesses never reached bcrypt
        verified, remembered_refusals = verifier.sizes()
        assert verified == 1
        assert remembered_refusals <= 1024


@pytest.mark.slow
async def test_failures_never_push_a_verified_credential_out(
    fake: FakeBinance, tmp_path: Path
) -> None:
    path = write_config(tmp_path / "web.yml", f"basic_auth_users:\n  alice: {HASH}\n")
    async with served(fake.url, web_config=path) as server:
        assert server.live is not None
        verifier = server.live.auth
        url = server.url + "/metrics"
        assert await status_of(url, None, **basic("alice", PASSWORD)) == 200
        async with aiohttp.ClientSession() as session:
            for n in range(600):  # one after the other: every one is checked
                async with session.get(url, headers=basic("alice", f"wrong-{n}")) as response:
                    assert response.status == 401
        runs = verifier.bcrypt_runs
        assert runs == 601
        assert await status_of(url, None, **basic("alice", PASSWORD)) == 200
        assert verifier.bcrypt_runs == runs  # still cached: no bcrypt for it


async def test_unknown_users_cost_a_bcrypt_at_the_users_cost(
    fake: FakeBinance, tmp_path: Path
) -> None:
    costly = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(8)).decode()
    path = write_config(tmp_path / "web.yml", f"basic_auth_users:\n  alice: {costly}\n")
    async with served(fake.url, web_config=path) as server:
        assert server.live is not None
        verifier = server.live.auth
        timings: dict[str, list[float]] = {"alice": [], "nobody": []}
        for turn in range(6):
            for user in timings:
                runs = verifier.bcrypt_runs
                started = time.perf_counter()
                status = await status_of(server.url + "/", None, **basic(user, f"wrong{turn}"))
                timings[user].append(time.perf_counter() - started)
                assert status == 401
                assert verifier.bcrypt_runs == runs + 1
        # Not a speed assertion: an unknown user must not skip the work (a 5x gap at the least
        # would show it), whatever the machine's load.
        assert min(timings["nobody"]) * 5 > min(timings["alice"])
        # Right password, unknown user: still refused.
        assert await status_of(server.url + "/", None, **basic("nobody", PASSWORD)) == 401


async def test_passwords_longer_than_72_bytes_compare_as_gos_bcrypt_does(
    fake: FakeBinance, tmp_path: Path
) -> None:
    long_password = "p" * 60 + "ü" * 6 + "-and-then-some-more"  # 91 bytes in UTF-8
    assert len(long_password.encode()) > 72
    # htpasswd and Go hash the first 72 bytes; Go's CompareHashAndPassword reads no further.
    hashed = bcrypt.hashpw(long_password.encode()[:72], bcrypt.gensalt(4)).decode()
    path = write_config(tmp_path / "web.yml", f"basic_auth_users:\n  alice: {hashed}\n")
    async with served(fake.url, web_config=path) as server:
        url = server.url + "/metrics"
        assert await status_of(url, None, **basic("alice", long_password)) == 200
        assert await status_of(url, None, **basic("alice", long_password[:66])) == 200
        assert await status_of(url, None, **basic("alice", long_password[:65])) == 401
        assert await status_of(url, None, **basic("alice", "x" + long_password)) == 401


@pytest.mark.parametrize(
    "replacement",
    [
        "",
        "# emptied\n",
        "tls_server_config:\n",
        "basic_auth_users:\n",
        "tls_server_config:\n  cert",
    ],
    ids=["empty", "comment", "tls-only-key", "users-only-key", "truncated"],
)
async def test_a_reload_that_would_drop_tls_or_auth_is_refused(
    fake: FakeBinance,
    pki: Pki,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    replacement: str,
) -> None:
    path = write_config(
        tmp_path / "web.yml", tls_section(pki) + f"basic_auth_users:\n  alice: {HASH}\n"
    )
    async with served(fake.url, web_config=path) as server:
        assert server.live is not None
        url = server.url + "/metrics"
        context = pki.client_context()
        caplog.set_level(logging.INFO, logger="exporter.web.guard")
        write_config(path, replacement)
        await eventually(lambda: "web config not reloaded" in caplog.text)
        assert await server.live.reload("SIGHUP") is False
        assert not [r for r in caplog.records if r.levelno < logging.ERROR]
        assert server.listener.tls
        assert await status_of(url, context) == 401
        assert await status_of(url, context, **basic("alice", PASSWORD)) == 200
        # A whole config again, with TLS and auth, is taken.
        write_config(path, tls_section(pki) + f"basic_auth_users:\n  bob: {HASH}\n")
        await eventually(lambda: "web config reloaded" in caplog.text)
        assert await status_of(url, context, **basic("bob", PASSWORD)) == 200


async def test_sighup_with_an_emptied_file_keeps_tls_and_auth(pki: Pki, tmp_path: Path) -> None:
    path = write_config(
        tmp_path / "web.yml", tls_section(pki) + f"basic_auth_users:\n  alice: {HASH}\n"
    )
    async with exporter_process(["--demo", "--web-config-file", str(path)]) as exporter:
        url = exporter.url + "/metrics"
        path.write_text("")
        exporter.process.send_signal(signal.SIGHUP)
        await exporter.wait_for_log("would turn TLS and basic auth off")
        assert "ERROR" in exporter.stderr
        assert await status_of(url, pki.client_context()) == 401
        assert await status_of(url, pki.client_context(), **basic("alice", PASSWORD)) == 200
        with pytest.raises(aiohttp.ClientError):
            await status_of(url.replace("https://", "http://"), None)
        assert "web config reloaded" not in exporter.stderr
    assert exporter.process.returncode == 0


async def test_concurrent_scrapes_with_one_new_credential_share_one_check(
    fake: FakeBinance, tmp_path: Path
) -> None:
    path = write_config(tmp_path / "web.yml", f"basic_auth_users:\n  alice: {HASH}\n")
    async with served(fake.url, web_config=path) as server:
        assert server.live is not None
        url = server.url + "/metrics"
        statuses = await asyncio.gather(
            *(status_of(url, None, **basic("alice", PASSWORD)) for _ in range(40))
        )
        assert statuses == [200] * 40
        assert server.live.auth.bcrypt_runs == 1
