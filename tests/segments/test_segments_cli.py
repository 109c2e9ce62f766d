"""``touchpoint segments|lifecycle`` and the card's behaviour section on the simulated world."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from touchpoint.churn import SCORES_MART
from touchpoint.cli import app
from touchpoint.cli.customer_cmd import CARD_SECTIONS, CardContext
from touchpoint.config import load_config
from touchpoint.segments import LIFECYCLE_MART, MEMBERS_MART, PROFILES_MART, STAGES

runner = CliRunner(env={"COLUMNS": "200"})


@pytest.fixture(scope="module")
def warehouse(ingested_world, tmp_path_factory):
    """A copy of the ingested world's warehouse (the session keeps the original open)."""
    con = ingested_world[0]
    con.con.execute("CHECKPOINT")
    path = con.con.execute("PRAGMA database_list").fetchall()[0][2]
    copy = tmp_path_factory.mktemp("segments_cli") / "w.duckdb"
    shutil.copy(path, copy)
    shutil.copytree(path + ".data", str(copy) + ".data")  # the Parquet parts go with the file
    return str(copy)


def _json(*args: str):
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_segments_list_matches_the_profiles_mart(ingested_world, warehouse):
    profiles = ingested_world[0].table(PROFILES_MART).to_pandas().sort_values("segment")
    for lang in ("en", "zh"):
        rows = _json("segments", "list", "-w", warehouse, "--lang", lang)
        assert [r["segment"] for r in rows] == profiles.segment.tolist()
        assert [r["name"] for r in rows] == profiles[f"name_{lang}"].tolist()
        assert [r["description"] for r in rows] == profiles[f"description_{lang}"].tolist()
        assert sum(r["n_customers"] for r in rows) == profiles.n_customers.sum()
    text = runner.invoke(app, ["segments", "list", "-w", warehouse, "--lang", "zh"]).output
    assert "客群" in text and profiles.name_zh.iloc[0] in text


def test_migration_stability_and_csv(warehouse, tmp_path):
    rows = _json("segments", "migration", "-w", warehouse)
    assert rows and len({r["to_month"] for r in rows}) == 1
    by_from: dict[int, float] = {}
    for r in rows:
        by_from[r["from_segment"]] = by_from.get(r["from_segment"], 0) + r["share"]
    assert all(abs(v - 1) < 1e-9 for v in by_from.values())
    stability = _json("segments", "stability", "-w", warehouse)
    assert all(0 <= r["share_kept"] <= 1 for r in stability)
    out = tmp_path / "s.csv"
    result = runner.invoke(app, ["segments", "stability", "-w", warehouse, "--csv", str(out)])
    assert result.exit_code == 0 and out.read_text().startswith('"from_month"')


def test_lifecycle_stages_count_the_latest_month(ingested_world, warehouse):
    stages = ingested_world[0].table(LIFECYCLE_MART).to_pandas()
    latest = stages[stages.month == stages.month.max()]
    rows = _json("lifecycle", "stages", "-w", warehouse, "--lang", "zh")
    assert [r["stage"] for r in rows] == list(STAGES)
    assert {r["stage"]: r["n_customers"] for r in rows} == {
        s: int((latest.stage == s).sum()) for s in STAGES
    }
    assert rows[0]["name"] == "离网"
    flows = _json("lifecycle", "transitions", "-w", warehouse)
    assert flows and all(r["from_stage"] in STAGES and r["to_stage"] in STAGES for r in flows)


def test_card_shows_segment_stage_risk_and_reasons(ingested_world):
    con = ingested_world[0]
    scores = con.table(SCORES_MART).to_pandas()
    section = next(s for s in CARD_SECTIONS if s.id == "behaviour")
    members = con.table(MEMBERS_MART).to_pandas()
    customer = scores.customer_id.iloc[0] if len(scores) else members.customer_id.iloc[0]
    latest = members[members.customer_id == customer].sort_values("month").iloc[-1]
    ctx = CardContext(con=con, config=load_config(), customer_id=customer, lang="zh")
    data = section.collect(ctx)
    assert data["segment"] == latest.segment
    assert data["stage"] in STAGES and data["stage_name"] and data["action"]
    if len(scores):
        row = scores[scores.customer_id == customer].iloc[0]
        assert data["churn_probability"] == pytest.approx(row.churn_probability)
        assert data["reasons"][:1] == ([row.reason_1] if row.reason_1 else [])
    assert section.render(data, ctx) is not None
    nobody = CardContext(con=con, config=load_config(), customer_id="no-such", lang="en")
    assert section.collect(nobody) is None
