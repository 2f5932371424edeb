"""The proxy named by the standard environment variables (`HTTPS_PROXY`, `HTTP_PROXY`,
`NO_PROXY`, lowercase too), and nothing else from the environment: aiohttp's own `trust_env`
would also send credentials from `~/.netrc` (a `default` entry to every host, Binance
included), which the exporter must never do."""

from __future__ import annotations

import logging
import urllib.request
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import aiohttp
from yarl import URL

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Proxy:
    url: URL | None = None
    auth: aiohttp.BasicAuth | None = None


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
    auth = None
    if proxy_url.raw_user is not None:
        user = unquote(proxy_url.raw_user)
        password = unquote(proxy_url.raw_password or "")
        auth = aiohttp.BasicAuth(user, password)
        proxy_url = proxy_url.with_user(None)
    return Proxy(proxy_url, auth)


def direct(url: str) -> Proxy:
    return DIRECT
