"""The whole job for one city: simulate, ingest, run and report, each timed on its own.

A world of N customers × 6 months is simulated into a temporary folder, ingested into a fresh
warehouse, every analytics step is run, the snapshot `touchpoint serve` reads is published (as
`touchpoint run` does when its steps are done) and the English report written: each stage in a fresh
process (``benchmarks/harness.py``), so its wall time, CPU time and peak memory are its own.
Beside ingest, the floor: the same Parquet files loaded by DuckDB's own ``read_parquet`` into
tables of a fresh DuckDB file (no checks, no quarantine, no lineage). Bytes on disk: the
source files, the warehouse (DuckDB file plus its Parquet parts) and the floor's file.

Issue 18's targets at 1 M customers × 6 months: ingest within 2× the floor, ingest + run +
report within 5 minutes, every stage's peak under 6 GB.

Run: ``python -m benchmarks city`` (``TOUCHPOINT_BENCH_SIZES=100000,300000`` for the smaller
worlds; each size writes its own block in docs/performance.md). With
``TOUCHPOINT_BENCH_CITY_WORLD=DIR`` (one size only) the world already simulated in ``DIR``
(seed 3, 6 months, that size: checked against its ``truth/world.json``) is used instead of
simulating it again, and the simulate row says so.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

from benchmarks.harness import PERFORMANCE_DOC, Case, Result, run_case

SIZES = (100_000, 300_000, 1_000_000)
MONTHS = 6
SEED = 3


def _label(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 else f"{n // 1000}k"


def _simulate(data: str, customers: int) -> None:
    from touchpoint.simulate import simulate

    simulate(data, customers=customers, months=MONTHS, seed=SEED)


def _sources(data: Path) -> list[Path]:
    return sorted(data.glob("*.parquet"))


def _ingest(data: str, warehouse: str, side: str) -> None:
    """``touchpoint ingest`` of the world's files: one process per core (``--jobs``)."""
    from touchpoint.ingest import ingest
    from touchpoint.warehouse import connect

    con = connect(warehouse)
    summaries = ingest(con, [str(p) for p in _sources(Path(data))], jobs=None)
    con.disconnect()
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)  # the worker processes, reaped
    Path(side).write_text(
        json.dumps(
            {
                "n_read": sum(s.n_read for s in summaries),
                "n_loaded": sum(s.n_loaded for s in summaries),
                "failed": [s.path for s in summaries if s.status == "failed"],
                "workers_cpu_seconds": workers.ru_utime + workers.ru_stime,
                "workers_peak_mb": workers.ru_maxrss / 1024,
            }
        )
    )


def _duckdb_floor(data: str, database: str) -> None:
    import duckdb

    con = duckdb.connect(database)
    for n, path in enumerate(_sources(Path(data))):
        con.execute(f"CREATE TABLE t{n} AS SELECT * FROM read_parquet(?)", [str(path)])
    con.close()


def _run(warehouse: str, side: str) -> None:
    from touchpoint.config import load_config
    from touchpoint.pipeline import run_pipeline
    from touchpoint.warehouse import connect

    con = connect(warehouse)
    results = run_pipeline(con, load_config())
    con.disconnect()
    ran = [r for r in results if r.ran]
    Path(side).write_text(json.dumps({r.step: [r.seconds, r.cpu_seconds, r.peak_mb] for r in ran}))


def _publish(warehouse: str) -> None:
    """What `touchpoint run` does after its steps: publish the snapshot `touchpoint serve`
    reads (tables sorted by customer, the card store)."""
    from touchpoint.platform import publish_snapshot
    from touchpoint.warehouse import connect

    con = connect(warehouse)
    publish_snapshot(con)
    con.disconnect()


def _report(warehouse: str, out: str) -> None:
    from touchpoint.config import load_config
    from touchpoint.report import write_report
    from touchpoint.warehouse import connect

    con = connect(warehouse, read_only=True)
    write_report(con, load_config(), Path(out), lang="en")
    con.disconnect()


def _bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else 0


def _mb(n: int) -> str:
    return f"{n / 1e6:,.0f}"


def _row(stage: str, result: Result, on_disk: str = "", workers: dict | None = None) -> str:
    cpu, peak = f"{result.cpu_seconds:,.1f}", f"{result.peak_rss_mb:,.0f}"
    if workers and workers["workers_cpu_seconds"] > 0:
        cpu = f"{result.cpu_seconds + workers['workers_cpu_seconds']:,.1f}"
        peak += f" + workers ≤ {workers['workers_peak_mb']:,.0f} each"
    return f"| {stage} | {result.seconds:,.1f} | {cpu} | {peak} | {on_disk} |"


def _step_rows(steps: dict[str, list[float]]) -> list[str]:
    """The run's steps of at least one CPU second, costliest first."""
    rows = ["| step of run | wall s | CPU s | peak MB |", "|---|---:|---:|---:|"]
    for step, (seconds, cpu, peak) in sorted(steps.items(), key=lambda item: -item[1][1]):
        if cpu >= 1:
            rows.append(f"| {step} | {seconds:,.1f} | {cpu:,.1f} | {peak or 0:,.0f} |")
    return rows


