"""Volume forecasts with statsforecast (MSTL / AutoETS / AutoARIMA) and a rolling backtest.

The models are the library's; this module only shapes the series, picks the seasons from the
interval (a day and a week of intervals), and scores a rolling-origin backtest against
seasonal naive with MASE for every horizon step:

``MASE_h = mean over windows and series of |y - yhat| at step h / scale``, where ``scale`` is
the in-sample mean absolute error of the one-season naive forecast (season = the longest season
used) on the data before the first backtest cutoff, per series (Hyndman & Koehler 2006).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from touchpoint.capacity._erlang import StaffingError

MODELS = ("mstl", "ets", "arima", "profile")
#: Weeks (or days, without two weeks of data) averaged by the ``profile`` model.
PROFILE_SEASONS = 4


class ForecastError(StaffingError):
    """A series that cannot be forecast as asked (too short, bad horizon, unknown model)."""


@dataclass(frozen=True)
class ForecastResult:
    """The forecast (with intervals), the backtest per horizon step, and what was used."""

    forecast: pd.DataFrame  # unique_id, ds, yhat, yhat_lo_<L>, yhat_hi_<L>
    backtest: pd.DataFrame  # step, mase_model, mase_naive
    mase_model: float
    mase_naive: float
    seasons: tuple[int, ...]
    windows: int
    model: str
    filled_intervals: int


def seasons_for(interval_seconds: float, n_obs: int) -> tuple[int, ...]:
    """A day and a week of intervals, each kept only if the series spans two of it.

    >>> seasons_for(900, 96 * 7 * 3), seasons_for(1800, 48 * 5), seasons_for(86400, 60)
    ((96, 672), (48,), (7,))
    """
    out = []
    for span in (86400.0, 7 * 86400.0):
        m = span / interval_seconds
        if m >= 2 and abs(m - round(m)) < 1e-9 and n_obs >= 2 * round(m):
            out.append(int(round(m)))
    return tuple(out)


def _models(model: str, seasons: tuple[int, ...]):
    # statsforecast compiles with numba on first use; imported here so that importing
    # touchpoint.capacity (and the CLI) stays fast.
    from statsforecast.models import (
        MSTL,
        AutoARIMA,
        AutoETS,
        SeasonalNaive,
        SeasonalWindowAverage,
    )

    longest = seasons[-1] if seasons else 1
    if model == "mstl":
        main = (
            MSTL(season_length=list(seasons), trend_forecaster=AutoETS(model="ZZN"), alias="model")
            if seasons
            else AutoETS(model="ZZN", alias="model")
        )
    elif model == "ets":  # ETS seasonality is one (short) season: the day
        main = AutoETS(season_length=seasons[0] if seasons else 1, alias="model")
    elif model == "arima":
        main = AutoARIMA(season_length=seasons[0] if seasons else 1, alias="model")
    elif model == "profile":  # the same interval of the last weeks, averaged: many series fast
        main = SeasonalWindowAverage(
            season_length=longest, window_size=PROFILE_SEASONS, alias="model"
        )
    else:
        raise ForecastError(f"unknown model {model!r}; use one of: {', '.join(MODELS)}")
    return [main, SeasonalNaive(season_length=longest, alias="naive")]


def regular_series(
    frame: pd.DataFrame, time: str, value: str, interval_seconds: float, by: str | None = None
) -> tuple[pd.DataFrame, int]:
    """``unique_id, ds, y`` on a complete grid of intervals; a missing interval had 0 calls.

    Returns the frame and how many intervals were filled with 0.
    """
    freq = pd.Timedelta(seconds=interval_seconds)
    parts, filled = [], 0
    groups = frame.groupby(by, sort=True) if by else [("all", frame)]
    for key, part in groups:
        s = part.set_index(time)[value].astype(float).sort_index()
        grid = pd.date_range(s.index.min(), s.index.max(), freq=freq)
        full = s.reindex(grid)
        filled += int(full.isna().sum())
        parts.append(
            pd.DataFrame({"unique_id": str(key), "ds": grid, "y": full.fillna(0.0).to_numpy()})
        )
    return pd.concat(parts, ignore_index=True), filled


def forecast_volumes(
    series: pd.DataFrame,
    *,
    interval_seconds: float,
    horizon: int,
    model: str = "mstl",
    levels: tuple[int, ...] = (80, 95),
    windows: int = 3,
    filled_intervals: int = 0,
) -> ForecastResult:
    """Forecast ``horizon`` intervals of every series (``unique_id, ds, y``) and backtest.

    The backtest has ``windows`` rolling origins ``horizon`` intervals apart at the end of the
    data; the model and seasonal naive are refitted at each origin.

    ``profile`` (the mean of the same interval over the last four weeks, or days) has no
    intervals of its own: its 80 %/95 % intervals are conformal, from the errors of two
    rolling forecasts of ``horizon`` intervals (statsforecast's ``ConformalIntervals``).
    """
    from statsforecast import StatsForecast
    from statsforecast.utils import ConformalIntervals

    if horizon < 1:
        raise ForecastError(f"horizon must be at least one interval, got {horizon}")
    if windows < 1:
        raise ForecastError(f"backtest needs at least one window, got {windows}")
    n_min = int(series.groupby("unique_id").size().min())
    seasons = seasons_for(interval_seconds, n_min - horizon * windows)
    train = 2 * seasons[-1] if seasons else max(24, horizon)
    if model == "profile":
        # its window of seasons, then two more horizons for the conformal intervals
        train = PROFILE_SEASONS * (seasons[-1] if seasons else 1) + 2 * horizon
    need = train + horizon * windows
    if n_min < need:
        raise ForecastError(
            f"series too short: {n_min} intervals, the backtest needs at least {need} "
            f"({train} to train + {windows} windows of {horizon})"
        )
    freq = pd.Timedelta(seconds=interval_seconds)
    offset = pd.tseries.frequencies.to_offset(freq)
    sf = StatsForecast(models=_models(model, seasons), freq=offset, n_jobs=1)
    try:
        cv = sf.cross_validation(df=series, h=horizon, n_windows=windows, step_size=horizon)
        conformal = ConformalIntervals(h=horizon, n_windows=2) if model == "profile" else None
        fc = sf.forecast(df=series, h=horizon, level=list(levels), prediction_intervals=conformal)
    except (ValueError, NotImplementedError, np.linalg.LinAlgError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ForecastError(f"model {model} cannot be fitted to this series: {first}") from None
    first_cutoff = cv["cutoff"].min()
    m = seasons[-1] if seasons else 1

    def naive_mae(y: pd.Series) -> float:
        v = y.to_numpy()
        return float(np.mean(np.abs(v[m:] - v[:-m])))

    scale = series[series["ds"] <= first_cutoff].groupby("unique_id")["y"].apply(naive_mae)
    scale = scale.where(scale > 0, np.nan)
    cv = cv.join(scale.rename("scale"), on="unique_id")
    step = ((cv["ds"] - cv["cutoff"]) / freq).round().astype(int)
    cv = cv.assign(
        step=step,
        e_model=(cv["y"] - cv["model"]).abs() / cv["scale"],
        e_naive=(cv["y"] - cv["naive"]).abs() / cv["scale"],
    )
    per_step = (
        cv.groupby("step")[["e_model", "e_naive"]]
        .mean()
        .rename(columns={"e_model": "mase_model", "e_naive": "mase_naive"})
        .reset_index()
    )
    out = fc[["unique_id", "ds"]].copy()
    out["yhat"] = fc["model"].clip(lower=0).to_numpy()
    for level in levels:
        out[f"yhat_lo_{level}"] = fc[f"model-lo-{level}"].clip(lower=0).to_numpy()
        out[f"yhat_hi_{level}"] = fc[f"model-hi-{level}"].clip(lower=0).to_numpy()
    return ForecastResult(
        forecast=out,
        backtest=per_step,
        mase_model=float(cv["e_model"].mean()),
        mase_naive=float(cv["e_naive"].mean()),
        seasons=seasons,
        windows=windows,
        model=model,
        filled_intervals=filled_intervals,
    )
