"""Touchpoint, hand-written DuckDB SQL and pandas (benchmarks/customers_reference.py) compute
the same customer marts on the simulated world."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from benchmarks.customers_reference import pandas_customers, sql_statements

from touchpoint.config import load_config
from touchpoint.customers import build, load_customers_settings
from touchpoint.warehouse import connect

KEYS = {
    "mart_customer_contacts_monthly": ["customer_id", "month", "business", "channel"],
    "mart_channel_preference": ["customer_id", "month", "business", "channel"],
    "mart_customer_360": ["customer_id", "month"],
}
TEXT = {"customer_id", "month", "business", "channel", "brand", "value_tier", "region",
        "plan_id", "join_date", "leave_date"}  # fmt: skip
REF = {
    "mart_customer_contacts_monthly": "ref_customer_contacts_monthly",
    "mart_channel_preference": "ref_channel_preference",
    "mart_customer_360": "ref_customer_360",
}


@pytest.fixture(scope="module")
def three_ways(simulated_world, tmp_path_factory):
    result, _ = simulated_world
    config, settings = load_config(), load_customers_settings()
    con = connect(tmp_path_factory.mktemp("agree") / "w.duckdb")
    for name, path in result.files.items():
        con.raw_sql(f"CREATE TABLE stg_{name} AS SELECT * FROM read_parquet('{path}')")
    tables = {f"stg_{n}": con.table(f"stg_{n}") for n in result.files}
    ours = {n: e.to_pandas() for n, e in build(tables, config).items()}
    for statement in sql_statements(config, settings):
        con.raw_sql(statement)
    sql = {n: con.table(ref).to_pandas() for n, ref in REF.items()}
    con.disconnect()
    pandas = pandas_customers(result.out_dir, config, settings)
    return ours, sql, pandas


def _aligned(
    a: pd.DataFrame, b: pd.DataFrame, keys: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    for frame in (a, b):
        frame["month"] = pd.to_datetime(frame["month"])
    cols = [c for c in a.columns if c in b.columns]
    a = a[cols].sort_values(keys).reset_index(drop=True)
    b = b[cols].sort_values(keys).reset_index(drop=True)
    return a, b


@pytest.mark.parametrize("mart", list(KEYS))
@pytest.mark.parametrize("other", ["sql", "pandas"])
def test_same_rows_and_values(three_ways, mart, other):
    ours, sql, pandas = three_ways
    theirs = {"sql": sql, "pandas": pandas}[other][mart]
    a, b = _aligned(ours[mart].copy(), theirs.copy(), KEYS[mart])
    assert len(a) == len(b) > 0
    assert len(a.columns) >= (60 if mart == "mart_customer_360" else 5)
    for column in a.columns:
        x, y = a[column], b[column]
        if column in TEXT:
            if column.endswith(("date", "month")):
                x, y = pd.to_datetime(x), pd.to_datetime(y)
            assert (x.astype(str).fillna("") == y.astype(str).fillna("")).all(), column
            continue
        xs = pd.to_numeric(x, errors="coerce").astype(float).to_numpy()
        ys = pd.to_numeric(y, errors="coerce").astype(float).to_numpy()
        assert np.allclose(xs, ys, equal_nan=True, atol=1e-9), column
