"""`--check`: one request to each endpoint the configuration enables (the gates the exporter
would serve: v1 always, v2 with a secret, the accounts' endpoints with accounts), one line for
each (works, or our reason, the HTTP status, Binance's code and what to do), and whether all
worked. It sends the exporter's own requests, through its client and its fault classification;
no secret and no text of Binance's is printed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from exporter.accounts import Account
from exporter.config import Config
from exporter.gate import RefreshGate
from exporter.service import running_exporter
from exporter.upstream.faults import (
    UpstreamFault,
    internal_error,
    is_rate_limit,
    what_binance_said,
    what_to_do,
)
from exporter.upstream.results import Deferred

NOT_SENT = "not sent: a 429/418 closed this IP's request budget; run the check again later"


def fault_line(label: str, fault: UpstreamFault) -> str:
    said = what_binance_said(fault)
    details = f" ({said})" if said else ""
    return f"{label}: fails: {fault.reason.value}{details}: {what_to_do(fault)}"


@dataclass(frozen=True)
class Outcome:
    works: bool
    line: str
    rate_limited: bool = False  # a 429/418: nothing more may be sent from this IP for now


async def check_endpoint(gate: RefreshGate[Any], timeout: float) -> Outcome:
    """What one request of the endpoint shows."""
    if not gate.is_due():
        return Outcome(False, f"{gate.label}: {NOT_SENT}", rate_limited=True)
    try:
        await gate.fetch(timeout)
    except UpstreamFault as fault:
        return Outcome(False, fault_line(gate.label, fault), is_rate_limit(fault.reason))
    except Deferred:
        return Outcome(False, f"{gate.label}: {NOT_SENT}", rate_limited=True)
    except Exception as exc:  # a bug of ours is reported as such, never as Binance's
        return Outcome(False, fault_line(gate.label, internal_error(exc)))
    return Outcome(True, f"{gate.label}: works")


async def check(config: Config, accounts: Sequence[Account], out: TextIO) -> bool:
    """Checks every endpoint in turn, printing a line each; True if all work. After a 429 or
    418 the remaining endpoints are not asked: going on is what turns a 429 into a ban."""
    works, rate_limited = True, False
    async with running_exporter(config, accounts) as exporter:
        for gate in exporter.gates:
            if rate_limited:
                outcome = Outcome(False, f"{gate.label}: {NOT_SENT}", rate_limited=True)
            else:
                outcome = await check_endpoint(gate, config.timeout)
            print(outcome.line, file=out, flush=True)
            works = works and outcome.works
            rate_limited = rate_limited or outcome.rate_limited
    return works
