"""Command-line flags and environment variables, declared once in `settings.SETTINGS`, validated
into one frozen Config (`load_config`); bad configuration is one ConfigError line."""

from exporter.config.errors import ConfigError
from exporter.config.load import Config, load_config
from exporter.config.settings import (
    DEFAULT_BASE_URL,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_PAPI_BASE_URL,
    DEFAULT_PORT,
    SETTINGS,
    Setting,
    build_parser,
    read_given,
)
from exporter.config.values import parse_listen_address
from exporter.config.yamlfile import load_yaml_file

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_PAPI_BASE_URL",
    "DEFAULT_PORT",
    "SETTINGS",
    "Config",
    "ConfigError",
    "Setting",
    "build_parser",
    "load_config",
    "load_yaml_file",
    "parse_listen_address",
    "read_given",
]
