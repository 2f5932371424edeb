"""Binance SIGNED requests: the query string with `signature` = hex HMAC-SHA256 of everything
before it, keyed with the API secret."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import urlencode


def signature(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def signed_query(params: Mapping[str, str | int], secret: str) -> str:
    """`params` url-encoded in their given order, then `&signature=...` last.

    The result authorises a request until its timestamp leaves recvWindow: never log it."""
    payload = urlencode(list(params.items()))
    return f"{payload}&signature={signature(secret, payload)}"


def signature_of(query: str) -> str:
    """The signature of a signed query (as signed_query makes them); "" for any other query."""
    _, marker, value = query.rpartition("&signature=")
    return value if marker else ""
