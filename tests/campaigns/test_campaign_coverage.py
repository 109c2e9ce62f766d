"""Over 20 small simulated worlds (seeds 101-120): the 95 % interval of the net effect covers
the planted effect about 95 % of the time, and the naive before/after figure is biased upward.

Each world: 2,000 customers × 2 months; the audience is every customer who paid in a store in
the last month (seed 002's store-payment lovers, read straight from the payments: the
estimator is under test here, not the 360); half held out; the treated get a store-payment
diversion work order; the world goes on for one month with them; ``track`` measures
``away_since_start`` (the planted outcome ``paid_in_store``, negated) in that month. In the
same worlds, every customer who called the agent in the last month is in an agent diversion
(half held out), measured on ``no_agent_since_start``.

The binomial bound: if the interval covers with probability 0.95, the number of the 20 worlds
it covers is Binomial(20, 0.95), and P(X <= 16) = 0.016. Requiring at least 17 covered worlds
fails a calibrated interval 1.6 % of the time, and an interval that covers with probability
0.80 passes only 41 % of the time (P(X >= 17 | 0.80) = 0.41). The seeds are fixed, so the
test gives the same answer on every run.
"""

from __future__ import annotations

import datetime as dt
import math
import time

import ibis
import pandas as pd
import pytest

from touchpoint.campaigns import (
    approval_events,
    assign,
    campaign_from_data,
    created_events,
    dispatch,
    load_campaign_settings,
    track,
    track_campaigns,
)
from touchpoint.simulate import continue_world, simulate

pytestmark = pytest.mark.slow

SEEDS = range(101, 121)
CUSTOMERS = 2000
CAMPAIGN = campaign_from_data(
    {
        "id": "divert_store",
        "name": {"en": "Pay without the queue", "zh": "免排队缴费"},
        "action": "divert_store_payment_to_self_service",
        "audience": {"rule": "pref_level_payment_store >= 1"},
        "holdout_share": 0.5,
    }
)
STORES = ("store", "partner_store")
AGENT = campaign_from_data(
    {
        "id": "divert_agent",
        "name": {"en": "Self-service first", "zh": "自助优先"},
        "action": "divert_agent_to_self_service",
        "audience": {"rule": "pref_level_agent >= 1"},
        "holdout_share": 0.5,
    }
)


def binomial_cdf(k: int, n: int, p: float) -> float:
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k + 1))


def _orders(campaign, audience, at):
    assignment = ibis.memtable(assign(audience, campaign.id, 0.5).to_pyarrow())
    events = ibis.memtable(created_events(campaign, assignment, 1, "alice", at).to_pyarrow())
    events = ibis.memtable(
        events.union(approval_events(events, campaign.id, "bob", at)).to_pyarrow()
    )
    policy = load_campaign_settings().policy.model_copy(update={"frequency_caps": ()})
    _, rows = dispatch(events, campaign, policy, actor="bob", at=at, sent_at=at)
    return assignment, rows.to_pandas()


def _month(ts):
    return ts.truncate("M").cast("date")


def one_world(root, seed: int) -> dict:
    world = root / f"w{seed}"
    first = simulate(world, customers=CUSTOMERS, months=2, seed=seed)
    con = ibis.duckdb.connect()
    payments = con.read_parquet(str(first.files["payments"]))
    contacts = con.read_parquet(str(first.files["contacts"]))
    baseline = _month(payments.paid_at.max()).execute()
    payers = payments.filter((_month(payments.paid_at) == baseline) & payments.channel.isin(STORES))
    callers = contacts.filter(
        (_month(contacts.started_at) == baseline) & (contacts.channel == "agent")
    )
    at = (dt.datetime.combine(baseline, dt.time(9)) + dt.timedelta(days=40)).replace(day=1)
    store, store_orders = _orders(CAMPAIGN, _audience(payers), at)
    agent, agent_orders = _orders(AGENT, _audience(callers), at)
    pd.concat([store_orders, agent_orders]).to_csv(root / f"orders{seed}.csv", index=False)
    later = continue_world(world, root / f"orders{seed}.csv", months=1)
    all_payments = payments.union(con.read_parquet(str(later.files["payments"])))
    all_contacts = contacts.union(con.read_parquet(str(later.files["contacts"])))
    tracked = track(store, all_payments, baseline).to_pandas()
    row = tracked[tracked.metric == "away_since_start"].iloc[-1]
    agent_tracked = track_campaigns(
        agent.mutate(campaign_id=ibis.literal(AGENT.id), audience_month=ibis.literal(baseline)),
        ibis.memtable({"campaign_id": [AGENT.id], "action": [AGENT.action]}),
        contacts=all_contacts,
    ).to_pandas()
    agent_row = agent_tracked[agent_tracked.metric == "no_agent_since_start"].iloc[-1]
    con.disconnect()
    effects = later.campaign_effects
    return {
        "seed": seed,
        **_figures(row, -effects[CAMPAIGN.id]["att"]),
        "agent": _figures(agent_row, -effects[AGENT.id]["att"]),
    }


