"""The /metrics body: rendered by prometheus_client once per collector version and per format
(text 0.0.4 or OpenMetrics, identity or gzip), then served as the same bytes until it changes.

A scrape's own work is one dict lookup by its raw Accept and Accept-Encoding headers: the format
negotiation and the response headers are worked out once per distinct pair of headers. The
collector's version is compared only when `sync()` is called, which the exporter does whenever
the collector may have changed (after a refresh, and when rates reach --max-stale)."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field

from aiohttp import hdrs
from prometheus_client.exposition import choose_encoder, gzip_accepted
from prometheus_client.registry import CollectorRegistry

from exporter.metrics import ExporterCollector

Encoder = Callable[[CollectorRegistry], bytes]
MAX_REMEMBERED_ACCEPT_HEADERS = 64


@dataclass(frozen=True)
class Rendered:
    body: bytes
    content_type: str
    gzipped: bool
    headers: Mapping[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # aiohttp's own header names: a response copies them without case-folding each again
        headers = {hdrs.CONTENT_TYPE: self.content_type, hdrs.VARY: "Accept, Accept-Encoding"}
        if self.gzipped:
            headers[hdrs.CONTENT_ENCODING] = "gzip"
        object.__setattr__(self, "headers", headers)


class ExpositionCache:
    def __init__(self, collector: ExporterCollector) -> None:
        self._collector = collector
        self._registry = CollectorRegistry(auto_describe=False)
        self._registry.register(collector)
        self._version: Hashable = None
        self._rendered: dict[tuple[str, bool], Rendered] = {}
        self._by_request: dict[tuple[str, str], Rendered] = {}
        self._encoders: dict[str, tuple[Encoder, str]] = {}

    def sync(self) -> None:
        """Forget the renderings if the collector's output has changed since they were made."""
        version = self._collector.version()
        if version != self._version:
            self._version = version
            self._rendered.clear()
            self._by_request.clear()

    def for_request(self, accept: str, accept_encoding: str) -> Rendered:
        """The exposition for a scrape with these Accept and Accept-Encoding headers, as of the
        last sync()."""
        rendered = self._by_request.get((accept, accept_encoding))
        if rendered is None:
            rendered = self._render(accept, gzip_accepted(accept_encoding))
            if len(self._by_request) >= MAX_REMEMBERED_ACCEPT_HEADERS:
                self._by_request.clear()
            self._by_request[(accept, accept_encoding)] = rendered
        return rendered

    def _encoder(self, accept: str) -> tuple[Encoder, str]:
        found = self._encoders.get(accept)
        if found is None:
            found = choose_encoder(accept)
            if len(self._encoders) >= MAX_REMEMBERED_ACCEPT_HEADERS:
                self._encoders.clear()
            self._encoders[accept] = found
        return found

    def _render(self, accept: str, want_gzip: bool) -> Rendered:
        encoder, content_type = self._encoder(accept)
        key = (content_type, want_gzip)
        rendered = self._rendered.get(key)
        if rendered is None:
            if want_gzip:
                plain = self._render(accept, want_gzip=False).body
                rendered = Rendered(gzip.compress(plain, compresslevel=6), content_type, True)
            else:
                rendered = Rendered(encoder(self._registry), content_type, False)
            self._rendered[key] = rendered
        return rendered
