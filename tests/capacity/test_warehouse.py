"""Forecast and staffing over the warehouse's own contacts."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from touchpoint.capacity import (
    contact_volumes,
    forecast_volumes,
    mean_handle_seconds,
    regular_series,
)
from touchpoint.cli import app

runner = CliRunner(env={"COLUMNS": "200"})


def test_volumes_and_handle_time_of_the_tiny_warehouse(tiny_warehouse):
    contacts = tiny_warehouse.table("stg_contacts")
    frame = contact_volumes(contacts, interval_minutes=30).to_pandas()
    # Five contacts: ivr twice, agent, web, store; each its own channel-interval but ivr's two
    # fall on different days.
    assert frame.calls.sum() == 5
    assert frame[frame.channel == "ivr"].calls.tolist() == [1, 1]
    assert mean_handle_seconds(contacts, "agent") == pytest.approx(180.0)
    assert mean_handle_seconds(contacts, "nowhere") is None


def test_staffing_command_on_the_warehouse(tiny_warehouse, tmp_path):
    path = str(tmp_path / "tiny.duckdb")  # where the fixture built it
    tiny_warehouse.disconnect()  # the command opens it read-only
    result = runner.invoke(app, ["staffing", "-w", path, "--json", "--patience", "0"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["targets"]["aht_seconds"] == pytest.approx(180.0)  # measured, 3-minute calls
    # One agent call in a 30-minute interval at 180 s: 0.1 E.
    # P(wait) = a = 0.1, SL = 1 - 0.1 exp(-(1/180 - 1/1800) 20) = 0.9105 -> 1 agent.
    assert [row["agents_erlang_c"] for row in doc["plan"]] == [1]
    both = runner.invoke(app, ["staffing", str(tmp_path / "x.csv"), "-w", path])
    assert both.exit_code == 2 and "not both" in both.output


@pytest.mark.slow
def test_backtest_on_the_simulated_contacts_beats_seasonal_naive(ingested_world):
    con = ingested_world[0] if isinstance(ingested_world, tuple) else ingested_world
    contacts = con.table("stg_contacts")
    volumes = contact_volumes(contacts, interval_minutes=60, channels=("ivr",)).to_pandas()
    series, _ = regular_series(volumes, "interval_start", "calls", 3600, by="channel")
    result = forecast_volumes(series, interval_seconds=3600, horizon=24, windows=3)
    assert result.mase_model < result.mase_naive
