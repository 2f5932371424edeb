"""The settings table: every flag, alias and variable comes from it, and each setting reads the
same whichever way it is given."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from exporter.config import SETTINGS, Config, ConfigError, build_parser, load_config
from exporter.config.load import DERIVED
from tests.support.process import run_exporter

KEY = ["--api-key", "k"]
PROMETHEUS_ALIASES = {
    "--web.listen-address": "--listen-address",
    "--web.config.file": "--web-config-file",
    "--web.disable-exporter-metrics": "--disable-exporter-metrics",
    "--log.level": "--log-level",
    "--log.format": "--log-format",
}


def test_the_aliases_are_prometheus_spellings_of_the_flags() -> None:
    aliases = {s.alias: s.flag for s in SETTINGS if s.alias is not None}
    assert aliases == PROMETHEUS_ALIASES


def test_every_setting_lands_in_the_config() -> None:
    """Adding a setting is a row: its value reaches a Config field of its name, or one of the
    few fields made from several settings."""
    fields = {f.name for f in dataclasses.fields(Config)}
    names = [s.name for s in SETTINGS]
    assert len(names) == len(set(names))
    assert [n for n in names if n not in fields and n not in DERIVED] == []
    made = {field for made in DERIVED.values() for field in made}
    assert fields - set(names) - {"sources"} <= made


@pytest.mark.parametrize(("alias", "flag"), sorted(PROMETHEUS_ALIASES.items()))
def test_an_alias_means_what_its_flag_means(alias: str, flag: str, tmp_path: Path) -> None:
    values = {
        "--listen-address": ["[::1]:9100"],
        "--web-config-file": [str(tmp_path / "web.yml")],
        "--disable-exporter-metrics": [],
        "--log-level": ["debug"],
        "--log-format": ["json"],
    }
    (tmp_path / "web.yml").write_text("{}\n")
    default = load_config(KEY, {})
    by_flag = load_config([*KEY, flag, *values[flag]], {})
    by_alias = load_config([*KEY, alias, *values[flag]], {})
    assert by_alias == by_flag != default
    if values[flag]:
        assert load_config([*KEY, f"{alias}={values[flag][0]}"], {}) == by_flag


@pytest.mark.parametrize(
    ("args", "first_word"),
    [
        (["--web.listen-address", "nonsense"], "--web.listen-address:"),
        (["--listen-address", "nonsense"], "--listen-address:"),
        (["--log.level", "loud"], "--log.level:"),
        (["--log.format", "xml"], "--log.format:"),
        (["--web.config.file", "/nonexistent/web.yml"], "--web.config.file:"),
    ],
)
def test_an_error_names_the_spelling_given(args: list[str], first_word: str) -> None:
    result = run_exporter(["--demo", *args])
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"binance-pm-exporter: {first_word}")


def test_account_settings_have_the_designed_defaults() -> None:
    config = load_config(KEY, {})
    assert config.accounts_file is None
    assert config.account_product is None
    assert config.account_min_interval == 30.0
    assert config.papi_base_urls == ("https://papi.binance.com",)


def test_account_settings_from_flags_and_variables(tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.yml"
    accounts.write_text("[]\n")
    config = load_config(
        [
            *KEY,
            "--accounts-file",
            str(accounts),
            "--account-product",
            "PM",
            "--account-min-interval",
            "7.5",
            "--papi-base-url",
            "https://papi.example/",
            "--papi-base-url",
            "http://127.0.0.1:1",
        ],
        {"BINANCE_API_SECRET": "s"},
    )
    assert config.accounts_file == accounts
    assert config.account_product == "pm"
    assert config.account_min_interval == 7.5
    assert config.papi_base_urls == ("https://papi.example", "http://127.0.0.1:1")
    env = {
        "BINANCE_API_SECRET": "s",
        "BINANCE_PM_ACCOUNTS_FILE": str(accounts),
        "BINANCE_PM_ACCOUNT_PRODUCT": "pm_pro",
        "BINANCE_PM_ACCOUNT_MIN_INTERVAL": "60",
        "BINANCE_PAPI_BASE_URL": "https://a.example, https://b.example",
    }
    config = load_config(KEY, env)
    assert (config.accounts_file, config.account_product) == (accounts, "pm_pro")
    assert config.account_min_interval == 60.0
    assert config.papi_base_urls == ("https://a.example", "https://b.example")
    # Flags win over the variables.
    config = load_config([*KEY, "--account-product", "pm"], env)
    assert config.account_product == "pm"


@pytest.mark.parametrize(
    ("args", "env", "source"),
    [
        (["--accounts-file", "/nonexistent/accounts.yml"], {}, "--accounts-file"),
        ([], {"BINANCE_PM_ACCOUNTS_FILE": "/nonexistent"}, "BINANCE_PM_ACCOUNTS_FILE"),
        (["--account-product", "futures"], {"BINANCE_API_SECRET": "s"}, "--account-product"),
        (["--account-product", "pm"], {}, "--account-product"),
        (["--account-min-interval", "-1"], {}, "--account-min-interval"),
        (["--papi-base-url", "ftp://papi.binance.com"], {}, "--papi-base-url"),
        ([], {"BINANCE_PAPI_BASE_URL": " , "}, "BINANCE_PAPI_BASE_URL"),
    ],
)
def test_bad_account_settings_are_one_line(
    args: list[str], env: dict[str, str], source: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config([*KEY, *args], env)
    assert str(caught.value).startswith(f"{source}:")
    assert "\n" not in str(caught.value)


def test_help_shows_each_setting_with_its_variable_and_default() -> None:
    help_text = " ".join(build_parser().format_help().split())
    for setting in SETTINGS:
        for spelling in setting.spellings:
            assert spelling in help_text
        if setting.env is not None:
            assert setting.env in help_text
        if setting.default is not None and setting.metavar is not None:
            assert f"(default {setting.default})" in help_text


def test_secret_settings_have_no_default_and_never_show_in_the_config() -> None:
    secrets = [s for s in SETTINGS if s.secret]
    assert {s.name for s in secrets} == {"api_key", "api_key_file", "api_secret", "api_secret_file"}
    assert all(s.default is None for s in secrets)
    config = load_config(["--api-key", "KEY-1234567890"], {"BINANCE_API_SECRET": "SECRET-0987"})
    assert "KEY-1234567890" not in repr(config)
    assert "SECRET-0987" not in repr(config)
