"""A small benchmark harness: each case runs in a fresh process so peak memory is its own.

A benchmark module defines cases as ``Case(capability, variant, size, rows, func, args)``;
``func(*args)`` runs in a child process, and the harness reports wall time, rows per second and
the child's peak resident memory. ``python -m benchmarks`` runs every module and rewrites the
results table in ``docs/performance.md`` between the markers of that capability.
"""

from __future__ import annotations

import multiprocessing as mp
import resource
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PERFORMANCE_DOC = Path(__file__).resolve().parent.parent / "docs" / "performance.md"


@dataclass(frozen=True)
class Case:
    capability: str  # e.g. "ingest"
    variant: str  # e.g. "touchpoint", "pandas", "duckdb-sql"
    size: str  # e.g. "1M rows"
    rows: int
    func: Callable[..., Any]
    args: tuple = field(default=())


@dataclass(frozen=True)
class Result:
    case: Case
    seconds: float
    peak_rss_mb: float

    @property
    def rows_per_second(self) -> float:
        return self.case.rows / self.seconds if self.seconds > 0 else float("inf")


def _child(func: Callable[..., Any], args: tuple, queue: mp.Queue) -> None:
    start = time.perf_counter()
    func(*args)
    seconds = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    queue.put((seconds, peak_kb / 1024))


def run_case(case: Case) -> Result:
    """Run one case in a fresh spawned process and measure it."""
    ctx = mp.get_context("spawn")
    queue: mp.Queue = ctx.Queue()
    process = ctx.Process(target=_child, args=(case.func, case.args, queue))
    process.start()
    seconds, peak_mb = queue.get()
    process.join()
    if process.exitcode != 0:
        raise RuntimeError(f"benchmark {case.capability}/{case.variant}/{case.size} failed")
    return Result(case, seconds, peak_mb)


def format_table(results: Sequence[Result]) -> str:
    lines = [
        "| size | variant | seconds | rows/s | peak memory (MB) |",
        "|---|---|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.case.size} | {r.case.variant} | {r.seconds:.2f} | {r.rows_per_second:,.0f} | {r.peak_rss_mb:,.0f} |"
        )
    return "\n".join(lines)


def record(capability: str, results: Sequence[Result], note: str = "") -> None:
    """Replace the block between this capability's markers in docs/performance.md."""
    begin, end = f"<!-- bench:{capability}:begin -->", f"<!-- bench:{capability}:end -->"
    stamp = time.strftime("%Y-%m-%d")
    block = f"{begin}\nMeasured {stamp} on this machine (2 cores, 24 GiB) with `python -m benchmarks {capability}`.\n{note}\n\n{format_table(results)}\n{end}"
    text = (
        PERFORMANCE_DOC.read_text(encoding="utf-8")
        if PERFORMANCE_DOC.exists()
        else "# Performance\n"
    )
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        text = head + block + tail
    else:
        text = text.rstrip("\n") + f"\n\n## {capability}\n\n{block}\n"
    PERFORMANCE_DOC.write_text(text, encoding="utf-8")
