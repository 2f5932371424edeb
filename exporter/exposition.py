"""The /metrics body: the exporter's families rendered by prometheus_client, joined to the
exporter's own metrics (exposition errors and, unless turned off, the process and platform
collectors), and served as the same bytes until either part is forgotten. When each part is
rendered again is decided in exporter/scrape.py: the exporter's part when what it shows changed,
the process part at most once a second.

What a scrape gets depends only on what is produced: text 0.0.4 or OpenMetrics 1.0.0, identity
or gzip, so at most four renderings exist at a time whatever the request headers say. The
headers are negotiated here, defensively (q-values honoured, anything odd falls back to text
0.0.4 without gzip), and the outcome for a pair of raw headers is remembered in a bounded table:
a scrape's own work is a dict lookup or two.

A failure while building the body (a bug in a collector) never reaches the client: the last
good rendering of that part is served instead and `binance_pm_exposition_errors_total` counts
the failure.

Gzip: the exporter's part comes first and changes only with a snapshot, the process part comes
last and changes every second. The first is compressed once per snapshot and format, flushed to
a byte boundary, and the compressor kept; each rendering of the process part continues a copy of
it with the tail. The result is one gzip member (CRC and size over the whole body), since some
clients read only the first member of a stream."""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from aiohttp import hdrs
from prometheus_client import exposition as text_format
from prometheus_client.openmetrics import exposition as openmetrics_format
from prometheus_client.registry import Collector, CollectorRegistry

from exporter.metrics import ExporterCollector, ExpositionErrorsCollector

log = logging.getLogger(__name__)

Encoder = Callable[[CollectorRegistry], bytes]
TEXT_CONTENT_TYPE = text_format.CONTENT_TYPE_PLAIN_0_0_4
OPENMETRICS_CONTENT_TYPE = openmetrics_format.CONTENT_TYPE_LATEST
OPENMETRICS_MEDIA_TYPE = "application/openmetrics-text"
# The OpenMetrics versions prometheus_client's 1.0.0 output satisfies ("" = none named).
OPENMETRICS_VERSIONS = frozenset({"", "0.0.1", "1.0.0"})
TEXT_MEDIA_TYPES = frozenset({"text/plain", "text/*", "*/*"})
GZIP_CODINGS = frozenset({"gzip", "x-gzip"})
EOF = b"# EOF\n"
GZIP_LEVEL = 6
GZIP_WBITS = 31  # zlib's gzip container: header, deflate, CRC-32 and size trailer
# Per-request bounds: a header's first ranges are read, and only short header pairs are
# remembered, in a table emptied when full.
MAX_LIST_ITEMS = 32
MAX_REMEMBERED_HEADERS = 64
MAX_REMEMBERED_HEADER_CHARS = 512


class Variant(NamedTuple):
    """What a scrape is served: the format and the encoding."""

    openmetrics: bool
    gzipped: bool


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


def quality(value: str) -> float:
    """An RFC 9110 q-value; anything that is not a number in 0..1 counts as 0 (not wanted)."""
    try:
        q = float(value)
    except ValueError:
        return 0.0
    return q if 0.0 <= q <= 1.0 else 0.0


def _list_items(header: str) -> Iterable[tuple[str, float, str]]:
    """(lower-cased item, q, version parameter) of a comma-separated header, first items only."""
    for item in header.split(",", MAX_LIST_ITEMS)[:MAX_LIST_ITEMS]:
        name, *params = item.split(";")
        q, version = 1.0, ""
        for param in params:
            key, _, value = param.partition("=")
            key = key.strip().lower()
            if key == "q":
                q = quality(value.strip())
            elif key == "version":
                version = value.strip().strip('"')
        yield name.strip().lower(), q, version


def wants_openmetrics(accept: str) -> bool:
    """OpenMetrics when the client accepts a version of it we produce at least as much as the
    text format; text 0.0.4 otherwise, whatever else it asks for."""
    openmetrics = text = 0.0
    for media_type, q, version in _list_items(accept):
        if media_type == OPENMETRICS_MEDIA_TYPE and version in OPENMETRICS_VERSIONS:
            openmetrics = max(openmetrics, q)
        elif media_type in TEXT_MEDIA_TYPES:
            text = max(text, q)
    return openmetrics > 0.0 and openmetrics >= text


def wants_gzip(accept_encoding: str) -> bool:
    """gzip when named with a q-value above 0 and not below the one given to identity."""
    gzip_q = 0.0
    identity_q = 0.0
    for coding, q, _ in _list_items(accept_encoding):
        if coding in GZIP_CODINGS:
            gzip_q = max(gzip_q, q)
        elif coding == "identity":
            identity_q = q
    return gzip_q > 0.0 and gzip_q >= identity_q


def negotiate(accept: str, accept_encoding: str) -> Variant:
    return Variant(wants_openmetrics(accept), wants_gzip(accept_encoding))


def split(exporter_part: bytes, own_part: bytes, openmetrics: bool) -> tuple[bytes, bytes]:
    """The exposition of two renderings as (head, tail), head + tail the whole body: the head
    depends on the exporter's part alone, the tail on the process part alone (in OpenMetrics,
    with the single `# EOF` at the end)."""
    if not openmetrics:
        return exporter_part, own_part
    return exporter_part.removesuffix(EOF), own_part.removesuffix(EOF) + EOF


def join(exporter_part: bytes, own_part: bytes, openmetrics: bool) -> bytes:
    """One exposition of two renderings."""
    head, tail = split(exporter_part, own_part, openmetrics)
    return head + tail


