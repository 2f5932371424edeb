"""A closed-loop HTTP/1.1 load generator, run as its own process so that the servers under test
do not share an event loop (or, on two cores, a core) with their client.

Each target gets --connections keep-alive connections; each connection sends a GET, reads the
whole response and sends the next. With several targets, the load alternates between them in
short slices (A B B A A B ...) until each had --duration seconds, so that whatever else the
machine is doing falls on all of them alike; with --pid, the CPU time each target's process
used during its own slices is read from /proc. With --requests, load stops after that many
answers (one target). Prints one JSON line: per target, requests, non-200 answers, elapsed
seconds, latency percentiles, CPU seconds, the distinct body lengths, and per-slice figures.

    python -m bench.loadgen --url http://127.0.0.1:8080/metrics --pid 1234 --duration 5
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast
from urllib.parse import urlsplit

from bench import procstat
from bench.loops import LOOPS, installed_loops, run_with_loop
from bench.results import add_json_option, write_json

IO_TIMEOUT = 10.0


@dataclass
class Tally:
    """What one target's connections share: when to stop, and what they saw."""

    remaining: int | None = None
    stop_at: float = 0.0
    latencies: list[float] = field(default_factory=list)
    non_200: int = 0
    body_lengths: set[int] = field(default_factory=set)
    first_body_sha256: str = ""

    def take(self) -> bool:
        if time.perf_counter() >= self.stop_at:
            return False
        if self.remaining is None:
            return True
        if self.remaining <= 0:
            return False
        self.remaining -= 1
        return True


def build_request(host: str, port: int, path: str, headers: Sequence[tuple[str, str]]) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    raise ValueError("response without Content-Length")


class Connection(asyncio.Protocol):
    """One keep-alive connection: a request, its whole response, the next request, until its
    tally says stop; then it idles until the next slice. A bare protocol rather than streams,
    so that the client costs far less per request than the server it measures."""

    def __init__(self, request: bytes, tally: Tally) -> None:
        self._request = request
        self._tally = tally
        self._transport: asyncio.Transport | None = None
        self._idle: asyncio.Future[None] | None = None
        self._buffer = bytearray()
        self._body_left = -1  # -1: reading the head
        self._status = b""
        self._started = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def run_slice(self) -> asyncio.Future[None]:
        """Sends requests until the tally says stop; the future is done then."""
        self._idle = asyncio.get_running_loop().create_future()
        self._send()
        return self._idle

    def _send(self) -> None:
        assert self._transport is not None
        assert self._idle is not None
        if not self._tally.take():
            if not self._idle.done():
                self._idle.set_result(None)
            return
        self._started = time.perf_counter()
        self._transport.write(self._request)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._body_left < 0:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self._buffer[: end + 4])
            del self._buffer[: end + 4]
            self._status = head[9:12]
            self._body_left = content_length(head)
        if len(self._buffer) < self._body_left:
            return
        if len(self._buffer) > self._body_left:
            raise RuntimeError("more bytes than the response declared")
        self._finish(bytes(self._buffer))

    def _finish(self, body: bytes) -> None:
        tally = self._tally
        tally.latencies.append(time.perf_counter() - self._started)
        if self._status != b"200":
            tally.non_200 += 1
        if not tally.first_body_sha256:
            tally.first_body_sha256 = hashlib.sha256(body).hexdigest()
        tally.body_lengths.add(len(body))
        self._buffer.clear()
        self._body_left = -1
        self._send()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._idle is not None and not self._idle.done():
            self._idle.set_exception(exc or ConnectionError("the server closed the connection"))

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


