"""``touchpoint run --engine spark``: bad input is one line and leaves the warehouse as it was."""

from __future__ import annotations

import sys

from spark_checks import one_line, warehouse_tables
from typer.testing import CliRunner

from touchpoint.cli import app
from touchpoint.warehouse import connect

runner = CliRunner(env={"COLUMNS": "200"})


def _warehouse(tmp_path):
    path = tmp_path / "w.duckdb"
    con = connect(str(path))
    con.create_table("mart_marker", {"x": [1]})
    con.disconnect()
    return path


def test_an_unreachable_master_is_one_line_and_writes_nothing(tmp_path):
    warehouse = _warehouse(tmp_path)
    config = tmp_path / "config.yaml"
    config.write_text("spark:\n  master: sc://127.0.0.1:1\n", encoding="utf-8")
    result = runner.invoke(
        app, ["run", "--engine", "spark", "-w", str(warehouse), "--config", str(config)]
    )
    line = one_line(result)
    assert "cannot start Spark on master 'sc://127.0.0.1:1'" in line
    assert warehouse_tables(warehouse) == ["mart_marker"]


def test_a_missing_extra_is_one_line(tmp_path, monkeypatch):
    warehouse = _warehouse(tmp_path)
    monkeypatch.setitem(sys.modules, "pyspark", None)  # import pyspark now raises ImportError
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    result = runner.invoke(app, ["run", "--engine", "spark", "-w", str(warehouse)])
    line = one_line(result)
    assert "pip install 'touchpoint[spark]'" in line
    assert warehouse_tables(warehouse) == ["mart_marker"]


def test_the_engine_help_names_the_extra():
    # Rich reads "[spark]" as markup and drops it unless escaped.
    result = runner.invoke(app, ["run", "--help"])
    assert result.exit_code == 0, result.output
    assert "pip install 'touchpoint[spark]'" in " ".join(result.output.split())
