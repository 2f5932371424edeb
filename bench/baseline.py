"""The limit of the stack: a bare aiohttp handler that serves fixed bytes (the exporter's own
exposition, identity and gzip) with the exporter's headers, and does nothing else.

Prints the port it listens on, then serves until SIGTERM or SIGINT.

    python -m bench.baseline --identity body.txt --gzip body.txt.gz --content-type 'text/plain'
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from aiohttp import hdrs, web

from bench.loops import LOOPS, run_with_loop


def make_app(identity: bytes, gzipped: bytes, content_type: str) -> web.Application:
    plain_headers = {hdrs.CONTENT_TYPE: content_type, hdrs.VARY: "Accept, Accept-Encoding"}
    gzip_headers = {**plain_headers, hdrs.CONTENT_ENCODING: "gzip"}

    async def metrics(request: web.Request) -> web.Response:
        if "gzip" in request.headers.get(hdrs.ACCEPT_ENCODING, ""):
            return web.Response(body=gzipped, headers=gzip_headers)
        return web.Response(body=identity, headers=plain_headers)

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    return app


async def serve(app: web.Application) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        print(runner.addresses[0][1], flush=True)
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.baseline", description=__doc__)
    parser.add_argument("--identity", type=Path, required=True)
    parser.add_argument("--gzip", type=Path, required=True)
    parser.add_argument("--content-type", required=True)
    parser.add_argument("--loop", choices=LOOPS, default="asyncio")
    args = parser.parse_args(argv)
    app = make_app(args.identity.read_bytes(), args.gzip.read_bytes(), args.content_type)
    run_with_loop(args.loop, serve(app))
    return 0


if __name__ == "__main__":
    sys.exit(main())
