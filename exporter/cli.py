"""Entry point: parse the configuration, serve until SIGTERM or SIGINT, exit 0. SIGHUP re-reads
the web config file. With --check: check each endpoint once and exit 0 or 1."""

from __future__ import annotations

import asyncio
import logging
import resource
import signal
import sys
from collections.abc import Sequence
from contextlib import AsyncExitStack

from exporter import eventloop
from exporter.accounts import Account
from exporter.check import check
from exporter.config import Config, ConfigError, load_config
from exporter.logs import setup_logging
from exporter.service import configured_accounts, running_exporter
from exporter.web.app import make_app
from exporter.web.guard import LiveWebConfig
from exporter.web.listener import serving
from exporter.web.webconfig import WebConfig, load_web_config

log = logging.getLogger("exporter")


class StartupError(Exception):
    """The exporter could not start: the message is the one line shown to the operator."""


def display_address(host: str | None, port: int) -> str:
    if host is None:
        return f":{port}"
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


async def serve(
    config: Config, web_config: WebConfig | None = None, accounts: Sequence[Account] | None = None
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    live = LiveWebConfig(web_config) if web_config is not None else None
    loop.add_signal_handler(signal.SIGHUP, reload_on_hangup, live)
    async with running_exporter(config, accounts) as exporter, AsyncExitStack() as stack:
        app = make_app(exporter, live)
        try:
            listener = await stack.enter_async_context(
                serving(app, config.listen_host, config.listen_port, live)
            )
        except OSError as exc:
            where = display_address(config.listen_host, config.listen_port)
            raise StartupError(f"cannot listen on {where}: {exc.strerror or exc}") from None
        log.info(
            "listening on %s%s%s",
            display_address(config.listen_host, listener.port),
            " with TLS" if listener.tls else "",
            " (demo mode: simulated upstream)" if config.demo else "",
        )
        if live is not None and live.current.users and not listener.tls:
            log.warning("basic auth without TLS: passwords cross the network in clear text")
        await stop.wait()
        log.info("shutting down")


def reload_on_hangup(live: LiveWebConfig | None) -> None:
    if live is None:
        log.info("SIGHUP: no --web-config-file, nothing to reload")
        return
    task = asyncio.get_running_loop().create_task(live.reload("SIGHUP"))
    _background.add(task)
    task.add_done_callback(_background.discard)


_background: set[asyncio.Task[bool]] = set()


def raise_open_files_limit() -> None:
    """Soft RLIMIT_NOFILE up to the hard limit, as Go's runtime does for every Go exporter: the
    common soft limit of 1,024 is too few for a port anyone can open connections to."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError) as exc:
            log.debug("open files limit kept at %d: %s", soft, exc)


def main(argv: Sequence[str] | None = None) -> int:
    raise_open_files_limit()
    try:
        config = load_config(sys.argv[1:] if argv is None else argv)
        web_config = (
            load_web_config(config.web_config_file, config.sources["web_config_file"])
            if config.web_config_file
            else None
        )
        accounts = configured_accounts(config)
    except ConfigError as exc:
        print(f"binance-pm-exporter: {exc}", file=sys.stderr)
        return 2
    account_secrets = [s for account in accounts for s in (account.api_key, account.api_secret)]
    secrets = (*config.secrets, *account_secrets)
    if config.check:
        # The check's lines go to stdout; the log keeps to errors unless debug is asked for.
        setup_logging(
            "debug" if config.log_level == "debug" else "error", config.log_format, secrets
        )
        return 0 if eventloop.run(check(config, accounts, sys.stdout)) else 1
    setup_logging(config.log_level, config.log_format, secrets)
    try:
        eventloop.run(serve(config, web_config, accounts))
    except StartupError as exc:
        print(f"binance-pm-exporter: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0
