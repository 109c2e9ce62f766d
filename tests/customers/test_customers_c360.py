"""The customer 360 on the tiny hand-built world (tests/customers/conftest.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from customers_samples import tiny_world

from touchpoint.config import load_config
from touchpoint.customers import (
    C360_MART,
    CONTACTS_MART,
    PREFERENCE_MART,
    build,
    load_customers_settings,
    with_contribution_tier,
)
from touchpoint.tags import customer_360_schema

CONTRACT = Path(__file__).resolve().parents[2] / "docs" / "customers.md"


@pytest.fixture(scope="module")
def marts():
    out = build(tiny_world(), load_config())
    return {name: expr.to_pyarrow().to_pylist() for name, expr in out.items()}


def row(marts, customer, month):
    rows = [
        r
        for r in marts[C360_MART]
        if r["customer_id"] == customer and r["month"] == dt.date(2026, month, 1)
    ]
    assert len(rows) == 1
    return rows[0]


def test_one_row_per_customer_and_month_in_the_network(marts):
    keys = sorted((r["customer_id"], r["month"].month) for r in marts[C360_MART])
    # u1 all three months; u2 joined in February and left on 20 March; u3 joins in April.
    assert keys == [("u1", 1), ("u1", 2), ("u1", 3), ("u2", 2), ("u2", 3)]


def test_profile_and_value_columns(marts):
    r = row(marts, "u1", 3)
    assert (r["brand"], r["value_tier"], r["region"], r["plan_id"]) == (
        "gotone",
        "gold",
        "chengdu",
        "P88",
    )
    assert r["tenure_months"] == 9 and r["is_new_subscriber"] is False
    assert r["age_years"] == 46
    assert r["arpu_yuan"] == 130.0
    assert r["arpu_3m_avg_yuan"] == pytest.approx((100 + 110 + 130) / 3)
    assert r["arpu_trend_3m"] == pytest.approx(130 - 105)
    assert row(marts, "u1", 2)["arpu_trend_3m"] == pytest.approx(10)
    assert row(marts, "u1", 1)["arpu_trend_3m"] is None
    assert (r["points"], r["voice_minutes"], r["data_mb"], r["sms_count"]) == (3000, 12.5, 800.0, 7)
    u2 = row(marts, "u2", 3)
    assert u2["has_left_in_month"] is True and row(marts, "u2", 2)["has_left_in_month"] is False
    assert row(marts, "u2", 2)["is_new_subscriber"] is True
    assert u2["arpu_yuan"] is None and u2["age_years"] is None
    assert u2["is_group_key_person"] is False and u2["is_family_plan"] is False


def test_contacts_payments_cost_and_contribution(marts):
    r = row(marts, "u1", 3)
    assert r["n_contacts"] == 3
    assert (r["n_contacts_ivr"], r["n_contacts_agent"], r["n_contacts_store"]) == (1, 1, 1)
    assert r["n_contacts_3m_web"] == 1  # January's web contact is still in the window
    assert (r["n_payments"], r["n_payments_web"], r["n_payments_3m_web"]) == (1, 1, 2)
    assert r["cost_to_serve_yuan"] == pytest.approx(0.018 + 0.77 + 6.0)
    assert r["net_contribution_yuan"] == pytest.approx(130 - 6.788)
    assert r["contribution_tier"] == 2  # 123.2 yuan: between the 80 and 150 cut points
    u2 = row(marts, "u2", 2)
    assert u2["cost_to_serve_yuan"] == pytest.approx(12.0)
    assert u2["net_contribution_yuan"] == pytest.approx(8.0)
    assert u2["contribution_tier"] == 4
    assert row(marts, "u2", 3)["contribution_tier"] is None  # no bill: no contribution


def test_orders_complaints_and_surveys(marts):
    r = row(marts, "u1", 3)
    assert r["n_orders_subscribe_3m"] == 2
    assert r["n_family_or_group_orders_3m"] == 1  # the group_vpn order was an unsubscribe
    assert row(marts, "u2", 3)["n_complaints"] == 1
    assert row(marts, "u2", 3)["n_complaints_3m"] == 2
    # Replies "1" (satisfied, 1.0), "不满意" (dissatisfied, 0.0) and a blank one (replied,
    # unclassified); the fourth survey got no reply.
    assert r["n_surveys_replied_3m"] == 3
    assert r["n_surveys_dissatisfied_3m"] == 1
    assert r["satisfaction_score_3m"] == pytest.approx(0.5)
    assert row(marts, "u1", 1)["satisfaction_score_3m"] == pytest.approx(1.0)
    assert row(marts, "u2", 2)["satisfaction_score_3m"] is None


def test_preference_levels_in_the_360(marts):
    r = row(marts, "u1", 3)
    # All businesses, Jan-Mar: web 1 contact + 2 payments = 3 of 5 events (share 0.6) -> 3;
    # the transferred call counts once, as agent -> 1; store 1 -> 1; IVR 0.
    assert (
        r["pref_level_web"],
        r["pref_level_agent"],
        r["pref_level_store"],
        r["pref_level_ivr"],
    ) == (3, 1, 1, 0)
    # Payment business: web 2 payments of 3 events -> 2 (level 3 needs 3); store 1 -> 1.
    assert (r["pref_level_payment_web"], r["pref_level_payment_store"]) == (2, 1)
    assert row(marts, "u2", 2)["pref_level_payment_store"] == 2  # 2 of 2
    assert row(marts, "u2", 3)["pref_level_payment_store"] == 3  # 3 of 3


def test_identity_flag(marts):
    # u1 is a group key person; points fall below 3,900 only in March.
    assert [row(marts, "u1", m)["is_identity_customer"] for m in (1, 2, 3)] == [False, False, True]
    assert row(marts, "u2", 2)["is_identity_customer"] is False


def test_contacts_mart(marts):
    got = sorted(
        (r["business"], r["channel"], r["n_contacts"], r["n_payments"], r["n_preference_events"])
        for r in marts[CONTACTS_MART]
        if r["customer_id"] == "u1" and r["month"] == dt.date(2026, 3, 1)
    )
    assert got == [
        ("bill_query", "agent", 1, 0, 1),
        ("bill_query", "ivr", 1, 0, 0),  # the IVR leg of the transferred call
        ("payment", "store", 1, 0, 1),
        ("payment", "web", 0, 1, 1),
    ]


def test_preference_mart_window(marts):
    web = {
        r["month"].month: (r["n_contacts_window"], r["level"])
        for r in marts[PREFERENCE_MART]
        if r["customer_id"] == "u1" and r["business"] == "bill_query" and r["channel"] == "web"
    }
    # January's web contact counts in January, February and March (3-month window).
    assert web == {1: (1, 1), 2: (1, 1), 3: (1, 1)}


def test_quantile_tiers(tiny_tables):
    import ibis

    base = load_customers_settings()
    settings = type(base).model_validate(
        {
            **base.model_dump(by_alias=True),
            "contribution_tiers": {"method": "quantile", "cut_points": (0.8, 0.6, 0.4, 0.2)},
        }
    )
    t = ibis.memtable(
        {
            "month": [dt.date(2026, 1, 1)] * 5 + [dt.date(2026, 2, 1)],
            "net_contribution_yuan": [10.0, 20.0, 30.0, 40.0, 50.0, -3.0],
        }
    )
    got = (
        with_contribution_tier(t, settings)
        .order_by(["month", "net_contribution_yuan"])
        .to_pyarrow()
    )
    # Quantiles of 10..50 (linear): 42, 34, 26, 18 -> tiers 5, 4, 3, 2, 1; a lone value is tier 1.
    assert got["contribution_tier"].to_pylist() == [5, 4, 3, 2, 1, 1]


def test_columns_follow_the_contract(tiny_tables):
    # The contract as the tags package states it (its rules are checked against it), so the
    # 360 built here and the columns tag rules may use cannot drift apart.
    expected = {name: str(dtype) for name, dtype in customer_360_schema(load_config()).items()}
    schema = build(tiny_tables, load_config())[C360_MART].schema()
    got = {name: str(dtype).lstrip("!") for name, dtype in schema.items()}
    assert {k: got.get(k) for k in expected} == expected
    assert "contribution_tier" in CONTRACT.read_text(encoding="utf-8")


def test_cost_to_serve_is_added_in_channel_order(marts):
    # Each channel's contacts times its configured cost, added in the configuration's channel
    # order: exactly this float, whatever order DuckDB reads the monthly rows in, so a
    # customer on a tier's cut point keeps its tier from run to run.
    config = load_config()
    for r in marts[C360_MART]:
        expected = 0.0
        for channel in config.channels:
            expected += r[f"n_contacts_{channel.id}"] * float(channel.cost_per_contact_yuan)
        assert r["cost_to_serve_yuan"] == expected
    assert row(marts, "u1", 3)["cost_to_serve_yuan"] > 0
