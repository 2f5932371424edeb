"""/metrics over arbitrary Accept, Accept-Encoding, Authorization and
X-Prometheus-Scrape-Timeout-Seconds headers, sent byte for byte on a raw connection to the real
listener with basic auth configured: always 200 or 401, always an exposition that parses in the
format its Content-Type names on 200, and every per-request cache bounded."""

from __future__ import annotations

import asyncio
import base64
import gzip
from contextlib import AsyncExitStack
from pathlib import Path

import bcrypt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
from prometheus_client.parser import text_string_to_metric_families as parse_text

from exporter.web.basicauth import REFUSED_CACHE_SIZE, VERIFIED_CACHE_SIZE
from tests.support.exporter import Served, served
from tests.support.fake_binance import FakeBinance

PASSWORD = b"property-password"
HASH = bcrypt.hashpw(PASSWORD, bcrypt.gensalt(4)).decode()
GOOD_AUTH = "Basic " + base64.b64encode(b"alice:" + PASSWORD).decode()

# Header values as HTTP allows them (RFC 9110 field-value: visible ASCII, obs-text, space and
# tab); any other byte makes the HTTP parser answer 400 before the app (test_hostile_clients).
FIELD_VALUE_BYTES = bytes([0x09, *range(0x20, 0x7F), *range(0x80, 0x100)])
header_bytes = (
    st.lists(st.sampled_from(FIELD_VALUE_BYTES), max_size=200).map(bytes).map(bytes.strip)
)
MEDIA_TYPES = ("application/openmetrics-text", "text/plain", "*/*", "text/*", "application/json")
CODINGS = ("gzip", "x-gzip", "identity", "br", "*", "GZIP")
PARAMETERS = (
    "version=1.0.0",
    "version=0.0.1",
    "version=0.0.4",
    "version=2.0.0",
    "version=abc",
    "version=1.x",
    "version=1.0.0-rc1",
    "version=v1",
    "version=",
    "q=0",
    "q=0.000",
    "q=1",
    "q=0.5",
    "q=abc",
    "q=-1",
    "q=1e309",
    "escaping=allow-utf-8",
    "charset=utf-8",
    "",
)


def header_lists(items: tuple[str, ...]) -> st.SearchStrategy[str]:
    one = st.tuples(st.sampled_from(items), st.lists(st.sampled_from(PARAMETERS), max_size=3))
    return st.lists(one.map(lambda p: ";".join((p[0], *p[1]))), max_size=5).map(",".join)


accepts = st.one_of(header_lists(MEDIA_TYPES).map(str.encode), header_bytes)
accept_encodings = st.one_of(header_lists(CODINGS).map(str.encode), header_bytes)
authorizations = st.one_of(
    st.just(GOOD_AUTH.encode()),
    st.just(b"basic   " + GOOD_AUTH.split()[1].encode()),
    st.binary(max_size=80).map(lambda b: b"Basic " + base64.b64encode(b)),
    st.binary(max_size=60).map(lambda b: b"Basic " + base64.b64encode(b"alice:" + b)),
    header_bytes,
)
timeouts = st.one_of(
    st.sampled_from([b"10", b"0", b"-1", b"nan", b"inf", b"1e309", b"0.0001", b"", b"abc"]),
    st.floats().map(lambda f: repr(f).encode()),
    header_bytes,
)


async def raw_scrape(
    port: int, headers: dict[bytes, bytes | None]
) -> tuple[int, dict[str, str], bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        lines = [b"GET /metrics HTTP/1.1", b"Host: 127.0.0.1", b"Connection: close"]
        lines += [name + b": " + value for name, value in headers.items() if value is not None]
        writer.write(b"\r\n".join(lines) + b"\r\n\r\n")
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 30)
    finally:
        writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    response_headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        response_headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), response_headers, body


def check_answer(status: int, headers: dict[str, str], body: bytes, authorized: bool) -> None:
    assert status in (200, 401)
    if authorized:
        assert status == 200
    if status != 200:
        return
    if headers.get("content-encoding") == "gzip":
        body = gzip.decompress(body)
    text = body.decode("utf-8")
    content_type = headers["content-type"]
    if content_type.startswith("application/openmetrics-text; version=1.0.0"):
        assert text.endswith("# EOF\n")
        assert text.count("# EOF") == 1
        names = {family.name for family in parse_om(text)}  # type: ignore[no-untyped-call]
    else:
        assert content_type == "text/plain; version=0.0.4; charset=utf-8"
        names = {family.name for family in parse_text(text)}
    assert "binance_pm_up" in names
    assert "process_resident_memory_bytes" in names


@pytest.mark.slow
def test_metrics_answers_200_or_401_with_a_parseable_exposition(tmp_path: Path) -> None:
    web_config = tmp_path / "web.yml"
    web_config.write_text(f"basic_auth_users:\n  alice: {HASH}\n", encoding="utf-8")
    with asyncio.Runner() as runner:
        stack = AsyncExitStack()
        fake = FakeBinance()
        runner.run(fake.start())
        try:
            server: Served = runner.run(
                stack.enter_async_context(served(fake.url, web_config=web_config))
            )
            assert server.live is not None

            @settings(
                max_examples=400,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
            )
            @given(
                accept=st.none() | accepts,
                accept_encoding=st.none() | accept_encodings,
                authorization=authorizations,
                scrape_timeout=st.none() | timeouts,
            )
            def check(
                accept: bytes | None,
                accept_encoding: bytes | None,
                authorization: bytes,
                scrape_timeout: bytes | None,
            ) -> None:
                headers = {
                    b"Accept": accept,
                    b"Accept-Encoding": accept_encoding,
                    b"Authorization": authorization,
                    b"X-Prometheus-Scrape-Timeout-Seconds": scrape_timeout,
                }
                status, response_headers, body = runner.run(
                    raw_scrape(server.listener.port, headers)
                )
                parts = authorization.split()
                authorized = len(parts) == 2 and parts[0].lower() == b"basic"
                authorized = authorized and parts[1] == GOOD_AUTH.split()[1].encode()
                check_answer(status, response_headers, body, authorized)

            check()
            renderings, remembered = server.exporter.exposition.sizes()
            assert renderings <= 4
            assert remembered <= 64
            verified, refused = server.live.auth.sizes()
            assert verified <= VERIFIED_CACHE_SIZE
            assert refused <= REFUSED_CACHE_SIZE
        finally:
            runner.run(stack.aclose())
            runner.run(fake.stop())
