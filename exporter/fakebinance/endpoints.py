"""The endpoint table of the fake Binance: each row a path, how Binance secures it, what a
request costs in weight and which header reports it, and the good answer made from the fake's
state. Adding an endpoint is one row (and, when it needs one, a body function)."""

from __future__ import annotations

import enum
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

from exporter.fakebinance.replies import rates_body, tiers_body

if TYPE_CHECKING:
    from exporter.fakebinance.server import FakeBinance

V1_PATH = "/sapi/v1/portfolio/collateralRate"
V2_PATH = "/sapi/v2/portfolio/collateralRate"
TIME_PATH = "/api/v3/time"
SAPI_WEIGHT_HEADER = "X-SAPI-USED-IP-WEIGHT-1M"
API_WEIGHT_HEADER = "X-MBX-USED-WEIGHT-1M"


class Security(enum.Enum):
    """Binance's security types, as far as the fake checks them."""

    NONE = "none"  # public: no key
    KEY = "key"  # MARKET_DATA: X-MBX-APIKEY only
    SIGNED = "signed"  # USER_DATA: the key, a timestamp and an HMAC-SHA256 signature


@dataclass(frozen=True)
class Endpoint:
    path: str
    security: Security
    weight: int
    weight_header: str
    body: Callable[[FakeBinance, web.Request], bytes]


def v1_body(fake: FakeBinance, request: web.Request) -> bytes:
    return rates_body(fake.rates)


def v2_body(fake: FakeBinance, request: web.Request) -> bytes:
    return tiers_body(fake.current_tiers())


def time_body(fake: FakeBinance, request: web.Request) -> bytes:
    return json.dumps({"serverTime": int(fake.server_time_ms())}).encode()


ENDPOINTS = (
    Endpoint(V1_PATH, Security.KEY, 50, SAPI_WEIGHT_HEADER, v1_body),
    Endpoint(V2_PATH, Security.SIGNED, 50, SAPI_WEIGHT_HEADER, v2_body),
    Endpoint(TIME_PATH, Security.NONE, 1, API_WEIGHT_HEADER, time_body),
)
