"""Command-line flags and environment variables, validated into one frozen Config."""

from __future__ import annotations

import argparse
import ipaddress
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

from exporter import __version__

DEFAULT_PORT = 10471
DEFAULT_BASE_URL = "https://api.binance.com"
DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024
LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("text", "json")
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", ""})
KEY_PATTERN = re.compile(r"[\x21-\x7e]+")


class ConfigError(Exception):
    """Bad configuration: the message is the one line shown to the operator."""


@dataclass(frozen=True)
class Config:
    listen_host: str | None
    listen_port: int
    api_base_urls: tuple[str, ...] = (DEFAULT_BASE_URL,)
    api_key: str | None = field(default=None, repr=False)
    api_secret: str | None = field(default=None, repr=False)
    min_interval: float = 30.0
    timeout: float = 10.0
    max_stale: float = 300.0
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    recv_window: int = 5000
    web_config_file: Path | None = None
    log_level: str = "info"
    log_format: str = "text"
    demo: bool = False
    exporter_metrics: bool = True
    accounts_file: Path | None = None
    account_product: str | None = None
    account_min_interval: float = 30.0
    papi_base_urls: tuple[str, ...] = ("https://papi.binance.com",)

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.api_key, self.api_secret) if s)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise ConfigError(message)


def _parser() -> _Parser:
    p = _Parser(
        prog="binance-pm-exporter",
        # A prefix such as --api-secret must not silently mean --api-secret-file.
        allow_abbrev=False,
        description="Prometheus exporter for Binance Portfolio Margin collateral rates. "
        "Every flag can also be set by the environment variable named in its help; flags win.",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    p.add_argument(
        "--listen-address",
        metavar="HOST:PORT",
        help=f"where to serve; ':PORT' for all interfaces [BINANCE_PM_LISTEN_ADDRESS] "
        f"(default :{DEFAULT_PORT})",
    )
    p.add_argument(
        "--api-base-url",
        metavar="URL",
        action="append",
        help="Binance API base URL, http(s) only; repeat for failover across hosts "
        f"[BINANCE_API_BASE_URL, comma-separated] (default {DEFAULT_BASE_URL})",
    )
    p.add_argument(
        "--api-key", metavar="KEY", help="API key, sent as X-MBX-APIKEY [BINANCE_API_KEY]"
    )
    p.add_argument(
        "--api-key-file",
        metavar="PATH",
        help="read the API key from a file, trailing newline stripped [BINANCE_API_KEY_FILE]",
    )
    p.add_argument(
        "--api-secret-file",
        metavar="PATH",
        help="read the API secret from a file; enables the signed v2 tiered rates "
        "[BINANCE_API_SECRET_FILE; or the secret itself in BINANCE_API_SECRET]",
    )
    p.add_argument(
        "--min-interval",
        metavar="SECONDS",
        help="at most one upstream request per endpoint per this many seconds "
        "[BINANCE_PM_MIN_INTERVAL] (default 30)",
    )
    p.add_argument(
        "--timeout",
        metavar="SECONDS",
        help="upstream request timeout; a scrape also waits no longer than its own deadline "
        "[BINANCE_PM_TIMEOUT] (default 10)",
    )
    p.add_argument(
        "--max-stale",
        metavar="SECONDS",
        help="keep exporting the last good rates this long after the last success "
        "[BINANCE_PM_MAX_STALE] (default 300)",
    )
    p.add_argument(
        "--max-response-bytes",
        metavar="BYTES",
        help="largest upstream response body accepted [BINANCE_PM_MAX_RESPONSE_BYTES] "
        f"(default {DEFAULT_MAX_RESPONSE_BYTES})",
    )
    p.add_argument(
        "--recv-window",
        metavar="MS",
        help="recvWindow of signed requests, 1..60000 ms [BINANCE_PM_RECV_WINDOW] (default 5000)",
    )
    p.add_argument(
        "--web-config-file",
        metavar="PATH",
        help="TLS and basic auth, exporter-toolkit format; re-read when it changes and on "
        "SIGHUP [BINANCE_PM_WEB_CONFIG_FILE]",
    )
    p.add_argument(
        "--log-level", metavar="LEVEL", help="debug|info|warning|error [BINANCE_PM_LOG_LEVEL]"
    )
    p.add_argument("--log-format", metavar="FORMAT", help="text|json [BINANCE_PM_LOG_FORMAT]")
    p.add_argument(
        "--demo",
        action="store_const",
        const="1",
        help="serve from a built-in simulated upstream: no key, no network [BINANCE_PM_DEMO]",
    )
    p.add_argument(
        "--disable-exporter-metrics",
        action="store_const",
        const="1",
        help="leave out the process_* and python_info metrics about the exporter's own process "
        "[BINANCE_PM_DISABLE_EXPORTER_METRICS]",
    )
    return p


@dataclass(frozen=True)
class ServingSettings:
    """Where the exporter serves, read the way the exporter reads it, without validating the
    rest of its configuration: what the container health check needs."""

    listen_address: str
    web_config_file: str
    web_config_source: str  # the flag or variable it came from, for error messages


def serving_settings(argv: Sequence[str], env: Mapping[str, str]) -> ServingSettings:
    flags, _ = _parser().parse_known_args(list(argv))
    address, _ = _pick(flags.listen_address, env, "listen-address", f":{DEFAULT_PORT}")
    web_config, source = _pick(flags.web_config_file, env, "web-config-file", "")
    return ServingSettings(address, web_config, source)


def _pick(flag: str | None, env: Mapping[str, str], name: str, default: str) -> tuple[str, str]:
    """The value and where it came from (for error messages); flags win over the environment."""
    if flag is not None:
        return flag, "--" + name
    env_name = ENV_NAMES[name]
    if env_name in env:
        return env[env_name], env_name
    return default, "--" + name


ENV_NAMES = {
    "listen-address": "BINANCE_PM_LISTEN_ADDRESS",
    "api-base-url": "BINANCE_API_BASE_URL",
    "api-key": "BINANCE_API_KEY",
    "api-key-file": "BINANCE_API_KEY_FILE",
    "api-secret-file": "BINANCE_API_SECRET_FILE",
    "min-interval": "BINANCE_PM_MIN_INTERVAL",
    "timeout": "BINANCE_PM_TIMEOUT",
    "max-stale": "BINANCE_PM_MAX_STALE",
    "max-response-bytes": "BINANCE_PM_MAX_RESPONSE_BYTES",
    "recv-window": "BINANCE_PM_RECV_WINDOW",
    "web-config-file": "BINANCE_PM_WEB_CONFIG_FILE",
    "log-level": "BINANCE_PM_LOG_LEVEL",
    "log-format": "BINANCE_PM_LOG_FORMAT",
    "demo": "BINANCE_PM_DEMO",
    "disable-exporter-metrics": "BINANCE_PM_DISABLE_EXPORTER_METRICS",
}


def parse_listen_address(value: str, source: str) -> tuple[str | None, int]:
    bracketed = re.fullmatch(r"\[([^\]]+)\]:(\d{1,5})", value)
    if bracketed:
        host: str | None = bracketed.group(1)
        port_text = bracketed.group(2)
        try:
            ipaddress.IPv6Address(bracketed.group(1))
        except ValueError:
            raise ConfigError(f"{source}: {value!r} is not a valid [IPv6]:PORT address") from None
    else:
        plain = re.fullmatch(r"([^:\[\]\s]*):(\d{1,5})", value)
        if not plain:
            raise ConfigError(f"{source}: {value!r} is not HOST:PORT, :PORT or [IPv6]:PORT")
        host = plain.group(1) or None
        port_text = plain.group(2)
    port = int(port_text)
    # Port 0 asks the system for a free port; the one bound is logged at start-up.
    if not 0 <= port < 65536:
        raise ConfigError(f"{source}: port {port} is outside 0..65535")
    return host, port


def parse_base_url(value: str, source: str) -> str:
    url = value.strip().rstrip("/")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError on a malformed port)
    except ValueError as exc:
        raise ConfigError(f"{source}: {value!r} is not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{source}: {value!r} must be an http:// or https:// URL with a host")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ConfigError(f"{source}: {value!r} must not carry credentials, a query or a fragment")
    return url


