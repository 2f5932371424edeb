"""Readers of one setting's text: each takes the text and where it came from (a flag or a
variable, for the error line) and returns the typed value or raises ConfigError."""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import SplitResult, urlsplit

from exporter.config.errors import ConfigError

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", ""})
KEY_PATTERN = re.compile(r"[\x21-\x7e]+")


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


def _http_url(value: str, source: str) -> SplitResult:
    """The parts of an http(s) URL with a host and no credentials, or a ConfigError."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (raises ValueError on a malformed port)
    except ValueError as exc:
        raise ConfigError(f"{source}: {value!r} is not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{source}: {value!r} must be an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise ConfigError(f"{source}: {value!r} must not carry credentials")
    return parts


def parse_base_url(value: str, source: str) -> str:
    url = value.strip().rstrip("/")
    parts = _http_url(url, source)
    if parts.query or parts.fragment:
        raise ConfigError(f"{source}: {value!r} must not carry credentials, a query or a fragment")
    return url


def parse_link_url(value: str, source: str) -> str | None:
    """An http(s) address for a link (a query is fine, credentials are not); empty means none."""
    url = value.strip()
    if not url:
        return None
    _http_url(url, source)
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


def seconds(*, allow_zero: bool) -> Callable[[str, str], float]:
    def parse(value: str, source: str) -> float:
        return parse_seconds(value, source, allow_zero=allow_zero)

    return parse


def parse_int(value: str, source: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{source}: {value!r} is not a whole number") from None
    if not low <= number <= high:
        raise ConfigError(f"{source}: {number} is outside {low}..{high}")
    return number


def whole_number(low: int, high: int) -> Callable[[str, str], int]:
    def parse(value: str, source: str) -> int:
        return parse_int(value, source, low, high)

    return parse


def parse_bool(value: str, source: str) -> bool:
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ConfigError(f"{source}: {value!r} is not a boolean (use true or false)")


def one_of(*choices: str) -> Callable[[str, str], str]:
    """A word from a fixed list, compared without case or surrounding blanks."""

    def parse(value: str, source: str) -> str:
        word = value.strip().lower()
        if word not in choices:
            raise ConfigError(f"{source}: {value!r} is not one of {', '.join(choices)}")
        return word

    return parse


def text(value: str, source: str) -> str:
    return value


def readable_file(value: str, source: str) -> Path | None:
    """A file that must exist at start; the empty text means none."""
    if not value:
        return None
    path = Path(value)
    if not path.is_file():
        raise ConfigError(f"{source}: {value!r} is not a readable file")
    return path


def read_secret_file(path: str, source: str) -> str:
    """A key or secret file's text. The path is never shown: a secret given where its path was
    expected (BINANCE_API_SECRET_FILE=<secret>) must not end up in the error line."""
    try:
        content = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise ConfigError(
            f"{source}: cannot read the file it names: {reason} (the name is not shown, in case "
            "it is the secret itself)"
        ) from None
    return content.rstrip("\r\n")


def check_secret(value: str, what: str, source: str) -> str:
    # The value itself is never shown: only where it came from.
    if not value:
        raise ConfigError(f"{source}: the {what} is empty")
    if not KEY_PATTERN.fullmatch(value):
        raise ConfigError(f"{source}: the {what} has whitespace or control characters")
    return value
