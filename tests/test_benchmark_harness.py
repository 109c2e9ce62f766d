"""The benchmark harness: each case reports its own peak memory and its CPU time."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: benchmarks/

from benchmarks.harness import Case, run_case  # noqa: E402


def touch_megabytes(megabytes: int) -> None:
    block = bytearray(megabytes * 2**20)
    for i in range(0, len(block), 4096):  # touch every page, so it is resident
        block[i] = 1


def test_each_case_reports_its_own_peak_memory_and_cpu_time():
    ballast = bytearray(300 * 2**20)  # the runner's own peak must not leak into the cases
    ballast[::4096] = b"\x01" * len(ballast[::4096])
    small, large = (
        run_case(Case("test", "touch", f"{mb} MB", 1, touch_megabytes, (mb,))) for mb in (10, 160)
    )
    assert small.peak_rss_mb < 250, small.peak_rss_mb  # an interpreter, numpy-free: ~20-60 MB
    assert 140 < large.peak_rss_mb - small.peak_rss_mb < 200
    assert 0 < small.cpu_seconds <= large.cpu_seconds + 0.5
    assert large.rows_per_cpu_second == 1 / large.cpu_seconds
