"""Every script under bench/ that prints figures takes `--json PATH`, and `python -m bench.report`
turns the JSON of each kind into the docs' tables. No benchmark runs here: the report is fed
small handmade files, and the expected cells are worked out by hand. The benchmarks are run
as programs, never imported: tests/ does not import bench/."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import REPO

BENCH = REPO / "bench"
# Scripts with a __main__ that print no figures: the servers under load, and the report itself.
NOT_MEASURING = {"baseline", "run_exporter", "report"}


def scripts() -> list[str]:
    return sorted(
        path.stem
        for path in BENCH.glob("*.py")
        if 'if __name__ == "__main__"' in path.read_text() and path.stem not in NOT_MEASURING
    )


def run_module(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_scripts_are_found() -> None:
    found = scripts()
    for known in ("bench", "accounts", "soak", "detection_latency", "redaction", "loadgen"):
        assert known in found


@pytest.mark.parametrize("script", scripts())
def test_every_measuring_script_takes_json_path(script: str) -> None:
    result = run_module(f"bench.{script}", "--help")
    assert result.returncode == 0, result.stderr
    assert "--json PATH" in result.stdout


def load_result(requests: int, elapsed: float = 2.0) -> dict[str, object]:
    return {
        "requests": requests,
        "non_200": 0,
        "elapsed": elapsed,
        "p50_ms": 1.0,
        "p99_ms": 4.0,
        "cpu_seconds": requests * 100e-6,  # 100 µs per request
        "minor_faults": 0,
        "body_lengths": [1000],
        "turn_rps": [requests / elapsed],
    }


BENCH_DOC = {
    "benchmark": "bench",
    "machine": "- CPU: handmade, 2 cores (nproc)",
    "command": "python bench/bench.py --only throughput,economy,startup",
    "against": None,
    "assets": 400,
    "duration": 10.0,
    "instructions_skipped": True,
    "throughput": [
        {
            "loop": "asyncio",
            "encoding": "gzip",
            "body_bytes": 12345,
            "connections": 16,
            "pairs": 5,
            "steady_heap": True,
            "bare": load_result(2000),
            "static": load_result(1960),
            "exporter": load_result(1900),
            "exporter_rss": 40 * 1024 * 1024,
            "against": None,
        }
    ],
    "instructions": [],
    "economy": [
        {
            "loop": "asyncio",
            "interval": 5.0,
            "elapsed": 10.0,
            "scrapes": 250,
            "non_200": 0,
            "bursts": 3,
            "burst_size": 100,
            "upstream_requests": 3,
            "exporter_counted": 3,
            "gaps": [5.1, 5.2],
        }
    ],
    "scaling": [],
    "memory": None,
    "startup": [
        {
            "loop": "asyncio",
            "exporter_s": 0.5,
            "baseline_s": 0.25,
            "interpreter_s": 0.02,
            "runs": 5,
        }
    ],
}

ACCOUNTS_DOC = {
    "benchmark": "accounts",
    "command": "python -m bench.accounts --pairs 6",
    "throughput": [
        {
            "loop": "uvloop",
            "encoding": "identity",
            "body_bytes": 98765,
            "bare": load_result(2000),
            "exporter": load_result(1880),
        }
    ],
    "refresh": [
        {"accounts": 0, "cpu_ms": 1.0, "wall_ms": 2.0, "body_bytes": 1000},
        {"accounts": 10, "cpu_ms": 6.0, "wall_ms": 9.0, "body_bytes": 50000},
    ],
    "weights": [
        {
            "endpoint_path": "/papi/v1/balance",
            "requests_per_round": 5.0,
            "weight_per_request": 20,
            "header": "X-MBX-USED-WEIGHT-1M",
        }
    ],
}

SOAK_DOC = {
    "benchmark": "soak",
    "duration": 120.0,
    "scrapes": 59606,
    "scrapes_per_second": 494.2,
    "slowest_scrape_seconds": 0.613,
    "upstream_requests": 424,
    "served": {"good": 204, "good_with_invalid_entries": 15, "rate_limited": 150, "timeout": 55},
    "good_responses": 219,
    "good_responses_exported": 219,
    "retry_after_violations": [],
    "rss_mib": {
        "start": 41.7,
        "steady_early_median": 43.4,
        "steady_late_median": 43.5,
        "max": 43.6,
        "growth": 0.1,
    },
    "fds": {"start": 7, "steady_early_max": 34, "steady_late_max": 33},
    "odd_header_scrapes": 7799,
    "wrong_passwords_refused": 126248,
    "held_cut_off": {"partial_head": 220, "silent": 220},
    "tls_scrapes": 822,
    "tls_rss_mib": {"steady_early_median": 46.6, "steady_late_median": 46.7},
    "tls_fds": {"steady_early_max": 61, "steady_late_max": 57},
    "checks": {"rss_flat": True, "clean_exit": False},
}


def trial(latency: float, first: bool, worst: float) -> dict[str, object]:
    return {
        "round": 1,
        "asset": "BTC",
        "receiver": "pager",
        "first_in_group": first,
        "latency_s": latency,
        "worst_case_s": worst,
    }


DETECTION_DOC = {
    "benchmark": "detection_latency",
    "settings": {"min_interval": 30.0, "scrape_interval": "60s"},
    "trials": [
        trial(86.2, True, 150.0),
        trial(37.6, True, 150.0),
        trial(98.1, True, 150.0),
        trial(56.0, True, 150.0),
        trial(37.0, False, 180.0),
        trial(71.0, False, 180.0),
    ],
}

RULES_DOC = {
    "benchmark": "rule_evaluation",
    "rules": "prometheus/alerts.yml",
    "versions": {
        "Prometheus 2.42.0": {
            "assets": 400,
            "evaluations_ms": [300.0, 131.2, 260.0],
            "median_ms": 260.0,
            "max_ms": 300.0,
            "load_average_1m": 4.6,
        }
    },
}

AUTH_DOC = {
    "benchmark": "auth_timing",
    "rounds": 40,
    "costs": [4, 10],
    "users": {
        "cheap": {"q1_ms": 262.2, "median_ms": 289.4, "q3_ms": 328.5},
        "dear": {"q1_ms": 260.7, "median_ms": 287.6, "q3_ms": 328.9},
        "unknown": {"q1_ms": 262.8, "median_ms": 280.2, "q3_ms": 324.9},
    },
}

REDACTION_DOC = {
    "benchmark": "redaction",
    "repeats": 20,
    "rows": [{"body": "v1, 360 assets", "bytes": 18290, "ms": 0.0213}],
}


def connections_doc(loop: str, idle_tls_kib: float, scrapes: list[float]) -> dict[str, object]:
    kinds = [("partial-head", False), ("partial-head", True), ("tls-silent", True)]
    return {
        "benchmark": "connection_memory",
        "loop": loop,
        "idle_connections": 500,
        "connections": 2000,
        "idle_plain_kib": 0.0,
        "idle_tls_kib": idle_tls_kib,
        "floods": [
            {
                "name": name,
                "tls": tls,
                "before_mib": 45.0,
                "peak_mib": 83.2,
                "after_mib": 49.0,
                "scrape_s": scrape,
            }
            for (name, tls), scrape in zip(kinds, scrapes, strict=True)
        ],
    }


REFRESH_DOC = {"benchmark": "refresh_cost", "assets": 400, "refresh_ms": 1.25}


def report(tmp_path: Path, *documents: object) -> subprocess.CompletedProcess[str]:
    paths = []
    for number, document in enumerate(documents):
        path = tmp_path / f"{number}.json"
        path.write_text(json.dumps(document))
        paths.append(str(path))
    return run_module("bench.report", *paths)


def test_report_renders_each_kind(tmp_path: Path) -> None:
    result = report(
        tmp_path,
        BENCH_DOC,
        ACCOUNTS_DOC,
        SOAK_DOC,
        DETECTION_DOC,
        RULES_DOC,
        AUTH_DOC,
        REDACTION_DOC,
        connections_doc("asyncio", 41.3, [0.2, 2.2, 1.0]),
        connections_doc("uvloop", 28.9, [0.03, 0.4, 0.1]),
        REFRESH_DOC,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    # bench: 2000, 1960, 1900 requests in 2 s; 1900 / 2000 = 0.95 of bare
    assert "| asyncio | gzip | 12,345 | 1,000 / 980 / **950** | **0.95** |" in out
    assert "| 100 / 100 / 100 |" in out  # 100 µs of CPU per scrape each
    # economy: floor(10 / 5) + 1 = 3 allowed, 3 made; gaps 5.1, 5.2
    assert "| **3** | 3 | 5.100 / 5.150 / 5.200 | 3 | pass |" in out
    assert "### 5. Start-up (median of 5)\n" in out
    assert "| asyncio | **500** | 250 | 2.00 | 20 |" in out
    assert "(1b. instructions per scrape: skipped, valgrind is not installed.)" in out
    assert "- CPU: handmade, 2 cores (nproc)" in out
    # accounts: 940 / 1000; (6.0 - 1.0) ms over 10 accounts; 5 x 20 a round, twice a minute
    assert "| uvloop | identity | 98,765 | 1,000 | 940 | **0.940** | 100 / 100 |" in out
    assert "Refresh cost per account: **0.50 ms**" in out
    assert "| `/papi/v1/balance` | 5 | 20 | X-MBX-USED-WEIGHT-1M | 200 |" in out
    # soak: 424 - 219 = 205 failures of 2 kinds
    assert "| upstream requests | 424 (219 good, 205 failures of 2 kinds) |" in out
    assert "| scrapes with the right password | 59,606 (494 per second), slowest 0.61 s |" in out
    assert "43.4 and 43.5 MiB median" in out
    assert "Checks failed: clean_exit." in out
    # detection latency: medians of (37.6, 56.0, 86.2, 98.1) and (37.0, 71.0)
    assert "| 86.2, 37.6, 98.1, 56.0 | 71 s | 150 s |" in out
    assert "| further drop while the group is active | 37.0, 71.0 | 54 s | 180 s |" in out
    # rule evaluation: fastest of the three
    assert "| `prometheus/alerts.yml` | median 260 ms, fastest 131 ms (load average 4.6) |" in out
    assert "a cost-4 user        262.2   289.4   328.5" in out
    assert "an unknown user      262.8   280.2   324.9" in out
    assert "| v1, 360 assets | 18,290 | 0.0213 |" in out
    # connection memory: one column per loop; scrape ranges min-max
    assert "|  | asyncio | uvloop |" in out
    assert (
        "| RSS per idle TLS connection (handshake done, nothing sent) | 41.3 KiB | 28.9 KiB |"
        in out
    )
    assert "| 2,000 partial heads, TLS | 45.0 / 83.2 / 49.0 MiB | 45.0 / 83.2 / 49.0 MiB |" in out
    assert "| a scrape during these floods | 0.2-2.2 s | 0.03-0.4 s |" in out
    assert "| refresh_ms | 1.250 |" in out


def test_report_refuses_an_unknown_kind(tmp_path: Path) -> None:
    result = report(tmp_path, {"benchmark": "nonesuch"})
    assert result.returncode == 2
    assert "unknown benchmark 'nonesuch'" in result.stderr
