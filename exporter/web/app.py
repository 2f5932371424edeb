"""The HTTP side: /metrics, the landing page and /healthz."""

from __future__ import annotations

import time
from collections.abc import Hashable

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from exporter.service import Exporter
from exporter.web.guard import LiveWebConfig, install_guard
from exporter.web.landing import LandingPage, PageSettings, Serving, minute, render_landing

EXPORTER_KEY: web.AppKey[Exporter] = web.AppKey("exporter", Exporter)
SCRAPE_TIMEOUT_HEADER = "X-Prometheus-Scrape-Timeout-Seconds"


def metrics_handler(exporter: Exporter) -> Handler:
    """/metrics for this exporter: what exporter/scrape.py decides to serve."""
    scrapes = exporter.scrapes

    async def metrics(request: web.Request) -> web.Response:
        headers = request.headers
        rendered = await scrapes.serve(
            headers.get(SCRAPE_TIMEOUT_HEADER),
            ",".join(headers.getall(hdrs.ACCEPT, ())),
            headers.get(hdrs.ACCEPT_ENCODING, ""),
        )
        return web.Response(body=rendered.body, headers=rendered.headers)

    return metrics


LANDING_KEY: web.AppKey[LandingPage] = web.AppKey("landing", LandingPage)


def landing_page(exporter: Exporter, web_config: LiveWebConfig | None) -> LandingPage:
    config = exporter.config

    def serving() -> Serving:
        current = None if web_config is None else web_config.current
        return Serving(
            tls=current is not None and current.tls is not None,
            basic_auth=current is not None and bool(current.users),
        )

    settings = PageSettings(
        min_interval=config.min_interval,
        timeout=config.timeout,
        max_stale=config.max_stale,
        account_min_interval=config.account_min_interval,
        recv_window=config.recv_window,
        base_urls=exporter.client.base_urls,
        papi_base_urls=config.papi_base_urls,
        demo=config.demo,
        api_key_set=config.api_key is not None,
        api_secret_set=exporter.tiers is not None,
        accounts=tuple(account.name for account in exporter.accounts),
        exporter_metrics=config.exporter_metrics,
        dashboard_url=config.dashboard_url,
    )

    def render() -> str:
        return render_landing(
            exporter.gates,
            exporter.v1.snapshot,
            None if exporter.tiers is None else exporter.tiers.snapshot,
            exporter.changes.newest_first(),
            settings,
            serving(),
        )

    def version() -> Hashable:
        return (
            tuple(gate.generation for gate in exporter.gates),
            exporter.changes.count,
            serving(),
            minute(time.time()),
        )

    return LandingPage(render, version)


async def landing_handler(request: web.Request) -> web.Response:
    return web.Response(text=request.app[LANDING_KEY].get(), content_type="text/html")


async def healthz_handler(request: web.Request) -> web.Response:
    return web.Response(text="ok\n")


def make_app(exporter: Exporter, web_config: LiveWebConfig | None = None) -> web.Application:
    app = web.Application()
    if web_config is not None:
        install_guard(app, web_config)
    app[EXPORTER_KEY] = exporter
    app[LANDING_KEY] = landing_page(exporter, web_config)
    app.router.add_get("/metrics", metrics_handler(exporter))
    app.router.add_get("/", landing_handler)
    app.router.add_get("/healthz", healthz_handler)
    return app
