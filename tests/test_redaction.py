"""Whatever form the upstream echoes the API key or a request's signature in (raw, case-changed,
URL-encoded, JSON-escaped, HTML-escaped, mixed), in a reason phrase, an error message, an error
page or an asset name, it reaches no output: not the landing page, not /metrics (both formats),
not a log record (captured as it is made, before the log handler's own masking)."""

from __future__ import annotations

import logging

import pytest

from tests.support.echoes import FORMS, json_escaped_all
from tests.support.exporter import API_KEY, SECRET, WITH_SECRET, Running, StartExporter
from tests.support.fake_binance import V1_PATH, V2_PATH, FakeBinance, Reply, error_body, rates_body

OPENMETRICS = "application/openmetrics-text;version=1.0.0"
MASK = "<redacted>"


def assert_no_form_of(secret: str, text: str) -> None:
    folded = text.lower()
    unrepred = folded.replace("\\\\", "\\")  # log lines show details as repr() does
    for name, form in FORMS.items():
        echo = form(secret).lower()
        assert echo not in folded, f"{name} form of a secret in the output"
        assert echo not in unrepred, f"{name} form of a secret in the output"


async def every_output(running: Running, caplog: pytest.LogCaptureFixture) -> str:
    outputs = [await running.scrape(), await running.scrape(Accept=OPENMETRICS)]
    outputs.append(await (await running.client.get("/")).text())
    outputs += [record.getMessage() for record in caplog.records]
    outputs.append(caplog.text)
    return "\n".join(outputs)


async def fail_once(running: Running, fake: FakeBinance, reply: Reply, path: str = V1_PATH) -> None:
    fake.enqueue(reply, path=path)
    for gate in running.exporter.gates:
        gate.next_allowed = 0.0
    running.exporter.scrapes.expire()
    await running.scrape()


def key_echoes() -> list[tuple[str, Reply]]:
    """Where an upstream can put the key, each in every form."""
    cases: list[tuple[str, Reply]] = []
    for name, form in FORMS.items():
        echo = form(API_KEY)
        cases += [
            (f"reason phrase, {name}", Reply(status=403, body=b"", reason=f"Forbidden {echo}")),
            (f"error msg, {name}", Reply(status=401, body=error_body(-2015, f"key {echo} bad"))),
            (f"error page, {name}", Reply(status=503, body=f"<pre>{echo}</pre>".encode())),
        ]
    cases.append(
        (
            "error msg, JSON-escaped in the JSON itself",
            Reply(
                status=401,
                body=b'{"code": -2015, "msg": "key ' + json_escaped_all(API_KEY).encode() + b'"}',
            ),
        )
    )
    return cases


KEY_ECHOES = key_echoes()


@pytest.mark.parametrize("case", [name for name, _ in KEY_ECHOES])
async def test_an_echoed_key_reaches_no_output(
    case: str, fake: FakeBinance, start_exporter: StartExporter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    running = await start_exporter("--log-level", "debug")
    await running.scrape()
    await fail_once(running, fake, dict(KEY_ECHOES)[case])
    assert not running.exporter.v1.snapshot.up
    # The landing page shows reason names and codes only; the error text is kept for the log.
    assert MASK in running.exporter.v1.snapshot.last_error, "the echo was met, and blanked"
    assert_no_form_of(API_KEY, await every_output(running, caplog))


@pytest.mark.parametrize("form", ["raw", "json-escaped", "mixed"])
async def test_a_key_echoed_as_an_asset_name_reaches_no_label(
    form: str, fake: FakeBinance, start_exporter: StartExporter, caplog: pytest.LogCaptureFixture
) -> None:
    echo = FORMS[form](API_KEY)  # as it is: its \\uXXXX are JSON's own
    body = rates_body({"BTC": "0.9500"})[:-1] + b', {"asset": "' + echo.encode()
    body += b'", "collateralRate": "0.5000"}]'
    running = await start_exporter()
    fake.enqueue(Reply(body=body))
    outputs = await every_output(running, caplog)
    assert f'asset="{MASK}"' in outputs
    assert_no_form_of(API_KEY, outputs)


def signed_line(form: str) -> Reply:
    """A proxy that quotes the signed request back, in its status line and its page."""

    def reason(path_qs: str) -> str:
        return f"Blocked {FORMS[form](path_qs)}"

    return Reply(status=403, body=b"", reason=reason)


@pytest.mark.parametrize("form", ["raw", "upper", "url-encoded", "json-escaped", "mixed"])
async def test_an_echoed_signed_request_line_reaches_no_output(
    form: str, fake: FakeBinance, start_exporter: StartExporter, caplog: pytest.LogCaptureFixture
) -> None:
    fake.api_secret = SECRET
    caplog.set_level(logging.DEBUG)
    running = await start_exporter("--log-level", "debug", env=WITH_SECRET)
    await running.scrape()
    await fail_once(running, fake, signed_line(form), path=V2_PATH)
    assert running.exporter.tiers is not None
    assert running.exporter.tiers.snapshot.last_reason is not None
    outputs = await every_output(running, caplog)
    signatures = [r.query["signature"] for r in fake.requests if r.path == V2_PATH]
    assert len(signatures) >= 2
    assert any("v2: upstream request failed" in r.getMessage() for r in caplog.records)
    for signature in signatures:
        assert_no_form_of(signature, outputs)
    assert_no_form_of(SECRET, outputs)
    assert_no_form_of(API_KEY, outputs)
