"""Volume forecasts: the series shaping by hand, and the backtest beating seasonal naive."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from touchpoint.capacity import ForecastError, forecast_volumes, regular_series, seasons_for
from touchpoint.cli import app


def _contacts(weeks: int, seed: int = 0, freq: str = "30min") -> pd.DataFrame:
    """Poisson calls per interval with a planted day shape, a weekend dip and a slow trend."""
    t = pd.date_range(
        "2026-01-05", periods=int(weeks * 7 * 86400 / pd.Timedelta(freq).total_seconds()), freq=freq
    )
    hod = t.hour + t.minute / 60
    day = np.where((hod >= 8) & (hod < 20), 40 + 30 * np.sin((hod - 8) / 12 * np.pi), 3)
    week = np.where(t.dayofweek >= 5, 0.6, 1.0)
    trend = 1 + 0.002 * np.arange(len(t)) / 48
    rate = day * week * trend
    return pd.DataFrame({"ds": t, "y": np.random.default_rng(seed).poisson(rate).astype(float)})


def test_regular_series_fills_missing_intervals_with_zero():
    frame = pd.DataFrame(
        {
            "ds": pd.to_datetime(["2026-01-05 09:00", "2026-01-05 09:30", "2026-01-05 10:30"]),
            "y": [4.0, 5.0, 6.0],
        }
    )
    series, filled = regular_series(frame, "ds", "y", 1800)
    assert series.y.tolist() == [4.0, 5.0, 0.0, 6.0]
    assert filled == 1 and set(series.unique_id) == {"all"}


def test_seasons_are_a_day_and_a_week_of_intervals():
    assert seasons_for(900, 96 * 14) == (96, 672)
    assert seasons_for(1800, 48 * 10) == (48,)  # not two weeks: day season only
    assert seasons_for(11 * 60, 10_000) == (), "11 minutes divide neither a day nor a week"


def test_a_series_too_short_for_the_backtest_is_refused():
    series, _ = regular_series(_contacts(1).head(100), "ds", "y", 1800)
    with pytest.raises(ForecastError, match="series too short: 100 intervals"):
        forecast_volumes(series, interval_seconds=1800, horizon=48, windows=2)


@pytest.mark.slow
def test_backtest_on_simulated_contacts_beats_seasonal_naive():
    series, _ = regular_series(_contacts(4), "ds", "y", 1800)
    result = forecast_volumes(series, interval_seconds=1800, horizon=48, windows=2)
    assert result.seasons == (48, 336)
    assert result.mase_model < result.mase_naive
    assert list(result.backtest.step) == list(range(1, 49))
    fc = result.forecast
    assert len(fc) == 48 and fc.ds.min() == series.ds.max() + pd.Timedelta("30min")
    assert (fc.yhat_lo_95 <= fc.yhat_lo_80).all() and (fc.yhat_lo_80 <= fc.yhat).all()
    assert (fc.yhat <= fc.yhat_hi_80).all() and (fc.yhat_hi_80 <= fc.yhat_hi_95).all()
    # The forecast of a weekday noon (planted rate about 70 x trend) is near it.
    noon = fc[fc.ds.dt.hour == 14].yhat.iloc[0]
    assert 55 < noon < 90


@pytest.mark.slow
def test_forecast_command_writes_the_forecast(tmp_path):
    source = tmp_path / "calls.csv"
    _contacts(3).rename(columns={"ds": "start", "y": "calls"}).to_csv(source, index=False)
    out = tmp_path / "fc.parquet"
    runner = CliRunner(env={"COLUMNS": "200"})
    args = ["forecast", str(source), "--time", "start", "--value", "calls", "--horizon", "12h"]
    result = runner.invoke(app, [*args, "--windows", "1", "--out", str(out), "--lang", "zh"])
    assert result.exit_code == 0, result.output
    assert "总体 MASE" in result.output
    assert len(pd.read_parquet(out)) == 24


@pytest.mark.slow
def test_profile_model_beats_seasonal_naive_with_conformal_intervals():
    frames = [_contacts(6, seed=s).assign(queue=f"q{s}") for s in range(3)]
    series, _ = regular_series(pd.concat(frames), "ds", "y", 1800, by="queue")
    result = forecast_volumes(series, interval_seconds=1800, horizon=48, windows=2, model="profile")
    assert result.seasons == (48, 336) and result.model == "profile"
    assert result.mase_model < result.mase_naive
    fc = result.forecast
    assert len(fc) == 3 * 48
    assert (fc.yhat_lo_95 <= fc.yhat_lo_80).all() and (fc.yhat_lo_80 <= fc.yhat).all()
    assert (fc.yhat <= fc.yhat_hi_80).all() and (fc.yhat_hi_80 <= fc.yhat_hi_95).all()
    # The point forecast is the mean of the same half hour over the last four weeks.
    last = series[series.unique_id == "q0"].tail(4 * 336).y.to_numpy().reshape(4, 336)
    expected = last.mean(axis=0)[:48]
    got = fc[fc.unique_id == "q0"].yhat.to_numpy()
    assert got == pytest.approx(expected)
    with pytest.raises(ForecastError, match="series too short"):
        forecast_volumes(
            series.groupby("unique_id").tail(4 * 336),
            interval_seconds=1800,
            horizon=48,
            windows=2,
            model="profile",
        )
