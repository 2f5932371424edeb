"""What the demo's fake Binance does over time, by scenario (`--demo-scenario`). A scenario is a
pure function of the seconds since the demo started: the rates in force and the fault, if any,
that every request meets. Nothing moves between its events, so the shipped alert rules stay
quiet except when a scenario means them to fire.

- `steady` (the default): the rates hold; one cut-and-restore episode 10 minutes after the
  start and every 6 hours after that: ICP's rate is cut by 0.10 (a warning drop) and restored
  30 minutes later.
- `mass-cut`: 2 minutes after the start, 25 assets are cut by 0.20 each (critical drops, and the
  many-rates-dropped alert); they stay cut.
- `delisting`: 2 minutes after the start, ICP leaves the list (Binance then counts it at 0.1).
- `outage`: from 2 to 12 minutes after the start, every request is answered 503.
- `ban`: from 2 to 12 minutes after the start, every request is answered 418 (an IP ban) with
  the seconds left in `Retry-After`.
- `account-near-liquidation`: the rates hold; the demo's Portfolio Margin Pro account sits just
  above the liquidation line (see `exporter.fakebinance.demo_accounts`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from exporter.fakebinance.replies import Reply, ban_reply, error_reply

MINUTE = 60.0
HOUR = 3600.0
EPISODE_ASSET = "ICP"
EPISODE_CUT = 0.10
EPISODE_START = 10 * MINUTE
EPISODE_LENGTH = 30 * MINUTE
EPISODE_EVERY = 6 * HOUR
EVENT_AT = 2 * MINUTE
FAULT_LENGTH = 10 * MINUTE
MASS_CUT_ASSETS = 25
MASS_CUT = 0.20
LOWEST_RATE = 0.05
DEFAULT = "steady"
NEAR_LIQUIDATION = "account-near-liquidation"


@dataclass(frozen=True)
class Change:
    """From `at` seconds on, these assets have these rates (None: the asset is not listed)."""

    at: float
    rates: Mapping[str, float | None]


@dataclass(frozen=True)
class Fault:
    """From `start` to `end` seconds, every request meets `reply(seconds left)`."""

    start: float
    end: float
    reply: Callable[[float], Reply]


@dataclass(frozen=True)
class Scenario:
    name: str
    base: Mapping[str, float]
    changes: tuple[Change, ...] = ()
    faults: tuple[Fault, ...] = ()
    period: float | None = None  # the changes repeat every `period` seconds
    _sorted: tuple[Change, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_sorted", tuple(sorted(self.changes, key=lambda c: c.at)))

    def rates_at(self, elapsed: float) -> dict[str, float]:
        moment = elapsed % self.period if self.period else elapsed
        rates: dict[str, float | None] = dict(self.base)
        for change in self._sorted:
            if change.at > moment:
                break
            rates.update(change.rates)
        return {asset: rate for asset, rate in rates.items() if rate is not None}

    def fault_at(self, elapsed: float) -> Reply | None:
        for fault in self.faults:
            if fault.start <= elapsed < fault.end:
                return fault.reply(fault.end - elapsed)
        return None


def cut(rate: float, by: float) -> float:
    return round(max(LOWEST_RATE, rate - by), 4)


def steady(base: Mapping[str, float]) -> Scenario:
    rate = base[EPISODE_ASSET]
    return Scenario(
        DEFAULT,
        base,
        (
            Change(EPISODE_START, {EPISODE_ASSET: cut(rate, EPISODE_CUT)}),
            Change(EPISODE_START + EPISODE_LENGTH, {EPISODE_ASSET: rate}),
        ),
        period=EPISODE_EVERY,
    )


def mass_cut_assets(base: Mapping[str, float]) -> list[str]:
    """The assets a mass cut takes: those that can lose 0.20 and stay above the lowest rate."""
    eligible = [asset for asset, rate in base.items() if 0.25 <= rate < 0.95]
    return eligible[:MASS_CUT_ASSETS]


def mass_cut(base: Mapping[str, float]) -> Scenario:
    rates = {asset: cut(base[asset], MASS_CUT) for asset in mass_cut_assets(base)}
    return Scenario("mass-cut", base, (Change(EVENT_AT, rates),))


def delisting(base: Mapping[str, float]) -> Scenario:
    return Scenario("delisting", base, (Change(EVENT_AT, {EPISODE_ASSET: None}),))


def outage(base: Mapping[str, float]) -> Scenario:
    def unavailable(seconds_left: float) -> Reply:
        return error_reply(503, -1001, "Internal error; unable to process your request.")

    return Scenario("outage", base, faults=(Fault(EVENT_AT, EVENT_AT + FAULT_LENGTH, unavailable),))


def ban(base: Mapping[str, float]) -> Scenario:
    return Scenario("ban", base, faults=(Fault(EVENT_AT, EVENT_AT + FAULT_LENGTH, ban_reply),))


def near_liquidation(base: Mapping[str, float]) -> Scenario:
    return Scenario(NEAR_LIQUIDATION, base)


SCENARIOS: dict[str, Callable[[Mapping[str, float]], Scenario]] = {
    DEFAULT: steady,
    "mass-cut": mass_cut,
    "delisting": delisting,
    "outage": outage,
    "ban": ban,
    NEAR_LIQUIDATION: near_liquidation,
}
NAMES = tuple(SCENARIOS)
