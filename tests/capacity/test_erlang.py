"""Erlang B / C / A against published worked examples, exact identities and a simulation."""

from __future__ import annotations

import heapq
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import linalg, stats

from touchpoint.capacity import (
    StaffingError,
    agents_needed,
    erlang_a_measures,
    erlang_b,
    erlang_c,
    erlang_c_measures,
    offered_wait_tail,
)


def test_erlang_b_against_the_table():
    # Erlang B tables (e.g. Cooper, Introduction to Queueing Theory, Table I): 10 trunks
    # at 5 E block 1.84 %; 20 trunks at 15 E block 4.56 % (tables round to 3 digits).
    assert erlang_b(10, 5.0) == pytest.approx(0.018385, abs=1e-6)
    assert erlang_b(20, 15.0) == pytest.approx(0.0456, abs=5e-5)
    # And by the closed form a^n/n! / sum a^k/k! for a small case.
    a, n = 3.0, 4
    closed = a**n / math.factorial(n) / sum(a**k / math.factorial(k) for k in range(n + 1))
    assert erlang_b(n, a) == pytest.approx(closed, rel=1e-12)


def test_erlang_c_worked_example_360_calls_per_half_hour():
    # The classic worked example of the Erlang C formula ("The Erlang-C formula", Mitan /
    # Westbay Engineers' call-centre mathematics pages): 360 calls per half hour, 4-minute
    # calls, 55 agents, 15-second target -> traffic 48 E, occupancy 87.3 %, probability of
    # waiting 23.87 %, average speed of answer 8.2 s, service level 84.6 %.
    m = erlang_c_measures(55, 360 / 1800, 240.0, 15.0)
    assert m.load == pytest.approx(48.0)
    assert m.occupancy == pytest.approx(0.873, abs=5e-4)
    assert m.p_wait == pytest.approx(0.2387, abs=5e-5)
    assert m.asa == pytest.approx(8.2, abs=0.05)
    assert m.service_level == pytest.approx(0.846, abs=5e-4)


def test_erlang_c_worked_example_100_calls_80_in_20():
    # Call Centre Helper's worked Erlang C example: 100 calls in 30 minutes, AHT 180 s,
    # 80 % answered in 20 s -> 10 E, 14 agents, probability of waiting 17.4 %, SL 88.8 %.
    m = agents_needed(100 / 1800, 180.0, target_sl=0.8, threshold=20.0)
    assert m.agents == 14
    assert m.p_wait == pytest.approx(0.1741, abs=5e-5)
    assert m.service_level == pytest.approx(0.888, abs=5e-4)
    # 13 agents fall short: the search returns the fewest, not merely enough.
    assert erlang_c_measures(13, 100 / 1800, 180.0, 20.0).service_level < 0.8


def test_erlang_c_mm1_closed_form():
    # M/M/1: P(wait) = rho, ASA = rho / (mu - lambda).
    m = erlang_c_measures(1, 0.5 / 60, 60.0, 0.0)
    assert m.p_wait == pytest.approx(0.5)
    assert m.asa == pytest.approx(0.5 / (1 / 60 - 0.5 / 60))
    assert erlang_c(3, 3.0) == 1.0  # overloaded: everybody waits


def test_erlang_a_with_patience_equal_to_handle_time_is_m_m_infinity():
    # theta = mu: the number in system is Poisson(a) whatever n, so P(W > 0) = P(N >= n)
    # and P(abandon) = E[(N - n)+] / a.
    for n, a in [(3, 2.0), (20, 18.0), (120, 110.0)]:
        m = erlang_a_measures(n, a / 60, 60.0, 60.0, 0.0)
        n_dist = stats.poisson(a)
        assert m.p_wait == pytest.approx(n_dist.sf(n - 1), rel=1e-9)
        k = np.arange(n, n + 400)
        assert m.p_abandon == pytest.approx(((k - n) * n_dist.pmf(k)).sum() / a, rel=1e-7)


def test_erlang_a_tends_to_erlang_c_as_patience_grows():
    c = erlang_c_measures(55, 360 / 1800, 240.0, 15.0)
    a = erlang_a_measures(55, 360 / 1800, 240.0, 1e9, 15.0)
    assert a.p_wait == pytest.approx(c.p_wait, rel=1e-6)
    assert a.service_level == pytest.approx(c.service_level, rel=1e-6)
    assert a.asa == pytest.approx(c.asa, rel=1e-5)
    assert a.p_abandon < 1e-7


