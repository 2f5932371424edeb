"""The HTTP side: /metrics, the landing page and /healthz."""

from __future__ import annotations

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from exporter.service import Exporter
from exporter.web.guard import LiveWebConfig, install_guard
from exporter.web.landing import render_landing

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


async def landing_handler(request: web.Request) -> web.Response:
    exporter = request.app[EXPORTER_KEY]
    page = render_landing(
        list(exporter.gates),
        exporter.budget,
        exporter.client.base_urls if not exporter.config.demo else (),
        exporter.config.demo,
    )
    return web.Response(text=page, content_type="text/html")


async def healthz_handler(request: web.Request) -> web.Response:
    return web.Response(text="ok\n")


def make_app(exporter: Exporter, web_config: LiveWebConfig | None = None) -> web.Application:
    app = web.Application()
    if web_config is not None:
        install_guard(app, web_config)
    app[EXPORTER_KEY] = exporter
    app.router.add_get("/metrics", metrics_handler(exporter))
    app.router.add_get("/", landing_handler)
    app.router.add_get("/healthz", healthz_handler)
    return app
