"""The tools of docker/test-tools.lock (Compose v2, kubectl, kubernetes-validate), installed by
scripts/test.sh into .venv/tools: the same versions on every machine."""

from __future__ import annotations

from pathlib import Path

TOOLS = Path(__file__).resolve().parent.parent / ".venv" / "tools" / "bin"


def tool(name: str) -> Path:
    path = TOOLS / name
    assert path.is_file(), f"{path} is missing: bash scripts/test.sh installs it"
    return path
