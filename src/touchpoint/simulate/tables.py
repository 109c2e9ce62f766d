"""A generated chunk as Arrow tables that follow the data contract."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from touchpoint.contract import ENTITIES, arrow_schema
from touchpoint.errors import ConfigError
from touchpoint.simulate import keyed_random as kr
from touchpoint.simulate.chunk import Chunk
from touchpoint.simulate.hotline import OUTCOME_RESOLVED
from touchpoint.simulate.ivr_walk import EVENT_TYPES
from touchpoint.simulate.keyed_random import Site
from touchpoint.simulate.menu import Menu
from touchpoint.simulate.params import SimParams
from touchpoint.simulate.population import TIERS
from touchpoint.simulate.rows import ordinals
from touchpoint.simulate.surveys import SATISFIED

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


SIMULATED_ENTITIES: tuple[str, ...] = tuple(n for n in ENTITIES if n != "call_records")
"""The entities the simulator writes: all but ``call_records`` (its hotline has no queue
abandonment to export; call detail records come from an operator's switch, through an ingest
profile)."""

MAX_MONTHS = 100  # months of a world that ids can tell apart
MAX_PER_MONTH = 1000  # rows of one kind per customer and month that ids can tell apart


def id_numbers(customer: np.ndarray, month: np.ndarray) -> np.ndarray:
    """``<customer, 8 digits><month, 2 digits><ordinal, 3 digits>`` as a number: the ordinal
    is the row's rank among the same customer's rows of the month (rows are in customer and
    time order), so an id does not depend on how customers are split into chunks."""
    ordinal = ordinals(customer, month)
    if len(ordinal) and (ordinal.max() >= MAX_PER_MONTH or month.max() >= MAX_MONTHS):
        raise ConfigError(
            f"a customer has {ordinal.max() + 1} rows of one kind in a month (ids allow "
            f"{MAX_PER_MONTH}) or the world is {month.max() + 1} months long (ids allow "
            f"{MAX_MONTHS}); lower the rates in the parameters or simulate fewer months"
        )
    return (customer * MAX_MONTHS + month) * MAX_PER_MONTH + ordinal


def ids(prefix: str, numbers: np.ndarray) -> pa.Array:
    """``<prefix><number, 13 digits>`` (see :func:`id_numbers`): unique across the world."""
    digits = pc.utf8_lpad(pa.array(numbers, pa.int64()).cast(pa.string()), 13, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


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


@dataclass
class _Names:
    """A chunk's codes as the names the files carry, and its customers' ids."""

    regions: np.ndarray
    brands: np.ndarray
    businesses: np.ndarray
    channels: np.ndarray
    customer_ids: pa.Array

    @classmethod
    def of(cls, chunk: Chunk, params: SimParams, channels: list[str]) -> _Names:
        return cls(
            regions=np.array(list(params.population.regions), dtype=object),
            brands=np.array(list(params.population.brands), dtype=object),
            businesses=np.array(list(params.contacts.needs_per_month), dtype=object),
            channels=np.array(channels, dtype=object),
            customer_ids=pc.binary_join_element_wise(
                "C", pc.utf8_lpad(pa.array(chunk.population.index).cast(pa.string()), 8, "0"), ""
            ),
        )

    def customer(self, local: np.ndarray) -> pa.Array:
        """The ids of the chunk's customers at positions ``local``."""
        return self.customer_ids.take(pa.array(local, pa.int64()))


def _draw(keys: np.ndarray, site: Site) -> np.ndarray:
    """A cosmetic field's draw: keyed by its row's key too."""
    return kr.uniform(kr.fold(keys, site))


def chunk_tables(
    chunk: Chunk, params: SimParams, menu: Menu, channels: list[str]
) -> dict[str, pa.Table]:
    """A chunk's rows as one Arrow table per entity of the data contract.

    Ids come from each row's customer, month and rank in the month (:func:`id_numbers`), so
    a survey can name the contact it asks about by the same number.
    """
    names = _Names.of(chunk, params, channels)
    call_numbers = id_numbers(chunk.population.index[chunk.calls.customer], chunk.calls.month)
    contact_numbers = id_numbers(
        chunk.population.index[chunk.contacts["customer"]], chunk.contacts["month"]
    )
    return {
        "customers": _customers(chunk, names),
        "contacts": _contacts(chunk, names, channels, call_numbers, contact_numbers),
        "ivr_events": _ivr_events(chunk, names, menu, call_numbers),
        "payments": _payments(chunk, names),
        "bills": _bills(chunk, names),
        "complaints": _complaints(chunk, names),
        "orders": _orders(chunk, names),
        "surveys": _surveys(chunk, names, call_numbers, contact_numbers),
        "campaign_responses": _campaign_responses(chunk, names, params),
    }


