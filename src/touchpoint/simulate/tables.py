"""A generated chunk as Arrow tables that follow the data contract."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from touchpoint.contract import ENTITIES, arrow_schema
from touchpoint.simulate.chunk import SATISFIED, Chunk
from touchpoint.simulate.hotline import OUTCOME_RESOLVED
from touchpoint.simulate.ivr_walk import EVENT_TYPES
from touchpoint.simulate.menu import Menu
from touchpoint.simulate.params import SimParams
from touchpoint.simulate.population import TIERS

OUTCOMES = np.array(["resolved", "transferred", "abandoned", "unresolved"], dtype=object)
PRODUCTS = np.array(
    ["data_10g", "data_30g", "family_share", "ringback", "video_vip", "roaming_pack", "group_vpn"],
    dtype=object,
)
COMPLAINT_CATEGORIES = np.array(
    ["network", "billing", "service_attitude", "marketing_harassment", "data_speed"], dtype=object
)
# Replies as customers type them: digits, words, comments, typos, emoji.
REPLIES = {
    SATISFIED: [
        "1",
        "1",
        "满意",
        "满意",
        "满意！",
        "很满意",
        "非常满意👍",
        "满意，谢谢",
        "1 满意",
        "满易",
        "manyi",
        "👍",
        "好评",
    ],
    1: ["2", "2", "一般", "一般般", "还行", "凑合吧", "2 一般", "一般，等得有点久"],
    2: [
        "3",
        "3",
        "不满意",
        "不满意！",
        "不满意，问题没解决",
        "太差了",
        "等了半天没人接",
        "😡",
        "不满衣",
        "3 不满意 投诉",
    ],
}


def ids(prefix: str, chunk: int, numbers: np.ndarray, width: int = 8) -> pa.Array:
    """``<prefix><chunk, 5 digits><number, width digits>``: unique across the world."""
    digits = pc.utf8_lpad(pa.array(numbers, pa.int64()).cast(pa.string()), width, "0")
    return pc.binary_join_element_wise(f"{prefix}{chunk:05d}", digits, "")


def _table(entity: str, columns: dict) -> pa.Table:
    schema = arrow_schema(ENTITIES[entity])
    fields = [f if f.name != "msisdn_hash" else pa.field("msisdn", pa.string()) for f in schema]
    return pa.Table.from_arrays(
        [
            pa.array(columns[f.name], f.type)
            if not isinstance(columns[f.name], pa.Array | pa.ChunkedArray)
            else columns[f.name].cast(f.type)
            for f in fields
        ],
        schema=pa.schema(fields),
    )


contract_table = _table


def _ts(us: np.ndarray) -> pa.Array:
    return pa.array(us.astype("datetime64[us]"), pa.timestamp("us"))


def chunk_tables(
    chunk: Chunk, params: SimParams, menu: Menu, channels: list[str]
) -> dict[str, pa.Table]:
    pop, calls, c = chunk.population, chunk.calls, chunk.number
    rng = np.random.default_rng([chunk.number, 2**31])  # cosmetic fields only (agent and store ids)
    region_names = np.array(list(params.population.regions), dtype=object)
    brand_names = np.array(list(params.population.brands), dtype=object)
    businesses = np.array(list(params.contacts.needs_per_month), dtype=object)
    channel_names = np.array(channels, dtype=object)
    customer_ids = pc.binary_join_element_wise(
        "C", pc.utf8_lpad(pa.array(pop.index).cast(pa.string()), 8, "0"), ""
    )

    def cust(local):
        return customer_ids.take(pa.array(local, pa.int64()))

    left = chunk.leave_us != np.iinfo(np.int64).max
    tables = {
        "customers": _table(
            "customers",
            {
                "customer_id": customer_ids,
                "msisdn": pc.binary_join_element_wise(
                    "1",
                    pc.utf8_lpad(
                        pa.array(38_000_000_000 + pop.index * 7 % 1_999_999_999).cast(pa.string()),
                        10,
                        "0",
                    ),
                    "",
                ),
                "join_date": pop.join_us.astype("datetime64[us]").astype("datetime64[D]"),
                "brand": brand_names[pop.brand],
                "value_tier": np.array(TIERS, dtype=object)[pop.tier],
                "region": region_names[pop.region],
                "plan_id": np.array(
                    ["P18", "P38", "P58", "P88", "P128", "P188", "P288"], dtype=object
                )[np.clip(np.searchsorted([25, 45, 70, 100, 150, 220], pop.arpu_yuan), 0, 6)],
                "birth_year": pop.birth_year,
                "gender": np.where(pop.is_female, "F", "M").astype(object),
                "is_group_key_person": pop.is_group_key_person,
                "is_family_plan": pop.is_family_plan,
                "status": np.where(left, "left", "active").astype(object),
                "leave_date": pa.array(
                    np.where(left, chunk.leave_us, 0)
                    .astype("datetime64[us]")
                    .astype("datetime64[D]"),
                    mask=~left,
                ),
            },
        ),
    }
    first = chunk.first_ids or {}
    call_0, contact_0 = first.get("calls", 0), first.get("contacts", 0)
    n_calls = len(calls.customer)
    call_ids = ids("H", c, call_0 + np.arange(n_calls))
    t = np.flatnonzero(calls.is_transferred)
    o = chunk.contacts
    is_store = np.isin(
        o["channel"], [channels.index(x) for x in ("store", "partner_store", "kiosk")]
    )
    contact_parts = [
        dict(
            contact_id=ids("KI", c, call_0 + np.arange(n_calls)),
            customer=calls.customer,
            start=calls.start_us,
            end=calls.ivr_end_us,
            channel=np.full(n_calls, "ivr", dtype=object),
            business=businesses[calls.business],
            outcome=OUTCOMES[calls.ivr_outcome],
            agent_id=pa.nulls(n_calls, pa.string()),
            store_id=pa.nulls(n_calls, pa.string()),
            call_id=call_ids,
        ),
        dict(
            contact_id=ids("KA", c, call_0 + t),
            customer=calls.customer[t],
            start=calls.agent_start_us[t],
            end=calls.agent_end_us[t],
            channel=np.full(len(t), "agent", dtype=object),
            business=businesses[calls.business[t]],
            outcome=np.where(calls.agent_resolved[t], "resolved", "unresolved").astype(object),
            agent_id=pc.binary_join_element_wise(
                "A", pa.array(rng.integers(1000, 1600, len(t))).cast(pa.string()), ""
            ),
            store_id=pa.nulls(len(t), pa.string()),
            call_id=call_ids.take(pa.array(t, pa.int64())),
        ),
        dict(
            contact_id=ids("KO", c, contact_0 + np.arange(len(o["customer"]))),
            customer=o["customer"],
            start=o["start_us"],
            end=o["end_us"],
            channel=channel_names[o["channel"]],
            business=businesses[o["business"]],
            outcome=OUTCOMES[o["outcome"]],
            agent_id=pa.nulls(len(o["customer"]), pa.string()),
            store_id=pa.array(
                np.char.add(
                    region_names[pop.region[o["customer"]]].astype(str),
                    rng.integers(1, 30, len(o["customer"])).astype(str),
                ).astype(object),
                mask=~is_store,
            ),
            call_id=pa.nulls(len(o["customer"]), pa.string()),
        ),
    ]
    tables["contacts"] = pa.concat_tables(
        _table(
            "contacts",
            {
                "contact_id": p["contact_id"],
                "customer_id": cust(p["customer"]),
                "started_at": _ts(p["start"]),
                "ended_at": _ts(p["end"]),
                "channel": p["channel"],
                "business": p["business"],
                "outcome": p["outcome"],
                "region": region_names[pop.region[p["customer"]]],
                "agent_id": p["agent_id"],
                "store_id": p["store_id"],
                "call_id": p["call_id"],
            },
        )
        for p in contact_parts
    )
    keys = calls.event_key
    tables["ivr_events"] = _table(
        "ivr_events",
        {
            "call_id": call_ids.take(pa.array(calls.event_call, pa.int64())),
            "seq": calls.event_seq,
            "customer_id": cust(calls.customer[calls.event_call]),
            "event_at": _ts(calls.event_us),
            "node_id": menu.ids[calls.event_node],
            "event_type": np.array(EVENT_TYPES, dtype=object)[calls.event_type],
            "key": pa.array(keys, pa.string(), mask=keys == ""),
        },
    )
    p = chunk.payments
    tables["payments"] = _table(
        "payments",
        {
            "payment_id": ids("P", c, first.get("payments", 0) + np.arange(len(p["customer"]))),
            "customer_id": cust(p["customer"]),
            "paid_at": _ts(p["at_us"]),
            "channel": channel_names[p["channel"]],
            "amount_yuan": np.maximum(p["amount"], 10.0),
        },
    )
    b = chunk.bills
    tables["bills"] = _table(
        "bills",
        {
            "customer_id": cust(b["customer"]),
            "bill_month": b["month_us"].astype("datetime64[us]").astype("datetime64[D]"),
            "arpu_yuan": b["arpu"],
            "voice_minutes": b["voice"],
            "data_mb": b["data"],
            "sms_count": b["sms"],
            "points": b["points"],
            "arrears_yuan": b["arrears"],
        },
    )
    k = chunk.complaints
    nk = len(k["customer"])
    resolved = rng.random(nk) < 0.9
    tables["complaints"] = _table(
        "complaints",
        {
            "complaint_id": ids("Q", c, first.get("complaints", 0) + np.arange(nk)),
            "customer_id": cust(k["customer"]),
            "created_at": _ts(k["at_us"]),
            "channel": rng.choice(
                np.array(["agent", "store", "web"], dtype=object), nk, p=[0.7, 0.2, 0.1]
            ),
            "category": np.where(
                k["is_harassment"], "marketing_harassment", rng.choice(COMPLAINT_CATEGORIES, nk)
            ).astype(object),
            "resolved_at": pa.array(
                (k["at_us"] + (rng.exponential(2, nk) * 86_400e6).astype(np.int64)).astype(
                    "datetime64[us]"
                ),
                pa.timestamp("us"),
                mask=~resolved,
            ),
        },
    )
    r = chunk.orders
    nr = len(r["customer"])
    tables["orders"] = _table(
        "orders",
        {
            "order_id": ids("O", c, first.get("orders", 0) + np.arange(nr)),
            "customer_id": cust(r["customer"]),
            "ordered_at": _ts(r["at_us"]),
            "action": np.where(rng.random(nr) < 0.8, "subscribe", "unsubscribe").astype(object),
            "product_id": rng.choice(PRODUCTS, nr),
            "channel": channel_names[r["channel"]],
        },
    )
    s = chunk.surveys
    ns = len(s["customer"])
    text = np.array(
        [_reply(sat, draw) for sat, draw in zip(s["satisfaction"], s["text_draw"], strict=True)],
        dtype=object,
    )
    survey_contact = np.where(s["kind"] == 1, "KO", np.where(s["kind"] == 0, "KA", "KI")).astype(
        object
    )
    contact_ref = pc.binary_join_element_wise(
        pa.array(survey_contact, pa.string()),
        pc.utf8_lpad(
            pa.array(s["ref"] + np.where(s["kind"] == 1, contact_0, call_0), pa.int64()).cast(
                pa.string()
            ),
            8,
            "0",
        ),
        "",
    )
    contact_ref = pc.binary_join_element_wise(
        pc.utf8_slice_codeunits(contact_ref, 0, 2),
        f"{c:05d}",
        pc.utf8_slice_codeunits(contact_ref, 2),
        "",
    )
    tables["surveys"] = _table(
        "surveys",
        {
            "survey_id": ids("S", c, first.get("surveys", 0) + np.arange(ns)),
            "customer_id": cust(s["customer"]),
            "contact_id": contact_ref,
            "survey_channel": np.where(s["is_sms"], "sms", "ivr").astype(object),
            "sent_at": _ts(s["sent_us"]),
            "replied_at": pa.array(
                s["replied_us"].astype("datetime64[us]"), pa.timestamp("us"), mask=~s["replied"]
            ),
            "reply_text": pa.array(text, pa.string(), mask=~s["replied"]),
        },
    )
    f = chunk.offers
    nf = len(f["customer"])
    accepted = rng.random(nf) < params.campaigns.accept_rate
    response = np.where(
        accepted,
        "accepted",
        rng.choice(
            np.array(["declined", "no_response", "no_response", "opted_out"], dtype=object), nf
        ),
    ).astype(object)
    responded = response != "no_response"
    start = np.datetime64(params.start_month, "M")
    tables["campaign_responses"] = _table(
        "campaign_responses",
        {
            "work_order_id": ids("W", c, first.get("offers", 0) + np.arange(nf)),
            "campaign_id": np.array(
                [f"cmp_{start + int(m)}_data".replace("-", "") for m in f["month"]], dtype=object
            ),
            "customer_id": cust(f["customer"]),
            "channel": np.full(nf, "sms", dtype=object),
            "sent_at": _ts(f["at_us"]),
            "response": response,
            "responded_at": pa.array(
                (
                    f["at_us"]
                    + (rng.exponential(6, nf) * 3_600e6).astype(np.int64) // 1_000_000 * 1_000_000
                ).astype("datetime64[us]"),
                pa.timestamp("us"),
                mask=~responded,
            ),
        },
    )
    return tables


def _reply(satisfaction: int, draw: float) -> str:
    if draw < 0.05:
        return ""  # a blank reply is still a reply
    options = REPLIES[int(satisfaction)]
    return options[int((draw - 0.05) / 0.95 * len(options)) % len(options)]


def is_satisfied(satisfaction: np.ndarray) -> np.ndarray:
    return satisfaction == SATISFIED


__all__ = ["OUTCOME_RESOLVED", "chunk_tables"]
