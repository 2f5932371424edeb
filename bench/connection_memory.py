"""What connections cost the exporter before any authentication: resident memory per idle
connection (plain and TLS), and the exporter's RSS while 2,000 hostile connections of each kind
hold on, with how long a legitimate scrape takes meanwhile:

- `partial-head`: a request line and header fields up to just under the head limit, never
  finished;
- `tls-silent`: a TCP connection to the TLS port that never sends a ClientHello;
- `tls-idle`: a finished TLS handshake, then nothing.

    python -m bench.connection_memory [--loop asyncio|uvloop] [--connections 2000] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import ssl
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.loops import installed_loops
from bench.procs import CHILD_ENV, REPO, exporter_command, rss_bytes, stop_process
from bench.results import add_json_option, write_json
from tests.support.connection_floods import (
    FLOOD_CONNECTIONS,
    SETTLE_SECONDS,
    Flood,
    Opener,
    close_all,
    flood,
    hold,
    open_silent,
    partial_head,
    scrape_seconds,
    tls_idle,
)
from tests.support.pki import Pki, make_pki
from tests.support.process import free_port

MIB = 1024 * 1024
IDLE_CONNECTIONS = 500


@dataclass
class Exporter:
    process: asyncio.subprocess.Process
    port: int
    tls: ssl.SSLContext | None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}/metrics"

    def rss(self) -> int:
        return rss_bytes(self.process.pid)


@asynccontextmanager
async def running(loop: str, pki: Pki | None, directory: Path) -> AsyncIterator[Exporter]:
    port = free_port()
    flags = ["--demo"]
    context = None
    if pki is not None:
        web_config = directory / "web.yml"
        web_config.write_text(
            f"tls_server_config:\n  cert_file: {pki.cert_file}\n  key_file: {pki.key_file}\n"
        )
        flags += ["--web-config-file", str(web_config)]
        context = pki.client_context()
    process = await asyncio.create_subprocess_exec(
        *exporter_command(loop, port, flags), cwd=REPO, env=CHILD_ENV
    )
    exporter = Exporter(process, port, context)
    try:
        deadline = time.monotonic() + 30
        while await scrape_seconds(exporter) is None:
            if time.monotonic() > deadline or process.returncode is not None:
                raise RuntimeError("the exporter did not start")
            await asyncio.sleep(0.1)
        yield exporter
    finally:
        await stop_process(process)


async def per_connection(exporter: Exporter, opener: Opener, count: int) -> float:
    """RSS added per open connection, in bytes."""
    before = exporter.rss()
    writers = await hold(exporter.port, count, opener)
    await asyncio.sleep(SETTLE_SECONDS)
    added = exporter.rss() - before
    held = len(writers)
    close_all(writers)
    await asyncio.sleep(SETTLE_SECONDS)
    return added / max(held, 1)


async def measure(loop: str, connections: int, out: Callable[[str], None]) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="bench-connections-") as folder:
        directory = Path(folder)
        pki = make_pki(directory / "pki")
        floods: list[Flood] = []
        async with running(loop, None, directory) as plain:
            idle_plain = await per_connection(plain, open_silent, IDLE_CONNECTIONS)
            floods.append(await flood(plain, "partial-head", partial_head(None), connections))
        async with running(loop, pki, directory) as tls:
            context = pki.client_context()
            idle_tls = await per_connection(tls, tls_idle(context), IDLE_CONNECTIONS)
            floods.append(await flood(tls, "partial-head", partial_head(context), connections))
            floods.append(await flood(tls, "tls-silent", open_silent, connections))
            floods.append(await flood(tls, "tls-idle", tls_idle(context), connections))
    out(f"event loop {loop}; {IDLE_CONNECTIONS} idle connections, floods of {connections}")
    out(
        f"RSS per idle connection: plain {idle_plain / 1024:.1f} KiB, TLS {idle_tls / 1024:.1f} KiB"
    )
    out("flood           transport  RSS before  peak     after    scrape")
    for f in floods:
        scrape = f"{f.scrape:.2f} s" if f.scrape is not None else "FAILED"
        out(
            f"{f.name:<15} {'TLS' if f.tls else 'plain':<10} {f.before / MIB:6.1f} MiB"
            f" {f.peak / MIB:6.1f}   {f.after / MIB:6.1f}   {scrape}"
        )
    return {
        "loop": loop,
        "idle_connections": IDLE_CONNECTIONS,
        "connections": connections,
        "idle_plain_kib": idle_plain / 1024,
        "idle_tls_kib": idle_tls / 1024,
        "floods": [
            {
                "name": f.name,
                "tls": f.tls,
                "before_mib": f.before / MIB,
                "peak_mib": f.peak / MIB,
                "after_mib": f.after / MIB,
                "scrape_s": f.scrape,
            }
            for f in floods
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.connection_memory", description=__doc__)
    parser.add_argument("--loop", choices=installed_loops(), default="asyncio")
    parser.add_argument("--connections", type=int, default=FLOOD_CONNECTIONS)
    add_json_option(parser)
    args = parser.parse_args(argv)
    figures = asyncio.run(measure(args.loop, args.connections, print))
    write_json(args.json, "connection_memory", figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
