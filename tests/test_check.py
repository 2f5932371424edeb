"""`binance-pm-exporter --check`, run as a process against the fake Binance on loopback: one
request per configured endpoint, one line each, exit 0 when all work and 1 otherwise, never a
secret nor Binance's own text in what it prints."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from exporter.fakebinance.accounts import FakeAccount
from tests.support.fake_accounts import AccountsFakeBinance, write_accounts_file
from tests.support.fake_binance import (
    NO_CAP,
    TIME_PATH,
    V1_PATH,
    V2_PATH,
    FakeBinance,
    Reply,
    error_body,
    tier,
)
from tests.support.process import exporter_run

REPO = Path(__file__).resolve().parent.parent
KEY = "check-key-0123456789abcdefghijklmnop"
SECRET = "check-secret-0123456789abcdefghijklmnop"
BINANCE_TEXT = "text-from-binance-not-to-be-shown"
ACCOUNT_KEY = "account-key-0123456789abcdefghijkl"
ACCOUNT_SECRET = "account-secret-0123456789abcdefghijkl"


@dataclass
class Checked:
    code: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        return self.stdout.splitlines()


async def run_check(
    fake: FakeBinance, *flags: str, env: Mapping[str, str] | None = None, secret: bool = True
) -> Checked:
    variables = {"PATH": os.environ.get("PATH", ""), "BINANCE_API_KEY": KEY, **(env or {})}
    if secret:
        variables["BINANCE_API_SECRET"] = SECRET
    args = ["--check", "--api-base-url", fake.url, "--timeout", "3", *flags]
    done = await exporter_run(args, variables, timeout=60)
    checked = Checked(done.returncode, done.stdout, done.stderr)
    for shown in (checked.stdout, checked.stderr):
        assert KEY not in shown
        assert SECRET not in shown
        assert BINANCE_TEXT not in shown
        assert "Traceback" not in shown
    return checked


@pytest.fixture
async def fake() -> AsyncIterator[FakeBinance]:
    server = FakeBinance()
    server.api_secret = SECRET
    await server.start()
    yield server
    await server.stop()


async def test_every_endpoint_works(fake: FakeBinance) -> None:
    checked = await run_check(fake)
    assert checked.lines == ["v1: works", "v2: works"]
    assert checked.code == 0
    assert (fake.count(V1_PATH), fake.count(V2_PATH)) == (1, 1)


@pytest.mark.slow
async def test_without_a_secret_only_v1_is_asked(fake: FakeBinance) -> None:
    checked = await run_check(fake, secret=False)
    assert checked.lines == ["v1: works"]
    assert checked.code == 0
    assert fake.count(V2_PATH) == 0


@dataclass(frozen=True)
class Case:
    path: str
    reply: Reply
    line: str  # what the line of that endpoint starts with
    advice: str  # and words of what to do, from the docs


def refusal(status: int, code: int) -> Reply:
    return Reply(status=status, body=error_body(code, BINANCE_TEXT))


CASES = {
    "wrong key": Case(
        V1_PATH,
        refusal(401, -2015),
        "v1: fails: auth (HTTP 401, Binance code -2015): ",
        "not on the key's list of trusted IPs, or a key without the reading permission",
    ),
    "malformed key": Case(
        V1_PATH, refusal(401, -2014), "v1: fails: auth (HTTP 401, Binance code -2014): ", "key"
    ),
    "missing permission": Case(
        V2_PATH,
        refusal(401, -2015),
        "v2: fails: auth (HTTP 401, Binance code -2015): ",
        "permission",
    ),
    "wrong secret": Case(
        V2_PATH,
        refusal(400, -1022),
        "v2: fails: client_error (HTTP 400, Binance code -1022): ",
        "the API secret does not belong to the API key",
    ),
    "not portfolio margin": Case(
        V2_PATH,
        refusal(400, -21001),
        "v2: fails: client_error (HTTP 400, Binance code -21001): ",
        "not a Portfolio Margin account",
    ),
    "clock": Case(
        V2_PATH,
        refusal(400, -1021),
        "v2: fails: client_error (HTTP 400, Binance code -1021): ",
        "clock",
    ),
    "restricted location": Case(
        V1_PATH,
        refusal(451, 0),
        "v1: fails: restricted_location (HTTP 451, Binance code 0): ",
        "location",
    ),
    "firewall": Case(
        V1_PATH,
        Reply(status=403, body=f"<html>{BINANCE_TEXT}</html>".encode()),
        "v1: fails: forbidden (HTTP 403): ",
        "firewall",
    ),
    "server error": Case(
        V1_PATH, refusal(503, -1001), "v1: fails: server_error (HTTP 503, Binance code -1001)", ""
    ),
    "not json": Case(
        V1_PATH,
        Reply(body=BINANCE_TEXT.encode()),
        "v1: fails: invalid_response: ",
        "base URL",
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
async def test_a_failing_endpoint_says_why_and_what_to_do(fake: FakeBinance, case: Case) -> None:
    fake.always(case.reply, path=case.path)
    checked = await run_check(fake)
    assert checked.code == 1
    assert len(checked.lines) == 2, checked.stdout
    failing = [line for line in checked.lines if line.startswith(case.line)]
    assert len(failing) == 1, checked.stdout
    assert case.advice in failing[0]
    other = "v2" if case.path == V1_PATH else "v1"
    assert f"{other}: works" in checked.lines


async def test_a_ban_stops_the_other_requests(fake: FakeBinance) -> None:
    fake.always(
        Reply(status=418, body=error_body(-1003, BINANCE_TEXT), headers={"Retry-After": "120"})
    )
    checked = await run_check(fake)
    assert checked.code == 1
    assert checked.lines[0] == (
        "v1: fails: ip_banned (HTTP 418, Binance code -1003, Retry-After 120s): too many requests; "
        "this IP is banned "
        "for now (418) after requests went on past a 429: wait for the ban to end, then send "
        "fewer requests from this IP"
    )
    assert checked.lines[1].startswith("v2: not sent: a 429/418 closed this IP's request budget")
    assert (fake.count(V2_PATH), fake.count(TIME_PATH)) == (0, 0)


async def test_no_connection_is_one_line_each(fake: FakeBinance) -> None:
    url = fake.url
    await fake.stop()
    fake.url = url
    checked = await run_check(fake)
    assert checked.code == 1
    assert [line.split(":")[0] for line in checked.lines] == ["v1", "v2"]
    assert all(": fails: connection: no connection" in line for line in checked.lines)


async def test_bad_configuration_is_exit_2(fake: FakeBinance) -> None:
    checked = await run_check(fake, "--timeout", "0")
    assert checked.code == 2
    assert checked.stdout == ""
    assert checked.stderr.startswith("binance-pm-exporter: --timeout")


def account(name: str, product: str, *, portfolio_margin: bool = True) -> FakeAccount:
    return FakeAccount(
        name,
        product,
        f"{name}-{ACCOUNT_KEY}",
        f"{name}-{ACCOUNT_SECRET}",
        {"BTC": {"crossMarginAsset": 1.0}},
        maintenance_margin=1000.0,
        portfolio_margin=portfolio_margin,
    )


async def test_account_endpoints_are_checked_too(tmp_path: Path) -> None:
    server = AccountsFakeBinance(
        {"BTC": "0.9500"},
        {"BTC": [tier("0.0000", NO_CAP, "0.9500")]},
        {"BTC": 50_000.0},
        SECRET,
        market_keys=(KEY,),
    )
    accounts: Sequence[FakeAccount] = (
        account("desk", "pm_pro"),
        account("spot", "pm", portfolio_margin=False),
    )
    server.accounts.add(*accounts)
    await server.start()
    try:
        checked = await run_check(
            server,
            "--accounts-file",
            str(write_accounts_file(tmp_path, accounts)),
            "--papi-base-url",
            server.url,
        )
    finally:
        await server.stop()
    for fake_account in accounts:
        for shown in (checked.stdout, checked.stderr):
            assert fake_account.api_key not in shown
            assert fake_account.api_secret not in shown
    assert checked.code == 1
    lines = dict(line.split(": ", 1) for line in checked.lines)
    assert list(lines) == [
        "v1",
        "v2",
        "index_price",
        "account[desk]",
        "balance[desk]",
        "papi_account[spot]",
        "papi_balance[spot]",
    ]

    assert [name for name, said in lines.items() if said == "works"] == list(lines)[:5]
    for name in ("papi_account[spot]", "papi_balance[spot]"):
        assert "Binance code -21001" in lines[name]
        assert "not a Portfolio Margin account" in lines[name]
