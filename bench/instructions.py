"""Item 1b: instructions per cached scrape, counted by valgrind's callgrind. Unlike seconds,
the count barely moves from one run of the same code to the next (about 0.1 %), however busy
the machine is.

Each server (bare, static, exporter) runs under callgrind; after a warm-up, its counters are
zeroed, it serves a fixed number of cached scrapes, and the instructions it ran meanwhile (its
idle event loop included) are divided by that number."""

from __future__ import annotations

import asyncio
import re
import shutil
import tempfile
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from pathlib import Path

from bench.load import scrape_exactly
from bench.procs import Launch, Server, running_baseline, running_exporter
from bench.throughput import CACHED, fetch_exposition
from bench.upstream import exporter_flags, prometheus_headers, start_upstream

ENCODINGS = ("identity", "gzip")
CONNECTIONS = 4
START_SECONDS = 300.0  # Python's start-up runs about 50 times slower under callgrind
DUMP_SECONDS = 60.0
TOTALS = re.compile(rb"^totals: (\d+)\n", re.MULTILINE)  # the last line of a dump


@dataclass(frozen=True)
class InstructionsRow:
    loop: str
    encoding: str
    scrapes: int
    bare: float
    static: float
    exporter: float
    against: float | None = None  # the exporter of another source tree (--against)

    @property
    def ratio(self) -> float:
        """The bare server's instructions per scrape over the exporter's."""
        return self.bare / self.exporter


def valgrind_installed() -> bool:
    return shutil.which("valgrind") is not None and shutil.which("callgrind_control") is not None


class Callgrind:
    """One server's callgrind: its output folder, and dumps on demand."""

    def __init__(self, folder: Path, steady_heap: bool) -> None:
        self.folder = folder
        self.launch = Launch(
            steady_heap=steady_heap,
            under=(
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={folder}/callgrind.out.%p",
                f"--log-file={folder}/valgrind.log",
            ),
            start_timeout=START_SECONDS,
        )

    async def dump(self, server: Server) -> int:
        """Writes the instructions counted since the last dump (which zeroes them) and
        returns them."""
        before = set(self.folder.glob("callgrind.out.*"))
        control = await asyncio.create_subprocess_exec(
            "callgrind_control",
            "--dump",
            str(server.pid),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            said, _ = await asyncio.wait_for(control.communicate(), DUMP_SECONDS)
        except TimeoutError:
            control.kill()
            await control.wait()
            raise RuntimeError(f"{server.name}: callgrind_control did not answer") from None
        if control.returncode != 0:
            raise RuntimeError(f"{server.name}: callgrind_control failed: {said.decode()[-500:]}")
        deadline = asyncio.get_running_loop().time() + DUMP_SECONDS
        while asyncio.get_running_loop().time() < deadline:
            for path in set(self.folder.glob("callgrind.out.*")) - before:
                found = TOTALS.search(path.read_bytes())
                if found:
                    return int(found.group(1))
            await asyncio.sleep(0.05)
        raise RuntimeError(f"{server.name}: callgrind wrote no dump")


Start = Callable[[Launch], AbstractAsyncContextManager[Server]]


async def per_scrape(start: Start, warmup: int, count: int, steady_heap: bool) -> dict[str, float]:
    """Instructions per cached scrape of the server `start` runs, per encoding."""
    with tempfile.TemporaryDirectory(prefix="bench-callgrind-") as folder:
        callgrind = Callgrind(Path(folder), steady_heap)
        async with start(callgrind.launch) as server:
            found = {}
            for encoding in ENCODINGS:
                headers = prometheus_headers(encoding == "gzip")
                await scrape_exactly(server, headers, warmup, CONNECTIONS)
                await callgrind.dump(server)
                await scrape_exactly(server, headers, count, CONNECTIONS)
                found[encoding] = await callgrind.dump(server) / count
            return found


async def instructions(
    loop: str,
    *,
    assets: int,
    warmup: int,
    count: int,
    steady_heap: bool = True,
    against: Path | None = None,
) -> list[InstructionsRow]:
    """Every server under callgrind with procs.STEADY_HEAP_ENV unless `steady_heap` is False;
    with `against`, the exporter of that source tree too."""
    fake = await start_upstream(assets)
    try:
        # The cached path alone: under callgrind a second of wall time spans only some twenty
        # scrapes, so the exporter's own process metrics (re-rendered once a second) would
        # be counted as if they were per-scrape work.
        flags = exporter_flags(fake, "--min-interval", CACHED, "--disable-exporter-metrics")
        async with running_exporter(loop, flags) as reference:
            exposition = await fetch_exposition(reference.url)
        servers: list[Start] = [
            lambda launch: running_baseline(loop, exposition, launch),
            lambda launch: running_exporter(loop, flags, static=True, launch=launch),
            lambda launch: running_exporter(loop, flags, launch=launch),
        ]
        if against is not None:
            older_flags = exporter_flags(fake, "--min-interval", CACHED)
            servers.append(
                lambda launch: running_exporter(
                    loop, older_flags, launch=replace(launch, tree=against)
                )
            )
        bare, static, exporter, *other = [
            await per_scrape(start, warmup, count, steady_heap) for start in servers
        ]
        exporters = len(servers)  # the reference, and every server but bare: one request each
        if fake.count() != exporters:
            raise RuntimeError(f"{fake.count()} upstream requests for {exporters} exporters")
    finally:
        await fake.stop()
    return [
        InstructionsRow(
            loop,
            encoding,
            count,
            bare[encoding],
            static[encoding],
            exporter[encoding],
            other[0][encoding] if other else None,
        )
        for encoding in ENCODINGS
    ]
