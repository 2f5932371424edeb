"""Web config files written for other exporters: the exporter-toolkit's own test files (in
tests/data/exporter-toolkit, see its README) load as the toolkit loads them, and configs of our
own of each kind the toolkit offers are served as the toolkit serves them, seen by a client:
handshake, client certificate demanded or not, a SAN refused, 429 past the rate limit, headers
sent."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import aiohttp
import pytest
import yaml

from exporter.config import ConfigError
from exporter.web.webconfig import load_web_config
from tests.support.exporter import served
from tests.support.fake_binance import FakeBinance
from tests.support.pki import Pki, make_pki

TOOLKIT = Path(__file__).resolve().parent / "data" / "exporter-toolkit"
# What the toolkit's own tests expect to fail when the file is read (tls_config_test.go).
LOAD_ERRORS = {
    "web_config_junk.yml",
    "web_config_junk_key.yml",
    "web_config_noAuth_certPath_empty.bad.yml",
    "web_config_noAuth_cert_empty.bad.yml",
    "web_config_noAuth_keyPath_empty.bad.yml",
    "web_config_noAuth_key_empty.bad.yml",
    "web_config_noAuth_certPath_keyPath_empty.bad.yml",
    "web_config_noAuth_certPath_invalid.bad.yml",
    "web_config_noAuth_keyPath_invalid.bad.yml",
    "web_config_noAuth_certPath_keyPath_invalid.bad.yml",
    "web_config_noAuth.bad.yml",
    "web_config_auth_clientCAs_invalid.bad.yml",
    "web_config_auth_user_list_invalid.bad.yml",
    "web_config_noAuth_inventedCiphers.bad.yml",
    "web_config_noAuth_inventedCurves.bad.yml",
    "web_config_noAuth_wrongTLSVersion.bad.yml",
    "web_config_headers_content_type_options.bad.yml",
    "web_config_headers_frame_options.bad.yml",
    "web_config_headers_extra_header.bad.yml",
}
# Accepted by the toolkit, refused here with one line naming the alternative (docs/security.md).
REFUSED_HERE = {
    "tls_config_noAuth.requireanyclientcert.good.yml": "RequireAndVerifyClientCert",
    "tls_config_noAuth.requireanyclientcertkeyinline.good.yml": "RequireAndVerifyClientCert",
}
# Files whose "bad" shows only when serving: a SAN refused, a cipher HTTP/2 cannot use (this
# exporter speaks HTTP/1.1 only, so it is no fault here), a CA missing that the system roots
# stand in for.
SERVED = {
    "web_config_auth_client_san.bad.yaml",
    "web_config_noAuth_noHTTP2Cipher.bad.yml",
    "web_config_auth_clientCAs_missing.bad.yml",
}
CONFIGS = sorted(p.name for p in TOOLKIT.iterdir() if p.suffix in (".yml", ".yaml"))


def test_every_file_of_the_toolkit_is_classified() -> None:
    goods = {name for name in CONFIGS if ".good." in name}
    assert len(goods) == 16
    assert set(CONFIGS) == LOAD_ERRORS | goods | SERVED | {
        "web_config_empty.yml",
        "web_config_rate_limiter_nonblocking.yaml",
        "web_config_rate_limiter_one_second.yaml",
    }


@pytest.mark.parametrize("name", CONFIGS)
def test_the_toolkits_files_load_as_the_toolkit_loads_them(name: str) -> None:
    path = TOOLKIT / name
    if name in LOAD_ERRORS or name in REFUSED_HERE:
        with pytest.raises(ConfigError) as caught:
            load_web_config(path)
        message = str(caught.value)
        assert "\n" not in message
        assert message.startswith(f"--web-config-file {str(path)!r}: ")
        if name in REFUSED_HERE:
            assert REFUSED_HERE[name] in message
    else:
        load_web_config(path)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "web.yml"
    path.write_text(text, encoding="utf-8")
    return path


def tls_files(pki: Pki) -> str:
    return f"tls_server_config:\n  cert_file: {pki.cert_file}\n  key_file: {pki.key_file}\n"


async def get(url: str, context: ssl.SSLContext | None = None) -> aiohttp.ClientResponse:
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session,
        session.get(url, ssl=context or True) as response,
    ):
        await response.read()
        return response


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path / "pki")


@pytest.mark.parametrize("auth_type", ["VerifyClientCertIfGiven", "RequireAndVerifyClientCert"])
async def test_client_certificates_verified_against_the_system_roots_without_a_ca(
    fake: FakeBinance, tmp_path: Path, pki: Pki, auth_type: str
) -> None:
    config = write(tmp_path, tls_files(pki) + f"  client_auth_type: {auth_type}\n")
    async with served(fake.url, web_config=config) as server:
        url = server.url + "/healthz"
        # a certificate from a CA the system does not trust: refused
        untrusted = pki.client_context(client_cert=pki.client_cert())
        with pytest.raises(aiohttp.ClientError):
            await get(url, untrusted)
        if auth_type == "VerifyClientCertIfGiven":
            assert (await get(url, pki.client_context())).status == 200
        else:  # no certificate at all: refused
            with pytest.raises(aiohttp.ClientError):
                await get(url, pki.client_context())


async def test_certificate_and_key_given_inline(
    fake: FakeBinance, tmp_path: Path, pki: Pki
) -> None:
    indent = "\n    "
    cert = pki.cert_file.read_text().strip().replace("\n", indent)
    key = pki.key_file.read_text().strip().replace("\n", indent)
    ca = pki.ca_file.read_text().strip().replace("\n", indent)
    config = write(
        tmp_path,
        f"tls_server_config:\n  cert: |{indent}{cert}\n  key: |{indent}{key}\n"
        f"  client_auth_type: RequireAndVerifyClientCert\n  client_ca: |{indent}{ca}\n",
    )
    async with served(fake.url, web_config=config) as server:
        url = server.url + "/healthz"
        assert (await get(url, pki.client_context(client_cert=pki.client_cert()))).status == 200
        with pytest.raises(aiohttp.ClientError):
            await get(url, pki.client_context())


def client_with_group(pki: Pki, group: str) -> ssl.SSLContext:
    context = pki.client_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.set_ecdh_curve(group)
    return context


async def test_curve_preferences_restrict_the_key_exchange(
    fake: FakeBinance, tmp_path: Path, pki: Pki
) -> None:
    config = write(
        tmp_path, tls_files(pki) + "  min_version: TLS13\n  curve_preferences: [CurveP384]\n"
    )
    async with served(fake.url, web_config=config) as server:
        url = server.url + "/healthz"
        assert (await get(url, client_with_group(pki, "secp384r1"))).status == 200
        with pytest.raises(aiohttp.ClientError):
            await get(url, client_with_group(pki, "X25519"))
    every_curve = "  curve_preferences: [CurveP256, CurveP384, CurveP521, X25519]\n"
    config = write(tmp_path, tls_files(pki) + every_curve)
    async with served(fake.url, web_config=config) as server:
        for group in ("prime256v1", "secp384r1", "secp521r1", "X25519"):
            assert (await get(server.url + "/healthz", client_with_group(pki, group))).status == 200


async def test_client_allowed_sans_refuse_a_certificate_naming_none_of_them(
    fake: FakeBinance, tmp_path: Path, pki: Pki
) -> None:
    config = write(
        tmp_path,
        tls_files(pki)
        + f"  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {pki.ca_file}\n"
        + "  client_allowed_sans: [prometheus.example.test, 192.0.2.10]\n",
    )
    async with served(fake.url, web_config=config) as server:
        url = server.url + "/healthz"
        for allowed in ("prometheus.example.test", "192.0.2.10"):
            context = pki.client_context(client_cert=pki.client_cert(allowed))
            assert (await get(url, context)).status == 200
        stranger = pki.client_context(client_cert=pki.client_cert("intruder.example.test"))
        with pytest.raises(aiohttp.ClientError):
            await get(url, stranger)


async def test_the_rate_limit_answers_429_beyond_it(fake: FakeBinance, tmp_path: Path) -> None:
    config = write(tmp_path, "rate_limit:\n  interval: 1m\n  burst: 3\n")
    async with served(fake.url, web_config=config) as server:
        statuses = [(await get(server.url + "/healthz")).status for _ in range(5)]
        assert statuses == [200, 200, 200, 429, 429]
    # the toolkit's own: a burst of 0 lets nothing through; no interval, no limit
    async with served(
        fake.url, web_config=TOOLKIT / "web_config_rate_limiter_one_second.yaml"
    ) as server:
        assert (await get(server.url + "/healthz")).status == 429
    async with served(
        fake.url, web_config=TOOLKIT / "web_config_rate_limiter_nonblocking.yaml"
    ) as server:
        assert {(await get(server.url + "/healthz")).status for _ in range(10)} == {200}


async def test_header_values_yaml_reads_as_numbers_are_sent_as_written(
    fake: FakeBinance, tmp_path: Path
) -> None:
    async with served(fake.url, web_config=TOOLKIT / "web_config_headers.good.yml") as server:
        response = await get(server.url + "/healthz")
        assert response.headers["X-XSS-Protection"] == "1"
        assert response.headers["X-Frame-Options"] == "deny"
        assert (
            response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
        )


async def test_the_toolkits_inline_certificate_is_the_one_served(fake: FakeBinance) -> None:
    path = TOOLKIT / "web_config_noAuth_tlsInline.good.yml"
    async with served(fake.url, web_config=path) as server:
        # Its certificate's key usage suits Go's verifier, not OpenSSL's: compared, not verified.
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        _, writer = await asyncio.open_connection("127.0.0.1", server.listener.port, ssl=context)
        served_der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        writer.close()
    inline = yaml.safe_load(path.read_text())["tls_server_config"]["cert"]
    assert served_der == ssl.PEM_cert_to_DER_cert(inline)


def test_unverified_client_certificates_are_refused_naming_the_alternative(
    tmp_path: Path, pki: Pki
) -> None:
    for auth_type in ("RequireAnyClientCert", "RequestClientCert"):
        path = write(tmp_path, tls_files(pki) + f"  client_auth_type: {auth_type}\n")
        with pytest.raises(ConfigError, match="use RequireAndVerifyClientCert with client_ca_file"):
            load_web_config(path)
