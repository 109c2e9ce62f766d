"""IVR analytics at three sizes: Touchpoint (Ibis on DuckDB) vs pandas vs hand-written SQL.

The same metrics in every variant (``benchmarks/ivr_reference.py``): every column of
``mart_ivr_node_stats`` (visits, calls, callers, dwell, the signs of being lost, exits by kind);
plain and verified containment and mean self-service time overall, by business and by region. A fourth row times
every IVR mart (tree, nodes, lost points, graph, paths, containment, KPIs: steps
``ivr_visits``, ``ivr_cubes`` and ``ivr``), and at the largest size one case runs the channel and IVR steps together, as
``touchpoint run`` does, against the target (1 M customers × 6 months in 3 minutes, < 6 GB).

Data: the channel benchmark's generated data (``benchmarks/channels_data.py``, cached under
``benchmarks/.data/``), about 1.5 hotline calls per customer and month and 4–5 IVR events per
call. Run: ``python -m benchmarks ivr``; ``BENCH_IVR_SIZES=10000,100000``,
``BENCH_IVR_PANDAS_MAX`` (pandas up to this many customers, memory), ``BENCH_IVR_RUN_SIZE``
(customers of the channels + IVR case; 0 skips it).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import duckdb

from benchmarks.bench_channels import MONTHS, STG, prepare
from benchmarks.harness import Case, record, run_cases
from benchmarks.ivr_reference import pandas_ivr, sql_statements
from touchpoint import channels, ivr
from touchpoint.config import load_config
from touchpoint.warehouse import connect, write_table

SIZES = (10_000, 100_000, 300_000)


def _tables(con) -> dict:
    return {f"stg_{name}": con.table(f"stg_{name}") for name in STG}


def run_touchpoint(warehouse: str) -> None:
    """The benchmark's metrics only: node statistics and containment, written."""
    config = load_config()
    settings = ivr.settings_from_config(config)
    con = connect(warehouse)
    con.raw_sql("SET enable_progress_bar = false")
    tables = _tables(con)
    steps = ivr.event_steps(tables["stg_ivr_events"], settings)
    visits = ivr.node_visits(ivr.unshared_steps(tables["stg_ivr_events"], settings), settings)
    write_table(con, "bench_ivr_node_stats", ivr.node_stats(steps, visits, settings))
    # How each call ended from the events, without a window (step ``ivr_cubes`` now reads it
    # from the visits of step ``ivr_visits``; this case keeps the benchmark's metrics alone).
    endings = ivr.call_endings(tables["stg_ivr_events"], settings)
    facts = ivr.ivr_call_facts(tables["stg_contacts"], endings, settings)
    cube = write_table(con, "bench_ivr_calls_daily", ivr.call_cube(facts))
    write_table(con, "bench_ivr_containment", ivr.containment_all(cube, settings))
    con.disconnect()


def _run_steps(warehouse: str, steps) -> None:
    config = load_config()
    con = connect(warehouse)
    con.raw_sql("SET enable_progress_bar = false")
    tables = _tables(con)
    for step in steps:
        for name, expr in step(tables, config).items():
            tables[name] = write_table(con, name, expr)
    con.disconnect()


def run_touchpoint_all(warehouse: str) -> None:
    """Every IVR mart: what ``touchpoint run`` does for the steps ``ivr_visits``,
    ``ivr_cubes`` and ``ivr``."""
    _run_steps(warehouse, (ivr.build_visits, ivr.build_cubes, ivr.build_marts))


def run_channels_and_ivr(warehouse: str) -> None:
    """The channel and IVR steps of ``touchpoint run``, in pipeline order."""
    _run_steps(
        warehouse,
        (
            channels.build_cubes,
            channels.build_marts,
            ivr.build_visits,
            ivr.build_cubes,
            ivr.build_marts,
        ),
    )


def run_sql(warehouse: str) -> None:
    con = duckdb.connect(warehouse)
    con.execute("SET enable_progress_bar = false")
    for statement in sql_statements():
        con.execute(statement)
    con.close()


def run_pandas(data_dir: str) -> None:
    pandas_ivr(Path(data_dir))


def _sizes() -> tuple[int, ...]:
    chosen = os.environ.get("BENCH_IVR_SIZES")
    return tuple(int(x) for x in chosen.split(",")) if chosen else SIZES


def _label(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 else f"{n // 1_000}k"


def _record(results, notes) -> None:
    record(
        "ivr",
        results,
        note="Input rows: " + "; ".join(notes) + ". rows/s counts IVR events (contacts + "
        "events for the channels + IVR row). touchpoint, duckdb-sql and pandas compute the "
        "same metrics: every column of mart_ivr_node_stats (events, visits, calls, callers, "
        "loops, mean and median dwell, timeouts, invalid keys, back-key presses, repeated "
        "prompts, back-track entries, wrong turns, exits by kind) and plain/verified "
        "containment with mean self-service time overall, by business and by region. 'all IVR marts' adds the tree, "
        "lost points, graph, paths, failures by node and KPIs.",
    )


def main() -> None:
    results, notes = [], []
    pandas_max = int(os.environ.get("BENCH_IVR_PANDAS_MAX", "300000"))
    run_size = int(os.environ.get("BENCH_IVR_RUN_SIZE", "1000000"))
    for n in _sizes():
        started = time.perf_counter()
        data_dir, warehouse, n_contacts, n_events = prepare(n)
        print(f"  data {n:,} customers: {n_contacts:,} contacts, {n_events:,} IVR events "
              f"({time.perf_counter() - started:.0f} s)", flush=True)  # fmt: skip
        size = f"{_label(n)} customers × {MONTHS} months ({n_events / 1e6:.1f} M IVR events)"
        notes.append(f"{_label(n)}: {n_events:,} IVR events, {n_contacts:,} contacts")
        cases = [
            Case("ivr", "touchpoint", size, n_events, run_touchpoint, (str(warehouse),)),
            Case("ivr", "duckdb-sql", size, n_events, run_sql, (str(warehouse),)),
        ]
        if n <= pandas_max:
            cases.append(Case("ivr", "pandas", size, n_events, run_pandas, (str(data_dir),)))
        else:
            notes.append(f"pandas not run at {_label(n)} (memory)")
        cases.append(
            Case(
                "ivr",
                "touchpoint, all IVR marts",
                size,
                n_events,
                run_touchpoint_all,
                (str(warehouse),),
            )  # fmt: skip
        )
        results += run_cases(cases)
    _record(results, notes)  # kept even if the large case below is stopped
    if run_size:
        data_dir, warehouse, n_contacts, n_events = prepare(run_size)
        size = f"{_label(run_size)} customers × {MONTHS} months ({n_events / 1e6:.1f} M IVR events)"
        notes.append(f"{_label(run_size)}: {n_events:,} IVR events, {n_contacts:,} contacts")
        case = Case(
            "ivr", "touchpoint, channels + IVR steps", size, n_contacts + n_events,
            run_channels_and_ivr, (str(warehouse),),
        )  # fmt: skip
        results += run_cases([case])
    _record(results, notes)


if __name__ == "__main__":
    main()
