"""The benchmark's results as Markdown tables."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import statistics
import subprocess
from collections.abc import Sequence
from pathlib import Path

from bench.economy import EconomyResult
from bench.instructions import InstructionsRow
from bench.memory import MemoryResult
from bench.procs import STEADY_HEAP_ENV
from bench.scaling import ScalingRow
from bench.startup import StartupResult
from bench.throughput import ThroughputRow

MB = 1024 * 1024
SCRAPE_TIMEOUT_S = 10.0  # Prometheus' default scrape_timeout
STEADY_HEAP_ENV_TEXT = " ".join(f"{name}={value}" for name, value in STEADY_HEAP_ENV.items())


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def version_of(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine(generator: str, placement: str) -> str:
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    return "\n".join(
        [
            f"- CPU: {cpu_model()}, {os.cpu_count()} cores (nproc)",
            f"- Python {platform.python_version()}, Linux {platform.release()}",
            f"- aiohttp {version_of('aiohttp')}, prometheus-client "
            f"{version_of('prometheus-client')}, uvloop {version_of('uvloop')}",
            f"- load generator: {generator}; {placement}; load average at the start: {load}",
        ]
    )


def tree_label(tree: Path) -> str:
    """The tree's path, and its commit when it is a git checkout."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(tree), "log", "-1", "--format=%h %s"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return str(tree)
    return f"{tree} (commit {commit})"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def throughput_table(rows: Sequence[ThroughputRow], assets: int, seconds: float) -> str:
    def three(bare: float, static: float, exporter: float, spec: str) -> str:
        return f"{bare:{spec}} / {static:{spec}} / {exporter:{spec}}"

    body = [
        [
            r.loop,
            r.encoding,
            f"{r.body_bytes:,}",
            f"{r.bare.rps:,.0f} / {r.static.rps:,.0f} / **{r.exporter.rps:,.0f}**",
            f"**{r.ratio:.2f}**",
            f"{r.static_ratio:.2f}",
            f"{r.bare.p50_ms:.2f} / {r.bare.p99_ms:.2f}",
            f"{r.exporter.p50_ms:.2f} / {r.exporter.p99_ms:.2f}",
            f"{r.bare.p50_ms / r.exporter.p50_ms:.2f} / {r.bare.p99_ms / r.exporter.p99_ms:.2f}",
            three(
                r.bare.cpu_us_per_request,
                r.static.cpu_us_per_request,
                r.exporter.cpu_us_per_request,
                ".0f",
            ),
            three(
                r.bare.faults_per_request,
                r.static.faults_per_request,
                r.exporter.faults_per_request,
                ".2f",
            ),
        ]
        + (
            [
                f"{r.against.rps:,.0f}",
                f"{r.against.rps / r.bare.rps:.2f}",
                f"{r.against.cpu_us_per_request:.0f}",
            ]
            if r.against is not None
            else []
        )
        for r in rows
    ]
    header = [
        "loop",
        "encoding",
        "body bytes",
        "req/s: bare / static / exporter",
        "ratio to bare",
        "ratio to static",
        "bare p50 / p99 ms",
        "exporter p50 / p99 ms",
        "latency ratio bare / exporter, p50 / p99",
        "CPU µs per scrape: bare / static / exporter",
        "page faults per scrape: bare / static / exporter",
    ]
    first = rows[0]
    if first.against is not None:
        header += ["--against req/s", "--against ratio to bare", "--against CPU µs per scrape"]
    heap = (
        f"Every server ran with `{STEADY_HEAP_ENV_TEXT}`, so that none gives its heap back to "
        "the kernel between scrapes (see *page faults*)."
        if first.steady_heap
        else "Every server ran with glibc's default heap settings (`--default-heap`)."
    )
    title = "### 1. Cached scrape vs. a bare aiohttp server serving the same bytes"
    note = (
        f"{assets} assets; {first.connections} keep-alive connections per server; "
        f"{seconds:g} s of load per server and row, in alternating half-second turns, spread "
        f"over {first.pairs} fresh sets of processes; latency percentiles are the median over "
        "the sets. *bare*: a minimal aiohttp server process serving the exporter's bytes with "
        "its headers; *static*: an exporter process whose /metrics handler only returns the "
        "bytes of its first rendering. CPU and minor page faults are each server process's "
        f"during its own turns. {heap}"
    )
    return f"{title}\n\n{note}\n\n{table(header, body)}"


