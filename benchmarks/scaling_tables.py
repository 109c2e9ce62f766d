"""docs/scale.md's scaling tables from the JSON of ``benchmarks.spark_steps`` runs.

``python -m benchmarks.scaling_tables [RESULTS_DIR]`` reads
``spark_steps_{run}_{size}_seed3_quiet.json`` for the runs ``duckdb``, ``spark_local1`` and
``spark_local2`` at the sizes ``100k``, ``300k`` and ``1m`` (a missing file is a missing
column) and prints three Markdown tables: the whole runs, their growth with the data, and
every step at 1 M.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

RUNS = {"duckdb": "DuckDB", "spark_local1": "Spark `local[1]`", "spark_local2": "Spark `local[2]`"}
SIZES = {"100k": 100_000, "300k": 300_000, "1m": 1_000_000}
MB = 1_000_000  # shuffle bytes in MB (peak memory is as spark_steps reports it, MiB)


def load(folder: Path) -> dict[tuple[str, str], dict[str, Any]]:
    found = {}
    for run in RUNS:
        for size in SIZES:
            path = folder / f"spark_steps_{run}_{size}_seed3_quiet.json"
            if path.exists():
                found[run, size] = json.loads(path.read_text())
    return found


def _sum(figures: dict[str, Any], key: str) -> float | None:
    values = [s.get(key) for s in figures["steps"] if s.get(key) is not None]
    return sum(values) if values else None


def _n(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def totals(found: dict) -> list[str]:
    lines = [
        "| run | customers | wall s | CPU s | executor CPU s | peak MB | shuffle written MB "
        "| Spark jobs | load average at the end |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for (run, size), f in sorted(found.items(), key=lambda kv: (kv[0][0], SIZES[kv[0][1]])):
        shuffle = _sum(f, "shuffle_write_bytes")
        lines.append(
            f"| {RUNS[run]} | {SIZES[size]:,} | {_n(f['total']['seconds'])} "
            f"| {_n(f['total']['cpu_seconds'])} | {_n(_sum(f, 'executor_cpu_seconds'))} "
            f"| {_n(f['total']['peak_rss_mb'])} | {_n(shuffle and shuffle / MB)} "
            f"| {_n(_sum(f, 'jobs'))} | {f['load_average'][0]:.1f} |"
        )
    return lines


def growth(found: dict) -> list[str]:
    lines = [
        "| run | wall × 100 k→300 k | 300 k→1 M | CPU × 100 k→300 k | 300 k→1 M "
        "| executor CPU × 100 k→300 k | 300 k→1 M | shuffle × 100 k→300 k | 300 k→1 M |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def ratio(run: str, a: str, b: str, get) -> str:
        if (run, a) not in found or (run, b) not in found:
            return "–"
        x, y = get(found[run, a]), get(found[run, b])
        return "–" if not x or y is None else f"{y / x:.2f}"

    getters = (
        lambda f: f["total"]["seconds"],
        lambda f: f["total"]["cpu_seconds"],
        lambda f: _sum(f, "executor_cpu_seconds"),
        lambda f: _sum(f, "shuffle_write_bytes"),
    )
    for run in RUNS:
        cells = [
            ratio(run, a, b, get) for get in getters for a, b in (("100k", "300k"), ("300k", "1m"))
        ]
        lines.append(f"| {RUNS[run]} | " + " | ".join(cells) + " |")
    return lines


def by_step(found: dict, size: str) -> list[str]:
    duck, one, two = (found.get((run, size)) for run in RUNS)
    sizes = list(SIZES)
    before = sizes[sizes.index(size) - 1] if sizes.index(size) else size
    two_before = found.get(("spark_local2", before))
    steps = [
        s["step"]
        for s in (two or one or duck)["steps"]
        if s["step"] != "(load back)" and (s["rows_written"] or s["seconds"] >= 0.05)
    ]  # without the steps skipped for want of input (call detail records)

    def step(f: dict | None, name: str) -> dict[str, Any]:
        return next((s for s in f["steps"] if s["step"] == name), {}) if f else {}

    lines = [
        "| step | rows written | DuckDB wall s | CPU s | `local[1]` wall s | CPU s "
        f"| `local[2]` wall s | CPU s | executor CPU s | × from {before} | shuffle MB "
        f"| × from {before} | peak MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in steps:
        d, a, b, b0 = (step(f, name) for f in (duck, one, two, two_before))

        def grown(key: str, b: dict = b, b0: dict = b0) -> str:
            x, y = b0.get(key), b.get(key)
            return (
                f"{y / x:.1f}"
                if x and y is not None and x > 0.5 * (MB if "bytes" in key else 1)
                else "–"
            )

        shuffle = b.get("shuffle_write_bytes")
        lines.append(
            f"| {name} | {_n(d.get('rows_written') or b.get('rows_written'))} "
            f"| {_n(d.get('seconds'), 1)} | {_n(d.get('cpu_seconds'), 1)} "
            f"| {_n(a.get('seconds'), 1)} | {_n(a.get('cpu_seconds'), 1)} "
            f"| {_n(b.get('seconds'), 1)} | {_n(b.get('cpu_seconds'), 1)} "
            f"| {_n(b.get('executor_cpu_seconds'), 1)} | {grown('executor_cpu_seconds')} "
            f"| {_n(shuffle and shuffle / MB)} | {grown('shuffle_write_bytes')} "
            f"| {_n(b.get('peak_rss_mb'))} |"
        )
    return lines


def main() -> None:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "results"
    found = load(folder)
    largest = max((size for _, size in found), key=SIZES.get)
    for title, lines in (
        ("Whole runs", totals(found)),
        ("Growth with the data", growth(found)),
        (f"Every step at {largest}", by_step(found, largest)),
    ):
        print(f"\n{title}\n")
        print("\n".join(lines))


if __name__ == "__main__":
    main()
