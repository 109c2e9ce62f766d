"""Survey selection over one day of contacts (issue 16: 5 M contacts in at most 30 s).

A synthetic warehouse (DuckDB SQL, cached under benchmarks/.data): ``stg_contacts`` with N
contacts ending on one day (channels, businesses, outcomes, regions spread evenly),
``stg_customers`` with N / 2.5 customers, ``stg_surveys`` with the surveys of the 30 days
before (one customer in eight) and a do-not-disturb list of 1 % of customers. The case runs
``touchpoint.quality.select_surveys`` with a strategy using every dimension and exclusion and
writes the day's list (quota 50,000) to Parquet.

Run: ``python -m benchmarks survey`` (sizes via BENCH_SURVEY_CONTACTS, e.g. ``1000000``).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from benchmarks.harness import Case, record, run_case

DATA = Path(__file__).resolve().parent / ".data"
SIZES = (1_000_000, 5_000_000)
DAY = dt.date(2026, 3, 2)
STRATEGY = """
id: bench
survey_channel: sms
daily_quota: 50000
seed: bench
dimensions:
  time_window: [{from: "08:00", to: "12:00"}, {from: "13:00", to: "21:00"}]
  customer_level: [gold, silver, regular]
  channel: [agent, store, partner_store]
  business: [payment, bill_query, data_package, plan_change, fault_report, complaint]
  outcome: [resolved, unresolved, transferred]
  region: [r0, r1, r2, r3, r4, r5, r6, r7]
exclude:
  surveyed_within_days: 30
  do_not_disturb: true
"""


def prepare(n: int) -> Path:
    folder = DATA / f"survey_{n}"
    folder.mkdir(parents=True, exist_ok=True)
    warehouse = folder / "warehouse.duckdb"
    if warehouse.exists():
        return warehouse
    tmp = folder / "warehouse.part.duckdb"
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp))
    n_customers = int(n / 2.5)
    con.execute(f"""
        CREATE TABLE stg_customers AS SELECT
          'C' || lpad(i::VARCHAR, 9, '0') AS customer_id,
          ['diamond', 'gold', 'silver', 'regular', 'regular', 'regular'][1 + i % 6] AS value_tier,
          'r' || (i % 10)::VARCHAR AS region
        FROM range({n_customers}) t(i)""")
    con.execute(f"""
        CREATE TABLE stg_contacts AS SELECT
          'K' || lpad(i::VARCHAR, 12, '0') AS contact_id,
          'C' || lpad((hash(i) % {n_customers})::VARCHAR, 9, '0') AS customer_id,
          TIMESTAMP '{DAY}' + to_seconds((hash(i * 7) % 86000)::BIGINT) AS started_at,
          TIMESTAMP '{DAY}' + to_seconds((hash(i * 7) % 86000)::BIGINT + 300) AS ended_at,
          ['ivr', 'agent', 'store', 'partner_store', 'web', 'app', 'sms'][1 + i % 7] AS channel,
          ['payment', 'bill_query', 'data_package', 'plan_change', 'fault_report', 'complaint',
           'new_business', 'other'][1 + (i // 7) % 8] AS business,
          ['resolved', 'resolved', 'unresolved', 'transferred', 'abandoned'][1 + (i // 3) % 5]
            AS outcome,
          CASE WHEN i % 4 = 0 THEN NULL ELSE 'r' || ((i // 11) % 10)::VARCHAR END AS region
        FROM range({n}) t(i)""")
    con.execute(f"""
        CREATE TABLE stg_surveys AS SELECT
          'S' || lpad(i::VARCHAR, 12, '0') AS survey_id,
          'C' || lpad((i * 8)::VARCHAR, 9, '0') AS customer_id,
          TIMESTAMP '{DAY}' - to_seconds(1 + (hash(i) % (30 * 86400))::BIGINT) AS sent_at
        FROM range({n_customers // 8}) t(i)""")
    con.execute(f"""
        COPY (SELECT 'C' || lpad((i * 100)::VARCHAR, 9, '0') AS customer_id
              FROM range({n_customers // 100}) t(i))
        TO '{folder / "dnd.parquet"}' (FORMAT parquet)""")
    con.close()
    os.replace(tmp, warehouse)
    return warehouse


def run_touchpoint(warehouse: str) -> None:
    """What ``touchpoint survey select`` does: select the day's list and write it."""
    import ibis

    from touchpoint.quality import select_surveys, strategy_from_text
    from touchpoint.warehouse import connect

    con = connect(warehouse, read_only=True)
    dnd = pq.read_table(Path(warehouse).parent / "dnd.parquet")
    selected = select_surveys(
        con.table("stg_contacts"),
        con.table("stg_customers"),
        strategy_from_text(STRATEGY),
        DAY,
        past_surveys=con.table("stg_surveys"),
        do_not_disturb=ibis.memtable(dnd),
    ).to_pyarrow()
    assert selected.num_rows == 50_000, selected.num_rows
    pq.write_table(selected, Path(warehouse).parent / "list.parquet")
    con.disconnect()


def main() -> None:
    chosen = os.environ.get("BENCH_SURVEY_CONTACTS")
    sizes = tuple(int(s) for s in chosen.split(",")) if chosen else SIZES
    results = []
    for n in sizes:
        warehouse = prepare(n)
        size = f"{n / 1e6:.0f}M contacts"
        result = run_case(Case("survey", "touchpoint", size, n, run_touchpoint, (str(warehouse),)))
        print(f"{size:>14} {result.seconds:7.2f} s  {result.peak_rss_mb:,.0f} MB", flush=True)
        results.append(result)
    record(
        "survey",
        results,
        note=(
            "`select_surveys` over one day of synthetic contacts with every dimension (two time "
            "windows, level, channel, business, outcome, region), surveyed-within-30-days and "
            "do-not-disturb exclusions, one survey per customer and a hash-sampled quota of "
            "50,000, written to Parquet. Target (issue 16): 5 M contacts in at most 30 s. The "
            "machine was shared with other jobs while measuring: treat the figures as upper "
            "bounds."
        ),
    )


if __name__ == "__main__":
    main()
