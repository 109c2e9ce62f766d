"""``touchpoint survey select`` on a hand-built warehouse."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pyarrow.csv as pa_csv
import pytest
from typer.testing import CliRunner

from touchpoint.cli import app
from touchpoint.warehouse import connect

runner = CliRunner(env={"COLUMNS": "200"})


def _warehouse(path):
    con = connect(path)
    day = dt.date(2026, 3, 2)
    ts = [dt.datetime.combine(day, dt.time(h)) for h in (9, 10, 11, 15)]
    con.create_table(
        "stg_contacts",
        pa.table(
            {
                "contact_id": ["k1", "k2", "k3", "k4"],
                "customer_id": ["c1", "c2", "c3", "c4"],
                "started_at": ts,
                "ended_at": ts,
                "channel": ["agent", "store", "agent", "ivr"],
                "business": ["payment"] * 4,
                "outcome": ["resolved", "resolved", "unresolved", "resolved"],
                "region": [None, None, None, None],
            },
            schema=pa.schema(
                [
                    ("contact_id", pa.string()),
                    ("customer_id", pa.string()),
                    ("started_at", pa.timestamp("us")),
                    ("ended_at", pa.timestamp("us")),
                    ("channel", pa.string()),
                    ("business", pa.string()),
                    ("outcome", pa.string()),
                    ("region", pa.string()),
                ]
            ),
        ),
    )
    con.create_table(
        "stg_customers",
        pa.table(
            {
                "customer_id": ["c1", "c2", "c3", "c4"],
                "value_tier": ["gold", "gold", "regular", "gold"],
                "region": ["n", "n", "n", "n"],
            }
        ),
    )
    con.disconnect()


def test_select_writes_the_days_list(tmp_path):
    wh = tmp_path / "w.duckdb"
    _warehouse(wh)
    strategy = tmp_path / "s.yaml"
    strategy.write_text(
        "id: agent_sms\nsurvey_channel: sms\ndaily_quota: 10\n"
        "dimensions:\n  channel: [agent, store]\n  customer_level: [gold]\n",
        encoding="utf-8",
    )
    dnd = tmp_path / "dnd.csv"
    dnd.write_text("customer_id\nc2\n", encoding="utf-8")
    out = tmp_path / "list.csv"
    args = [
        "survey",
        "select",
        "-w",
        str(wh),
        "--strategy",
        str(strategy),
        "--day",
        "2026-03-02",
        "--out",
        str(out),
        "--do-not-disturb",
        str(dnd),
    ]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["n_selected"] == 1
    assert pa_csv.read_csv(out)["contact_id"].to_pylist() == ["k1"]
    zh = runner.invoke(app, [*args, "--lang", "zh"])
    assert zh.exit_code == 0 and "选中" in zh.output


def test_a_bad_strategy_is_one_positioned_line(tmp_path):
    wh = tmp_path / "w.duckdb"
    _warehouse(wh)
    strategy = tmp_path / "s.yaml"
    strategy.write_text("id: x\nsurvey_channel: fax\ndaily_quota: 1\n", encoding="utf-8")
    result = runner.invoke(
        app, ["survey", "select", "-w", str(wh), "--strategy", str(strategy), "--day", "2026-03-02"]
    )
    assert result.exit_code == 2
    assert result.output.strip().startswith("error: ")
    assert "s.yaml: line 2, column 17: survey_channel" in result.output.replace("\n", "")


@pytest.mark.slow
def test_csat_and_peak_end_read_the_marts(tmp_path):
    from touchpoint.config import load_config
    from touchpoint.ingest import ingest
    from touchpoint.quality import quality_tables
    from touchpoint.simulate import simulate

    result = simulate(tmp_path / "w", customers=3000, months=1, seed=2)
    wh = tmp_path / "w.duckdb"
    con = connect(wh)
    ingest(con, list(result.files.values()))
    names = ("stg_surveys", "stg_contacts", "stg_customers", "stg_ivr_events")
    for name, expr in quality_tables(*(con.table(n) for n in names), load_config()).items():
        con.create_table(name, expr.to_pyarrow())
    # The customer card's section: the customer's latest replies, newest first.
    from touchpoint.cli.customer_cmd import CARD_SECTIONS, CardContext, collect_card, render_card

    replied = con.table("mart_survey_replies")
    who = replied.filter(replied.has_reply).customer_id.min().to_pyarrow().as_py()
    ctx = CardContext(con, load_config(), who, "zh")
    section = [s for s in CARD_SECTIONS if s.id == "recent_surveys"]
    card = collect_card(ctx, section)
    rows = card["recent_surveys"]
    assert rows and all(r["survey_channel"] in {"sms", "ivr"} for r in rows)
    assert [r["sent_at"] for r in rows] == sorted((r["sent_at"] for r in rows), reverse=True)
    assert any(r["reply_class"] is not None for r in rows)
    assert render_card(card, ctx, section)[0].title == "最近满意度调查回复"
    con.disconnect()
    out = runner.invoke(app, ["survey", "csat", "-w", str(wh), "--json"])
    assert out.exit_code == 0, out.output
    rows = {r["survey_channel"]: r for r in json.loads(out.output)}
    assert 0.3 < rows["sms"]["reply_rate"] < 0.5 and rows["ivr"]["reply_rate"] < 0.15
    zh = runner.invoke(app, ["survey", "csat", "-w", str(wh), "--lang", "zh"])
    assert zh.exit_code == 0 and "加权满意率" in zh.output
    pe = runner.invoke(app, ["survey", "peak-end", "-w", str(wh), "--json"])
    terms = {r["term"]: r for r in json.loads(pe.output)}
    assert terms["resolved"]["coefficient"] > 0
    src = runner.invoke(app, ["survey", "peak-end", "--sources", "-w", str(wh)])
    assert src.exit_code == 0 and "contact_channel" in src.output
    missing = runner.invoke(app, ["survey", "csat", "-w", str(tmp_path / "none.duckdb")])
    assert missing.exit_code == 2
