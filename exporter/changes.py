"""The collateral-rate changes seen since start, recorded at refresh time (not on a scrape or a
page view): an asset's rate moved, appeared or left the list. Kept for the landing page."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

MAX_CHANGES = 200


@dataclass(frozen=True)
class RateChange:
    asset: str
    before: float | None  # None: the asset was not listed
    after: float | None  # None: the asset left the list
    at: float  # Unix time of the answer that showed it


class RateChanges:
    """Compares each good answer with the one before it; the newest MAX_CHANGES changes."""

    def __init__(self, limit: int = MAX_CHANGES) -> None:
        self._changes: deque[tuple[int, RateChange]] = deque(maxlen=limit)  # (answer, change)
        self._last: dict[str, float] | None = None
        self._answers = 0
        self.count = 0  # changes seen, including those no longer kept

    def observe(self, rates: Mapping[str, float], at: float) -> None:
        last, self._last = self._last, dict(rates)
        self._answers += 1
        if last is None:
            return
        for asset in sorted(last.keys() | rates.keys()):
            before, after = last.get(asset), rates.get(asset)
            if before != after:
                self._changes.append((self._answers, RateChange(asset, before, after, at)))
                self.count += 1

    def newest_first(self) -> list[RateChange]:
        """The newest answer's changes first, each answer's by asset."""
        ordered = sorted(self._changes, key=lambda entry: (-entry[0], entry[1].asset))
        return [change for _, change in ordered]
