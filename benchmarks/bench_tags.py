"""Evaluating the default tag catalogue at three sizes: Touchpoint vs pandas vs hand-written SQL.

Every variant computes the same tables from the same synthetic ``mart_customer_360``
(``benchmarks/tags_data.py``, every contract column, one row per customer × month over six
months): membership with ``since``, members / entered / left per tag and month, and the counts
behind the churn and complaint lifts (tests/tags/test_tags_reference_agreement.py checks that
the three agree). Touchpoint and SQL read the 360 from a DuckDB warehouse and write their
tables into it; pandas reads the Parquet file (only the columns the rules use) and keeps its
results in memory.

Run: ``python -m benchmarks tags`` (sizes in customers via BENCH_TAGS_CUSTOMERS, e.g.
``16667,166667``).
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from benchmarks.harness import Case, record, run_case
from benchmarks.tags_data import synthetic_c360
from benchmarks.tags_reference import pandas_tags, sql_statements
from touchpoint.config import load_config
from touchpoint.tags import build, build_changes
from touchpoint.warehouse import connect, write_table

DATA = Path(__file__).resolve().parent / ".data"
CUSTOMERS = (16_667, 166_667, 1_000_000)  # about 0.1 M, 1 M and 6 M rows of the 360
CHUNK = 100_000
PANDAS_COLUMNS = [
    "customer_id", "month", "leave_date", "value_tier", "is_group_key_person", "n_complaints",
    "n_complaints_3m", "n_surveys_dissatisfied_3m", "n_surveys_replied_3m",
    "n_orders_subscribe_3m", "is_family_plan", "n_family_or_group_orders_3m",
    "n_contacts_3m_web", "n_contacts_3m_kiosk", "n_contacts_3m_app", "net_contribution_yuan",
    "is_identity_customer", "pref_level_payment_store", "pref_level_agent", "is_new_subscriber",
]  # fmt: skip


def prepare(n_customers: int) -> tuple[Path, Path, int]:
    """Cached Parquet 360 and a warehouse holding it as mart_customer_360; and its row count."""
    folder = DATA / f"tags_{n_customers}"
    folder.mkdir(parents=True, exist_ok=True)
    parquet, warehouse = folder / "c360.parquet", folder / "warehouse.duckdb"
    if not parquet.exists():
        config = load_config()
        writer = None
        for first in range(0, n_customers, CHUNK):
            chunk = synthetic_c360(
                config, min(CHUNK, n_customers - first), seed=first, first_id=first
            )
            writer = writer or pq.ParquetWriter(str(parquet) + ".part", chunk.schema)
            writer.write_table(chunk)
        writer.close()
        os.replace(str(parquet) + ".part", parquet)
    con = duckdb.connect(str(warehouse))
    try:
        tables = {row[0] for row in con.execute("SHOW TABLES").fetchall()}
        if "mart_customer_360" not in tables:
            con.execute(
                "CREATE TABLE mart_customer_360 AS SELECT * FROM read_parquet(?)", [str(parquet)]
            )
        rows = con.execute("SELECT count(*) FROM mart_customer_360").fetchone()[0]
    finally:
        con.close()
    return parquet, warehouse, rows


def run_touchpoint(warehouse: str) -> None:
    """What the pipeline's ``tags`` and ``tags_changes`` steps do: build the marts, write them."""
    os.environ.pop("TOUCHPOINT_TAGS", None)
    con = connect(warehouse)
    if "mart_tag_definitions" in con.list_tables():
        con.drop_table("mart_tag_definitions")  # each run starts from the same state
    tables = {"mart_customer_360": con.table("mart_customer_360")}
    for step in (build, build_changes):
        for name, expr in step(tables, load_config()).items():
            write_table(con, name, expr)
            tables[name] = con.table(name)
    con.disconnect()


def run_sql(warehouse: str) -> None:
    con = duckdb.connect(warehouse)
    con.execute("SET enable_progress_bar = false")
    for statement in sql_statements():
        con.execute(statement)
    con.close()


def run_pandas(parquet: str) -> None:
    frame = pq.read_table(parquet, columns=PANDAS_COLUMNS).to_pandas(date_as_object=False)
    pandas_tags(frame)


def _sizes() -> tuple[int, ...]:
    chosen = os.environ.get("BENCH_TAGS_CUSTOMERS")
    return tuple(int(s) for s in chosen.split(",")) if chosen else CUSTOMERS


def _label(rows: int) -> str:
    return f"{rows / 1e6:.1f}M rows" if rows >= 1e6 else f"{rows / 1e3:.0f}k rows"


def main() -> None:
    results = []
    for n_customers in _sizes():
        parquet, warehouse, rows = prepare(n_customers)
        size = _label(rows)
        for variant, func, arg in (
            ("touchpoint", run_touchpoint, str(warehouse)),
            ("duckdb-sql", run_sql, str(warehouse)),
            ("pandas", run_pandas, str(parquet)),
        ):
            result = run_case(Case("tags", variant, size, rows, func, (arg,)))
            print(
                f"{size:>10} {variant:<11} {result.seconds:7.2f} s  {result.peak_rss_mb:,.0f} MB",
                flush=True,
            )
            results.append(result)
    record(
        "tags",
        results,
        note=(
            "The default catalogue (14 tags) on a synthetic `mart_customer_360` (every contract "
            "column, 6 months): membership with `since`, members/entered/left per tag and "
            "month, churn and complaint lift counts (Touchpoint also computes the lifts and "
            "intervals). Rows are customer-months of the 360. The machine was shared with other "
            "jobs while measuring: treat the figures as upper bounds."
        ),
    )
