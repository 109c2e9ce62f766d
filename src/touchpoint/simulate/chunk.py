"""One chunk of customers, month by month: the events of every entity as NumPy arrays.

Every draw is keyed (:mod:`touchpoint.simulate.keyed_random`) by the world's seed, its draw
site and the identity of what it is about (customer, month, the ordinal of an event within
its customer-month, a call's redial and IVR step...), never by a position in a chunk, and
rows come out ordered by customer: the world is the same whatever the chunk size. Everything
a chunk needs to go on (latent traits and habits, churn) is a :class:`ChunkState`, which
:func:`save_state` writes so that a world can be continued (in chunks of any size).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from touchpoint.errors import ConfigError
from touchpoint.simulate import keyed_random as kr
from touchpoint.simulate.billing import bills, move_arpu_and_points, payments
from touchpoint.simulate.churn import CHURN_REASONS, churn
from touchpoint.simulate.contacts import HOTLINE, had_business, had_unresolved, month_contacts
from touchpoint.simulate.customer_events import complaints, offers, orders
from touchpoint.simulate.habits import drift_preferences
from touchpoint.simulate.hotline import Calls
from touchpoint.simulate.keyed_random import Site
from touchpoint.simulate.menu import Menu
from touchpoint.simulate.params import SimParams
from touchpoint.simulate.population import (
    Population,
    baselines,
    draw_population,
    month_bounds,
)
from touchpoint.simulate.rows import concat_rows, ordinals, sorted_rows
from touchpoint.simulate.surveys import SATISFIED, surveys
from touchpoint.simulate.timing import day_weights
from touchpoint.simulate.work_orders import (
    ACTIONS,
    RESPONSES,
    Plan,
    Treatments,
    plan_work_orders,
)

NEVER = np.iinfo(np.int64).max
STORES = ("store", "partner_store")


@dataclass
class Chunk:
    number: int
    population: Population
    leave_us: np.ndarray
    churn_month: np.ndarray
    churn_reason: np.ndarray
    calls: Calls
    contacts: dict[str, np.ndarray]  # non-hotline contacts
    payments: dict[str, np.ndarray]
    bills: dict[str, np.ndarray]
    complaints: dict[str, np.ndarray]
    orders: dict[str, np.ndarray]
    surveys: dict[str, np.ndarray]
    offers: dict[str, np.ndarray]
    in_network_at_month_start: np.ndarray  # per month
    left_in_month: np.ndarray  # per month
    mean_preferences: np.ndarray = field(default=None)  # [customer, business, channel]
    mean_payment_preferences: np.ndarray = field(default=None)  # [customer, payment channel]
    work_orders: dict[str, np.ndarray] = field(default_factory=dict)  # responses and effects
    holdout_orders: dict[str, np.ndarray] = field(default_factory=dict)  # would-be effects


@dataclass
class ChunkState:
    """What a chunk of customers carries from one month to the next."""

    number: int
    seed: int
    population: Population
    month: int  # the next month to simulate, counted from params.start_month
    leave_us: np.ndarray  # NEVER while in the network
    churn_month: np.ndarray  # -1 while in the network
    churn_reason: np.ndarray
    had_complaint: np.ndarray
    had_unresolved: np.ndarray
    had_fault: np.ndarray  # reported a fault last month (any channel)
    had_arrears: np.ndarray  # last month's bill was left partly unpaid
    arpu: np.ndarray
    points: np.ndarray
    recent_offers: np.ndarray  # marketing contacts, halved each month
    divert_payment: np.ndarray  # share of store payment weight moved to self service
    divert_agent: np.ndarray  # share of agent weight moved to self service


_STATE_ARRAYS = (
    "leave_us",
    "churn_month",
    "churn_reason",
    "had_complaint",
    "had_unresolved",
    "had_fault",
    "had_arrears",
    "arpu",
    "points",
    "recent_offers",
    "divert_payment",
    "divert_agent",
)
_DERIVED = ("baseline", "payment_baseline")  # recomputed from the segment


def save_state(state: ChunkState, path: Path) -> None:
    """Write a chunk's state (``.npz``); habits are kept as float32 to halve the file."""
    arrays = {f"state_{k}": getattr(state, k) for k in _STATE_ARRAYS}
    for key, value in state.population.__dict__.items():
        if key in _DERIVED:
            continue
        arrays[f"pop_{key}"] = (
            value.astype(np.float32) if value.dtype == np.float64 and value.ndim > 1 else value
        )
    meta = {"number": state.number, "month": state.month, "seed": state.seed}
    np.savez(path, meta=np.array(json.dumps(meta)), **arrays)


