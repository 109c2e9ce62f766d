"""The Ibis part of churn and retention compiles to Spark SQL, like every other analytics step
(tests/pipeline/test_spark_portability.py); the model and the curves are fitted in memory."""

from __future__ import annotations

import datetime as dt

import ibis
import pytest

from touchpoint import customers
from touchpoint.churn import churn_features, customer_lifetimes, load_churn_settings
from touchpoint.config import load_config
from touchpoint.contract import ENTITIES, arrow_schema


class _PySparkOptions(ibis.config.Config):
    treat_nan_as_null: bool = False


@pytest.fixture
def spark_dialect():
    before = ibis.options.pyspark
    ibis.options.pyspark = before or _PySparkOptions()
    yield
    ibis.options.pyspark = before


def test_features_and_lifetimes_compile_for_spark(spark_dialect):
    tables = {
        entity.table: ibis.table(ibis.Schema.from_pyarrow(arrow_schema(entity)), name=entity.table)
        for entity in ENTITIES.values()
    }
    c360 = customers.build(tables, load_config())[customers.C360_MART]
    c360 = ibis.table(c360.schema(), name="mart_customer_360")
    features = churn_features(c360, tables["stg_contacts"], load_churn_settings())
    sql = ibis.to_sql(features, dialect="pyspark")
    assert "SELECT" in sql and "churn_next_month" in sql
    lifetimes = customer_lifetimes(
        tables["stg_customers"], dt.date(2026, 1, 1), dt.date(2026, 6, 1), grain="quarter"
    )
    assert "SELECT" in ibis.to_sql(lifetimes, dialect="pyspark")
