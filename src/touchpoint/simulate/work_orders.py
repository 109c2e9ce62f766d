"""Work orders of a continued world: each one's planted effect, how it changes its customer's
habits and churn month by month, and the outcome it would have had with and without it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from touchpoint.simulate import keyed_random as kr
from touchpoint.simulate.keyed_random import Site
from touchpoint.simulate.params import SimParams
from touchpoint.simulate.population import Population
from touchpoint.simulate.timing import exposure

ACTIONS = (
    "divert_store_payment_to_self_service",
    "divert_agent_to_self_service",
    "retention_offer",
)
STORE_ACTION, AGENT_ACTION, RETENTION_ACTION = range(3)
RESPONSES = ("accepted", "declined", "no_response", "opted_out")
NEVER_MONTH = np.iinfo(np.int64).max


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
    # Rows of a randomised holdout listed in the file: never sent, their effect is computed
    # as if they had been (the oracle for uplift models), nothing else changes.
    holdout: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.holdout is None:
            self.holdout = np.zeros(len(self.row), dtype=bool)

    @classmethod
    def empty(cls) -> Plan:
        z = np.zeros(0, dtype=np.int64)
        return cls(z, z.astype(np.uint64), z, z, z, z, np.zeros(0), np.zeros(0, dtype=bool))

    def subset(self, rows: np.ndarray) -> Plan:
        """The work orders where ``rows`` (a boolean mask) is true."""
        return Plan(
            *(getattr(self, f)[rows] for f in self.__dataclass_fields__ if f != "holdout"),
            holdout=self.holdout[rows],
        )


def age_band(params: SimParams, birth_year: np.ndarray, month: int) -> np.ndarray:
    """0 young, 1 middle, 2 senior, at the given month."""
    age = params.start_month.year + month // 12 - birth_year
    t = params.treatments
    return np.where(age < t.young_under, 0, np.where(age < t.senior_from, 1, 2))


def destinations(params, action: str, names: list[str], band: np.ndarray) -> np.ndarray:
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


def divert(p: np.ndarray, moved_share: np.ndarray, source: np.ndarray, dest: np.ndarray):
    """Move ``moved_share`` of the weight on ``source`` columns to ``dest`` (rows sum kept)."""
    if not len(p):
        return p
    p = p.copy()
    moved = (p[:, source] * moved_share[:, None]).sum(axis=1)
    p[:, source] *= (1 - moved_share)[:, None]
    return p + moved[:, None] * dest


def plan_work_orders(
    params: SimParams,
    state,
    seed: int,
    row: np.ndarray,
    customer: np.ndarray,
    action: np.ndarray,
    month: np.ndarray,
    sent_us: np.ndarray,
    holdout: np.ndarray | None = None,
) -> Plan:
    """Draw each work order's planted effect: heterogeneous by age, brand and segment; none,
    and annoyance instead, for customers who have been contacted too often.

    ``holdout`` rows are drawn the same way but never sent: a holdout row counts itself and
    the customer's sent orders towards annoyance, and no sent order counts it."""
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
    holdout = np.zeros(len(customer), dtype=bool) if holdout is None else holdout
    sent = np.bincount(customer[~holdout], minlength=len(pop.index))[customer]
    n_orders = sent + holdout
    p_annoyed = np.clip(
        t.annoyance.base
        + t.annoyance.per_recent_contact * (state.recent_offers[customer] + n_orders - 1)
        + t.annoyance.sensitive * pop.is_sensitive[customer],
        0,
        0.95,
    )
    annoyed = kr.uniform(kr.fold(keys, Site.ANNOYED)) < p_annoyed
    strength = np.where(annoyed, 0.0, strength)
    return Plan(row, keys, customer, action, month, sent_us, strength, annoyed, holdout)


