"""The campaign flow as library functions: each step hands all its rows to ``save`` in one
call (the adapter's one transaction), and a refusal saves nothing."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root

from benchmarks.tags_data import synthetic_c360  # noqa: E402

from touchpoint.campaigns import (  # noqa: E402
    ASSIGNMENTS_TABLE,
    DEFINITIONS_TABLE,
    EVENTS_TABLE,
    CampaignError,
    approve_campaign,
    campaign_from_data,
    campaign_settings_from_config,
    create_campaign,
    dispatch_campaign,
)
from touchpoint.config import load_config  # noqa: E402
from touchpoint.warehouse import Insert, connect, load_atomically  # noqa: E402

CAMPAIGN = {
    "id": "c1",
    "name": {"en": "A", "zh": "甲"},
    "action": "divert_store_payment_to_self_service",
    "audience": {"rule": "pref_level_payment_store >= 3"},
    "holdout_share": 0.25,
}


def test_each_step_is_one_save_and_a_refusal_saves_nothing(tmp_path):
    config = load_config()
    settings = campaign_settings_from_config(config)
    con = connect(tmp_path / "wh.duckdb")
    table = synthetic_c360(config, 500, months=2, seed=7)
    con.create_table("mart_customer_360", table)
    c360 = table.to_pandas()
    calls: list[dict] = []

    def save(writes):
        calls.append({t: d.num_rows for t, d in writes.items()})
        load_atomically(con, inserts=[Insert(t, d) for t, d in writes.items()])

    now = dt.datetime(2026, 3, 1, 9)
    with pytest.raises(CampaignError, match="no work orders yet"):
        approve_campaign(con, "c1", "bob", now, save=save)
    with pytest.raises(CampaignError, match="no campaigns yet"):
        dispatch_campaign(con, "c1", "bob", now, settings=settings, save=save)
    assert calls == []

    summary = create_campaign(
        con, campaign_from_data(CAMPAIGN), "alice", now, settings=settings, save=save
    )
    # Hand count: the audience is at most the last month's customers the rule picks.
    last = c360[c360.month == c360.month.max()]
    assert 0 < summary["n_audience"] <= int((last.pref_level_payment_store >= 3).sum())
    assert summary["n_treatment"] + summary["n_holdout"] == summary["n_audience"]
    assert calls == [
        {
            DEFINITIONS_TABLE: 1,
            ASSIGNMENTS_TABLE: summary["n_audience"],
            EVENTS_TABLE: summary["n_treatment"],
        }
    ]

    with pytest.raises(CampaignError, match="'alice' created its work orders"):
        approve_campaign(con, "c1", "alice", now, save=save)
    with pytest.raises(CampaignError, match="approve it before dispatch"):
        dispatch_campaign(con, "c1", "bob", now, settings=settings, save=save)
    with pytest.raises(CampaignError, match="unknown campaign"):
        dispatch_campaign(con, "nope", "bob", now, settings=settings, save=save)
    assert len(calls) == 1

    assert approve_campaign(con, "c1", "bob", now, save=save) == summary["n_treatment"]
    delivered = []
    done = dispatch_campaign(
        con,
        "c1",
        "bob",
        now,
        settings=settings,
        save=save,
        deliver=lambda rows: delivered.append(len(calls)),
    )
    assert delivered == [2]  # the file before the events land
    assert calls[1:] == [
        {EVENTS_TABLE: summary["n_treatment"]},
        {EVENTS_TABLE: summary["n_treatment"]},
    ]
    assert done.rows.num_rows + done.n_held_back == summary["n_treatment"]
    # Default send time: the 1st of the month after the 360's last month, at send_hour.
    nxt = (c360.month.max().replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    assert done.sent_at == dt.datetime.combine(nxt, dt.time(campaign_from_data(CAMPAIGN).send_hour))
    con.disconnect()
