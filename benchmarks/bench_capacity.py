"""Capacity: staffing a week of 15-minute intervals (Erlang C and A), and forecasts with a
rolling backtest for several queues of 15-minute intervals (statsforecast MSTL).

Run: ``python -m benchmarks capacity``. The issue's target for forecasts is 50 queues x a
year in 60 s; the sizes here are what this shared 2-core machine can measure in minutes, and
docs/performance.md says how far from the target they are.
"""

from __future__ import annotations

import os

import ibis
import numpy as np
import pandas as pd

from benchmarks.harness import Case, record, run_cases
from touchpoint.capacity import Targets, forecast_volumes, regular_series, staffing_plan

QUEUES = tuple(int(q) for q in os.environ.get("BENCH_CAPACITY_QUEUES", "1,5").split(","))
WEEKS = int(os.environ.get("BENCH_CAPACITY_WEEKS", "8"))


def _calls(queues: int, weeks: int, seed: int = 0) -> pd.DataFrame:
    t = pd.date_range("2026-01-05", periods=weeks * 7 * 96, freq="15min")
    hod = t.hour + t.minute / 60
    day = np.where((hod >= 8) & (hod < 20), 1 + np.sin((hod - 8) / 12 * np.pi), 0.1)
    week = np.where(t.dayofweek >= 5, 0.6, 1.0)
    rng = np.random.default_rng(seed)
    parts = [
        pd.DataFrame(
            {"queue": f"q{q}", "ds": t, "y": rng.poisson(rng.uniform(5, 150) * day * week)}
        )
        for q in range(queues)
    ]
    return pd.concat(parts, ignore_index=True)


def staff_week() -> None:
    frame = _calls(1, 1).rename(columns={"ds": "interval_start", "y": "calls"})
    frame["calls"] = frame["calls"] * 2.0  # up to ~600 calls per 15 min: ~200 agents at peak
    plan = staffing_plan(ibis.memtable(frame), interval_seconds=900, targets=Targets())
    plan.to_pandas()


def forecast_queues(queues: int, weeks: int = WEEKS, model: str = "mstl") -> None:
    frame = _calls(queues, weeks)
    series, _ = regular_series(frame, "ds", "y", 900, by="queue")
    forecast_volumes(series, interval_seconds=900, horizon=96, windows=2, model=model)


def main() -> None:
    cases = [Case("capacity", "staffing Erlang C + A", "1 week x 15 min", 672, staff_week)]
    cases += [
        Case(
            "capacity",
            "forecast MSTL + 2-window backtest",
            f"{q} queues x {WEEKS} weeks x 15 min",
            q * WEEKS * 7 * 96,
            forecast_queues,
            (q,),
        )
        for q in QUEUES
    ]
    cases.append(
        Case(
            "capacity",
            "forecast profile + 2-window backtest",
            "50 queues x 52 weeks x 15 min",
            50 * 52 * 7 * 96,
            forecast_queues,
            (50, 52, "profile"),
        )
    )
    results = run_cases(cases)
    record(
        "capacity",
        results,
        "Rows are intervals. Staffing: a week of 15-minute intervals peaking near 600 calls "
        "(about 200 agents), Erlang C and Erlang A (patience 120 s, 80/20, abandonment <= 5 %). "
        "Forecast: statsforecast MSTL (day 96 and week 672 seasons, AutoETS trend), a 2-window "
        "rolling backtest of one day plus the final forecast, numba compilation included. "
        "Profile: the mean of the same 15 minutes over the last 4 weeks, conformal intervals.",
    )


if __name__ == "__main__":
    main()
