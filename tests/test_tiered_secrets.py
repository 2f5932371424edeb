"""The API key, the secret and the signed query strings appear in no output: not in any log
record (captured before any masking), not in /metrics, not on the landing page, not in the
one-line configuration errors."""

from __future__ import annotations

import logging

import pytest

from exporter.config import ConfigError, load_config
from tests.support.exporter import API_KEY, SECRET, WITH_SECRET, StartExporter
from tests.support.fake_binance import TIME_PATH, V2_PATH, FakeBinance, Reply

OPENMETRICS_ACCEPT = "application/openmetrics-text;version=1.0.0"


async def test_no_output_holds_the_key_the_secret_or_a_signature(
    fake: FakeBinance, start_exporter: StartExporter, caplog: pytest.LogCaptureFixture
) -> None:
    fake.api_secret = SECRET
    caplog.set_level(logging.DEBUG)
    running = await start_exporter("--log-level", "debug", env=WITH_SECRET)
    outputs = [await running.scrape()]

    async def fails_then_recovers(reply: Reply | None = None) -> None:
        # A success between failures keeps the backoff from delaying the next attempt.
        if reply is not None:
            fake.always(reply, path=V2_PATH)
        outputs.append(await running.scrape())
        fake.always(None, path=V2_PATH)
        outputs.append(await running.scrape())

    await fails_then_recovers(Reply(reset=True))
    await fails_then_recovers(Reply(status=503, body=b"<html>unavailable</html>"))
    await fails_then_recovers(Reply(body=b"not json"))
    fake.api_secret = "another-secret-than-the-configured-one"
    outputs.append(await running.scrape())
    fake.api_secret = SECRET
    outputs.append(await running.scrape())
    fake.server_offset_ms = 30000.0
    await fails_then_recovers()
    outputs.append(await running.scrape(Accept=OPENMETRICS_ACCEPT))
    for path in ("/", "/healthz"):
        response = await running.client.get(path)
        outputs.append(await response.text())

    text = "\n".join([*outputs, caplog.text, *(r.getMessage() for r in caplog.records)])
    for case in ("code=-1022", "code=-1021", "connection", "server_error", "invalid_response"):
        assert case in caplog.text, "every kind of failure was met"
    signatures = [r.query["signature"] for r in fake.requests if r.path == V2_PATH]
    assert len(signatures) >= 6
    for secret in (SECRET, API_KEY, *signatures):
        assert secret not in text
    assert "signature=" not in text
    assert fake.count(TIME_PATH) >= 2


@pytest.mark.parametrize(
    "argv",
    [
        ["--api-secret", SECRET],
        [f"--api-secret={SECRET}"],
        ["--api-secret-f", SECRET],
        ["--api-secre", SECRET],
    ],
)
def test_the_secret_is_never_taken_on_the_command_line(argv: list[str]) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(["--api-key", API_KEY, *argv], {})
    assert SECRET not in str(caught.value)


def test_the_config_does_not_show_the_secret() -> None:
    config = load_config(["--api-key", API_KEY], {"BINANCE_API_SECRET": SECRET})
    assert config.api_secret == SECRET
    assert SECRET not in repr(config)
    assert API_KEY not in repr(config)


@pytest.mark.parametrize(
    ("argv", "env", "source"),
    [
        (["--api-key", API_KEY], {"BINANCE_API_SECRET_FILE": SECRET}, "BINANCE_API_SECRET_FILE"),
        (["--api-key", API_KEY, "--api-secret-file", SECRET], {}, "--api-secret-file"),
        (["--api-key-file", SECRET], {}, "--api-key-file"),
        ([], {"BINANCE_API_KEY_FILE": SECRET}, "BINANCE_API_KEY_FILE"),
        ([], {"BINANCE_API_KEY_FILE": "/" + SECRET}, "BINANCE_API_KEY_FILE"),
    ],
)
def test_a_secret_given_as_a_file_path_is_not_shown(
    argv: list[str], env: dict[str, str], source: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(argv, env)
    message = str(caught.value)
    assert message.startswith(f"{source}: cannot read the file it names: No such file")
    assert SECRET not in message
    assert SECRET[:8] not in message
