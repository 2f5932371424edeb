"""Floods of hostile connections against the exporter as a process: 2,000 of each kind (partial
request heads, TLS connections that never send a ClientHello, idle TLS connections) keep its
RSS under 200 MiB while a scrape answers; and with soft = hard open-files limit 1,024, clients
opening about 190 connections a second do not keep scrapes waiting."""

from __future__ import annotations

import asyncio
import contextlib
import resource
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.support.connection_floods import (
    FLOOD_CONNECTIONS,
    ProcessTarget,
    flood,
    open_silent,
    partial_head,
    tls_idle,
)
from tests.support.pki import make_pki
from tests.support.process import exporter_process
from tests.support.samples import parse_samples

pytestmark = pytest.mark.slow

RSS_LIMIT = 200 * 1024 * 1024
SCRAPE_TIMEOUT = 10.0
CHURN_PER_SECOND = 190
CHURN_SECONDS = 12


@pytest.fixture(autouse=True)
def enough_descriptors() -> Iterator[None]:
    """This process holds the client side of every connection: its soft open-files limit is
    raised to the hard one for the test (loopback only)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 2 * FLOOD_CONNECTIONS + 200:
        pytest.fail(f"the hard open-files limit ({hard}) is too low for the flood")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
async def test_floods_of_hostile_connections_keep_rss_under_200_mib(tls: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="floods-") as folder:
        directory = Path(folder)
        flags = ["--demo"]
        context = None
        if tls:
            pki = make_pki(directory / "pki")
            web_config = directory / "web.yml"
            web_config.write_text(
                f"tls_server_config:\n  cert_file: {pki.cert_file}\n  key_file: {pki.key_file}\n"
            )
            flags += ["--web-config-file", str(web_config)]
            context = pki.client_context()
        async with exporter_process(flags) as running:
            exporter = ProcessTarget(running, context)
            kinds = [("partial-head", partial_head(context))]
            if context is not None:
                kinds += [("tls-silent", open_silent), ("tls-idle", tls_idle(context))]
            for name, opener in kinds:
                result = await flood(exporter, name, opener, FLOOD_CONNECTIONS)
                assert result.peak < RSS_LIMIT, result
                assert result.scrape is not None, result


def _files_limit(soft: int, hard: int) -> Callable[[], None]:
    def lower() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    return lower


async def test_scrapes_answer_under_connection_churn_at_1024_open_files() -> None:
    async with exporter_process(
        ["--demo", "--min-interval", "1"], preexec_fn=_files_limit(1024, 1024)
    ) as exporter:
        writers: list[asyncio.StreamWriter] = []

        async def churn() -> None:
            for _ in range(CHURN_SECONDS * 10):
                for _ in range(CHURN_PER_SECOND // 10):
                    with contextlib.suppress(OSError):
                        _, writer = await asyncio.open_connection("127.0.0.1", exporter.port)
                        writers.append(writer)
                await asyncio.sleep(0.1)

        churner = asyncio.create_task(churn())
        scrapes = 0
        timeout = aiohttp.ClientTimeout(total=SCRAPE_TIMEOUT)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session:
                while not churner.done():
                    async with session.get(
                        exporter.url + "/metrics", headers={"Connection": "close"}
                    ) as response:
                        assert response.status == 200
                        samples = parse_samples(await response.text())
                        assert samples[("process_max_fds", ())] == 1024
                        assert samples[("process_open_fds", ())] < 1024
                    scrapes += 1
                    await asyncio.sleep(0.5)
        finally:
            churner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await churner
            for writer in writers:
                writer.close()
        assert scrapes >= CHURN_SECONDS
        assert len(writers) > 1024 * 1.5
        assert "Too many open files" not in exporter.stderr
        assert "Traceback" not in exporter.stderr
