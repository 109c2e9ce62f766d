"""The Ibis part of service quality compiles for Spark (the step fits its models in memory)."""

from __future__ import annotations

import datetime as dt

import ibis
import pytest

from touchpoint.contract import ENTITIES, arrow_schema
from touchpoint.customers import load_customers_settings
from touchpoint.quality import (
    bad_peak_sources,
    contact_peaks,
    peak_end_frame,
    satisfaction_summary,
    select_surveys,
    strategy_from_text,
    survey_replies,
)


class _PySparkOptions(ibis.config.Config):
    treat_nan_as_null: bool = False


@pytest.fixture
def spark():
    before = ibis.options.pyspark
    ibis.options.pyspark = before or _PySparkOptions()
    yield
    ibis.options.pyspark = before


def _t(entity: str) -> ibis.Table:
    e = ENTITIES[entity]
    return ibis.table(ibis.Schema.from_pyarrow(arrow_schema(e)), name=e.table)


def test_the_ibis_part_compiles_for_spark(spark):
    surveys, contacts, customers = _t("surveys"), _t("contacts"), _t("customers")
    replies = survey_replies(surveys, contacts, customers, load_customers_settings())
    peaks = contact_peaks(contacts, _t("ivr_events"))
    strategy = strategy_from_text(
        "id: s\nsurvey_channel: sms\ndaily_quota: 5\nexclude: {surveyed_within_days: 7}\n"
        "dimensions: {time_window: [{from: '09:00', to: '12:00'}], customer_level: [gold]}"
    )
    for expr in (
        replies,
        satisfaction_summary(replies),
        peaks,
        bad_peak_sources(peak_end_frame(replies, peaks)),
        select_surveys(contacts, customers, strategy, dt.date(2026, 3, 2), past_surveys=surveys),
    ):
        assert "SELECT" in ibis.to_sql(expr, dialect="pyspark")