def instructions_table(rows: Sequence[InstructionsRow]) -> str:
    body = [
        [
            r.loop,
            r.encoding,
            f"{r.bare:,.0f} / {r.static:,.0f} / **{r.exporter:,.0f}**",
            f"{r.exporter - r.bare:+,.0f}",
            f"**{r.ratio:.3f}**",
        ]
        + ([f"{r.against:,.0f}", f"{r.bare / r.against:.3f}"] if r.against is not None else [])
        for r in rows
    ]
    header = [
        "loop",
        "encoding",
        "instructions per scrape: bare / static / exporter",
        "exporter - bare",
        "ratio bare / exporter",
    ]
    if rows[0].against is not None:
        header += ["--against instructions per scrape", "--against ratio bare / it"]
    scrapes = rows[0].scrapes
    note = (
        f"Each server under valgrind's callgrind, {scrapes:,} cached scrapes per encoding after "
        "a warm-up, with the same load generator and allocator settings as item 1; the count "
        "moves by about 0.1 % from one run of the same code to the next, so this is the "
        "nearly noise-free view of item 1."
    )
    return f"### 1b. Instructions per cached scrape\n\n{note}\n\n{table(header, body)}"


def economy_table(results: Sequence[EconomyResult]) -> str:
    body = [
        [
            r.loop,
            f"{r.interval:g} s",
            f"{r.elapsed:.1f} s",
            f"{r.scrapes:,} ({r.bursts} bursts of {r.burst_size})",
            f"**{r.upstream_requests}**",
            str(r.bound),
            f"{min(r.gaps):.3f} / {statistics.mean(r.gaps):.3f} / {max(r.gaps):.3f}"
            if r.gaps
            else "-",
            str(r.exporter_counted),
            "pass" if r.ok else "**FAIL**",
        ]
        for r in results
    ]
    header = [
        "loop",
        "--min-interval",
        "elapsed",
        "scrapes",
        "upstream requests",
        "⌊elapsed/interval⌋ + 1",
        "gap between requests min / mean / max s",
        "exporter's requests_total",
        "never more",
    ]
    note = (
        "An HA pair of scrapers (each every interval/5, half a period apart) plus bursts of "
        "concurrent scrapes every 0.1 to 0.3 intervals, against a fake Binance that answers in "
        "100 ms. A request goes out at the first scrape after the interval has passed, so the "
        "mean gap exceeds the interval by the mean wait for that scrape, and the count can fall "
        "short of the bound by that drift; it can never exceed it."
    )
    return f"### 2. Upstream economy\n\n{note}\n\n{table(header, body)}"


def scaling_table(rows: Sequence[ScalingRow]) -> str:
    body = []
    for row in rows:
        c, s = row.cost, row.scrape
        body.append(
            [
                f"{c.assets:,}",
                f"{c.identity_bytes:,} / {c.gzip_bytes:,}",
                f"{c.refresh_ms:.2f} ({c.parse_ms:.2f})",
                f"{c.render_ms:.2f}",
                f"{c.gzip_ms:.2f}",
                f"**{c.total_ms:.2f}**",
                f"{c.total_ms / c.assets * 1000:.1f}",
                f"{c.cached_lookup_us:.2f}",
                f"{s.exporter.p50_ms:.3f} / {s.static.p50_ms:.3f}",
                f"{s.static.p50_ms / s.exporter.p50_ms:.2f}",
            ]
        )
    header = [
        "assets",
        "OpenMetrics bytes identity / gzip",
        "fetch + parse ms (parse)",
        "render ms",
        "gzip ms",
        "refresh total ms",
        "µs per asset",
        "cached lookup µs",
        "cached scrape p50 ms, exporter / static",
        "latency ratio",
    ]
    return f"### 3. Scaling in assets\n\n{table(header, body)}"


