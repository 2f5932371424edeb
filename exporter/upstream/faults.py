"""Every way an upstream request can fail, classified into one fixed reason, and what each reason
implies (fail over to the next host, close the IP budget, learn the clock again). The client,
the parsers and the gate only report what happened; the reason is chosen here."""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path

import aiohttp

from exporter.upstream.headers import parse_retry_after


class Reason(StrEnum):
    """The fixed set of `reason` label values of `binance_pm_upstream_errors_total`."""

    TIMEOUT = "timeout"
    CONNECTION = "connection"
    RATE_LIMITED = "rate_limited"
    IP_BANNED = "ip_banned"
    AUTH = "auth"
    FORBIDDEN = "forbidden"
    RESTRICTED_LOCATION = "restricted_location"
    SERVER_ERROR = "server_error"
    CLIENT_ERROR = "client_error"
    INVALID_RESPONSE = "invalid_response"
    INTERNAL_ERROR = "internal_error"


AUTH_ERROR_CODES = frozenset({-2014, -2015})
INVALID_TIMESTAMP_CODE = -1021
# The one status that is the answer asked for: others (204, redirects) are not.
ANSWER_STATUS = 200
# Failures of the host rather than of the request: the next request goes to the next host.
FAILOVER_REASONS = frozenset({Reason.TIMEOUT, Reason.CONNECTION, Reason.SERVER_ERROR})
# Binance always sends Retry-After with 429/418; these apply if it does not, or sends a value
# that cannot be used (negative, unreadable).
DEFAULT_RETRY_AFTER = {429: 60.0, 418: 120.0}
# What the transport raises when a request fails on the way: everything else is a bug.
TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (TimeoutError, aiohttp.ClientError, OSError)
MAX_MESSAGE_CHARS = 300
EXCERPT_BYTES = 120
# Binance's error codes are small negative numbers; anything far outside is not one.
MAX_ERROR_CODE = 10**9

# Binance error codes worth a plain-words explanation in the log.
CODE_EXPLANATIONS: dict[int, str] = {
    -1003: "too many requests",
    INVALID_TIMESTAMP_CODE: (
        "request timestamp outside recvWindow: the local clock is off from Binance's "
        "(its offset is learned again before the next signed request; or raise --recv-window)"
    ),
    -1022: "invalid signature: the API secret does not belong to the API key",
    -2014: "API-key format invalid",
    -2015: "invalid API-key, IP, or permissions for action",
    -21001: (
        "the API key's account is not a Portfolio Margin account (of this product): tiered "
        "rates and account endpoints need one (give the account's right product, or remove "
        "the API secret to collect only the v1 rates)"
    ),
}


class UpstreamFault(Exception):
    """A failed upstream request: its reason, and what Binance said about it."""

    def __init__(
        self,
        reason: Reason,
        detail: str,
        *,
        status: int | None = None,
        code: int | None = None,
        retry_after: float | None = None,
        used_weight: int | None = None,
    ) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.status = status
        self.code = code
        self.retry_after = retry_after
        self.used_weight = used_weight

    def describe(self) -> str:
        parts = [f"reason={self.reason.value}"]
        if self.status is not None:
            parts.append(f"status={self.status}")
        if self.code is not None:
            parts.append(f"code={self.code}")
            explanation = CODE_EXPLANATIONS.get(self.code)
            if explanation:
                parts.append(f"meaning={explanation!r}")
        parts.append(f"detail={self.detail!r}")
        return " ".join(parts)


def one_line(text: str) -> str:
    return " ".join(text.split())


def is_answer(status: int) -> bool:
    """Whether a status is the answer asked for; any other is a fault (status_fault)."""
    return status == ANSWER_STATUS


def classify_status(status: int, code: int | None) -> Reason:
    """The reason for an answer other than 200, given its status and Binance's error code."""
    if status == 429:
        return Reason.RATE_LIMITED
    if status == 418:
        return Reason.IP_BANNED
    if status == 401 or code in AUTH_ERROR_CODES:
        return Reason.AUTH
    if status == 403:
        return Reason.FORBIDDEN
    if status == 451:
        return Reason.RESTRICTED_LOCATION
    if status >= 500:
        return Reason.SERVER_ERROR
    if status >= 400:
        return Reason.CLIENT_ERROR
    return Reason.INVALID_RESPONSE  # 1xx/2xx/3xx other than 200: not the answer asked for