def load_state(
    path: Path, params: SimParams, businesses: list[str], channels: list[str]
) -> ChunkState:
    """A chunk's state as :func:`save_state` wrote it."""
    with np.load(path) as data:
        meta = json.loads(str(data["meta"]))
        pop = {
            k[4:]: (data[k].astype(np.float64) if data[k].dtype == np.float32 else data[k])
            for k in data.files
            if k.startswith("pop_")
        }
        missing = [k for k in _STATE_ARRAYS if f"state_{k}" not in data.files]
        state = {k: data[f"state_{k}"] for k in _STATE_ARRAYS if k not in missing}
    pop["baseline"], pop["payment_baseline"] = baselines(
        params, pop["segment"], businesses, channels
    )
    if "seed" not in meta or missing:
        raise ConfigError(
            f"{path}: saved by an older touchpoint (no {'seed' if 'seed' not in meta else missing[0]}"
            "); simulate the world again with this version to continue it"
        )
    return ChunkState(
        number=meta["number"],
        seed=meta["seed"],
        population=Population(**pop),
        month=meta["month"],
        **state,
    )


def split_state(state: ChunkState, size: int, number: int):
    """``state`` cut into states of ``size`` customers (the last may be short), numbered
    from ``number``."""
    n = len(state.population.index)
    for lo in range(0, n, size):
        yield _take(state, slice(lo, min(lo + size, n)), number)
        number += 1


def concat_states(states: list[ChunkState], number: int) -> ChunkState:
    """The customers of ``states`` (in order) as one state, at the same month."""
    first = states[0]
    if len(states) == 1:
        first.number = number
        return first
    if any(s.month != first.month for s in states):
        raise ConfigError("the saved chunks are at different months; simulate the world again")
    pop = {
        k: np.concatenate([s.population.__dict__[k] for s in states])
        for k in first.population.__dict__
    }
    arrays = {k: np.concatenate([getattr(s, k) for s in states]) for k in _STATE_ARRAYS}
    return ChunkState(
        number=number, seed=first.seed, population=Population(**pop), month=first.month, **arrays
    )


def _take(state: ChunkState, rows: slice, number: int) -> ChunkState:
    pop = {k: v[rows] for k, v in state.population.__dict__.items()}
    arrays = {k: getattr(state, k)[rows] for k in _STATE_ARRAYS}
    return ChunkState(
        number=number, seed=state.seed, population=Population(**pop), month=state.month, **arrays
    )


def new_state(
    params: SimParams,
    number: int,
    first: int,
    n: int,
    months: int,
    seed: int,
    businesses: list[str],
    channels: list[str],
    first_month: int = 0,
) -> ChunkState:
    """A fresh chunk of ``n`` customers (numbers from ``first``), before its first month; from
    ``first_month`` on, they are new subscribers joining a continued world."""
    pop = draw_population(
        params, seed, first, n, months, businesses, channels, first_month, all_new=first_month > 0
    )
    arpu = pop.arpu_yuan.copy()
    points = kr.uniform(
        kr.fold(kr.key(seed, Site.CUSTOMER, pop.index), Site.POINTS_START),
        *params.population.points_start,
    )
    return ChunkState(
        number=number,
        seed=seed,
        population=pop,
        month=first_month,
        leave_us=np.full(n, NEVER, dtype=np.int64),
        churn_month=np.full(n, -1),
        churn_reason=np.full(n, -1),
        had_complaint=np.zeros(n, dtype=bool),
        had_unresolved=np.zeros(n, dtype=bool),
        had_fault=np.zeros(n, dtype=bool),
        had_arrears=np.zeros(n, dtype=bool),
        arpu=arpu,
        points=(arpu * points).astype(np.int64),
        recent_offers=np.zeros(n),
        divert_payment=np.zeros(n),
        divert_agent=np.zeros(n),
    )