def memory_table(result: MemoryResult, scaling: Sequence[ScalingRow]) -> str:
    def mb(n: int) -> str:
        return f"{n / MB:.1f}"

    checkpoints = [scrapes for scrapes, _ in result.exporter.checkpoints]
    body = []
    for name, r in (("exporter", result.exporter), ("bare aiohttp", result.baseline)):
        body.append(
            [
                f"{name}, {result.assets} assets",
                mb(r.after_start),
                mb(r.after_warmup),
                *(mb(rss) for _, rss in r.checkpoints),
                f"**{r.growth / MB:+.1f}**",
            ]
        )
    for row in scaling:
        if row.cost.assets == max(s.cost.assets for s in scaling):
            rss = f"{mb(row.scrape.exporter_rss)} (†)"
            dashes = ["-"] * (len(checkpoints) - 1)
            body.append([f"exporter, {row.cost.assets:,} assets", "-", "-", *dashes, rss, "-"])
    header = [
        "process",
        "after start MB",
        f"after {result.warmup:,} warm-up scrapes MB",
        *(f"+{n:,} scrapes MB" for n in checkpoints),
        "growth after the warm-up MB",
    ]
    note = (
        f"Resident set size (RSS); half the scrapes ask for gzip. The exporter refreshed "
        f"{result.refreshes} times during its scrapes (--min-interval 1), so each new snapshot "
        "was rendered and cached anew. (†) after the scaling runs of item 3 (cached scrapes, "
        "gzip)."
    )
    return f"### 4. Memory\n\n{table(header, body)}\n\n{note}"


def startup_table(results: Sequence[StartupResult]) -> str:
    body = [
        [
            r.loop,
            f"**{r.exporter_s * 1000:.0f}**",
            f"{r.baseline_s * 1000:.0f}",
            f"{r.exporter_s / r.baseline_s:.2f}",
            f"{r.interpreter_s * 1000:.0f}",
        ]
        for r in results
    ]
    header = [
        "loop",
        "exporter: launch to first scrape ms",
        "bare aiohttp: launch to first response ms",
        "ratio",
        "`python -c pass` ms",
    ]
    runs = results[0].runs if results else 0
    return f"### 5. Start-up (median of {runs})\n\n{table(header, body)}"


def verdicts(
    throughput: Sequence[ThroughputRow],
    instructions: Sequence[InstructionsRow],
    economy: Sequence[EconomyResult],
    scaling: Sequence[ScalingRow],
    memory: MemoryResult | None,
) -> str:
    lines = []
    if throughput:
        worst = min(throughput, key=lambda r: r.ratio)
        lines.append(
            f"- throughput ratio to bare aiohttp >= 0.9: {'yes' if worst.ratio >= 0.9 else 'NO'} "
            f"(lowest {worst.ratio:.3f}: {worst.loop}, {worst.encoding})"
        )
    if instructions:
        fewest = min(instructions, key=lambda r: r.ratio)
        lines.append(
            f"- instructions ratio bare / exporter >= 0.9: "
            f"{'yes' if fewest.ratio >= 0.9 else 'NO'} "
            f"(lowest {fewest.ratio:.3f}: {fewest.loop}, {fewest.encoding})"
        )
    if economy:
        ok = all(r.ok for r in economy)
        lines.append(
            f"- never more than one upstream request per interval: {'yes' if ok else 'NO'}"
        )
    if len(scaling) >= 2:
        small, large = scaling[-2].cost, scaling[-1].cost
        growth = large.total_ms / small.total_ms
        lines.append(
            f"- refresh cost {small.assets:,} -> {large.assets:,} assets "
            f"(x{large.assets / small.assets:.0f}): x{growth:.1f}; "
            f"{large.assets:,} assets take {large.total_ms:.0f} ms of a "
            f"{SCRAPE_TIMEOUT_S:g} s scrape timeout"
        )
    if memory is not None:
        lines.append(
            f"- exporter RSS growth over {memory.scrapes:,} scrapes: "
            f"{memory.exporter.growth / MB:+.1f} MB "
            f"(baseline {memory.baseline.growth / MB:+.1f} MB)"
        )
    return "### Verdict\n\n" + "\n".join(lines)
