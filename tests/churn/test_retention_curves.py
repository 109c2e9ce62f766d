"""Kaplan-Meier by join cohort: lifetimes from hand-built customers, and the curve against
lifelines (the reference) and a hand count."""

from __future__ import annotations

import datetime as dt

import ibis
import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter

from touchpoint.churn import customer_lifetimes, kaplan_meier
from touchpoint.churn._cohorts import product_limit


def test_lifetimes_by_hand():
    customers = ibis.memtable(
        {
            "customer_id": ["a", "b", "c", "d"],
            "join_date": [
                dt.date(2026, 1, 10),
                dt.date(2026, 1, 20),
                dt.date(2025, 11, 3),
                dt.date(2025, 1, 1),
            ],
            "leave_date": [dt.date(2026, 3, 5), None, None, dt.date(2025, 12, 1)],
        }
    )
    lt = customer_lifetimes(customers, dt.date(2026, 1, 1), dt.date(2026, 4, 1), grain="month")
    rows = lt.order_by("customer_id").to_pandas().to_dict("records")
    # a joined in January and left in March: period 3. b is censored after 4 periods
    # (January to April). c joined in November, seen from January: entered after 2 periods.
    # d left before the data starts: not in the network during it.
    assert rows == [
        {
            "customer_id": "a",
            "cohort": "2026-01",
            "entry_periods": 0,
            "periods": 3,
            "has_left": True,
        },
        {
            "customer_id": "b",
            "cohort": "2026-01",
            "entry_periods": 0,
            "periods": 4,
            "has_left": False,
        },
        {
            "customer_id": "c",
            "cohort": "2025-11",
            "entry_periods": 2,
            "periods": 6,
            "has_left": False,
        },
    ]


def test_curve_equals_lifelines_with_left_truncation():
    rng = np.random.default_rng(4)
    n = 400
    entry = rng.integers(0, 12, n)
    periods = entry + 1 + rng.geometric(0.08, n)
    left = periods <= 24
    periods = np.minimum(periods, 24)
    ours = product_limit(entry, periods, left)
    ref = KaplanMeierFitter().fit(periods, left, entry=entry)
    sf = ref.survival_function_.iloc[:, 0]
    ci = ref.confidence_interval_survival_function_
    at = [sf.index[sf.index <= p].max() for p in ours.period]
    assert ours.survival.to_numpy() == pytest.approx(sf.loc[at].to_numpy(), abs=1e-12)
    assert ours.survival_low.to_numpy() == pytest.approx(ci.iloc[:, 0].loc[at].to_numpy(), abs=1e-9)
    assert ours.survival_high.to_numpy() == pytest.approx(
        ci.iloc[:, 1].loc[at].to_numpy(), abs=1e-9
    )


def test_a_cohort_that_empties_does_not_fail():
    """lifelines refuses a left-truncated cohort whose curve reaches 0; the product limit
    takes over: two customers entering late, both leaving."""
    lt = pd.DataFrame(
        {
            "customer_id": ["x", "y", "z"],
            "cohort": ["2003", "2003", "2024"],
            "entry_periods": [270, 271, 3],
            "periods": [273, 274, 8],
            "has_left": [True, True, False],
        }
    )
    curves = kaplan_meier(lt)
    old = curves[curves.cohort == "2003"].set_index("period")
    # Period 273: 2 at risk, 1 leaves -> 0.5; period 274: 1 at risk, 1 leaves -> 0.
    assert old.loc[273, "survival"] == 0.5 and old.loc[274, "survival"] == 0.0
    assert old.loc[272, "n_at_risk"] == 2 and old.loc[274, "n_at_risk"] == 1
