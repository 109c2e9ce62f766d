"""Work-order events: create, approve (not by the creator), dispatch (only approved), feedback."""

from __future__ import annotations

import datetime as dt

import ibis
import pytest

from touchpoint.campaigns import (
    CampaignError,
    approval_events,
    assign,
    campaign_from_data,
    created_events,
    dispatch,
    dispatched_history,
    feedback_events,
    load_campaign_settings,
    order_states,
)

T = dt.datetime
CAMPAIGN = campaign_from_data(
    {
        "id": "divert_store",
        "name": {"en": "A", "zh": "甲"},
        "action": "divert_store_payment_to_self_service",
        "audience": {"tags": ["store_payment_lover"]},
        "holdout_share": 0.2,
    }
)
POLICY = load_campaign_settings().policy


def _stored(*tables):
    """The events as the warehouse would hold them (materialised, appended)."""
    return ibis.memtable(ibis.union(*tables).to_pyarrow())


@pytest.fixture
def created():
    audience = ibis.memtable(
        {"customer_id": [f"C{i:03d}" for i in range(50)], "stratum": [i % 2 for i in range(50)]}
    )
    assignment = assign(audience, CAMPAIGN.id, CAMPAIGN.holdout_share)
    events = created_events(CAMPAIGN, assignment, 1, "alice", T(2026, 3, 1, 9))
    return assignment.to_pandas(), _stored(events)


def test_creator_may_not_approve_and_unapproved_is_not_dispatched(created):
    _, events = created
    assert events.count().execute() == 40  # 50 - round(0.2 × 25) × 2 held out
    with pytest.raises(CampaignError, match="'alice' created its work orders"):
        approval_events(events, CAMPAIGN.id, "alice", T(2026, 3, 1, 10))
    with pytest.raises(CampaignError, match="no approved work orders; approve it"):
        dispatch(events, CAMPAIGN, POLICY, actor="bob", at=T(2026, 3, 1), sent_at=T(2026, 3, 2, 10))


def test_dispatch_writes_the_simulator_file_and_never_the_holdout(created):
    assignment, events = created
    approved = _stored(events, approval_events(events, CAMPAIGN.id, "bob", T(2026, 3, 1, 10)))
    new, rows = dispatch(
        approved,
        CAMPAIGN,
        POLICY,
        actor="bob",
        at=T(2026, 3, 1, 11),
        sent_at=T(2026, 3, 2, 22),  # quiet hour: moved to 08:00 the next day
        do_not_disturb=ibis.memtable({"customer_id": ["C001", "C002"]}),
    )
    file = rows.to_pandas()
    holdout = set(assignment[assignment.group == "holdout"].customer_id)
    assert not holdout & set(file.customer_id)
    assert list(file.columns) == [
        "work_order_id",
        "campaign_id",
        "customer_id",
        "action",
        "channel",
        "sent_at",
    ]
    assert (file.sent_at == "2026-03-03 08:00:00").all()
    all_events = _stored(approved, new)
    states = order_states(all_events).to_pandas().set_index("customer_id")
    dnd = [c for c in ("C001", "C002") if c not in holdout]
    assert (states.loc[dnd, "reason"] == "do_not_disturb").all()
    assert (states.loc[dnd, "state"] == "held_back").all()
    assert len(file) == 40 - len(dnd)
    # Read back at an earlier time: every order was still only approved.
    assert set(order_states(all_events, T(2026, 3, 1, 10, 30)).to_pandas().state) == {"approved"}
    assert dispatched_history(all_events).count().execute() == len(file)
    # Feedback: known orders become feedback events; an unknown one is refused in one line.
    responses = ibis.memtable(
        {"work_order_id": file.work_order_id[:3].tolist(), "response": ["accepted"] * 3}
    )
    fb = feedback_events(all_events, responses, T(2026, 4, 1)).to_pandas()
    assert len(fb) == 3 and set(fb.reason) == {"accepted"}
    bad = ibis.memtable({"work_order_id": ["nope"], "response": ["accepted"]})
    with pytest.raises(CampaignError, match="work order 'nope'"):
        feedback_events(all_events, bad, T(2026, 4, 1))
