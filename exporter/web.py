"""The HTTP side: /metrics, the landing page and /healthz."""

from __future__ import annotations

from aiohttp import hdrs, web
from prometheus_client.exposition import gzip_accepted

from exporter.landing import render_landing
from exporter.service import Exporter

EXPORTER_KEY: web.AppKey[Exporter] = web.AppKey("exporter", Exporter)
SCRAPE_TIMEOUT_HEADER = "X-Prometheus-Scrape-Timeout-Seconds"


async def metrics_handler(request: web.Request) -> web.Response:
    exporter = request.app[EXPORTER_KEY]
    await exporter.refresh(exporter.scrape_deadline(request.headers.get(SCRAPE_TIMEOUT_HEADER)))
    accept = ",".join(request.headers.getall(hdrs.ACCEPT, []))
    want_gzip = gzip_accepted(request.headers.get(hdrs.ACCEPT_ENCODING, ""))
    rendered = exporter.exposition.render(accept, want_gzip)
    headers = {hdrs.CONTENT_TYPE: rendered.content_type, hdrs.VARY: "Accept, Accept-Encoding"}
    if rendered.gzipped:
        headers[hdrs.CONTENT_ENCODING] = "gzip"
    return web.Response(body=rendered.body, headers=headers)


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


def make_app(exporter: Exporter) -> web.Application:
    app = web.Application()
    app[EXPORTER_KEY] = exporter
    app.router.add_get("/metrics", metrics_handler)
    app.router.add_get("/", landing_handler)
    app.router.add_get("/healthz", healthz_handler)
    return app
