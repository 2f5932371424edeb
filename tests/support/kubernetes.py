"""The Kubernetes manifests under deploy/kubernetes/, rendered by the hash-locked kubectl."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.support.paths import REPO
from tests.support.tools import tool

KUBERNETES = REPO / "deploy" / "kubernetes"
BASE = KUBERNETES / "base"


def render(directory: Path) -> list[dict[str, Any]]:
    result = subprocess.run(
        [str(tool("kubectl")), "kustomize", str(directory)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    return [document for document in yaml.safe_load_all(result.stdout) if document]
