"""The benchmarks' figures as the docs' Markdown tables: bench/bench.py's, and that of every
JSON file a benchmark writes with `--json PATH`, whichever benchmark it names:

    python -m bench.report results/*.json
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.accounts import RefreshRow, WeightRow
from bench.accounts import ThroughputRow as AccountsThroughputRow
from bench.accounts import render as accounts_document
from bench.economy import EconomyResult
from bench.from_json import load
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


@dataclass
class Results:
    throughput: list[ThroughputRow] = dataclasses.field(default_factory=list)
    instructions: list[InstructionsRow] = dataclasses.field(default_factory=list)
    economy: list[EconomyResult] = dataclasses.field(default_factory=list)
    scaling: list[ScalingRow] = dataclasses.field(default_factory=list)
    memory: MemoryResult | None = None
    startup: list[StartupResult] = dataclasses.field(default_factory=list)


@dataclass(frozen=True)
class BenchHeader:
    machine: str  # report.machine()'s lines, taken when the figures were
    command: str
    against: str | None  # the --against tree's label


def bench_document(
    head: BenchHeader,
    results: Results,
    assets: int,
    duration: float,
    instructions_skipped: bool = False,
) -> str:
    parts = ["## Benchmark results", "", head.machine, "", f"Command: `{head.command}`"]
    if head.against is not None:
        parts += ["", f"--against: {head.against}"]
    if results.throughput:
        parts += ["", throughput_table(results.throughput, assets, duration)]
    if results.instructions:
        parts += ["", instructions_table(results.instructions)]
    elif instructions_skipped:
        parts += ["", "(1b. instructions per scrape: skipped, valgrind is not installed.)"]
    if results.economy:
        parts += ["", economy_table(results.economy)]
    if results.scaling:
        parts += ["", scaling_table(results.scaling)]
    if results.memory is not None:
        parts += ["", memory_table(results.memory, results.scaling)]
    if results.startup:
        parts += ["", startup_table(results.startup)]
    parts += [
        "",
        verdicts(
            results.throughput,
            results.instructions,
            results.economy,
            results.scaling,
            results.memory,
        ),
    ]
    return "\n".join(parts) + "\n"


Document = Mapping[str, Any]


def bench_tables(documents: Sequence[Document]) -> str:
    return "\n".join(
        bench_document(
            load(BenchHeader, document),
            load(Results, document),
            document["assets"],
            document["duration"],
            document.get("instructions_skipped", False),
        )
        for document in documents
    )


def accounts_tables(documents: Sequence[Document]) -> str:
    return "\n".join(
        accounts_document(
            load(list[AccountsThroughputRow], document["throughput"]),
            load(list[RefreshRow], document["refresh"]),
            load(list[WeightRow], document["weights"]),
            document["command"],
        )
        for document in documents
    )


def soak_table(documents: Sequence[Document]) -> str:
    parts = []
    for d in documents:
        failures = d["upstream_requests"] - d["good_responses"]
        kinds = sum(1 for mode, n in d["served"].items() if n and not mode.startswith("good"))
        rss, fds, tls_rss, tls_fds = d["rss_mib"], d["fds"], d["tls_rss_mib"], d["tls_fds"]
        cut = d["held_cut_off"]
        rows = [
            [
                "scrapes with the right password",
                f"{d['scrapes']:,} ({d['scrapes_per_second']:,.0f} per second), slowest "
                f"{d['slowest_scrape_seconds']:.2f} s",
            ],
            ["scrapes with odd headers", f"{d['odd_header_scrapes']:,}"],
            ["wrong passwords", f"{d['wrong_passwords_refused']:,}, every one `401`"],
            [
                "upstream requests",
                f"{d['upstream_requests']:,} ({d['good_responses']:,} good, {failures:,} "
                f"failures of {kinds} kinds)",
            ],
            [
                "good responses exported",
                f"{d['good_responses_exported']:,} of {d['good_responses']:,}",
            ],
            ["requests inside a Retry-After window", str(len(d["retry_after_violations"]))],
            [
                "exporter RSS",
                f"{rss['start']:.1f} MiB at start, {rss['steady_early_median']:.1f} and "
                f"{rss['steady_late_median']:.1f} MiB median in the two halves of the steady "
                f"state, {rss['max']:.1f} MiB max",
            ],
            [
                "exporter open fds",
                f"{fds['start']} at start, {fds['steady_early_max']} and "
                f"{fds['steady_late_max']} max in the two halves of the steady state",
            ],
            [
                "TLS exporter under held connections",
                f"{d['tls_scrapes']:,} scrapes; {cut.get('partial_head', 0):,} partial heads "
                f"and {cut.get('silent', 0):,} silent connections cut off at the head "
                f"deadline; RSS {tls_rss['steady_early_median']:.1f} and "
                f"{tls_rss['steady_late_median']:.1f} MiB median in the two halves, fds "
                f"{tls_fds['steady_early_max']} and {tls_fds['steady_late_max']} max",
            ],
        ]
        checks = ", ".join(name for name, passed in d["checks"].items() if not passed)
        verdict = f"Checks failed: {checks}." if checks else "Every check held."
        parts.append(
            f"### Soak, {d['duration']:g} s\n\n{table(['figure', 'value'], rows)}\n\n{verdict}"
        )
    return "\n\n".join(parts) + "\n"


def detection_latency_table(documents: Sequence[Document]) -> str:
    trials = [trial for document in documents for trial in document["trials"]]
    rows = []
    for first, label in (
        (True, "first of its group (warning to `default`, critical to `pager`)"),
        (False, "further drop while the group is active"),
    ):
        chosen = [t for t in trials if t["first_in_group"] == first]
        if not chosen:
            continue
        latencies = [t["latency_s"] for t in chosen]
        rows.append(
            [
                label,
                ", ".join(f"{latency:.1f}" for latency in latencies),
                f"{statistics.median(latencies):.0f} s",
                f"{max(t['worst_case_s'] for t in chosen):.0f} s",
            ]
        )
    settings = "; ".join(
        ", ".join(f"{name} {value}" for name, value in document["settings"].items())
        for document in documents
    )
    header = ["drop", "measured (s)", "median", "worst case"]
    return f"### Detection latency\n\nSettings: {settings}.\n\n{table(header, rows)}\n"


def rule_evaluation_table(documents: Sequence[Document]) -> str:
    versions = list(dict.fromkeys(v for d in documents for v in d["versions"]))
    rows = []
    for document in documents:
        cells = [f"`{document['rules']}`"]
        for version in versions:
            figures = document["versions"].get(version)
            cells.append(
                f"median {figures['median_ms']:.0f} ms, fastest "
                f"{min(figures['evaluations_ms']):.0f} ms (load average "
                f"{figures['load_average_1m']:.1f})"
                if figures
                else "-"
            )
        rows.append(cells)
    return f"### Rule evaluation\n\n{table(['rules', *versions], rows)}\n"


AUTH_USERS = {
    "cheap": "a cost-{cheap} user",
    "dear": "a cost-{dear} user",
    "unknown": "an unknown user",
}


def auth_timing_block(documents: Sequence[Document]) -> str:
    parts = []
    for document in documents:
        cheap, dear = document["costs"]
        lines = [f"{'wrong password for':<20} {'q1':<7} {'median':<7} q3"]
        for user, figures in document["users"].items():
            name = AUTH_USERS.get(user, user).format(cheap=cheap, dear=dear)
            lines.append(
                f"{name:<20} {figures['q1_ms']:<7.1f} {figures['median_ms']:<7.1f} "
                f"{figures['q3_ms']:.1f}"
            )
        note = f"{document['rounds']} rounds, milliseconds: first quartile, median, third quartile"
        parts.append("### Basic auth timing\n\n" + note + "\n\n```\n" + "\n".join(lines) + "\n```")
    return "\n\n".join(parts) + "\n"


def redaction_table(documents: Sequence[Document]) -> str:
    parts = []
    for document in documents:
        rows = [[row["body"], f"{row['bytes']:,}", f"{row['ms']:.3g}"] for row in document["rows"]]
        header = ["body", "bytes", f"median of {document['repeats']} ms"]
        parts.append(f"### Redaction cost\n\n{table(header, rows)}")
    return "\n\n".join(parts) + "\n"


FLOOD_LABELS = {
    ("partial-head", False): "{n:,} partial heads, plain: before / peak / after",
    ("partial-head", True): "{n:,} partial heads, TLS",
    ("tls-silent", True): "{n:,} TLS connections without a ClientHello",
    ("tls-idle", True): "{n:,} idle TLS connections",
}


def connection_memory_table(documents: Sequence[Document]) -> str:
    """One column per file (per event loop), as docs/security.md shows them side by side."""
    rows = [
        ["RSS per idle plain connection (nothing sent)"]
        + [f"{d['idle_plain_kib']:.1f} KiB" for d in documents],
        ["RSS per idle TLS connection (handshake done, nothing sent)"]
        + [f"{d['idle_tls_kib']:.1f} KiB" for d in documents],
    ]
    for index, flood in enumerate(documents[0]["floods"]):
        label = FLOOD_LABELS.get((flood["name"], flood["tls"]), flood["name"])
        rows.append(
            [label.format(n=documents[0]["connections"])]
            + [
                "{before_mib:.1f} / {peak_mib:.1f} / {after_mib:.1f} MiB".format(
                    **d["floods"][index]
                )
                for d in documents
            ]
        )
    scrapes = []
    for d in documents:
        times = [f["scrape_s"] for f in d["floods"]]
        if any(t is None for t in times):
            scrapes.append("FAILED")
        else:
            scrapes.append(f"{min(times):.2g}-{max(times):.2g} s")
    rows.append(["a scrape during these floods", *scrapes])
    header = ["", *(d["loop"] for d in documents)]
    note = f"{documents[0]['idle_connections']} idle connections for the per-connection figures."
    return f"### What a connection costs\n\n{note}\n\n{table(header, rows)}\n"


def figures_table(title: str) -> Callable[[Sequence[Document]], str]:
    """The flat figures a measuring process hands its benchmark (value by name)."""

    def render(documents: Sequence[Document]) -> str:
        parts = []
        for document in documents:
            rows = [
                [name, f"{value:,.3f}" if isinstance(value, float) else json.dumps(value)]
                for name, value in document.items()
                if name != "benchmark"
            ]
            parts.append(f"### {title}\n\n{table(['figure', 'value'], rows)}")
        return "\n\n".join(parts) + "\n"

    return render


RENDERERS: dict[str, Callable[[Sequence[Document]], str]] = {
    "bench": bench_tables,
    "accounts": accounts_tables,
    "soak": soak_table,
    "detection_latency": detection_latency_table,
    "rule_evaluation": rule_evaluation_table,
    "auth_timing": auth_timing_block,
    "redaction": redaction_table,
    "connection_memory": connection_memory_table,
    "refresh_cost": figures_table("Refresh cost"),
    "account_refresh": figures_table("Account refresh rounds"),
    "loadgen": figures_table("Load generator"),
}


def render_documents(documents: Sequence[Document]) -> str:
    """Files of one benchmark are rendered together (e.g. one column per event loop)."""
    grouped: dict[str, list[Document]] = {}
    for document in documents:
        name = document.get("benchmark")
        if name not in RENDERERS:
            raise ValueError(f"unknown benchmark {name!r} (known: {', '.join(RENDERERS)})")
        grouped.setdefault(name, []).append(document)
    return "\n".join(RENDERERS[name](group) for name, group in grouped.items())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.report", description=__doc__)
    parser.add_argument("files", nargs="+", type=Path, metavar="JSON")
    args = parser.parse_args(argv)
    documents = []
    for path in args.files:
        try:
            documents.append(json.loads(path.read_text()))
        except (OSError, ValueError) as exc:
            print(f"bench.report: {path}: {exc}", file=sys.stderr)
            return 2
    try:
        text = render_documents(documents)
    except (ValueError, KeyError, TypeError) as exc:
        print(f"bench.report: {exc!r}", file=sys.stderr)
        return 2
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
