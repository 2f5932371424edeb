"""The /metrics body: rendered by prometheus_client once per collector version and per format
(text 0.0.4 or OpenMetrics, identity or gzip), then served as the same bytes until it changes.

A scrape's own work is a clock read and one dict lookup by its raw Accept and Accept-Encoding
headers: the format negotiation and the response headers are worked out once per distinct pair
of headers, and the collector's version is asked at most once per VERSION_CHECK_SECONDS, and
always after a scrape waited for a refresh. So every scrape sees the snapshot its own refresh
brought, and any other change made more than VERSION_CHECK_SECONDS before it."""

from __future__ import annotations

import gzip
import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field

from prometheus_client.exposition import choose_encoder, gzip_accepted
from prometheus_client.registry import CollectorRegistry

from exporter.metrics import ExporterCollector

Encoder = Callable[[CollectorRegistry], bytes]
MAX_REMEMBERED_ACCEPT_HEADERS = 64
VERSION_CHECK_SECONDS = 0.001


@dataclass(frozen=True)
class Rendered:
    body: bytes
    content_type: str
    gzipped: bool
    headers: Mapping[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        headers = {"Content-Type": self.content_type, "Vary": "Accept, Accept-Encoding"}
        if self.gzipped:
            headers["Content-Encoding"] = "gzip"
        object.__setattr__(self, "headers", headers)


class ExpositionCache:
    def __init__(
        self, collector: ExporterCollector, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._collector = collector
        self._clock = clock
        self._next_check = 0.0
        self._registry = CollectorRegistry(auto_describe=False)
        self._registry.register(collector)
        self._version: Hashable = None
        self._rendered: dict[tuple[str, bool], Rendered] = {}
        self._by_request: dict[tuple[str, str], Rendered] = {}
        self._encoders: dict[str, tuple[Encoder, str]] = {}

    def _encoder(self, accept: str) -> tuple[Encoder, str]:
        found = self._encoders.get(accept)
        if found is None:
            found = choose_encoder(accept)
            if len(self._encoders) >= MAX_REMEMBERED_ACCEPT_HEADERS:
                self._encoders.clear()
            self._encoders[accept] = found
        return found

    def for_request(self, accept: str, accept_encoding: str, *, refreshed: bool) -> Rendered:
        """The exposition for a scrape with these Accept and Accept-Encoding headers; `refreshed`
        when the scrape waited for a refresh."""
        now = self._clock()
        if refreshed or now >= self._next_check:
            self._check_version()
            self._next_check = now + VERSION_CHECK_SECONDS
        rendered = self._by_request.get((accept, accept_encoding))
        if rendered is None:
            rendered = self._render(accept, gzip_accepted(accept_encoding))
            if len(self._by_request) >= MAX_REMEMBERED_ACCEPT_HEADERS:
                self._by_request.clear()
            self._by_request[(accept, accept_encoding)] = rendered
        return rendered

    def _check_version(self) -> None:
        version = self._collector.version()
        if version != self._version:
            self._version = version
            self._rendered.clear()
            self._by_request.clear()

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
