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
from touchpoint.simulate.hotline import OUTCOME_RESOLVED, Calls, simulate_calls
from touchpoint.simulate.keyed_random import Site
from touchpoint.simulate.menu import Menu
from touchpoint.simulate.params import SimParams
from touchpoint.simulate.population import (
    Population,
    baselines,
    draw_population,
    month_bounds,
)
from touchpoint.simulate.timing import DAY_US, HOUR_US, day_weights, exposure, sample_times

NEVER = np.iinfo(np.int64).max
CHURN_REASONS = (
    "product_quality",
    "policy",
    "service_level",
    "management",  # internal
    "channel_behaviour",
    "competitors",
    "customer_behaviour",  # external
)
HOTLINE = ("ivr", "agent")
STORES = ("store", "partner_store")
ACTIONS = (
    "divert_store_payment_to_self_service",
    "divert_agent_to_self_service",
    "retention_offer",
)
STORE_ACTION, AGENT_ACTION, RETENTION_ACTION = range(3)


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


@dataclass
class Plan:
    """A chunk's work orders in a continued leg: one entry per work order."""

    row: np.ndarray  # row of the work-orders file
    key: np.ndarray  # the work order's random key (seed, leg, row)
    customer: np.ndarray  # local customer index
    action: np.ndarray  # index into ACTIONS
    month: np.ndarray  # the month the effect starts (counted from params.start_month)
    sent_us: np.ndarray
    strength: np.ndarray  # planted effect (share moved, or share of hazard removed)
    is_annoyed: np.ndarray

    @classmethod
    def empty(cls) -> Plan:
        z = np.zeros(0, dtype=np.int64)
        return cls(z, z.astype(np.uint64), z, z, z, z, np.zeros(0), np.zeros(0, dtype=bool))


def age_band(params: SimParams, birth_year: np.ndarray, month: int) -> np.ndarray:
    """0 young, 1 middle, 2 senior, at the given month."""
    age = params.start_month.year + month // 12 - birth_year
    t = params.treatments
    return np.where(age < t.young_under, 0, np.where(age < t.senior_from, 1, 2))


def _destinations(params, action: str, names: list[str], band: np.ndarray) -> np.ndarray:
    """[customer, channel] where the moved weight goes, by age band (rows sum to 1, or 0)."""
    by_age = params.treatments.actions[action].destinations_by_age
    table = np.zeros((3, len(names)))
    for b, label in enumerate(("young", "middle", "senior")):
        for channel, weight in by_age.get(label, {}).items():
            if channel in names:
                table[b, names.index(channel)] = weight
        if table[b].sum():
            table[b] /= table[b].sum()
    return table[band]


def _divert(p: np.ndarray, moved_share: np.ndarray, source: np.ndarray, dest: np.ndarray):
    """Move ``moved_share`` of the weight on ``source`` columns to ``dest`` (rows sum kept)."""
    if not len(p):
        return p
    p = p.copy()
    moved = (p[:, source] * moved_share[:, None]).sum(axis=1)
    p[:, source] *= (1 - moved_share)[:, None]
    return p + moved[:, None] * dest


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


def _concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    parts = [p for p in parts if p]
    if not parts:
        return {}
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _seconds_us(keys, mean_seconds):
    return (kr.gamma2(keys, mean_seconds / 2) * 1e6).astype(
        np.int64
    ) // 1_000_000 * 1_000_000 + 1_000_000


