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


def _json(args: list[str]) -> list[dict]:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_churn_scores_are_the_riskiest_in_order(ingested_world, warehouse):
    from touchpoint.churn import SCORES_MART

    scores = ingested_world[0].table(SCORES_MART).to_pandas().sort_values("risk_rank")
    rows = _json(["churn", "scores", "-w", warehouse, "--top", "5", "--lang", "zh"])
    assert [r["customer_id"] for r in rows] == scores.customer_id.head(5).tolist()
    settings = load_churn_settings()
    first = scores.iloc[0]
    if first.reason_1 in settings.reasons:
        assert rows[0]["reasons"].startswith(settings.reasons[first.reason_1].name_zh)
    reason = scores.reason_1.dropna().iloc[0]
    if reason in settings.reasons:
        only = _json(["churn", "scores", "-w", warehouse, "--reason", reason, "--top", "1000"])
        assert len(only) == min(1000, int((scores.reason_1 == reason).sum()))
    bad = runner.invoke(app, ["churn", "scores", "-w", warehouse, "--reason", "nope"])
    assert bad.exit_code != 0 and "nope" in bad.output


def test_churn_evaluation_drivers_and_retention_curves(ingested_world, warehouse):
    from touchpoint.churn import CALIBRATION_MART, CURVES_MART, DRIVERS_MART, EVALUATION_MART

    con = ingested_world[0]
    evaluation = con.table(EVALUATION_MART).to_pandas().dropna(subset=["roc_auc"])
    rows = _json(["churn", "evaluation", "-w", warehouse])
    assert sorted(r["model"] for r in rows) == sorted(evaluation.model)
    drivers = _json(["churn", "drivers", "-w", warehouse])
    assert [r["feature"] for r in drivers] == (
        con.table(DRIVERS_MART).to_pandas().sort_values("rank").feature.tolist()
    )
    curves = _json(["retention", "curves", "-w", warehouse])
    assert len(curves) == con.table(CURVES_MART).count().to_pyarrow().as_py()
    one = curves[-1]["cohort"]
    only = _json(["retention", "curves", "-w", warehouse, "--cohort", one])
    assert only == [r for r in curves if r["cohort"] == one]
    shown = runner.invoke(app, ["churn", "evaluation", "-w", warehouse, "--lang", "zh"])
    assert shown.exit_code == 0, shown.output
    calibration = con.table(CALIBRATION_MART).to_pandas()
    if len(calibration):
        assert "提升度" in shown.output


def test_lift_by_decile_by_hand():
    import ibis

    from touchpoint.churn import CALIBRATION_MART, lift_by_decile

    con = ibis.duckdb.connect()
    # Three bins (1 = lowest risk): 10 % overall; the riskiest third left at 20 %.
    con.create_table(
        CALIBRATION_MART,
        pd.DataFrame(
            {
                "bin": [1, 2, 3],
                "n": [100, 100, 100],
                "mean_predicted": [0.02, 0.1, 0.2],
                "observed_rate": [0.0, 0.1, 0.2],
            }
        ),
    )
    rows = lift_by_decile(con).to_pylist()
    assert [r["decile"] for r in rows] == [1, 2, 3]
    assert [round(r["lift"], 9) for r in rows] == [2.0, 1.0, 0.0]
