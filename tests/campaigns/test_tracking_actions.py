"""Agent diversion, retention and side effects tracked on hand-built customers: every number
below is worked out by hand from the rows (seed 002's terms, docs/campaigns.md)."""

from __future__ import annotations

import datetime as dt
import json

import ibis
import pytest

from touchpoint.campaigns import action_metrics, definition_actions, track_campaigns

T = dt.datetime
B = dt.date(2026, 2, 1)  # selection month; March, April and May are tracked

TREATED, HELD = ["a1", "a2", "a3", "a4"], ["b1", "b2"]


def _contacts():
    calls = {  # agent calls per month (Feb, Mar, Apr, May)
        "a1": (3, 1, 0, 3),
        "a2": (2, 0, 0, 0),
        "a3": (1, 2, 1, 0),
        "a4": (0, 0, 0, 0),
        "b1": (1, 1, 1, 1),
        "b2": (3, 0, 0, 0),
    }
    rows = []
    for customer, counts in calls.items():
        for month, n in zip((2, 3, 4, 5), counts, strict=True):
            rows += [(customer, T(2026, month, 3 + i), "agent") for i in range(n)]
            rows.append((customer, T(2026, month, 20), "ivr"))  # IVR use is not an agent call
    return ibis.memtable(
        {
            "customer_id": [r[0] for r in rows],
            "started_at": [r[1] for r in rows],
            "channel": [r[2] for r in rows],
        }
    )


def _c360():
    levels = {  # pref_level_agent, Feb..May; None: no row that month
        "a1": (5, 4, 2, 3),
        "a2": (3, 2, 1, 0),
        "a3": (4, 3, 3, 2),
        "a4": (None, None, None, None),
        "b1": (3, 3, 3, 3),
        "b2": (4, 2, 1, None),
    }
    rows = [
        (c, dt.date(2026, m, 1), lv)
        for c, by_month in levels.items()
        for m, lv in zip((2, 3, 4, 5), by_month, strict=True)
        if lv is not None
    ]
    return ibis.memtable(
        {
            "customer_id": [r[0] for r in rows],
            "month": [r[1] for r in rows],
            "pref_level_agent": [r[2] for r in rows],
        }
    )


CUSTOMERS = ibis.memtable(
    {
        "customer_id": TREATED + HELD,
        # a3 left in the selection month itself: before any work order, not counted as churn.
        "leave_date": [
            None,
            dt.date(2026, 4, 10),
            dt.date(2026, 2, 20),
            None,
            dt.date(2026, 3, 5),
            None,
        ],
    },
    schema={"customer_id": "string", "leave_date": "date"},
)
COMPLAINTS = ibis.memtable(
    {
        "customer_id": ["a1", "a1", "b2", "a4"],
        "created_at": [T(2026, 3, 2), T(2026, 3, 9), T(2026, 4, 1), T(2026, 2, 8)],
    }
)


def _assignments(*campaigns):
    rows = [
        (cid, c, "treatment" if c in TREATED else "holdout")
        for cid in campaigns
        for c in TREATED + HELD
    ]
    return ibis.memtable(
        {
            "campaign_id": [r[0] for r in rows],
            "customer_id": [r[1] for r in rows],
            "group": [r[2] for r in rows],
            "audience_month": [B] * len(rows),
        }
    )


ACTIONS = ibis.memtable(
    {
        "campaign_id": ["ag", "rt", "xs"],
        "action": ["divert_agent_to_self_service", "retention_offer", "cross_sell"],
    }
)


@pytest.fixture(scope="module")
def tracked():
    out = track_campaigns(
        _assignments("ag", "rt", "xs"),
        ACTIONS,
        contacts=_contacts(),
        c360=_c360(),
        customers=CUSTOMERS,
        complaints=COMPLAINTS,
    ).to_pandas()
    return out.set_index(["campaign_id", "metric", out.month.astype(str)])


def rates(tracked, campaign, metric, month):
    row = tracked.loc[(campaign, metric, month)]
    return [row.rate_treatment, row.rate_holdout]


def test_no_agent_call_each_month_and_the_naive_figure(tracked):
    # March: a2, a4 of 4 treated; b2 of 2 held out.
    assert rates(tracked, "ag", "no_agent_call", "2026-03-01") == [0.5, 0.5]
    # April: a1, a2, a4; b2.
    assert rates(tracked, "ag", "no_agent_call", "2026-04-01") == [0.75, 0.5]
    # May: a2, a3, a4; b2. Naive: 0.75 minus February's 0.25 (a4 alone called no agent).
    may = tracked.loc[("ag", "no_agent_call", "2026-05-01")]
    assert may.net_effect == pytest.approx(0.25)
    assert may.naive_effect == pytest.approx(0.5)
    assert may.kind == "primary"


