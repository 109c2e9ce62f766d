"""Campaigns at three audience sizes: the holdout draw with the work orders under the contact
policy, and tracking; Touchpoint beside hand-written DuckDB SQL where one exists.

Synthetic data (``prepare``): an audience of N customers in 5 strata (a preference level), and
their payments over the selection month and three months after (about 1.2 a month, channels
drawn with store payments falling in the treated group), in a DuckDB warehouse.

- ``assign+dispatch``: the stratified hash draw (:func:`touchpoint.campaigns.assign`), the
  ``created`` and ``approved`` events, and :func:`~touchpoint.campaigns.dispatch` under the
  default policy (quiet hours, SMS and call caps), written to the warehouse. The SQL variant
  is the draw alone: the policy's caps have no short SQL of their own worth comparing.
- ``tracking``: :func:`touchpoint.campaigns.track` (store-payment metrics and where they went,
  net effect and interval per month) written to the warehouse, against the same figures in one
  hand-written SQL statement.

Run: ``python -m benchmarks campaigns`` (sizes in customers via BENCH_CAMPAIGN_CUSTOMERS,
e.g. ``10000,100000``).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from benchmarks.harness import Case, record, run_case
from touchpoint.campaigns import (
    approval_events,
    assign,
    campaign_from_data,
    created_events,
    dispatch,
    load_campaign_settings,
    track,
)
from touchpoint.warehouse import connect, write_table

DATA = Path(__file__).resolve().parent / ".data"
CUSTOMERS = (10_000, 100_000, 1_000_000)
BASELINE = dt.date(2026, 2, 1)
CHANNELS = np.array(["store", "partner_store", "kiosk", "web", "app", "mobile_pay"])
SHARE = 0.1
DESTINATIONS = ("kiosk", "web", "app", "mobile_pay")


def prepare(n: int) -> tuple[Path, int]:
    """A cached warehouse with ``bench_audience`` and ``stg_payments``; the payment rows."""
    folder = DATA / f"campaigns_{n}"
    folder.mkdir(parents=True, exist_ok=True)
    warehouse = folder / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse))
    try:
        tables = {row[0] for row in con.execute("SHOW TABLES").fetchall()}
        if "stg_payments" not in tables:
            rng = np.random.default_rng(n)
            ids = np.array([f"C{i:08d}" for i in range(n)])
            audience = pa.table({"customer_id": ids, "stratum": rng.integers(1, 6, n)})
            per_month = rng.poisson(1.2, (n, 4))
            who = np.repeat(np.tile(np.arange(n), 4), per_month.T.ravel())
            month = np.repeat(np.repeat(np.arange(4), n), per_month.T.ravel())
            day = rng.integers(0, 28, len(who))
            p_store = np.where(month == 0, 0.8, 0.55)
            store = rng.random(len(who)) < p_store
            channel = np.where(
                store, rng.choice(CHANNELS[:2], len(who)), rng.choice(CHANNELS[2:], len(who))
            )
            start = np.datetime64(BASELINE, "M") + month
            paid_at = start.astype("datetime64[D]") + day + np.timedelta64(10, "h")
            payments = pa.table(
                {
                    "payment_id": pa.array([f"P{i}" for i in range(len(who))]),
                    "customer_id": ids[who],
                    "paid_at": pa.array(paid_at.astype("datetime64[us]")),
                    "channel": channel,
                    "amount_yuan": rng.gamma(2.0, 30.0, len(who)),
                }
            )
            con.register("a", audience)
            con.register("p", payments)
            con.execute("CREATE TABLE bench_audience AS SELECT * FROM a")
            con.execute("CREATE TABLE stg_payments AS SELECT * FROM p")
        rows = con.execute("SELECT count(*) FROM stg_payments").fetchone()[0]
    finally:
        con.close()
    return warehouse, rows


def run_touchpoint_dispatch(warehouse: str) -> None:
    campaign = campaign_from_data(
        {
            "id": "bench",
            "name": {"en": "b", "zh": "b"},
            "action": "divert_store_payment_to_self_service",
            "audience": {"rule": "pref_level_payment_store >= 1"},
            "holdout_share": SHARE,
        }
    )
    at = dt.datetime(2026, 3, 1, 9)
    con = connect(warehouse)
    a = write_table(con, "bench_assignment", assign(con.table("bench_audience"), "bench", SHARE))
    events = write_table(con, "bench_events", created_events(campaign, a, 1, "alice", at))
    con.insert("bench_events", approval_events(events, "bench", "bob", at))
    new, rows = dispatch(
        con.table("bench_events"),
        campaign,
        load_campaign_settings().policy,
        actor="bob",
        at=at,
        sent_at=dt.datetime(2026, 3, 1, 22),
    )
    con.insert("bench_events", new)
    write_table(con, "bench_dispatched", rows)
    con.disconnect()


ASSIGN_SQL = f"""
CREATE OR REPLACE TABLE bench_assignment_sql AS
WITH d AS (
  SELECT customer_id, stratum, substr(md5('bench:' || customer_id), 1, 13) AS draw
  FROM bench_audience),