def binance_error(body: bytes, redact: Callable[[str], str]) -> tuple[int | None, str]:
    """Binance's `{"code": -1121, "msg": "..."}` out of an error body, or a short excerpt. The
    message is redacted once decoded (before it is cut short): JSON may hide an escaped secret
    that only decoding reveals."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        document = None
    if isinstance(document, dict):
        code = document.get("code")
        msg = document.get("msg")
        if isinstance(code, int) and not isinstance(code, bool) and abs(code) < MAX_ERROR_CODE:
            text = redact(one_line(msg)) if isinstance(msg, str) else ""
            return code, text[:MAX_MESSAGE_CHARS]
    return None, one_line(body[:EXCERPT_BYTES].decode("utf-8", "replace"))


def status_fault(
    status: int,
    body: bytes,
    *,
    reason_phrase: str,
    retry_after: str | None,
    date: str | None,
    used_weight: int | None,
    redact: Callable[[str], str],
) -> UpstreamFault:
    """The fault of an answer other than 200: classified by its status and Binance's code,
    with the wait its Retry-After asks for (or the floor of a 429/418 without a usable one).
    `body` and `reason_phrase` are redacted already; `redact` redacts the decoded message."""
    code, message = binance_error(body, redact)
    wait = parse_retry_after(retry_after, date)
    if wait is None:
        wait = DEFAULT_RETRY_AFTER.get(status)
    return UpstreamFault(
        classify_status(status, code),
        message or reason_phrase,
        status=status,
        code=code,
        retry_after=wait,
        used_weight=used_weight,
    )


def transport_fault(
    error: BaseException, *, timeout: float, base_url: str, redact: Callable[[str], str]
) -> UpstreamFault:
    """The fault of a request that failed on the way (one of TRANSPORT_ERRORS): no complete
    answer in time, an answer that is not HTTP, or no connection at all."""
    if isinstance(error, TimeoutError):
        return UpstreamFault(
            Reason.TIMEOUT, f"no complete answer within {timeout:g}s from {base_url}"
        )
    if isinstance(error, aiohttp.ClientResponseError):
        said = redact(one_line(str(error.message)))[:MAX_MESSAGE_CHARS]
        return UpstreamFault(
            Reason.INVALID_RESPONSE, f"malformed HTTP response from {base_url}: {said}"
        )
    said = redact(one_line(str(error)))[:MAX_MESSAGE_CHARS]
    return UpstreamFault(Reason.CONNECTION, f"{type(error).__name__} talking to {base_url}: {said}")


def too_large(status: int, used_weight: int | None, max_bytes: int, how: str) -> UpstreamFault:
    """The fault of a body over --max-response-bytes (`how`: "declares N bytes", "is longer")."""
    return UpstreamFault(
        Reason.INVALID_RESPONSE,
        f"response body {how} than the {max_bytes}-byte cap (--max-response-bytes)",
        status=status,
        used_weight=used_weight,
    )


def invalid_response(detail: str) -> UpstreamFault:
    """The fault of an answer that is not what Binance sends: not JSON, not the expected shape,
    nothing valid in it."""
    return UpstreamFault(Reason.INVALID_RESPONSE, detail)


def internal_error(error: Exception) -> UpstreamFault:
    """The fault of an exception that is none of the above: a bug of the exporter, never
    counted as Binance's. The detail names the exception and where it was raised (no message:
    it may quote the upstream's text), which also tells one bug from another."""
    frames = traceback.extract_tb(error.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return UpstreamFault(
        Reason.INTERNAL_ERROR,
        f"unexpected {type(error).__name__}{where}: a bug of the exporter, not of Binance",
    )


def fails_over(fault: UpstreamFault) -> bool:
    """Whether the fault is the host's rather than the request's: the next request goes to the
    next base URL."""
    return fault.reason in FAILOVER_REASONS


def is_rate_limit(reason: Reason) -> bool:
    """Reasons that concern the whole IP, not one request: every endpoint and host must wait."""
    return reason in (Reason.RATE_LIMITED, Reason.IP_BANNED)


def says_clock_is_off(fault: UpstreamFault) -> bool:
    """A -1021: the signed request's timestamp was outside recvWindow, so Binance's clock must
    be learned again."""
    return fault.code == INVALID_TIMESTAMP_CODE


def is_internal(fault: UpstreamFault) -> bool:
    return fault.reason is Reason.INTERNAL_ERROR


# What an operator can do about each reason (`--check` prints it). A Binance code with a meaning
# of its own (CODE_EXPLANATIONS) is said first.
REASON_ADVICE: dict[Reason, str] = {
    Reason.TIMEOUT: "no answer in time: check the network path to Binance, or raise --timeout",
    Reason.CONNECTION: (
        "no connection: check DNS, the firewall, the proxy (HTTPS_PROXY) and the base URL"
    ),
    Reason.RATE_LIMITED: (
        "this IP's request weight is spent (429): wait for the Retry-After; every program on "
        "this IP shares the budget"
    ),
    Reason.IP_BANNED: (
        "this IP is banned for now (418) after requests went on past a 429: wait for the ban "
        "to end, then send fewer requests from this IP"
    ),
    Reason.AUTH: (
        "the API key is refused: a wrong or mistyped key, this IP not on the key's list of "
        "trusted IPs, or a key without the reading permission"
    ),
    Reason.FORBIDDEN: (
        "Binance's firewall refused the request (403): check the base URL and any proxy between"
    ),
    Reason.RESTRICTED_LOCATION: (
        "Binance serves no request from this location (451): run the exporter where Binance "
        "serves its API"
    ),
    Reason.SERVER_ERROR: "Binance failed (5xx): try later, or give another --api-base-url",
    Reason.CLIENT_ERROR: "Binance refused the request (4xx)",
    Reason.INVALID_RESPONSE: (
        "the answer is not what Binance sends: check that the base URL is Binance's API"
    ),
    Reason.INTERNAL_ERROR: "a bug of the exporter: report it, with the log of --log-level debug",
}


def what_to_do(fault: UpstreamFault) -> str:
    """The fault in plain words for the operator: the meaning of its Binance code when it has a
    known one, then what its reason calls for. Never Binance's own text."""
    meaning = CODE_EXPLANATIONS.get(fault.code) if fault.code is not None else None
    advice = REASON_ADVICE[fault.reason]
    return f"{meaning}; {advice}" if meaning else advice


def what_binance_said(fault: UpstreamFault) -> str:
    """The status, code and Retry-After of the fault's answer, without Binance's text:
    "HTTP 401, Binance code -2015"; "" when no answer came."""
    said = [f"HTTP {fault.status}"] if fault.status is not None else []
    if fault.code is not None:
        said.append(f"Binance code {fault.code}")
    if fault.retry_after is not None:
        said.append(f"Retry-After {fault.retry_after:g}s")
    return ", ".join(said)
