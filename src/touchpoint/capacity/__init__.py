"""Capacity: Erlang C / Erlang A staffing, volume forecasts (issue 16 items 4-6).

- **Staffing**: :func:`agents_needed` finds the fewest agents meeting a service-level target
  (share answered within N seconds), an abandonment target and an occupancy cap, with Erlang C
  (nobody hangs up) or Erlang A (callers give up after an exponential patience);
  :func:`staffing_plan` does it for every interval of a forecast, :func:`diversion_what_if`
  turns the calls a diversion campaign moves off the hotline into agent hours saved
  (``touchpoint staffing``). The formulas and their sources are in ``_erlang.py`` and
  docs/capacity.md.
- **Call detail records**: :func:`cdr_intervals` (arrivals, waits, handle times, service
  level, abandonment, occupancy per interval), :func:`patience_curve` (Kaplan-Meier, served
  callers censored) and :func:`mean_patience` (the exponential estimate Erlang A uses).
- **Marts** (step ``capacity_cdr``, when ``stg_call_records`` is loaded):
  ``mart_capacity_intervals``, ``mart_capacity_queues`` and ``mart_capacity_staffing``
  (see ``_marts.py``); the report's "capacity" section reads them through
  :func:`busiest_intervals` and :func:`staffing_by_hour`.
- **Forecasts**: :func:`forecast_volumes` forecasts calls per interval with statsforecast
  (MSTL with day and week seasons, or AutoETS / AutoARIMA) with prediction intervals, and
  scores a rolling backtest against seasonal naive with MASE per horizon step
  (``touchpoint forecast FILE --time COL --value COL --horizon 1d``).

>>> agents_needed(100 / 1800, 180.0, target_sl=0.8, threshold=20.0).agents
14
"""

from touchpoint.capability import Step
from touchpoint.capacity._cdr import cdr_intervals, mean_patience, patience_curve, queued_calls
from touchpoint.capacity._erlang import (
    QueueMeasures,
    StaffingError,
    agents_needed,
    erlang_a_measures,
    erlang_b,
    erlang_c,
    erlang_c_measures,
    offered_wait_tail,
)
from touchpoint.capacity._forecast import (
    MODELS,
    ForecastError,
    ForecastResult,
    forecast_volumes,
    regular_series,
    seasons_for,
)
from touchpoint.capacity._marts import (
    BACKTEST_MART,
    CDR_TABLE,
    FORECAST_MART,
    INTERVALS_MART,
    QUEUES_MART,
    STAFFING_MART,
    build,
    build_forecast,
    busiest_intervals,
    forecast_accuracy,
    forecast_next_day,
    next_day_plan,
    queue_figures,
    queue_intervals,
    staffing_by_hour,
    staffing_needed,
)
from touchpoint.capacity._series import (
    contact_volumes,
    interval_seconds_of,
    interval_series,
    mean_handle_seconds,
    parse_duration,
)
from touchpoint.capacity._staffing import (
    DiversionWhatIf,
    Targets,
    agent_hours,
    diversion_what_if,
    staffing_plan,
)

STEPS = (
    Step(
        "capacity_cdr",
        inputs=(CDR_TABLE,),
        outputs=(INTERVALS_MART, QUEUES_MART, STAFFING_MART),
        build=build,
        description="queue figures per half hour and per queue from call detail records "
        "(waits, abandonment, patience, service level, occupancy, repeats) and the agents "
        "Erlang C and A would have needed",
        in_memory=True,
    ),
    Step(
        "capacity_forecast",
        inputs=(INTERVALS_MART, QUEUES_MART),
        outputs=(FORECAST_MART, BACKTEST_MART),
        build=build_forecast,
        description="the next day's calls per queue and half hour (mean of the last 4 weeks, "
        "conformal intervals), rolling-backtest MASE, agents Erlang A needs",
        in_memory=True,
    ),
)

__all__ = [
    "BACKTEST_MART",
    "CDR_TABLE",
    "FORECAST_MART",
    "build_forecast",
    "forecast_accuracy",
    "forecast_next_day",
    "next_day_plan",
    "INTERVALS_MART",
    "QUEUES_MART",
    "STAFFING_MART",
    "build",
    "busiest_intervals",
    "queue_figures",
    "queue_intervals",
    "staffing_by_hour",
    "staffing_needed",
    "MODELS",
    "STEPS",
    "ForecastError",
    "ForecastResult",
    "forecast_volumes",
    "interval_seconds_of",
    "interval_series",
    "parse_duration",
    "regular_series",
    "seasons_for",
    "DiversionWhatIf",
    "QueueMeasures",
    "StaffingError",
    "Targets",
    "agent_hours",
    "cdr_intervals",
    "contact_volumes",
    "mean_handle_seconds",
    "mean_patience",
    "patience_curve",
    "queued_calls",
    "agents_needed",
    "diversion_what_if",
    "erlang_a_measures",
    "erlang_b",
    "erlang_c",
    "erlang_c_measures",
    "offered_wait_tail",
    "staffing_plan",
]
