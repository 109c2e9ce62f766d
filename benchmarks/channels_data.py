"""Synthetic contacts-like data for the channel benchmark, generated quickly with numpy.

Not the simulator (no planted truths): it only has to look like an operator's data in volume
and shape, so the benchmark measures realistic joins and aggregations. Per customer and month:
about 1.5 hotline calls (sessions of a call and its redials, a fifth transferred to an agent,
more on redials), 4–5 IVR events per call and about one contact in another channel. The
tables follow ``touchpoint.contract`` (stored schema).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from touchpoint.contract import ENTITIES, arrow_schema

START = np.datetime64("2024-01-01T00:00:00", "us")
REGIONS = [f"city_{i:02d}" for i in range(10)]
REGION_P = np.array([0.2, 0.15, 0.12, 0.1, 0.1, 0.09, 0.08, 0.06, 0.05, 0.05])
BUSINESSES = ["payment", "bill_query", "data_package", "plan_change", "fault_report",
              "complaint", "new_business", "other"]  # fmt: skip
BUSINESS_P = np.array([0.22, 0.3, 0.15, 0.1, 0.08, 0.04, 0.06, 0.05])
OTHER_CHANNELS = ["web", "app", "sms", "store", "partner_store", "kiosk", "wap", "mobile_pay"]
OTHER_P = np.array([0.2, 0.25, 0.2, 0.12, 0.05, 0.08, 0.03, 0.07])
ENDINGS = ["transfer_agent", "self_service_complete", "hang_up", "timeout"]
FIRST_CALL_ENDING_P = np.array([0.17, 0.58, 0.2, 0.05])
REDIAL_ENDING_P = np.array([0.45, 0.35, 0.15, 0.05])
IVR_OUTCOME = {"transfer_agent": "transferred", "self_service_complete": "resolved",
               "hang_up": "abandoned", "timeout": "abandoned"}  # fmt: skip
#: Bumped whenever the generated data changes, so cached copies are made again.
DATA_VERSION = "2: back keys"
BACK_KEY_SHARE = 0.08
NODES = [f"n{depth}_{key}" for depth in range(1, 5) for key in range(1, 10)]


def _ids(prefix: str, n: int, offset: int = 0) -> pa.Array:
    numbers = pa.array(np.arange(offset, offset + n, dtype=np.int64)).cast(pa.string())
    return pc.binary_join_element_wise(prefix, numbers, "")


def _from_codes(values: list[str], codes: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    """Strings from integer codes without building a numpy string array (cheap for 10^8 rows)."""
    indices = pa.array(codes.astype(np.int32), mask=null)
    return pa.DictionaryArray.from_arrays(indices, pa.array(values)).cast(pa.string())


def _pick(rng: np.random.Generator, values: list[str], p: np.ndarray, n: int) -> pa.Array:
    return _from_codes(values, rng.choice(len(values), size=n, p=p / p.sum()))


def _seconds(values: np.ndarray) -> np.ndarray:
    return (values * 1_000_000).astype("timedelta64[us]")


def _conform(entity: str, columns: dict[str, pa.Array | np.ndarray]) -> pa.Table:
    schema = arrow_schema(ENTITIES[entity])
    n = len(next(iter(columns.values())))
    arrays = [
        pa.array(columns[f.name], type=f.type) if f.name in columns else pa.nulls(n, f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(arrays, schema=schema)


def generate(n_customers: int, months: int = 6, seed: int = 7) -> dict[str, pa.Table]:
    """Customers, contacts and IVR events for ``n_customers`` over ``months`` 30-day months.

    Returns
    -------
    dict
        ``{"customers": ..., "contacts": ..., "ivr_events": ...}`` Arrow tables in the stored
        schema of the contract (one row per customer / contact / IVR step).
    """
    rng = np.random.default_rng(seed)
    days = 30 * months
    customer_ids = _ids("u", n_customers)
    region_codes = rng.choice(len(REGIONS), size=n_customers, p=REGION_P)
    customers = _conform(
        "customers",
        {
            "customer_id": customer_ids,
            "join_date": (np.datetime64("2015-01-01") + rng.integers(0, 3000, n_customers)),
            "brand": _pick(
                rng, ["gotone", "mzone", "easyown"], np.array([0.3, 0.3, 0.4]), n_customers
            ),
            "value_tier": _pick(
                rng,
                ["diamond", "gold", "silver", "regular"],
                np.array([0.02, 0.06, 0.12, 0.8]),
                n_customers,
            ),  # fmt: skip
            "region": _from_codes(REGIONS, region_codes),
            "status": _from_codes(["active"], np.zeros(n_customers)),
        },
    )

    # Hotline sessions: a first call and its redials about the same business.
    rate = rng.gamma(0.8, 1.1 / 0.8, n_customers) * months
    sessions_per_customer = rng.poisson(rate)
    session_customer = np.repeat(np.arange(n_customers), sessions_per_customer)
    n_sessions = len(session_customer)
    hours = np.clip(rng.normal(14, 3.5, n_sessions), 7, 22.5)
    session_start = rng.integers(0, days, n_sessions) * 86400.0 + hours * 3600
    session_business = rng.choice(len(BUSINESSES), size=n_sessions, p=BUSINESS_P)
    redials = (rng.random(n_sessions) < 0.3).astype(int) + (rng.random(n_sessions) < 0.1)
    calls_per_session = 1 + redials
    call_session = np.repeat(np.arange(n_sessions), calls_per_session)
    first_of_session = np.r_[True, call_session[1:] != call_session[:-1]]
    position = np.arange(len(call_session)) - np.flatnonzero(first_of_session).repeat(
        calls_per_session
    )
    n_calls = len(call_session)
    gaps = (15 * 60 + rng.exponential(40 * 60, n_calls)) * position
    call_start = session_start[call_session] + gaps
    call_customer = session_customer[call_session]
    call_business = session_business[call_session]
    ending = np.where(
        position == 0,
        rng.choice(4, size=n_calls, p=FIRST_CALL_ENDING_P),
        rng.choice(4, size=n_calls, p=REDIAL_ENDING_P),
    )
    n_steps = 2 + rng.poisson(2.5, n_calls)
    step_seconds = rng.gamma(4, 7.8 / 4, n_steps.sum())
    event_call = np.repeat(np.arange(n_calls), n_steps)
    call_first_event = np.r_[0, np.cumsum(n_steps)[:-1]]
    elapsed = np.cumsum(step_seconds) - np.repeat(
        np.cumsum(step_seconds)[call_first_event] - step_seconds[call_first_event], n_steps
    )
    seq = np.arange(len(event_call)) - np.repeat(call_first_event, n_steps) + 1
    ivr_seconds = elapsed[np.cumsum(n_steps) - 1]
    call_end = call_start + ivr_seconds

    is_last = seq == np.repeat(n_steps, n_steps)
    middle_type = np.where(seq % 2 == 0, 2, 1)  # prompt / key
    event_type_code = np.where(
        seq == 1, 0, np.where(is_last, 3 + np.repeat(ending, n_steps), middle_type)
    )
    event_types = ["call_start", "prompt", "key", *ENDINGS]
    node_codes = np.where(seq == 1, len(NODES), rng.integers(0, len(NODES), len(event_call)))
    # About one key press in twelve is the back key, so back-tracks and wrong turns occur.
    key_codes = np.where(rng.random(len(event_call)) < BACK_KEY_SHARE, 9, node_codes % 9)
    call_ids = _ids("c", n_calls)
    events = _conform(
        "ivr_events",
        {
            "call_id": call_ids.take(pa.array(event_call)),
            "seq": seq.astype(np.int64),
            "customer_id": customer_ids.take(pa.array(call_customer[event_call])),
            "event_at": START + _seconds(call_start[event_call] + elapsed - step_seconds),
            "node_id": _from_codes([*NODES, "root"], node_codes),
            "event_type": _from_codes(event_types, event_type_code),
            "key": _from_codes(
                [*(str(k) for k in range(1, 10)), "*"], key_codes, event_type_code != 2
            ),
        },
    )

    # Agent legs of transferred calls, sharing the call id.
    transferred = np.flatnonzero(ending == 0)
    agent_start = call_end[transferred] + rng.exponential(60, len(transferred))
    agent_end = agent_start + rng.gamma(3, 100, len(transferred))

    # Other channels: about one contact per customer and month, plus follow-ups of sessions.
    other_per_customer = rng.poisson(1.0 * months, n_customers)
    other_customer = np.repeat(np.arange(n_customers), other_per_customer)
    other_start = (
        rng.integers(0, days, len(other_customer)) * 86400.0
        + np.clip(rng.normal(13, 4, len(other_customer)), 0, 23.9) * 3600
    )
    other_business = rng.choice(len(BUSINESSES), size=len(other_customer), p=BUSINESS_P)
    follow = np.flatnonzero(rng.random(n_sessions) < 0.1)
    other_customer = np.r_[other_customer, session_customer[follow]]
    other_start = np.r_[
        other_start, session_start[follow] + 3600 + rng.exponential(6 * 3600, len(follow))
    ]
    other_business = np.r_[other_business, session_business[follow]]
    n_other = len(other_customer)
    other_end = other_start + rng.gamma(2, 150, n_other)

    ivr_n, agent_n = n_calls, len(transferred)
    customer_index = np.r_[call_customer, call_customer[transferred], other_customer]
    started = np.r_[call_start, agent_start, other_start]
    ended = np.r_[call_end, agent_end, other_end]
    channels = ["ivr", "agent", *OTHER_CHANNELS]
    channel_codes = np.r_[
        np.zeros(ivr_n, int), np.ones(agent_n, int),
        2 + rng.choice(len(OTHER_CHANNELS), size=n_other, p=OTHER_P),
    ]  # fmt: skip
    business = np.r_[call_business, call_business[transferred], other_business]
    outcomes = ["resolved", "unresolved", "transferred", "abandoned"]
    ivr_outcome = np.array([outcomes.index(IVR_OUTCOME[e]) for e in ENDINGS])[ending]
    other_outcome = (rng.random(agent_n + n_other) >= 0.8).astype(int)
    n_contacts = ivr_n + agent_n + n_other
    contacts = _conform(
        "contacts",
        {
            "contact_id": _ids("k", n_contacts),
            "customer_id": customer_ids.take(pa.array(customer_index)),
            "started_at": START + _seconds(started),
            "ended_at": START + _seconds(ended),
            "channel": _from_codes(channels, channel_codes),
            "business": _from_codes(BUSINESSES, business),
            "outcome": _from_codes(outcomes, np.r_[ivr_outcome, other_outcome]),
            "region": _from_codes(REGIONS, region_codes[customer_index]),
            "call_id": pa.concat_arrays(
                [call_ids, call_ids.take(pa.array(transferred)), pa.nulls(n_other, pa.string())]
            ),
        },
    )
    return {"customers": customers, "contacts": contacts, "ivr_events": events}


def write(out_dir: Path, n_customers: int, months: int = 6, seed: int = 7) -> Path:
    """Generate once and cache ``<entity>.parquet`` files under ``out_dir``."""
    done = out_dir / "_complete"
    if not done.exists() or done.read_text() != DATA_VERSION:
        out_dir.mkdir(parents=True, exist_ok=True)
        for stale in out_dir.glob("warehouse.*"):  # a warehouse loaded from older data
            shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
        for name, table in generate(n_customers, months, seed).items():
            pq.write_table(table, out_dir / f"{name}.parquet")
        done.write_text(DATA_VERSION)
    return out_dir