def _customers(chunk: Chunk, names: _Names) -> pa.Table:
    pop = chunk.population
    left = chunk.leave_us != np.iinfo(np.int64).max
    return _table(
        "customers",
        {
            "customer_id": names.customer_ids,
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
            "brand": names.brands[pop.brand],
            "value_tier": np.array(TIERS, dtype=object)[pop.tier],
            "region": names.regions[pop.region],
            "plan_id": np.array(["P18", "P38", "P58", "P88", "P128", "P188", "P288"], dtype=object)[
                np.clip(np.searchsorted([25, 45, 70, 100, 150, 220], pop.arpu_yuan), 0, 6)
            ],
            "birth_year": pop.birth_year,
            "gender": np.where(pop.is_female, "F", "M").astype(object),
            "is_group_key_person": pop.is_group_key_person,
            "is_family_plan": pop.is_family_plan,
            "status": np.where(left, "left", "active").astype(object),
            "leave_date": pa.array(
                np.where(left, chunk.leave_us, 0).astype("datetime64[us]").astype("datetime64[D]"),
                mask=~left,
            ),
        },
    )


def _contacts(
    chunk: Chunk,
    names: _Names,
    channels: list[str],
    call_numbers: np.ndarray,
    contact_numbers: np.ndarray,
) -> pa.Table:
    """A hotline call's IVR row and, when transferred, its agent row; the other contacts."""
    pop, calls, o = chunk.population, chunk.calls, chunk.contacts
    n_calls = len(calls.customer)
    call_ids = ids("H", call_numbers)
    t = np.flatnonzero(calls.is_transferred)
    is_store = np.isin(
        o["channel"], [channels.index(x) for x in ("store", "partner_store", "kiosk")]
    )
    contact_parts = [
        dict(
            contact_id=ids("KI", call_numbers),
            customer=calls.customer,
            start=calls.start_us,
            end=calls.ivr_end_us,
            channel=np.full(n_calls, "ivr", dtype=object),
            business=names.businesses[calls.business],
            outcome=OUTCOMES[calls.ivr_outcome],
            agent_id=pa.nulls(n_calls, pa.string()),
            store_id=pa.nulls(n_calls, pa.string()),
            call_id=call_ids,
        ),
        dict(
            contact_id=ids("KA", call_numbers[t]),
            customer=calls.customer[t],
            start=calls.agent_start_us[t],
            end=calls.agent_end_us[t],
            channel=np.full(len(t), "agent", dtype=object),
            business=names.businesses[calls.business[t]],
            outcome=np.where(calls.agent_resolved[t], "resolved", "unresolved").astype(object),
            agent_id=pc.binary_join_element_wise(
                "A",
                pa.array(kr.integers(kr.fold(calls.key[t], Site.AGENT_ID), 1000, 1600)).cast(
                    pa.string()
                ),
                "",
            ),
            store_id=pa.nulls(len(t), pa.string()),
            call_id=call_ids.take(pa.array(t, pa.int64())),
        ),
        dict(
            contact_id=ids("KO", contact_numbers),
            customer=o["customer"],
            start=o["start_us"],
            end=o["end_us"],
            channel=names.channels[o["channel"]],
            business=names.businesses[o["business"]],
            outcome=OUTCOMES[o["outcome"]],
            agent_id=pa.nulls(len(o["customer"]), pa.string()),
            store_id=pa.array(
                np.char.add(
                    names.regions[pop.region[o["customer"]]].astype(str),
                    kr.integers(kr.fold(o["key"], Site.STORE_ID), 1, 30).astype(str),
                ).astype(object),
                mask=~is_store,
            ),
            call_id=pa.nulls(len(o["customer"]), pa.string()),
        ),
    ]
    # In customer and time order (a call's IVR row before its agent row).
    contact_order = np.lexsort(
        (
            np.concatenate([calls.key, calls.key[t], o["key"]]),
            np.concatenate([np.zeros(n_calls), np.ones(len(t)), np.full(len(o["key"]), 2)]),
            np.concatenate([calls.start_us, calls.agent_start_us[t], o["start_us"]]),
            np.concatenate([calls.customer, calls.customer[t], o["customer"]]),
        )
    )
    return pa.concat_tables(
        _table(
            "contacts",
            {
                "contact_id": p["contact_id"],
                "customer_id": names.customer(p["customer"]),
                "started_at": _ts(p["start"]),
                "ended_at": _ts(p["end"]),
                "channel": p["channel"],
                "business": p["business"],
                "outcome": p["outcome"],
                "region": names.regions[pop.region[p["customer"]]],
                "agent_id": p["agent_id"],
                "store_id": p["store_id"],
                "call_id": p["call_id"],
            },
        )
        for p in contact_parts
    ).take(pa.array(contact_order, pa.int64()))


def _ivr_events(chunk: Chunk, names: _Names, menu: Menu, call_numbers: np.ndarray) -> pa.Table:
    calls = chunk.calls
    keys = calls.event_key
    return _table(
        "ivr_events",
        {
            "call_id": ids("H", call_numbers).take(pa.array(calls.event_call, pa.int64())),
            "seq": calls.event_seq,
            "customer_id": names.customer(calls.customer[calls.event_call]),
            "event_at": _ts(calls.event_us),
            "node_id": menu.ids[calls.event_node],
            "event_type": np.array(EVENT_TYPES, dtype=object)[calls.event_type],
            "key": pa.array(keys, pa.string(), mask=keys == ""),
        },
    )


def _payments(chunk: Chunk, names: _Names) -> pa.Table:
    p = chunk.payments
    return _table(
        "payments",
        {
            "payment_id": ids("P", id_numbers(chunk.population.index[p["customer"]], p["month"])),
            "customer_id": names.customer(p["customer"]),
            "paid_at": _ts(p["at_us"]),
            "channel": names.channels[p["channel"]],
            "amount_yuan": np.maximum(p["amount"], 10.0),
        },
    )


def _bills(chunk: Chunk, names: _Names) -> pa.Table:
    b = chunk.bills
    return _table(
        "bills",
        {
            "customer_id": names.customer(b["customer"]),
            "bill_month": b["month_us"].astype("datetime64[us]").astype("datetime64[D]"),
            "arpu_yuan": b["arpu"],
            "voice_minutes": b["voice"],
            "data_mb": b["data"],
            "sms_count": b["sms"],
            "points": b["points"],
            "arrears_yuan": b["arrears"],
        },
    )


def _complaints(chunk: Chunk, names: _Names) -> pa.Table:
    k = chunk.complaints
    resolved = _draw(k["key"], Site.COMPLAINT_RESOLVED) < 0.9
    return _table(
        "complaints",
        {
            "complaint_id": ids("Q", id_numbers(chunk.population.index[k["customer"]], k["month"])),
            "customer_id": names.customer(k["customer"]),
            "created_at": _ts(k["at_us"]),
            "channel": np.array(["agent", "store", "web"], dtype=object)[
                kr.choice(kr.fold(k["key"], Site.COMPLAINT_CHANNEL), [0.7, 0.2, 0.1])
            ],
            "category": np.where(
                k["is_harassment"],
                "marketing_harassment",
                COMPLAINT_CATEGORIES[
                    kr.integers(
                        kr.fold(k["key"], Site.COMPLAINT_CATEGORY), 0, len(COMPLAINT_CATEGORIES)
                    )
                ],
            ).astype(object),
            "resolved_at": pa.array(
                (
                    k["at_us"]
                    + (
                        kr.exponential(kr.fold(k["key"], Site.COMPLAINT_DELAY), 2) * 86_400e6
                    ).astype(np.int64)
                ).astype("datetime64[us]"),
                pa.timestamp("us"),
                mask=~resolved,
            ),
        },
    )


