"""The upstream client: one GET to Binance, size-capped, every failure an UpstreamFault."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp

from exporter.upstream.faults import Reason, UpstreamFault, classify_status
from exporter.upstream.headers import (
    DATE_HEADER,
    RETRY_AFTER_HEADER,
    USED_WEIGHT_HEADER,
    parse_retry_after,
    parse_used_weight,
)
from exporter.upstream.proxy import Proxy, direct
from exporter.upstream.redact import Redactor
from exporter.upstream.signing import signature_of

log = logging.getLogger(__name__)

API_KEY_HEADER = "X-MBX-APIKEY"
READ_CHUNK = 64 * 1024
# Binance always sends Retry-After with 429/418; these apply if it does not, or sends a value
# that cannot be used (negative, unreadable).
DEFAULT_RETRY_AFTER = {429: 60.0, 418: 120.0}
# Bodies larger than this are redacted in a worker thread, so the event loop keeps serving.
REDACT_INLINE_BYTES = 64 * 1024
MAX_MESSAGE_CHARS = 300
EXCERPT_BYTES = 120
# Binance's error codes are small negative numbers; anything far outside is not one.
MAX_ERROR_CODE = 10**9
# Failures of the host rather than of the request: the next request goes to the next host.
FAILOVER_REASONS = frozenset({Reason.TIMEOUT, Reason.CONNECTION, Reason.SERVER_ERROR})


@dataclass(frozen=True)
class UpstreamResponse:
    body: bytes
    used_weight: int | None


def one_line(text: str) -> str:
    return " ".join(text.split())


def binance_error(body: bytes, redact: Callable[[str], str]) -> tuple[int | None, str]:
    """Binance's `{"code": -1121, "msg": "..."}` out of an error body, or a short excerpt. The
    message is redacted once decoded (before it is cut short): JSON may hide an escaped secret
    that only decoding reveals."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        document = None
    if isinstance(document, dict):
        code = document.get("code")
        msg = document.get("msg")
        if isinstance(code, int) and not isinstance(code, bool) and abs(code) < MAX_ERROR_CODE:
            text = redact(one_line(msg)) if isinstance(msg, str) else ""
            return code, text[:MAX_MESSAGE_CHARS]
    return None, one_line(body[:EXCERPT_BYTES].decode("utf-8", "replace"))


