"""Lifetime value per segment and the retention work orders, on hand-built and planted data."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from touchpoint.churn import (
    ShiftedBetaGeometric,
    load_churn_settings,
    segment_value,
    simulate_cohort,
    work_orders,
)
from touchpoint.churn._value import cohort_active

SETTINGS = load_churn_settings()
MONTHS = [dt.date(2026, m, 1) for m in range(1, 7)]


def _counts(active: list[int], segment: int) -> pd.DataFrame:
    """Rows of segment_cohort_counts for a cohort with ``active`` customers after each month."""
    rows = [
        {"segment": segment, "segment_name": f"s{segment}", "leave_month": None, "n": active[-1]}
    ]
    for i, month in enumerate(MONTHS[: len(active) - 1]):
        left = active[i] - active[i + 1]
        if left:
            rows.append(
                {"segment": segment, "segment_name": f"s{segment}", "leave_month": month, "n": left}
            )
    return pd.DataFrame(rows)


def test_cohort_active_counts_leavers_by_month():
    counts = _counts([100, 90, 85, 85, 80, 78, 77], 0)
    assert cohort_active(counts, MONTHS) == {0: [100, 90, 85, 85, 80, 78, 77]}


def test_segment_value_recovers_the_planted_retention_per_segment():
    planted = {0: (0.9, 2.5), 1: (3.0, 30.0)}
    counts = pd.concat(
        [_counts(simulate_cohort(a, b, 20000, 6, seed=s), s) for s, (a, b) in planted.items()]
    )
    arpu = pd.DataFrame(
        {"customer_id": ["a", "b", "c"], "segment": [0, 0, 1], "arpu_yuan": [50.0, 70.0, 100.0]}
    )
    value = segment_value(counts, MONTHS, arpu, SETTINGS).set_index("segment")
    w = SETTINGS.work_orders
    for s, (a, b) in planted.items():
        truth = ShiftedBetaGeometric()
        truth.alpha_, truth.beta_ = a, b  # the planted model's own remaining lifetime
        expected = truth.expected_remaining_lifetime(
            6, discount=w.monthly_discount, horizon=w.horizon_months
        )
        assert value.loc[s, "expected_months"] == pytest.approx(expected, rel=0.1)
    assert value.loc[0, "mean_arpu_yuan"] == 60.0
    assert value.loc[1, "lifetime_value_yuan"] == pytest.approx(
        100.0 * value.loc[1, "expected_months"]
    )
    # sBG conditions on survival: after 6 months the survivors of the mixed segment 0 are
    # its loyal ones (0.9 / (0.9 + 2.5 + 6) = 9.6 % a month), so it is not the lower figure.
    assert value.loc[0, "alpha"] == pytest.approx(0.9, rel=0.15)


def test_work_orders_rank_by_expected_loss_keep_controllable_and_cut_at_budget():
    scores = pd.DataFrame(
        {
            "customer_id": ["A", "B", "C", "D", "E"],
            "month": [MONTHS[-1]] * 5,
            "churn_probability": [0.30, 0.10, 0.50, 0.20, 0.40],
            "reason_1": ["service_level", "competitors", "competitors", "policy", None],
            "reason_2": [None, "management", None, None, None],
            "reason_3": [None, None, None, None, None],
        }
    )
    arpu = pd.DataFrame(
        {
            "customer_id": list("ABCDE"),
            "segment": [0, 0, 1, 1, 0],
            "arpu_yuan": [100.0, 200.0, 50.0, 80.0, 90.0],
        }
    )
    value = pd.DataFrame(
        {"segment": [0, 1], "segment_name": ["x", "y"], "expected_months": [10.0, 20.0]}
    )
    orders = work_orders(scores, arpu, value, SETTINGS, budget_yuan=40)
    # C (competitors only) and E (no reason) have nothing to act on.
    # Losses: A 0.3*100*10 = 300, B 0.1*200*10 = 200, D 0.2*80*20 = 320.
    assert orders.customer_id.tolist() == ["D", "A", "B"]
    assert orders.expected_loss_yuan.tolist() == pytest.approx([320.0, 300.0, 200.0])
    assert orders.action_reason.tolist() == ["policy", "service_level", "management"]
    assert orders.within_budget.tolist() == [True, True, False]  # 2 orders x 20 yuan
    assert orders.hint_zh.iloc[1] == SETTINGS.reasons["service_level"].hint_zh
    everyone = SETTINGS.model_copy(
        update={"work_orders": SETTINGS.work_orders.model_copy(update={"only_controllable": False})}
    )
    assert "C" in work_orders(scores, arpu, value, everyone).customer_id.tolist()