r AS (
  SELECT *, row_number() OVER (PARTITION BY stratum ORDER BY draw, customer_id) - 1 AS rk,
         count(*) OVER (PARTITION BY stratum) AS n
  FROM d)
SELECT customer_id, stratum, draw,
       CASE WHEN rk < round(n * {SHARE}) THEN 'holdout' ELSE 'treatment' END AS "group"
FROM r
"""


def run_sql_assign(warehouse: str) -> None:
    con = duckdb.connect(warehouse)
    con.execute("SET enable_progress_bar = false")
    con.execute(ASSIGN_SQL)
    con.close()


def run_touchpoint_tracking(warehouse: str) -> None:
    con = connect(warehouse)
    a = con.table("bench_assignment")
    write_table(con, "bench_tracking", track(a, con.table("stg_payments"), BASELINE))
    con.disconnect()


def tracking_sql() -> str:
    went = ", ".join(f"sum((channel = '{d}')::INT) AS n_{d}" for d in DESTINATIONS)
    fill = ", ".join(f"coalesce(n_{d}, 0) AS n_{d}" for d in DESTINATIONS)
    flags = ", ".join(f"n_store = 0 AND n_{d} > 0 AS went_to_{d}" for d in DESTINATIONS)
    metrics = [
        ("no_store_payment", "no_store_payment"),
        ("away_3m_running", "no_store_payment"),
        ("away_since_start", "no_store_payment"),
        *((f"went_to_{d}", f"went_to_{d}") for d in DESTINATIONS),
    ]
    longs = " UNION ALL ".join(
        f"SELECT \"group\", month, idx, '{m}' AS metric, {m}::DOUBLE AS value, {b}::DOUBLE AS base "
        "FROM f"
        for m, b in metrics
    )
    return f"""
CREATE OR REPLACE TABLE bench_tracking_sql AS
WITH m AS (
  SELECT customer_id, date_trunc('month', paid_at)::DATE AS month,
         sum((channel IN ('store', 'partner_store'))::INT) AS n_store, {went}
  FROM stg_payments GROUP BY ALL),
months AS (SELECT DISTINCT month FROM m WHERE month >= DATE '{BASELINE}'),
g AS (
  SELECT a.customer_id, a."group", months.month,
         datediff('month', DATE '{BASELINE}', months.month) AS idx,
         coalesce(n_store, 0) AS n_store, {fill}
  FROM bench_assignment a CROSS JOIN months
  LEFT JOIN m ON m.customer_id = a.customer_id AND m.month = months.month),
