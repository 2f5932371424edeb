"""The one YAML reader of the files the exporter reads: whatever is wrong with a file, PyYAML's
construction errors included (a ValueError, not a YAMLError), is one line, at start (exit 2) and
at run time (one "not reloaded" line while the web config stays bad, no traceback)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from exporter.config import ConfigError, load_yaml_file
from exporter.config.yamlfile import MAX_FILE_BYTES
from tests.support.exporter import served
from tests.support.fake_binance import FakeBinance
from tests.support.process import run_exporter

PASSWORD = "hunter2-plaintext"
UNREADABLE = {
    "int-tag": "basic_auth_users:\n  alice: !!int x\n",
    "5000-digits": "basic_auth_users:\n  alice: " + "9" * 5000 + "\n",
    "bad-timestamp": "a: !!timestamp 2024-13-45\n",
    "float-tag": "a: !!float x\n",
    "int-key": "? !!int x\n: 1\n",
    "password-as-int": f"basic_auth_users:\n  alice: !!int {PASSWORD}\n",
    "python-tag": "a: !!python/object/apply:os.system [true]\n",
    "key-twice": "a: 1\na: 2\n",
    "truncated": "a: [1, 2\n",
    "deep": "[" * 5000 + "]" * 5000 + "\n",
    "not-utf8": "a: \xff\n",
}


def write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("latin-1") if "\xff" in text else text.encode())
    return path


@pytest.mark.slow
@pytest.mark.parametrize("body", list(UNREADABLE.values()), ids=list(UNREADABLE))
def test_anything_wrong_is_one_config_error_line(body: str, tmp_path: Path) -> None:
    path = write(tmp_path / "file.yml", body)
    with pytest.raises(ConfigError) as caught:
        load_yaml_file(path, "--some-file")
    message = str(caught.value)
    assert message.startswith(f"--some-file {str(path)!r}: ")
    assert "\n" not in message
    assert PASSWORD not in message


def test_the_place_of_an_unreadable_value_is_named(tmp_path: Path) -> None:
    path = write(tmp_path / "web.yml", "basic_auth_users:\n  alice: !!int x\n")
    with pytest.raises(ConfigError, match=r"at line 2, column 10: the value cannot be read as int"):
        load_yaml_file(path, "--web-config-file")


def test_a_good_file_and_the_limits(tmp_path: Path) -> None:
    path = write(tmp_path / "ok.yml", "- name: a\n  n: 3\n- {name: b}\n")
    assert load_yaml_file(path, "--x") == [{"name": "a", "n": 3}, {"name": "b"}]
    big = write(tmp_path / "big.yml", "#" * (MAX_FILE_BYTES + 1))
    with pytest.raises(ConfigError, match="larger than"):
        load_yaml_file(big, "--x")
    with pytest.raises(ConfigError, match="cannot read it"):
        load_yaml_file(tmp_path / "missing.yml", "--x")


@pytest.mark.parametrize("name", ["int-tag", "5000-digits", "bad-timestamp", "password-as-int"])
def test_an_unreadable_web_config_exits_2_with_one_line(name: str, tmp_path: Path) -> None:
    path = write(tmp_path / "web.yml", UNREADABLE[name])
    result = run_exporter(["--demo", "--web.config.file", str(path)])
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"binance-pm-exporter: --web.config.file {str(path)!r}: ")
    assert PASSWORD not in result.stderr


@pytest.mark.parametrize("name", ["int-tag", "5000-digits"])
async def test_a_web_config_made_unreadable_at_run_time_is_one_line(
    name: str, fake: FakeBinance, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(tmp_path / "web.yml", "basic_auth_users: {}\n")
    caplog.set_level(logging.INFO, logger="exporter.web")
    async with served(fake.url, web_config=path, poll_seconds=0.02) as server:
        assert server.live is not None
        write(path, UNREADABLE[name])
        await asyncio.sleep(0.5)  # 25 polls of the file
        refused = [r for r in caplog.records if "not reloaded" in r.getMessage()]
        assert len(refused) == 1, caplog.text
        assert all(r.exc_info is None for r in caplog.records)
        assert "Traceback" not in caplog.text
        write(path, "http_server_config:\n  headers:\n    X-Frame-Options: deny\n")
        for _ in range(100):
            if "web config reloaded" in caplog.text:
                break
            await asyncio.sleep(0.02)
        assert "web config reloaded" in caplog.text
        assert server.live.current.headers == {"X-Frame-Options": "deny"}


@pytest.mark.parametrize("name", ["int-tag", "5000-digits", "key-twice"])
def test_an_unreadable_accounts_file_exits_2_with_one_line(name: str, tmp_path: Path) -> None:
    path = write(tmp_path / "accounts.yml", UNREADABLE[name])
    result = run_exporter(["--api-key", "k", "--accounts-file", str(path)])
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"binance-pm-exporter: --accounts-file {str(path)!r}: ")
