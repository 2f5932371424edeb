"""The tools of docker/test-tools.lock (Compose v2, kubectl, kubernetes-validate), installed by
scripts/test.sh into .venv/tools: the same versions on every machine."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.support.paths import REPO

TOOLS = REPO / ".venv" / "tools" / "bin"


def tool(name: str) -> Path:
    path = TOOLS / name
    assert path.is_file(), f"{path} is missing: bash scripts/test.sh installs it"
    return path


def promtool(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    """Debian's promtool (package `prometheus`), run to completion."""
    binary = shutil.which("promtool")
    assert binary is not None, "promtool is not installed (Debian package: prometheus)"
    return subprocess.run(
        [binary, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