def _ctmc_reference(n, lam, mu, theta, t, k_max=400):
    """P(W>0), P(V>t), P(served and W<=t) from the birth-death chain, by brute force."""
    rates_out = [min(j, n) * mu + max(j - n, 0) * theta for j in range(k_max)]
    log_p = np.zeros(k_max)
    for j in range(1, k_max):
        log_p[j] = log_p[j - 1] + math.log(lam) - math.log(rates_out[j])
    p = np.exp(log_p - log_p.max())
    p /= p.sum()
    p_wait = p[n:].sum()
    # Offered wait of an arrival that finds j >= n: pure death chain on the number ahead.
    m = k_max - n
    q = np.zeros((m, m))  # state i = callers ahead in queue (0..m-1); absorbing = served
    for i in range(m):
        q[i, i] = -(n * mu + i * theta)
        if i > 0:
            q[i, i - 1] = n * mu + i * theta
    surv = linalg.expm(q * t).sum(axis=1)  # P(not yet served by t | i ahead)
    p_v_gt_t = (p[n:] * surv).sum()
    # Served within t: two absorbing states, served (by an agent) and gone (own patience).
    big = np.zeros((m + 2, m + 2))
    big[:m, :m] = q - theta * np.eye(m)
    big[0, m] = n * mu  # head of the queue and an agent frees: served
    big[:m, m + 1] = theta
    absorbed_by_t = linalg.expm(big * t)[:m, m]
    served_within = (1 - p_wait) + (p[n:] * absorbed_by_t).sum()
    return p_wait, p_v_gt_t, served_within


@pytest.mark.parametrize(
    ("n", "calls_per_hour", "aht", "patience", "t"),
    [(10, 100, 300, 120, 20), (6, 80, 300, 60, 30), (25, 240, 360, 600, 20)],
)
def test_erlang_a_matches_the_birth_death_chain(n, calls_per_hour, aht, patience, t):
    lam, mu, theta = calls_per_hour / 3600, 1 / aht, 1 / patience
    p_wait, p_v, served_within = _ctmc_reference(n, lam, mu, theta, t, k_max=n + 150)
    m = erlang_a_measures(n, lam, aht, patience, t)
    assert m.p_wait == pytest.approx(p_wait, rel=1e-6)
    assert offered_wait_tail(n, lam, aht, patience, t) == pytest.approx(p_v, rel=1e-6)
    assert m.service_level == pytest.approx(served_within, abs=2e-5)


def _simulate_mmn_m(n, lam, aht, patience, t, n_calls, seed):
    """FCFS M/M/n+M: a caller takes the first free agent if that comes before they give up."""
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(1 / lam, n_calls))
    services = rng.exponential(aht, n_calls)
    patiences = rng.exponential(patience, n_calls)
    free = [0.0] * n
    waited = abandoned = within = 0
    waits = []
    for a, s, p in zip(arrivals, services, patiences, strict=True):
        start = max(a, free[0])
        if start - a > p:  # hangs up first: the agent stays free for the next caller
            abandoned += 1
            waited += 1
            waits.append(p)
            continue
        heapq.heapreplace(free, start + s)
        waited += start > a
        within += start - a <= t
        waits.append(start - a)
    return waited / n_calls, abandoned / n_calls, within / n_calls, float(np.mean(waits))


def test_erlang_a_matches_a_discrete_event_simulation():
    n, lam, aht, patience, t = 12, 130 / 3600, 300.0, 90.0, 20.0
    calls = 60_000
    sim = _simulate_mmn_m(n, lam, aht, patience, t, calls, seed=7)
    m = erlang_a_measures(n, lam, aht, patience, t)
    # Autocorrelated queue: allow about 4 binomial standard errors times 3.
    for got, want in [(sim[0], m.p_wait), (sim[1], m.p_abandon), (sim[2], m.service_level)]:
        se = math.sqrt(want * (1 - want) / calls)
        assert abs(got - want) < 12 * se, (got, want)
    assert sim[3] == pytest.approx(m.asa, rel=0.08)
    # Erlang C would have said this load (10.8 E on 12) waits far more: abandonment helps.
    assert erlang_c_measures(n, lam, aht, t).p_wait > m.p_wait


@settings(max_examples=40, deadline=None)
@given(
    calls=st.floats(1, 2000),
    aht=st.floats(30, 900),
    patience=st.floats(10, 1000),
    sl=st.floats(0.5, 0.95),
)
def test_agents_needed_is_the_fewest_that_meet_every_target(calls, aht, patience, sl):
    rate = calls / 1800
    m = agents_needed(rate, aht, target_sl=sl, threshold=20, max_abandon=0.05, patience=patience)
    assert m.service_level >= sl and m.p_abandon <= 0.05
    if m.agents > 1:
        below = erlang_a_measures(m.agents - 1, rate, aht, patience, 20)
        assert below.service_level < sl or below.p_abandon > 0.05
    c = agents_needed(rate, aht, target_sl=sl, threshold=20)
    assert c.agents > c.load  # Erlang C is stable only above the load


def test_bad_targets_are_refused_with_the_reason():
    with pytest.raises(StaffingError, match="abandonment target needs the callers' patience"):
        agents_needed(0.1, 180, max_abandon=0.05)
    with pytest.raises(StaffingError, match="handle time must be > 0"):
        agents_needed(0.1, 0)
    with pytest.raises(StaffingError, match=r"service-level target must be in \[0, 1\)"):
        agents_needed(0.1, 180, target_sl=1.2)
