"""A retention offer's money and its success against the target, on a hand-built campaign whose
figures are worked by hand below (the step's own functions, from the campaign tables)."""

from __future__ import annotations

import datetime as dt
import math

import ibis
import pandas as pd
import pytest

from touchpoint.campaigns import campaign_savings, retention_arpu, track_campaigns

MARCH, APRIL = dt.date(2026, 3, 1), dt.date(2026, 4, 1)
N_T, N_H = 1000, 500


def _campaign():
    """1,000 treated (50 leave in April) and 500 held out (40 leave in April); the treated's
    ARPU in March is 40 for half and 60 for the other half (mean 50), the holdout's 1,000
    (not the treated's: must not count); 1,000 SMS work orders at 0.05 yuan."""
    ids_t = [f"T{i:04d}" for i in range(N_T)]
    ids_h = [f"H{i:04d}" for i in range(N_H)]
    assignments = pd.DataFrame(
        {
            "campaign_id": "keep",
            "customer_id": ids_t + ids_h,
            "group": ["treatment"] * N_T + ["holdout"] * N_H,
            "audience_month": MARCH,
        }
    )
    leave = [dt.date(2026, 4, 10) if i < 50 else None for i in range(N_T)] + [
        dt.date(2026, 4, 20) if i < 40 else None for i in range(N_H)
    ]
    customers = pd.DataFrame({"customer_id": ids_t + ids_h, "leave_date": leave})
    payments = pd.DataFrame(
        {
            "customer_id": (ids_t + ids_h) * 2,
            "paid_at": [pd.Timestamp("2026-03-05 10:00")] * (N_T + N_H)
            + [pd.Timestamp("2026-04-05 10:00")] * (N_T + N_H),
            "channel": "web",
        }
    )
    c360 = pd.DataFrame(
        {
            "customer_id": ids_t + ids_h + ids_t,
            "month": [MARCH] * (N_T + N_H) + [APRIL] * N_T,
            "arpu_3m_avg_yuan": [40.0 if i % 2 else 60.0 for i in range(N_T)]
            + [1000.0] * N_H
            + [500.0] * N_T,  # April's ARPU: not the selection month's, must not count
        }
    )
    events = pd.DataFrame(
        {
            "campaign_id": "keep",
            "work_order_id": [f"W{i:04d}" for i in range(N_T)],
            "event": "dispatched",
            "channel": "sms",
        }
    )
    actions = pd.DataFrame({"campaign_id": ["keep"], "action": ["retention_offer"]})
    return {k: ibis.memtable(v) for k, v in locals().items() if isinstance(v, pd.DataFrame)}


def test_customers_kept_times_their_value_less_the_orders():
    t = _campaign()
    tracking = track_campaigns(
        t["assignments"], t["actions"], payments=t["payments"], customers=t["customers"]
    )
    arpu = retention_arpu(t["assignments"], t["actions"], t["c360"], "arpu_3m_avg_yuan")
    money = campaign_savings(
        tracking,
        t["events"],
        {"divert_store_payment_to_self_service": 5.7},
        {"sms": 0.05},
        retention_arpu=arpu,
        remaining_months=24,
        target_success_rate=0.2,
    ).to_pandas()
    assert len(money) == 1
    row = money.iloc[0]
    # By hand: churn 50/1000 = 0.05 treated, 40/500 = 0.08 held out: net -0.03, 30 kept.
    # se = sqrt(0.05 × 0.95 / 1000 + 0.08 × 0.92 / 500) = sqrt(0.0001947) = 0.0139535;
    # 1.959964 × se = 0.0273483: kept 30 ± 27.348, i.e. [2.652, 57.348].
    half = 1.959964 * math.sqrt(0.05 * 0.95 / 1000 + 0.08 * 0.92 / 500) * 1000
    assert (row.metric, row.month.date()) == ("churned", APRIL)
    assert row.n_treatment == 1000
    assert row.moved == pytest.approx(30.0)
    assert (row.moved_low, row.moved_high) == pytest.approx((30 - half, 30 + half), abs=1e-3)
    assert half == pytest.approx(27.348, abs=1e-3)
    # Each kept customer: ARPU 50 (the treated's March mean) × 24 months = 1,200 yuan.
    assert row.arpu_yuan == pytest.approx(50.0) and row.remaining_months == 24
    assert row.cost_difference_yuan == pytest.approx(1200.0)
    assert row.saving_yuan == pytest.approx(36_000.0)
    assert (row.saving_low_yuan, row.saving_high_yuan) == pytest.approx((3182.4, 68_817.6), abs=2.0)
    # 1,000 SMS at 0.05 yuan: 50 yuan; the value to date less that.
    assert (row.n_orders, row.order_cost_yuan) == (1000, pytest.approx(50.0))
    assert row.net_saving_to_date_yuan == pytest.approx(35_950.0)
    # Success: 3 % of the treated kept, [0.27 %, 5.73 %], against the target of 20 %.
    assert row.success_rate == pytest.approx(0.03)
    assert (row.success_low, row.success_high) == pytest.approx((0.002652, 0.057348), abs=1e-6)
    assert row.target_success_rate == 0.2


