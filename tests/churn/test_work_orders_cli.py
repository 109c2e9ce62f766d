"""``touchpoint churn work-orders`` and ``touchpoint retention value`` on the simulated world."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from typer.testing import CliRunner

from touchpoint.churn import SEGMENT_VALUE_MART, WORK_ORDERS_MART, load_churn_settings
from touchpoint.cli import app

runner = CliRunner(env={"COLUMNS": "200"})


@pytest.fixture(scope="module")
def warehouse(ingested_world, tmp_path_factory):
    con = ingested_world[0]
    con.con.execute("CHECKPOINT")
    path = con.con.execute("PRAGMA database_list").fetchall()[0][2]
    copy = tmp_path_factory.mktemp("work_orders") / "w.duckdb"
    shutil.copy(path, copy)
    shutil.copytree(path + ".data", str(copy) + ".data")
    return str(copy)


def test_work_orders_within_budget_written_for_a_campaign(ingested_world, warehouse, tmp_path):
    marts = ingested_world[0].table(WORK_ORDERS_MART).to_pandas()
    settings = load_churn_settings()
    assert len(marts) > 0
    assert marts.action_reason.map(lambda r: settings.reasons[r].controllable).all()
    assert (marts.expected_loss_yuan.diff().dropna() <= 1e-9).all()  # ranked by expected loss
    cost = settings.work_orders.cost_per_order_yuan
    budget = 3 * cost
    out = tmp_path / "orders.csv"
    result = runner.invoke(
        app,
        [
            "churn",
            "work-orders",
            "-w",
            warehouse,
            "--budget",
            str(budget),
            "--out",
            str(out),
            "--json",
            "--lang",
            "zh",
        ],
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    n = min(3, len(marts))
    assert [r["customer_id"] for r in rows] == marts.customer_id.head(n).tolist()
    assert rows[0]["hint"] == settings.reasons[rows[0]["action_reason"]].hint_zh
    written = pd.read_csv(out)
    assert written.customer_id.tolist() == marts.customer_id.head(n).tolist()
    text = runner.invoke(app, ["churn", "work-orders", "-w", warehouse, "--budget", "0"]).output
    assert "no work orders" in text


def test_segment_value_command(ingested_world, warehouse):
    value = ingested_world[0].table(SEGMENT_VALUE_MART).to_pandas()
    result = runner.invoke(app, ["retention", "value", "-w", warehouse, "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert sorted(r["segment"] for r in rows) == sorted(value.segment)
    fitted = [r for r in rows if r["alpha"] is not None]
    for r in fitted:
        assert r["lifetime_value_yuan"] == pytest.approx(r["expected_months"] * r["mean_arpu_yuan"])
