"""What /proc/PID/stat says of a process: CPU time used and minor page faults taken so far."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Counters:
    cpu_seconds: float  # user + system
    minor_faults: int

    def __sub__(self, other: Counters) -> Counters:
        return Counters(
            self.cpu_seconds - other.cpu_seconds, self.minor_faults - other.minor_faults
        )


NONE = Counters(0.0, 0)


def counters(pid: int | None) -> Counters:
    """The process's counters; zero for no process."""
    if pid is None:
        return NONE
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return Counters((int(fields[11]) + int(fields[12])) / CLOCK_TICKS, int(fields[7]))
