"""The settings as given, validated into one frozen Config."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType

from exporter.config.errors import ConfigError
from exporter.config.settings import Given, read_given, ways_to_set
from exporter.config.values import check_secret, read_secret_file


@dataclass(frozen=True)
class Config:
    listen_host: str | None
    listen_port: int
    api_base_urls: tuple[str, ...]
    api_key: str | None = field(repr=False)
    api_secret: str | None = field(repr=False)
    min_interval: float
    timeout: float
    max_stale: float
    max_response_bytes: int
    recv_window: int
    web_config_file: Path | None
    log_level: str
    log_format: str
    demo: bool
    demo_scenario: str
    exporter_metrics: bool
    accounts_file: Path | None
    account_product: str | None
    account_min_interval: float
    papi_base_urls: tuple[str, ...]
    dashboard_url: str | None
    check: bool
    # The flag (as spelled) or variable each setting came from, for the error lines of files
    # read later (the web config, the accounts file).
    sources: Mapping[str, str] = field(repr=False, compare=False)

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.api_key, self.api_secret) if s)


# Settings that do not land in the Config field of their own name, and the fields they make.
DERIVED = {
    "listen_address": ("listen_host", "listen_port"),
    "api_base_url": ("api_base_urls",),
    "papi_base_url": ("papi_base_urls",),
    "api_key": ("api_key",),
    "api_key_file": ("api_key",),
    "api_secret": ("api_secret",),
    "api_secret_file": ("api_secret",),
    "disable_exporter_metrics": ("exporter_metrics",),
}


def _credential(what: str, value: Given, file: Given) -> str | None:
    """A key or secret from its value or its file: flags before variables. Two sources at the
    same level are refused, never silently chosen."""
    given = [g for g in (value, file) if g.origin == "flag"]
    if not given:
        given = [g for g in (value, file) if g.origin == "environment"]
        if len(given) > 1:
            raise ConfigError(f"{given[0].source} and {given[1].source}: set only one")
    if len(given) > 1:
        raise ConfigError(f"{given[0].source} and {given[1].source}: give only one")
    if not given:
        return None
    chosen = given[0]
    text = chosen.texts[0]
    if chosen is file:
        text = read_secret_file(text, chosen.source)
    return check_secret(text, what, chosen.source)


def load_config(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> Config:
    """Parse flags and environment into a Config; raises ConfigError with a one-line message."""
    given = read_given(argv, os.environ if environ is None else environ)
    own = {f.name for f in fields(Config)}
    values = {name: g.value() for name, g in given.items() if name in own and name not in DERIVED}

    host, port = given["listen_address"].value()
    min_interval, max_stale = values["min_interval"], values["max_stale"]
    if max_stale < min_interval:
        raise ConfigError(
            f"{given['max_stale'].source}: {max_stale:g}s is shorter than --min-interval "
            f"({min_interval:g}s): the rates would vanish between two requests"
        )
    api_key = _credential("API key", given["api_key"], given["api_key_file"])
    api_secret = _credential("API secret", given["api_secret"], given["api_secret_file"])
    if api_key is None and not values["demo"]:
        raise ConfigError(
            f"an API key is required: set {ways_to_set('api_key_file', 'api_key')} "
            "(or run with --demo)"
        )
    product = given["account_product"]
    if product.origin != "unset" and api_secret is None and not values["demo"]:
        raise ConfigError(
            f"{product.source}: an account is read with signed requests: set the API secret "
            f"too ({ways_to_set('api_secret_file', 'api_secret')})"
        )

    return Config(
        **values,
        listen_host=host,
        listen_port=port,
        api_base_urls=given["api_base_url"].value(),
        papi_base_urls=given["papi_base_url"].value(),
        api_key=api_key,
        api_secret=api_secret,
        exporter_metrics=not given["disable_exporter_metrics"].value(),
        sources=MappingProxyType({name: g.source for name, g in given.items()}),
    )
