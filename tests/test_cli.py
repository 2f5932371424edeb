"""The exporter as a process: start-up, demo mode, signals, bad configuration, logs."""

from __future__ import annotations

import json
import signal
import socket
import urllib.request
from pathlib import Path

import pytest

from tests.support.process import exporter_process, free_port, run_exporter


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read().decode()


async def test_demo_mode_serves_realistic_data_and_stops_cleanly_on_sigterm() -> None:
    async with exporter_process(["--demo"]) as running:
        status, body = get(running.url + "/metrics")
        assert status == 200
        rates = [
            line for line in body.splitlines() if line.startswith("binance_pm_collateral_rate{")
        ]
        assert len(rates) >= 200
        assert 'binance_pm_collateral_rate{asset="USDT"}' in body
        assert 'binance_pm_collateral_rate{asset="1000SATS"}' in body
        assert 'binance_pm_collateral_rate{asset="币安人生"}' in body
        assert "binance_pm_up 1.0" in body
        code = await running.stop(signal.SIGTERM)
    assert code == 0
    assert "Traceback" not in running.stderr


async def test_sigint_exits_zero() -> None:
    async with exporter_process(["--demo"]) as running:
        code = await running.stop(signal.SIGINT)
    assert code == 0
    assert "Traceback" not in running.stderr


@pytest.mark.slow
async def test_landing_page_and_healthz() -> None:
    async with exporter_process(["--demo"]) as running:
        url = running.url
        get(url + "/metrics")
        status, page = get(url + "/")
        assert status == 200
        assert 'href="/metrics"' in page
        assert "Upstream status" in page
        assert ">up<" in page
        assert "Last success" in page
        assert get(url + "/healthz") == (200, "ok\n")


async def test_logs_state_changes_not_scrapes_in_json() -> None:
    async with exporter_process(["--demo", "--log-format", "json"]) as running:
        for _ in range(20):
            get(running.url + "/metrics")
        await running.stop()
    lines = [json.loads(line) for line in running.stderr.splitlines() if line.strip()]
    messages = [line["msg"] for line in lines]
    assert all({"time", "level", "logger", "msg"} <= set(line) for line in lines)
    assert any("listening on" in m for m in messages)
    firsts = [m.split(":")[0] for m in messages if "first upstream request succeeded" in m]
    # once per endpoint: the demo serves tiers and two accounts too
    assert sorted(firsts) == [
        "account[demo-pm-pro]",
        "balance[demo-pm-pro]",
        "index_price",
        "papi_account[demo-pm]",
        "papi_balance[demo-pm]",
        "v1",
        "v2",
    ]
    assert len(lines) <= 10, messages


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["--bogus"], {}, "unrecognized arguments: --bogus"),
        (["--demo", "--min-interval", "-5"], {}, "--min-interval"),
        (["--demo", "--timeout", "0"], {}, "--timeout"),
        (["--demo", "--max-stale", "soon"], {}, "--max-stale"),
        (["--demo"], {"BINANCE_PM_MIN_INTERVAL": "-1"}, "BINANCE_PM_MIN_INTERVAL"),
        (["--demo", "--listen-address", "nonsense"], {}, "--listen-address"),
        (["--demo", "--listen-address", ":99999"], {}, "--listen-address"),
        (["--demo", "--listen-address", "[zz]:80"], {}, "--listen-address"),
        (["--api-key", "k", "--api-base-url", "ftp://api.binance.com"], {}, "--api-base-url"),
        (["--api-key", "k", "--api-base-url", "https://"], {}, "--api-base-url"),
        (["--api-key-file", "/nonexistent/key"], {}, "--api-key-file"),
        (["--demo", "--api-secret-file", "/nonexistent/secret"], {}, "--api-secret-file"),
        ([], {}, "an API key is required"),
        (["--demo", "--log-level", "loud"], {}, "--log-level"),
        (["--demo", "--log-format", "xml"], {}, "--log-format"),
        (["--demo", "--web-config-file", "/nonexistent/web.yml"], {}, "--web-config-file"),
        ([], {"BINANCE_PM_DEMO": "maybe"}, "BINANCE_PM_DEMO"),
        (["--api-key", "k"], {"BINANCE_API_BASE_URL": " , "}, "BINANCE_API_BASE_URL"),
        (["--demo", "--min-interval", "60", "--max-stale", "30"], {}, "--max-stale"),
    ],
)
@pytest.mark.slow
def test_bad_configuration_exits_with_one_clear_line(
    args: list[str], env: dict[str, str], expected: str
) -> None:
    result = run_exporter(args, env)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert expected in lines[0]
    assert "Traceback" not in result.stderr


def test_bad_key_file_message_does_not_show_the_key(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("secret key with spaces\n")
    result = run_exporter(["--api-key-file", str(key_file)])
    assert result.returncode != 0
    assert "secret key" not in result.stderr
    assert "--api-key-file" in result.stderr


def test_port_in_use_is_one_clear_line() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_exporter(["--demo", "--listen-address", f"127.0.0.1:{port}"])
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if "cannot listen" in line]
    assert len(lines) == 1
    assert "Traceback" not in result.stderr


def test_environment_configures_and_flags_win(tmp_path: Path) -> None:
    port = free_port()
    env = {"BINANCE_PM_DEMO": "true", "BINANCE_PM_LISTEN_ADDRESS": f"127.0.0.1:{port}"}
    from exporter.config import load_config

    config = load_config([], env)
    assert config.demo
    assert (config.listen_host, config.listen_port) == ("127.0.0.1", port)
    config = load_config(["--listen-address", "[::1]:1234", "--min-interval", "5"], env)
    assert (config.listen_host, config.listen_port, config.min_interval) == ("::1", 1234, 5.0)
    key_file = tmp_path / "key"
    key_file.write_text("abc123\n")
    config = load_config([], {"BINANCE_API_KEY_FILE": str(key_file)})
    assert config.api_key == "abc123"
    assert "abc123" not in repr(config)
    config = load_config(
        [], {"BINANCE_API_KEY": "k", "BINANCE_API_BASE_URL": "http://a, http://b/"}
    )
    assert config.api_base_urls == ("http://a", "http://b")


def test_version_and_help_exit_zero() -> None:
    assert run_exporter(["--version"]).returncode == 0
    result = run_exporter(["--help"])
    assert result.returncode == 0
    for flag in ("--listen-address", "--api-key-file", "--min-interval", "--max-stale", "--demo"):
        assert flag in result.stdout


@pytest.mark.parametrize("level", ["info", "debug"])
async def test_malformed_request_logs_no_traceback_and_no_excerpt(level: str) -> None:
    marker = "Basic c2VjcmV0LXBhc3N3b3Jk"
    async with exporter_process(["--demo", "--log-level", level]) as running:
        with socket.create_connection(("127.0.0.1", running.port), timeout=5) as sock:
            sock.sendall(f"GET /metrics HTTP/1.1\r\nAuthorization {marker}\r\n\r\n".encode())
            answer = sock.recv(4096)
        assert answer.split(b"\r\n", 1)[0].endswith(b" 400 Bad Request")
        assert get(running.url + "/healthz")[0] == 200
        await running.stop()
    stderr = running.stderr
    assert "Traceback" not in stderr
    assert marker not in stderr
    assert ("malformed request refused" in stderr) == (level == "debug")
