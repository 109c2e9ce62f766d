"""Results leave Spark through Arrow (``spark_ibis``): the same Arrow table and the same data
frame as DuckDB gives for one expression, and never through ``toPandas`` (a Python object
per value: churn's read of 300 k customers peaked at 12 GB on that path)."""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pyarrow as pa
import pytest

from touchpoint.pipeline.spark import spark_ibis

pytestmark = pytest.mark.slow

#: Every type a step reads back, each with a missing value.
ROWS = pa.table(
    {
        "customer_id": ["c1", "c2", None, "c4"],
        "month": [dt.date(2026, 1, 1), None, dt.date(2026, 2, 1), dt.date(2026, 3, 1)],
        "at": [
            dt.datetime(2026, 1, 1, 8, 30),
            dt.datetime(2026, 1, 2),
            None,
            dt.datetime(2026, 3, 4),
        ],
        "n_calls": pa.array([3, None, 0, 7], pa.int64()),
        "share": [0.25, float("nan"), None, 1.0],
        "is_churner": [True, None, False, False],
    }
)


def _query(con, name: str):
    t = con.table(name)
    return t.mutate(
        share_f32=t.share.cast("float32"), n_calls_x2=t.n_calls * 2, day=t.at.date()
    ).order_by("customer_id")


@pytest.fixture(scope="module")
def both(spark_session):
    duck = ibis.duckdb.connect()
    duck.create_table("rows", ROWS)
    spark_session.createDataFrame(ROWS).createOrReplaceTempView("rows_arrow")
    return duck, spark_ibis(spark_session)


@pytest.fixture
def no_to_pandas(monkeypatch):
    from pyspark.sql import DataFrame

    def refuse(self, *args, **kwargs):
        raise AssertionError("a result was read through toPandas")

    monkeypatch.setattr(DataFrame, "toPandas", refuse)


def test_to_pyarrow_equals_duckdb(both, no_to_pandas):
    duck, spark = both
    expected = _query(duck, "rows").to_pyarrow()
    got = _query(spark, "rows_arrow").to_pyarrow()
    assert got.schema == expected.schema
    assert _rows(got) == _rows(expected)


def test_to_pandas_equals_duckdb(both, no_to_pandas):
    duck, spark = both
    expected = _query(duck, "rows").to_pandas()
    got = _query(spark, "rows_arrow").to_pandas()
    pd.testing.assert_frame_equal(got, expected)


def test_a_column_and_a_scalar_come_back_as_such(both, no_to_pandas):
    _, spark = both
    t = spark.table("rows_arrow")
    assert sorted(t.n_calls.to_pyarrow().drop_null().to_pylist()) == [0, 3, 7]
    assert t.n_calls.sum().to_pyarrow().as_py() == 10
    assert t.count().execute() == 4


def _rows(table: pa.Table) -> list[dict]:
    """The rows, NaN as the text 'NaN' (``==`` on floats says NaN != NaN)."""

    def key(value):
        return "NaN" if isinstance(value, float) and value != value else value

    return [{k: key(v) for k, v in row.items()} for row in table.to_pylist()]
