"""The one tested version pair of the ``spark`` extra, and the defect that chose it: with
pandas 3 and PySpark 4.0 a missing string crossing the pandas/Arrow path became the text
'NaN' (issue 17), which silently changed ``repeat_contact_rate``."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest
from packaging.version import Version

pytestmark = pytest.mark.slow


def test_the_installed_pair_is_the_tested_one():
    import pyspark

    assert Version("4.0") <= Version(pyspark.__version__) < Version("4.1")
    assert Version(pd.__version__) < Version("3")
    assert Version(ibis.__version__) >= Version("12")


def test_a_missing_string_stays_missing_through_spark(spark_session):
    con = ibis.pyspark.connect(spark_session)
    t = ibis.memtable({"k": [1, 2, 3], "s": ["a", None, "c"]}, schema={"k": "int64", "s": "string"})
    counted = con.execute(t.agg(n_null=t.s.isnull().sum(), n_nan=(t.s == "NaN").sum()))
    assert counted.to_dict("records") == [{"n_null": 1, "n_nan": 0}]
    back = con.to_pyarrow(t.order_by("k"))
    assert back.column("s").to_pylist() == ["a", None, "c"]


def test_an_unreachable_master_is_one_line():
    from touchpoint.pipeline.spark import SparkEngineError, spark_session

    with pytest.raises(SparkEngineError, match="cannot start Spark on master 'sc://127.0.0.1:1'"):
        spark_session(master="sc://127.0.0.1:1")
