"""What the fake Binance answers: a `Reply` describes one answer, good or faulty, and the
bodies are written the way Binance writes them."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

NO_CAP = "99999999999.0000"


@dataclass(frozen=True)
class Reply:
    """One answer. With no body, the fake's current data is served as Binance would."""

    status: int = 200
    body: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (longer than the client's timeout: a timeout)
    reset: bool = False  # the connection is dropped instead of answered
    stream_bytes: int = 0  # a body of this many bytes, streamed in chunks (too large)
    used_weight: int | None = None  # the used-weight header's value instead of the fake's
    echo_request: bool = False  # the body is a firewall page quoting the request line back
    # The reason phrase of the status line; a callable makes it from the request's path and
    # query (a proxy quoting the request back).
    reason: str | Callable[[str], str] | None = None


def error_body(code: int, msg: str) -> bytes:
    return json.dumps({"code": code, "msg": msg}).encode()


def error_reply(status: int, code: int, msg: str, **headers: str) -> Reply:
    return Reply(status, error_body(code, msg), headers)


def ban_reply(seconds_left: float) -> Reply:
    """Binance's answer while an IP is banned: 418, -1003, the seconds left in Retry-After."""
    seconds = max(1, math.ceil(seconds_left))
    return error_reply(
        418,
        -1003,
        "Way too much request weight used; IP banned. Please use WebSocket Streams.",
        **{"Retry-After": str(seconds)},
    )


def rates_body(rates: Mapping[str, str]) -> bytes:
    entries = [{"asset": asset, "collateralRate": rate} for asset, rate in rates.items()]
    return json.dumps(entries, ensure_ascii=False).encode()


def tier(floor: str, cap: str, rate: str, cum: str = "0.0000") -> dict[str, str]:
    return {"tierFloor": floor, "tierCap": cap, "collateralRate": rate, "cum": cum}


def tiers_body(tiers: Mapping[str, list[dict[str, str]]]) -> bytes:
    entries = [{"asset": asset, "collateralInfo": info} for asset, info in tiers.items()]
    return json.dumps(entries, ensure_ascii=False).encode()


def mandatory(name: str) -> bytes:
    return error_body(
        -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )
