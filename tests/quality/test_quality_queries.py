"""The quality query functions on hand-built marts: the report's headline figures by hand."""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pytest

from touchpoint import quality
from touchpoint.labels import to_rows


def _month(m: int) -> dt.date:
    return dt.date(2026, m, 1)


@pytest.fixture
def con():
    con = ibis.duckdb.connect()
    satisfaction = pd.DataFrame(
        {
            "survey_channel": ["sms", "sms", "ivr"],
            "month": [_month(1), _month(2), _month(1)],
            "n_sent": [100, 300, 50],
            "n_replied": [40, 120, 5],
            "n_unclassified": [4, 20, 0],
            "n_satisfied": [18, 60, 0],
            "n_neutral": [9, 20, 0],
            "n_dissatisfied": [9, 20, 5],
            "n_effective": [30.0, 90.0, None],
            "csat_weighted": [0.4, 0.6, None],
        }
    )
    con.create_table(quality.SATISFACTION_MART, satisfaction)
    sources = pd.DataFrame(
        {
            "dimension": ["business", "contact_channel", "node"],
            "value": ["payment", "ivr", "n1"],
            "n_contacts": [25, 100, 19],
            "bad_peak_share": [0.2, 0.5, 0.9],
        }
    )
    con.create_table(quality.SOURCES_MART, sources)
    return con


def test_satisfaction_overall_pools_the_months(con):
    rows = {r["survey_channel"]: r for r in to_rows(quality.satisfaction_overall(con))}
    sms, ivr = rows["sms"], rows["ivr"]
    assert sms["reply_rate"] == pytest.approx(160 / 400)
    # Satisfied over classified replies (the unclassified are not in the denominator).
    assert sms["csat"] == pytest.approx(78 / (36 + 100))
    assert sms["csat_weighted"] == pytest.approx((0.4 * 30 + 0.6 * 90) / 120)
    assert ivr["reply_rate"] == pytest.approx(0.1)
    assert ivr["csat"] == 0.0
    assert ivr["csat_weighted"] is None  # no month has a weighted CSAT


def test_bad_peak_places_keep_the_well_counted_worst_first(con):
    rows = to_rows(quality.bad_peak_places(con, min_contacts=20))
    assert [r["value"] for r in rows] == ["ivr", "payment"]  # n1 has 19 contacts
    assert [r["value"] for r in to_rows(quality.bad_peak_places(con))] == ["n1", "ivr", "payment"]
