"""`touchpoint menu` on a warehouse built from the hand-made journeys of test_menu_design."""

from __future__ import annotations

import csv
import json

import pytest
from test_menu_design import CALLS, journeys
from typer.testing import CliRunner

from touchpoint.cli import app, main
from touchpoint.config import load_config
from touchpoint.ivr import build_menu_design
from touchpoint.warehouse import connect, write_table

pytestmark = pytest.mark.slow  # the module's warehouse runs the whole pipeline

runner = CliRunner(env={"COLUMNS": "220"})


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    path = tmp_path_factory.mktemp("menu") / "w.duckdb"
    con = connect(path)
    for name, expr in build_menu_design({"stg_ivr_events": journeys(CALLS)}, load_config()).items():
        write_table(con, name, expr)
    expected = con.table("mart_ivr_menu_recommendations").order_by("rank").to_pyarrow().to_pylist()
    con.disconnect()
    return path, expected


def test_json_is_the_mart_in_rank_order(warehouse):
    path, expected = warehouse
    result = runner.invoke(app, ["menu", "-w", str(path), "--json", "--top", "0"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [(r["rank"], r["kind"], r["node_id"]) for r in rows] == [
        (r["rank"], r["kind"], r["node_id"]) for r in expected
    ]
    assert rows[0]["est_cost_saved_yuan_per_month"] == pytest.approx(
        expected[0]["est_cost_saved_yuan_per_month"]
    )


def test_table_in_both_languages_with_filter_top_and_csv(warehouse, tmp_path):
    path, expected = warehouse
    out = tmp_path / "menu.csv"
    result = runner.invoke(app, ["menu", "-w", str(path), "--top", "1", "--csv", str(out)])
    assert result.exit_code == 0, result.output
    top = expected[0]
    assert f"Give {top['node_id']} its own key" in result.output
    assert "1 rows written" in result.output
    with out.open(encoding="utf-8") as handle:
        assert [r["node_id"] for r in csv.DictReader(handle)] == [top["node_id"]]
    result = runner.invoke(app, ["menu", "-w", str(path), "--lang", "zh", "--kind", "promote"])
    assert result.exit_code == 0, result.output
    assert "提升" in result.output and "独立按键" in result.output
    result = runner.invoke(app, ["menu", "-w", str(path), "--json", "--kind", "fix"])
    assert json.loads(result.output) == []  # the hand-built menu has no confusing node


def test_missing_mart_is_one_line(tmp_path):
    path = tmp_path / "empty.duckdb"
    connect(path).disconnect()
    with pytest.raises(SystemExit) as info:
        main(["menu", "-w", str(path)])
    assert info.value.code == 2
