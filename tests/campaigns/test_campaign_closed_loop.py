"""End to end on the simulator's closed loop: the net effect covers the planted ATT and the
naive before/after figure overstates the diversion."""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pyarrow as pa
import pytest

from touchpoint.campaigns import (
    ASSIGNMENTS_TABLE,
    DEFINITIONS_TABLE,
    EVENTS_TABLE,
    STEPS,
    approval_events,
    assign,
    campaign_from_data,
    campaign_savings_rows,
    campaign_tracking,
    created_events,
    dispatch,
    eligible_audience,
    is_global_holdout,
    load_campaign_settings,
    select_audience,
    track,
)
from touchpoint.config import load_config
from touchpoint.ingest import ingest
from touchpoint.pipeline import pipeline_steps, run_pipeline
from touchpoint.simulate import continue_world, simulate
from touchpoint.warehouse import connect

pytestmark = pytest.mark.slow


def _campaign(cid, action, audience):
    return campaign_from_data(
        {
            "id": cid,
            "name": {"en": cid, "zh": cid},
            "action": action,
            "audience": audience,
            "holdout_share": 0.5,
        }
    )


CAMPAIGN = _campaign(
    "divert_store_2026_03",
    "divert_store_payment_to_self_service",
    {"tags": ["store_payment_lover"]},
)
AGENT = _campaign(
    "divert_agent_2026_03", "divert_agent_to_self_service", {"tags": ["hotline_agent_lover"]}
)
RETAIN = _campaign("retain_2026_03", "retention_offer", {"rule": "arpu_trend_3m < 0"})


def _retained_arpu(con, assignment, baseline) -> float:
    """The retention campaign's treated customers' mean ARPU in the selection month, by pandas."""
    a = assignment.to_pandas()
    c360 = con.table("mart_customer_360").to_pandas()
    c360 = c360[pd.to_datetime(c360.month) == pd.Timestamp(baseline)]
    treated = a[a.group == "treatment"].customer_id
    return float(c360[c360.customer_id.isin(treated)].arpu_3m_avg_yuan.mean())


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
    baseline = c360.month.max().execute()
    at = dt.datetime(2026, 3, 1, 9)
    orders, assignments, events_all, definitions = [], {}, [], []
    for campaign in (CAMPAIGN, AGENT, RETAIN):
        audience = select_audience(c360, campaign, membership=membership)
        audience = audience.filter(
            ~is_global_holdout(
                audience.customer_id, settings.global_holdout_salt, settings.global_holdout_share
            )
        )
        # Customers the policy would hold back whatever the group leave before the draw,
        # so the holdout is comparable with the orders actually sent.
        audience = eligible_audience(
            audience,
            settings.policy,
            sensitive=membership.filter(membership.tag_id == settings.policy.sensitive_tag),
        )
        assignment = ibis.memtable(
            assign(audience, campaign.id, campaign.holdout_share).to_pyarrow()
        )
        assignments[campaign.id] = assignment
        events = _stored(created_events(campaign, assignment, 1, "alice", at))
        events = _stored(events, approval_events(events, campaign.id, "bob", at))
        new, rows = dispatch(
            events,
            campaign,
            settings.policy,
            actor="bob",
            at=at,
            sent_at=dt.datetime(2026, 3, 1, 10),
        )
        events_all.append(_stored(events, new).to_pyarrow())
        orders.append(rows.to_pandas())
        definitions.append(
            {
                "campaign_id": campaign.id,
                "version": 1,
                "fingerprint": campaign.fingerprint(),
                "definition_json": campaign.model_dump_json(),
                "created_by": "alice",
                "created_at": at,
            }
        )
    all_orders = pd.concat(orders)
    all_orders.to_csv(root / "dispatched.csv", index=False)
    later = continue_world(world, root / "dispatched.csv", months=3)
    ingest(con, list(later.files.values()))
    con.create_table(DEFINITIONS_TABLE, pa.Table.from_pylist(definitions))
    con.create_table(
        ASSIGNMENTS_TABLE,
        pa.concat_tables(
            a.mutate(
                campaign_id=ibis.literal(cid),
                wave=ibis.literal(1, "int64"),
                audience_month=ibis.literal(baseline),
                assigned_at=ibis.literal(at),
            ).to_pyarrow()
            for cid, a in assignments.items()
        ),
    )
    con.create_table(EVENTS_TABLE, pa.concat_tables(events_all))
    # The customers step again (the 360's preference levels of the new months), then tracking.
    run_pipeline(
        con, load_config(), steps=[s for s in pipeline_steps() if s.name in ("customers",)]
    )
    run_pipeline(con, load_config(), steps=STEPS)
    store = assignments[CAMPAIGN.id]
    tracked = track(store, con.table("stg_payments"), baseline).to_pandas()
    yield dict(
        orders=orders[0],
        assignment=store.to_pandas(),
        truth=later.campaign_effects,
        tracked=tracked,
        mart=pd.DataFrame(campaign_tracking(con)),
        savings=pd.DataFrame(campaign_savings_rows(con)),
        retained=_retained_arpu(con, assignments[RETAIN.id], baseline),
    )
    con.disconnect()


def test_every_treated_customer_gets_one_order_and_no_holdout(loop):
    a, orders = loop["assignment"], loop["orders"]
    treated = set(a[a.group == "treatment"].customer_id)
    assert set(orders.customer_id) == treated
    assert not set(orders.customer_id) & set(a[a.group == "holdout"].customer_id)
    assert loop["truth"][CAMPAIGN.id]["n_treated"] == len(orders)


