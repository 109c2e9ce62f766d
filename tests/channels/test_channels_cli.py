"""`touchpoint channels` and `touchpoint kpis` on a small warehouse built from hand-made rows."""

import datetime as dt
import json
import shutil

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from touchpoint.channels import build
from touchpoint.cli import app, main
from touchpoint.warehouse import connect, write_table

runner = CliRunner(env={"COLUMNS": "200"})  # wide enough for every column


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory, stg_module, config):
    stg = stg_module
    at = stg.at
    rows = [
        # north, March: an IVR call that ends in the IVR, then an agent contact 30 min later
        {
            "customer_id": "a",
            "started_at": at(9),
            "channel": "ivr",
            "call_id": "c1",
            "region": "north",
        },
        {
            "customer_id": "a",
            "started_at": at(9, minutes=35),
            "channel": "agent",
            "call_id": "c9",
            "region": "north",
        },
        # south, March: an IVR call that ends in the IVR, nothing follows
        {
            "customer_id": "b",
            "started_at": at(9),
            "channel": "ivr",
            "call_id": "c2",
            "region": "south",
        },
        # April: two web contacts
        {
            "customer_id": "b",
            "started_at": dt.datetime(2024, 4, 2, 9),
            "channel": "web",
            "region": "south",
        },
        {
            "customer_id": "c",
            "started_at": dt.datetime(2024, 4, 3, 9),
            "channel": "web",
            "region": "south",
        },
    ]
    events = stg.ivr_events(
        [("c1", "a", at(9), "hang_up", "root"), ("c2", "b", at(9), "self_service_complete", "bill")]
    )
    path = tmp_path_factory.mktemp("channels_cli") / "wh.duckdb"
    con = connect(path)
    stg_tables = {
        name: write_table(con, name, table)
        for name, table in (("stg_contacts", stg.contacts(rows)), ("stg_ivr_events", events))
    }
    for name, expr in build(stg_tables, config).items():
        write_table(con, name, expr)
    con.disconnect()
    return path


def test_channels_json_gives_the_monthly_rows(warehouse):
    result = runner.invoke(app, ["channels", "--json", "-w", str(warehouse)])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [(r["period_start"], r["channel"], r["n_contacts"]) for r in rows] == [
        ("2024-03-01", "ivr", 2),
        ("2024-03-01", "agent", 1),
        ("2024-04-01", "web", 2),
    ]
    assert rows[0]["contact_share"] == pytest.approx(2 / 3)
    assert rows[0]["cost_yuan"] == pytest.approx(2 * 0.018)


def test_channels_by_region_daily_last_period_and_csv(warehouse, tmp_path):
    out = tmp_path / "rows.csv"
    result = runner.invoke(
        app,
        [
            "channels",
            "--by",
            "region",
            "--period",
            "day",
            "--last",
            "1",
            "--csv",
            str(out),
            "-w",
            str(warehouse),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Web hall" in result.output and "2024-04-03" in result.output
    assert "2024-03-04" not in result.output  # only the last day
    table = pa.csv.read_csv(out)
    assert table.column("dimension_value").to_pylist() == ["south"]
    assert table.column("n_contacts").to_pylist() == [1]


def test_channels_terminal_table_in_chinese(warehouse):
    result = runner.invoke(
        app, ["channels", "--by", "business", "--lang", "zh", "-w", str(warehouse)]
    )
    assert result.exit_code == 0, result.output
    assert "热线IVR自动" in result.output and "缴费" in result.output


def test_kpis_json_uses_the_metric_keys(warehouse):
    result = runner.invoke(app, ["kpis", "--json", "-w", str(warehouse)])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["ivr_to_agent_60min_rate"] == pytest.approx(0.5)
    assert doc["ivr_to_agent_60min_rate_by_region"] == {"north": 1.0, "south": 0.0}
    assert doc["calls_per_dialling_customer_per_day"] == pytest.approx(1.0)
    assert doc["contacts_by_channel"] == {"ivr": 2, "web": 2, "agent": 1}
    assert doc["cost_yuan_by_channel"]["agent"] == pytest.approx(0.77)
    assert doc["first_contact_date"] == "2024-03-04"
    assert "ivr_containment_rate" not in doc  # no mart_ivr_kpis in this warehouse


def test_kpis_table_names_the_region_and_channel_of_each_row(warehouse):
    result = runner.invoke(app, ["kpis", "-w", str(warehouse)])
    assert result.exit_code == 0, result.output
    assert "ivr_to_agent_60min_rate_by_region[north]" in result.output
    assert "contacts_by_channel[web]" in result.output


def test_kpis_merges_the_ivr_mart_when_present(warehouse, tmp_path):
    copy = tmp_path / "with_ivr.duckdb"
    shutil.copyfile(warehouse, copy)
    con = connect(copy)
    write_table(
        con,
        "mart_ivr_kpis",
        pa.table(
            {
                "ivr_containment_rate": [0.79],
                "ivr_verified_containment_rate": [0.61],
                "mean_self_service_seconds": [35.5],
            }
        ),
    )
    con.disconnect()
    result = runner.invoke(app, ["kpis", "--json", "-w", str(copy)])
    doc = json.loads(result.output)
    assert (doc["ivr_containment_rate"], doc["mean_self_service_seconds"]) == (0.79, 35.5)
    assert doc["ivr_to_agent_60min_rate"] == pytest.approx(0.5)
    terminal = runner.invoke(app, ["kpis", "-w", str(copy)])
    assert "ivr_containment_rate" in terminal.output and "79.0%" in terminal.output


def test_missing_marts_say_to_run_the_pipeline(tmp_path, capsys):
    path = tmp_path / "empty.duckdb"
    connect(path).disconnect()
    with pytest.raises(SystemExit) as info:
        main(["kpis", "--json", "-w", str(path)])
    assert info.value.code == 2
    assert "touchpoint run" in capsys.readouterr().err
