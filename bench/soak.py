"""Soak: the exporter (a real `python -m exporter` process) scraped at a high rate for a long
time while its upstream flaps through every failure mode. It reports, and checks:

- the exporter's resident memory and open file descriptors stay flat;
- the upstream never saw a request inside a Retry-After window (429, 418, 503) nor before the
  next minute after it reported the IP weight nearly spent;
- nothing was lost: every good response's rates were exported by some scrape, exactly;
- every scrape was answered (200) with an exposition that parses;
- meanwhile a hostile client varies the request headers (odd Accept versions, q-values,
  encodings, scrape timeouts) and every answer is 200 with an exposition that parses, and a
  flood of wrong basic-auth passwords (bcrypt cost 10) gets 401 without delaying the scrapers,
  which send the right one;
- a second exporter, in demo mode and over TLS (a certificate of the soak's own CA), is held
  by connections that send a request head they never finish and by connections that never
  send a ClientHello, again and again: it cuts each off at its head deadline, answers every
  scrape meanwhile, and its memory and descriptors stay flat too.

    python bench/soak.py --duration 120
    python bench/soak.py --duration 15 --json result.json   (what CI runs)

Exit status 0 when every check holds, 1 otherwise."""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import random
import re
import signal
import ssl
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import bcrypt
import trustme
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.results import add_json_option, write_json  # noqa: E402
from tests.support.flapping import CYCLE, GOOD_MODES, FlappingUpstream  # noqa: E402
from tests.support.soak_figures import Sample, memory_figures  # noqa: E402

GENERATION_LINE = re.compile(r'binance_pm_collateral_rate\{asset="SOAKGEN"\} (\S+)')
API_KEY = "soak-test-key"
OPENMETRICS = "application/openmetrics-text;version=1.0.0"
START_SECONDS = 20.0
SCRAPE_USER = "soak"
SCRAPE_PASSWORD = "soak-scrape-password"
BCRYPT_COST = 10
FLOOD_DELAY_SECONDS = 1.0
# The exporter closes a connection that has not sent a complete request head by then.
HEAD_DEADLINE_SECONDS = 10.0
HELD_KINDS = ("partial_head", "silent")
PARTIAL_HEAD = b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"".join(
    b"X-Held-%d: %s\r\n" % (n, b"h" * 1000) for n in range(12)
)
HOSTILE_ACCEPTS = (
    "application/openmetrics-text;version=1.0.{n}",
    "application/openmetrics-text;version=abc{n}",
    "application/openmetrics-text;version=1.0.0-rc{n}",
    "text/plain;version=v{n}",
    "application/openmetrics-text;q=0.{n}, text/plain;q=0.9",
    ",;=;{n}",
)
HOSTILE_ENCODINGS = ("gzip;q=0", "identity, gzip;q=0.000", "gzip;q=0.{n}", "br;q={n}", "")


@dataclass
class ScrapeLog:
    scrapes: int = 0
    non_200: int = 0
    errors: list[str] = field(default_factory=list)
    parse_failures: list[str] = field(default_factory=list)
    seen: set[int] = field(default_factory=set)
    mismatches: list[str] = field(default_factory=list)
    slowest: float = 0.0


def exported_rates(text: str, accept: str) -> dict[str, float]:
    parse = openmetrics_families if accept == OPENMETRICS else text_string_to_metric_families
    return {
        sample.labels["asset"]: sample.value
        for family in parse(text)
        for sample in family.samples
        if sample.name == "binance_pm_collateral_rate"
    }


def note_exposition(text: str, accept: str, upstream: FlappingUpstream, log: ScrapeLog) -> None:
    found = GENERATION_LINE.search(text)
    full_check = log.scrapes % 50 == 0
    generation = round(float(found.group(1)) * 1e6) if found else None
    if generation is not None and generation not in log.seen:
        full_check = True
    if not full_check:
        return
    try:
        rates = exported_rates(text, accept)
    except ValueError as exc:
        log.parse_failures.append(f"{type(exc).__name__}: {exc}")
        return
    if generation is not None and generation not in log.seen:
        log.seen.add(generation)
        if rates != upstream.good[generation]:
            log.mismatches.append(f"generation {generation}: exported rates differ")


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


SCRAPE_AUTH = basic(SCRAPE_USER, SCRAPE_PASSWORD)


