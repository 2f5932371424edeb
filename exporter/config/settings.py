"""Every setting of the exporter, declared once: its name, flag (and Prometheus-style alias),
environment variable, type, default, help, and whether it is secret. The command-line parser,
the reading of the environment, `--help`, the documentation test and the container health check
all come from SETTINGS; adding a setting is adding a row (and its Config field)."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NoReturn

from exporter import __version__
from exporter.config.errors import ConfigError
from exporter.config.values import (
    one_of,
    parse_base_url,
    parse_bool,
    parse_link_url,
    parse_listen_address,
    readable_file,
    seconds,
    text,
    whole_number,
)

DEFAULT_PORT = 10471
DEFAULT_BASE_URL = "https://api.binance.com"
DEFAULT_PAPI_BASE_URL = "https://papi.binance.com"
DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024
LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("text", "json")
ACCOUNT_PRODUCTS = ("pm_pro", "pm")
# The scenarios of exporter/fakebinance/scenarios.py (the config imports nothing of it).
DEMO_SCENARIOS = ("steady", "mass-cut", "delisting", "outage", "ban", "account-near-liquidation")
PROG = "binance-pm-exporter"


@dataclass(frozen=True)
class Setting:
    """One setting. `parse` turns its text (given, or the default) into the typed value; a
    setting without `metavar` is a switch (present or not); a `repeatable` one collects every
    flag given, or the comma-separated list of its variable."""

    name: str
    flag: str | None  # None: environment only
    env: str | None  # None: command line only
    help: str
    parse: Callable[[str, str], Any] = text
    metavar: str | None = None
    default: str | None = None
    alias: str | None = None  # Prometheus' spelling, which the docs lead with
    secret: bool = False  # the value, or what the file it names holds, is never shown
    repeatable: bool = False

    @property
    def spellings(self) -> tuple[str, ...]:
        """Its flags, Prometheus' spelling first."""
        return tuple(flag for flag in (self.alias, self.flag) if flag is not None)

    @property
    def source(self) -> str:
        """How an error line names it when neither a flag nor its variable set it."""
        return self.flag or self.alias or self.env or self.name


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "listen_address",
        "--listen-address",
        "BINANCE_PM_LISTEN_ADDRESS",
        "where to serve; ':PORT' for all interfaces, '[::1]:PORT' for IPv6",
        parse_listen_address,
        metavar="HOST:PORT",
        default=f":{DEFAULT_PORT}",
        alias="--web.listen-address",
    ),
    Setting(
        "api_base_url",
        "--api-base-url",
        "BINANCE_API_BASE_URL",
        "Binance API base URL, http(s) only; repeat for failover across hosts",
        parse_base_url,
        metavar="URL",
        default=DEFAULT_BASE_URL,
        repeatable=True,
    ),
    Setting(
        "api_key",
        "--api-key",
        "BINANCE_API_KEY",
        "API key, sent as X-MBX-APIKEY",
        metavar="KEY",
        secret=True,
    ),
    Setting(
        "api_key_file",
        "--api-key-file",
        "BINANCE_API_KEY_FILE",
        "read the API key from a file, trailing newline stripped",
        metavar="PATH",
        secret=True,
    ),
    Setting(
        "api_secret_file",
        "--api-secret-file",
        "BINANCE_API_SECRET_FILE",
        "read the API secret from a file; enables the signed v2 tiered rates and the accounts",
        metavar="PATH",
        secret=True,
    ),
    Setting(
        "api_secret",
        None,
        "BINANCE_API_SECRET",
        "the API secret itself (never taken on the command line)",
        metavar="SECRET",
        secret=True,
    ),
    Setting(
        "min_interval",
        "--min-interval",
        "BINANCE_PM_MIN_INTERVAL",
        "at most one upstream request per endpoint per this many seconds",
        seconds(allow_zero=True),
        metavar="SECONDS",
        default="30",
    ),
    Setting(
        "timeout",
        "--timeout",
        "BINANCE_PM_TIMEOUT",
        "upstream request timeout; a scrape also waits no longer than its own deadline",
        seconds(allow_zero=False),
        metavar="SECONDS",
        default="10",
    ),
    Setting(
        "max_stale",
        "--max-stale",
        "BINANCE_PM_MAX_STALE",
        "keep exporting the last good rates this long after the last success",
        seconds(allow_zero=True),
        metavar="SECONDS",
        default="300",
    ),
    Setting(
        "max_response_bytes",
        "--max-response-bytes",
        "BINANCE_PM_MAX_RESPONSE_BYTES",
        "largest upstream response body accepted",
        whole_number(1024, 1024**3),
        metavar="BYTES",
        default=str(DEFAULT_MAX_RESPONSE_BYTES),
    ),
    Setting(
        "recv_window",
        "--recv-window",
        "BINANCE_PM_RECV_WINDOW",
        "recvWindow of signed requests, 1..60000 ms",
        whole_number(1, 60000),
        metavar="MS",
        default="5000",
    ),
    Setting(
        "web_config_file",
        "--web-config-file",
        "BINANCE_PM_WEB_CONFIG_FILE",
        "TLS and basic auth, exporter-toolkit format; re-read when it changes and on SIGHUP",
        readable_file,
        metavar="PATH",
        alias="--web.config.file",
    ),
    Setting(
        "disable_exporter_metrics",
        "--disable-exporter-metrics",
        "BINANCE_PM_DISABLE_EXPORTER_METRICS",
        "leave out the process_* and python_info metrics about the exporter's own process",
        parse_bool,
        default="false",
        alias="--web.disable-exporter-metrics",
    ),
    Setting(
        "log_level",
        "--log-level",
        "BINANCE_PM_LOG_LEVEL",
        "|".join(LOG_LEVELS),
        one_of(*LOG_LEVELS),
        metavar="LEVEL",
        default="info",
        alias="--log.level",
    ),
    Setting(
        "log_format",
        "--log-format",
        "BINANCE_PM_LOG_FORMAT",
        "|".join(LOG_FORMATS),
        one_of(*LOG_FORMATS),
        metavar="FORMAT",
        default="text",
        alias="--log.format",
    ),
    Setting(
        "demo",
        "--demo",
        "BINANCE_PM_DEMO",
        "serve from a built-in simulated upstream: no key, no network",
        parse_bool,
        default="false",
    ),
    Setting(
        "demo_scenario",
        "--demo-scenario",
        "BINANCE_PM_DEMO_SCENARIO",
        "what the demo's simulated Binance does over time: " + "|".join(DEMO_SCENARIOS),
        one_of(*DEMO_SCENARIOS),
        metavar="NAME",
        default="steady",
    ),
    Setting(
        "accounts_file",
        "--accounts-file",
        "BINANCE_PM_ACCOUNTS_FILE",
        "Portfolio Margin accounts to watch (YAML list of name, product, api_key_file, "
        "api_secret_file)",
        readable_file,
        metavar="PATH",
    ),
    Setting(
        "account_product",
        "--account-product",
        "BINANCE_PM_ACCOUNT_PRODUCT",
        "watch the one account of the API key and secret, named 'default'",
        one_of(*ACCOUNT_PRODUCTS),
        metavar="|".join(ACCOUNT_PRODUCTS),
    ),
    Setting(
        "account_min_interval",
        "--account-min-interval",
        "BINANCE_PM_ACCOUNT_MIN_INTERVAL",
        "at most one account or balance request per account per this many seconds",
        seconds(allow_zero=True),
        metavar="SECONDS",
        default="30",
    ),
    Setting(
        "papi_base_url",
        "--papi-base-url",
        "BINANCE_PAPI_BASE_URL",
        "Binance Portfolio Margin API base URL for 'pm' accounts; repeat for failover",
        parse_base_url,
        metavar="URL",
        default=DEFAULT_PAPI_BASE_URL,
        repeatable=True,
    ),
    Setting(
        "dashboard_url",
        "--dashboard-url",
        "BINANCE_PM_DASHBOARD_URL",
        "where the landing page links the Grafana dashboard (default: the dashboard's docs)",
        parse_link_url,
        metavar="URL",
    ),
    Setting(
        "check",
        "--check",
        None,
        "send one request to each configured endpoint, print one line for each (works, or "
        "why not and what to do), and exit: 0 when all work, else 1",
        parse_bool,
        default="false",
    ),
)