def test_net_effect_covers_the_planted_att_and_the_naive_figure_overstates(loop):
    last = loop["tracked"]
    last = last[(last.metric == "away_since_start")].sort_values("month").iloc[-1]
    planted = -loop["truth"][CAMPAIGN.id]["att"]  # on paid_in_store; away = not paid_in_store
    print(
        f"n_treated={last.n_treatment} n_holdout={last.n_holdout} planted={planted:.4f} "
        f"net={last.net_effect:.4f} [{last.net_ci_low:.4f}, {last.net_ci_high:.4f}] "
        f"naive={last.naive_effect:.4f}"
    )
    assert last.net_ci_low <= planted <= last.net_ci_high
    assert planted > 0.05  # a real diversion was planted
    assert last.naive_effect > last.net_ci_high  # the naive figure is biased upward


def _last(mart, campaign_id, metric):
    rows = mart[(mart.campaign_id == campaign_id) & (mart.metric == metric)]
    return rows.sort_values("month").iloc[-1]


def test_the_step_writes_what_track_computes(loop):
    mart = loop["mart"]
    store = mart[(mart.campaign_id == CAMPAIGN.id) & (mart.kind == "primary")]
    columns = ["rate_treatment", "rate_holdout", "net_effect"]
    mine = store.assign(month=store.month.astype(str)).set_index(["metric", "month"])[columns]
    direct = loop["tracked"]
    direct = direct.assign(month=direct.month.astype(str)).set_index(["metric", "month"])[columns]
    pd.testing.assert_frame_equal(mine.sort_index(), direct.sort_index(), check_dtype=False)
    money = loop["savings"]
    money = money[money.campaign_id == CAMPAIGN.id].sort_values("month")
    last = _last(mart, CAMPAIGN.id, "no_store_payment")
    assert money.iloc[-1].moved == pytest.approx(last.net_effect * last.n_treatment)
    assert money.iloc[-1].n_orders == len(loop["orders"])


def test_agent_and_retention_figures_against_the_planted_truth(loop):
    """The agent diversion: planted on needs taken to the agent directly; tracked on every agent
    contact (a transfer from the IVR counts), so the two are compared in sign and size only.
    Retention: the planted effect is on leaving, tracked as ``churned``."""
    mart, truth = loop["mart"], loop["truth"]
    agent = _last(mart, AGENT.id, "no_agent_since_start")
    planted_agent = -truth[AGENT.id]["att"]  # on chose_agent; "no agent since" is its negation
    churn = _last(mart, RETAIN.id, "churned")
    planted_churn = truth[RETAIN.id]["att"]
    for name, row, planted in (("agent", agent, planted_agent), ("churn", churn, planted_churn)):
        print(
            f"{name}: n={row.n_treatment}/{row.n_holdout} planted={planted:.4f} "
            f"net={row.net_effect:.4f} [{row.net_ci_low:.4f}, {row.net_ci_high:.4f}] "
            f"naive={row.naive_effect:.4f}"
        )
    assert planted_agent > 0.05 and agent.net_ci_high > 0  # a real diversion, not excluded
    assert churn.net_ci_low <= planted_churn <= churn.net_ci_high
    for cid in (CAMPAIGN.id, AGENT.id, RETAIN.id):
        side = mart[(mart.campaign_id == cid) & (mart.kind == "side_effect")]
        assert set(side.metric) == (
            {"complained"} if cid == RETAIN.id else {"complained", "churned"}
        )


def test_retention_money_and_success_against_the_planted_effect(loop):
    """The customers the retention offer kept (holdout minus treated churn × the treated) and
    their value: the interval covers the planted effect's own count (-ATT × treated), each
    kept customer is worth the treated's ARPU × 24 months (defaults.yaml), and the measured
    success stands beside the 20 % target."""
    money = loop["savings"]
    rows = money[money.campaign_id == RETAIN.id].sort_values("month")
    assert set(rows.metric) == {"churned"} and len(rows) == 3  # April, May, June
    last = rows.iloc[-1]
    churn = _last(loop["mart"], RETAIN.id, "churned")
    planted = -loop["truth"][RETAIN.id]["att"]  # share of the treated kept, planted
    planted_kept = planted * last.n_treatment
    print(
        f"retention: n={last.n_treatment} kept={last.moved:.1f} "
        f"[{last.moved_low:.1f}, {last.moved_high:.1f}] planted {planted_kept:.1f}; "
        f"ARPU {last.arpu_yuan:.2f}; value {last.saving_yuan:,.0f} "
        f"[{last.saving_low_yuan:,.0f}, {last.saving_high_yuan:,.0f}] planted "
        f"{planted_kept * last.cost_difference_yuan:,.0f}; orders {last.order_cost_yuan:.2f}; "
        f"success {last.success_rate:.4f} [{last.success_low:.4f}, {last.success_high:.4f}] "
        f"target {last.target_success_rate}"
    )
    assert planted > 0  # the offer was planted to keep customers
    assert last.moved_low <= planted_kept <= last.moved_high
    assert last.success_low <= planted <= last.success_high
    assert last.success_rate == pytest.approx(-churn.net_effect)
    assert last.arpu_yuan == pytest.approx(loop["retained"])
    assert last.cost_difference_yuan == pytest.approx(loop["retained"] * 24)
    assert last.saving_yuan == pytest.approx(last.moved * loop["retained"] * 24)
    assert last.target_success_rate == 0.2
    assert last.net_saving_to_date_yuan == pytest.approx(last.saving_yuan - last.order_cost_yuan)
    assert last.order_cost_yuan == pytest.approx(0.05 * last.n_orders) and last.n_orders > 0