def test_a_diversion_keeps_its_monthly_sum_and_has_no_retention_figures():
    t = _campaign()
    actions = ibis.memtable(
        {"campaign_id": ["keep"], "action": ["divert_store_payment_to_self_service"]}
    )
    tracking = track_campaigns(t["assignments"], actions, payments=t["payments"])
    arpu = retention_arpu(t["assignments"], actions, t["c360"], "arpu_3m_avg_yuan")
    assert arpu.count().execute() == 0
    money = campaign_savings(
        tracking, t["events"], {"divert_store_payment_to_self_service": 5.7}, {"sms": 0.05},
        retention_arpu=arpu,
    ).to_pandas()  # fmt: skip
    assert money.metric.tolist() == ["no_store_payment"]
    assert money.success_rate.isna().all() and money.target_success_rate.isna().all()
    assert money.net_saving_to_date_yuan.iloc[0] == pytest.approx(money.saving_yuan.iloc[0] - 50.0)


def test_track_prints_the_target_beside_the_measured_success(tmp_path):
    """``campaign track`` renders the mart's retention row: the money and "target 20 %,
    measured 3.0 % [0.3 %, 5.7 %]", in English and Chinese."""
    import json

    from typer.testing import CliRunner

    from touchpoint.campaigns import SAVINGS_MART, TRACKING_MART
    from touchpoint.cli import app
    from touchpoint.warehouse import connect, write_table

    t = _campaign()
    tracking = track_campaigns(
        t["assignments"], t["actions"], payments=t["payments"], customers=t["customers"]
    )
    arpu = retention_arpu(t["assignments"], t["actions"], t["c360"], "arpu_3m_avg_yuan")
    money = campaign_savings(tracking, t["events"], {}, {"sms": 0.05}, retention_arpu=arpu)
    con = connect(tmp_path / "wh.duckdb")
    write_table(con, TRACKING_MART, tracking)
    write_table(con, SAVINGS_MART, money)
    definition = {
        "id": "keep",
        "name": {"en": "Keep", "zh": "挽留"},
        "action": "retention_offer",
        "audience": {"rule": "tenure_months >= 0"},
    }
    con.create_table(
        "campaign_definitions",
        pd.DataFrame(
            {
                "campaign_id": ["keep"],
                "version": [1],
                "definition_json": [json.dumps(definition)],
                "created_by": ["alice"],
            }
        ),
    )
    con.disconnect()
    runner = CliRunner(env={"COLUMNS": "250"})
    args = ["campaign", "track", "keep", "--warehouse", str(tmp_path / "wh.duckdb")]
    en = runner.invoke(app, args, catch_exceptions=False).output
    assert "30.0 customers kept [2.7, 57.3]" in en
    assert "¥1,200.00 each (¥50.00 ARPU × 24 months) = ¥36,000 [¥3,181.98, ¥68,818]" in en
    assert "target 20%, measured 3.0% [0.3%, 5.7%]" in en
    zh = runner.invoke(app, [*args, "--lang", "zh"], catch_exceptions=False).output
    assert "目标 20%，实测 3.0% [0.3%, 5.7%]" in zh
    doc = json.loads(runner.invoke(app, [*args, "--json"], catch_exceptions=False).output)
    assert doc["savings"][0]["target_success_rate"] == 0.2
