"""Tracking definitions pinned on hand-built customers (every number worked out by hand)."""

from __future__ import annotations

import datetime as dt

import ibis
import pytest

from touchpoint.campaigns import savings, track

T = dt.datetime
B = dt.date(2026, 2, 1)


def _payments(rows):
    return ibis.memtable(
        {
            "customer_id": [r[0] for r in rows],
            "paid_at": [r[1] for r in rows],
            "channel": [r[2] for r in rows],
        }
    )


# Baseline February; tracked March, April, May.
#  t1: store every month                      -> never away
#  t2: store Feb, kiosk Mar, Apr, May          -> away since start, 3 months running in May
#  t3: store Feb, nothing Mar, store Apr, app May
#  t4: kiosk Feb, nothing after
#  h1: store Feb, Mar; nothing Apr, May
#  h2: store Feb..May
ROWS = [
    ("t1", T(2026, 2, 3), "store"), ("t1", T(2026, 3, 3), "store"),
    ("t1", T(2026, 4, 3), "partner_store"), ("t1", T(2026, 5, 3), "store"),
    ("t2", T(2026, 2, 3), "store"), ("t2", T(2026, 3, 3), "kiosk"),
    ("t2", T(2026, 4, 3), "kiosk"), ("t2", T(2026, 5, 3), "kiosk"),
    ("t3", T(2026, 2, 3), "store"), ("t3", T(2026, 4, 3), "store"), ("t3", T(2026, 5, 3), "app"),
    ("t4", T(2026, 2, 3), "kiosk"),
    ("h1", T(2026, 2, 3), "store"), ("h1", T(2026, 3, 3), "store"),
    ("h2", T(2026, 2, 3), "store"), ("h2", T(2026, 3, 3), "store"),
    ("h2", T(2026, 4, 3), "store"), ("h2", T(2026, 5, 3), "store"),
]  # fmt: skip
ASSIGNMENT = ibis.memtable(
    {
        "customer_id": ["t1", "t2", "t3", "t4", "h1", "h2"],
        "group": ["treatment"] * 4 + ["holdout"] * 2,
    }
)


@pytest.fixture(scope="module")
def tracked():
    out = track(ASSIGNMENT, _payments(ROWS), B).to_pandas()
    return out.set_index(["metric", out.month.astype(str)])


def test_no_store_payment_each_month(tracked):
    m = tracked.loc["no_store_payment"]
    # March: t2, t3, t4 of 4 treated; h1, h2 both paid in a store.
    assert m.loc["2026-03-01", ["rate_treatment", "rate_holdout"]].tolist() == [0.75, 0.0]
    # April: t2, t4 away; h1 away.
    assert m.loc["2026-04-01", ["rate_treatment", "rate_holdout"]].tolist() == [0.5, 0.5]
    # May: t2, t3, t4; h1.
    assert m.loc["2026-05-01", "net_effect"] == pytest.approx(0.75 - 0.5)
    # Naive: treated in May (0.75) minus treated in February (t4 only: 0.25).
    assert m.loc["2026-05-01", "naive_effect"] == pytest.approx(0.5)


def test_three_months_running_and_since_start(tracked):
    running = tracked.loc["away_3m_running"]
    assert list(running.index) == ["2026-05-01"]  # defined from the third tracked month
    assert running.loc["2026-05-01", ["rate_treatment", "rate_holdout"]].tolist() == [0.5, 0.0]
    since = tracked.loc["away_since_start"]
    assert since.loc["2026-03-01", "rate_treatment"] == 0.75
    assert since.loc["2026-04-01", "rate_treatment"] == 0.5  # t3 came back in April
    assert since.loc["2026-05-01", ["rate_treatment", "rate_holdout"]].tolist() == [0.5, 0.0]


def test_where_they_went(tracked):
    assert tracked.loc[("went_to_kiosk", "2026-03-01"), "rate_treatment"] == 0.25
    assert tracked.loc[("went_to_app", "2026-05-01"), "rate_treatment"] == 0.25
    assert tracked.loc[("went_to_kiosk", "2026-03-01"), "naive_effect"] == 0.0  # t4 in Feb


def test_interval_is_wald_and_money_follows_it():
    out = track(ASSIGNMENT, _payments(ROWS), B)
    row = out.filter(out.metric == "no_store_payment").to_pandas().iloc[-1]
    se = (0.75 * 0.25 / 4 + 0.5 * 0.5 / 2) ** 0.5
    assert row.net_ci_high - row.net_effect == pytest.approx(1.959964 * se, rel=1e-5)
    money = savings(out, 5.0, 0.05, 4).to_pandas().iloc[-1]
    assert money.moved == pytest.approx(1.0)
    assert money.saving_yuan == pytest.approx(1.0 * 5.0 - 0.2)
    assert money.saving_low_yuan < money.saving_yuan < money.saving_high_yuan
