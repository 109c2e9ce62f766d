"""Preference levels against the simulator's planted preferences, and invariants of the marts
on the simulated world.

Truth: ``truth/preferences.parquet`` holds each customer's mean latent channel weights per
business (what contacts are drawn from) and ``truth/payment_preferences.parquet`` the mean
latent weights that drew the channel of each payment.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from touchpoint.config import load_config
from touchpoint.customers import (
    C360_MART,
    CONTACTS_MART,
    PREFERENCE_MART,
    CustomersSettings,
    channel_preference,
    customer_contacts_monthly,
    load_customers_settings,
)

N_CUSTOMERS, MONTHS, SEED = 2000, 12, 5


def spearman(a: pd.Series, b: pd.Series) -> float:
    return float(a.rank().corr(b.rank()))


@pytest.fixture(scope="module")
def long_world(tmp_path_factory):
    """2,000 customers × 12 months: a customer pays about 12 times, enough to rank them."""
    import ibis

    from touchpoint.simulate import simulate

    out = tmp_path_factory.mktemp("long_world")
    simulate(out, customers=N_CUSTOMERS, months=MONTHS, seed=SEED)
    config = load_config()
    planted = pq.read_table(out / "truth" / "payment_preferences.parquet").to_pandas()
    planted = planted.rename(columns={"latent_weight": "latent"})
    pay_channels = list(planted.channel.unique())
    # The whole simulated year is one window: the planted weights are the year's mean.
    base = load_customers_settings()
    settings = CustomersSettings.model_validate(
        {**base.model_dump(by_alias=True), "preference_window_months": MONTHS}
    )
    con = ibis.duckdb.connect()
    monthly = customer_contacts_monthly(
        con.read_parquet(out / "contacts.parquet"),
        con.read_parquet(out / "payments.parquet"),
        config,
        settings,
    )
    pref = channel_preference(monthly, settings)
    last = pref.filter(pref.month == pref.month.max().as_scalar()).to_pandas()
    truth = pq.read_table(out / "truth" / "preferences.parquet").to_pandas()
    yield last, truth, planted, pay_channels
    con.disconnect()


@pytest.mark.slow
def test_payment_levels_rank_customers_like_the_planted_payment_preferences(long_world):
    last, _, planted, pay_channels = long_world
    pay = last[last.business == "payment"]
    payers = set(pay.customer_id)
    rho = {}
    for channel in pay_channels:
        x = planted[(planted.channel == channel) & planted.customer_id.isin(payers)].merge(
            pay[pay.channel == channel], on=["customer_id", "channel"], how="left"
        )
        x = x.fillna({"share_window": 0.0, "level": 0})
        rho[channel] = (spearman(x.latent, x.share_window), spearman(x.latent, x.level))
    print("Spearman (share, level) vs planted payment preference:", rho)
    assert rho["store"][0] >= 0.7 and rho["store"][1] >= 0.7
    assert min(share for share, _ in rho.values()) >= 0.6


@pytest.mark.slow
def test_agent_shares_rise_with_the_planted_agent_preference(long_world):
    """Per customer × business a year holds a handful of contacts (2 to 9 on average), so a
    customer's share is a noisy reading of the planted weight: even an oracle that draws the
    same number of contacts straight from the planted weights ranks the pairs only at about
    0.4. The share must carry the signal (about half the oracle's rank correlation; the rest
    is lost to same-day redials and IVR escalations, which the simulator adds on top of the
    choice), and its mean must rise with every tenth of the planted weight."""
    last, truth, _, _ = long_world
    contacts = last[last.business != "payment"]  # payments dilute the payment business
    events = contacts.groupby(["customer_id", "business"]).n_contacts_window.sum().rename("events")
    pairs = truth[truth.channel == "agent"].merge(
        events.reset_index(), on=["customer_id", "business"]
    )
    pairs = pairs.merge(
        contacts[contacts.channel == "agent"], on=["customer_id", "business", "channel"], how="left"
    ).fillna({"share_window": 0.0, "level": 0})
    rho = spearman(pairs.latent_weight, pairs.share_window)
    rng = np.random.default_rng(0)
    n = pairs.events.to_numpy().astype(int)
    oracle = spearman(
        pairs.latent_weight, pd.Series(rng.binomial(n, pairs.latent_weight.to_numpy()) / n)
    )
    by_decile = pairs.groupby(pd.qcut(pairs.latent_weight, 10, labels=False))["share_window"].mean()
    rho_deciles = spearman(pd.Series(range(10), dtype=float), by_decile.reset_index(drop=True))
    print(f"agent Spearman: pairs {rho:.3f} (oracle {oracle:.3f}), decile means {rho_deciles:.3f}")
    assert rho >= 0.15 and rho >= 0.4 * oracle
    assert rho_deciles >= 0.9
    assert by_decile.iloc[-1] > 3 * by_decile.iloc[0]


def test_marts_on_the_ingested_world(ingested_world):
    con, _, _, _ = ingested_world
    c360 = con.table(C360_MART)
    keys = c360.group_by("customer_id", "month").agg(n=c360.count())
    assert keys.n.max().to_pyarrow().as_py() == 1  # one row per customer and month
    contacts = con.table("stg_contacts")
    # Every contact belongs to a customer-month of the 360, so the counts add up exactly.
    assert c360.n_contacts.sum().to_pyarrow().as_py() == contacts.count().to_pyarrow().as_py()
    payments = con.table("stg_payments")
    assert c360.n_payments.sum().to_pyarrow().as_py() == payments.count().to_pyarrow().as_py()
    config = load_config()
    by_channel = contacts.group_by("channel").agg(n=contacts.count()).to_pandas()
    expected_cost = sum(
        n * config.channel(ch).cost_per_contact_yuan
        for ch, n in zip(by_channel.channel, by_channel.n, strict=True)
    )
    assert c360.cost_to_serve_yuan.sum().to_pyarrow().as_py() == pytest.approx(expected_cost)
    levels = con.table(PREFERENCE_MART)
    assert set(levels.level.to_pyarrow().to_pylist()) <= {1, 2, 3, 4, 5}
    assert con.table(CONTACTS_MART).count().to_pyarrow().as_py() > 0
    shares = levels.group_by("customer_id", "month", "business").agg(s=levels.share_window.sum())
    assert np.allclose(shares.s.to_pyarrow().to_numpy(), 1.0)
    tiers = c360.contribution_tier.to_pyarrow().to_pylist()
    assert set(t for t in tiers if t is not None) <= {1, 2, 3, 4, 5}
    replied = con.table("stg_surveys")
    n_replied = replied.filter(replied.replied_at.notnull()).count().to_pyarrow().as_py()
    assert n_replied > 0
