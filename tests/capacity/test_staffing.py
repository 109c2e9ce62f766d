"""Staffing over a forecast and the diversion what-if, against agents_needed and by hand."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest
from typer.testing import CliRunner

from touchpoint.capacity import Targets, agents_needed, diversion_what_if, staffing_plan
from touchpoint.cli import app

C_ONLY = Targets(aht_seconds=180, patience_seconds=None, max_abandon=None)


def _forecast(calls):
    times = pd.date_range("2026-01-05 09:00", periods=len(calls), freq="30min")
    return ibis.memtable({"interval_start": times, "calls": calls})


def test_plan_gives_each_interval_the_published_staffing():
    # 100 calls per half hour at 180 s, 80/20: 14 agents (Call Centre Helper's example);
    # no calls: no agents.
    plan = staffing_plan(_forecast([100, 0, 100]), interval_seconds=1800, targets=C_ONLY)
    frame = plan.to_pandas()
    assert frame.agents_erlang_c.tolist() == [14, 0, 14]
    assert frame.load_erlangs.tolist() == pytest.approx([10, 0, 10])


def test_erlang_a_plan_meets_both_targets():
    targets = Targets(aht_seconds=300, patience_seconds=120, max_abandon=0.03)
    frame = staffing_plan(
        _forecast([10, 60, 240]), interval_seconds=1800, targets=targets
    ).to_pandas()
    assert (frame.service_level_a >= 0.8).all() and (frame.abandon_share_a <= 0.03).all()
    for calls, agents in zip(frame.calls, frame.agents_erlang_a, strict=True):
        want = agents_needed(
            calls / 1800, 300, target_sl=0.8, threshold=20, max_abandon=0.03, patience=120
        )
        assert agents == want.agents


def test_diversion_saves_hours_but_less_than_pro_rata():
    calls = [100] * 4
    what_if = diversion_what_if(_forecast(calls), 0.5, interval_seconds=1800, targets=C_ONLY)
    half = agents_needed(50 / 1800, 180, target_sl=0.8, threshold=20).agents
    assert what_if.agent_hours_before_c == pytest.approx(4 * 14 * 0.5)
    assert what_if.hours_saved_c == pytest.approx(4 * (14 - half) * 0.5)
    assert what_if.calls_moved == pytest.approx(200)
    # Pooling: half the calls need more than half the agents.
    assert 0 < what_if.hours_saved_c < 0.5 * what_if.agent_hours_before_c
    nothing = diversion_what_if(_forecast(calls), 0.0, interval_seconds=1800, targets=C_ONLY)
    assert nothing.hours_saved_c == 0 and nothing.hours_saved_a == 0


def test_staffing_command_on_a_file(tmp_path):
    source = tmp_path / "f.csv"
    times = pd.date_range("2026-01-05 09:00", periods=4, freq="30min")
    pd.DataFrame({"when": times, "n": [100, 100, 0, 100]}).to_csv(source, index=False)
    out = tmp_path / "plan.csv"
    runner = CliRunner(env={"COLUMNS": "200"})
    args = ["staffing", str(source), "--time", "when", "--value", "n", "--aht", "180"]
    result = runner.invoke(app, [*args, "--patience", "0", "--divert", "0.5", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Agent hours: 21.0 by Erlang C" in result.output  # 3 intervals x 14 x 0.5 h
    assert pd.read_csv(out).agents_erlang_c.tolist() == [14, 14, 0, 14]
    bad = tmp_path / "bad.csv"
    bad.write_text("when,n\n2026-01-05 09:00,3\n2026-01-05 09:30,many\n", encoding="utf-8")
    result = runner.invoke(app, ["staffing", str(bad), "--time", "when", "--value", "n"])
    assert result.exit_code == 2
    assert "bad.csv: row 3, column 'n': cannot read 'many'" in result.output
