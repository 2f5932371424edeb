"""Entry point: parse the configuration, serve until SIGTERM or SIGINT, exit 0."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Sequence

from aiohttp import web

from exporter.config import Config, ConfigError, load_config
from exporter.logs import setup_logging
from exporter.service import running_exporter
from exporter.web import make_app

log = logging.getLogger("exporter")


class StartupError(Exception):
    """The exporter could not start: the message is the one line shown to the operator."""


def display_address(host: str | None, port: int) -> str:
    if host is None:
        return f":{port}"
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


async def serve(config: Config) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with running_exporter(config) as exporter:
        runner = web.AppRunner(make_app(exporter), handle_signals=False, shutdown_timeout=2.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, config.listen_host, config.listen_port, reuse_address=True)
            try:
                await site.start()
            except OSError as exc:
                where = display_address(config.listen_host, config.listen_port)
                raise StartupError(f"cannot listen on {where}: {exc.strerror or exc}") from None
            log.info(
                "listening on %s%s",
                display_address(config.listen_host, config.listen_port),
                " (demo mode: simulated upstream)" if config.demo else "",
            )
            await stop.wait()
            log.info("shutting down")
        finally:
            await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    try:
        config = load_config(sys.argv[1:] if argv is None else argv)
    except ConfigError as exc:
        print(f"binance-pm-exporter: {exc}", file=sys.stderr)
        return 2
    setup_logging(config.log_level, config.log_format, config.secrets)
    try:
        asyncio.run(serve(config))
    except StartupError as exc:
        print(f"binance-pm-exporter: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0
