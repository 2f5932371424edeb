"""Basic auth under a flood of wrong passwords (a credential from another address is verified
in time, whatever the flood; the flooding connections hold no slot the cap cannot take back)
and without timing tells (every check costs the bcrypt work of the highest configured cost)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp
import bcrypt
import pytest

from exporter.web.basicauth import WAITING_CHECKS, Decoys, bcrypt_cost, client_group
from tests.support.exporter import Served, served
from tests.support.fake_binance import FakeBinance

PASSWORD = "right-scrape-password"
FLOOD_COST = 10
VERIFY_WITHIN_SECONDS = 5.0


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def hashed(password: str, cost: int) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(cost)).decode()


def web_config(tmp_path: Path, users: dict[str, str]) -> Path:
    path = tmp_path / "web.yml"
    lines = "".join(f"  {user}: {value}\n" for user, value in users.items())
    path.write_text(f"basic_auth_users:\n{lines}", encoding="utf-8")
    return path


async def flood(url: str, connections: int, stop: asyncio.Event, counts: list[int]) -> None:
    """`connections` keep-alive connections from 127.0.0.1, each sending a new wrong password
    for a real user or an unknown one, one request after the other, until `stop`."""
    connector = aiohttp.TCPConnector(limit=connections, local_addr=("127.0.0.1", 0))
    async with aiohttp.ClientSession(connector=connector) as session:

        async def attacker(n: int) -> None:
            turn = 0
            while not stop.is_set():
                turn += 1
                user = "alice" if n % 2 else f"mallory{n}"
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(url, headers=basic(user, f"guess-{n}-{turn}")) as r:
                        await r.read()
                        assert r.status == 401
                        counts[0] += 1

        await asyncio.gather(*(attacker(n) for n in range(connections)))


async def flooding_for(started: Callable[[], bool]) -> None:
    async with asyncio.timeout(10):
        while True:
            if started():
                return
            await asyncio.sleep(0.05)


async def scrape_from(server: Served, address: str, user: str) -> int:
    connector = aiohttp.TCPConnector(local_addr=(address, 0))
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.get(server.url + "/metrics", headers=basic(user, PASSWORD)) as response,
    ):
        await response.read()
        return response.status


@pytest.mark.slow
@pytest.mark.parametrize("connections", [9, 12])
async def test_a_new_credential_from_another_address_is_verified_during_a_flood(
    fake: FakeBinance, tmp_path: Path, connections: int
) -> None:
    users = {name: hashed(PASSWORD, FLOOD_COST) for name in ("alice", "bob", "carol", "dave")}
    async with served(fake.url, web_config=web_config(tmp_path, users)) as server:
        assert server.live is not None
        verifier = server.live.auth
        stop, counts = asyncio.Event(), [0]
        flooding = asyncio.create_task(flood(server.url + "/metrics", connections, stop, counts))
        try:
            await flooding_for(lambda: verifier.bcrypt_runs >= 3)
            for user in ("bob", "carol", "dave"):  # each verified for the first time
                before = counts[0]
                async with asyncio.timeout(VERIFY_WITHIN_SECONDS):
                    assert await scrape_from(server, "127.0.0.2", user) == 200
                assert counts[0] > before  # the flood went on meanwhile
        finally:
            stop.set()
            await flooding
        assert verifier.sizes()[0] == 3


@pytest.mark.slow
async def test_a_flood_of_wrong_passwords_holds_few_connections_the_cap_cannot_close(
    fake: FakeBinance, tmp_path: Path
) -> None:
    users = {"alice": hashed(PASSWORD, FLOOD_COST)}
    async with served(fake.url, web_config=web_config(tmp_path, users)) as server:
        assert server.live is not None
        verifier = server.live.auth
        table = server.listener.connections
        stop, counts = asyncio.Event(), [0]
        flooding = asyncio.create_task(flood(server.url + "/metrics", 100, stop, counts))
        most_serving = 0
        try:
            await flooding_for(lambda: len(table) >= 100)
            for _ in range(100):
                serving = sum(1 for c in table._open if c.serving)
                most_serving = max(most_serving, serving)
                await asyncio.sleep(0.02)
        finally:
            stop.set()
            await flooding
        # at most the checks allowed to wait, and the ones being answered this instant
        assert most_serving <= WAITING_CHECKS + 8
        assert verifier.turned_away > 0


async def test_one_client_has_at_most_two_checks_waiting(fake: FakeBinance, tmp_path: Path) -> None:
    users = {"alice": hashed(PASSWORD, FLOOD_COST)}
    async with served(fake.url, web_config=web_config(tmp_path, users)) as server:
        assert server.live is not None
        verifier = server.live.auth
        url = server.url + "/metrics"
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=30)) as session:

            async def guess(n: int) -> int:
                async with session.get(url, headers=basic("alice", f"burst-{n}")) as response:
                    await response.read()
                    return response.status

            statuses = await asyncio.gather(*(guess(n) for n in range(30)))
        assert statuses == [401] * 30
        # one running and two waiting at the most: the rest were refused without a check
        assert verifier.bcrypt_runs <= 3 * 2
        assert verifier.turned_away >= 30 - 3 * 2


@pytest.mark.parametrize(
    ("address", "group"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::9", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        (None, ""),
    ],
)
def test_clients_are_told_apart_by_address_and_ipv6_by_64(address: str | None, group: str) -> None:
    assert client_group(address) == group


COSTS = {"low": 4, "middle": 6, "top": 8}


async def test_every_check_costs_the_work_of_the_highest_configured_cost(
    fake: FakeBinance, tmp_path: Path
) -> None:
    users = {user: hashed(PASSWORD, cost) for user, cost in COSTS.items()}
    top_work = 2 ** max(COSTS.values())
    async with served(fake.url, web_config=web_config(tmp_path, users)) as server:
        assert server.live is not None
        verifier = server.live.auth
        url = server.url + "/"
        attempts = [(user, f"wrong-{user}") for user in COSTS]
        attempts += [("nobody", "wrong-nobody"), ("nobody", PASSWORD)]
        attempts += [(user, PASSWORD) for user in COSTS]
        async with aiohttp.ClientSession() as session:
            for user, password in attempts:
                work = verifier.bcrypt_work
                async with session.get(url, headers=basic(user, password)) as response:
                    await response.read()
                    assert response.status == (
                        200 if password == PASSWORD and user in COSTS else 401
                    )
                assert verifier.bcrypt_work - work == top_work, (user, password)


def test_an_unknown_user_is_checked_at_the_highest_cost_and_a_cheap_user_padded_to_it() -> None:
    users = {user: hashed(PASSWORD, cost).encode() for user, cost in COSTS.items()}
    decoys = Decoys.for_users(users)
    assert [bcrypt_cost(h) for h in decoys.checks_for(None)] == [8]
    assert [bcrypt_cost(h) for h in decoys.checks_for(users["top"])] == [8]
    assert [bcrypt_cost(h) for h in decoys.checks_for(users["middle"])] == [6, 6, 7]
    assert [bcrypt_cost(h) for h in decoys.checks_for(users["low"])] == [4, 4, 5, 6, 7]
    for decoy in decoys.by_cost.values():
        assert not bcrypt.checkpw(PASSWORD.encode(), decoy)


async def test_a_statistical_bound_on_the_times_of_wrong_passwords_and_unknown_users(
    fake: FakeBinance, tmp_path: Path
) -> None:
    """Not a speed assertion: the medians of interleaved timings of a wrong password for a user
    with a cheap hash, for one with a 16 times dearer hash, and for an unknown user are within
    a factor 2 of each other (unpadded, they differ 16-fold), whatever the machine's speed."""
    users = {"cheap": hashed(PASSWORD, 4), "dear": hashed(PASSWORD, 8)}
    async with served(fake.url, web_config=web_config(tmp_path, users)) as server:
        timings: dict[str, list[float]] = {"cheap": [], "dear": [], "nobody": []}
        async with aiohttp.ClientSession() as session:
            for turn in range(15):
                for user, samples in timings.items():
                    started = time.perf_counter()
                    headers = basic(user, f"wrong-{turn}")
                    async with session.get(server.url + "/", headers=headers) as response:
                        await response.read()
                    samples.append(time.perf_counter() - started)
        medians = [sorted(samples)[len(samples) // 2] for samples in timings.values()]
        assert max(medians) < 2 * min(medians), dict(zip(timings, medians, strict=True))
