"""The benchmark (bench/bench.py) stays runnable: its --quick mode, run as a user would, finishes
with exit status 0 and reports every item. No speed figure is asserted here: the quick mode's
runs are too short to mean anything, and speed belongs to the benchmark, not to the tests."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import REPO

pytestmark = pytest.mark.slow

ITEMS = (
    "### 1. Cached scrape",
    "### 1b. Instructions per cached scrape",
    "### 2. Upstream economy",
    "### 3. Scaling in assets",
    "### 4. Memory",
    "### 5. Start-up",
    "### Verdict",
)


def run_bench(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "bench/bench.py", "--quick", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_quick_benchmark_runs_and_reports_every_item(tmp_path: Path) -> None:
    raw = tmp_path / "bench.json"
    result = run_bench("--loops", "asyncio", "--json", str(raw), timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    for heading in ITEMS:
        assert heading in result.stdout
    assert "never more than one upstream request per interval: yes" in result.stdout
    results = json.loads(raw.read_text())
    (economy,) = results["economy"]
    assert economy["non_200"] == 0
    assert 1 <= economy["upstream_requests"] == economy["exporter_counted"]
    assert results["memory"]["scrapes"] > 0
    assert all(row["exporter"]["non_200"] == 0 for row in results["throughput"])


def test_quick_benchmark_against_another_tree_on_the_default_heap() -> None:
    result = run_bench(
        "--loops",
        "asyncio",
        "--only",
        "throughput,instructions",
        "--default-heap",
        "--against",
        str(REPO),
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"--against: {REPO}" in result.stdout
    assert "--against ratio to bare" in result.stdout
    assert "--against instructions per scrape" in result.stdout
    assert "glibc's default heap settings" in result.stdout


def test_against_a_tree_without_the_exporter_is_refused(tmp_path: Path) -> None:
    result = run_bench("--against", str(tmp_path), timeout=60)
    assert result.returncode == 2
    assert "no bench/run_exporter.py in that tree" in result.stderr