@dataclass
class Leg:
    """What every month of a chunk's leg reads: its customers and the parameters as arrays."""

    pop: Population
    n: int
    customer_keys: np.ndarray
    businesses: list[str]
    need_rates: np.ndarray  # per business
    seg_needs: np.ndarray  # per customer: the segment's need factor
    seg_churn: np.ndarray  # per customer: the segment's churn factor
    seg_digital: np.ndarray  # per customer: the segment's digital factor
    escalation: np.ndarray  # per customer: the region's escalation factor
    competitor: np.ndarray  # per customer: the region's competitor churn factor
    is_bill_business: np.ndarray  # per business
    hotline_idx: list[int]
    agent: int
    pay_channels: np.ndarray  # payment channel -> channel index
    pay_stores: np.ndarray  # the store payment channels (indexes of payment channels)
    offered: np.ndarray  # [customer, business, channel] channels in use

    @classmethod
    def of(cls, params: SimParams, state: ChunkState, channels: list[str]) -> Leg:
        pop = state.population
        businesses = list(params.contacts.needs_per_month)
        seg = list(params.segments.values())
        regions = list(params.population.regions.values())
        c_index = {c: i for i, c in enumerate(channels)}
        pay_names = list(params.payments.channel_weights)
        bill_businesses = [
            businesses.index(b) for b in ("bill_query", "payment") if b in businesses
        ]
        return cls(
            pop=pop,
            n=len(pop.index),
            customer_keys=kr.key(state.seed, Site.CUSTOMER, pop.index),
            businesses=businesses,
            need_rates=np.array(list(params.contacts.needs_per_month.values())),
            seg_needs=np.array([s.needs for s in seg])[pop.segment],
            seg_churn=np.array([s.churn for s in seg])[pop.segment],
            seg_digital=np.array([s.digital for s in seg])[pop.segment],
            escalation=np.array([r.escalation for r in regions])[pop.region],
            competitor=np.array([r.competitor for r in regions])[pop.region],
            is_bill_business=np.isin(np.arange(len(businesses)), bill_businesses),
            hotline_idx=[c_index[c] for c in HOTLINE],
            agent=c_index["agent"],
            pay_channels=np.array([c_index[c] for c in pay_names]),
            pay_stores=np.array([pay_names.index(c) for c in STORES if c in pay_names]),
            offered=pop.baseline > 0,
        )


@dataclass
class Month:
    """One month of a leg, after churn: who is in the network when."""

    number: int  # counted from params.start_month
    start: int  # first instant (microseconds)
    end: int  # first instant of the next month
    weights: tuple[np.ndarray, np.ndarray]  # day weights (ordinary, bill cycle)
    key: np.ndarray  # per customer: this customer-month's random key
    lo: np.ndarray  # per customer: in the network from (joined, or the month's start)
    hi: np.ndarray  # ... until (left, or the month's end)
    alive: np.ndarray  # in the network some time this month


