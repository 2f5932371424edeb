"""The upstream client: one GET to Binance, size-capped, every failure an UpstreamFault."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp

from exporter.upstream.faults import (
    MAX_MESSAGE_CHARS,
    TRANSPORT_ERRORS,
    UpstreamFault,
    fails_over,
    is_answer,
    one_line,
    status_fault,
    too_large,
    transport_fault,
)
from exporter.upstream.headers import (
    DATE_HEADER,
    RETRY_AFTER_HEADER,
    USED_WEIGHT_HEADER,
    parse_used_weight,
)
from exporter.upstream.proxy import Proxy, direct
from exporter.upstream.redact import Redactor
from exporter.upstream.signing import signature_of

log = logging.getLogger(__name__)

API_KEY_HEADER = "X-MBX-APIKEY"
READ_CHUNK = 64 * 1024
# Bodies larger than this are redacted in a worker thread, so the event loop keeps serving.
REDACT_INLINE_BYTES = 64 * 1024


@dataclass(frozen=True)
class UpstreamResponse:
    body: bytes
    used_weight: int | None


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
        self._redactors: dict[tuple[str, ...], Redactor] = {}
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
        self,
        path: str,
        timeout: float,
        query: str = "",
        *,
        api_key: str | None = None,
        secrets: tuple[str, ...] = (),
    ) -> UpstreamResponse:
        """GET `path`; `api_key` sends that key instead of the client's own (one client per
        host serves the rates and every account's requests, so they share its failover), and
        `secrets` (that account's key and secret) are redacted from the answer as well as the
        client's own."""
        base_url = self.current_base_url
        redactor = self._redactor_with(secrets)
        try:
            return await self._get(
                base_url, path, query, timeout, api_key or self._api_key, redactor
            )
        except UpstreamFault as fault:
            # Requests to one host fail together: only the first failure moves on.
            failed_over = self.current_base_url != base_url
            if fails_over(fault) and not failed_over:
                self._fail_over()
            raise

    def _redactor_with(self, secrets: tuple[str, ...]) -> Redactor:
        if not secrets:
            return self._redactor
        found = self._redactors.get(secrets)
        if found is None:
            found = self._redactors[secrets] = self._redactor.extended(secrets)
        return found

    async def _get(
        self,
        base_url: str,
        path: str,
        query: str,
        timeout: float,
        api_key: str | None,
        redactor: Redactor,
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
                    body = await self._redacted(redactor, raw, signature)
                    if not is_answer(resp.status):
                        raise status_fault(
                            resp.status,
                            body,
                            reason_phrase=self._said(redactor, resp.reason or "", signature),
                            retry_after=resp.headers.get(RETRY_AFTER_HEADER),
                            date=resp.headers.get(DATE_HEADER),
                            used_weight=used_weight,
                            redact=lambda text: redactor.text(text, signature),
                        )
                    return UpstreamResponse(body, used_weight)
        except TRANSPORT_ERRORS as exc:
            raise transport_fault(
                exc,
                timeout=timeout,
                base_url=base_url,
                redact=lambda text: redactor.text(text, signature),
            ) from None

    def _said(self, redactor: Redactor, text: str, signature: str) -> str:
        """What the upstream (or aiohttp, quoting it) said: redacted, on one line, cut short."""
        return redactor.text(one_line(text), signature)[:MAX_MESSAGE_CHARS]

    async def _redacted(self, redactor: Redactor, body: bytes, signature: str) -> bytes:
        if len(body) <= REDACT_INLINE_BYTES:
            return redactor.data(body, signature)
        return await asyncio.to_thread(redactor.data, body, signature)

    async def _read_capped(self, resp: aiohttp.ClientResponse, used_weight: int | None) -> bytes:
        declared = resp.content_length
        if declared is not None and declared > self._max_bytes:
            resp.close()
            raise too_large(resp.status, used_weight, self._max_bytes, f"declares {declared} bytes")
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_chunked(READ_CHUNK):
            size += len(chunk)
            if size > self._max_bytes:
                resp.close()
                raise too_large(resp.status, used_weight, self._max_bytes, "is longer")
            chunks.append(chunk)
        return b"".join(chunks)
