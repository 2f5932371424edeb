"""The Prometheus and Alertmanager versions every promtool and end-to-end test runs on: Debian
12's packages (Prometheus 2.42, Alertmanager 0.25, on PATH) and the newer ones that
scripts/fetch_prometheus.sh keeps in the cache directory (Prometheus 3.5 from Debian sid,
Alertmanager 0.28 from Debian trixie)."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "binance-pm-exporter"
FETCH = "bash scripts/fetch_prometheus.sh"


@dataclass(frozen=True)
class Versions:
    """A Prometheus (with its promtool) and the Alertmanager (with amtool) tested with it."""

    name: str
    prometheus: str
    alertmanager: str
    prometheus_dir: Path | None
    alertmanager_dir: Path | None

    def _binary(self, name: str, directory: Path | None, package: str) -> str:
        if directory is None:
            path = shutil.which(name)
            assert path is not None, f"{name} is not installed (Debian package: {package})"
            return path
        path = str(directory / "bin" / name)
        assert Path(path).is_file(), f"{path} is missing: {FETCH} fetches it"
        return path

    @property
    def promtool(self) -> str:
        return self._binary("promtool", self.prometheus_dir, "prometheus")

    @property
    def prometheus_server(self) -> str:
        return self._binary("prometheus", self.prometheus_dir, "prometheus")

    @property
    def alertmanager_server(self) -> str:
        return self._binary(
            "prometheus-alertmanager", self.alertmanager_dir, "prometheus-alertmanager"
        )

    @property
    def amtool(self) -> str:
        return self._binary("amtool", self.alertmanager_dir, "prometheus-alertmanager")


PROMETHEUS_2 = Versions("prometheus-2.42", "2.42", "0.25", None, None)
PROMETHEUS_3 = Versions(
    "prometheus-3.5", "3.5", "0.28", CACHE / "prometheus-3.5", CACHE / "alertmanager-0.28"
)
ALL = (PROMETHEUS_2, PROMETHEUS_3)


@cache
def reported_version(binary: str) -> str:
    """The version a Prometheus or Alertmanager binary reports, e.g. '3.5.3+ds1'."""
    result = subprocess.run(
        [binary, "--version"], capture_output=True, text=True, timeout=30, check=True
    )
    first = (result.stdout + result.stderr).split("\n", 1)[0]
    return first.split("version ", 1)[1].split(" ", 1)[0]
