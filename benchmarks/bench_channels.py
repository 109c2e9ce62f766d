"""Channel analytics at three sizes: Touchpoint (Ibis on DuckDB) vs pandas vs hand-written SQL.

Every variant computes the same tables (contact and hotline-call facts with repeats and
escalation, KPI marts by day/week/month × every dimension, totals, repeats, escalation
breakdowns, headline row) from the same data: ``benchmarks/channels_data.py`` generates
contacts-like data for N customers × 6 months and caches it under ``benchmarks/.data/``.
Touchpoint and SQL read the ``stg_*`` tables of a DuckDB warehouse and write their results
into it; pandas reads the parquet files and keeps its results in memory.

Run: ``python -m benchmarks channels`` (add ``--sizes 10000,100000`` via BENCH_CHANNELS_SIZES).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import duckdb

from benchmarks.channels_data import write as write_data
from benchmarks.channels_reference import pandas_channels, sql_statements
from benchmarks.harness import Case, record, run_cases
from touchpoint.channels import build_cubes, build_marts
from touchpoint.config import load_config
from touchpoint.warehouse import connect, write_table

DATA = Path(__file__).resolve().parent / ".data"
SIZES = (10_000, 100_000, 1_000_000)
MONTHS = 6
STG = ("contacts", "customers", "ivr_events")


def prepare(n_customers: int) -> tuple[Path, Path, int, int]:
    """Cached parquet data and a warehouse with its ``stg_*`` tables; returns row counts too."""
    data_dir = write_data(DATA / f"channels_{n_customers}", n_customers, MONTHS)
    warehouse = data_dir / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse))
    try:
        have = {row[0] for row in con.execute("SHOW TABLES").fetchall()}
        for name in STG:
            if f"stg_{name}" not in have:
                con.execute(
                    f"CREATE TABLE stg_{name} AS SELECT * FROM read_parquet(?)",
                    [str(data_dir / f"{name}.parquet")],
                )
        n_contacts = con.execute("SELECT COUNT(*) FROM stg_contacts").fetchone()[0]
        n_events = con.execute("SELECT COUNT(*) FROM stg_ivr_events").fetchone()[0]
    finally:
        con.close()
    return data_dir, warehouse, n_contacts, n_events


def run_touchpoint(warehouse: str) -> None:
    """What ``touchpoint run`` does for the channel steps: cubes, then marts, all written."""
    config = load_config()
    con = connect(warehouse)
    con.raw_sql("SET enable_progress_bar = false")
    tables = {f"stg_{name}": con.table(f"stg_{name}") for name in STG}
    for step in (build_cubes, build_marts):
        for name, expr in step(tables, config).items():
            write_table(con, name, expr)
            tables[name] = con.table(name)
    con.disconnect()


def run_sql(warehouse: str) -> None:
    con = duckdb.connect(warehouse)
    con.execute("SET enable_progress_bar = false")
    for statement in sql_statements(load_config()):
        con.execute(statement)
    con.close()


def run_pandas(data_dir: str) -> None:
    pandas_channels(Path(data_dir), load_config())


def _sizes() -> tuple[int, ...]:
    chosen = os.environ.get("BENCH_CHANNELS_SIZES")
    return tuple(int(x) for x in chosen.split(",")) if chosen else SIZES


def _label(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 else f"{n // 1_000}k"


def main() -> None:
    results = []
    notes = []
    # The pandas version needs about 25 GB at 1 M customers (2.5 GB at 100 k): more than this
    # shared machine has, so by default it runs up to 100 k customers only.
    skip_pandas_above = int(os.environ.get("BENCH_CHANNELS_PANDAS_MAX", "100000"))
    for n in _sizes():
        started = time.perf_counter()
        data_dir, warehouse, n_contacts, n_events = prepare(n)
        print(f"  data {n:,} customers: {n_contacts:,} contacts, {n_events:,} IVR events "
              f"({time.perf_counter() - started:.0f} s)", flush=True)  # fmt: skip
        size = f"{_label(n)} customers × {MONTHS} months ({n_contacts / 1e6:.1f} M contacts)"
        notes.append(f"{_label(n)}: {n_contacts:,} contacts, {n_events:,} IVR events")
        cases = [
            Case("channels", "touchpoint", size, n_contacts, run_touchpoint, (str(warehouse),)),
            Case("channels", "duckdb-sql", size, n_contacts, run_sql, (str(warehouse),)),
        ]
        if n <= skip_pandas_above:
            cases.append(Case("channels", "pandas", size, n_contacts, run_pandas, (str(data_dir),)))
        else:
            notes.append(f"pandas not run at {_label(n)} (memory)")
        results += run_cases(cases)
    record(
        "channels",
        results,
        note="Input rows: " + "; ".join(notes) + ". Each variant computes the contact and "
        "hotline-call facts (repeats, IVR->agent escalation), KPI tables by day/week/month × "
        "every dimension, totals, repeat and escalation breakdowns and the headline row.",
    )


if __name__ == "__main__":
    main()