def per_customer(
    n: int, plan: Plan, action: int, holdout: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """(first month of the action's effect, combined strength) per customer; NEVER-month if none.
    Sent work orders, or with ``holdout`` the holdout rows."""
    start = np.full(n, NEVER_MONTH)
    keep = np.ones(n)
    rows = (plan.action == action) & (plan.holdout == holdout)
    np.minimum.at(start, plan.customer[rows], plan.month[rows])
    np.multiply.at(keep, plan.customer[rows], 1 - plan.strength[rows])
    return start, 1 - keep


class Treatments:
    """A leg's work orders per customer, applied month by month.

    When each action starts and how strong it is, who is annoyed from when; the habit changes
    with the work orders and (for the planted effects) without them; and the expected outcome
    counts with and without them: store payments, needs taken to the agent, and log survival.
    """

    def __init__(self, params: SimParams, plan: Plan, state, channels: list[str]) -> None:
        pop, n = state.population, len(state.population.index)
        self.plan = plan
        pay_names = list(params.payments.channel_weights)
        band = age_band(params, pop.birth_year, state.month)
        self.pay_dest = destinations(params, ACTIONS[STORE_ACTION], pay_names, band)
        self.agent_dest = destinations(params, ACTIONS[AGENT_ACTION], channels, band)
        self.store_from, self.store_strength = per_customer(n, plan, STORE_ACTION)
        self.agent_from, self.agent_strength = per_customer(n, plan, AGENT_ACTION)
        self.retain_from, self.retain_strength = per_customer(n, plan, RETENTION_ACTION)
        self.annoyed_from = np.full(n, NEVER_MONTH)
        annoyed = plan.is_annoyed & ~plan.holdout
        np.minimum.at(self.annoyed_from, plan.customer[annoyed], plan.month[annoyed])
        self.shadow = _Shadow(plan, state, n) if plan.holdout.any() else None
        # Without this leg's work orders, earlier habit changes would fade all the same.
        self.divert_payment_without = state.divert_payment.copy()
        self.divert_agent_without = state.divert_agent.copy()
        self.store_with, self.store_without = np.zeros(n), np.zeros(n)
        self.agent_with, self.agent_without = np.zeros(n), np.zeros(n)
        self.stay_with, self.stay_without = np.zeros(n), np.zeros(n)  # log survival
        self.in_at_leg_start = state.leave_us == np.iinfo(np.int64).max
        self.treated = np.zeros(n, dtype=bool)
        self.treated[plan.customer[~plan.holdout]] = True

    def is_annoyed(self, month: int) -> np.ndarray:
        """Per customer: annoyed by a work order by ``month``."""
        return month >= self.annoyed_from

    def churn_hazard(
        self, params: SimParams, hazard: np.ndarray, month: int, joined: np.ndarray
    ) -> np.ndarray:
        """``hazard`` after retention offers (lower) and annoyance (higher); the treated
        customers' survival with and without the offers is kept for the planted effect."""
        treated_hazard = (
            hazard
            * np.where(month >= self.retain_from, 1 - self.retain_strength, 1.0)
            * np.where(self.is_annoyed(month), params.treatments.annoyance.churn_factor, 1.0)
        )
        at_risk = self.treated & self.in_at_leg_start & joined
        self.stay_without += np.where(
            at_risk & (month >= self.retain_from), np.log1p(-np.minimum(hazard, 0.9)), 0
        )
        self.stay_with += np.where(
            at_risk & (month >= self.retain_from), np.log1p(-np.minimum(treated_hazard, 0.9)), 0
        )
        if self.shadow is not None:
            self.shadow.churn(params, treated_hazard, month, self.in_at_leg_start & joined)
        return treated_hazard

    def move_habits(self, params: SimParams, state, month: int) -> None:
        """Habit changes planted by work orders fade, and new ones start this month."""
        keep = params.treatments.persistence
        for name, without, from_, strength in (
            ("divert_payment", self.divert_payment_without, self.store_from, self.store_strength),
            ("divert_agent", self.divert_agent_without, self.agent_from, self.agent_strength),
        ):
            current = getattr(state, name) * keep
            without *= keep
            starts = from_ == month
            setattr(state, name, np.where(starts, 1 - (1 - current) * (1 - strength), current))
        if self.shadow is not None:
            self.shadow.move_habits(params, self, month)

    def habits(
        self, pop: Population, state, agent: int, pay_stores: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The habits that draw this month's channels: latent weights after any diversion
        ([customer, business, channel] and [customer, payment channel])."""
        habits, payment_habits = pop.preferences, pop.payment_preferences
        moved = np.flatnonzero(state.divert_agent > 0)
        if len(moved):
            b, c = habits.shape[1:]
            habits = habits.copy()
            habits[moved] = divert(
                habits[moved].reshape(-1, c),
                np.repeat(state.divert_agent[moved], b),
                np.array([agent]),
                np.repeat(self.agent_dest[moved], b, axis=0),
            ).reshape(-1, b, c)
        moved = np.flatnonzero(state.divert_payment > 0)
        if len(moved):
            payment_habits = payment_habits.copy()
            payment_habits[moved] = divert(
                payment_habits[moved], state.divert_payment[moved], pay_stores, self.pay_dest[moved]
            )
        return habits, payment_habits

    def add_expected(self, params: SimParams, leg, month, state) -> None:
        """This month's expected store payments and needs taken to the agent of the treated
        customers, with the work orders and without them."""
        pop, m = leg.pop, month.number
        base_exposure = exposure(month.weights[0], month.start, month.lo, month.hi)
        bill_exposure = exposure(month.weights[1], month.start, month.lo, month.hi)
        store_share = pop.payment_preferences[:, leg.pay_stores].sum(1)
        expected_pay = params.payments.per_month * bill_exposure * store_share
        on = self.treated & (m >= self.store_from)
        self.store_with += np.where(on, expected_pay * (1 - state.divert_payment), 0)
        self.store_without += np.where(on, expected_pay * (1 - self.divert_payment_without), 0)
        need_exposure = np.where(
            leg.is_bill_business[None, :], bill_exposure[:, None], base_exposure[:, None]
        )
        expected_agent = (
            leg.need_rates[None, :]
            * leg.seg_needs[:, None]
            * need_exposure
            * pop.preferences[:, :, leg.agent]
        ).sum(1)
        on = self.treated & (m >= self.agent_from)
        self.agent_with += np.where(on, expected_agent * (1 - state.divert_agent), 0)
        self.agent_without += np.where(on, expected_agent * (1 - self.divert_agent_without), 0)
        if self.shadow is not None:
            self.shadow.add_expected(m, expected_pay, expected_agent, state)

    def outcomes(self, state) -> dict[str, np.ndarray]:
        """Each work order's outcome with and without it, and its response
        (:func:`work_order_outcomes`)."""
        return work_order_outcomes(
            self.plan.subset(~self.plan.holdout),
            state,
            {
                STORE_ACTION: (self.store_without, self.store_with, False),
                AGENT_ACTION: (self.agent_without, self.agent_with, False),
                RETENTION_ACTION: (self.stay_without, self.stay_with, True),
            },
        )

    def holdout_outcomes(self, state) -> dict[str, np.ndarray]:
        """The holdout rows' outcome with and without a work order (none was sent)."""
        if self.shadow is None:
            return {}
        return self.shadow.outcomes(state)


class _Shadow:
    """What the holdout rows of a plan would have done had they been sent.

    The would-be habit changes start from the customer's real ones, follow the same fading
    and add the holdout row's strength from its month; "with" is that world, "without" the
    real one (the holdout row changes nothing that happens)."""

    def __init__(self, plan: Plan, state, n: int) -> None:
        self.plan = plan.subset(plan.holdout)
        self.store_from, self.store_strength = per_customer(n, plan, STORE_ACTION, True)
        self.agent_from, self.agent_strength = per_customer(n, plan, AGENT_ACTION, True)
        self.retain_from, self.retain_strength = per_customer(n, plan, RETENTION_ACTION, True)
        self.annoyed_from = np.full(n, NEVER_MONTH)
        annoyed = self.plan.is_annoyed
        np.minimum.at(self.annoyed_from, self.plan.customer[annoyed], self.plan.month[annoyed])
        self.listed = np.zeros(n, dtype=bool)
        self.listed[self.plan.customer] = True
        self.divert_payment = state.divert_payment.copy()
        self.divert_agent = state.divert_agent.copy()
        self.store_with, self.store_without = np.zeros(n), np.zeros(n)
        self.agent_with, self.agent_without = np.zeros(n), np.zeros(n)
        self.stay_with, self.stay_without = np.zeros(n), np.zeros(n)

    def churn(self, params: SimParams, hazard: np.ndarray, month: int, at_risk: np.ndarray):
        """``hazard`` is the real one; with the would-be offer it falls, annoyance raises it."""
        on = self.listed & at_risk & (month >= self.retain_from)
        would = (
            hazard
            * np.where(month >= self.retain_from, 1 - self.retain_strength, 1.0)
            * np.where(month >= self.annoyed_from, params.treatments.annoyance.churn_factor, 1.0)
        )
        self.stay_without += np.where(on, np.log1p(-np.minimum(hazard, 0.9)), 0)
        self.stay_with += np.where(on, np.log1p(-np.minimum(would, 0.9)), 0)

    def move_habits(self, params: SimParams, real: Treatments, month: int) -> None:
        keep = params.treatments.persistence
        for name, pairs in (
            (
                "divert_payment",
                ((real.store_from, real.store_strength), (self.store_from, self.store_strength)),
            ),
            (
                "divert_agent",
                ((real.agent_from, real.agent_strength), (self.agent_from, self.agent_strength)),
            ),
        ):
            current = getattr(self, name) * keep
            for from_, strength in pairs:
                current = np.where(from_ == month, 1 - (1 - current) * (1 - strength), current)
            setattr(self, name, current)

    def add_expected(self, m: int, expected_pay, expected_agent, state) -> None:
        on = self.listed & (m >= self.store_from)
        self.store_with += np.where(on, expected_pay * (1 - self.divert_payment), 0)
        self.store_without += np.where(on, expected_pay * (1 - state.divert_payment), 0)
        on = self.listed & (m >= self.agent_from)
        self.agent_with += np.where(on, expected_agent * (1 - self.divert_agent), 0)
        self.agent_without += np.where(on, expected_agent * (1 - state.divert_agent), 0)

    def outcomes(self, state) -> dict[str, np.ndarray]:
        return work_order_outcomes(
            self.plan,
            state,
            {
                STORE_ACTION: (self.store_without, self.store_with, False),
                AGENT_ACTION: (self.agent_without, self.agent_with, False),
                RETENTION_ACTION: (self.stay_without, self.stay_with, True),
            },
        )


def work_order_outcomes(plan: Plan, state, expected) -> dict:
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
