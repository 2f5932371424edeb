"""What the soak samples of the exporter process, and whether its memory and descriptors
stayed flat."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

WARM_UP_SHARE = 0.25


@dataclass
class Sample:
    at: float
    rss_kib: int
    fds: int


def memory_figures(samples: list[Sample]) -> tuple[dict[str, float], dict[str, int], bool, bool]:
    """RSS and fd figures; flat means the last quarter is no higher than the second quarter
    (after warm-up) by more than 4 MiB or 5% (RSS) or the upstream connection pool (fds)."""
    steady = samples[int(len(samples) * WARM_UP_SHARE) :] or samples
    half = len(steady) // 2
    early, late = steady[: max(half, 1)], steady[half:] or steady
    rss_early = statistics.median(s.rss_kib for s in early) / 1024
    rss_late = statistics.median(s.rss_kib for s in late) / 1024
    rss = {
        "start": samples[0].rss_kib / 1024,
        "steady_early_median": round(rss_early, 1),
        "steady_late_median": round(rss_late, 1),
        "max": round(max(s.rss_kib for s in samples) / 1024, 1),
        "growth": round(rss_late - rss_early, 1),
    }
    fds = {
        "start": samples[0].fds,
        "steady_early_max": max(s.fds for s in early),
        "steady_late_max": max(s.fds for s in late),
        "max": max(s.fds for s in samples),
    }
    rss_flat = rss_late - rss_early <= max(4.0, rss_early * 0.05)
    fds_flat = fds["steady_late_max"] <= fds["steady_early_max"] + 8
    return rss, fds, rss_flat, fds_flat
