"""Every pipeline step compiles to Spark SQL: the path to province scale stays open.

The analytics are Ibis expressions so that the same code can run on PySpark. This compiles
each step's every output for the ``pyspark`` dialect over unbound tables with the data
contract's schemas (each step reading the outputs of the steps before it, as the pipeline
does). Ibis refuses an operation the Spark compiler lacks, so a DuckDB-only construct in an
analytics module fails here, without a Spark cluster on the test machine. It does not prove
the results equal on Spark (that needs PySpark itself; see docs/performance.md).
"""

from __future__ import annotations

import ibis
import pytest

from touchpoint.config import load_config
from touchpoint.contract import ENTITIES, arrow_schema
from touchpoint.pipeline.steps import STEPS


class _PySparkOptions(ibis.config.Config):
    """``ibis.options.pyspark`` as the PySpark backend registers it when pyspark is imported
    (the compiler reads it; pyspark itself is not installed here)."""

    treat_nan_as_null: bool = False


@pytest.fixture
def spark_dialect():
    before = ibis.options.pyspark
    ibis.options.pyspark = before or _PySparkOptions()
    yield
    ibis.options.pyspark = before


# Steps that train a model or fit curves in memory (LightGBM, lifelines): their Ibis part
# (features, lifetimes) is compiled for Spark in tests/churn/test_churn_spark.py.
IN_MEMORY_STEPS = {"churn", "retention"}


def _compiled_steps() -> dict[str, str]:
    config = load_config()
    tables = {
        entity.table: ibis.table(ibis.Schema.from_pyarrow(arrow_schema(entity)), name=entity.table)
        for entity in ENTITIES.values()
    }
    sql = {}
    for step in STEPS:
        if step.name in IN_MEMORY_STEPS:
            continue
        assert all(name in tables for name in step.inputs), step.name
        given = {k: tables[k] for k in step.reads if k in tables}
        for name, expr in step.build(given, config).items():
            sql[name] = ibis.to_sql(expr, dialect="pyspark")
            tables[name] = ibis.table(expr.schema(), name=name)
    return sql


def test_every_step_compiles_for_spark(spark_dialect):
    sql = _compiled_steps()
    for name in ("mart_channels_kpis_monthly", "mart_ivr_node_stats", "mart_customer_360",
                 "mart_tag_membership", "mart_ivr_menu_recommendations"):  # fmt: skip
        assert name in sql and "SELECT" in sql[name], name
    assert len(sql) >= 30  # every table `touchpoint run` writes


def test_a_duckdb_only_operation_would_be_caught(spark_dialect):
    t = ibis.table({"x": "float64"}, name="t")
    with pytest.raises(Exception, match="(?i)kurtosis|not supported|unsupported"):
        ibis.to_sql(t.agg(k=t.x.kurtosis()), dialect="pyspark")
    assert "STDDEV_SAMP" in ibis.to_sql(t.agg(s=t.x.std()), dialect="pyspark").upper()
