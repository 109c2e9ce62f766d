from typer.testing import CliRunner

from touchpoint.cli import app
from touchpoint.warehouse import connect


def test_run_then_report_in_both_languages(tiny_warehouse, tmp_path):
    warehouse = tiny_warehouse.con.execute("PRAGMA database_list").fetchall()[0][2]
    tiny_warehouse.disconnect()
    runner = CliRunner()
    result = runner.invoke(app, ["run", "-w", warehouse])
    assert result.exit_code == 0, result.output
    assert "channels_cubes" in result.output
    con = connect(warehouse, read_only=True)
    log = con.table("pipeline_runs").to_pyarrow().to_pylist()
    ran = {r["step"] for r in log if r["skipped_reason"] is None}
    # The tiny warehouse has contacts only: every other step says which input it lacks.
    assert ran == {"channels_cubes", "channels"}
    assert all(
        r["skipped_reason"].startswith("missing input table") for r in log if r["step"] not in ran
    )
    con.disconnect()
    for lang in ("en", "zh"):
        out = tmp_path / f"r.{lang}.html"
        result = runner.invoke(app, ["report", "-w", warehouse, "--lang", lang, "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert out.exists() and str(out.name) in result.output


def test_run_one_step_reads_the_rest_from_the_warehouse(tiny_warehouse):
    warehouse = tiny_warehouse.con.execute("PRAGMA database_list").fetchall()[0][2]
    tiny_warehouse.disconnect()
    runner = CliRunner()
    assert runner.invoke(app, ["run", "-w", warehouse]).exit_code == 0
    # channels reads channels_cubes' tables, which the first run left in the warehouse.
    result = runner.invoke(app, ["run", "-w", warehouse, "--step", "channels", "--lang", "zh"])
    assert result.exit_code == 0, result.output
    assert "CPU 秒" in result.output
    con = connect(warehouse, read_only=True)
    log = con.table("pipeline_runs").to_pyarrow().to_pylist()
    con.disconnect()
    last = max(r["ran_at"] for r in log)
    assert {r["step"] for r in log if r["ran_at"] == last} == {"channels"}
    assert all(r["cpu_seconds"] >= 0 for r in log if r["skipped_reason"] is None)


def test_an_unknown_step_is_one_line_naming_the_steps(tiny_warehouse):
    warehouse = tiny_warehouse.con.execute("PRAGMA database_list").fetchall()[0][2]
    tiny_warehouse.disconnect()
    result = CliRunner().invoke(app, ["run", "-w", warehouse, "--step", "channels,chrun"])
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "no step named 'chrun'" in lines[0] and "churn" in lines[0]