def run_months(
    params: SimParams,
    menu: Menu,
    state: ChunkState,
    months: int,
    channels: list[str],
    plan: Plan | None = None,
) -> Chunk:
    """Simulate ``months`` more months of a chunk, updating ``state``; ``plan`` holds work
    orders whose planted effects apply from their month on (a continued world).

    Each month, in order: churn (from last month's experience), habits drift and work orders
    move them, needs become hotline calls and other contacts, then payments, ARPU and points,
    bills, complaints, orders and marketing offers. Every draw is keyed, so the order only
    matters where one process reads what another wrote.
    """
    leg = Leg.of(params, state, channels)
    pop, n = leg.pop, leg.n
    treatments = Treatments(params, plan or Plan.empty(), state, channels)
    first_month = state.month
    bounds = month_bounds(params.start_month, first_month + months)[first_month:]
    in_network, left = np.zeros(months, dtype=np.int64), np.zeros(months, dtype=np.int64)
    pref_sum = np.zeros_like(pop.preferences)
    pay_sum = np.zeros_like(pop.payment_preferences)
    parts: dict[str, list] = {
        k: [] for k in ("calls", "contacts", "payments", "bills", "complaints", "orders", "offers")
    }
    for i in range(months):
        m, start, end = first_month + i, bounds[i], bounds[i + 1]
        cm = kr.fold(leg.customer_keys, m)  # this customer-month's key
        in_network[i], left[i] = churn(params, leg, state, treatments, m, start, end, cm)
        lo, hi = np.maximum(pop.join_us, start), np.minimum(state.leave_us, end)
        month = Month(m, start, end, day_weights(params.timing, start, end), cm, lo, hi, lo < hi)

        drift_preferences(params, pop, cm, leg.offered)
        treatments.move_habits(params, state, m)
        habits, payment_habits = treatments.habits(pop, state, leg.agent, leg.pay_stores)
        pref_sum += habits
        pay_sum += payment_habits
        treatments.add_expected(params, leg, month, state)

        calls, contacts = month_contacts(params, menu, leg, month, habits, channels)
        parts["calls"].append(calls)
        parts["contacts"].append(contacts)
        unresolved = had_unresolved(n, calls, contacts)
        state.had_unresolved = unresolved
        state.had_fault = had_business(n, leg.businesses, "fault_report", calls, contacts)

        parts["payments"].append(payments(params, leg, month, state.arpu, payment_habits))
        move_arpu_and_points(params, state, month)
        parts["bills"].append(bills(params, state, month))
        state.had_arrears = np.zeros(n, dtype=bool)
        state.had_arrears[parts["bills"][-1]["customer"]] = parts["bills"][-1]["arrears"] > 0
        complained = complaints(params, leg, month, unresolved, treatments.is_annoyed(m))
        parts["complaints"].append(complained)
        state.had_complaint = np.zeros(n, dtype=bool)
        state.had_complaint[complained["customer"]] = True
        parts["orders"].append(orders(params, leg, month))
        parts["offers"].append(offers(params, state, month))

    calls = _sorted_calls(parts["calls"])
    contacts = sorted_rows(concat_rows(parts["contacts"]), "customer", "start_us", "key")
    chunk = Chunk(
        number=state.number,
        population=pop,
        leave_us=state.leave_us,
        churn_month=state.churn_month,
        churn_reason=state.churn_reason,
        calls=calls,
        contacts=contacts,
        payments=sorted_rows(concat_rows(parts["payments"]), "customer", "at_us", "key"),
        bills=sorted_rows(concat_rows(parts["bills"]), "customer", "month_us"),
        complaints=sorted_rows(concat_rows(parts["complaints"]), "customer", "at_us", "key"),
        orders=sorted_rows(concat_rows(parts["orders"]), "customer", "at_us", "key"),
        surveys=sorted_rows(
            surveys(params, calls, contacts, channels), "customer", "sent_us", "key"
        ),
        offers=sorted_rows(concat_rows(parts["offers"]), "customer", "month"),
        in_network_at_month_start=in_network,
        left_in_month=left,
        mean_preferences=pref_sum / months,
        mean_payment_preferences=pay_sum / months,
        work_orders=treatments.outcomes(state),
        holdout_orders=treatments.holdout_outcomes(state),
    )
    state.month += months
    return chunk


def _sorted_calls(parts: list[Calls]) -> Calls:
    """The months' calls ordered by customer, start and key; events by call and step."""
    fields = Calls.__dataclass_fields__
    merged = {k: np.concatenate([getattr(c, k) for c in parts]) for k in fields}
    # Call numbers of later months continue after earlier months' calls.
    offsets = np.cumsum([0] + [len(c.customer) for c in parts[:-1]])
    merged["event_call"] = np.concatenate(
        [c.event_call + o for c, o in zip(parts, offsets, strict=True)]
    )
    order = np.lexsort((merged["key"], merged["start_us"], merged["customer"]))
    new_number = np.empty_like(order)
    new_number[order] = np.arange(len(order))
    merged["event_call"] = new_number[merged["event_call"]]
    events = np.lexsort((merged["event_seq"], merged["event_call"]))
    return Calls(
        **{k: v[events] if k.startswith("event_") else v[order] for k, v in merged.items()}
    )


__all__ = [
    "ACTIONS",
    "CHURN_REASONS",
    "RESPONSES",
    "SATISFIED",
    "Chunk",
    "ChunkState",
    "Plan",
    "concat_states",
    "load_state",
    "new_state",
    "ordinals",
    "plan_work_orders",
    "run_months",
    "save_state",
    "split_state",
]
