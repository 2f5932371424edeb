"""`python -m exporter` on a chosen event loop, optionally with a static /metrics.

The exporter uses uvloop whenever it is installed (the `fast` extra); `--loop asyncio` blocks
its import first, so the exporter runs exactly as it would without the extra.

`--static-metrics` makes the process a baseline: the same exporter process (same imports,
configuration, listener and middlewares) whose /metrics handler renders once per
Accept-Encoding through the real handler and then only returns those bytes with the same
headers, as a bare aiohttp handler would.

    python -m bench.run_exporter --loop asyncio [--static-metrics] -- --listen-address ...
"""

from __future__ import annotations

import argparse
import runpy
import sys

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from bench.loops import LOOPS, uvloop_installed

STATIC_HEADERS = (hdrs.CONTENT_TYPE, hdrs.VARY, hdrs.CONTENT_ENCODING)


def install_static_metrics() -> None:
    from exporter.service import Exporter
    from exporter.web import app as exporter_web

    real_handler_for = exporter_web.metrics_handler

    def static_metrics_for(exporter: Exporter) -> Handler:
        real_handler = real_handler_for(exporter)
        served: dict[bool, tuple[bytes, dict[str, str]]] = {}

        async def static_metrics(request: web.Request) -> web.Response:
            gzip = "gzip" in request.headers.get(hdrs.ACCEPT_ENCODING, "")
            found = served.get(gzip)
            if found is None:
                response = await real_handler(request)
                assert isinstance(response, web.Response)
                assert isinstance(response.body, bytes)
                headers = {k: v for k, v in response.headers.items() if k in STATIC_HEADERS}
                served[gzip] = (response.body, headers)
                return response
            return web.Response(body=found[0], headers=found[1])

        return static_metrics

    exporter_web.metrics_handler = static_metrics_for  # make_app looks it up when called


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.run_exporter", description=__doc__)
    parser.add_argument("--loop", choices=LOOPS, required=True)
    parser.add_argument("--static-metrics", action="store_true")
    parser.add_argument("flags", nargs=argparse.REMAINDER, help="-- then the exporter's flags")
    args = parser.parse_args()
    flags = args.flags[1:] if args.flags[:1] == ["--"] else args.flags
    if args.loop == "asyncio":
        sys.modules["uvloop"] = None  # type: ignore[assignment]  # makes `import uvloop` fail
    elif not uvloop_installed():
        sys.exit("uvloop is not installed: pip install '.[fast]'")
    if args.static_metrics:
        install_static_metrics()
    sys.argv = ["exporter", *flags]
    runpy.run_module("exporter", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