def _orders(chunk: Chunk, names: _Names) -> pa.Table:
    r = chunk.orders
    return _table(
        "orders",
        {
            "order_id": ids("O", id_numbers(chunk.population.index[r["customer"]], r["month"])),
            "customer_id": names.customer(r["customer"]),
            "ordered_at": _ts(r["at_us"]),
            "action": np.where(
                _draw(r["key"], Site.ORDER_ACTION) < 0.8, "subscribe", "unsubscribe"
            ).astype(object),
            "product_id": PRODUCTS[kr.integers(kr.fold(r["key"], Site.PRODUCT), 0, len(PRODUCTS))],
            "channel": names.channels[r["channel"]],
        },
    )


def _surveys(
    chunk: Chunk, names: _Names, call_numbers: np.ndarray, contact_numbers: np.ndarray
) -> pa.Table:
    """Surveys, each naming the contact it asks about (an agent, other or IVR contact id)."""
    s = chunk.surveys
    n_calls = len(chunk.calls.customer)
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
            pa.array(
                np.where(
                    s["kind"] == 1,
                    contact_numbers[np.where(s["kind"] == 1, s["ref"], 0)]
                    if len(contact_numbers)
                    else 0,
                    call_numbers[np.where(s["kind"] != 1, s["ref"], 0)] if n_calls else 0,
                ),
                pa.int64(),
            ).cast(pa.string()),
            13,
            "0",
        ),
        "",
    )
    return _table(
        "surveys",
        {
            "survey_id": ids("S", id_numbers(chunk.population.index[s["customer"]], s["month"])),
            "customer_id": names.customer(s["customer"]),
            "contact_id": contact_ref,
            "survey_channel": np.where(s["is_sms"], "sms", "ivr").astype(object),
            "sent_at": _ts(s["sent_us"]),
            "replied_at": pa.array(
                s["replied_us"].astype("datetime64[us]"), pa.timestamp("us"), mask=~s["replied"]
            ),
            "reply_text": pa.array(text, pa.string(), mask=~s["replied"]),
            # The simulator's three strategies (docs/simulator.md).
            "strategy_id": np.where(
                s["kind"] == 0,
                "sms_after_agent",
                np.where(s["kind"] == 1, "sms_after_store", "ivr_after_call"),
            ).astype(object),
        },
    )


def _campaign_responses(chunk: Chunk, names: _Names, params: SimParams) -> pa.Table:
    """Responses to the month's marketing offers (SMS)."""
    f = chunk.offers
    nf = len(f["customer"])
    accepted = _draw(f["key"], Site.OFFER_ACCEPTED) < params.campaigns.accept_rate
    response = np.where(
        accepted,
        "accepted",
        np.array(["declined", "no_response", "no_response", "opted_out"], dtype=object)[
            kr.integers(kr.fold(f["key"], Site.OFFER_RESPONSE), 0, 4)
        ],
    ).astype(object)
    responded = response != "no_response"
    start = np.datetime64(params.start_month, "M")
    return _table(
        "campaign_responses",
        {
            "work_order_id": ids(
                "W", id_numbers(chunk.population.index[f["customer"]], f["month"])
            ),
            "campaign_id": np.array(
                [f"cmp_{start + int(m)}_data".replace("-", "") for m in f["month"]], dtype=object
            ),
            "customer_id": names.customer(f["customer"]),
            "channel": np.full(nf, "sms", dtype=object),
            "sent_at": _ts(f["at_us"]),
            "response": response,
            "responded_at": pa.array(
                (
                    f["at_us"]
                    + (kr.exponential(kr.fold(f["key"], Site.OFFER_DELAY), 6) * 3_600e6).astype(
                        np.int64
                    )
                    // 1_000_000
                    * 1_000_000
                ).astype("datetime64[us]"),
                pa.timestamp("us"),
                mask=~responded,
            ),
        },
    )


def _reply(satisfaction: int, draw: float) -> str:
    if draw < 0.05:
        return ""  # a blank reply is still a reply
    options = REPLIES[int(satisfaction)]
    return options[int((draw - 0.05) / 0.95 * len(options)) % len(options)]


def is_satisfied(satisfaction: np.ndarray) -> np.ndarray:
    return satisfaction == SATISFIED


__all__ = ["OUTCOME_RESOLVED", "chunk_tables"]