def _given_world(n: int) -> Path | None:
    """The world of ``TOUCHPOINT_BENCH_CITY_WORLD``, refused unless it is seed 3's ``n``
    customers × 6 months."""
    given = os.environ.get("TOUCHPOINT_BENCH_CITY_WORLD")
    if not given:
        return None
    world = json.loads((Path(given) / "truth" / "world.json").read_text())
    wanted = {"customers": n, "months": MONTHS, "seed": SEED}
    found = {key: world.get(key) for key in wanted}
    if found != wanted:
        raise SystemExit(f"{given}: world {found}, the benchmark needs {wanted}")
    return Path(given)


def _one_world(n: int, root: Path) -> str:
    given = _given_world(n)
    data, warehouse = given or root / "data", root / "touchpoint.duckdb"
    floor, side = root / "floor.duckdb", root / "side.json"
    size = f"{_label(n)} customers × {MONTHS} months"

    def stage(name: str, func, *args) -> Result:
        result = run_case(Case("city", name, size, 0, func, args))
        print(f"  {size} {name}: {result.seconds:.1f} s wall, {result.cpu_seconds:.1f} CPU s, "
              f"peak {result.peak_rss_mb:,.0f} MB (load {os.getloadavg()[0]:.1f})",
              flush=True)  # fmt: skip
        return result

    load_before = os.getloadavg()[0]
    simulated = None if given else stage("simulate", _simulate, str(data), n)
    ingested = stage("ingest", _ingest, str(data), str(warehouse), str(side))
    counts = json.loads(side.read_text())
    print(f"  ingest workers: {counts}", flush=True)
    parts = warehouse.with_name(warehouse.name + ".data")
    stored = f"{_mb(_bytes(warehouse))} DuckDB file + {_mb(_bytes(parts))} parts"
    floored = stage("duckdb read_parquet (floor)", _duckdb_floor, str(data), str(floor))
    ran = stage("run", _run, str(warehouse), str(side))
    steps = json.loads(side.read_text())
    published = stage("publish (end of touchpoint run)", _publish, str(warehouse))
    reported = stage("report", _report, str(warehouse), str(root / "report.en.html"))
    load_after = os.getloadavg()[0]
    source_bytes, floor_bytes = _bytes(data) - _bytes(data / "truth"), _bytes(floor)
    job = ingested.seconds + ran.seconds + published.seconds + reported.seconds
    ingest_cpu = ingested.cpu_seconds + counts["workers_cpu_seconds"]
    job_cpu = ingest_cpu + ran.cpu_seconds + published.cpu_seconds + reported.cpu_seconds
    snapshot = _bytes(warehouse.with_name(warehouse.name + ".serve"))
    lines = [
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} with "
        f"`TOUCHPOINT_BENCH_SIZES={n} python -m benchmarks city` (seed {SEED}); load average "
        f"{load_before:.1f} at the start, {load_after:.1f} at the end (2 shared cores).",
        f"Source: {counts['n_read']:,} rows in {len(_sources(data))} Parquet files; "
        f"{counts['n_loaded']:,} loaded"
        + (f"; failed: {', '.join(counts['failed'])}" if counts["failed"] else "")
        + ".",
        "",
        "| stage | wall s | CPU s | peak MB | on disk (MB) |",
        "|---|---:|---:|---:|---|",
        _row("simulate", simulated, f"{_mb(source_bytes)} source files")
        if simulated
        else f"| simulate | (world reused from {data}) | | | {_mb(source_bytes)} source files |",
        _row("ingest", ingested, stored, counts),
        _row("duckdb read_parquet (floor)", floored, f"{_mb(floor_bytes)} DuckDB file"),
        _row("run", ran, f"{_mb(_bytes(warehouse))} DuckDB file after run"),
        _row("publish (end of touchpoint run)", published, f"{_mb(snapshot)} snapshot"),
        _row("report", reported),
        "",
        f"Ingest / floor: {ingested.seconds / floored.seconds:.2f}× wall, "
        f"{ingest_cpu / floored.cpu_seconds:.2f}× CPU. "
        f"Ingest + run (its publish included) + report: {job:,.0f} s wall, "
        f"{job_cpu:,.0f} CPU s.",
        "",
        *_step_rows(steps),
    ]
    return "\n".join(lines)


def _record(n: int, block: str) -> None:
    begin, end = f"<!-- bench:city-{_label(n)}:begin -->", f"<!-- bench:city-{_label(n)}:end -->"
    text = PERFORMANCE_DOC.read_text(encoding="utf-8")
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        tail = rest.split(end, 1)[1]
        text = f"{head}{begin}\n{block}\n{end}{tail}"
    else:
        text = text.rstrip("\n") + f"\n\n{begin}\n{block}\n{end}\n"
    PERFORMANCE_DOC.write_text(text, encoding="utf-8")


def main() -> None:
    sizes = os.environ.get("TOUCHPOINT_BENCH_SIZES")
    chosen = [int(s) for s in sizes.split(",")] if sizes else list(SIZES)
    for n in chosen:
        root = Path(tempfile.mkdtemp(prefix="tp-bench-city-"))
        try:
            block = _one_world(n, root)
        finally:
            shutil.rmtree(root, ignore_errors=True)
        print(block, flush=True)
        _record(n, block)