def _audience(events):
    return events.select("customer_id").distinct().mutate(stratum=ibis.literal(0, "int64"))


def _figures(row, planted: float) -> dict:
    return {
        "planted": planted,  # on paid_in_store / chose_agent; "away" is their negation
        "net": row.net_effect,
        "low": row.net_ci_low,
        "high": row.net_ci_high,
        "naive": row.naive_effect,
        "n_treatment": int(row.n_treatment),
        "n_holdout": int(row.n_holdout),
    }


@pytest.fixture(scope="module")
def worlds(tmp_path_factory):
    root = tmp_path_factory.mktemp("coverage")
    start = time.perf_counter()
    out = [one_world(root, seed) for seed in SEEDS]
    print(f"\n{len(out)} worlds in {time.perf_counter() - start:.0f} s")
    for w in out:
        for name, f in (("store", w), ("agent", w["agent"])):
            print(
                f"seed {w['seed']} {name}: n={f['n_treatment']}/{f['n_holdout']} "
                f"planted={f['planted']:.3f} net={f['net']:.3f} [{f['low']:.3f}, "
                f"{f['high']:.3f}] naive={f['naive']:.3f}"
            )
    return out


def test_the_binomial_bound():
    assert binomial_cdf(16, 20, 0.95) == pytest.approx(0.016, abs=5e-4)
    assert 1 - binomial_cdf(16, 20, 0.80) == pytest.approx(0.41, abs=5e-3)


def test_the_interval_covers_the_planted_effect_about_95_percent_of_the_time(worlds):
    covered = [w["low"] <= w["planted"] <= w["high"] for w in worlds]
    print(f"covered {sum(covered)} of {len(worlds)}")
    assert len(worlds) >= 20
    assert sum(covered) >= 17
    assert all(w["planted"] > 0.03 for w in worlds)  # a real effect was planted every time
    # The net effect is unbiased: its mean over the worlds is within 3 standard errors of the
    # mean planted effect.
    errors = [w["net"] - w["planted"] for w in worlds]
    mean = sum(errors) / len(errors)
    sd = math.sqrt(sum((e - mean) ** 2 for e in errors) / (len(errors) - 1))
    print(f"net - planted: mean {mean:+.4f}, standard error {sd / math.sqrt(len(errors)):.4f}")
    assert abs(mean) < 3 * sd / math.sqrt(len(errors))


def test_the_naive_figure_is_biased_upward(worlds):
    bias = [w["naive"] - w["planted"] for w in worlds]
    mean = sum(bias) / len(bias)
    sd = math.sqrt(sum((b - mean) ** 2 for b in bias) / (len(bias) - 1))
    print(f"naive - planted: mean {mean:.3f}, sd {sd:.3f}; above in {sum(b > 0 for b in bias)}")
    # The mean bias is positive beyond its own noise (t > 3 over 20 worlds)...
    assert mean / (sd / math.sqrt(len(bias))) > 3
    # ...and the naive figure exceeds the planted effect in most worlds.
    assert sum(b > 0 for b in bias) >= 17


def test_the_agent_diversion_too(worlds):
    """The same on the agent diversion (audience: every customer who called the agent in the
    selection month; metric ``no_agent_since_start``, the planted ``chose_agent`` negated,
    except that a transfer from the IVR counts here as an agent call)."""
    agent = [w["agent"] for w in worlds]
    covered = sum(a["low"] <= a["planted"] <= a["high"] for a in agent)
    errors = [a["net"] - a["planted"] for a in agent]
    mean = sum(errors) / len(errors)
    se = math.sqrt(sum((e - mean) ** 2 for e in errors) / (len(errors) - 1) / len(errors))
    print(f"agent: covered {covered} of {len(agent)}; net - planted {mean:+.4f} (s.e. {se:.4f})")
    assert covered >= 17
    assert abs(mean) < 3 * se
    assert all(a["naive"] > a["high"] for a in agent)  # the naive figure overstates every time