BY_NAME: Mapping[str, Setting] = {setting.name: setting for setting in SETTINGS}


def ways_to_set(*names: str) -> str:
    """The flags and variables of these settings, for an error line: "--a, A or --b"."""
    ways = [way for name in names for way in (*BY_NAME[name].spellings, BY_NAME[name].env) if way]
    return ", ".join(ways[:-1]) + f" or {ways[-1]}" if len(ways) > 1 else "".join(ways)


Origin = Literal["flag", "environment", "default", "unset"]


@dataclass(frozen=True)
class Given:
    """A setting's text as given, before its type is checked: one text (several for a
    repeatable setting), and the flag or variable it came from, for error lines."""

    setting: Setting
    texts: tuple[str, ...]
    source: str
    origin: Origin

    @property
    def text(self) -> str:
        """The (first) text given; "" when unset."""
        return self.texts[0] if self.texts else ""

    def value(self) -> Any:
        """The typed value: None when unset, a tuple for a repeatable setting."""
        if self.origin == "unset":
            return None
        parsed = tuple(self.setting.parse(item, self.source) for item in self.texts)
        return parsed if self.setting.repeatable else parsed[0]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise ConfigError(message)


class _Record(argparse.Action):
    """Keeps the text and the spelling used (the alias or the flag), for error lines."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        given = (values if isinstance(values, str) else "1", option_string or self.dest)
        if BY_NAME[self.dest].repeatable:
            setattr(namespace, self.dest, [*(getattr(namespace, self.dest) or []), given])
        else:
            setattr(namespace, self.dest, given)


def help_line(setting: Setting) -> str:
    where = setting.env or "no variable"
    if setting.repeatable and setting.env:
        where += ", comma-separated"
    shown = setting.default is not None and setting.metavar is not None
    default = f" (default {setting.default})" if shown else ""
    return f"{setting.help} [{where}]{default}"


def build_parser() -> argparse.ArgumentParser:
    env_only = [s for s in SETTINGS if s.flag is None and s.alias is None and s.env]
    parser = _Parser(
        prog=PROG,
        # A prefix such as --api-secret must not silently mean --api-secret-file.
        allow_abbrev=False,
        description="Prometheus exporter for Binance Portfolio Margin collateral rates. "
        "Every flag can also be set by the environment variable named in its help; flags win.",
        epilog="Set by the environment only: " + "; ".join(f"{s.env}: {s.help}" for s in env_only),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    for setting in SETTINGS:
        if not setting.spellings:
            continue
        parser.add_argument(
            *setting.spellings,
            dest=setting.name,
            action=_Record,
            nargs=None if setting.metavar else 0,
            metavar=setting.metavar,
            help=help_line(setting),
        )
    return parser


def refuse_secret_on_command_line(argv: Sequence[str]) -> None:
    """A secret given as an argument is visible to every user of the host (ps, /proc): refuse
    it without echoing it, as argparse would ("unrecognized arguments: ...")."""
    for setting in SETTINGS:
        if not setting.secret or setting.spellings or setting.env is None:
            continue
        refused = "--" + setting.name.replace("_", "-")
        instead = [
            name
            for other in SETTINGS
            if other.name == f"{setting.name}_file"
            for name in (*other.spellings, other.env)
            if name
        ]
        for arg in argv:
            if arg == "--":
                break
            if arg == refused or arg.startswith(refused + "="):
                raise ConfigError(
                    f"{refused}: this secret is not taken on the command line (other users of "
                    f"the host can read it there); use {', '.join(instead)} or {setting.env}"
                )


def unrecognized_arguments(extra: Sequence[str]) -> str:
    """argparse would echo every extra argument: the value of a mistyped secret flag too.
    Only flag names are shown."""
    flags = [arg.split("=", 1)[0] for arg in extra if arg.startswith("-")]
    values = len(extra) - len(flags) + sum(1 for arg in extra if arg.startswith("-") and "=" in arg)
    shown = flags + ([f"{values} value{'s' if values > 1 else ''} (not shown)"] if values else [])
    return f"unrecognized arguments: {', '.join(shown)}"


def _given(setting: Setting, flagged: Any, env: Mapping[str, str]) -> Given:
    """Flags win over the variable, the variable over the default."""
    if flagged:
        pairs = flagged if setting.repeatable else [flagged]
        return Given(setting, tuple(t for t, _ in pairs), pairs[0][1], "flag")
    if setting.env is not None and setting.env in env:
        raw = env[setting.env]
        if not setting.repeatable:
            return Given(setting, (raw,), setting.env, "environment")
        if raw.strip():
            items = tuple(item for item in raw.split(",") if item.strip())
            if not items:
                raise ConfigError(f"{setting.env}: nothing in it but commas and blanks")
            return Given(setting, items, setting.env, "environment")
    if setting.default is not None:
        return Given(setting, (setting.default,), setting.source, "default")
    return Given(setting, (), setting.source, "unset")


def read_given(
    argv: Sequence[str], env: Mapping[str, str], *, ignore_unknown: bool = False
) -> dict[str, Given]:
    """Every setting as given on the command line and in the environment, before its type is
    checked. Unknown arguments are a ConfigError unless `ignore_unknown` (the health check
    reads the exporter's command line, which may come from a newer or older version)."""
    if not ignore_unknown:
        refuse_secret_on_command_line(argv)
    flags, unknown = build_parser().parse_known_args(list(argv))
    if unknown and not ignore_unknown:
        raise ConfigError(unrecognized_arguments(unknown))
    return {s.name: _given(s, getattr(flags, s.name, None), env) for s in SETTINGS}
