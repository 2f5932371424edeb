"""Container health check (the image has no curl): exit 0 when the exporter on this host answers
GET /healthz, over plain HTTP or, when the web config turns TLS on, over TLS.

    python -m exporter.web.healthcheck [HOST:PORT]

The address defaults to BINANCE_PM_LISTEN_ADDRESS (else :10471); an all-interfaces address is
probed on loopback. Liveness only: a 401 (basic auth) or a TLS handshake refused for want of a
client certificate still proves the process serves; certificates are not verified."""

from __future__ import annotations

import os
import socket
import ssl
import sys
from collections.abc import Sequence

from exporter.config import DEFAULT_PORT, ConfigError, parse_listen_address

TIMEOUT_SECONDS = 4.0
PATH = "/healthz"


def probe_host(host: str | None) -> str:
    if host in (None, "", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "::1"
    return host


REQUEST = (
    b"GET " + PATH.encode() + b" HTTP/1.1\r\nHost: localhost\r\n"
    b"User-Agent: binance-pm-exporter-healthcheck\r\nConnection: close\r\n\r\n"
)


def _status(sock: socket.socket) -> int | None:
    """The HTTP status of GET /healthz on a connected socket; None if no HTTP answer."""
    sock.sendall(REQUEST)
    head = b""
    while b"\r\n" not in head and len(head) < 1024:
        chunk = sock.recv(1024)
        if not chunk:
            break
        head += chunk
    parts = head.split(b" ", 2)
    if len(parts) >= 2 and parts[0].startswith(b"HTTP/1.") and parts[1].isdigit():
        return int(parts[1])
    return None


def alive(host: str, port: int, timeout: float = TIMEOUT_SECONDS) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            status = _status(sock)
    except (ConnectionRefusedError, TimeoutError):
        return False
    except OSError:
        status = None  # something took the connection but did not answer HTTP: TLS, probably
    if status is not None:
        return status < 500
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=host) as sock,
        ):
            # The handshake is done: a TLS server is up. One that wants a client certificate
            # closes the connection now, without an HTTP answer.
            try:
                status = _status(sock)
            except OSError:
                status = None
    except ssl.SSLError:
        return True  # the TLS server refused the handshake (no client certificate): it is up
    except OSError:
        return False
    return status is None or status < 500


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    address = args[0] if args else os.environ.get("BINANCE_PM_LISTEN_ADDRESS", f":{DEFAULT_PORT}")
    try:
        host, port = parse_listen_address(address, "address")
    except ConfigError as exc:
        print(f"healthcheck: {exc}", file=sys.stderr)
        return 2
    ok = alive(probe_host(host), port)
    print("healthy" if ok else f"unhealthy: no answer on {address}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
