"""What a request to an endpoint gives back: the parsed payload, or a `Deferred` that says it
did not go out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

PayloadT = TypeVar("PayloadT")


class Deferred(Exception):
    """Raised by a fetch that stopped before its main request because the IP budget closed
    meanwhile (a 429/418 on another endpoint): no error of its own, it waits for the budget."""


@dataclass(frozen=True)
class Fetched(Generic[PayloadT]):
    payload: PayloadT
    invalid_entries: int
    used_weight: int | None
