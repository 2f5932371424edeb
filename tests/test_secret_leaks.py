"""The exporter as a real process, key and secret from files (as Docker and Kubernetes secrets
are mounted), debug logging, an upstream that fails in every way and echoes the key back in its
error pages: nothing the process writes or serves holds the key or the secret."""

from __future__ import annotations

import secrets
from pathlib import Path

import aiohttp
import pytest

from tests.support.echoes import FORMS, json_escaped_all, url_encoded_all
from tests.support.fake_binance import V1_PATH, V2_PATH, FakeBinance, Reply, error_body, rates_body
from tests.support.process import exporter_process, run_exporter

# Shaped like Binance's: 64 letters and digits.
KEY = "K" + secrets.token_hex(32)[:63]
SECRET = "S" + secrets.token_hex(32)[:63]
OPENMETRICS = "application/openmetrics-text;version=1.0.0"


def echoing_failures(path: str) -> list[Reply]:
    """Every failure mode, each followed by a good answer (so that no backoff delays the next),
    with the key in the bodies where an upstream or a proxy in between could put it."""
    json_escaped = json_escaped_all(KEY)
    failures = [
        [Reply(status=401, body=error_body(-2015, f"Invalid API-key {KEY}, IP, or permissions"))],
        [Reply(status=400, body=error_body(-1022, f"Signature not valid for key {KEY}"))],
        [Reply(status=403, body=f"<html>WAF refused X-MBX-APIKEY: {KEY}</html>".encode())],
        [Reply(status=451, body=error_body(0, f"restricted location; key={KEY}"))],
        [Reply(status=503, body=f"<html><pre>upstream {KEY} unavailable</pre></html>".encode())],
        [Reply(status=500, body=b"x" * 90 + KEY.encode())],
        [Reply(body=f"not json {KEY}".encode())],
        [Reply(body=b'{"unexpected": "' + KEY.encode() + b'"}')],
        [Reply(body=rates_body({KEY: "0.5000", "BTC": "0.9500"}))],
        [Reply(body=rates_body({KEY: "7", "ETH": "0.9"}))],
        # Echoed in the status line, and in forms a byte-for-byte search would not find.
        [Reply(status=403, body=b"", reason=f"Forbidden {KEY}")],
        [Reply(status=403, body=b"", reason=f"Forbidden {url_encoded_all(KEY.lower())}")],
        [Reply(status=401, body=b'{"code": -2015, "msg": "' + json_escaped.encode() + b'"}')],
        [Reply(body=b'[{"asset": "' + json_escaped.encode() + b'", "collateralRate": "0.5"}]')],
        [Reply(delay=3.0)],
        # aiohttp retries a request once when a kept-alive connection drops: two resets fail it.
        [Reply(reset=True), Reply(reset=True)],
        [Reply(stream_bytes=8 * 1024 * 1024)],
    ]
    replies: list[Reply] = []
    for failure in failures if path == V1_PATH else failures[:-1]:
        replies += [*failure, Reply()]
    return replies


async def collect(url: str, rounds: int) -> list[str]:
    outputs: list[str] = []
    async with aiohttp.ClientSession() as session:
        for turn in range(rounds):
            accept = OPENMETRICS if turn % 3 == 2 else "text/plain"
            async with session.get(url + "/metrics", headers={"Accept": accept}) as response:
                assert response.status == 200
                outputs.append(await response.text())
            for route in ("/", "/healthz", "/nowhere"):
                async with session.get(url + route) as response:
                    outputs.append(await response.text())
    return outputs


def assert_nothing_leaks(text: str) -> None:
    for secret in (KEY, SECRET):
        assert secret not in text
        assert secret[:16] not in text  # nor a truncated excerpt of it
        folded = text.lower()
        for form in FORMS.values():
            assert form(secret).lower() not in folded
            assert form(secret[:16]).lower() not in folded


@pytest.mark.slow
async def test_process_output_holds_neither_key_nor_secret(
    fake: FakeBinance, tmp_path: Path
) -> None:
    key_file = tmp_path / "binance_api_key"
    key_file.write_text(KEY + "\n", encoding="utf-8")
    secret_file = tmp_path / "binance_api_secret"
    secret_file.write_text(SECRET + "\r\n", encoding="utf-8")
    fake.api_secret = SECRET
    fake.enqueue(*echoing_failures(V1_PATH))
    fake.enqueue(*echoing_failures(V2_PATH), path=V2_PATH)
    args = [
        "--api-base-url",
        fake.url,
        "--min-interval",
        "0",
        "--timeout",
        "1",
        "--max-response-bytes",
        "1048576",
        "--log-level",
        "debug",
    ]
    env = {"BINANCE_API_KEY_FILE": str(key_file), "BINANCE_API_SECRET_FILE": str(secret_file)}
    async with exporter_process(args, env) as exporter:
        outputs = await collect(exporter.url, rounds=len(echoing_failures(V1_PATH)) + 2)
    assert exporter.process.returncode == 0

    # The key was read from its file without the newline and sent; every failure was met.
    sent = {r.headers.get("X-MBX-APIKEY") for r in fake.requests if r.path == V1_PATH}
    assert sent == {KEY}
    log = exporter.stderr
    for reason in ("auth", "forbidden", "restricted_location", "server_error", "timeout"):
        assert f"reason={reason}" in log
    for reason in ("connection", "invalid_response", "client_error"):
        assert f"reason={reason}" in log
    assert "debug" in log.lower() or "DEBUG" in log
    assert "<redacted>" in log + "".join(outputs)

    assert_nothing_leaks(log)
    assert_nothing_leaks(exporter.stdout)
    assert_nothing_leaks("\n".join(outputs))


@pytest.mark.slow
async def test_configuration_errors_do_not_echo_the_key(tmp_path: Path) -> None:
    bad_key = KEY[:30] + " " + KEY[30:]
    key_file = tmp_path / "binance_api_key"
    key_file.write_text(bad_key + "\n", encoding="utf-8")
    attempts = [
        (["--api-key-file", str(key_file)], {}),
        (["--api-key", bad_key], {}),
        (["--api-key", KEY], {"BINANCE_API_SECRET": SECRET[:20] + "\t" + SECRET[20:]}),
        (["--api-key", KEY, "--api-key-file", str(key_file)], {}),
        # A secret given where the path of its file is expected.
        (["--api-key", KEY], {"BINANCE_API_SECRET_FILE": SECRET}),
        (["--api-key", KEY, "--api-secret-file", SECRET], {}),
        (["--api-key-file", KEY], {}),
        ([], {"BINANCE_API_KEY_FILE": KEY}),
    ]
    for args, env in attempts:
        result = run_exporter(args, env)
        assert result.returncode == 2, result.stderr
        assert len(result.stderr.splitlines()) == 1
        output = result.stdout + result.stderr
        for secret in (KEY, SECRET, bad_key):
            assert secret[:16] not in output
