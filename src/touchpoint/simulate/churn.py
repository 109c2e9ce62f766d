"""Churn: a monthly hazard from last month's experience, and the planted reason of who leaves."""

from __future__ import annotations

import numpy as np

from touchpoint.simulate import keyed_random as kr
from touchpoint.simulate.keyed_random import Site
from touchpoint.simulate.params import SimParams
from touchpoint.simulate.timing import DAY_US

CHURN_REASONS = (
    "product_quality",
    "policy",
    "service_level",
    "management",  # internal
    "channel_behaviour",
    "competitors",
    "customer_behaviour",  # external
)


def churn_factors(params: SimParams, state, start: int, competitor: np.ndarray) -> dict:
    """Per churn driver: each customer's factor on the base hazard this month (1 = none)."""
    pop = state.population
    return {
        "product_quality": np.where(state.had_fault, params.churn.fault_factor, 1.0),
        "management": np.where(state.had_arrears, params.churn.arrears_factor, 1.0),
        "service_level": np.where(state.had_complaint, params.churn.complaint_factor, 1.0),
        "channel_behaviour": np.where(state.had_unresolved, params.churn.unresolved_factor, 1.0),
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


def churn(params: SimParams, leg, state, treatments, m: int, start: int, end: int, cm) -> tuple:
    """Who leaves in month ``m`` (from ``start`` to ``end``), when and why: ``state``'s
    ``leave_us``, ``churn_month`` and ``churn_reason`` are updated.

    Returns
    -------
    tuple
        (customers in the network at the month's start, customers who left in it).
    """
    pop, n = state.population, len(state.population.index)
    at_start = (pop.join_us < start) & (state.leave_us >= start)
    factors = churn_factors(params, state, start, leg.competitor)
    hazard = params.churn.monthly_base * leg.seg_churn
    for f in factors.values():
        hazard = hazard * f
    hazard = treatments.churn_hazard(params, hazard, m, pop.join_us < start)
    leaving = at_start & (kr.uniform(kr.fold(cm, Site.CHURN)) < np.minimum(hazard, 0.9))
    days = (end - start) // DAY_US
    leave_day = start + (kr.uniform(kr.fold(cm, Site.LEAVE_DAY)) * days).astype(np.int64) * DAY_US
    state.leave_us = np.where(leaving, leave_day, state.leave_us)
    state.churn_month = np.where(leaving, m, state.churn_month)
    # The planted reason: drawn in proportion to each driver's part of the hazard.
    reason_weights = np.stack([np.log(factors.get(r, np.ones(n))) for r in CHURN_REASONS], axis=1)
    # (and a little of every reason: nobody leaves for one cause alone)
    reason_weights = np.maximum(reason_weights, 0) + params.churn.reason_floor
    state.churn_reason = np.where(
        leaving,
        kr.categorical(kr.fold(cm, Site.CHURN_REASON), reason_weights),
        state.churn_reason,
    )
    return at_start.sum(), leaving.sum()
