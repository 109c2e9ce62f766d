"""Simulator speed: customers × 6 months of every entity's files, with the ground truth.

Each size runs in a fresh process (``benchmarks/harness.py``) and writes Parquet to a
temporary folder; rows/s counts every row written to the source files. There is no pandas or
hand-written SQL variant: a generator has no reference implementation to race against, so the
comparison the other benchmarks make does not apply. The target (issue 3) is 1 M customers × 6
months in at most 10 minutes with peak memory under 4 GB on this 2-core machine.

Run: ``python -m benchmarks simulate`` (``TOUCHPOINT_BENCH_SIZES=10000,100000`` to leave out
the 1 M case).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from pathlib import Path

import pyarrow.parquet as pq

from benchmarks.harness import Case, record, run_case
from touchpoint.simulate import simulate

SIZES = (10_000, 100_000, 1_000_000)
MONTHS = 6


def _label(n: int) -> str:
    return f"{n // 1_000_000}M customers" if n >= 1_000_000 else f"{n // 1000}k customers"


def _simulate(out: str, customers: int) -> None:
    simulate(out, customers=customers, months=MONTHS, seed=7)


def _rows_written(out: Path) -> int:
    return sum(pq.ParquetFile(p).metadata.num_rows for p in out.glob("*.parquet"))


def main() -> None:
    sizes = os.environ.get("TOUCHPOINT_BENCH_SIZES")
    chosen = [int(s) for s in sizes.split(",")] if sizes else list(SIZES)
    results = []
    for n in chosen:
        out = Path(tempfile.mkdtemp(prefix="tp-bench-simulate-"))
        try:
            case = Case(
                "simulate",
                "touchpoint",
                f"{_label(n)} × {MONTHS} months",
                0,
                _simulate,
                (str(out), n),
            )
            result = run_case(case)
            rows = _rows_written(out)
            # The rows are known only once the files are written: fill them in, keep the timings.
            result = dataclasses.replace(result, case=dataclasses.replace(case, rows=rows))
            print(
                f"{case.size}: {result.seconds:.1f} s, {rows:,} rows, "
                f"{result.rows_per_second:,.0f} rows/s, peak {result.peak_rss_mb:,.0f} MB",
                flush=True,
            )
            results.append(result)
        finally:
            shutil.rmtree(out, ignore_errors=True)
    load = os.getloadavg()
    record(
        "simulate",
        results,
        note=(
            "Source files (Parquet) and ground truth, one process; rows/s counts the rows of "
            "every source file. No pandas or SQL variant: a generator has nothing to race. "
            f"Load average when the run ended: {load[0]:.1f} (the machine is shared)."
        ),
    )


if __name__ == "__main__":
    main()
