from pathlib import Path

from typer.testing import CliRunner

from touchpoint.cli import app


def test_demo_runs_the_whole_job_and_writes_both_reports(tmp_path):
    result = CliRunner().invoke(
        app, ["demo", "--customers", "600", "--months", "1", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert "0 quarantined" in result.output
    for lang in ("en", "zh"):
        report = tmp_path / f"report.{lang}.html"
        assert report.exists() and str(report.resolve())[-14:] in result.output.replace("\n", "")
    assert Path(tmp_path / "data" / "truth" / "realised.json").exists()
