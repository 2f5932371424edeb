"""Benchmark of binance-pm-exporter against the fake Binance on loopback
(tests/support/fake_binance.py), with Prometheus' own Accept header, once without and once with
gzip:

1. cached-scrape throughput and p50/p99 latency of /metrics under the same load generator as
   two baselines serving the very same bytes: a minimal aiohttp server process (ratio goal
   >= 0.9) and a static handler in an exporter process; 1b. the same scrapes' instructions,
   counted by valgrind's callgrind (when installed): the figure that hardly varies;
2. upstream economy: an HA pair of scrapers plus bursts of concurrent scrapes at one
   --min-interval (requests must not exceed elapsed/interval + 1);
3. scaling in assets: cost of one refresh (fetch + parse + render) and of one cached scrape;
4. memory: resident size after start, after many scrapes, and with 10,000 assets;
5. start-up: launch to the first served scrape.

Every server runs in its own process, and so does the load generator. Prints Markdown; exits 1
if a correctness check fails (an answer other than 200, a changed body, more upstream requests
than the interval allows), never because of a speed figure.

    python bench/bench.py            # a few minutes
    python bench/bench.py --quick    # seconds: proves the benchmark runs
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import report  # noqa: E402
from bench.economy import economy  # noqa: E402
from bench.instructions import instructions, valgrind_installed  # noqa: E402
from bench.load import GENERATORS, ensure_generator  # noqa: E402
from bench.loops import LOOPS, installed_loops  # noqa: E402
from bench.memory import memory  # noqa: E402
from bench.procs import CLIENT_CPUS, SERVER_CPUS, pinning, set_pinning  # noqa: E402
from bench.report import BenchHeader, Results  # noqa: E402
from bench.results import add_json_option, write_json  # noqa: E402
from bench.scaling import scaling  # noqa: E402
from bench.startup import startup  # noqa: E402
from bench.throughput import compare  # noqa: E402

ITEMS = ("throughput", "instructions", "economy", "scaling", "memory", "startup")
ASSETS = 400


@dataclass(frozen=True)
class Settings:
    duration: float  # seconds of load per server and encoding, in alternating turns
    warmup: float  # seconds per server, encoding and pair, not counted
    pairs: int  # fresh exporter + baseline processes the duration is spread over
    connections: int
    economy_seconds: float
    economy_interval: float
    burst_size: int
    memory_warmup: int
    memory_scrapes: int
    scaling_sizes: tuple[int, ...]
    scaling_repeats: int
    scaling_duration: float
    startup_runs: int
    instructions_warmup: int
    instructions_scrapes: int


FULL = Settings(
    duration=10.0,
    warmup=0.5,
    pairs=5,
    connections=16,
    economy_seconds=120.0,
    economy_interval=5.0,
    burst_size=100,
    memory_warmup=10_000,
    memory_scrapes=100_000,
    scaling_sizes=(10, 400, 10_000),
    scaling_repeats=20,
    scaling_duration=2.0,
    startup_runs=5,
    instructions_warmup=200,
    instructions_scrapes=500,
)
QUICK = Settings(
    duration=0.2,
    warmup=0.0,
    pairs=1,
    connections=4,
    economy_seconds=2.0,
    economy_interval=0.5,
    burst_size=10,
    memory_warmup=100,
    memory_scrapes=200,
    scaling_sizes=(400,),
    scaling_repeats=2,
    scaling_duration=0.2,
    startup_runs=1,
    instructions_warmup=10,
    instructions_scrapes=20,
)


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


async def run(
    settings: Settings,
    items: Sequence[str],
    loops: Sequence[str],
    generator: str,
    steady_heap: bool,
    against: Path | None = None,
) -> Results:
    results = Results()
    main_loop = loops[-1]  # uvloop when measured: the exporter uses it whenever installed
    if "throughput" in items:
        for loop in loops:
            progress(f"1. throughput, {loop}")
            results.throughput += await compare(
                loop,
                generator,
                assets=ASSETS,
                connections=settings.connections,
                duration=settings.duration,
                warmup=settings.warmup,
                pairs=settings.pairs,
                steady_heap=steady_heap,
                against=against,
            )
    if "instructions" in items:
        for loop in loops:
            progress(f"1b. instructions under callgrind, {loop}")
            results.instructions += await instructions(
                loop,
                assets=ASSETS,
                warmup=settings.instructions_warmup,
                count=settings.instructions_scrapes,
                steady_heap=steady_heap,
                against=against,
            )
    if "economy" in items:
        progress(f"2. upstream economy, {main_loop}, {settings.economy_seconds:g}s")
        results.economy.append(
            await economy(
                main_loop,
                interval=settings.economy_interval,
                seconds=settings.economy_seconds,
                burst_size=settings.burst_size,
            )
        )
    if "scaling" in items:
        progress(f"3. scaling, {main_loop}")
        results.scaling = await scaling(
            main_loop,
            generator,
            settings.scaling_sizes,
            repeats=settings.scaling_repeats,
            duration=settings.scaling_duration,
            steady_heap=steady_heap,
        )
    if "memory" in items:
        progress(f"4. memory, {main_loop}, {settings.memory_scrapes:,} scrapes")
        results.memory = await memory(
            main_loop, warmup=settings.memory_warmup, scrapes=settings.memory_scrapes
        )
    if "startup" in items:
        for loop in loops:
            progress(f"5. start-up, {loop}")
            results.startup.append(await startup(loop, settings.startup_runs))
    return results


def placement() -> str:
    if pinning():
        return (
            f"servers pinned to CPU {sorted(SERVER_CPUS)}, "
            f"load generator to CPU {sorted(CLIENT_CPUS)}"
        )
    return "processes placed by the OS"


def header(generator: str, command: str, against: Path | None) -> BenchHeader:
    return BenchHeader(
        machine=report.machine(generator, placement()),
        command=command,
        against=report.tree_label(against) if against is not None else None,
    )


def failures(results: Results) -> list[str]:
    found = [
        f"upstream economy broken: {r.upstream_requests} requests in {r.elapsed:.1f}s at "
        f"--min-interval {r.interval:g} (at most {r.bound}; exporter counted "
        f"{r.exporter_counted}; {r.non_200} scrapes not 200)"
        for r in results.economy
        if not r.ok
    ]
    return found


def default_items() -> tuple[str, ...]:
    return ITEMS if valgrind_installed() else tuple(i for i in ITEMS if i != "instructions")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python bench/bench.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="tiny runs: seconds, not minutes")
    parser.add_argument(
        "--load-generator",
        choices=GENERATORS,
        default="python",
        help="python (bench/loadgen.py, default) or wrk (if installed)",
    )
    parser.add_argument(
        "--loops",
        default=",".join(installed_loops()),
        help=f"comma-separated event loops to measure, of {','.join(LOOPS)} "
        "(default: those installed)",
    )
    parser.add_argument(
        "--only",
        help=f"comma-separated items, of {','.join(ITEMS)} (default: all; instructions only "
        "when valgrind is installed)",
    )
    parser.add_argument(
        "--default-heap",
        action="store_true",
        help="run the servers of items 1, 1b and 3 with glibc's default heap settings",
    )
    parser.add_argument("--economy-seconds", type=float, help="override the economy duration")
    parser.add_argument(
        "--no-pin",
        action="store_true",
        help="let the OS place processes (default: servers on the first CPU, load elsewhere)",
    )
    parser.add_argument(
        "--against",
        type=Path,
        metavar="TREE",
        help="in items 1 and 1b, also measure the exporter of another source tree (e.g. "
        "`git worktree add /tmp/before HEAD~1`) beside this one",
    )
    add_json_option(parser)
    args = parser.parse_args(argv)
    args.instructions_skipped = args.only is None and not valgrind_installed()
    only = ",".join(default_items()) if args.only is None else args.only
    args.items = [item for item in only.split(",") if item]
    args.loop_names = [loop for loop in args.loops.split(",") if loop]
    for item in args.items:
        if item not in ITEMS:
            parser.error(f"unknown item {item!r}")
    if "instructions" in args.items and not valgrind_installed():
        parser.error("the instructions item needs valgrind (apt-get install valgrind)")
    if args.against is not None:
        args.against = args.against.resolve()
        if not (args.against / "bench" / "run_exporter.py").is_file():
            parser.error(f"--against {args.against}: no bench/run_exporter.py in that tree")
    for loop in args.loop_names:
        if loop not in installed_loops():
            parser.error(f"event loop {loop!r} is not installed")
    try:
        ensure_generator(args.load_generator)
    except (ValueError, RuntimeError) as exc:
        parser.error(str(exc))
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    settings = QUICK if args.quick else FULL
    set_pinning(not args.no_pin)
    if args.economy_seconds:
        settings = dataclasses.replace(settings, economy_seconds=args.economy_seconds)
    command = "python bench/bench.py " + " ".join(sys.argv[1:] if argv is None else argv)
    try:
        results = asyncio.run(
            run(
                settings,
                args.items,
                args.loop_names,
                args.load_generator,
                steady_heap=not args.default_heap,
                against=args.against,
            )
        )
    except RuntimeError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    head = header(args.load_generator, command.strip(), args.against)
    print(
        report.bench_document(head, results, ASSETS, settings.duration, args.instructions_skipped),
        flush=True,
    )
    figures = {
        **dataclasses.asdict(head),
        "assets": ASSETS,
        "duration": settings.duration,
        "instructions_skipped": args.instructions_skipped,
        **dataclasses.asdict(results),
    }
    write_json(args.json, "bench", figures)
    problems = failures(results)
    for problem in problems:
        print(f"bench: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
