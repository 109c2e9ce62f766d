"""Hand-worked cases for the simulator's small pieces."""

from __future__ import annotations

import math

import numpy as np
import pytest

from touchpoint.simulate import keyed_random as kr
from touchpoint.simulate import load_params
from touchpoint.simulate.contacts import hotline_follow_ups
from touchpoint.simulate.hotline import (
    OUTCOME_ABANDONED,
    OUTCOME_RESOLVED,
    OUTCOME_TRANSFERRED,
    OUTCOME_UNRESOLVED,
    Calls,
)
from touchpoint.simulate.keyed_random import Site
from touchpoint.simulate.population import month_bounds
from touchpoint.simulate.timing import DAY_US, HOUR_US, day_weights, exposure
from touchpoint.simulate.work_orders import Plan, divert, per_customer, work_order_outcomes


def test_day_weights_of_february_2026():
    timing = load_params().timing
    start, end = month_bounds(load_params().start_month, 3)[1:3]  # February
    base, peak = day_weights(timing, start, end)
    assert len(base) == 28 and base.sum() == pytest.approx(1) == peak.sum()
    # 2026-02-02 is a Monday, 2026-02-07 a Saturday, 2026-02-17 the Spring Festival (0.4).
    assert base[6] / base[1] == pytest.approx(timing.weekend_factor)
    assert base[16] / base[1] == pytest.approx(0.4)
    # The bill-cycle peak: the first five days weigh bill_peak_factor times more.
    assert peak[1] / peak[9] == pytest.approx(timing.bill_peak_factor)
    # Exposure: the whole month, nothing, and a customer who leaves on day 14.
    lo = np.array([start, start, start])
    hi = np.array([end, start, start + 14 * DAY_US])
    assert exposure(base, start, lo, hi).tolist() == pytest.approx([1.0, 0.0, base[:14].sum()])


def test_divert_moves_the_share_and_keeps_the_sum():
    p = np.array([[0.5, 0.3, 0.2, 0.0]])
    moved = divert(p, np.array([0.5]), np.array([0, 1]), np.array([[0, 0, 0.25, 0.75]]))
    # Half of 0.8 leaves the first two channels: 0.1 to the third, 0.3 to the fourth.
    assert moved.tolist()[0] == pytest.approx([0.25, 0.15, 0.3, 0.3])


def _plan(**kw):
    base = dict(
        row=np.array([0, 1, 2]),
        key=np.array([11, 12, 13], dtype=np.uint64),
        customer=np.array([0, 0, 1]),
        action=np.array([0, 0, 2]),
        month=np.array([3, 4, 3]),
        sent_us=np.array([10, 10, 10]),
        strength=np.array([0.5, 0.2, 0.4]),
        is_annoyed=np.array([False, False, False]),
    )
    base.update(kw)
    return Plan(**base)


def test_two_work_orders_combine_and_start_with_the_first():
    start, strength = per_customer(3, _plan(), 0)
    assert start[0] == 3 and strength[0] == pytest.approx(1 - 0.5 * 0.8)
    assert strength[1] == 0 and start[1] == np.iinfo(np.int64).max


def test_individual_effects_from_expected_counts_and_hazards():
    class State:
        leave_us = np.array([2**62, 2**62])

    outcomes = work_order_outcomes(
        _plan(),
        State(),
        {
            0: (np.array([1.0, 0.0]), np.array([0.5, 0.0]), False),  # expected store payments
            1: (np.zeros(2), np.zeros(2), False),
            2: (np.array([0.0, math.log(0.9)]), np.array([0.0, math.log(0.95)]), True),
        },
    )
    # P(at least one store payment) = 1 - exp(-expected): 0.632 without, 0.393 with.
    assert outcomes["p_without"][0] == pytest.approx(1 - math.exp(-1.0))
    assert outcomes["p_with"][0] == pytest.approx(1 - math.exp(-0.5))
    # Churn: survival 0.9 without the offer, 0.95 with it: churn falls by 0.05.
    assert outcomes["p_with"][2] - outcomes["p_without"][2] == pytest.approx(-0.05)