@dataclass
class Target:
    url: str
    pid: int | None
    tally: Tally = field(default_factory=Tally)
    connections: list[Connection] = field(default_factory=list)
    slices: list[dict[str, float]] = field(default_factory=list)

    async def connect(self, count: int, headers: Sequence[tuple[str, str]]) -> None:
        parts = urlsplit(self.url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        request = build_request(host, port, parts.path or "/", headers)
        loop = asyncio.get_running_loop()
        for _ in range(count):
            _, protocol = await loop.create_connection(
                lambda: Connection(request, self.tally), host, port
            )
            self.connections.append(protocol)

    async def run_slice(self, seconds: float, record: bool) -> None:
        answered = len(self.tally.latencies)
        before = procstat.counters(self.pid)
        started = time.perf_counter()
        self.tally.stop_at = started + seconds
        await asyncio.wait_for(
            asyncio.gather(*(c.run_slice() for c in self.connections)), seconds + IO_TIMEOUT
        )
        if record:
            used = procstat.counters(self.pid) - before
            self.slices.append(
                {
                    "requests": len(self.tally.latencies) - answered,
                    "elapsed": time.perf_counter() - started,
                    "cpu_seconds": used.cpu_seconds,
                    "minor_faults": used.minor_faults,
                }
            )
        else:
            del self.tally.latencies[answered:]

    def summary(self) -> dict[str, object]:
        latencies = sorted(self.tally.latencies)
        elapsed = sum(s["elapsed"] for s in self.slices)
        return {
            "url": self.url,
            "requests": len(latencies),
            "non_200": self.tally.non_200,
            "elapsed": elapsed,
            "rps": len(latencies) / elapsed if elapsed > 0 else 0.0,
            "p50_ms": percentile(latencies, 0.50) * 1000.0,
            "p99_ms": percentile(latencies, 0.99) * 1000.0,
            "cpu_seconds": sum(s["cpu_seconds"] for s in self.slices),
            "minor_faults": sum(s["minor_faults"] for s in self.slices),
            "body_lengths": sorted(self.tally.body_lengths),
            "first_body_sha256": self.tally.first_body_sha256,
            "slices": self.slices,
        }


def percentile(sorted_values: Sequence[float], share: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(share * len(sorted_values)) - 1))
    return sorted_values[index]


async def generate(
    targets: list[Target],
    headers: Sequence[tuple[str, str]],
    *,
    connections: int,
    duration: float,
    warmup: float,
    slice_seconds: float,
    requests: int | None,
) -> dict[str, object]:
    for target in targets:
        target.tally.remaining = requests
        await target.connect(connections, headers)
    try:
        for target in targets:
            if warmup > 0:
                await target.run_slice(warmup, record=False)
        rounds = max(1, round(duration / slice_seconds)) if len(targets) > 1 else 1
        for number in range(rounds):
            order = targets if number % 2 == 0 else targets[::-1]
            for target in order:
                await target.run_slice(duration / rounds, record=True)
    finally:
        for target in targets:
            for connection in target.connections:
                connection.close()
    return {"targets": [target.summary() for target in targets]}


def parse_header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected 'Name: value', got {text!r}")
    return name.strip(), value.strip()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__)
    parser.add_argument("--url", action="append", required=True, help="a target; repeatable")
    parser.add_argument("--pid", type=int, action="append", default=[], help="per --url")
    parser.add_argument("--header", "-H", type=parse_header, action="append", default=[])
    parser.add_argument("--connections", type=int, default=16, help="per target")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per target")
    parser.add_argument("--warmup", type=float, default=0.0, help="seconds per target")
    parser.add_argument("--slice", type=float, default=0.5, help="seconds per turn")
    parser.add_argument("--requests", type=int, default=None, help="stop after this many")
    parser.add_argument("--loop", choices=LOOPS, default=installed_loops()[-1])
    add_json_option(parser)
    args = parser.parse_args(argv)
    if args.pid and len(args.pid) != len(args.url):
        parser.error("give one --pid per --url, or none")
    if args.requests is not None and len(args.url) > 1:
        parser.error("--requests takes one --url")
    pids: list[int | None] = list(args.pid) or [None] * len(args.url)
    targets = [Target(url, pid) for url, pid in zip(args.url, pids, strict=True)]
    result = run_with_loop(
        args.loop,
        generate(
            targets,
            args.header,
            connections=args.connections,
            duration=3600.0 if args.requests is not None else args.duration,
            warmup=args.warmup,
            slice_seconds=args.slice,
            requests=args.requests,
        ),
    )
    result["loop"] = args.loop
    print(json.dumps(result), flush=True)
    write_json(args.json, "loadgen", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
