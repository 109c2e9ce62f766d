"""The benchmark's hand-written DuckDB SQL computes what Touchpoint does (so the timings in
docs/performance.md compare the same work): the assignment and the tracking table, on random
customers and payments."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import ibis
import numpy as np
import pandas as pd
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root

from benchmarks.bench_campaigns import ASSIGN_SQL, BASELINE, SHARE, tracking_sql  # noqa: E402

from touchpoint.campaigns import assign, track  # noqa: E402


def test_sql_and_touchpoint_agree(tmp_path):
    rng = np.random.default_rng(4)
    n = 400
    ids = np.array([f"C{i:04d}" for i in range(n)])
    audience = pa.table({"customer_id": ids, "stratum": rng.integers(1, 4, n)})
    k = 2000
    who = rng.integers(0, n, k)
    month = rng.integers(-1, 4, k)  # a month before the selection month too
    paid_at = (
        (np.datetime64(BASELINE, "M") + month).astype("datetime64[D]") + rng.integers(0, 28, k)
    ).astype("datetime64[us]")
    channels = np.array(["store", "partner_store", "kiosk", "web", "app", "mobile_pay"])
    payments = pa.table(
        {
            "customer_id": ids[who],
            "paid_at": pa.array(paid_at),
            "channel": channels[rng.integers(0, 6, k)],
        }
    )
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.register("a", audience)
    con.register("p", payments)
    con.execute("CREATE TABLE bench_audience AS SELECT * FROM a")
    con.execute("CREATE TABLE stg_payments AS SELECT * FROM p")
    mine = assign(ibis.memtable(audience), "bench", SHARE).to_pyarrow()
    con.register("m", mine)
    con.execute('CREATE TABLE bench_assignment AS SELECT customer_id, "group" FROM m')
    con.execute(ASSIGN_SQL)
    theirs = con.execute("SELECT * FROM bench_assignment_sql").df().set_index("customer_id")
    ours = mine.to_pandas().set_index("customer_id")
    assert (theirs.group.sort_index() == ours.group.sort_index()).all()
    assert (ours.group == "holdout").sum() > 0
    con.execute(tracking_sql())
    sql = con.execute("SELECT * FROM bench_tracking_sql").df()
    t = track(ibis.memtable(mine), ibis.memtable(payments), BASELINE).to_pandas()
    key = ["metric", "month"]
    cols = ["n_treatment", "n_holdout", "rate_treatment", "rate_holdout", "net_effect",
            "net_ci_low", "net_ci_high", "naive_effect"]  # fmt: skip
    for frame in (sql, t):
        frame["month"] = pd.to_datetime(frame["month"]).dt.date
    sql = sql.sort_values(key).reset_index(drop=True)
    t = t.sort_values(key).reset_index(drop=True)
    assert len(t) == len(sql) == 19  # 3 months x 6 monthly metrics + 3 months running once
    pd.testing.assert_frame_equal(t[key + cols], sql[key + cols], check_dtype=False, rtol=1e-6)
    con.close()
