"""A tiny hand-built world for the customer analytics: three customers, January to March 2026.

Every number the tests assert is worked out by hand in the test that asserts it.
"""

from __future__ import annotations

import datetime as dt

import ibis
import pyarrow as pa

from touchpoint.contract import ENTITIES, arrow_schema


def stg(entity: str, rows: list[dict]) -> ibis.Table:
    schema = arrow_schema(ENTITIES[entity])
    return ibis.memtable(
        pa.Table.from_pylist([{f.name: r.get(f.name) for f in schema} for r in rows], schema=schema)
    )


def at(month: int, day: int, hour: int = 10, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute)


def contact(cid, customer, when, channel, business, call_id=None):
    return {
        "contact_id": cid,
        "customer_id": customer,
        "started_at": when,
        "ended_at": when + dt.timedelta(minutes=3),
        "channel": channel,
        "business": business,
        "outcome": "resolved",
        "call_id": call_id,
    }


def tiny_world() -> dict[str, ibis.Table]:
    d = dt.date
    return {
        "stg_customers": stg(
            "customers",
            [
                dict(
                    customer_id="u1",
                    join_date=d(2025, 6, 10),
                    brand="gotone",
                    value_tier="gold",
                    region="chengdu",
                    plan_id="P88",
                    birth_year=1980,
                    is_group_key_person=True,
                    is_family_plan=False,
                    status="active",
                ),
                dict(
                    customer_id="u2",
                    join_date=d(2026, 2, 15),
                    brand="easyown",
                    value_tier="regular",
                    region="mianyang",
                    status="left",
                    leave_date=d(2026, 3, 20),
                ),
                dict(
                    customer_id="u3",
                    join_date=d(2026, 4, 5),
                    brand="mzone",
                    value_tier="regular",
                    region="mianyang",
                    status="active",
                ),
            ],
        ),
        "stg_bills": stg(
            "bills",
            [
                dict(customer_id="u1", bill_month=d(2026, 1, 1), arpu_yuan=100.0, points=5000),
                dict(customer_id="u1", bill_month=d(2026, 2, 1), arpu_yuan=110.0, points=4000),
                dict(
                    customer_id="u1",
                    bill_month=d(2026, 3, 1),
                    arpu_yuan=130.0,
                    points=3000,
                    voice_minutes=12.5,
                    data_mb=800.0,
                    sms_count=7,
                    arrears_yuan=0.0,
                ),
                dict(customer_id="u2", bill_month=d(2026, 2, 1), arpu_yuan=20.0, points=10),
            ],
        ),
        "stg_contacts": stg(
            "contacts",
            [
                contact("k1", "u1", at(1, 5), "web", "bill_query"),
                contact("k2", "u1", at(3, 3), "ivr", "bill_query", call_id="c1"),
                contact("k3", "u1", at(3, 3, 10, 2), "agent", "bill_query", call_id="c1"),
                contact("k4", "u1", at(3, 9), "store", "payment"),
                contact("k5", "u2", at(2, 16), "store", "payment"),
                contact("k6", "u2", at(2, 20), "store", "payment"),
            ],
        ),
        "stg_payments": stg(
            "payments",
            [
                dict(
                    payment_id="p1",
                    customer_id="u1",
                    paid_at=at(2, 1),
                    channel="web",
                    amount_yuan=100.0,
                ),
                dict(
                    payment_id="p2",
                    customer_id="u1",
                    paid_at=at(3, 1),
                    channel="web",
                    amount_yuan=100.0,
                ),
                dict(
                    payment_id="p3",
                    customer_id="u2",
                    paid_at=at(3, 2),
                    channel="store",
                    amount_yuan=50.0,
                ),
            ],
        ),
        "stg_orders": stg(
            "orders",
            [
                dict(
                    order_id="o1",
                    customer_id="u1",
                    ordered_at=at(2, 3),
                    action="subscribe",
                    product_id="family_share",
                    channel="app",
                ),
                dict(
                    order_id="o2",
                    customer_id="u1",
                    ordered_at=at(2, 4),
                    action="unsubscribe",
                    product_id="group_vpn",
                    channel="app",
                ),
                dict(
                    order_id="o3",
                    customer_id="u1",
                    ordered_at=at(3, 4),
                    action="subscribe",
                    product_id="data_10g",
                    channel="app",
                ),
            ],
        ),
        "stg_complaints": stg(
            "complaints",
            [
                dict(
                    complaint_id="q1",
                    customer_id="u2",
                    created_at=at(2, 17),
                    channel="agent",
                    category="billing",
                ),
                dict(
                    complaint_id="q2",
                    customer_id="u2",
                    created_at=at(3, 5),
                    channel="agent",
                    category="network",
                ),
            ],
        ),
        "stg_surveys": stg(
            "surveys",
            [
                dict(
                    survey_id="s1",
                    customer_id="u1",
                    survey_channel="sms",
                    sent_at=at(1, 5, 11),
                    replied_at=at(1, 5, 12),
                    reply_text="1",
                ),
                dict(
                    survey_id="s2",
                    customer_id="u1",
                    survey_channel="sms",
                    sent_at=at(2, 5, 11),
                    replied_at=at(2, 5, 12),
                    reply_text="不满意",
                ),
                dict(
                    survey_id="s3",
                    customer_id="u1",
                    survey_channel="sms",
                    sent_at=at(3, 5, 11),
                    replied_at=at(3, 5, 12),
                    reply_text="",
                ),
                dict(survey_id="s4", customer_id="u1", survey_channel="sms", sent_at=at(3, 6, 11)),
            ],
        ),
    }
