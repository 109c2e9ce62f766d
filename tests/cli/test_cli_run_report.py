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
    # The tiny warehouse has contacts only: the channel steps run, the IVR ones are skipped.
    assert ran == {"channels_cubes", "channels"}
    skipped = {r["step"]: r["skipped_reason"] for r in log if r["skipped_reason"] is not None}
    assert skipped.get("ivr_cubes") == "missing input table stg_ivr_events"
    con.disconnect()
    for lang in ("en", "zh"):
        out = tmp_path / f"r.{lang}.html"
        result = runner.invoke(app, ["report", "-w", warehouse, "--lang", lang, "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert out.exists() and str(out.name) in result.output
