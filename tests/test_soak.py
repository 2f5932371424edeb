"""A short run of the soak (bench/soak.py): the real exporter process scraped at a high rate
while the upstream flaps through every failure mode. And proof that the soak's own checks can
fail: an upstream client that ignores Retry-After is caught."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from exporter.fakebinance.endpoints import V1_PATH
from tests.support.flapping import FlappingUpstream
from tests.support.paths import REPO
from tests.support.soak_figures import Sample, memory_figures

CI_DURATION_SECONDS = 15


@pytest.mark.slow
def test_short_soak_holds_every_check(tmp_path: Path) -> None:
    out = tmp_path / "soak.json"
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "soak.py"),
            "--duration",
            str(CI_DURATION_SECONDS),
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=CI_DURATION_SECONDS + 90,
        cwd=REPO,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    figures = json.loads(out.read_text())
    assert all(figures["checks"].values()), figures["checks"]
    assert figures["scrapes"] > 100
    assert figures["good_responses"] == figures["good_responses_exported"] > 0
    assert figures["served"]["rate_limited"] >= 1
    assert figures["served"]["ip_banned"] >= 1
    assert figures["odd_header_scrapes"] > 10
    assert figures["wrong_passwords_refused"] > 100
    assert figures["held_cut_off"]["partial_head"] > 0
    assert figures["held_cut_off"]["silent"] > 0


async def test_soak_catches_a_client_that_ignores_retry_after() -> None:
    upstream = FlappingUpstream(random.Random(3), timeout=0.5, max_bytes=1024)
    await upstream.start()
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(3):  # good, then 429 with Retry-After, then straight away again
                async with session.get(upstream.url + V1_PATH) as response:
                    await response.read()
    finally:
        await upstream.stop()
    assert upstream.served["rate_limited"] == 1
    assert len(upstream.violations) == 1
    assert "rate_limited Retry-After" in upstream.violations[0]


def test_memory_that_keeps_growing_is_not_flat() -> None:
    growing = [Sample(at=i, rss_kib=40_000 + i * 500, fds=20 + i) for i in range(40)]
    _, _, rss_flat, fds_flat = memory_figures(growing)
    assert not rss_flat
    assert not fds_flat
    steady = [Sample(at=i, rss_kib=40_000 + (i % 3) * 100, fds=20 + i % 2) for i in range(40)]
    _, _, rss_flat, fds_flat = memory_figures(steady)
    assert rss_flat
    assert fds_flat
