"""One chunk of customers, month by month: the events of every entity as NumPy arrays.

A chunk has its own random stream (seeded by the world's seed and the chunk's number), so
the world is the same whatever number of chunks is generated at a time. Everything a chunk
needs to go on (latent traits and habits, churn, the random stream's position, the ids used)
is a :class:`ChunkState`, which :func:`save_state` writes so that a world can be continued.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from touchpoint.simulate.hotline import OUTCOME_RESOLVED, Calls, simulate_calls
from touchpoint.simulate.menu import Menu
from touchpoint.simulate.params import SimParams
from touchpoint.simulate.population import (
    Population,
    baselines,
    categorical,
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
    first_ids: dict[str, int] = field(default_factory=dict)  # id numbers this leg starts at
    work_orders: dict[str, np.ndarray] = field(default_factory=dict)  # responses and effects


@dataclass
class ChunkState:
    """What a chunk of customers carries from one month to the next."""

    number: int
    rng: np.random.Generator
    population: Population
    month: int  # the next month to simulate, counted from params.start_month
    leave_us: np.ndarray  # NEVER while in the network
    churn_month: np.ndarray  # -1 while in the network
    churn_reason: np.ndarray
    had_complaint: np.ndarray
    had_unresolved: np.ndarray
    arpu: np.ndarray
    points: np.ndarray
    recent_offers: np.ndarray  # marketing contacts, halved each month
    divert_payment: np.ndarray  # share of store payment weight moved to self service
    divert_agent: np.ndarray  # share of agent weight moved to self service
    counters: dict[str, int]  # id numbers used so far, by kind


COUNTERS = ("calls", "contacts", "payments", "complaints", "orders", "surveys", "offers")
_STATE_ARRAYS = (
    "leave_us",
    "churn_month",
    "churn_reason",
    "had_complaint",
    "had_unresolved",
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
    meta = {
        "number": state.number,
        "month": state.month,
        "counters": state.counters,
        "rng": state.rng.bit_generator.state,
    }
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
        state = {k: data[f"state_{k}"] for k in _STATE_ARRAYS}
    pop["baseline"], pop["payment_baseline"] = baselines(
        params, pop["segment"], businesses, channels
    )
    rng = np.random.default_rng()
    rng.bit_generator.state = meta["rng"]
    return ChunkState(
        number=meta["number"],
        rng=rng,
        population=Population(**pop),
        month=meta["month"],
        counters=meta["counters"],
        **state,
    )


@dataclass
class Plan:
    """A chunk's work orders in a continued leg: one entry per work order."""

    row: np.ndarray  # row of the work-orders file
    customer: np.ndarray  # local customer index
    action: np.ndarray  # index into ACTIONS
    month: np.ndarray  # the month the effect starts (counted from params.start_month)
    sent_us: np.ndarray
    strength: np.ndarray  # planted effect (share moved, or share of hazard removed)
    is_annoyed: np.ndarray

    @classmethod
    def empty(cls) -> Plan:
        z = np.zeros(0, dtype=np.int64)
        return cls(z, z, z, z, z, np.zeros(0), np.zeros(0, dtype=bool))


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
    rng = np.random.default_rng([seed, number])
    pop = draw_population(
        params, rng, first, n, months, businesses, channels, first_month, all_new=first_month > 0
    )
    arpu = pop.arpu_yuan.copy()
    return ChunkState(
        number=number,
        rng=rng,
        population=pop,
        month=first_month,
        leave_us=np.full(n, NEVER, dtype=np.int64),
        churn_month=np.full(n, -1),
        churn_reason=np.full(n, -1),
        had_complaint=np.zeros(n, dtype=bool),
        had_unresolved=np.zeros(n, dtype=bool),
        arpu=arpu,
        points=(arpu * rng.uniform(5, 40, n)).astype(np.int64),
        recent_offers=np.zeros(n),
        divert_payment=np.zeros(n),
        divert_agent=np.zeros(n),
        counters=dict.fromkeys(COUNTERS, 0),
    )


def _concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    parts = [p for p in parts if p]
    if not parts:
        return {}
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _seconds_us(rng, mean_seconds, n):
    return (rng.gamma(2.0, mean_seconds / 2, n) * 1e6).astype(
        np.int64
    ) // 1_000_000 * 1_000_000 + 1_000_000