def _events(keys: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``counts[i]`` events for each ``i``: (i per event, event key = ``keys[i]`` with the
    event's ordinal among i's events)."""
    owner = np.repeat(np.arange(len(counts)), counts)
    ordinal = np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts)
    return owner, kr.fold(keys[owner], ordinal)


def _sorted(rows: dict[str, np.ndarray], *columns: str) -> dict[str, np.ndarray]:
    """Rows ordered by ``columns`` (the first the most significant)."""
    if not rows or not len(rows[columns[0]]):
        return rows
    order = np.lexsort(tuple(rows[c] for c in reversed(columns)))
    return {k: v[order] for k, v in rows.items()}


def ordinals(customer: np.ndarray, month: np.ndarray) -> np.ndarray:
    """Per row: its rank among the rows of the same customer and month, in row order."""
    if not len(customer):
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort((month, customer))  # stable: row order within a customer-month
    c, m = customer[order], month[order]
    new = np.concatenate([[True], (c[1:] != c[:-1]) | (m[1:] != m[:-1])])
    starts = np.flatnonzero(new)
    rank = np.arange(len(order)) - starts[np.cumsum(new) - 1]
    out = np.empty_like(rank)
    out[order] = rank
    return out


def plan_work_orders(
    params: SimParams,
    state: ChunkState,
    seed: int,
    row: np.ndarray,
    customer: np.ndarray,
    action: np.ndarray,
    month: np.ndarray,
    sent_us: np.ndarray,
) -> Plan:
    """Draw each work order's planted effect: heterogeneous by age, brand and segment; none,
    and annoyance instead, for customers who have been contacted too often."""
    keys = kr.key(seed, Site.WORK_ORDER, state.month, row)
    pop = state.population
    t = params.treatments
    band = age_band(params, pop.birth_year[customer], state.month)
    brands, segments = list(params.population.brands), list(params.segments)
    strength = np.zeros(len(customer))
    for a, name in enumerate(ACTIONS):
        spec = t.actions[name]
        rows = action == a
        factor = (
            np.array([spec.by_age.get(x, 1.0) for x in ("young", "middle", "senior")])[band]
            * np.array([spec.by_brand.get(x, 1.0) for x in brands])[pop.brand[customer]]
            * np.array([spec.by_segment.get(x, 1.0) for x in segments])[pop.segment[customer]]
        )
        noise = kr.lognormal(
            kr.fold(keys, Site.EFFECT_NOISE), -(spec.noise_sigma**2) / 2, spec.noise_sigma
        )
        strength = np.where(rows, np.minimum(spec.effect * factor * noise, 0.95), strength)
    n_orders = np.bincount(customer, minlength=len(pop.index))[customer]
    p_annoyed = np.clip(
        t.annoyance.base
        + t.annoyance.per_recent_contact * (state.recent_offers[customer] + n_orders - 1)
        + t.annoyance.sensitive * pop.is_sensitive[customer],
        0,
        0.95,
    )
    annoyed = kr.uniform(kr.fold(keys, Site.ANNOYED)) < p_annoyed
    strength = np.where(annoyed, 0.0, strength)
    return Plan(row, keys, customer, action, month, sent_us, strength, annoyed)


def _per_customer(n: int, plan: Plan, action: int) -> tuple[np.ndarray, np.ndarray]:
    """(first month of the action's effect, combined strength) per customer; NEVER-month if none."""
    start = np.full(n, np.iinfo(np.int64).max)
    keep = np.ones(n)
    rows = plan.action == action
    np.minimum.at(start, plan.customer[rows], plan.month[rows])
    np.multiply.at(keep, plan.customer[rows], 1 - plan.strength[rows])
    return start, 1 - keep


def run_months(
    params: SimParams,
    menu: Menu,
    state: ChunkState,
    months: int,
    channels: list[str],
    plan: Plan | None = None,
) -> Chunk:
    """Simulate ``months`` more months of a chunk, updating ``state``; ``plan`` holds work
    orders whose planted effects apply from their month on (a continued world)."""
    pop, n = state.population, len(state.population.index)
    customer_keys = kr.key(state.seed, Site.CUSTOMER, pop.index)
    plan = plan or Plan.empty()
    businesses = list(params.contacts.needs_per_month)
    seg = list(params.segments.values())
    regions = list(params.population.regions.values())
    escalation = np.array([r.escalation for r in regions])[pop.region]
    competitor = np.array([r.competitor for r in regions])[pop.region]
    first_month = state.month
    bounds = month_bounds(params.start_month, first_month + months)[first_month:]
    in_network, left = np.zeros(months, dtype=np.int64), np.zeros(months, dtype=np.int64)
    need_rates = np.array(list(params.contacts.needs_per_month.values()))
    seg_needs = np.array([s.needs for s in seg])[pop.segment]
    c_index = {c: i for i, c in enumerate(channels)}
    hotline_idx = [c_index[c] for c in HOTLINE]
    agent = c_index["agent"]
    pay_names = list(params.payments.channel_weights)
    pay_channels = np.array([c_index[c] for c in pay_names])
    pay_stores = np.array([pay_names.index(c) for c in STORES if c in pay_names])
    bill_businesses = [businesses.index(b) for b in ("bill_query", "payment") if b in businesses]
    is_bill_business = np.isin(np.arange(len(businesses)), bill_businesses)
    pref_sum = np.zeros_like(pop.preferences)
    pay_sum = np.zeros_like(pop.payment_preferences)
    call_parts, contact_parts, payment_parts, bill_parts = [], [], [], []
    complaint_parts, order_parts, offer_parts = [], [], []

    # Work orders: when each action starts per customer, how strong, and who is annoyed.
    band = age_band(params, pop.birth_year, first_month)
    pay_dest = _destinations(params, ACTIONS[STORE_ACTION], pay_names, band)
    agent_dest = _destinations(params, ACTIONS[AGENT_ACTION], channels, band)
    store_from, store_strength = _per_customer(n, plan, STORE_ACTION)
    agent_from, agent_strength = _per_customer(n, plan, AGENT_ACTION)
    retain_from, retain_strength = _per_customer(n, plan, RETENTION_ACTION)
    annoyed_from = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(annoyed_from, plan.customer[plan.is_annoyed], plan.month[plan.is_annoyed])
    # Without this leg's work orders, earlier habit changes would fade all the same.
    divert_payment_without, divert_agent_without = (
        state.divert_payment.copy(),
        state.divert_agent.copy(),
    )
    # Expected outcome counts with and without the work orders (treated customers' effects).
    store_with, store_without = np.zeros(n), np.zeros(n)
    agent_with, agent_without = np.zeros(n), np.zeros(n)
    stay_with, stay_without = np.zeros(n), np.zeros(n)  # log survival
    in_at_leg_start = state.leave_us == NEVER
    treated = np.zeros(n, dtype=bool)
    treated[plan.customer] = True

    offered = pop.baseline > 0  # [customer, business, channel] channels in use
    for i in range(months):
        m = first_month + i
        start, end = bounds[i], bounds[i + 1]
        weights = day_weights(params.timing, start, end)
        cm = kr.fold(customer_keys, m)  # this customer-month's key

        def draw(site, cm=cm):
            return kr.uniform(kr.fold(cm, site))

        at_start = (pop.join_us < start) & (state.leave_us >= start)
        in_network[i] = at_start.sum()
        # Churn this month: a monthly hazard from last month's experience.
        factors = {
            "product_quality": np.where(state.had_fault, params.churn.fault_factor, 1.0),
            "management": np.where(state.had_arrears, params.churn.arrears_factor, 1.0),
            "service_level": np.where(state.had_complaint, params.churn.complaint_factor, 1.0),
            "channel_behaviour": np.where(
                state.had_unresolved, params.churn.unresolved_factor, 1.0
            ),
            "policy": np.where(
                start - pop.join_us < params.churn.new_tenure_days * DAY_US,
                params.churn.new_tenure_factor,
                1.0,
            ),
            "customer_behaviour": np.where(
                pop.arpu_trend < params.churn.arpu_decline_below,
                params.churn.arpu_decline_factor,
                1.0,
            ),
            "competitors": competitor,
        }
        hazard = params.churn.monthly_base * np.array([s.churn for s in seg])[pop.segment]
        for f in factors.values():
            hazard = hazard * f
        annoyed_now = m >= annoyed_from
        treated_hazard = (
            hazard
            * np.where(m >= retain_from, 1 - retain_strength, 1.0)
            * np.where(annoyed_now, params.treatments.annoyance.churn_factor, 1.0)
        )
        at_risk = treated & in_at_leg_start & (pop.join_us < start)
        stay_without += np.where(
            at_risk & (m >= retain_from), np.log1p(-np.minimum(hazard, 0.9)), 0
        )
        stay_with += np.where(
            at_risk & (m >= retain_from), np.log1p(-np.minimum(treated_hazard, 0.9)), 0
        )
        leaving = at_start & (draw(Site.CHURN) < np.minimum(treated_hazard, 0.9))
        leave_day = (
            start + (draw(Site.LEAVE_DAY) * ((end - start) // DAY_US)).astype(np.int64) * DAY_US
        )
        state.leave_us = np.where(leaving, leave_day, state.leave_us)
        state.churn_month = np.where(leaving, m, state.churn_month)
        # The planted reason: drawn in proportion to each driver's part of the hazard.
        reason_weights = np.stack(
            [np.log(factors.get(r, np.ones(n))) for r in CHURN_REASONS], axis=1
        )
        # (and a little of every reason: nobody leaves for one cause alone)
        reason_weights = np.maximum(reason_weights, 0) + params.churn.reason_floor
        state.churn_reason = np.where(
            leaving,
            kr.categorical(kr.fold(cm, Site.CHURN_REASON), reason_weights),
            state.churn_reason,
        )
        left[i] = leaving.sum()

        lo, hi = np.maximum(pop.join_us, start), np.minimum(state.leave_us, end)
        alive = lo < hi
        # Preferences drift, and are pulled back towards the segment's habits.
        d = params.contacts.preference_drift
        # (Channels a business is not offered in have no weight: no draw for them.)
        noise = np.zeros_like(pop.baseline)
        cells = np.nonzero(offered)
        noise[offered] = kr.gamma(
            kr.fold(kr.fold(cm, Site.DRIFT)[cells[0]], cells[1] * offered.shape[2] + cells[2]),
            pop.habit[offered] * params.contacts.preference_concentration * 3,
        )
        total = noise.sum(-1, keepdims=True)
        # (A draw can underflow to all zeros for a rarely used business: then the baseline.)
        noise = np.where(total > 0, noise / np.where(total > 0, total, 1.0), pop.baseline)
        pop.preferences = (1 - d) * pop.preferences + d * noise
        noise = kr.gamma(
            kr.fold(
                kr.fold(cm, Site.PAYMENT_DRIFT)[:, None],
                np.arange(pop.payment_habit.shape[1])[None, :],
            ),
            np.maximum(pop.payment_habit * params.contacts.preference_concentration * 3, 1e-9),
        )
        noise /= noise.sum(-1, keepdims=True)
        pop.payment_preferences = (1 - d) * pop.payment_preferences + d * noise
        # Habit changes planted by work orders fade, and new ones start.
        keep = params.treatments.persistence
        for divert, without, from_, strength in (
            ("divert_payment", divert_payment_without, store_from, store_strength),
            ("divert_agent", divert_agent_without, agent_from, agent_strength),
        ):
            current = getattr(state, divert) * keep
            without *= keep
            starts = from_ == m
            setattr(state, divert, np.where(starts, 1 - (1 - current) * (1 - strength), current))
        # The habits that draw this month's channels: latent weights after any diversion.
        habits, payment_habits = pop.preferences, pop.payment_preferences
        moved = np.flatnonzero(state.divert_agent > 0)
        if len(moved):
            b, c = habits.shape[1:]
            habits = habits.copy()
            habits[moved] = _divert(
                habits[moved].reshape(-1, c),
                np.repeat(state.divert_agent[moved], b),
                np.array([agent]),
                np.repeat(agent_dest[moved], b, axis=0),
            ).reshape(-1, b, c)
        moved = np.flatnonzero(state.divert_payment > 0)
        if len(moved):
            payment_habits = payment_habits.copy()
            payment_habits[moved] = _divert(
                payment_habits[moved], state.divert_payment[moved], pay_stores, pay_dest[moved]
            )
        pref_sum += habits
        pay_sum += payment_habits
        base_exposure = exposure(weights[0], start, lo, hi)
        bill_exposure = exposure(weights[1], start, lo, hi)
        store_share = pop.payment_preferences[:, pay_stores].sum(1)
        expected_pay = params.payments.per_month * bill_exposure * store_share
        on = treated & (m >= store_from)
        store_with += np.where(on, expected_pay * (1 - state.divert_payment), 0)
        store_without += np.where(on, expected_pay * (1 - divert_payment_without), 0)
        need_exposure = np.where(
            is_bill_business[None, :], bill_exposure[:, None], base_exposure[:, None]
        )
        expected_agent = (
            need_rates[None, :] * seg_needs[:, None] * need_exposure * pop.preferences[:, :, agent]
        ).sum(1)
        on = treated & (m >= agent_from)
        agent_with += np.where(on, expected_agent * (1 - state.divert_agent), 0)
        agent_without += np.where(on, expected_agent * (1 - divert_agent_without), 0)

        # Needs, their time and the channel chosen for each.
        # A need's key: its customer-month, business and ordinal within them.
        nb_ = len(businesses)
        counts = (
            kr.poisson(
                kr.fold(kr.fold(cm, Site.NEEDS)[:, None], np.arange(nb_)[None, :]),
                need_rates[None, :] * seg_needs[:, None],
            )
            * alive[:, None]
        )
        cell = np.repeat(np.arange(n * nb_), counts.ravel())
        k = np.arange(len(cell)) - np.repeat(
            np.cumsum(counts.ravel()) - counts.ravel(), counts.ravel()
        )
        cust, biz = cell // nb_, cell % nb_
        need_keys = kr.fold(kr.fold(cm, Site.NEED)[cust], k * nb_ + biz)
        t = sample_times(need_keys, start, is_bill_business[biz], weights)
        keep_rows = (t >= lo[cust]) & (t < hi[cust])
        cust, biz, t = cust[keep_rows], biz[keep_rows], t[keep_rows]
        need_keys = need_keys[keep_rows]
        channel = kr.categorical(kr.fold(need_keys, Site.CHANNEL), habits[cust, biz])
        is_hot = np.isin(channel, hotline_idx)
        call_parts.append(
            simulate_calls(
                params,
                menu,
                businesses,
                need_keys[is_hot],
                cust[is_hot],
                biz[is_hot],
                t[is_hot],
                channel[is_hot] == agent,
                escalation,
                hi,
            )
        )
        call_parts[-1].month[:] = m
        calls = call_parts[-1]
        tried = _hotline_follow_ups(params, calls, channels, habits, hi)
        contacts = _other_contacts(
            params,
            channels,
            np.concatenate([need_keys[~is_hot], tried["key"]]),
            np.concatenate([cust[~is_hot], tried["customer"]]),
            np.concatenate([biz[~is_hot], tried["business"]]),
            np.concatenate([t[~is_hot], tried["start_us"]]),
            np.concatenate([channel[~is_hot], tried["channel"]]),
            pop,
            hi,
        )
        contacts["month"] = np.full(len(contacts["customer"]), m)
        contact_parts.append(contacts)
        unresolved = np.zeros(n, dtype=bool)
        unresolved[
            calls.customer[(calls.ivr_outcome != OUTCOME_RESOLVED) & ~calls.agent_resolved]
        ] = True
        unresolved[contacts["customer"][contacts["outcome"] != OUTCOME_RESOLVED]] = True
        state.had_unresolved = unresolved
        state.had_fault = np.zeros(n, dtype=bool)
        if "fault_report" in businesses:  # (a parameter file may leave the business out)
            fault = businesses.index("fault_report")
            state.had_fault[calls.customer[calls.business == fault]] = True
            state.had_fault[contacts["customer"][contacts["business"] == fault]] = True

        # Payments, bills, complaints, orders and marketing offers.
        n_pay = kr.poisson(kr.fold(cm, Site.N_PAYMENTS), params.payments.per_month) * alive
        pc, pk = _events(kr.fold(cm, Site.PAYMENT), n_pay)
        pt = sample_times(pk, start, np.ones(len(pc), dtype=bool), weights)
        ok = (pt >= lo[pc]) & (pt < hi[pc])
        pc, pt, pk = pc[ok], pt[ok], pk[ok]
        arpu = state.arpu
        payment_parts.append(
            dict(
                customer=pc,
                at_us=pt,
                channel=pay_channels[kr.categorical(kr.fold(pk, Site.CHANNEL), payment_habits[pc])],
                amount=np.round(
                    arpu[pc]
                    * kr.uniform(kr.fold(pk, Site.AMOUNT), *params.payments.amount_of_arpu)
                    / 10
                )
                * 10,
                key=pk,
                month=np.full(len(pc), m),
            )
        )
        arpu = (
            arpu
            * pop.arpu_trend
            * kr.lognormal(kr.fold(cm, Site.ARPU_CHANGE), 0, params.population.arpu_monthly_noise)
        )
        state.arpu = arpu
        state.points = (
            state.points
            + (
                arpu * kr.uniform(kr.fold(cm, Site.POINTS), *params.population.points_per_yuan)
            ).astype(np.int64)
            * alive
        )
        billed = np.flatnonzero(alive)
        bills = params.bills
        bm = cm[billed]
        barpu = arpu[billed]
        bill_parts.append(
            dict(
                customer=billed,
                month_us=np.full(len(billed), start),
                arpu=np.round(barpu, 2),
                voice=np.round(
                    barpu * kr.uniform(kr.fold(bm, Site.BILL_VOICE), *bills.voice_minutes_per_yuan),
                    1,
                ),
                data=np.round(
                    barpu * kr.uniform(kr.fold(bm, Site.BILL_DATA), *bills.data_mb_per_yuan), 1
                ),
                sms=kr.poisson(kr.fold(bm, Site.BILL_SMS), bills.sms_per_month),
                points=state.points[billed],
                arrears=np.where(
                    kr.uniform(kr.fold(bm, Site.BILL_ARREARS)) < bills.arrears_share,
                    np.round(
                        barpu
                        * kr.uniform(kr.fold(bm, Site.BILL_ARREARS_AMOUNT), *bills.arrears_of_bill),
                        2,
                    ),
                    0.0,
                ),
            )
        )
        state.had_arrears = np.zeros(n, dtype=bool)
        state.had_arrears[billed] = bill_parts[-1]["arrears"] > 0
        harassed = np.where(annoyed_now, params.treatments.annoyance.complaint_factor, 1.0)
        rate = (
            params.complaints.per_month
            * np.where(pop.is_sensitive, params.complaints.sensitive_factor, 1.0)
            * np.where(unresolved, params.complaints.unresolved_factor, 1.0)
            * harassed
        )
        cc, ck = _events(
            kr.fold(cm, Site.COMPLAINT), kr.poisson(kr.fold(cm, Site.N_COMPLAINTS), rate) * alive
        )
        ct = sample_times(ck, start, np.zeros(len(cc), dtype=bool), weights)
        ok = (ct >= lo[cc]) & (ct < hi[cc])
        # An annoyed customer's extra complaints are about marketing harassment.
        cc, ct, ck = cc[ok], ct[ok], ck[ok]
        is_harassment = kr.uniform(kr.fold(ck, Site.HARASSMENT)) < 1 - 1 / harassed[cc]
        complaint_parts.append(
            dict(
                customer=cc,
                at_us=ct,
                is_harassment=is_harassment,
                key=ck,
                month=np.full(len(cc), m),
            )
        )
        state.had_complaint = np.zeros(n, dtype=bool)
        state.had_complaint[cc] = True
        digital = np.array([s.digital for s in seg])[pop.segment]
        oc, ok_ = _events(
            kr.fold(cm, Site.ORDER),
            kr.poisson(kr.fold(cm, Site.N_ORDERS), params.orders.per_month * digital) * alive,
        )
        ot = sample_times(ok_, start, np.zeros(len(oc), dtype=bool), weights)
        ok = (ot >= lo[oc]) & (ot < hi[oc])
        oc, ot, ok_ = oc[ok], ot[ok], ok_[ok]
        nb = businesses.index("new_business")
        order_parts.append(
            dict(
                customer=oc,
                at_us=ot,
                channel=kr.categorical(kr.fold(ok_, Site.CHANNEL), pop.preferences[oc, nb]),
                key=ok_,
                month=np.full(len(oc), m),
            )
        )
        sent_offer = alive & (draw(Site.OFFER) < params.campaigns.offers_per_month)
        state.recent_offers = state.recent_offers / 2 + sent_offer
        who = np.flatnonzero(sent_offer)
        offer_parts.append(
            dict(
                customer=who,
                month=np.full(len(who), m),
                at_us=start
                + (draw(Site.OFFER_AT)[who] * (3 * DAY_US)).astype(np.int64)
                // 1_000_000
                * 1_000_000
                + 10 * HOUR_US,
                key=kr.fold(cm[who], Site.OFFER),
            )
        )

    calls = _sorted_calls(call_parts)
    contacts = _sorted(_concat(contact_parts), "customer", "start_us", "key")
    surveys = _sorted(_surveys(params, calls, contacts, channels), "customer", "sent_us", "key")
    chunk = Chunk(
        number=state.number,
        population=pop,
        leave_us=state.leave_us,
        churn_month=state.churn_month,
        churn_reason=state.churn_reason,
        calls=calls,
        contacts=contacts,
        payments=_sorted(_concat(payment_parts), "customer", "at_us", "key"),
        bills=_sorted(_concat(bill_parts), "customer", "month_us"),
        complaints=_sorted(_concat(complaint_parts), "customer", "at_us", "key"),
        orders=_sorted(_concat(order_parts), "customer", "at_us", "key"),
        surveys=surveys,
        offers=_sorted(_concat(offer_parts), "customer", "month"),
        in_network_at_month_start=in_network,
        left_in_month=left,
        mean_preferences=pref_sum / months,
        mean_payment_preferences=pay_sum / months,
        work_orders=_work_order_outcomes(
            params,
            plan,
            state,
            {
                STORE_ACTION: (store_without, store_with, False),
                AGENT_ACTION: (agent_without, agent_with, False),
                RETENTION_ACTION: (stay_without, stay_with, True),
            },
        ),
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


RESPONSES = ("accepted", "declined", "no_response", "opted_out")


def _work_order_outcomes(params, plan: Plan, state: ChunkState, expected) -> dict:
    """Each work order's planted individual effect on its action's outcome, and the response
    the customer sends back.

    The outcome is "at least one event from the work order's month to the end of the leg"
    (a store payment, a need taken to the agent, leaving). With and without the work order,
    its probability follows from the expected number of events given the customer's latent
    habits and time in the network (Poisson: 1 - exp(-expected)), or from the monthly churn
    hazards (1 - exp(sum of log survival)).
    """
    k = len(plan.customer)
    p_without, p_with = np.zeros(k), np.zeros(k)
    for action, (without, with_, is_survival) in expected.items():
        rows = plan.action == action
        c = plan.customer[rows]
        if is_survival:
            p_without[rows] = 1 - np.exp(without[c])
            p_with[rows] = 1 - np.exp(with_[c])
        else:
            p_without[rows] = 1 - np.exp(-without[c])
            p_with[rows] = 1 - np.exp(-with_[c])
    delivered = state.leave_us[plan.customer] > plan.sent_us
    u = kr.uniform(kr.fold(plan.key, Site.RESPONSE))
    response = np.where(
        ~delivered,
        2,
        np.where(
            plan.is_annoyed,
            np.where(u < 0.7, 3, 1),
            np.where(u < 0.5 * plan.strength, 0, np.where(u > 0.9, 1, 2)),
        ),
    )
    responded_us = (
        plan.sent_us
        + (kr.exponential(kr.fold(plan.key, Site.RESPONSE_DELAY), 6) * 3_600e6).astype(np.int64)
        // 1_000_000
        * 1_000_000
        + 60_000_000
    )
    return dict(
        row=plan.row,
        customer=plan.customer,
        action=plan.action,
        month=plan.month,
        sent_us=plan.sent_us,
        strength=plan.strength,
        is_annoyed=plan.is_annoyed,
        p_without=p_without,
        p_with=p_with,
        response=response,
        responded_us=responded_us,
    )


def _hotline_follow_ups(
    params: SimParams, calls: Calls, channels: list[str], habits: np.ndarray, alive_until
) -> dict[str, np.ndarray]:
    """Callers whose last call of the day did not help (hung up, failed self service, an agent
    who could not solve it) often try another channel within a day: the first contact of each
    such try, in a channel drawn from the customer's habits for the business outside the
    hotline. Its key is the call's, folded."""
    gave_up = ~calls.redialled & (calls.ivr_outcome != OUTCOME_RESOLVED) & ~calls.agent_resolved
    keys = kr.fold(calls.key, Site.HOTLINE_FOLLOW_UP)
    tries = gave_up & (kr.uniform(keys) < params.contacts.hotline_cross_channel_repeat)
    last_end = np.where(calls.is_transferred, calls.agent_end_us, calls.ivr_end_us)
    start = _follow_up_start(keys, last_end)
    tries &= start < alive_until[calls.customer]
    cust, biz, keys = calls.customer[tries], calls.business[tries], keys[tries]
    prefs = _outside_hotline(habits[cust, biz].copy(), channels)
    return dict(
        customer=cust,
        business=biz,
        start_us=start[tries],
        channel=kr.categorical(kr.fold(keys, Site.CHANNEL), prefs),
        key=keys,
    )


def _follow_up_start(keys: np.ndarray, end_us: np.ndarray) -> np.ndarray:
    """When a follow-up of a contact ending at ``end_us`` starts: 0.3 to 20 hours later, in
    whole seconds."""
    gap = kr.uniform(kr.fold(keys, Site.FOLLOW_UP_GAP), 0.3, 20)
    return end_us + (gap * HOUR_US).astype(np.int64) // 1_000_000 * 1_000_000


def _outside_hotline(prefs: np.ndarray, channels: list[str]) -> np.ndarray:
    """``prefs`` (changed in place) with no weight on the hotline: its follow-ups are redials."""
    prefs[:, [channels.index(c) for c in HOTLINE]] = 0
    prefs += 1e-9
    return prefs


def _other_contacts(params, channels, keys, cust, biz, t, channel, pop, alive_until):
    """Contacts outside the hotline; an unresolved one is often followed up elsewhere within a
    day. ``keys`` are the needs' keys; a follow-up's key is its contact's, folded."""
    parts = []
    follow_up = 0
    resolve_by_channel = np.array([params.contacts.resolve_rate.get(c, 0.8) for c in channels])
    duration_by_channel = np.array(
        [params.contacts.duration_seconds.get(c, 120.0) for c in channels]
    )
    while len(cust) and follow_up < 3:
        end = t + _seconds_us(kr.fold(keys, Site.DURATION), duration_by_channel[channel])
        outcome = np.where(
            kr.uniform(kr.fold(keys, Site.RESOLVED)) < resolve_by_channel[channel],
            OUTCOME_RESOLVED,
            3,
        )
        parts.append(
            dict(
                customer=cust,
                business=biz,
                start_us=t,
                end_us=end,
                channel=channel,
                outcome=outcome,
                key=keys,
            )
        )
        again = (outcome != OUTCOME_RESOLVED) & (
            kr.uniform(kr.fold(keys, Site.FOLLOW_UP)) < params.contacts.cross_channel_repeat
        )
        nt = _follow_up_start(keys, end)
        again &= nt < alive_until[cust]
        prefs = pop.preferences[cust[again], biz[again]].copy()
        prefs[np.arange(again.sum()), channel[again]] = 0  # try somewhere else
        prefs = _outside_hotline(prefs, channels)
        cust, biz, t = cust[again], biz[again], nt[again]
        keys = kr.fold(keys[again], Site.FOLLOW_UP)
        channel = kr.categorical(kr.fold(keys, Site.CHANNEL), prefs)
        follow_up += 1
    return _concat(parts) or dict(
        customer=np.zeros(0, np.int64),
        business=np.zeros(0, np.int64),
        start_us=np.zeros(0, np.int64),
        end_us=np.zeros(0, np.int64),
        channel=np.zeros(0, np.int64),
        outcome=np.zeros(0, np.int64),
        key=np.zeros(0, np.uint64),
    )


SATISFIED, NEUTRAL, DISSATISFIED = 0, 1, 2


def _surveys(params, calls: Calls, contacts, channels):
    """SMS surveys after agent and store contacts, IVR surveys after calls that stayed in the IVR.

    Satisfaction follows the peak and the end of the contact (peak-end rule): the worst moment
    (a long wait for the agent, a transfer) and whether it ended resolved. A survey's draws
    are keyed by the contact it asks about.
    """
    sv = params.surveys
    store = channels.index("store")
    # Agent legs of hotline calls.
    a = np.flatnonzero(
        calls.is_transferred
        & (kr.uniform(kr.fold(calls.key, Site.SURVEY_AGENT)) < sv.sms_after_agent)
    )
    wait = (calls.agent_start_us[a] - calls.ivr_end_us[a]) / 1e6
    agent_good = np.where(calls.agent_resolved[a], np.where(wait > 60, 0.55, 0.8), 0.12)
    # Store visits.
    s = np.flatnonzero(
        (contacts["channel"] == store)
        & (kr.uniform(kr.fold(contacts["key"], Site.SURVEY_STORE)) < sv.sms_after_agent)
    )
    store_good = np.where(contacts["outcome"][s] == OUTCOME_RESOLVED, 0.8, 0.15)
    # Calls that ended in the IVR.
    i = np.flatnonzero(
        ~calls.is_transferred
        & (kr.uniform(kr.fold(calls.key, Site.SURVEY_IVR)) < sv.ivr_after_call)
    )
    ivr_good = np.where(calls.ivr_outcome[i] == OUTCOME_RESOLVED, 0.75, 0.2)
    customer = np.concatenate([calls.customer[a], contacts["customer"][s], calls.customer[i]])
    sent = (
        np.concatenate([calls.agent_end_us[a], contacts["end_us"][s], calls.ivr_end_us[i]])
        + 300_000_000
    )
    # The contact the survey asks about: ("agent", call) / ("other", contact row) / ("ivr", call).
    kind = np.concatenate([np.zeros(len(a)), np.ones(len(s)), np.full(len(i), 2)]).astype(np.int8)
    ref = np.concatenate([a, s, i])
    p_good = np.concatenate([agent_good, store_good, ivr_good])
    keys = kr.fold(np.concatenate([calls.key[a], contacts["key"][s], calls.key[i]]), Site.SURVEY)
    month = np.concatenate([calls.month[a], contacts["month"][s], calls.month[i]])
    u = kr.uniform(kr.fold(keys, Site.SATISFACTION))
    satisfaction = np.where(
        u < p_good, SATISFIED, np.where(u < p_good + (1 - p_good) * 0.35, NEUTRAL, DISSATISFIED)
    )
    is_sms = kind != 2
    replied = kr.uniform(kr.fold(keys, Site.REPLIED)) < np.where(
        is_sms, sv.sms_reply_rate, sv.ivr_reply_rate
    )
    replied_at = (
        sent
        + (kr.exponential(kr.fold(keys, Site.REPLY_DELAY), 900) * 1e6).astype(np.int64)
        // 1_000_000
        * 1_000_000
        + 1_000_000
    )
    return dict(
        customer=customer,
        kind=kind,
        ref=ref,
        sent_us=sent,
        is_sms=is_sms,
        replied=replied,
        replied_us=replied_at,
        satisfaction=satisfaction,
        text_draw=kr.uniform(kr.fold(keys, Site.REPLY_TEXT)),
        key=keys,
        month=month,
    )