def client_session(tls: ssl.SSLContext | None, **kwargs: Any) -> aiohttp.ClientSession:
    """A client of an exporter: over TLS (a certificate of the soak's own CA) with `tls`."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=tls or True), **kwargs)


async def scrape_loop(
    url: str,
    tls: ssl.SSLContext | None,
    upstream: FlappingUpstream,
    log: ScrapeLog,
    until: float,
    worker: int,
) -> None:
    accepts = ("text/plain", OPENMETRICS)
    async with client_session(tls, headers={"Authorization": SCRAPE_AUTH}) as session:
        turn = worker
        while time.monotonic() < until:
            turn += 1
            accept = accepts[turn % 2]
            path = "/metrics" if turn % 20 else ("/", "/healthz")[turn % 40 // 20]
            started = time.monotonic()
            try:
                async with session.get(url + path, headers={"Accept": accept}) as response:
                    text = await response.text()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                log.errors.append(f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(0.05)
                continue
            log.slowest = max(log.slowest, time.monotonic() - started)
            if status != 200:
                log.non_200 += 1
            elif path == "/metrics":
                log.scrapes += 1
                note_exposition(text, accept, upstream, log)


@dataclass
class HostileLog:
    odd_header_scrapes: int = 0
    odd_header_failures: list[str] = field(default_factory=list)
    wrong_passwords: int = 0
    wrong_password_failures: list[str] = field(default_factory=list)
    cut_off: dict[str, int] = field(default_factory=dict)
    held_failures: list[str] = field(default_factory=list)
    tls_scrapes: int = 0
    tls_scrape_failures: list[str] = field(default_factory=list)


async def odd_headers_loop(
    url: str, tls: ssl.SSLContext | None, log: HostileLog, until: float
) -> None:
    """Scrapes with ever-different Accept, Accept-Encoding and scrape timeout headers: each
    must be 200 with an exposition that parses in the format its Content-Type names."""
    n = 0
    async with client_session(tls, headers={"Authorization": SCRAPE_AUTH}) as session:
        while time.monotonic() < until:
            n += 1
            headers = {
                "Accept": HOSTILE_ACCEPTS[n % len(HOSTILE_ACCEPTS)].format(n=n),
                "Accept-Encoding": HOSTILE_ENCODINGS[n % len(HOSTILE_ENCODINGS)].format(n=n),
                "X-Prometheus-Scrape-Timeout-Seconds": ("nan", "-1", "1e309", str(n))[n % 4],
            }
            try:
                async with session.get(url + "/metrics", headers=headers) as response:
                    text = await response.text()
                    if response.status != 200:
                        raise ValueError(f"status {response.status}")
                    openmetrics = response.headers["Content-Type"].startswith(
                        "application/openmetrics-text"
                    )
                    exported_rates(text, OPENMETRICS if openmetrics else "text/plain")
                log.odd_header_scrapes += 1
            except (aiohttp.ClientError, TimeoutError, ValueError, KeyError) as exc:
                log.odd_header_failures.append(f"{headers}: {type(exc).__name__}: {exc}")
                await asyncio.sleep(0.05)


async def wrong_password_loop(
    url: str, tls: ssl.SSLContext | None, log: HostileLog, until: float, worker: int
) -> None:
    """A new wrong password on every request, half of them for the real user name; from a
    second after the start, once the scrapers' credential is verified, as it would be when
    an attack begins on an exporter already being scraped."""
    n = 0
    await asyncio.sleep(FLOOD_DELAY_SECONDS)
    async with client_session(tls) as session:
        while time.monotonic() < until:
            n += 1
            user = SCRAPE_USER if n % 2 else f"intruder{worker}"
            headers = {"Authorization": basic(user, f"guess-{worker}-{n}")}
            try:
                async with session.get(url + "/metrics", headers=headers) as response:
                    await response.read()
                    if response.status != 401:
                        raise ValueError(f"status {response.status}")
                log.wrong_passwords += 1
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                log.wrong_password_failures.append(f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(0.05)


async def held_connection_loop(
    port: int, tls: ssl.SSLContext, kind: str, log: HostileLog, until: float
) -> None:
    """One hostile connection after the other, each held until the server closes it: a TLS
    connection sending a request head it never finishes (`partial_head`), or a TCP connection
    to the TLS port that never sends a ClientHello (`silent`)."""
    while time.monotonic() < until:
        try:
            if kind == "partial_head":
                reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=tls)
                writer.write(PARTIAL_HEAD)
            else:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except (OSError, ssl.SSLError) as exc:
            log.held_failures.append(f"{kind}: {type(exc).__name__}: {exc}")
            await asyncio.sleep(0.1)
            continue
        try:
            async with asyncio.timeout(until - time.monotonic()):
                while await reader.read(65536):
                    pass
            log.cut_off[kind] = log.cut_off.get(kind, 0) + 1
        except TimeoutError:
            return
        except (ConnectionError, ssl.SSLError):
            log.cut_off[kind] = log.cut_off.get(kind, 0) + 1
        finally:
            writer.close()


async def tls_scrape_loop(url: str, tls: ssl.SSLContext, log: HostileLog, until: float) -> None:
    """Scrapes of the TLS exporter while the held connections press on it: each must be 200."""
    async with client_session(tls) as session:
        while time.monotonic() < until:
            try:
                async with session.get(url + "/metrics") as response:
                    await response.read()
                    if response.status != 200:
                        raise ValueError(f"status {response.status}")
                log.tls_scrapes += 1
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                log.tls_scrape_failures.append(f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(0.1)


@dataclass(frozen=True)
class WebConfigs:
    basic_auth: Path  # the exporter under the flapping upstream: basic auth, plain HTTP
    tls: Path  # the demo exporter under held connections: TLS
    client_tls: ssl.SSLContext


def write_web_configs(directory: Path) -> WebConfigs:
    hashed = bcrypt.hashpw(SCRAPE_PASSWORD.encode(), bcrypt.gensalt(BCRYPT_COST)).decode()
    basic_auth = directory / "web.yml"
    basic_auth.write_text(f"basic_auth_users:\n  {SCRAPE_USER}: {hashed}\n", encoding="utf-8")
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1")
    server.cert_chain_pems[0].write_to_path(str(directory / "server.crt"))
    server.private_key_pem.write_to_path(str(directory / "server.key"))
    tls = directory / "tls.yml"
    tls.write_text(
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n", encoding="utf-8"
    )
    client_tls = ssl.create_default_context()
    ca.configure_trust(client_tls)
    return WebConfigs(basic_auth, tls, client_tls)


def sample_process(pid: int, started: float) -> Sample:
    rss = 0
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    return Sample(time.monotonic() - started, rss, len(os.listdir(f"/proc/{pid}/fd")))


async def sample_loop(pid: int, started: float, samples: list[Sample], until: float) -> None:
    while time.monotonic() < until:
        with contextlib.suppress(OSError):
            samples.append(sample_process(pid, started))
        await asyncio.sleep(0.5)


@dataclass
class Result:
    duration: float
    scrapes: int
    scrapes_per_second: float
    slowest_scrape_seconds: float
    upstream_requests: int
    served: dict[str, int]
    good_responses: int
    good_responses_exported: int
    lost_generations: list[int]
    rate_mismatches: list[str]
    retry_after_violations: list[str]
    scrape_errors: list[str]
    non_200: int
    parse_failures: list[str]
    rss_mib: dict[str, float]
    fds: dict[str, int]
    exporter_errors: list[str]
    odd_header_scrapes: int
    odd_header_failures: list[str]
    wrong_passwords_refused: int
    wrong_password_failures: list[str]
    held_cut_off: dict[str, int]
    held_failures: list[str]
    tls_scrapes: int
    tls_scrape_failures: list[str]
    tls_rss_mib: dict[str, float]
    tls_fds: dict[str, int]
    exit_code: int | None
    checks: dict[str, bool]

    @property
    def ok(self) -> bool:
        return all(self.checks.values())


async def start_exporter(
    upstream_url: str | None, args: argparse.Namespace, web_config: Path
) -> tuple[asyncio.subprocess.Process, str, list[str]]:
    """The exporter under `upstream_url`, or in demo mode for None."""
    upstream = ["--api-base-url", upstream_url] if upstream_url else ["--demo"]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "exporter",
        "--listen-address",
        "127.0.0.1:0",
        *upstream,
        "--min-interval",
        str(args.min_interval),
        "--timeout",
        str(args.timeout),
        "--max-response-bytes",
        str(args.max_bytes),
        "--log-format",
        "json",
        "--log-level",
        "info",
        "--web-config-file",
        str(web_config),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO,
        env={**os.environ, "BINANCE_API_KEY": API_KEY},
    )
    assert process.stderr is not None
    lines: list[str] = []
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        line = await asyncio.wait_for(process.stderr.readline(), START_SECONDS)
        if not line:
            break
        lines.append(line.decode("utf-8", "replace"))
        found = re.search(r"listening on (127\.0\.0\.1:\d+)", lines[-1])
        if found:
            scheme = "https" if "with TLS" in lines[-1] else "http"
            return process, f"{scheme}://{found.group(1)}", lines
    process.kill()
    raise SystemExit("the exporter did not start:\n" + "".join(lines))


async def stop_exporter(process: asyncio.subprocess.Process) -> int | None:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            process.kill()
            await process.wait()
            return None
    return process.returncode


async def drain(stream: asyncio.StreamReader, into: list[str]) -> None:
    while line := await stream.readline():
        into.append(line.decode("utf-8", "replace"))


def errors_in(log_lines: list[str]) -> list[str]:
    found = []
    for line in log_lines:
        with contextlib.suppress(ValueError):
            entry = json.loads(line)
            if isinstance(entry, dict) and entry.get("level") in ("error", "critical"):
                found.append(str(entry.get("msg"))[:300])
    return found


async def soak(args: argparse.Namespace) -> Result:
    rng = random.Random(args.seed)
    upstream = FlappingUpstream(rng, args.timeout, args.max_bytes)
    await upstream.start()
    workdir = tempfile.TemporaryDirectory(prefix="soak-")
    web_configs = await asyncio.to_thread(write_web_configs, Path(workdir.name))
    tls = web_configs.client_tls
    process, url, log_lines = await start_exporter(upstream.url, args, web_configs.basic_auth)
    tls_process, tls_url, tls_log_lines = await start_exporter(None, args, web_configs.tls)
    tls_port = int(tls_url.rsplit(":", 1)[1])
    hostile = HostileLog()
    assert process.stderr is not None
    assert tls_process.stderr is not None
    drainer = asyncio.create_task(drain(process.stderr, log_lines))
    tls_drainer = asyncio.create_task(drain(tls_process.stderr, tls_log_lines))
    tls_samples: list[Sample] = []
    tls_exit_code: int | None = None
    started = time.monotonic()
    until = started + args.duration
    log = ScrapeLog()
    samples: list[Sample] = []
    exit_code: int | None = None
    try:
        await asyncio.gather(
            sample_loop(process.pid, started, samples, until),
            *(scrape_loop(url, None, upstream, log, until, n) for n in range(args.scrapers)),
            odd_headers_loop(url, None, hostile, until),
            *(wrong_password_loop(url, None, hostile, until, n) for n in range(args.intruders)),
            sample_loop(tls_process.pid, started, tls_samples, until),
            tls_scrape_loop(tls_url, tls, hostile, until),
            *(
                held_connection_loop(tls_port, tls, kind, hostile, until)
                for kind in HELD_KINDS
                for _ in range(args.held)
            ),
        )
        # One last scrape, after the flapping: the latest good rates must be there too.
        await scrape_loop(url, None, upstream, log, time.monotonic() + 0.01, 0)
        samples.append(sample_process(process.pid, started))
        tls_samples.append(sample_process(tls_process.pid, started))
    finally:
        elapsed = time.monotonic() - started
        tls_exit_code = await stop_exporter(tls_process)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(tls_drainer, 5)
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                exit_code = await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                process.kill()
                await process.wait()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(drainer, 5)
        await upstream.stop()
        workdir.cleanup()

    rss, fds, rss_flat, fds_flat = memory_figures(samples)
    tls_rss, tls_fds, tls_rss_flat, tls_fds_flat = memory_figures(tls_samples)
    lost = sorted(set(upstream.good) - log.seen)
    exporter_errors = errors_in(log_lines)
    failure_modes = set(CYCLE) - GOOD_MODES - {"weight_near_limit"}
    checks = {
        "every_failure_mode_served": failure_modes <= set(upstream.served),
        "rss_flat": rss_flat,
        "fds_flat": fds_flat,
        "no_request_inside_retry_after": not upstream.violations,
        "nothing_lost": not lost and not log.mismatches and bool(upstream.good),
        "every_scrape_answered": not log.errors and not log.non_200 and log.scrapes > 0,
        "every_exposition_parsed": not log.parse_failures,
        "no_error_logged": not exporter_errors,
        "odd_headers_answered": hostile.odd_header_scrapes > 0 and not hostile.odd_header_failures,
        "wrong_passwords_refused": hostile.wrong_passwords > 0
        and not hostile.wrong_password_failures,
        "tls_rss_flat": tls_rss_flat,
        "tls_fds_flat": tls_fds_flat,
        "tls_scrapes_answered": hostile.tls_scrapes > 0 and not hostile.tls_scrape_failures,
        "tls_no_error_logged": not errors_in(tls_log_lines),
        "tls_clean_exit": tls_exit_code == 0,
        "held_connections_cut_off": not hostile.held_failures
        and (
            elapsed < HEAD_DEADLINE_SECONDS + 1
            or all(hostile.cut_off.get(kind, 0) > 0 for kind in HELD_KINDS)
        ),
        "clean_exit": exit_code == 0,
    }
    return Result(
        duration=round(elapsed, 1),
        scrapes=log.scrapes,
        scrapes_per_second=round(log.scrapes / elapsed, 1),
        slowest_scrape_seconds=round(log.slowest, 3),
        upstream_requests=upstream.requests,
        served=dict(sorted(upstream.served.items())),
        good_responses=len(upstream.good),
        good_responses_exported=len(log.seen & set(upstream.good)),
        lost_generations=lost,
        rate_mismatches=log.mismatches[:10],
        retry_after_violations=upstream.violations[:10],
        scrape_errors=log.errors[:10],
        non_200=log.non_200,
        parse_failures=log.parse_failures[:10],
        rss_mib=rss,
        fds=fds,
        exporter_errors=exporter_errors[:10],
        odd_header_scrapes=hostile.odd_header_scrapes,
        odd_header_failures=hostile.odd_header_failures[:10],
        wrong_passwords_refused=hostile.wrong_passwords,
        wrong_password_failures=hostile.wrong_password_failures[:10],
        held_cut_off=hostile.cut_off,
        held_failures=hostile.held_failures[:10],
        tls_scrapes=hostile.tls_scrapes,
        tls_scrape_failures=hostile.tls_scrape_failures[:10],
        tls_rss_mib=tls_rss,
        tls_fds=tls_fds,
        exit_code=exit_code,
        checks=checks,
    )


def report(result: Result, out: Callable[[str], None] = print) -> None:
    out(f"soak: {result.duration}s, {result.scrapes} scrapes ({result.scrapes_per_second}/s)")
    out(f"  slowest scrape: {result.slowest_scrape_seconds}s")
    out(f"  upstream requests: {result.upstream_requests}; served: {result.served}")
    out(
        f"  good responses: {result.good_responses}, exported: "
        f"{result.good_responses_exported}, lost: {len(result.lost_generations)}"
    )
    out(f"  RSS MiB: {result.rss_mib}")
    out(f"  open fds: {result.fds}")
    out(f"  Retry-After violations: {len(result.retry_after_violations)}")
    out(
        f"  odd-header scrapes: {result.odd_header_scrapes}; wrong passwords refused: "
        f"{result.wrong_passwords_refused}"
    )
    out(f"  TLS exporter: {result.tls_scrapes} scrapes; RSS MiB {result.tls_rss_mib}")
    out(f"    open fds: {result.tls_fds}")
    out(f"    held connections it cut off: {result.held_cut_off}")
    for name, passed in result.checks.items():
        out(f"  [{'ok' if passed else 'FAIL'}] {name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--duration", type=float, default=120.0, help="seconds (default 120)")
    parser.add_argument("--scrapers", type=int, default=8, help="concurrent scrapers (8)")
    parser.add_argument(
        "--intruders", type=int, default=16, help="connections sending wrong passwords (16)"
    )
    parser.add_argument(
        "--held",
        type=int,
        default=20,
        help="connections of each held kind: partial heads, silent TLS (20)",
    )
    parser.add_argument("--min-interval", type=float, default=0.05, help="exporter's (0.05)")
    parser.add_argument("--timeout", type=float, default=0.5, help="exporter's (0.5)")
    parser.add_argument("--max-bytes", type=int, default=65536, help="response cap (65536)")
    parser.add_argument("--seed", type=int, default=1)
    add_json_option(parser)
    args = parser.parse_args(argv)
    result = asyncio.run(soak(args))
    report(result)
    write_json(args.json, "soak", asdict(result))
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
