"""The /metrics body: rendered by prometheus_client once per collector version and per format
(text 0.0.4 or OpenMetrics, identity or gzip), then served as the same bytes until it changes."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import CollectorRegistry

from exporter.metrics import ExporterCollector

Encoder = Callable[[CollectorRegistry], bytes]
MAX_REMEMBERED_ACCEPT_HEADERS = 64


@dataclass(frozen=True)
class Rendered:
    body: bytes
    content_type: str
    gzipped: bool


class ExpositionCache:
    def __init__(self, collector: ExporterCollector) -> None:
        self._collector = collector
        self._registry = CollectorRegistry(auto_describe=False)
        self._registry.register(collector)
        self._version: Hashable = None
        self._rendered: dict[tuple[str, bool], Rendered] = {}
        self._encoders: dict[str, tuple[Encoder, str]] = {}

    def _encoder(self, accept: str) -> tuple[Encoder, str]:
        found = self._encoders.get(accept)
        if found is None:
            found = choose_encoder(accept)
            if len(self._encoders) >= MAX_REMEMBERED_ACCEPT_HEADERS:
                self._encoders.clear()
            self._encoders[accept] = found
        return found

    def render(self, accept: str, want_gzip: bool) -> Rendered:
        version = self._collector.version()
        if version != self._version:
            self._version = version
            self._rendered.clear()
        encoder, content_type = self._encoder(accept)
        key = (content_type, want_gzip)
        rendered = self._rendered.get(key)
        if rendered is None:
            if want_gzip:
                plain = self.render(accept, want_gzip=False).body
                rendered = Rendered(gzip.compress(plain, compresslevel=6), content_type, True)
            else:
                rendered = Rendered(encoder(self._registry), content_type, False)
            self._rendered[key] = rendered
        return rendered