f AS (
  SELECT *, n_store = 0 AS no_store_payment,
    CASE WHEN idx >= 3 THEN sum((n_store > 0)::INT) OVER (
      PARTITION BY customer_id ORDER BY month ROWS 2 PRECEDING) = 0 END AS away_3m_running,
    CASE WHEN idx >= 1 THEN sum(CASE WHEN idx > 0 THEN (n_store > 0)::INT ELSE 0 END) OVER (
      PARTITION BY customer_id ORDER BY month ROWS UNBOUNDED PRECEDING) = 0
      ELSE n_store = 0 END AS away_since_start,
    {flags}
  FROM g),
l AS ({longs}),
base AS (
  SELECT metric, avg(base) AS b FROM l WHERE idx = 0 AND "group" = 'treatment' GROUP BY metric),
r AS (
  SELECT metric, month,
         count(*) FILTER (WHERE "group" = 'treatment') AS nt,
         count(*) FILTER (WHERE "group" = 'holdout') AS nh,
         avg(value) FILTER (WHERE "group" = 'treatment') AS rt,
         avg(value) FILTER (WHERE "group" = 'holdout') AS rh
  FROM l WHERE idx > 0 AND value IS NOT NULL GROUP BY metric, month)
SELECT r.metric, month, nt AS n_treatment, nh AS n_holdout, rt AS rate_treatment,
       rh AS rate_holdout, rt - rh AS net_effect,
       rt - rh - 1.959964 * sqrt(rt * (1 - rt) / nt + rh * (1 - rh) / nh) AS net_ci_low,
       rt - rh + 1.959964 * sqrt(rt * (1 - rt) / nt + rh * (1 - rh) / nh) AS net_ci_high,
       rt - b AS naive_effect
FROM r JOIN base USING (metric)
"""


def run_sql_tracking(warehouse: str) -> None:
    con = duckdb.connect(warehouse)
    con.execute("SET enable_progress_bar = false")
    con.execute(tracking_sql())
    con.close()


def _sizes() -> tuple[int, ...]:
    chosen = os.environ.get("BENCH_CAMPAIGN_CUSTOMERS")
    return tuple(int(s) for s in chosen.split(",")) if chosen else CUSTOMERS


def _label(n: int, what: str) -> str:
    return f"{n / 1e6:.1f}M {what}" if n >= 1e6 else f"{n / 1e3:.0f}k {what}"


def main() -> None:
    results = []
    for n in _sizes():
        warehouse, n_payments = prepare(n)
        for capability, variant, func, rows, size in (
            ("assign+dispatch", "touchpoint", run_touchpoint_dispatch, n, _label(n, "customers")),
            ("assign", "duckdb-sql", run_sql_assign, n, _label(n, "customers")),
            ("tracking", "touchpoint", run_touchpoint_tracking, n_payments, _label(n_payments, "payments")),
            ("tracking", "duckdb-sql", run_sql_tracking, n_payments, _label(n_payments, "payments")),
        ):  # fmt: skip
            result = run_case(Case(capability, variant, size, rows, func, (str(warehouse),)))
            print(
                f"{size:>16} {capability:<16} {variant:<11} {result.seconds:7.2f} s  "
                f"{result.peak_rss_mb:,.0f} MB",
                flush=True,
            )
            results.append(result)
    for r in results:  # the table's variant column names the task too
        object.__setattr__(r.case, "variant", f"{r.case.capability}: {r.case.variant}")
    record(
        "campaigns",
        results,
        note=(
            "Synthetic audience in 5 strata with about 1.2 payments per customer and month over "
            "4 months. `assign+dispatch`: stratified hash draw (10 % held out), created and "
            "approved events, dispatch under the default policy (quiet hours, SMS and call "
            "caps), all written to the warehouse; the SQL variant is the draw alone. "
            "`tracking`: `track()` (no store payment, 3 months running, since the start, where "
            "they went; net effect, Wald interval, naive) against one hand-written DuckDB "
            "statement computing the same table. Rows: customers, then payments. The machine "
            "was shared with other jobs while measuring: treat the figures as upper bounds."
        ),
    )


if __name__ == "__main__":
    main()