def parse_seconds(value: str, source: str, *, allow_zero: bool) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise ConfigError(f"{source}: {value!r} is not a number of seconds") from None
    if not math.isfinite(seconds) or seconds < 0 or (seconds == 0 and not allow_zero):
        bound = "zero or more" if allow_zero else "more than zero"
        raise ConfigError(f"{source}: {value!r} must be a finite number of seconds, {bound}")
    return seconds


def parse_int(value: str, source: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{source}: {value!r} is not a whole number") from None
    if not low <= number <= high:
        raise ConfigError(f"{source}: {number} is outside {low}..{high}")
    return number


def parse_bool(value: str, source: str) -> bool:
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ConfigError(f"{source}: {value!r} is not a boolean (use true or false)")


def read_secret_file(path: str, source: str) -> str:
    """A key or secret file's text. The path is never shown: a secret given where its path was
    expected (BINANCE_API_SECRET_FILE=<secret>) must not end up in the error line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise ConfigError(
            f"{source}: cannot read the file it names: {reason} (the name is not shown, in case "
            "it is the secret itself)"
        ) from None
    return text.rstrip("\r\n")


def check_secret(value: str, what: str, source: str) -> str:
    # The value itself is never shown: only where it came from.
    if not value:
        raise ConfigError(f"{source}: the {what} is empty")
    if not KEY_PATTERN.fullmatch(value):
        raise ConfigError(f"{source}: the {what} has whitespace or control characters")
    return value


def _credential(
    what: str,
    env: Mapping[str, str],
    *,
    flags: Sequence[tuple[str, str | None, bool]],
    env_value: str,
    env_file: str,
) -> str | None:
    """A key or secret from, in order: its flags (name, value, value-is-a-path), its variable,
    its file variable. Two sources at the same level are refused, never silently chosen."""
    given = [(name, value, is_path) for name, value, is_path in flags if value is not None]
    if not given:
        if env_value in env and env_file in env:
            raise ConfigError(f"{env_value} and {env_file}: set only one")
        if env_value in env:
            given = [(env_value, env[env_value], False)]
        elif env_file in env:
            given = [(env_file, env[env_file], True)]
    if len(given) > 1:
        raise ConfigError(f"{given[0][0]} and {given[1][0]}: give only one")
    if not given:
        return None
    source, value, is_path = given[0]
    assert value is not None
    text = read_secret_file(value, source) if is_path else value
    return check_secret(text, what, source)


def _api_key(args: argparse.Namespace, env: Mapping[str, str]) -> str | None:
    return _credential(
        "API key",
        env,
        flags=[("--api-key", args.api_key, False), ("--api-key-file", args.api_key_file, True)],
        env_value="BINANCE_API_KEY",
        env_file="BINANCE_API_KEY_FILE",
    )


def _api_secret(args: argparse.Namespace, env: Mapping[str, str]) -> str | None:
    return _credential(
        "API secret",
        env,
        flags=[("--api-secret-file", args.api_secret_file, True)],
        env_value="BINANCE_API_SECRET",
        env_file="BINANCE_API_SECRET_FILE",
    )


def refuse_secret_on_command_line(argv: Sequence[str]) -> None:
    """A secret given as an argument is visible to every user of the host (ps, /proc): refuse
    it without echoing it, as argparse would ("unrecognized arguments: ...")."""
    for arg in argv:
        if arg == "--":
            return
        if arg == "--api-secret" or arg.startswith("--api-secret="):
            raise ConfigError(
                "--api-secret: the API secret is not taken on the command line (other users "
                "of the host can read it there); use --api-secret-file, BINANCE_API_SECRET_FILE "
                "or BINANCE_API_SECRET"
            )


def unrecognized_arguments(extra: Sequence[str]) -> str:
    """argparse would echo every extra argument: the value of a mistyped secret flag too.
    Only flag names are shown."""
    flags = [arg.split("=", 1)[0] for arg in extra if arg.startswith("-")]
    values = len(extra) - len(flags) + sum(1 for arg in extra if arg.startswith("-") and "=" in arg)
    shown = flags + ([f"{values} value{'s' if values > 1 else ''} (not shown)"] if values else [])
    return f"unrecognized arguments: {', '.join(shown)}"


def load_config(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> Config:
    """Parse flags and environment into a Config; raises ConfigError with a one-line message."""
    env = os.environ if environ is None else environ
    refuse_secret_on_command_line(argv)
    args, unknown = _parser().parse_known_args(list(argv))
    if unknown:
        raise ConfigError(unrecognized_arguments(unknown))

    listen, source = _pick(args.listen_address, env, "listen-address", f":{DEFAULT_PORT}")
    host, port = parse_listen_address(listen, source)

    if args.api_base_url:
        urls = tuple(parse_base_url(u, "--api-base-url") for u in args.api_base_url)
    elif env.get("BINANCE_API_BASE_URL", "").strip():
        raw = env["BINANCE_API_BASE_URL"].split(",")
        urls = tuple(parse_base_url(u, "BINANCE_API_BASE_URL") for u in raw if u.strip())
    else:
        urls = (DEFAULT_BASE_URL,)
    if not urls:
        raise ConfigError("BINANCE_API_BASE_URL: no URL in it")

    value, source = _pick(args.min_interval, env, "min-interval", "30")
    min_interval = parse_seconds(value, source, allow_zero=True)
    value, source = _pick(args.timeout, env, "timeout", "10")
    timeout = parse_seconds(value, source, allow_zero=False)
    value, source = _pick(args.max_stale, env, "max-stale", "300")
    max_stale = parse_seconds(value, source, allow_zero=True)
    if max_stale < min_interval:
        raise ConfigError(
            f"{source}: {max_stale:g}s is shorter than --min-interval ({min_interval:g}s): "
            "the rates would vanish between two requests"
        )
    value, source = _pick(
        args.max_response_bytes, env, "max-response-bytes", str(DEFAULT_MAX_RESPONSE_BYTES)
    )
    max_response_bytes = parse_int(value, source, 1024, 1024**3)
    value, source = _pick(args.recv_window, env, "recv-window", "5000")
    recv_window = parse_int(value, source, 1, 60000)

    value, source = _pick(args.web_config_file, env, "web-config-file", "")
    web_config_file = Path(value) if value else None
    if web_config_file is not None and not web_config_file.is_file():
        raise ConfigError(f"{source}: {value!r} is not a readable file")

    value, source = _pick(args.log_level, env, "log-level", "info")
    log_level = value.strip().lower()
    if log_level not in LOG_LEVELS:
        raise ConfigError(f"{source}: {value!r} is not one of {', '.join(LOG_LEVELS)}")
    value, source = _pick(args.log_format, env, "log-format", "text")
    log_format = value.strip().lower()
    if log_format not in LOG_FORMATS:
        raise ConfigError(f"{source}: {value!r} is not one of {', '.join(LOG_FORMATS)}")

    value, source = _pick(args.demo, env, "demo", "")
    demo = parse_bool(value, source)
    value, source = _pick(args.disable_exporter_metrics, env, "disable-exporter-metrics", "")
    exporter_metrics = not parse_bool(value, source)

    api_key = _api_key(args, env)
    api_secret = _api_secret(args, env)
    if api_key is None and not demo:
        raise ConfigError(
            "an API key is required: set --api-key-file, BINANCE_API_KEY_FILE, "
            "BINANCE_API_KEY or --api-key (or run with --demo)"
        )

    return Config(
        listen_host=host,
        listen_port=port,
        api_base_urls=urls,
        api_key=api_key,
        api_secret=api_secret,
        min_interval=min_interval,
        timeout=timeout,
        max_stale=max_stale,
        max_response_bytes=max_response_bytes,
        recv_window=recv_window,
        web_config_file=web_config_file,
        log_level=log_level,
        log_format=log_format,
        demo=demo,
        exporter_metrics=exporter_metrics,
    )
