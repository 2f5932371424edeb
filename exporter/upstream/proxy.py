"""The proxy named by the standard environment variables (`HTTPS_PROXY`, `HTTP_PROXY`,
`NO_PROXY`, lowercase too), and nothing else from the environment: aiohttp's own `trust_env`
would also send credentials from `~/.netrc` (a `default` entry to every host, Binance
included), which the exporter must never do."""

from __future__ import annotations

import logging
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

import aiohttp
from yarl import URL

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Proxy:
    """A proxy, and the Proxy-Authorization its URL's credentials make: sent on the CONNECT of
    an https request (`tunnel_headers`), or with a plain http request itself."""

    url: URL | None = None
    tunnel_headers: Mapping[str, str] | None = None
    request_headers: Mapping[str, str] = field(default_factory=dict)


DIRECT = Proxy()


def env_proxy(url: str) -> Proxy:
    """The proxy for `url` from the environment, its credentials only from its own URL."""
    parts = urlsplit(url)
    if not parts.hostname or urllib.request.proxy_bypass(parts.hostname):
        return DIRECT
    proxy = urllib.request.getproxies().get(parts.scheme)
    if not proxy:
        return DIRECT
    if "://" not in proxy:  # HTTP_PROXY=host:port, as curl takes it
        proxy = "http://" + proxy
    try:
        proxy_url = URL(proxy)
        proxy_url.port  # noqa: B018  (raises ValueError on a malformed port)
    except ValueError:
        log.warning("ignored the %s proxy of the environment: not a valid URL", parts.scheme)
        return DIRECT
    if proxy_url.raw_user is None:
        return Proxy(proxy_url)
    user = unquote(proxy_url.raw_user)
    password = unquote(proxy_url.raw_password or "")
    credentials = {"Proxy-Authorization": aiohttp.encode_basic_auth(user, password)}
    if parts.scheme == "https":
        return Proxy(proxy_url.with_user(None), tunnel_headers=credentials)
    return Proxy(proxy_url.with_user(None), request_headers=credentials)


def direct(url: str) -> Proxy:
    return DIRECT
