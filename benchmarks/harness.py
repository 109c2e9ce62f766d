"""A small benchmark harness: each case runs in a fresh process so peak memory is its own.

A benchmark module defines cases as ``Case(capability, variant, size, rows, func, args)``;
``func(*args)`` runs in a child process, and the harness reports wall time, CPU time, rows per second
and the child's own peak resident memory. ``python -m benchmarks`` runs every module and rewrites the
results table in ``docs/performance.md`` between the markers of that capability.
"""

from __future__ import annotations

import contextlib
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
    cpu_seconds: float  # user + system time of all the child's threads
    peak_rss_mb: float

    @property
    def rows_per_second(self) -> float:
        return self.case.rows / self.seconds if self.seconds > 0 else float("inf")

    @property
    def rows_per_cpu_second(self) -> float:
        """Throughput per core busy: unlike wall time, not slowed by other work on the machine."""
        return self.case.rows / self.cpu_seconds if self.cpu_seconds > 0 else float("inf")


def _reset_peak_rss() -> None:
    """Start the child's peak-memory count from its present size (Linux ≥ 4.0; best effort)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _peak_rss_mb() -> float:
    """The peak resident memory of this process's own address space, in MB.

    ``getrusage(RUSAGE_SELF).ru_maxrss`` is no good here: Linux carries the parent's peak over
    fork and exec into it, so every case reported the runner's peak. ``VmHWM`` belongs to the
    address space the child got at exec, and ``clear_refs`` resets it before the timed call.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux: an upper bound


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # every thread of this process
    return usage.ru_utime + usage.ru_stime


def _child(func: Callable[..., Any], args: tuple, queue: mp.Queue) -> None:
    _reset_peak_rss()
    cpu = _cpu_seconds()
    start = time.perf_counter()
    func(*args)
    seconds = time.perf_counter() - start
    queue.put((seconds, _cpu_seconds() - cpu, _peak_rss_mb()))


def run_case(case: Case) -> Result:
    """Run one case in a fresh spawned process and measure it."""
    ctx = mp.get_context("spawn")
    queue: mp.Queue = ctx.Queue()
    process = ctx.Process(target=_child, args=(case.func, case.args, queue))
    process.start()
    seconds, cpu_seconds, peak_mb = queue.get()
    process.join()
    if process.exitcode != 0:
        raise RuntimeError(f"benchmark {case.capability}/{case.variant}/{case.size} failed")
    return Result(case, seconds, cpu_seconds, peak_mb)


def run_cases(cases: Sequence[Case]) -> list[Result]:
    """Run each case (:func:`run_case`) and print one line per case as it finishes."""
    results = []
    for case in cases:
        result = run_case(case)
        print(f"  {case.size} {case.variant}: {result.seconds:.1f} s, "
              f"{result.peak_rss_mb:,.0f} MB", flush=True)  # fmt: skip
        results.append(result)
    return results


def format_table(results: Sequence[Result]) -> str:
    lines = [
        "| size | variant | seconds | rows/s | CPU seconds | rows per CPU second | peak memory (MB) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.case.size} | {r.case.variant} | {r.seconds:.2f} | {r.rows_per_second:,.0f} "
            f"| {r.cpu_seconds:.2f} | {r.rows_per_cpu_second:,.0f} | {r.peak_rss_mb:,.0f} |"
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
