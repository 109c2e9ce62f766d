"""One chunk of customers, all months: the events of every entity as NumPy arrays.

A chunk has its own random stream (seeded by the world's seed and the chunk's number), so
the world is the same whatever number of chunks is generated at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from touchpoint.simulate.hotline import OUTCOME_RESOLVED, Calls, simulate_calls
from touchpoint.simulate.menu import Menu
from touchpoint.simulate.params import SimParams
from touchpoint.simulate.population import Population, categorical, draw_population, month_bounds
from touchpoint.simulate.timing import DAY_US, HOUR_US, sample_times

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
    rng = np.random.default_rng([seed, number])
    businesses = list(params.contacts.needs_per_month)
    pop = draw_population(params, rng, first, n, months, businesses, channels)
    seg = list(params.segments.values())
    regions = list(params.population.regions.values())
    escalation = np.array([r.escalation for r in regions])[pop.region]
    competitor = np.array([r.competitor for r in regions])[pop.region]
    bounds = month_bounds(params.start_month, months)
    leave = np.full(n, NEVER, dtype=np.int64)
    churn_month = np.full(n, -1)
    churn_reason = np.full(n, -1)
    had_complaint = np.zeros(n, dtype=bool)
    had_unresolved = np.zeros(n, dtype=bool)
    in_network, left = np.zeros(months, dtype=np.int64), np.zeros(months, dtype=np.int64)
    need_rates = np.array(list(params.contacts.needs_per_month.values()))
    seg_needs = np.array([s.needs for s in seg])[pop.segment]
    c_index = {c: i for i, c in enumerate(channels)}
    hotline_idx = [c_index[c] for c in HOTLINE]
    pay_channels = np.array([c_index[c] for c in params.payments.channel_weights])
    pref_sum = np.zeros_like(pop.preferences)
    call_parts, contact_parts, payment_parts, bill_parts = [], [], [], []
    complaint_parts, order_parts, offer_parts = [], [], []
    arpu = pop.arpu_yuan.copy()
    points = (arpu * rng.uniform(5, 40, n)).astype(np.int64)

    for m in range(months):
        start, end = bounds[m], bounds[m + 1]
        at_start = (pop.join_us < start) & (leave >= start)
        in_network[m] = at_start.sum()
        # Churn this month: a monthly hazard from last month's experience.
        factors = {
            "service_level": np.where(had_complaint, params.churn.complaint_factor, 1.0),
            "channel_behaviour": np.where(had_unresolved, params.churn.unresolved_factor, 1.0),
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
        leaving = at_start & (rng.random(n) < np.minimum(hazard, 0.9))
        leave_day = start + (rng.random(n) * ((end - start) // DAY_US)).astype(np.int64) * DAY_US
        leave = np.where(leaving, leave_day, leave)
        churn_month = np.where(leaving, m, churn_month)
        # The planted reason: drawn in proportion to each driver's part of the hazard.
        weights = np.stack([np.log(factors.get(r, np.ones(n))) for r in CHURN_REASONS], axis=1)
        weights = np.maximum(weights, 0) + 0.15  # a little of every reason, as in life
        churn_reason = np.where(
            leaving, categorical(rng, weights / weights.sum(1, keepdims=True)), churn_reason
        )
        left[m] = leaving.sum()

        lo, hi = np.maximum(pop.join_us, start), np.minimum(leave, end)
        alive = lo < hi
        # Preferences drift, and are pulled back towards the segment's habits.
        d = params.contacts.preference_drift
        noise = rng.gamma(
            np.maximum(pop.baseline * params.contacts.preference_concentration * 3, 1e-9)
        )
        noise /= noise.sum(-1, keepdims=True)
        pop.preferences = (1 - d) * pop.preferences + d * noise
        pref_sum += pop.preferences

        # Needs, their time and the channel chosen for each.
        counts = rng.poisson(need_rates[None, :] * seg_needs[:, None]) * alive[:, None]
        cust, biz = np.nonzero(counts)
        reps = counts[cust, biz]
        cust, biz = np.repeat(cust, reps), np.repeat(biz, reps)
        bill_cycle = np.isin(
            biz, [businesses.index(b) for b in ("bill_query", "payment") if b in businesses]
        )
        t = sample_times(rng, start, end, len(cust), bill_cycle)
        keep = (t >= lo[cust]) & (t < hi[cust])
        cust, biz, t = cust[keep], biz[keep], t[keep]
        channel = categorical(rng, pop.preferences[cust, biz])
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
                channel[is_hot] == c_index["agent"],
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
        had_unresolved = unresolved

        # Payments, bills, complaints, orders and marketing offers.
        n_pay = rng.poisson(params.payments.per_month, n) * alive
        pc = np.repeat(np.arange(n), n_pay)
        pt = sample_times(rng, start, end, len(pc), np.ones(len(pc), dtype=bool))
        ok = (pt >= lo[pc]) & (pt < hi[pc])
        pc, pt = pc[ok], pt[ok]
        payment_parts.append(
            dict(
                customer=pc,
                at_us=pt,
                channel=pay_channels[categorical(rng, pop.payment_preferences[pc])],
                amount=np.round(arpu[pc] * rng.uniform(0.8, 2.5, len(pc)) / 10) * 10,
            )
        )
        arpu = arpu * pop.arpu_trend * rng.lognormal(0, 0.05, n)
        points = points + (arpu * rng.uniform(0.5, 1.5, n)).astype(np.int64) * alive
        billed = alive
        bill_parts.append(
            dict(
                customer=np.flatnonzero(billed),
                month_us=np.full(billed.sum(), start),
                arpu=np.round(arpu[billed], 2),
                voice=np.round(arpu[billed] * rng.uniform(1, 6, billed.sum()), 1),
                data=np.round(arpu[billed] * rng.uniform(5, 60, billed.sum()), 1),
                sms=rng.poisson(20, billed.sum()),
                points=points[billed],
                arrears=np.where(
                    rng.random(billed.sum()) < 0.04,
                    np.round(arpu[billed] * rng.uniform(0.2, 1.0, billed.sum()), 2),
                    0.0,
                ),
            )
        )
        rate = (
            params.complaints.per_month
            * np.where(pop.is_sensitive, params.complaints.sensitive_factor, 1.0)
            * (1 + 2 * unresolved)
        )
        cc = np.repeat(np.arange(n), rng.poisson(rate) * alive)
        ct = sample_times(rng, start, end, len(cc), np.zeros(len(cc), dtype=bool))
        ok = (ct >= lo[cc]) & (ct < hi[cc])
        complaint_parts.append(dict(customer=cc[ok], at_us=ct[ok]))
        had_complaint = np.zeros(n, dtype=bool)
        had_complaint[cc[ok]] = True
        digital = np.array([s.digital for s in seg])[pop.segment]
        oc = np.repeat(np.arange(n), rng.poisson(params.orders.per_month * digital) * alive)
        ot = sample_times(rng, start, end, len(oc), np.zeros(len(oc), dtype=bool))
        ok = (ot >= lo[oc]) & (ot < hi[oc])
        nb = businesses.index("new_business")
        order_parts.append(
            dict(
                customer=oc[ok], at_us=ot[ok], channel=categorical(rng, pop.preferences[oc[ok], nb])
            )
        )
        offered = alive & (rng.random(n) < params.campaigns.offers_per_month)
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
    return Chunk(
        number=number,
        population=pop,
        leave_us=leave,
        churn_month=churn_month,
        churn_reason=churn_reason,
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