def generate_chunk(
    params: SimParams,
    menu: Menu,
    number: int,
    first: int,
    n: int,
    months: int,
    seed: int,
    channels: list[str],
) -> Chunk:
    """All ``months`` of a fresh chunk (see :func:`run_months`)."""
    businesses = list(params.contacts.needs_per_month)
    state = new_state(params, number, first, n, months, seed, businesses, channels)
    return run_months(params, menu, state, months, channels)


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
    rng = np.random.default_rng([seed, state.number, 1_000_003, state.month])
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
        noise = rng.lognormal(-(spec.noise_sigma**2) / 2, spec.noise_sigma, len(customer))
        strength = np.where(rows, np.minimum(spec.effect * factor * noise, 0.95), strength)
    n_orders = np.bincount(customer, minlength=len(pop.index))[customer]
    p_annoyed = np.clip(
        t.annoyance.base
        + t.annoyance.per_recent_contact * (state.recent_offers[customer] + n_orders - 1)
        + t.annoyance.sensitive * pop.is_sensitive[customer],
        0,
        0.95,
    )
    annoyed = rng.random(len(customer)) < p_annoyed
    return Plan(row, customer, action, month, sent_us, np.where(annoyed, 0.0, strength), annoyed)


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
    rng, pop, n = state.rng, state.population, len(state.population.index)
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

    offered = pop.baseline > 0
    for i in range(months):
        m = first_month + i
        start, end = bounds[i], bounds[i + 1]
        weights = day_weights(params.timing, start, end)
        at_start = (pop.join_us < start) & (state.leave_us >= start)
        in_network[i] = at_start.sum()
        # Churn this month: a monthly hazard from last month's experience.
        factors = {
            "service_level": np.where(state.had_complaint, params.churn.complaint_factor, 1.0),
            "channel_behaviour": np.where(
                state.had_unresolved, params.churn.unresolved_factor, 1.0
            ),
            "policy": np.where(
                start - pop.join_us < 183 * DAY_US, params.churn.new_tenure_factor, 1.0
            ),
            "customer_behaviour": np.where(
                pop.arpu_trend < 0.985, params.churn.arpu_decline_factor, 1.0
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
        leaving = at_start & (rng.random(n) < np.minimum(treated_hazard, 0.9))
        leave_day = start + (rng.random(n) * ((end - start) // DAY_US)).astype(np.int64) * DAY_US
        state.leave_us = np.where(leaving, leave_day, state.leave_us)
        state.churn_month = np.where(leaving, m, state.churn_month)
        # The planted reason: drawn in proportion to each driver's part of the hazard.
        reason_weights = np.stack(
            [np.log(factors.get(r, np.ones(n))) for r in CHURN_REASONS], axis=1
        )
        reason_weights = np.maximum(reason_weights, 0) + 0.15  # a little of every reason
        state.churn_reason = np.where(
            leaving,
            categorical(rng, reason_weights / reason_weights.sum(1, keepdims=True)),
            state.churn_reason,
        )
        left[i] = leaving.sum()

        lo, hi = np.maximum(pop.join_us, start), np.minimum(state.leave_us, end)
        alive = lo < hi
        # Preferences drift, and are pulled back towards the segment's habits.
        d = params.contacts.preference_drift
        # (Channels a business is not offered in have no weight: no draw for them.)
        noise = np.zeros_like(pop.baseline)
        noise[offered] = rng.gamma(
            pop.habit[offered] * params.contacts.preference_concentration * 3
        )
        total = noise.sum(-1, keepdims=True)
        # (A draw can underflow to all zeros for a rarely used business: then the baseline.)
        noise = np.where(total > 0, noise / np.where(total > 0, total, 1.0), pop.baseline)
        pop.preferences = (1 - d) * pop.preferences + d * noise
        noise = rng.gamma(
            np.maximum(pop.payment_habit * params.contacts.preference_concentration * 3, 1e-9)
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
        counts = rng.poisson(need_rates[None, :] * seg_needs[:, None]) * alive[:, None]
        cust, biz = np.nonzero(counts)
        reps = counts[cust, biz]
        cust, biz = np.repeat(cust, reps), np.repeat(biz, reps)
        t = sample_times(rng, start, end, len(cust), is_bill_business[biz], weights)
        keep_rows = (t >= lo[cust]) & (t < hi[cust])
        cust, biz, t = cust[keep_rows], biz[keep_rows], t[keep_rows]
        channel = categorical(rng, habits[cust, biz])
        is_hot = np.isin(channel, hotline_idx)
        call_parts.append(
            simulate_calls(
                params,
                menu,
                businesses,
                rng,
                cust[is_hot],
                biz[is_hot],
                t[is_hot],
                channel[is_hot] == agent,
                escalation,
                hi,
            )
        )
        contacts = _other_contacts(
            params,
            rng,
            channels,
            cust[~is_hot],
            biz[~is_hot],
            t[~is_hot],
            channel[~is_hot],
            pop,
            hi,
        )
        contact_parts.append(contacts)
        calls = call_parts[-1]
        unresolved = np.zeros(n, dtype=bool)
        unresolved[
            calls.customer[(calls.ivr_outcome != OUTCOME_RESOLVED) & ~calls.agent_resolved]
        ] = True
        unresolved[contacts["customer"][contacts["outcome"] != OUTCOME_RESOLVED]] = True
        state.had_unresolved = unresolved

        # Payments, bills, complaints, orders and marketing offers.
        n_pay = rng.poisson(params.payments.per_month, n) * alive
        pc = np.repeat(np.arange(n), n_pay)
        pt = sample_times(rng, start, end, len(pc), np.ones(len(pc), dtype=bool), weights)
        ok = (pt >= lo[pc]) & (pt < hi[pc])
        pc, pt = pc[ok], pt[ok]
        arpu = state.arpu
        payment_parts.append(
            dict(
                customer=pc,
                at_us=pt,
                channel=pay_channels[categorical(rng, payment_habits[pc])],
                amount=np.round(arpu[pc] * rng.uniform(0.8, 2.5, len(pc)) / 10) * 10,
            )
        )
        arpu = arpu * pop.arpu_trend * rng.lognormal(0, 0.05, n)
        state.arpu = arpu
        state.points = state.points + (arpu * rng.uniform(0.5, 1.5, n)).astype(np.int64) * alive
        billed = alive
        bill_parts.append(
            dict(
                customer=np.flatnonzero(billed),
                month_us=np.full(billed.sum(), start),
                arpu=np.round(arpu[billed], 2),
                voice=np.round(arpu[billed] * rng.uniform(1, 6, billed.sum()), 1),
                data=np.round(arpu[billed] * rng.uniform(5, 60, billed.sum()), 1),
                sms=rng.poisson(20, billed.sum()),
                points=state.points[billed],
                arrears=np.where(
                    rng.random(billed.sum()) < 0.04,
                    np.round(arpu[billed] * rng.uniform(0.2, 1.0, billed.sum()), 2),
                    0.0,
                ),
            )
        )
        harassed = np.where(annoyed_now, params.treatments.annoyance.complaint_factor, 1.0)
        rate = (
            params.complaints.per_month
            * np.where(pop.is_sensitive, params.complaints.sensitive_factor, 1.0)
            * (1 + 2 * unresolved)
            * harassed
        )
        cc = np.repeat(np.arange(n), rng.poisson(rate) * alive)
        ct = sample_times(rng, start, end, len(cc), np.zeros(len(cc), dtype=bool), weights)
        ok = (ct >= lo[cc]) & (ct < hi[cc])
        # An annoyed customer's extra complaints are about marketing harassment.
        cc, ct = cc[ok], ct[ok]
        is_harassment = rng.random(len(cc)) < 1 - 1 / harassed[cc]
        complaint_parts.append(dict(customer=cc, at_us=ct, is_harassment=is_harassment))
        state.had_complaint = np.zeros(n, dtype=bool)
        state.had_complaint[cc] = True
        digital = np.array([s.digital for s in seg])[pop.segment]
        oc = np.repeat(np.arange(n), rng.poisson(params.orders.per_month * digital) * alive)
        ot = sample_times(rng, start, end, len(oc), np.zeros(len(oc), dtype=bool), weights)
        ok = (ot >= lo[oc]) & (ot < hi[oc])
        nb = businesses.index("new_business")
        order_parts.append(
            dict(
                customer=oc[ok], at_us=ot[ok], channel=categorical(rng, pop.preferences[oc[ok], nb])
            )
        )
        offered = alive & (rng.random(n) < params.campaigns.offers_per_month)
        state.recent_offers = state.recent_offers / 2 + offered
        offer_parts.append(
            dict(
                customer=np.flatnonzero(offered),
                month=np.full(offered.sum(), m),
                at_us=start
                + (rng.random(offered.sum()) * (3 * DAY_US)).astype(np.int64)
                // 1_000_000
                * 1_000_000
                + 10 * HOUR_US,
            )
        )

    calls = Calls(
        **{
            k: np.concatenate([getattr(c, k) for c in call_parts])
            for k in Calls.__dataclass_fields__
        }
    )
    # Call numbers of later months continue after earlier months' calls.
    offsets = np.cumsum([0] + [len(c.customer) for c in call_parts[:-1]])
    calls.event_call = np.concatenate(
        [c.event_call + o for c, o in zip(call_parts, offsets, strict=True)]
    )
    contacts = _concat(contact_parts)
    surveys = _surveys(params, rng, calls, contacts, channels)
    chunk = Chunk(
        number=state.number,
        population=pop,
        leave_us=state.leave_us,
        churn_month=state.churn_month,
        churn_reason=state.churn_reason,
        calls=calls,
        contacts=contacts,
        payments=_concat(payment_parts),
        bills=_concat(bill_parts),
        complaints=_concat(complaint_parts),
        orders=_concat(order_parts),
        surveys=surveys,
        offers=_concat(offer_parts),
        in_network_at_month_start=in_network,
        left_in_month=left,
        mean_preferences=pref_sum / months,
        mean_payment_preferences=pay_sum / months,
        first_ids=dict(state.counters),
        work_orders=_work_order_outcomes(
            params,
            rng,
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
    for kind, count in (
        ("calls", len(calls.customer)),
        ("contacts", len(contacts["customer"])),
        ("payments", len(chunk.payments["customer"])),
        ("complaints", len(chunk.complaints["customer"])),
        ("orders", len(chunk.orders["customer"])),
        ("surveys", len(surveys["customer"])),
        ("offers", len(chunk.offers["customer"])),
    ):
        state.counters[kind] += count
    return chunk


RESPONSES = ("accepted", "declined", "no_response", "opted_out")


def _work_order_outcomes(params, rng, plan: Plan, state: ChunkState, expected) -> dict:
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
    u = rng.random(k)
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
        + (rng.exponential(6, k) * 3_600e6).astype(np.int64) // 1_000_000 * 1_000_000
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


def _other_contacts(params, rng, channels, cust, biz, t, channel, pop, alive_until):
    """Contacts outside the hotline; an unresolved one is often followed up elsewhere within a day."""
    parts = []
    follow_up = 0
    while len(cust) and follow_up < 3:
        resolve = np.array([params.contacts.resolve_rate.get(c, 0.8) for c in channels])[channel]
        duration = np.array([params.contacts.duration_seconds.get(c, 120.0) for c in channels])[
            channel
        ]
        end = t + _seconds_us(rng, duration, len(t))
        outcome = np.where(rng.random(len(t)) < resolve, OUTCOME_RESOLVED, 3)
        parts.append(
            dict(
                customer=cust,
                business=biz,
                start_us=t,
                end_us=end,
                channel=channel,
                outcome=outcome,
            )
        )
        again = (outcome != OUTCOME_RESOLVED) & (
            rng.random(len(t)) < params.contacts.cross_channel_repeat
        )
        nt = (
            end + (rng.uniform(0.3, 20, len(t)) * HOUR_US).astype(np.int64) // 1_000_000 * 1_000_000
        )
        again &= nt < alive_until[cust]
        prefs = pop.preferences[cust[again], biz[again]].copy()
        prefs[np.arange(again.sum()), channel[again]] = 0  # try somewhere else
        prefs[:, [channels.index(c) for c in HOTLINE]] = 0  # (hotline follow-ups come as redials)
        prefs += 1e-9
        cust, biz, t = cust[again], biz[again], nt[again]
        channel = categorical(rng, prefs / prefs.sum(1, keepdims=True))
        follow_up += 1
    return _concat(parts) or dict(
        customer=np.zeros(0, np.int64),
        business=np.zeros(0, np.int64),
        start_us=np.zeros(0, np.int64),
        end_us=np.zeros(0, np.int64),
        channel=np.zeros(0, np.int64),
        outcome=np.zeros(0, np.int64),
    )


SATISFIED, NEUTRAL, DISSATISFIED = 0, 1, 2


def _surveys(params, rng, calls: Calls, contacts, channels):
    """SMS surveys after agent and store contacts, IVR surveys after calls that stayed in the IVR.

    Satisfaction follows the peak and the end of the contact (peak-end rule): the worst moment
    (a long wait for the agent, a transfer) and whether it ended resolved.
    """
    sv = params.surveys
    store = channels.index("store")
    # Agent legs of hotline calls.
    a = np.flatnonzero(
        calls.is_transferred & (rng.random(len(calls.customer)) < sv.sms_after_agent)
    )
    wait = (calls.agent_start_us[a] - calls.ivr_end_us[a]) / 1e6
    agent_good = np.where(calls.agent_resolved[a], np.where(wait > 60, 0.55, 0.8), 0.12)
    # Store visits.
    s = np.flatnonzero(
        (contacts["channel"] == store) & (rng.random(len(contacts["channel"])) < sv.sms_after_agent)
    )
    store_good = np.where(contacts["outcome"][s] == OUTCOME_RESOLVED, 0.8, 0.15)
    # Calls that ended in the IVR.
    i = np.flatnonzero(
        ~calls.is_transferred & (rng.random(len(calls.customer)) < sv.ivr_after_call)
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
    u = rng.random(len(customer))
    satisfaction = np.where(
        u < p_good, SATISFIED, np.where(u < p_good + (1 - p_good) * 0.35, NEUTRAL, DISSATISFIED)
    )
    is_sms = kind != 2
    replied = rng.random(len(customer)) < np.where(is_sms, sv.sms_reply_rate, sv.ivr_reply_rate)
    replied_at = (
        sent
        + (rng.exponential(900, len(customer)) * 1e6).astype(np.int64) // 1_000_000 * 1_000_000
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
        text_draw=rng.random(len(customer)),
    )
