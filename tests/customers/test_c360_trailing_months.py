"""The 360's trailing three months, against the same sums worked out in plain Python.

The 360 takes a month's two months before from the rows before it in the customer's months
(one window over the narrow monthly table). These hand-built customers hit the edges of that:
a first month (nothing before), a second month (one month before), a month with no activity
and no bill in the middle of a run, a customer joining mid-span after a contact made before
joining (not in the 360, so not in its sums), one leaving mid-span, one with no activity at all.
"""

from __future__ import annotations

import datetime as dt

import pytest
from customers_samples import at, contact, stg

from touchpoint.config import load_config
from touchpoint.customers import C360_MART, build

D = dt.date
MONTHS = [1, 2, 3, 4, 5]  # January to May 2026, all billed
CUSTOMERS = {
    # id: (join_date, leave_date)
    "a": (D(2025, 6, 1), None),  # all five months
    "b": (D(2026, 3, 10), D(2026, 4, 25)),  # joins in March, leaves in April
    "c": (D(2026, 1, 20), None),  # all five months, activity only in its first one
    "d": (D(2025, 1, 1), None),  # never any activity, no bill
}
BILLS = {("a", 1): 100.0, ("a", 2): 110.0, ("a", 4): 90.0, ("a", 5): 120.0}  # no March bill
BILLS |= {("b", 3): 30.0, ("b", 4): 40.0, ("c", 1): 55.0}
CONTACTS = [  # (customer, month, day, channel)
    ("a", 1, 5, "web"),
    ("a", 1, 6, "agent"),
    ("a", 3, 2, "ivr"),  # February: nothing at all for a
    ("a", 4, 9, "web"),
    ("a", 5, 1, "web"),
    ("a", 5, 2, "agent"),
    ("b", 2, 20, "agent"),  # before b joined: not a month of the 360
    ("b", 3, 11, "agent"),
    ("b", 4, 3, "web"),
    ("c", 1, 21, "ivr"),
]
PAYMENTS = [("a", 1, "web"), ("a", 3, "web"), ("a", 4, "web"), ("b", 4, "store")]
COMPLAINTS = [("a", 1), ("a", 4), ("a", 4), ("b", 3), ("c", 1)]
ORDERS = [
    ("a", 2, "subscribe", "family_x"),
    ("a", 5, "subscribe", "data_1g"),
    ("b", 3, "subscribe", "group_y"),
]
# (customer, month, reply): "1" satisfied (1.0), "一般" neutral (0.5), "不满意" dissatisfied (0.0),
# "?" replied but unclassified, None sent without a reply
SURVEYS = [
    ("a", 1, "1"),
    ("a", 3, "一般"),
    ("a", 4, "不满意"),
    ("a", 5, "?"),
    ("a", 5, None),
    ("b", 4, "1"),
    ("c", 1, "不满意"),
]
SCORE = {"1": 1.0, "一般": 0.5, "不满意": 0.0}


def _world():
    customers = [
        dict(
            customer_id=cid,
            join_date=join,
            leave_date=leave,
            brand="gotone",
            value_tier="regular",
            region="chengdu",
            status="left" if leave else "active",
        )
        for cid, (join, leave) in CUSTOMERS.items()
    ]
    return {
        "stg_customers": stg("customers", customers),
        "stg_bills": stg(
            "bills",
            [
                dict(customer_id=c, bill_month=D(2026, m, 1), arpu_yuan=v, points=100)
                for (c, m), v in BILLS.items()
            ],
        ),
        "stg_contacts": stg(
            "contacts",
            [
                contact(f"k{i}", c, at(m, day), channel, "bill_query")
                for i, (c, m, day, channel) in enumerate(CONTACTS)
            ],
        ),
        "stg_payments": stg(
            "payments",
            [
                dict(
                    payment_id=f"p{i}", customer_id=c, paid_at=at(m, 7), channel=ch, amount_yuan=9.0
                )
                for i, (c, m, ch) in enumerate(PAYMENTS)
            ],
        ),
        "stg_complaints": stg(
            "complaints",
            [
                dict(
                    complaint_id=f"q{i}",
                    customer_id=c,
                    created_at=at(m, 8),
                    channel="agent",
                    category="billing",
                )
                for i, (c, m) in enumerate(COMPLAINTS)
            ],
        ),
        "stg_orders": stg(
            "orders",
            [
                dict(
                    order_id=f"o{i}",
                    customer_id=c,
                    ordered_at=at(m, 9),
                    action=act,
                    product_id=p,
                    channel="app",
                )
                for i, (c, m, act, p) in enumerate(ORDERS)
            ],
        ),
        "stg_surveys": stg(
            "surveys",
            [
                dict(
                    survey_id=f"s{i}",
                    customer_id=c,
                    survey_channel="sms",
                    sent_at=at(m, 10),
                    replied_at=None if reply is None else at(m, 11),
                    reply_text=reply,
                )
                for i, (c, m, reply) in enumerate(SURVEYS)
            ],
        ),
    }


