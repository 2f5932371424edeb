"""The container health check agrees with the server: it finds the address under either
spelling of the flag, and judges TLS and basic auth by what the running exporter serves, not by
re-reading a web config file that may have changed (or broken) since the exporter took it."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import bcrypt
import pytest

from exporter.web.healthcheck import main as healthcheck
from tests.support.exporter import served
from tests.support.fake_binance import FakeBinance
from tests.support.pki import Pki, make_pki

CONSOLE_SCRIPT = ("/opt/exporter/bin/python", "/opt/exporter/bin/binance-pm-exporter")


def command_line(path: Path, *argv: str) -> Path:
    """A stand-in for /proc/1/cmdline: NUL-terminated arguments."""
    path.write_bytes(b"".join(arg.encode() + b"\0" for arg in argv))
    return path


def tls_and_auth(pki: Pki) -> str:
    hashed = bcrypt.hashpw(b"pw", bcrypt.gensalt(4)).decode()
    return (
        f"tls_server_config:\n  cert_file: {pki.cert_file}\n  key_file: {pki.key_file}\n"
        f"basic_auth_users:\n  alice: {hashed}\n"
    )


async def check(argv: Path, env: dict[str, str] | None = None) -> int:
    return await asyncio.to_thread(healthcheck, [], env or {}, argv)


async def test_prometheus_spellings_of_the_address_and_web_config_flags(
    fake: FakeBinance, tmp_path: Path
) -> None:
    web_config = tmp_path / "web.yml"
    web_config.write_text(tls_and_auth(make_pki(tmp_path / "pki")), encoding="utf-8")
    async with served(fake.url, web_config=web_config) as server:
        live = f"127.0.0.1:{server.listener.port}"
        wrong = {"BINANCE_PM_LISTEN_ADDRESS": "127.0.0.1:1"}
        spelled = [
            ("--web.listen-address", live, "--web.config.file", str(web_config)),
            (f"--web.listen-address={live}", f"--web.config.file={web_config}"),
            ("--listen-address", live, "--web-config-file", str(web_config)),
            ("--log.level", "debug", "--web.listen-address", live, "--demo"),
        ]
        for i, argv in enumerate(spelled):
            assert await check(command_line(tmp_path / f"c{i}", *CONSOLE_SCRIPT, *argv), wrong) == 0


@pytest.mark.parametrize(
    "replacement",
    [
        "",
        "# nothing\n",
        "tls_server_config:\n  cert_file: !!int x\n",
        "basic_auth_users:\n  alice: " + "9" * 5000 + "\n",
        "tls_server_config: [unclosed\n",
    ],
    ids=["emptied", "comment", "int-tag", "5000-digits", "truncated"],
)
async def test_a_web_config_changed_while_running_does_not_mislead_the_check(
    fake: FakeBinance, tmp_path: Path, caplog: pytest.LogCaptureFixture, replacement: str
) -> None:
    """The exporter keeps its TLS and basic auth when the file is emptied or broken; the check,
    pointed at the same file by flag and by variable, still finds it healthy."""
    web_config = tmp_path / "web.yml"
    web_config.write_text(tls_and_auth(make_pki(tmp_path / "pki")), encoding="utf-8")
    caplog.set_level(logging.ERROR, logger="exporter.web.guard")
    async with served(fake.url, web_config=web_config) as server:
        live = f"127.0.0.1:{server.listener.port}"
        by_flag = command_line(
            tmp_path / "flag",
            *CONSOLE_SCRIPT,
            "--listen-address",
            live,
            "--web-config-file",
            str(web_config),
        )
        by_variable = command_line(tmp_path / "variable", *CONSOLE_SCRIPT, "--listen-address", live)
        env = {"BINANCE_PM_WEB_CONFIG_FILE": str(web_config)}
        web_config.write_text(replacement, encoding="utf-8")
        for _ in range(200):
            if "web config not reloaded" in caplog.text:
                break
            await asyncio.sleep(0.02)
        assert "web config not reloaded" in caplog.text
        assert server.listener.tls
        assert await check(by_flag) == 0
        assert await check(by_variable, env) == 0
    # The same port, now closed: unhealthy, whatever the file says.
    assert await check(by_flag) == 1
