"""Churn features and label on hand-built rows."""

from __future__ import annotations

import datetime as dt
import math

import ibis
import pandas as pd
import pytest

from touchpoint.churn import LABEL, churn_features, contact_outcomes_monthly, load_churn_settings

M1, M2, M3 = dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1)


def _c360(rows):
    base = {
        "brand": "gotone",
        "value_tier": "regular",
        "region": "chengdu",
        "plan_id": "p1",
        "join_date": dt.date(2020, 1, 5),
        "has_left_in_month": False,
        "tenure_months": 70,
        "arrears_yuan": 0.0,
        "n_complaints": 0,
    }
    return ibis.memtable(
        [{**base, **r} for r in rows],
        schema={
            "customer_id": "string",
            "month": "date",
            "brand": "string",
            "value_tier": "string",
            "region": "string",
            "plan_id": "string",
            "join_date": "date",
            "leave_date": "date",
            "has_left_in_month": "boolean",
            "tenure_months": "int64",
            "arpu_yuan": "float64",
            "arrears_yuan": "float64",
            "n_complaints": "int64",
        },
    )


@pytest.fixture
def table():
    leaves = dt.date(2026, 2, 14)
    rows = [
        # u1 stays: ARPU 100 -> 110 -> 121 (10 % a month).
        {"customer_id": "u1", "month": M1, "arpu_yuan": 100.0, "leave_date": None},
        {"customer_id": "u1", "month": M2, "arpu_yuan": 110.0, "leave_date": None},
        {"customer_id": "u1", "month": M3, "arpu_yuan": 121.0, "leave_date": None},
        # u2 leaves on 14 February: January's row is a churner, February's is not at risk.
        {
            "customer_id": "u2",
            "month": M1,
            "arpu_yuan": 50.0,
            "leave_date": leaves,
            "arrears_yuan": 5.0,
        },
        {
            "customer_id": "u2",
            "month": M2,
            "arpu_yuan": 40.0,
            "leave_date": leaves,
            "has_left_in_month": True,
        },
    ]
    return _c360(rows)


def _contacts():
    at = dt.datetime(2026, 1, 10, 9)
    rows = [
        # Call c1: IVR transferred, the agent resolves it -> one resolved call.
        ("u1", "c1", "ivr", "bill_query", "transferred"),
        ("u1", "c1", "agent", "bill_query", "resolved"),
        # Call c2: a fault report given up in the IVR -> one unresolved fault call.
        ("u2", "c2", "ivr", "fault_report", "abandoned"),
        # Two store contacts without a call: one unresolved.
        ("u2", None, "store", "fault_report", "resolved"),
        ("u2", None, "store", "bill_query", "unresolved"),
    ]
    return ibis.memtable(
        [
            {
                "customer_id": c,
                "call_id": k,
                "channel": ch,
                "business": b,
                "outcome": o,
                "started_at": at,
            }
            for c, k, ch, b, o in rows
        ]
    )


def test_contact_outcomes_count_a_call_once():
    out = contact_outcomes_monthly(_contacts(), load_churn_settings()).to_pandas()
    got = out.set_index("customer_id")[["n_fault_contacts", "n_unresolved_contacts"]].to_dict(
        "index"
    )
    assert got == {
        "u1": {"n_fault_contacts": 0, "n_unresolved_contacts": 0},
        "u2": {"n_fault_contacts": 2, "n_unresolved_contacts": 2},
    }


def test_label_rows_at_risk_and_no_leak(table):
    f = churn_features(table, _contacts(), load_churn_settings()).to_pandas()
    f = f.sort_values(["customer_id", "month"]).reset_index(drop=True)
    # u2's February row is gone (left during it), the last month has no label.
    assert list(zip(f.customer_id, f.month.astype(str), f[LABEL], strict=True)) == [
        ("u1", "2026-01-01", False),
        ("u1", "2026-02-01", False),
        ("u1", "2026-03-01", None),
        ("u2", "2026-01-01", True),
    ]
    for leak in ("leave_date", "has_left_in_month", "join_date", "plan_id"):
        assert leak not in f.columns
    assert f.loc[3, "has_arrears"] and not f.loc[0, "has_arrears"]
    assert f.loc[3, "n_fault_contacts"] == 2 and f.loc[0, "n_unresolved_contacts"] == 0
    assert f.loc[1, "n_fault_contacts"] == 0  # February: no contact, zero not missing


def test_arpu_slope_uses_only_months_so_far(table):
    f = churn_features(table, None, load_churn_settings()).to_pandas()
    u1 = f[f.customer_id == "u1"].sort_values("month")["arpu_log_slope"].tolist()
    # One bill: no slope; then log(1.1) a month, whatever comes later.
    assert math.isnan(u1[0])
    assert u1[1] == pytest.approx(math.log(1.1)) and u1[2] == pytest.approx(math.log(1.1))
    assert "n_fault_contacts" not in f.columns  # no contacts table, no contact features


def test_a_row_condition_changes_which_rows_not_what_they_see(table):
    """``keep`` is applied before the joins (so the warehouse holds only those rows), yet
    each kept row is the same as in the whole table: the slope still sees the earlier
    months, the label the next one, the contacts their month."""
    settings = load_churn_settings()

    def keep(t):
        return (t.month >= ibis.date(2026, 2, 1)) | (t.customer_id == "u2")

    whole = churn_features(table, _contacts(), settings).to_pandas()
    kept = churn_features(table, _contacts(), settings, keep=keep).to_pandas()
    expected = whole[(whole.month >= pd.Timestamp("2026-02-01")) | (whole.customer_id == "u2")]
    order = ["customer_id", "month"]
    pd.testing.assert_frame_equal(
        kept.sort_values(order).reset_index(drop=True),
        expected.sort_values(order).reset_index(drop=True),
    )
    assert len(kept) == 3 and kept.arpu_log_slope.notna().sum() == 2


def test_the_labels_alone_are_the_features_rows(table):
    from touchpoint.churn._features import churn_labels

    labels = churn_labels(table).to_pandas().sort_values(["customer_id", "month"])
    # The hand-worked rows above: u2's February row gone, the last month unlabelled.
    assert list(zip(labels.customer_id, labels.month.astype(str), labels[LABEL], strict=True)) == [
        ("u1", "2026-01-01", False),
        ("u1", "2026-02-01", False),
        ("u1", "2026-03-01", None),
        ("u2", "2026-01-01", True),
    ]
    assert list(labels.columns) == ["customer_id", "month", LABEL]
