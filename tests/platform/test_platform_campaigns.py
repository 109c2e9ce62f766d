"""The console's campaign page: a campaign created through the library, approved by another
user through the page (never by its creator), then dispatched; the states on the page follow
the warehouse's work-order events, and the channel file holds the dispatched orders."""

from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path

import pandas as pd
from fastapi.testclient import TestClient
from platform_helpers import make_app

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root

from benchmarks.tags_data import synthetic_c360  # noqa: E402

from touchpoint.campaigns import (  # noqa: E402
    EVENTS_TABLE,
    campaign_from_data,
    campaign_settings_from_config,
    create_campaign,
)
from touchpoint.config import load_config  # noqa: E402
from touchpoint.warehouse import Insert, connect, load_atomically  # noqa: E402


def _campaign(campaign_id: str, rule: str):
    return campaign_from_data(
        {
            "id": campaign_id,
            "name": {"en": campaign_id, "zh": campaign_id},
            "action": "divert_store_payment_to_self_service",
            "audience": {"rule": rule},
            "holdout_share": 0.2,
        }
    )


def _states(page: str, campaign_id: str) -> dict[str, int]:
    row = re.search(rf'<tr id="campaign-{campaign_id}">(.*?)</tr>', page, re.S)
    assert row, page
    cells = re.findall(r'data-state="(\w+)">([\d,]+)<', row.group(1))
    return {state: int(n.replace(",", "")) for state, n in cells}


def test_approve_by_another_user_then_dispatch_through_the_page(tmp_path):
    warehouse = tmp_path / "wh.duckdb"
    config = load_config()
    settings = campaign_settings_from_config(config)
    con = connect(warehouse)
    con.create_table("mart_customer_360", synthetic_c360(config, 600, months=2, seed=3))
    now = dt.datetime(2026, 3, 1, 9, 0)

    def save(writes):
        load_atomically(con, inserts=[Insert(t, d) for t, d in writes.items()])

    own = create_campaign(
        con,
        _campaign("own", "pref_level_payment_store >= 3"),
        "approver",
        now,
        settings=settings,
        save=save,
    )
    made = create_campaign(
        con,
        _campaign("store", "pref_level_payment_store >= 3"),
        "campaign_manager",
        now,
        settings=settings,
        save=save,
    )
    created = con.table(EVENTS_TABLE).to_pyarrow().to_pylist()
    con.disconnect()
    assert made["n_treatment"] == sum(r["campaign_id"] == "store" for r in created) > 0
    assert own["n_treatment"] > 0

    app, tokens = make_app(warehouse)
    client = TestClient(app, raise_server_exceptions=False, follow_redirects=False)

    def as_(role):
        return {"Authorization": f"Bearer {tokens[role]}"}

    page = client.get("/console/campaigns", headers=as_("approver"))
    assert page.status_code == 200
    assert 'id="approve-store"' in page.text and 'id="approve-own"' not in page.text
    assert _states(page.text, "store")["created"] == made["n_treatment"]

    mine = client.post("/console/campaigns/own/approve", headers=as_("approver"))
    assert mine.status_code == 409 and "&#39;approver&#39; created" in mine.text
    mine = client.post("/console/campaigns/own/approve?lang=zh", headers=as_("approver"))
    assert mine.status_code == 409 and "由“approver”创建，本人不能审批" in mine.text
    early = client.post(
        "/console/campaigns/store/dispatch?lang=en", headers=as_("campaign_manager")
    )
    assert early.status_code == 409 and "approve it before dispatch" in early.text
    assert client.post("/console/campaigns/store/approve", headers=as_("viewer")).status_code == 403

    done = client.post("/console/campaigns/store/approve", headers=as_("approver"))
    assert done.status_code == 303
    page = client.get("/console/campaigns?lang=zh", headers=as_("campaign_manager"))
    states = _states(page.text, "store")
    assert states["created"] == 0 and states["approved"] == made["n_treatment"]
    assert _states(page.text, "own")["created"] == own["n_treatment"]  # untouched
    assert "审批" in page.text and 'id="dispatch-store"' in page.text

    sent = client.post("/console/campaigns/store/dispatch", headers=as_("campaign_manager"))
    assert sent.status_code == 303
    page = client.get(sent.headers["location"], headers=as_("campaign_manager"))
    states = _states(page.text, "store")
    files = list((tmp_path / "work_orders").glob("store-*.csv"))
    assert len(files) == 1 and not list((tmp_path / "work_orders").glob("*.part"))
    orders = pd.read_csv(files[0])
    assert states["dispatched"] == len(orders) > 0
    assert states["dispatched"] + states["held_back"] == made["n_treatment"]
    assert set(orders.campaign_id) == {"store"}

    con = connect(warehouse)  # the warehouse itself, not only the snapshot, holds the events
    events = con.table(EVENTS_TABLE).to_pandas()
    con.disconnect()
    approved = events[(events.campaign_id == "store") & (events.event == "approved")]
    assert len(approved) == made["n_treatment"] and set(approved.actor) == {"approver"}
