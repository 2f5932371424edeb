"""Container health check (the image has no curl): exit 0 when the exporter on this host answers
GET /healthz, over plain HTTP or over TLS, whichever the server speaks.

    python -m exporter.web.healthcheck [HOST:PORT]

Where to probe comes from the exporter's own settings table, read as the exporter reads it: the
flags on its command line, either spelling (from /proc/1/cmdline: in the image the exporter is
PID 1, also behind `docker run --init`) and, when they leave it unset,
BINANCE_PM_LISTEN_ADDRESS; flags win. A HOST:PORT argument overrides the address. An
all-interfaces address is probed on loopback.

Whether TLS is on is judged by what the server answers, never by re-reading the web config file:
the running exporter keeps its TLS and basic auth when the file is emptied or broken, and the
check must agree with it. Liveness only: a 401 (basic auth) or a TLS handshake refused for want
of a client certificate still proves the process serves; certificates are not verified."""

from __future__ import annotations

import os
import socket
import ssl
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath

from exporter.config import ConfigError, parse_listen_address, read_given

TIMEOUT_SECONDS = 4.0
PATH = "/healthz"
EXPORTER_COMMAND_LINE = Path("/proc/1/cmdline")
CONSOLE_SCRIPT = "binance-pm-exporter"


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


def exporter_arguments(command_line: bytes) -> list[str] | None:
    """The exporter's own arguments in a NUL-separated command line (its console script's, or
    `python -m exporter`'s); None when the command line is not the exporter's."""
    argv = [arg.decode(errors="surrogateescape") for arg in command_line.split(b"\0")]
    if argv and argv[-1] == "":
        argv.pop()
    for i, arg in enumerate(argv):
        if PurePosixPath(arg).name == CONSOLE_SCRIPT:
            return argv[i + 1 :]
        if arg == "-m" and argv[i + 1 : i + 2] == ["exporter"]:
            return argv[i + 2 :]
    return None


def read_command_line(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""  # not on Linux, or PID 1 is out of sight: the environment alone decides


def listen_address(exporter_argv: Sequence[str] | None, environ: Mapping[str, str]) -> str:
    """Where the exporter with these arguments (None: not known) and this environment listens."""
    return read_given(exporter_argv or (), environ, ignore_unknown=True)["listen_address"].text


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


def _alive_over_http(host: str, port: int, timeout: float) -> bool | None:
    """True or False for an HTTP answer or none at all; None when something took the connection
    but did not answer HTTP (a TLS server, probably)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            status = _status(sock)
    except (ConnectionRefusedError, TimeoutError):
        return False
    except OSError:
        return None
    return None if status is None else status < 500


def _alive_over_tls(host: str, port: int, timeout: float) -> bool:
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


def alive(host: str, port: int, timeout: float = TIMEOUT_SECONDS) -> bool:
    """Plain HTTP first; a server that takes the connection but answers no HTTP is probed over
    TLS (a TLS server drops a plain request without a word)."""
    over_http = _alive_over_http(host, port, timeout)
    if over_http is not None:
        return over_http
    return _alive_over_tls(host, port, timeout)


def main(
    argv: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
    command_line: Path = EXPORTER_COMMAND_LINE,
) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    env = os.environ if environ is None else environ
    try:
        if args:
            address = args[0]
        else:
            address = listen_address(exporter_arguments(read_command_line(command_line)), env)
        host, port = parse_listen_address(address, "address")
    except ConfigError as exc:
        print(f"healthcheck: {exc}", file=sys.stderr)
        return 2
    ok = alive(probe_host(host), port)
    print("healthy" if ok else f"unhealthy: no answer on {address}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
