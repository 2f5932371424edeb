"""The upstream client: one GET to Binance, size-capped, every failure an UpstreamFault."""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import time
from dataclasses import dataclass

import aiohttp

from exporter.upstream.faults import Reason, UpstreamFault, classify_status

log = logging.getLogger(__name__)

USED_WEIGHT_HEADER = "X-SAPI-USED-IP-WEIGHT-1M"
API_KEY_HEADER = "X-MBX-APIKEY"
READ_CHUNK = 64 * 1024
# Binance always sends Retry-After with 429/418; these apply if it ever does not.
DEFAULT_RETRY_AFTER = {429: 60.0, 418: 120.0}
REDACTED = b"<redacted>"
# Failures of the host rather than of the request: the next request goes to the next host.
FAILOVER_REASONS = frozenset({Reason.TIMEOUT, Reason.CONNECTION, Reason.SERVER_ERROR})


@dataclass(frozen=True)
class UpstreamResponse:
    body: bytes
    used_weight: int | None


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), 7 * 24 * 3600.0)


def parse_used_weight(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        weight = int(value.strip())
    except ValueError:
        return None
    return weight if weight >= 0 else None


def binance_error(body: bytes) -> tuple[int | None, str]:
    """Binance's `{"code": -1121, "msg": "..."}` out of an error body, or a short excerpt."""
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    if isinstance(document, dict):
        code = document.get("code")
        msg = document.get("msg")
        if isinstance(code, int) and not isinstance(code, bool):
            return code, str(msg)[:300] if msg is not None else ""
    excerpt = body[:120].decode("utf-8", "replace").strip()
    return None, " ".join(excerpt.split())


class BinanceClient:
    """GETs one path from one of the base URLs. The current host moves on to the next base URL
    after a connection error, a timeout or a 5xx answer (failover)."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_urls: tuple[str, ...],
        api_key: str | None,
        max_response_bytes: int,
    ) -> None:
        self._session = session
        self._base_urls = base_urls
        self._api_key = api_key
        self._max_bytes = max_response_bytes
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

    async def get(self, path: str, timeout: float, query: str = "") -> UpstreamResponse:
        base_url = self.current_base_url
        try:
            return await self._get(base_url, path, query, timeout)
        except UpstreamFault as fault:
            # Requests to one host fail together: only the first failure moves on.
            failed_over = self.current_base_url != base_url
            if fault.reason in FAILOVER_REASONS and not failed_over:
                self._fail_over()
            raise

    async def _get(self, base_url: str, path: str, query: str, timeout: float) -> UpstreamResponse:
        url = f"{base_url}{path}?{query}" if query else f"{base_url}{path}"
        headers = {"Accept": "application/json"}
        if self._api_key:
            headers[API_KEY_HEADER] = self._api_key
        try:
            async with asyncio.timeout(timeout):
                async with self._session.get(url, headers=headers, allow_redirects=False) as resp:
                    used_weight = parse_used_weight(resp.headers.get(USED_WEIGHT_HEADER))
                    body = self._redacted(await self._read_capped(resp, used_weight), query)
                    if resp.status != 200:
                        raise self._status_fault(resp, body, used_weight)
                    return UpstreamResponse(body, used_weight)
        except TimeoutError:
            raise UpstreamFault(
                Reason.TIMEOUT, f"no complete answer within {timeout:g}s from {base_url}"
            ) from None
        except aiohttp.ClientResponseError as exc:
            said = self._redacted(str(exc.message).encode(), query).decode()
            raise UpstreamFault(
                Reason.INVALID_RESPONSE, f"malformed HTTP response from {base_url}: {said}"
            ) from None
        except (aiohttp.ClientError, OSError) as exc:
            said = str(exc).replace(query, "<query>") if query else str(exc)  # may be signed
            raise UpstreamFault(
                Reason.CONNECTION, f"{type(exc).__name__} talking to {base_url}: {said}"
            ) from None

    def _redacted(self, data: bytes, query: str) -> bytes:
        """The upstream, or a proxy on the way, may echo the key or the signed query back: they
        are blanked out here, before an excerpt (too short for the log's masking to recognise)
        reaches a log line, the landing page or a label value."""
        for secret in (self._api_key, query):
            if secret:
                data = data.replace(secret.encode(), REDACTED)
        return data

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

    @staticmethod
    def _status_fault(
        resp: aiohttp.ClientResponse, body: bytes, used_weight: int | None
    ) -> UpstreamFault:
        code, message = binance_error(body)
        retry_after = parse_retry_after(resp.headers.get("Retry-After"))
        if retry_after is None:
            retry_after = DEFAULT_RETRY_AFTER.get(resp.status)
        return UpstreamFault(
            classify_status(resp.status, code),
            message or resp.reason or "",
            status=resp.status,
            code=code,
            retry_after=retry_after,
            used_weight=used_weight,
        )
