"""``touchpoint campaign uplift`` on a hand-built warehouse whose effect is planted by age:
the tables it writes, --json, --csv, --lang zh, and who it picks."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from touchpoint.cli import app
from touchpoint.warehouse import connect

pytestmark = pytest.mark.slow  # fits a dozen tree ensembles
runner = CliRunner(env={"COLUMNS": "200"})
N = 4000
CAMPAIGN = {
    "id": "divert_store",
    "name": {"en": "Pay without the queue", "zh": "免排队缴费"},
    "action": "divert_store_payment_to_self_service",
    "audience": {"rule": "pref_level_payment_store >= 1"},
    "channels": ["sms"],
    "holdout_share": 0.5,
}


def _c360(ids, month, rng):
    return pd.DataFrame(
        {
            "customer_id": ids,
            "month": month,
            "brand": rng.choice(["gotone", "mzone", "easyown"], len(ids)),
            "age_years": rng.integers(18, 80, len(ids)),
            "tenure_months": rng.integers(0, 120, len(ids)),
            "pref_level_payment_store": rng.integers(1, 6, len(ids)),
            "n_payments_3m_store": rng.integers(0, 4, len(ids)),
        }
    )


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    """Round 1 in March (half held out); an effect planted on the young only: 70 % of the
    treated under 35 stop paying in stores, against 20 % of everyone else."""
    root = tmp_path_factory.mktemp("uplift_cli")
    rng = np.random.default_rng(7)
    ids = [f"C{i:08d}" for i in range(N)]
    march, june = dt.date(2026, 3, 1), dt.date(2026, 6, 1)
    first = _c360(ids, march, rng)
    c360 = pd.concat([first, first.assign(month=june)], ignore_index=True)
    treated = rng.random(N) < 0.5
    young = c360.age_years.to_numpy()[:N] < 35
    away = rng.random(N) < np.where(treated & young, 0.7, 0.2)
    payments = pd.DataFrame(
        {
            "customer_id": [c for c, a in zip(ids, away, strict=True) if not a],
            "paid_at": pd.Timestamp("2026-04-05 10:00"),
            "channel": "store",
        }
    )
    payments = pd.concat(
        [
            payments,
            # March (the selection month) and June (the round has three months after March).
            pd.DataFrame(
                {"customer_id": ids, "paid_at": pd.Timestamp("2026-03-05 10:00"), "channel": "web"}
            ),
            pd.DataFrame(
                {"customer_id": ids, "paid_at": pd.Timestamp("2026-06-05 10:00"), "channel": "web"}
            ),
        ]
    )
    con = connect(root / "wh.duckdb")
    con.create_table("mart_customer_360", c360)
    con.create_table("stg_payments", payments)
    con.create_table(
        "campaign_definitions",
        pa.table(
            {
                "campaign_id": [CAMPAIGN["id"]],
                "version": [1],
                "definition_json": [json.dumps(CAMPAIGN)],
                "created_by": ["alice"],
            }
        ),
    )
    con.create_table(
        "campaign_assignments",
        pd.DataFrame(
            {
                "customer_id": ids,
                "group": np.where(treated, "treatment", "holdout"),
                "campaign_id": CAMPAIGN["id"],
                "audience_month": march,
            }
        ),
    )
    con.disconnect()
    return dict(path=root / "wh.duckdb", root=root, young=set(np.array(ids)[young]))


def _run(*args):
    return runner.invoke(app, ["campaign", "uplift", *args], catch_exceptions=False)


def test_json_compares_the_strategies_and_uplift_finds_the_planted_effect(warehouse):
    out = _run("divert_store", "--warehouse", str(warehouse["path"]), "--json")
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    rows = {r["strategy"]: r for r in doc["comparison"]}
    assert set(rows) == {"everyone", "preference_level", "uplift"}
    # Planted: +50 points on the young (about 28 % of the round), none on the others.
    assert rows["everyone"]["uplift_at_share"] == pytest.approx(0.5 * 17 / 62, abs=0.05)
    assert rows["uplift"]["uplift_at_share"] > 0.35
    assert rows["uplift"]["qini_auc"] > rows["preference_level"]["qini_auc"] + 0.1
    assert doc["n_learnt"] == N and doc["scored_month"] == "2026-06-01"
    # The next audience: June's customers of the rule, without the ones March treated.
    assert doc["n_scored"] == pytest.approx(N / 2, rel=0.1)
    assert {c["strategy"] for c in doc["qini_curves"]} == {"everyone", "preference_level", "uplift"}


def test_the_scores_table_and_csv_pick_the_young(warehouse):
    csv = warehouse["root"] / "next.csv"
    out = _run("divert_store", "--warehouse", str(warehouse["path"]), "--csv", str(csv))
    assert out.exit_code == 0, out.output
    assert "by uplift" in out.output and "treat everyone" in out.output
    scores = pd.read_csv(csv)
    con = connect(warehouse["path"], read_only=True)
    stored = con.table("campaign_uplift_scores").to_pandas()
    comparison = con.table("campaign_uplift_comparison").to_pandas()
    con.disconnect()
    assert len(stored) == len(scores) and len(comparison) == 3  # a rerun replaced the rows
    picked = stored[stored.selected]
    assert (picked.expected_saving_yuan > 0).all()
    # The planted effect is on the young (about 27 % of the audience): they come first, and
    # the model's uplift is about the planted +0.5 for them and about none for the others.
    is_young = stored.customer_id.isin(warehouse["young"])
    top = stored.sort_values("rank").head(300).customer_id.isin(warehouse["young"]).mean()
    print(f"picked {len(picked)} of {len(stored)}; young among the first 300: {top:.3f}")
    assert top > 0.9
    assert stored.uplift[is_young].mean() == pytest.approx(0.5, abs=0.1)
    assert abs(stored.uplift[~is_young].mean()) < 0.05
    assert stored.sort_values("rank").expected_saving_yuan.is_monotonic_decreasing


def test_chinese_and_a_budget(warehouse):
    out = _run("divert_store", "--warehouse", str(warehouse["path"]), "--lang", "zh")
    assert "按增益模型" in out.output and "全部触达" in out.output
    out = _run("divert_store", "--warehouse", str(warehouse["path"]), "--max-orders", "50")
    con = connect(warehouse["path"], read_only=True)
    assert con.table("campaign_uplift_scores").selected.sum().execute() <= 50
    con.disconnect()


def test_an_unknown_campaign_is_refused(warehouse):
    out = runner.invoke(
        app,
        ["campaign", "uplift", "nope", "--warehouse", str(warehouse["path"])],
    )
    assert out.exit_code != 0 and "unknown campaign" in out.output


def test_the_report_draws_the_stored_qini_curves_and_the_strategies(warehouse):
    """The run's comparison and curves come back through ``campaign_uplift`` (the JSON's own
    figures, and a random line from no one to the whole round), and the report's campaign
    section draws them in both languages."""
    from touchpoint import campaigns
    from touchpoint.config import load_config
    from touchpoint.report import render_report
    from touchpoint.report.sections.campaign_tracking import SECTION
    from touchpoint.warehouse import write_table

    out = _run("divert_store", "--warehouse", str(warehouse["path"]), "--json")
    doc = json.loads(out.output)
    con = connect(warehouse["path"])
    stored = campaigns.campaign_uplift(con, "divert_store")
    assert [r["strategy"] for r in stored["comparison"]] == [
        "everyone",
        "preference_level",
        "uplift",
    ]
    for mine, printed in zip(stored["comparison"], doc["comparison"], strict=True):
        assert mine["qini_auc"] == pytest.approx(printed["qini_auc"], abs=1e-12)
        assert mine["saving_yuan"] == pytest.approx(printed["saving_yuan"], abs=1e-9)
    curves = pd.DataFrame(stored["curves"])
    model = curves[curves.strategy == "uplift"].sort_values("n_treated")
    printed = pd.DataFrame(doc["qini_curves"])
    assert model.incremental.tolist() == pytest.approx(
        printed[printed.strategy == "uplift"].incremental.tolist()
    )
    random = curves[curves.strategy == "random"].sort_values("n_treated")
    assert random.n_treated.tolist() == [0, doc["n_learnt"]] == [0, model.n_treated.max()]
    assert random.incremental.iloc[-1] == pytest.approx(model.incremental.iloc[-1])
    # The model's curve rises above the random line (the planted effect is on the young).
    third = model.iloc[len(model) // 3]
    line = random.incremental.iloc[-1] * third.n_treated / model.n_treated.max()
    assert third.incremental > line + 50
    a = con.table("campaign_assignments")
    write_table(
        con,
        campaigns.TRACKING_MART,
        campaigns.track_campaigns(
            a,
            campaigns.definition_actions(con.table("campaign_definitions")),
            payments=con.table("stg_payments"),
        ),
    )
    html = {
        lang: render_report(con, load_config(), lang=lang, sections=[SECTION])
        for lang in ("en", "zh")
    }
    con.disconnect()
    uplift_row = stored["comparison"][2]
    assert "Whom to treat next" in html["en"] and "Qini curve" in html["en"]
    assert "random order" in html["en"] and "by uplift" in html["en"]
    assert f"{uplift_row['qini_auc']:.3f}" in html["en"]
    assert "下一轮触达谁" in html["zh"] and "按增益模型" in html["zh"]
