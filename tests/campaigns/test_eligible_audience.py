"""Customers the policy would hold back whatever their group (do-not-disturb, opted out,
sensitive when excluded) leave the audience before the holdout draw: a property over random
audiences and lists, through the whole create -> approve -> dispatch chain."""

from __future__ import annotations

import datetime as dt

import ibis
from hypothesis import given, settings
from hypothesis import strategies as st

from touchpoint.campaigns import (
    HOLDOUT,
    TREATMENT,
    approval_events,
    assign,
    campaign_from_data,
    created_events,
    dispatch,
    eligible_audience,
)
from touchpoint.campaigns._settings import ContactPolicy

CAMPAIGN = campaign_from_data(
    {
        "id": "c1",
        "name": {"en": "A", "zh": "甲"},
        "action": "divert_agent_to_self_service",
        "audience": {"rule": "pref_level_agent >= 3"},
        "holdout_share": 0.3,
    }
)
AT = dt.datetime(2026, 3, 1, 9)


def _ids(values):
    return ibis.memtable({"customer_id": [f"C{i}" for i in values] or ["-"]})


@settings(max_examples=15, deadline=None)
@given(
    ids=st.lists(st.integers(0, 200), min_size=1, max_size=40, unique=True),
    dnd_table=st.lists(st.integers(0, 200), max_size=8),
    dnd_config=st.lists(st.integers(0, 200), max_size=3),
    opted=st.lists(st.integers(0, 200), max_size=8),
    sensitive=st.lists(st.integers(0, 200), max_size=8),
    mode=st.sampled_from(["exclude", "allow"]),
)
def test_nobody_the_policy_always_holds_back_is_drawn(
    ids, dnd_table, dnd_config, opted, sensitive, mode
):
    policy = ContactPolicy(
        do_not_disturb=tuple(f"C{i}" for i in dnd_config), sensitive=mode, frequency_caps=()
    )
    audience = ibis.memtable(
        {"customer_id": [f"C{i}" for i in ids], "stratum": [i % 3 for i in ids]}
    )
    lists = dict(do_not_disturb=_ids(dnd_table), opted_out=_ids(opted), sensitive=_ids(sensitive))
    kept = eligible_audience(audience, policy, **lists)
    blocked = set(dnd_table) | set(dnd_config) | set(opted)
    if mode == "exclude":
        blocked |= set(sensitive)
    expected = {f"C{i}" for i in ids if i not in blocked}
    a = ibis.memtable(assign(kept, CAMPAIGN.id, CAMPAIGN.holdout_share).to_pyarrow())
    groups = a.to_pandas().set_index("customer_id").group
    assert set(groups.index) == expected  # exactly the excluded ones are gone
    if not expected:
        return
    # Each stratum's holdout is still round(share x n) of the customers kept.
    frame = a.to_pandas()
    for _, s in frame.groupby("stratum"):
        assert (s.group == HOLDOUT).sum() == round(CAMPAIGN.holdout_share * len(s))
    if not (groups == TREATMENT).any():
        return
    events = ibis.memtable(created_events(CAMPAIGN, a, 1, "alice", AT).to_pyarrow())
    events = ibis.memtable(
        events.union(approval_events(events, CAMPAIGN.id, "bob", AT)).to_pyarrow()
    )
    new, _ = dispatch(events, CAMPAIGN, policy, actor="bob", at=AT, sent_at=AT, **lists)
    verdict = new.to_pandas()
    # Every treated customer's order goes out: nobody treated is held back for who they are,
    # so the holdout compares with orders actually sent.
    assert (verdict.event == "dispatched").all(), verdict[verdict.event != "dispatched"]
    assert len(verdict) == (groups == TREATMENT).sum()
