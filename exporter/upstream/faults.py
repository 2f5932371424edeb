"""Every way an upstream request can fail, classified into one fixed reason."""

from __future__ import annotations

from enum import StrEnum


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


AUTH_ERROR_CODES = frozenset({-2014, -2015})

# Binance error codes worth a plain-words explanation in the log.
CODE_EXPLANATIONS: dict[int, str] = {
    -1003: "too many requests",
    -1021: (
        "request timestamp outside recvWindow: the local clock is off from Binance's "
        "(its offset is learned again before the next signed request; or raise --recv-window)"
    ),
    -1022: "invalid signature: the API secret does not belong to the API key",
    -2014: "API-key format invalid",
    -2015: "invalid API-key, IP, or permissions for action",
    -21001: (
        "the API key's account is not a Portfolio Margin account: tiered rates need one "
        "(remove the API secret to collect only the v1 rates)"
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


def is_rate_limit(reason: Reason) -> bool:
    """Reasons that concern the whole IP, not one request: every endpoint and host must wait."""
    return reason in (Reason.RATE_LIMITED, Reason.IP_BANNED)
