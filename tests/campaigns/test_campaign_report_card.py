"""The report's campaign section and the customer card's work orders, on the shared simulated
world with its three seeded campaigns (tests/conftest.py): each shows the query functions'
rows, in English and Chinese."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from rich.console import Console

from touchpoint import campaigns
from touchpoint.cli.campaign_cmd import _collect_work_orders, _render_work_orders
from touchpoint.cli.customer_cmd import CardContext
from touchpoint.config import load_config
from touchpoint.platform._api import card_of
from touchpoint.report import render_report
from touchpoint.report.sections.campaign_tracking import SECTION

pytestmark = pytest.mark.slow


def _visible(text, html):
    return text in html or json.dumps(text)[1:-1] in html


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_section_shows_each_campaign_its_holdout_and_the_gap(ingested_world, lang):
    con = ingested_world[0]
    html = render_report(con, load_config(), lang=lang, sections=[SECTION])
    rows = campaigns.campaign_tracking(con, "seed_store")
    headline = next(r for r in rows if r["metric"] == "away_since_start")
    for campaign_id in ("seed_store", "seed_agent", "seed_retain"):
        assert f"<strong>{campaign_id}</strong>" in html
    if lang == "en":
        assert "Naive" in html and "regression to the mean" in html
        assert _visible("no store payment since the start: treated and holdout by month", html)
        # The gap line carries the mart's own figures, formatted.
        assert f"+{headline['naive_effect'] * 100:.1f}%" in html
        # The retention offer's money and its success beside the 20 % target.
        kept = campaigns.campaign_savings_rows(con, "seed_retain")
        assert kept and kept[-1]["target_success_rate"] == 0.2
        assert "Money of the retention offer" in html
        assert f"target 20%, measured {kept[-1]['success_rate'] * 100:.1f}%" in html
    else:
        assert "均值回归" in html and _visible("受理组", html) and _visible("对照组", html)
        assert "简单对比" in html and "Net effect" not in html
        assert "挽留活动的收益" in html and "目标 20%" in html
    money = campaigns.campaign_savings_rows(con, "seed_store")
    assert money and money[0]["n_orders"] > 0


def test_the_card_lists_a_customers_work_orders_and_responses(ingested_world):
    con = ingested_world[0]
    events = con.table(campaigns.EVENTS_TABLE).to_pandas()
    sent = events[events.event == "dispatched"]
    customer_id = sent.customer_id.iloc[0]
    expected = set(sent[sent.customer_id == customer_id].campaign_id)
    rows = campaigns.customer_work_orders(con, customer_id)
    assert {r["campaign_id"] for r in rows} == expected
    assert all(r["state"] == "dispatched" and r["sent_at"] is not None for r in rows)
    ctx = CardContext(con=con, config=load_config(), customer_id=customer_id, lang="zh")
    data = _collect_work_orders(ctx)
    console = Console(width=160, record=True)
    console.print(_render_work_orders(data, ctx))
    shown = console.export_text()
    assert "已发送" in shown and next(iter(expected)) in shown
    card = card_of(con, SimpleNamespace(config=load_config()), customer_id, "en")
    assert {o["campaign_id"] for o in card["work_orders"]} == expected
    held = campaigns.customer_work_orders(con, "nobody")
    assert held == []


def test_held_back_orders_show_their_reason_and_responses_come_back(tmp_path):
    import datetime as dt

    import ibis
    import pyarrow as pa

    from touchpoint.warehouse import connect

    con = connect(tmp_path / "w.duckdb")
    at = dt.datetime(2026, 3, 1, 9)

    def event(order, kind, sent_at=None, reason=None, minutes=0):
        return {
            "campaign_id": "c",
            "wave": 1,
            "work_order_id": order,
            "customer_id": "u1",
            "channel": "sms",
            "event": kind,
            "actor": "x",
            "at": at + dt.timedelta(minutes=minutes),
            "sent_at": sent_at,
            "reason": reason,
        }

    rows = [
        event("o1", "created"),
        event("o1", "approved", minutes=1),
        event("o1", "dispatched", sent_at=at, minutes=2),
        event("o2", "created"),
        event("o2", "approved", minutes=1),
        event("o2", "held_back", reason="frequency_cap", minutes=2),
    ]
    con.create_table(
        campaigns.EVENTS_TABLE,
        pa.Table.from_pylist(rows, schema=campaigns.EVENT_SCHEMA.to_pyarrow()),
    )
    con.create_table(
        "stg_campaign_responses",
        ibis.memtable(
            {
                "work_order_id": ["o1"],
                "customer_id": ["u1"],
                "response": ["accepted"],
                "responded_at": [at + dt.timedelta(hours=2)],
            }
        ).to_pyarrow(),
    )
    got = {r["work_order_id"]: r for r in campaigns.customer_work_orders(con, "u1")}
    assert got["o1"]["state"] == "dispatched" and got["o1"]["response"] == "accepted"
    assert got["o2"]["state"] == "held_back" and got["o2"]["reason"] == "frequency_cap"
    assert got["o2"]["sent_at"] is None and got["o2"]["response"] is None