def test_ids_rank_rows_within_their_customer_month():
    from touchpoint.errors import ConfigError
    from touchpoint.simulate.tables import id_numbers

    customer = np.array([7, 7, 3, 7, 3, 7])
    month = np.array([0, 0, 0, 1, 0, 0])
    # Customer 7, month 0: rows 0, 1, 5 -> ranks 0, 1, 2; customer 3: rows 2, 4 -> 0, 1.
    assert id_numbers(customer, month).tolist() == [
        700000,
        700001,
        300000,
        701000,  # (customer 7, month 01, rank 000)
        300001,
        700002,
    ]
    with pytest.raises(ConfigError, match="rows of one kind in a month"):
        id_numbers(np.zeros(1001, dtype=np.int64), np.zeros(1001, dtype=np.int64))


def _calls(**kw) -> Calls:
    """Four hotline calls of customer 0 about business 1: resolved in the IVR, failed and
    redialled, failed and given up, and transferred to an agent who could not solve it."""
    n = 4
    zeros = np.zeros(n, dtype=np.int64)
    base = dict(
        customer=zeros.copy(),
        business=np.ones(n, dtype=np.int64),
        start_us=np.array([0, 1, 2, 3]) * HOUR_US,
        ivr_end_us=np.array([0, 1, 2, 3]) * HOUR_US + 60_000_000,
        ivr_outcome=np.array(
            [OUTCOME_RESOLVED, OUTCOME_UNRESOLVED, OUTCOME_ABANDONED, OUTCOME_TRANSFERRED]
        ),
        terminal=zeros.copy(),
        is_transferred=np.array([False, False, False, True]),
        agent_start_us=np.array([0, 0, 0, 3 * HOUR_US + 90_000_000]),
        agent_end_us=np.array([0, 0, 0, 3 * HOUR_US + 400_000_000]),
        agent_resolved=np.zeros(n, dtype=bool),
        redialled=np.array([False, True, False, False]),
        event_call=zeros[:0],
        event_seq=zeros[:0],
        event_us=zeros[:0],
        event_node=zeros[:0],
        event_type=zeros[:0],
        event_key=np.zeros(0, dtype=object),
        key=np.array([101, 102, 103, 104], dtype=np.uint64),
        month=zeros.copy(),
    )
    base.update(kw)
    return Calls(**base)


def _params_with_hotline_repeat(p: float):
    params = load_params()
    contacts = params.contacts.model_copy(update={"hotline_cross_channel_repeat": p})
    return params.model_copy(update={"contacts": contacts})


def test_a_caller_who_gives_up_on_the_hotline_tries_another_channel():
    channels = ["ivr", "agent", "store", "web"]
    habits = np.array([[[0.25, 0.25, 0.25, 0.25]] * 2])  # [customer, business, channel]
    calls = _calls()
    far = np.array([10 * DAY_US])
    tried = hotline_follow_ups(_params_with_hotline_repeat(1.0), calls, channels, habits, far)
    # Only the calls that failed and were not redialled: the abandoned one and the agent leg.
    assert tried["key"].tolist() == kr.fold(calls.key[[2, 3]], Site.HOTLINE_FOLLOW_UP).tolist()
    assert set(tried["channel"].tolist()) <= {2, 3}  # never back to the hotline
    ended = np.array([2 * HOUR_US + 60_000_000, 3 * HOUR_US + 400_000_000])
    gap_hours = (tried["start_us"] - ended) / HOUR_US
    assert ((gap_hours >= 0.3 - 1e-6) & (gap_hours <= 20)).all()
    none = hotline_follow_ups(_params_with_hotline_repeat(0.0), calls, channels, habits, far)
    assert len(none["key"]) == 0
    # Nobody follows up after leaving the network (here: before the earliest possible try).
    left_at = np.array([ended[0] + int(0.3 * HOUR_US) - 1])
    gone = hotline_follow_ups(_params_with_hotline_repeat(1.0), calls, channels, habits, left_at)
    assert len(gone["key"]) == 0
