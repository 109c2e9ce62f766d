"""The churn query functions on hand-built marts: counted in the warehouse, as by hand."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

from touchpoint import churn, segments
from touchpoint.config import load_config
from touchpoint.labels import to_rows


@pytest.fixture
def con():
    con = ibis.duckdb.connect()
    scores = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e"],
            "churn_probability": [0.01, 0.09, 0.5, 0.95, 1.0],
            "risk_decile": [5, 4, 3, 2, 1],
            "reason_1": ["product_quality", "product_quality", "competitors", "unknown_x", None],
            "reason_2": ["competitors", None, "none", None, None],
            "reason_3": pd.Series([None] * 5, dtype="string"),
        }
    )
    con.create_table(churn.SCORES_MART, scores)
    stages = pd.DataFrame(
        {
            "customer_id": ["a", "b", "a", "b", "c"],
            "month": pd.to_datetime(["2026-01-01"] * 2 + ["2026-02-01"] * 3).date,
            "stage": ["new", "mature", "mature", "mature", "declining"],
        }
    )
    con.create_table(segments.LIFECYCLE_MART, stages)
    return con


def test_risk_histogram_counts_each_band_and_puts_one_in_the_last(con):
    rows = to_rows(churn.risk_histogram(con, bins=10))
    assert [(round(r["bin_start"], 9), round(r["bin_end"], 9), r["n"]) for r in rows] == [
        (0.0, 0.1, 2),
        (0.5, 0.6, 1),
        (0.9, 1.0, 2),  # 0.95 and exactly 1.0
    ]


def test_risk_histogram_spans_zero_to_the_highest_probability():
    con = ibis.duckdb.connect()
    scores = pd.DataFrame(
        {"customer_id": list("abcd"), "churn_probability": [0.0, 0.01, 0.03, 0.04]}
    )
    con.create_table(churn.SCORES_MART, scores)
    rows = to_rows(churn.risk_histogram(con, bins=4))  # bands of 0.01 up to 0.04
    assert [(round(r["bin_start"], 9), r["n"]) for r in rows] == [(0.0, 1), (0.01, 1), (0.03, 2)]
    assert rows[-1]["bin_end"] == pytest.approx(0.04)


def test_reason_counts_keep_the_taxonomy_most_frequent_first(con):
    settings = churn.churn_settings_from_config(load_config())
    known = [r for r in ("product_quality", "competitors") if r in settings.reasons]
    assert len(known) == 2, sorted(settings.reasons)  # the fixture speaks the default taxonomy
    rows = to_rows(churn.reason_counts(con, settings, "zh"))
    assert [(r["reason"], r["n"]) for r in rows] == [("product_quality", 2), ("competitors", 1)]
    assert rows[0]["name"] == settings.reasons["product_quality"].name_zh
    assert rows[1]["controllable"] == settings.reasons["competitors"].controllable


def test_customer_churn_lists_reasons_in_order_without_none(con):
    assert churn.customer_churn(con, "a") == {
        "churn_probability": 0.01,
        "risk_decile": 5,
        "reasons": ["product_quality", "competitors"],
    }
    assert churn.customer_churn(con, "c")["reasons"] == ["competitors"]
    assert churn.customer_churn(con, "zz") is None
    assert churn.customer_churn(ibis.duckdb.connect(), "a") is None


def test_lifecycle_counts_per_month_in_rule_order(con):
    settings = segments.lifecycle_settings_from_config(load_config())
    rows = to_rows(segments.lifecycle_counts(con, settings, "en"))
    order = {s: i for i, s in enumerate(segments.STAGES)}
    got = [(str(r["month"]), r["stage"], r["n"]) for r in rows]
    expected = sorted(
        [("2026-01-01", "new", 1), ("2026-01-01", "mature", 1)],
        key=lambda r: order[r[1]],
    ) + sorted(
        [("2026-02-01", "mature", 2), ("2026-02-01", "declining", 1)], key=lambda r: order[r[1]]
    )
    assert got == expected
    assert rows[0]["name"] == settings.stages[rows[0]["stage"]].name_en
