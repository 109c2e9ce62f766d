"""End to end on the simulator's closed loop: the net effect covers the planted ATT and the
naive before/after figure overstates the diversion."""

from __future__ import annotations

import datetime as dt

import ibis
import pytest

from touchpoint.campaigns import (
    approval_events,
    assign,
    campaign_from_data,
    created_events,
    dispatch,
    is_global_holdout,
    load_campaign_settings,
    select_audience,
    track,
)
from touchpoint.config import load_config
from touchpoint.ingest import ingest
from touchpoint.pipeline import run_pipeline
from touchpoint.simulate import continue_world, simulate
from touchpoint.warehouse import connect

pytestmark = pytest.mark.slow

CAMPAIGN = campaign_from_data(
    {
        "id": "divert_store_2026_03",
        "name": {"en": "Pay without the queue", "zh": "免排队缴费"},
        "action": "divert_store_payment_to_self_service",
        "audience": {"tags": ["store_payment_lover"]},
        "holdout_share": 0.5,
    }
)


def _stored(*tables):
    return ibis.memtable(ibis.union(*tables).to_pyarrow())


@pytest.fixture(scope="module")
def loop(tmp_path_factory):
    root = tmp_path_factory.mktemp("campaign_loop")
    world = root / "world"
    first = simulate(world, customers=8000, months=2, seed=21)
    con = connect(root / "wh.duckdb")
    ingest(con, list(first.files.values()))
    run_pipeline(con, load_config())
    settings = load_campaign_settings()
    c360, membership = con.table("mart_customer_360"), con.table("mart_tag_membership")
    audience = select_audience(c360, CAMPAIGN, membership=membership)
    audience = audience.filter(
        ~is_global_holdout(
            audience.customer_id, settings.global_holdout_salt, settings.global_holdout_share
        )
    )
    # Customers the policy would hold back whatever the group are left out before the draw,
    # so the holdout is comparable with the orders actually sent.
    sensitive = membership.filter(membership.tag_id == settings.policy.sensitive_tag)
    audience = audience.anti_join(sensitive, "customer_id")
    assignment = ibis.memtable(assign(audience, CAMPAIGN.id, CAMPAIGN.holdout_share).to_pyarrow())
    events = _stored(created_events(CAMPAIGN, assignment, 1, "alice", dt.datetime(2026, 3, 1)))
    events = _stored(events, approval_events(events, CAMPAIGN.id, "bob", dt.datetime(2026, 3, 1)))
    new, rows = dispatch(
        events,
        CAMPAIGN,
        settings.policy,
        actor="bob",
        at=dt.datetime(2026, 3, 1, 9),
        sent_at=dt.datetime(2026, 3, 1, 10),
    )
    orders = rows.to_pandas()
    orders.to_csv(root / "dispatched.csv", index=False)
    later = continue_world(world, root / "dispatched.csv", months=3)
    ingest(con, list(later.files.values()))
    baseline = c360.month.max().execute()
    tracked = track(assignment, con.table("stg_payments"), baseline).to_pandas()
    yield dict(
        orders=orders,
        assignment=assignment.to_pandas(),
        truth=later.campaign_effects[CAMPAIGN.id],
        tracked=tracked,
    )
    con.disconnect()


def test_every_treated_customer_gets_one_order_and_no_holdout(loop):
    a, orders = loop["assignment"], loop["orders"]
    treated = set(a[a.group == "treatment"].customer_id)
    assert set(orders.customer_id) == treated
    assert not set(orders.customer_id) & set(a[a.group == "holdout"].customer_id)
    assert loop["truth"]["n_treated"] == len(orders)


def test_net_effect_covers_the_planted_att_and_the_naive_figure_overstates(loop):
    last = loop["tracked"]
    last = last[(last.metric == "away_since_start")].sort_values("month").iloc[-1]
    planted = -loop["truth"]["att"]  # att is on paid_in_store; away = not paid_in_store
    print(
        f"n_treated={last.n_treatment} n_holdout={last.n_holdout} planted={planted:.4f} "
        f"net={last.net_effect:.4f} [{last.net_ci_low:.4f}, {last.net_ci_high:.4f}] "
        f"naive={last.naive_effect:.4f}"
    )
    assert last.net_ci_low <= planted <= last.net_ci_high
    assert planted > 0.05  # a real diversion was planted
    assert last.naive_effect > last.net_ci_high  # the naive figure is biased upward
