"""The accounts benchmark (bench/accounts.py) stays runnable: its --quick mode finishes with exit
status 0 and reports every part. No speed figure is asserted: speed belongs to the benchmark."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parent.parent


def test_quick_accounts_benchmark_reports_every_part() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench.accounts", "--quick", "--loop", "asyncio"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    for part in (
        "| asyncio | identity |",
        "| asyncio | gzip |",
        "Refresh cost per account:",
        "| `/papi/v1/balance` | 5 | 20 |",
        "At the default intervals the desk costs",
        "| `/sapi/v1/portfolio/asset-index-price` | 1 | 50 |",
    ):
        assert part in result.stdout, result.stdout
