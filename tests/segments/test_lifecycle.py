"""Lifecycle stages: each rule pinned by a hand-built customer-month, and the transitions."""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pytest

from touchpoint.segments import (
    STAGES,
    lifecycle_stages,
    lifecycle_transitions,
    load_lifecycle_settings,
)

SETTINGS = load_lifecycle_settings()
JAN, FEB = dt.date(2026, 1, 1), dt.date(2026, 2, 1)
SCHEMA = {
    "customer_id": "string",
    "month": "date",
    "tenure_months": "int64",
    "has_left_in_month": "boolean",
    "arpu_3m_avg_yuan": "float64",
    "arpu_trend_3m": "float64",
    "n_complaints_3m": "int64",
    "arrears_yuan": "float64",
}
# A mature customer: long tenure, flat bill, no complaints, nothing owed.
BASE = dict(
    tenure_months=40,
    has_left_in_month=False,
    arpu_3m_avg_yuan=100.0,
    arpu_trend_3m=0.0,
    n_complaints_3m=0,
    arrears_yuan=0.0,
)


def _row(customer, month=JAN, **change):
    return {"customer_id": customer, "month": month, **{**BASE, **change}}


def _stages(rows, scores=None):
    table = ibis.memtable(pd.DataFrame(rows), schema=ibis.schema(SCHEMA))
    return (
        lifecycle_stages(table, SETTINGS, scores)
        .to_pandas()
        .set_index("customer_id")
        .stage.to_dict()
    )


# Each case: the row, and the stage it must get. Thresholds are the defaults.yaml ones
# (new < 3 months, mature >= 12, complaints >= 2, arrears > 0, ARPU change +-15 %).
CASES = {
    "mature": ({}, "mature"),
    "churned_beats_all": (
        dict(has_left_in_month=True, tenure_months=0, n_complaints_3m=5),
        "churned",
    ),
    "new_at_2_months": (dict(tenure_months=2, n_complaints_3m=5), "new"),
    "not_new_at_3": (dict(tenure_months=3), "growing"),
    "growing_young": (dict(tenure_months=11), "growing"),
    "mature_at_12": (dict(tenure_months=12), "mature"),
    "at_risk_complaints": (dict(n_complaints_3m=2, arpu_trend_3m=-50.0), "at_risk"),
    "one_complaint_is_not_risk": (dict(n_complaints_3m=1), "mature"),
    "at_risk_arrears": (dict(arrears_yuan=0.5), "at_risk"),
    "declining_at_15pc": (dict(arpu_trend_3m=-15.0), "declining"),
    "flat_at_14pc_drop": (dict(arpu_trend_3m=-14.0), "mature"),
    "growing_bill": (dict(arpu_trend_3m=15.0), "growing"),
    "no_bill_history": (dict(arpu_3m_avg_yuan=None, arpu_trend_3m=None), "mature"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_rule(case):
    change, expected = CASES[case]
    assert _stages([_row("C1", **change)]) == {"C1": expected}


def test_churn_probability_marks_at_risk_in_the_scored_month_only():
    scores = ibis.memtable(
        pd.DataFrame(
            {"customer_id": ["C1", "C2"], "month": [FEB, FEB], "churn_probability": [0.10, 0.09]}
        ),
        schema=ibis.schema(
            {"customer_id": "string", "month": "date", "churn_probability": "float64"}
        ),
    )
    rows = [_row("C1", JAN), _row("C1", FEB), _row("C2", FEB)]
    table = ibis.memtable(pd.DataFrame(rows), schema=ibis.schema(SCHEMA))
    out = lifecycle_stages(table, SETTINGS, scores).to_pandas()
    got = {(r.customer_id, pd.Timestamp(r.month).date()): r.stage for r in out.itertuples()}
    assert got == {("C1", JAN): "mature", ("C1", FEB): "at_risk", ("C2", FEB): "mature"}


def test_transitions_counted_by_hand():
    rows = [
        _row("A", JAN, tenure_months=1),
        _row("A", FEB, tenure_months=2),  # new -> new
        _row("B", JAN, tenure_months=2),
        _row("B", FEB, tenure_months=3),  # new -> growing
        _row("C", JAN, tenure_months=2),
        _row("C", FEB, tenure_months=3, has_left_in_month=True),
        _row("D", JAN),
        _row("D", FEB, arpu_trend_3m=-30.0),  # mature -> declining
        _row("E", JAN),  # no next month: no transition
    ]
    table = ibis.memtable(pd.DataFrame(rows), schema=ibis.schema(SCHEMA))
    stages = lifecycle_stages(table, SETTINGS)
    t = lifecycle_transitions(stages).to_pandas()
    got = {(r.from_stage, r.to_stage): (r.n_customers, round(r.share, 4)) for r in t.itertuples()}
    assert got == {
        ("new", "new"): (1, 0.3333),
        ("new", "growing"): (1, 0.3333),
        ("new", "churned"): (1, 0.3333),
        ("mature", "declining"): (1, 1.0),  # E has no next month
    }
    assert set(pd.to_datetime(t.to_month).dt.date) == {FEB}


def test_settings_refuse_a_missing_stage_and_inverted_months(tmp_path):
    from touchpoint.errors import ConfigError

    bad = tmp_path / "c.yaml"
    bad.write_text("lifecycle:\n  new_months: 20\n")
    with pytest.raises(ConfigError, match="mature_months"):
        load_lifecycle_settings(bad)
    bad.write_text(
        "lifecycle:\n  stages: {new: {name_en: a, name_zh: b, action_en: c, action_zh: d}}\n"
    )
    with pytest.raises(ConfigError, match="stages"):
        load_lifecycle_settings(bad)
    assert set(SETTINGS.stages) == set(STAGES)