def _in_network(customer: str, month: int) -> bool:
    join, leave = CUSTOMERS[customer]
    first = D(2026, month, 1)
    next_first = D(2026, month + 1, 1) if month < 12 else D(2027, 1, 1)
    return join < next_first and (leave is None or leave >= first)


def _expected(customer: str, month: int) -> dict:
    """The trailing columns from the lists above: months m-2..m the customer was in the network."""
    window = [m for m in (month - 2, month - 1, month) if m >= 1 and _in_network(customer, m)]

    def count(rows, match=None):
        return sum(
            1
            for r in rows
            if r[0] == customer and r[1] in window and (match is None or match[1] == r[match[0]])
        )

    out = {
        f"n_contacts_3m_{ch}": count(CONTACTS, (3, ch)) for ch in ("web", "agent", "ivr", "store")
    }
    out |= {f"n_payments_3m_{ch}": count(PAYMENTS, (2, ch)) for ch in ("web", "store")}
    out["n_complaints_3m"] = count(COMPLAINTS)
    out["n_orders_subscribe_3m"] = count(ORDERS, (2, "subscribe"))
    out["n_family_or_group_orders_3m"] = sum(
        1
        for c, m, act, p in ORDERS
        if c == customer
        and m in window
        and act == "subscribe"
        and p.startswith(("family", "group"))
    )
    replies = [r for c, m, r in SURVEYS if c == customer and m in window and r is not None]
    out["n_surveys_replied_3m"] = len(replies)
    out["n_surveys_dissatisfied_3m"] = sum(r == "不满意" for r in replies)
    scores = [SCORE[r] for r in replies if r in SCORE]
    out["satisfaction_score_3m"] = sum(scores) / len(scores) if scores else None
    arpus = [BILLS[(customer, m)] for m in window if (customer, m) in BILLS]
    out["arpu_3m_avg_yuan"] = sum(arpus) / len(arpus) if arpus else None
    before = [BILLS[(customer, m)] for m in window if m < month and (customer, m) in BILLS]
    this = BILLS.get((customer, month))
    out["arpu_trend_3m"] = this - sum(before) / len(before) if this is not None and before else None
    return out


@pytest.fixture(scope="module")
def c360():
    rows = build(_world(), load_config())[C360_MART].to_pyarrow().to_pylist()
    return {(r["customer_id"], r["month"].month): r for r in rows}


def test_rows_are_the_months_in_the_network(c360):
    expected = {(c, m) for c in CUSTOMERS for m in MONTHS if _in_network(c, m)}
    assert set(c360) == expected
    assert ("b", 2) not in c360 and ("b", 5) not in c360


@pytest.mark.parametrize("key", [(c, m) for c in CUSTOMERS for m in MONTHS if _in_network(c, m)])
def test_trailing_columns_match_the_sums_by_hand(c360, key):
    got = c360[key]
    for column, value in _expected(*key).items():
        if value is None:
            assert got[column] is None, column
        elif isinstance(value, float):
            assert got[column] == pytest.approx(value, rel=1e-12), column
        else:
            assert got[column] == value, column


def test_the_edges_by_hand(c360):
    # a's March: no bill, one ivr contact; January's two contacts and February's nothing.
    assert c360[("a", 3)]["n_contacts_3m_web"] == 1
    assert c360[("a", 3)]["arpu_3m_avg_yuan"] == pytest.approx(105.0)
    assert c360[("a", 3)]["arpu_trend_3m"] is None
    # a's May: April's bill and the missing March one: (90 + 120) / 2, trend 120 - 90.
    assert c360[("a", 5)]["arpu_3m_avg_yuan"] == pytest.approx(105.0)
    assert c360[("a", 5)]["arpu_trend_3m"] == pytest.approx(30.0)
    assert c360[("a", 5)]["n_complaints_3m"] == 2  # January's fell out of the window
    # b's first month: its agent contact of February (before joining) is not counted.
    assert c360[("b", 3)]["n_contacts_3m_agent"] == 1
    assert c360[("b", 3)]["arpu_trend_3m"] is None
    assert c360[("b", 4)]["arpu_trend_3m"] == pytest.approx(10.0)
    # c's March still holds January; April does not.
    assert c360[("c", 3)]["n_contacts_3m_ivr"] == 1
    assert c360[("c", 4)]["n_contacts_3m_ivr"] == 0
    assert c360[("c", 3)]["satisfaction_score_3m"] == pytest.approx(0.0)
    assert c360[("c", 4)]["satisfaction_score_3m"] is None
    # d: in every month, nothing in any sum.
    assert c360[("d", 5)]["n_complaints_3m"] == 0 and c360[("d", 5)]["arpu_3m_avg_yuan"] is None
