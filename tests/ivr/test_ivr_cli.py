"""`touchpoint ivr ...` and `touchpoint kpis` on a warehouse built from hand-made calls."""

import json

import pytest
from ivr_samples import LOST_CALL, T0, World, simple_call
from typer.testing import CliRunner

from touchpoint.cli import app, main
from touchpoint.config import load_config
from touchpoint.pipeline import run_pipeline
from touchpoint.warehouse import connect

pytestmark = pytest.mark.slow  # the module's warehouse runs the whole pipeline

runner = CliRunner(env={"COLUMNS": "250"})


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    world = World()
    world.call("c1", "u1", T0, LOST_CALL, region="north")
    world.call("c2", "u2", T0, simple_call("n4_1", "hang_up"), region="south")
    world.call("c3", "u3", T0, simple_call("n4_2", "transfer_agent", key="0"), region="south")
    path = tmp_path_factory.mktemp("ivr_cli") / "w.duckdb"
    con = connect(path)
    for name, table in world.tables().items():
        con.create_table(name, table.to_pyarrow())
    run_pipeline(con, load_config())
    con.disconnect()
    return str(path)


def test_nodes_json_and_csv(warehouse, tmp_path):
    out = tmp_path / "nodes.csv"
    result = runner.invoke(app, ["ivr", "nodes", "-w", warehouse, "--json", "--csv", str(out)])
    assert result.exit_code == 0, result.output
    rows = {r["node_id"]: r for r in json.loads(result.output)}
    assert rows["n2"]["n_loops"] == 1 and rows["root"]["n_visits"] == 3
    assert out.read_text().count("\n") == len(rows) + 1


@pytest.mark.parametrize("view", ["nodes", "paths", "lost", "graph", "containment"])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_view_prints_a_table(warehouse, view, lang):
    result = runner.invoke(app, ["ivr", view, "-w", warehouse, "--lang", lang])
    assert result.exit_code == 0, result.output
    assert ("路径" if lang == "zh" else "Path") in result.output if view == "paths" else True


def test_containment_by_region(warehouse):
    result = runner.invoke(app, ["ivr", "containment", "--by", "region", "-w", warehouse, "--json"])
    rows = {r["dimension_value"]: r for r in json.loads(result.output)}
    assert set(rows) == {"north", "south"}
    assert rows["south"]["ivr_containment_rate"] == pytest.approx(0.5)
    assert rows["north"]["ivr_verified_containment_rate"] == pytest.approx(1.0)


def test_kpis_json_carries_the_ivr_figures(warehouse):
    result = runner.invoke(app, ["kpis", "-w", warehouse, "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["ivr_containment_rate"] == pytest.approx(2 / 3)
    assert document["ivr_verified_containment_rate"] == pytest.approx(1 / 3)
    assert document["mean_self_service_seconds"] == pytest.approx(35.0)


def test_missing_mart_is_one_line(tmp_path, capsys):
    empty = tmp_path / "empty.duckdb"
    connect(empty).disconnect()
    with pytest.raises(SystemExit) as exit_info:
        main(["ivr", "lost", "-w", str(empty)])
    assert exit_info.value.code != 0
    err = capsys.readouterr().err
    assert "mart_ivr_lost" in err and "touchpoint run" in err and "Traceback" not in err