def test_three_months_running_and_since_start(tracked):
    running = tracked.loc[("ag", "agent_away_3m_running")]
    assert list(running.index) == ["2026-05-01"]  # defined from the third tracked month
    # a2 and a4 called no agent in March, April, May; a1 called in March, a3 in March-April.
    assert rates(tracked, "ag", "agent_away_3m_running", "2026-05-01") == [0.5, 0.5]
    # Since the start: a1 (back in May) and a3 never qualify; a2 and a4 do every month.
    for month in ("2026-03-01", "2026-04-01", "2026-05-01"):
        assert rates(tracked, "ag", "no_agent_since_start", month) == [0.5, 0.5]
    # Its naive figure subtracts the monthly indicator in February (0.25).
    assert tracked.loc[("ag", "no_agent_since_start", "2026-05-01"), "naive_effect"] == 0.25


def test_at_most_twice(tracked):
    assert rates(tracked, "ag", "agent_calls_at_most_2", "2026-03-01") == [1.0, 1.0]
    assert rates(tracked, "ag", "agent_calls_at_most_2", "2026-05-01") == [0.75, 1.0]  # a1: 3
    # February: a1 called 3 times, the others at most twice.
    assert tracked.loc[("ag", "agent_calls_at_most_2", "2026-05-01"), "naive_effect"] == 0.0


def test_fell_to_preference_level_1_2(tracked):
    # April: a1 (2), a2 (1); b2 (1). May: a3 (2); a2 is at 0, a4 and b2 have no 360 row.
    assert rates(tracked, "ag", "agent_level_1_2", "2026-04-01") == [0.5, 0.5]
    assert rates(tracked, "ag", "agent_level_1_2", "2026-05-01") == [0.25, 0.0]
    # In February no treated customer was at 1-2 (5, 3, 4, none).
    assert tracked.loc[("ag", "agent_level_1_2", "2026-05-01"), "naive_effect"] == 0.25


def test_churn_is_the_retention_outcome_and_a_side_effect_elsewhere(tracked):
    # a2 left in April; a3 left in February (before the work orders): not counted; b1 in March.
    assert rates(tracked, "rt", "churned", "2026-03-01") == [0.0, 0.5]
    assert rates(tracked, "rt", "churned", "2026-04-01") == [0.25, 0.5]
    may = tracked.loc[("rt", "churned", "2026-05-01")]
    assert may.net_effect == pytest.approx(-0.25)
    assert may.kind == "primary" and may.naive_effect != may.naive_effect  # no naive: NaN
    assert tracked.loc[("ag", "churned", "2026-05-01"), "kind"] == "side_effect"
    assert rates(tracked, "ag", "churned", "2026-05-01") == [0.25, 0.5]


def test_complaints_side_effect(tracked):
    # March: a1 complained (twice: one customer); April: b2. February: a4.
    assert rates(tracked, "rt", "complained", "2026-03-01") == [0.25, 0.0]
    assert rates(tracked, "rt", "complained", "2026-04-01") == [0.0, 0.5]
    assert tracked.loc[("rt", "complained", "2026-03-01"), "naive_effect"] == 0.0
    assert tracked.loc[("rt", "complained", "2026-03-01"), "kind"] == "side_effect"


def test_each_action_gets_its_metrics_only(tracked):
    metrics = {c: set(tracked.loc[c].index.get_level_values(0)) for c in ("ag", "rt", "xs")}
    assert metrics["ag"] == {
        "no_agent_call",
        "agent_away_3m_running",
        "no_agent_since_start",
        "agent_calls_at_most_2",
        "agent_level_1_2",
        "complained",
        "churned",
    }
    assert metrics["rt"] == {"churned", "complained"}
    assert metrics["xs"] == {"churned", "complained"}  # cross-sell: side effects only
    assert [m for m, _ in action_metrics("divert_store_payment_to_self_service", ("web",))] == [
        "no_store_payment",
        "away_3m_running",
        "away_since_start",
        "went_to_web",
        "complained",
        "churned",
    ]


def test_the_action_is_read_from_the_latest_definition():
    defs = ibis.memtable(
        {
            "campaign_id": ["c", "c", "d"],
            "version": [1, 2, 1],
            "definition_json": [
                json.dumps({"id": "c", "action": "retention_offer"}),
                json.dumps({"id": "c", "action": "divert_agent_to_self_service"}),
                json.dumps({"action": "cross_sell", "id": "d"}),
            ],
        }
    )
    got = definition_actions(defs).to_pandas().set_index("campaign_id").action.to_dict()
    assert got == {"c": "divert_agent_to_self_service", "d": "cross_sell"}


def test_without_campaign_tables_the_step_writes_its_marts_empty():
    from touchpoint.campaigns import INPUTS, OUTPUTS, build
    from touchpoint.config import load_config
    from touchpoint.pipeline.marts import registered_marts

    tables = {name: ibis.memtable({"customer_id": ["x"]}) for name in INPUTS}
    built = build(tables, load_config())  # no campaign_definitions / assignments: empty
    assert sorted(built) == sorted(OUTPUTS)
    marts = registered_marts()
    for name, expr in built.items():
        assert expr.count().execute() == 0
        declared = {c: col.type for c, col in marts[name].contract.columns.items()}
        assert {c: str(t) for c, t in expr.schema().items()} == declared
