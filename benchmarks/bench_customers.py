"""Customer analytics at three sizes: Touchpoint (Ibis on DuckDB) vs pandas vs hand-written SQL.

Every variant computes the same three tables (``mart_customer_contacts_monthly``,
``mart_channel_preference`` and ``mart_customer_360``; see
``benchmarks/customers_reference.py``) from the same data: the simulator's world of N
customers × 6 months, generated once and cached under ``benchmarks/.data/``. Touchpoint and
SQL read the ``stg_*`` tables of a DuckDB warehouse and write their results into it; pandas
reads the parquet files and keeps its results in memory.

Run: ``python -m benchmarks customers`` (sizes via BENCH_CUSTOMERS_SIZES=10000,100000).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import duckdb

from benchmarks.customers_reference import pandas_customers, sql_statements
from benchmarks.harness import Case, record, run_cases
from touchpoint.config import load_config
from touchpoint.customers import (
    build_360,
    build_contacts,
    build_preference,
    load_customers_settings,
)
from touchpoint.tags import build as build_tags
from touchpoint.tags import build_changes as build_tag_changes
from touchpoint.warehouse import connect, write_table

DATA = Path(__file__).resolve().parent / ".data"
SIZES = (10_000, 100_000, 1_000_000)
MONTHS = 6
ENTITIES = ("customers", "contacts", "payments", "bills", "orders", "complaints", "surveys")


def prepare(n_customers: int) -> tuple[Path, Path, dict[str, int]]:
    """Cached simulated data and a warehouse with its ``stg_*`` tables; returns row counts."""
    from touchpoint.simulate import simulate

    data_dir = DATA / f"customers_{n_customers}"
    if not (data_dir / "truth" / "world.json").exists():
        simulate(data_dir, customers=n_customers, months=MONTHS, seed=3)
    warehouse = data_dir / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse))
    try:
        have = {row[0] for row in con.execute("SHOW TABLES").fetchall()}
        counts = {}
        for name in ENTITIES:
            if f"stg_{name}" not in have:
                con.execute(
                    f"CREATE TABLE stg_{name} AS SELECT * FROM read_parquet(?)",
                    [str(data_dir / f"{name}.parquet")],
                )
            counts[name] = con.execute(f"SELECT COUNT(*) FROM stg_{name}").fetchone()[0]
    finally:
        con.close()
    return data_dir, warehouse, counts


def run_touchpoint(warehouse: str, with_tags: bool = False) -> None:
    """What ``touchpoint run`` does for the customer steps: three steps, each written; with
    ``with_tags`` also the steps ``tags`` and ``tags_changes`` (the default catalogue)."""
    config = load_config()
    con = connect(warehouse)
    con.raw_sql("SET enable_progress_bar = false")
    tables = {f"stg_{name}": con.table(f"stg_{name}") for name in ENTITIES}
    steps = [build_contacts, build_preference, build_360]
    if with_tags:
        os.environ.pop("TOUCHPOINT_TAGS", None)
        if "mart_tag_definitions" in con.list_tables():
            con.drop_table("mart_tag_definitions")  # each run starts from the same state
        steps += [build_tags, build_tag_changes]
    for step in steps:
        for name, expr in step(tables, config).items():
            write_table(con, name, expr)
            tables[name] = con.table(name)
    con.disconnect()


def run_sql(warehouse: str) -> None:
    con = duckdb.connect(warehouse)
    con.execute("SET enable_progress_bar = false")
    for statement in sql_statements(load_config(), load_customers_settings()):
        con.execute(statement)
    con.close()


def run_pandas(data_dir: str) -> None:
    pandas_customers(Path(data_dir), load_config(), load_customers_settings())


def _sizes() -> tuple[int, ...]:
    chosen = os.environ.get("BENCH_CUSTOMERS_SIZES")
    return tuple(int(x) for x in chosen.split(",")) if chosen else SIZES


def _label(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 else f"{n // 1_000}k"


def main() -> None:
    results, notes = [], []
    skip_pandas_above = int(os.environ.get("BENCH_CUSTOMERS_PANDAS_MAX", "100000"))
    for n in _sizes():
        started = time.perf_counter()
        data_dir, warehouse, counts = prepare(n)
        rows = sum(counts.values())
        print(
            f"  data {n:,} customers: {counts} ({time.perf_counter() - started:.0f} s)", flush=True
        )
        size = (
            f"{_label(n)} customers × {MONTHS} months ({counts['contacts'] / 1e6:.1f} M contacts)"
        )
        notes.append(
            f"{_label(n)}: {counts['contacts']:,} contacts, {counts['payments']:,} payments, "
            f"{counts['bills']:,} bills, {rows:,} input rows in all"
        )
        cases = [
            Case("customers", "touchpoint", size, rows, run_touchpoint, (str(warehouse),)),
            Case("customers", "duckdb-sql", size, rows, run_sql, (str(warehouse),)),
            Case(
                "customers",
                "touchpoint, + tag catalogue",
                size,
                rows,
                run_touchpoint,
                (str(warehouse), True),
            ),
        ]
        if n <= skip_pandas_above:
            cases.append(Case("customers", "pandas", size, rows, run_pandas, (str(data_dir),)))
        else:
            notes.append(f"pandas not run at {_label(n)} (memory)")
        results += run_cases(cases)
    record(
        "customers",
        results,
        note="Input: the simulator's world (seed 3); " + "; ".join(notes) + ". Each variant "
        "builds contacts per customer × month × business × channel, preference levels over "
        "the trailing 3 months (per business and over all businesses) and the customer 360 "
        "(~110 columns: bills, contacts and payments by channel, 3-month windows, orders, "
        "complaints, classified survey replies, cost, contribution tier, identity flag). "
        "'touchpoint, + tag catalogue' adds the steps tags and tags_changes (the default "
        "catalogue on the 360: membership, changes, validation, definitions): the issue's "
        "2-minute target at 1M. rows/s counts input rows of all seven source tables.",
    )


if __name__ == "__main__":
    main()