class _GzipHead(NamedTuple):
    """A head compressed up to a byte boundary, and the compressor to continue with a tail."""

    source: bytes  # the exporter's part the head was taken from
    compressed: bytes
    compressor: zlib._Compress

    @classmethod
    def of(cls, source: bytes, head: bytes) -> _GzipHead:
        compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, GZIP_WBITS)
        compressed = compressor.compress(head) + compressor.flush(zlib.Z_SYNC_FLUSH)
        return cls(source, compressed, compressor)

    def finish(self, tail: bytes) -> bytes:
        """One gzip member of head + tail; this head's compressor stays as it was."""
        compressor = self.compressor.copy()
        return self.compressed + compressor.compress(tail) + compressor.flush(zlib.Z_FINISH)


class _Part:
    """One registry rendered in both formats, each kept until `forget()`; a rendering that
    fails leaves the last good one in place (empty if none) and is reported to `failed`."""

    def __init__(self, name: str, collectors: Iterable[Collector], failed: Callable[[], None]):
        self._name = name
        self._registry = CollectorRegistry(auto_describe=False)
        for collector in collectors:
            self._registry.register(collector)
        self._failed = failed
        self._current: dict[bool, bytes] = {}
        self._last_good: dict[bool, bytes] = {}

    def forget(self) -> None:
        self._current.clear()

    def body(self, openmetrics: bool) -> bytes:
        found = self._current.get(openmetrics)
        if found is None:
            encoder: Encoder = (
                openmetrics_format.generate_latest if openmetrics else text_format.generate_latest
            )
            try:
                found = encoder(self._registry)
            except Exception as exc:  # a bug in a collector must not fail the scrape
                found = self._last_good.get(openmetrics, EOF if openmetrics else b"")
                log.error(
                    "building the %s metrics failed, serving the last good ones: %s: %s",
                    self._name,
                    type(exc).__name__,
                    exc,
                    exc_info=log.isEnabledFor(logging.DEBUG),
                )
                self._failed()
            else:
                self._last_good[openmetrics] = found
            self._current[openmetrics] = found
        return found


class ExpositionCache:
    """The renderings of the /metrics body, kept until told to forget them: the exporter's
    metrics when what they show changed, the process metrics when they are due again (both
    decided by exporter/scrape.py)."""

    def __init__(
        self, collector: ExporterCollector, own_collectors: Iterable[Collector] = ()
    ) -> None:
        """`own_collectors`: the process and platform collectors, if any."""
        self.errors = 0
        self._exporter_part = _Part("exporter", (collector,), self._count_error)
        own = (ExpositionErrorsCollector(lambda: self.errors), *own_collectors)
        self._own_part = _Part("process", own, self._count_error)
        self.has_process_metrics = len(own) > 1
        self._rendered: dict[Variant, Rendered] = {}
        self._gzip_heads: dict[bool, _GzipHead] = {}
        self._variants: dict[tuple[str, str], Variant] = {}

    def _count_error(self) -> None:
        self.errors += 1
        self._own_part.forget()
        self._rendered.clear()

    def forget_exporter_metrics(self) -> None:
        """The exporter's metrics are rendered afresh at the next request."""
        self._exporter_part.forget()
        self._gzip_heads.clear()
        self._rendered.clear()

    def forget_own_metrics(self) -> None:
        """The process metrics (and exposition errors) are rendered afresh at the next request."""
        self._own_part.forget()
        self._rendered.clear()

    def for_request(self, accept: str, accept_encoding: str) -> Rendered:
        """The exposition for a scrape with these Accept and Accept-Encoding headers, from the
        renderings kept (rendered now for what was forgotten)."""
        variant = self._variant(accept, accept_encoding)
        rendered = self._rendered.get(variant)
        if rendered is None:
            rendered = self._render(variant)
        return rendered

    def _variant(self, accept: str, accept_encoding: str) -> Variant:
        key = (accept, accept_encoding)
        variant = self._variants.get(key)
        if variant is None:
            variant = negotiate(accept, accept_encoding)
            if len(accept) + len(accept_encoding) <= MAX_REMEMBERED_HEADER_CHARS:
                if len(self._variants) >= MAX_REMEMBERED_HEADERS:
                    self._variants.clear()
                self._variants[key] = variant
        return variant

    def _render(self, variant: Variant) -> Rendered:
        content_type = OPENMETRICS_CONTENT_TYPE if variant.openmetrics else TEXT_CONTENT_TYPE
        exporter_part = self._exporter_part.body(variant.openmetrics)
        own_part = self._own_part.body(variant.openmetrics)
        head, tail = split(exporter_part, own_part, variant.openmetrics)
        if variant.gzipped:
            rendered = Rendered(
                self._gzip_head(exporter_part, head, variant.openmetrics).finish(tail),
                content_type,
                True,
            )
        else:
            rendered = Rendered(head + tail, content_type, False)
        self._rendered[variant] = rendered
        return rendered

    def _gzip_head(self, exporter_part: bytes, head: bytes, openmetrics: bool) -> _GzipHead:
        found = self._gzip_heads.get(openmetrics)
        if found is None or found.source is not exporter_part:
            found = self._gzip_heads[openmetrics] = _GzipHead.of(exporter_part, head)
        return found

    def sizes(self) -> tuple[int, int]:
        """(renderings held, header pairs remembered): both bounded whatever clients send."""
        return len(self._rendered), len(self._variants)
