"""A filtered count of nothing is 0 on Spark as on DuckDB (issue 17's survey parity gap).

Ibis compiles ``t.count(where=c)`` to ``SUM(CAST(c AS BIGINT))`` on Spark: null for a group
where every ``c`` is null. :func:`satisfaction_summary` must count a cell of surveys with no
reply as 0 replied, 0 satisfied on both engines. Hand-computed rows, one Spark session.
"""

from __future__ import annotations

import datetime as dt

import ibis
import pyarrow as pa
import pytest

from touchpoint.quality import satisfaction_summary

pytestmark = pytest.mark.slow

#: Two channels: sms has three surveys and no reply (every reply_class null), app has two
#: replies, one satisfied and one unclassified.
REPLIES = pa.table(
    {
        "survey_channel": ["sms", "sms", "sms", "app", "app"],
        "month": [dt.date(2026, 1, 1)] * 5,
        "has_reply": [False, False, False, True, True],
        "reply_class": [None, None, None, "satisfied", "unclassified"],
    }
)
EXPECTED = {
    # channel: (n_sent, n_replied, n_unclassified, n_satisfied, n_neutral, n_dissatisfied)
    "sms": (3, 0, 0, 0, 0, 0),
    "app": (2, 2, 1, 1, 0, 0),
}
COUNTS = ["n_sent", "n_replied", "n_unclassified", "n_satisfied", "n_neutral", "n_dissatisfied"]


def _counts(con, name: str) -> dict[str, tuple]:
    summary = satisfaction_summary(con.table(name), ("survey_channel", "month"))
    rows = summary.select("survey_channel", *COUNTS).to_pyarrow().to_pylist()
    return {r["survey_channel"]: tuple(r[c] for c in COUNTS) for r in rows}


def test_counts_of_nothing_are_zero_on_both_engines(spark_session):
    duck = ibis.duckdb.connect()
    duck.create_table("replies", REPLIES)
    spark_session.createDataFrame(REPLIES.to_pandas()).createOrReplaceTempView("replies_t")
    spark = ibis.pyspark.connect(spark_session)
    assert _counts(duck, "replies") == EXPECTED
    assert _counts(spark, "replies_t") == EXPECTED