class BinanceClient:
    """GETs one path from one of the base URLs. The current host moves on to the next base URL
    after a connection error, a timeout or a 5xx answer (failover).

    Every text the upstream (or a proxy on the way) sends back, body, reason phrase and error
    messages alike, passes through the redactor as it is read, before any of it is parsed or
    kept: so no log line, landing page or label value downstream can hold the key, the secret
    or a signature, whatever form the upstream echoes them in."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_urls: tuple[str, ...],
        api_key: str | None,
        max_response_bytes: int,
        *,
        redactor: Redactor | None = None,
        proxy_for: Callable[[str], Proxy] = direct,
        used_weight_header: str = USED_WEIGHT_HEADER,
    ) -> None:
        self._session = session
        self._used_weight_header = used_weight_header
        self._base_urls = base_urls
        self._api_key = api_key
        self._max_bytes = max_response_bytes
        self._redactor = redactor or Redactor([api_key] if api_key else [])
        self._proxies = {url: proxy_for(url) for url in base_urls}
        self._host_index = 0

    @property
    def base_urls(self) -> tuple[str, ...]:
        return self._base_urls

    @property
    def current_base_url(self) -> str:
        return self._base_urls[self._host_index]

    def _fail_over(self) -> None:
        if len(self._base_urls) > 1:
            failed = self.current_base_url
            self._host_index = (self._host_index + 1) % len(self._base_urls)
            log.warning("%s failed: the next requests go to %s", failed, self.current_base_url)

    async def get(
        self, path: str, timeout: float, query: str = "", *, api_key: str | None = None
    ) -> UpstreamResponse:
        """GET `path`; `api_key` sends that key instead of the client's own (one client per
        host serves the rates and every account's requests, so they share its failover)."""
        base_url = self.current_base_url
        try:
            return await self._get(base_url, path, query, timeout, api_key or self._api_key)
        except UpstreamFault as fault:
            # Requests to one host fail together: only the first failure moves on.
            failed_over = self.current_base_url != base_url
            if fault.reason in FAILOVER_REASONS and not failed_over:
                self._fail_over()
            raise

    async def _get(
        self, base_url: str, path: str, query: str, timeout: float, api_key: str | None
    ) -> UpstreamResponse:
        url = f"{base_url}{path}?{query}" if query else f"{base_url}{path}"
        headers = {"Accept": "application/json"}
        if api_key:
            headers[API_KEY_HEADER] = api_key
        proxy = self._proxies[base_url]
        headers.update(proxy.request_headers)
        signature = signature_of(query)
        try:
            async with asyncio.timeout(timeout):
                async with self._session.get(
                    url,
                    headers=headers,
                    allow_redirects=False,
                    proxy=proxy.url,
                    proxy_headers=proxy.tunnel_headers,
                ) as resp:
                    used_weight = parse_used_weight(resp.headers.get(self._used_weight_header))
                    raw = await self._read_capped(resp, used_weight)
                    body = await self._redacted(raw, signature)
                    if resp.status != 200:
                        raise self._status_fault(resp, body, used_weight, signature)
                    return UpstreamResponse(body, used_weight)
        except TimeoutError:
            raise UpstreamFault(
                Reason.TIMEOUT, f"no complete answer within {timeout:g}s from {base_url}"
            ) from None
        except aiohttp.ClientResponseError as exc:
            said = self._said(str(exc.message), signature)
            raise UpstreamFault(
                Reason.INVALID_RESPONSE, f"malformed HTTP response from {base_url}: {said}"
            ) from None
        except (aiohttp.ClientError, OSError) as exc:
            said = self._said(str(exc), signature)
            raise UpstreamFault(
                Reason.CONNECTION, f"{type(exc).__name__} talking to {base_url}: {said}"
            ) from None

    def _said(self, text: str, signature: str) -> str:
        """What the upstream (or aiohttp, quoting it) said: redacted, on one line, cut short."""
        return self._redactor.text(one_line(text), signature)[:MAX_MESSAGE_CHARS]

    async def _redacted(self, body: bytes, signature: str) -> bytes:
        if len(body) <= REDACT_INLINE_BYTES:
            return self._redactor.data(body, signature)
        return await asyncio.to_thread(self._redactor.data, body, signature)

    async def _read_capped(self, resp: aiohttp.ClientResponse, used_weight: int | None) -> bytes:
        declared = resp.content_length
        if declared is not None and declared > self._max_bytes:
            resp.close()
            raise self._too_large(resp.status, used_weight, f"declares {declared} bytes")
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_chunked(READ_CHUNK):
            size += len(chunk)
            if size > self._max_bytes:
                resp.close()
                raise self._too_large(resp.status, used_weight, "is longer")
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(self, status: int, used_weight: int | None, how: str) -> UpstreamFault:
        return UpstreamFault(
            Reason.INVALID_RESPONSE,
            f"response body {how} than the {self._max_bytes}-byte cap (--max-response-bytes)",
            status=status,
            used_weight=used_weight,
        )

    def _status_fault(
        self, resp: aiohttp.ClientResponse, body: bytes, used_weight: int | None, signature: str
    ) -> UpstreamFault:
        code, message = binance_error(body, lambda text: self._redactor.text(text, signature))
        retry_after = parse_retry_after(
            resp.headers.get(RETRY_AFTER_HEADER), resp.headers.get(DATE_HEADER)
        )
        if retry_after is None:
            retry_after = DEFAULT_RETRY_AFTER.get(resp.status)
        reason_phrase = self._said(resp.reason or "", signature)
        return UpstreamFault(
            classify_status(resp.status, code),
            message or reason_phrase,
            status=resp.status,
            code=code,
            retry_after=retry_after,
            used_weight=used_weight,
        )
