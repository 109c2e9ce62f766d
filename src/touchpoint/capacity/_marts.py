"""The capacity marts, built from call detail records (``stg_call_records``) when loaded.

- ``mart_capacity_intervals`` (pure Ibis): per queue and half hour of queue entry, arrivals,
  served, hung up while waiting, service level, waits, handle times and occupancy
  (:func:`~touchpoint.capacity.cdr_intervals`).
- ``mart_capacity_queues`` (pure Ibis): per queue, the same over the whole period, the
  callers' mean patience (exponential estimate, served callers censored), the share of calls
  that left the IVR for the agent queue and the share of calls followed by another call of
  the same caller within 24 hours.
- ``mart_capacity_staffing`` (in memory: Erlang per interval): per queue and interval, the
  agents Erlang C and Erlang A would have needed for the calls that came, with the queue's
  measured handle time and patience, beside the agents seen serving.
"""

from __future__ import annotations

import ibis
import pandas as pd
import pyarrow as pa
from ibis import _

from touchpoint.capacity._cdr import cdr_intervals, queued_calls
from touchpoint.capacity._staffing import Targets, staffing_plan
from touchpoint.config import Config

CDR_TABLE = "stg_call_records"
INTERVALS_MART = "mart_capacity_intervals"
QUEUES_MART = "mart_capacity_queues"
STAFFING_MART = "mart_capacity_staffing"
INTERVAL_MINUTES = 30
WITHIN_SECONDS = Targets().within_seconds
REPEAT_SECONDS = 24 * 3600
UNKNOWN_QUEUE = "unknown"


def _with_queue(cdr: ibis.Table) -> ibis.Table:
    return cdr.mutate(queue=ibis.coalesce(cdr.queue, ibis.literal(UNKNOWN_QUEUE)))


def queue_intervals(cdr: ibis.Table) -> ibis.Table:
    """``mart_capacity_intervals``: :func:`cdr_intervals` per queue, half-hourly."""
    return cdr_intervals(
        _with_queue(cdr),
        interval_minutes=INTERVAL_MINUTES,
        within_seconds=WITHIN_SECONDS,
        by=("queue",),
    )


def queue_figures(cdr: ibis.Table) -> ibis.Table:
    """``mart_capacity_queues``: one row per queue over the whole period."""
    calls = _with_queue(cdr)
    caller = ibis.coalesce(calls.customer_id, calls.msisdn_hash)
    calls = calls.mutate(caller=caller)
    w = ibis.window(group_by=calls.caller, order_by=[calls.arrived_at, calls.call_id])
    calls = calls.mutate(next_call=calls.arrived_at.lead().over(w))
    gap = calls.next_call.epoch_seconds() - calls.arrived_at.epoch_seconds()
    calls = calls.mutate(repeated=calls.caller.notnull() & gap.notnull() & (gap <= REPEAT_SECONDS))
    per_queue = calls.group_by("queue").aggregate(
        n_calls=_.count(),
        n_known_caller=_.caller.count(),
        n_repeated=_.repeated.sum().cast("int64"),
    )
    q = queued_calls(calls)
    waits = q.group_by("queue").aggregate(
        n_queued=_.count(),
        n_served=_.served.sum().cast("int64"),
        n_abandoned=_.abandoned.sum().cast("int64"),
        n_served_in_time=(_.served & (_.wait_s <= WITHIN_SECONDS)).sum().cast("int64"),
        wait_exposure_s=_.wait_s.sum(),
        mean_wait_served_s=_.wait_s.mean(where=_.served),
        mean_handle_s=_.handle_s.mean(where=_.served),
    )
    joined = per_queue.left_join(waits, "queue").select(
        per_queue.queue,
        per_queue.n_calls,
        n_queued=ibis.coalesce(waits.n_queued, 0),
        n_served=ibis.coalesce(waits.n_served, 0),
        n_abandoned=ibis.coalesce(waits.n_abandoned, 0),
        n_served_in_time=ibis.coalesce(waits.n_served_in_time, 0),
        wait_exposure_s=waits.wait_exposure_s,
        mean_wait_served_s=waits.mean_wait_served_s,
        mean_handle_s=waits.mean_handle_s,
        n_known_caller=per_queue.n_known_caller,
        n_repeated=per_queue.n_repeated,
    )
    return joined.mutate(
        ivr_to_agent_share=_.n_queued / _.n_calls,
        service_level=_.n_served_in_time / _.n_queued.nullif(0),
        abandon_share=_.n_abandoned / _.n_queued.nullif(0),
        mean_patience_s=_.wait_exposure_s / _.n_abandoned.nullif(0),
        repeat_24h_share=_.n_repeated / _.n_known_caller.nullif(0),
    ).order_by("queue")


def staffing_needed(intervals: pd.DataFrame, queues: pd.DataFrame) -> pd.DataFrame:
    """``mart_capacity_staffing`` from the two marts above, as frames (Erlang per interval)."""
    parts = []
    for row in queues.itertuples():
        these = intervals[intervals.queue == row.queue]
        if these.empty or pd.isna(row.mean_handle_s) or not row.mean_handle_s > 0:
            continue
        patience = None if pd.isna(row.mean_patience_s) else float(row.mean_patience_s)
        targets = Targets(
            aht_seconds=float(row.mean_handle_s),
            patience_seconds=patience,
            max_abandon=Targets().max_abandon if patience is not None else None,
        )
        plan = staffing_plan(
            ibis.memtable(these[["interval_start", "arrivals"]]),
            value="arrivals",
            interval_seconds=INTERVAL_MINUTES * 60.0,
            targets=targets,
        ).to_pandas()
        plan.insert(0, "queue", row.queue)
        plan["agents_seen"] = these.agents_seen.to_numpy().astype("int64")
        plan["aht_s"] = float(row.mean_handle_s)
        plan["patience_s"] = float("nan") if patience is None else patience
        parts.append(plan)
    columns = [
        "queue",
        "interval_start",
        "calls",
        "load_erlangs",
        "agents_erlang_c",
        "agents_erlang_a",
        "service_level_a",
        "abandon_share_a",
        "agents_seen",
        "aht_s",
        "patience_s",
    ]
    if not parts:
        return STAFFING_SCHEMA.empty_table().to_pandas()
    return pd.concat(parts, ignore_index=True)[columns]


STAFFING_SCHEMA = pa.schema(
    [
        ("queue", pa.string()),
        ("interval_start", pa.timestamp("us")),
        ("calls", pa.float64()),
        ("load_erlangs", pa.float64()),
        ("agents_erlang_c", pa.int64()),
        ("agents_erlang_a", pa.int64()),
        ("service_level_a", pa.float64()),
        ("abandon_share_a", pa.float64()),
        ("agents_seen", pa.int64()),
        ("aht_s", pa.float64()),
        ("patience_s", pa.float64()),
    ]
)


def build(tables: dict[str, ibis.Table], config: Config) -> dict[str, ibis.Table]:
    """The capacity step: the three marts from ``stg_call_records``."""
    cdr = tables[CDR_TABLE]
    intervals = queue_intervals(cdr)
    queues = queue_figures(cdr)
    staffing = staffing_needed(intervals.to_pandas(), queues.to_pandas())
    return {
        INTERVALS_MART: intervals,
        QUEUES_MART: queues,
        STAFFING_MART: ibis.memtable(
            pa.Table.from_pandas(staffing, schema=STAFFING_SCHEMA, preserve_index=False)
        ),
    }


# --- query functions of the report -----------------------------------------------------------


def busiest_intervals(staffing: ibis.Table, n: int = 12) -> ibis.Table:
    """The ``n`` intervals that needed the most agents (Erlang A), busiest first."""
    return staffing.order_by([ibis.desc("agents_erlang_a"), "queue", "interval_start"]).limit(n)


def staffing_by_hour(staffing: ibis.Table) -> ibis.Table:
    """Per queue and hour of day: mean calls per half hour and mean agents needed and seen."""
    return (
        staffing.mutate(hour=staffing.interval_start.hour())
        .group_by(["queue", "hour"])
        .aggregate(
            calls=_.calls.mean(),
            agents_erlang_c=_.agents_erlang_c.mean(),
            agents_erlang_a=_.agents_erlang_a.mean(),
            agents_seen=_.agents_seen.mean(),
        )
        .order_by(["queue", "hour"])
    )


# --- the next day: forecast per half hour and the agents it needs -------------------------

FORECAST_MART = "mart_capacity_forecast"
BACKTEST_MART = "mart_capacity_backtest"
FORECAST_MODEL = "profile"  # many queues in seconds (docs/performance.md)
HORIZON = 24 * 60 // INTERVAL_MINUTES  # a day of half hours
WINDOWS = 2

FORECAST_SCHEMA = pa.schema(
    [
        ("queue", pa.string()),
        ("interval_start", pa.timestamp("us")),
        ("calls", pa.float64()),
        ("calls_lo_80", pa.float64()),
        ("calls_hi_80", pa.float64()),
        ("calls_lo_95", pa.float64()),
        ("calls_hi_95", pa.float64()),
        ("agents_erlang_a", pa.int64()),
        ("agents_erlang_a_hi_80", pa.int64()),
    ]
)
BACKTEST_SCHEMA = pa.schema(
    [
        ("queue", pa.string()),
        ("model", pa.string()),
        ("windows", pa.int64()),
        ("mase_model", pa.float64()),
        ("mase_naive", pa.float64()),
    ]
)


def _targets_of(row) -> Targets:
    patience = None if pd.isna(row.mean_patience_s) else float(row.mean_patience_s)
    return Targets(
        aht_seconds=float(row.mean_handle_s),
        patience_seconds=patience,
        max_abandon=Targets().max_abandon if patience is not None else None,
    )


def _agents(times: pd.Series, calls: pd.Series, targets: Targets) -> pd.Series:
    plan = staffing_plan(
        ibis.memtable(pd.DataFrame({"interval_start": times.to_numpy(), "calls": calls})),
        interval_seconds=INTERVAL_MINUTES * 60.0,
        targets=targets,
    ).to_pandas()
    return plan.agents_erlang_a.astype("int64")


def forecast_next_day(
    intervals: pd.DataFrame, queues: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per queue with enough history: the next day's calls per half hour (``profile`` model,
    80/95 % conformal intervals), the agents Erlang A needs for the forecast and for its
    upper 80 % bound, and the rolling backtest's MASE. A queue with too short a history (four
    weeks and three days) or no handle time is left out."""
    from touchpoint.capacity._forecast import ForecastError, forecast_volumes, regular_series

    forecasts, backtests = [], []
    for row in queues.itertuples():
        these = intervals[intervals.queue == row.queue]
        if these.empty or pd.isna(row.mean_handle_s) or not row.mean_handle_s > 0:
            continue
        series, filled = regular_series(
            these, "interval_start", "arrivals", INTERVAL_MINUTES * 60.0
        )
        try:
            result = forecast_volumes(
                series,
                interval_seconds=INTERVAL_MINUTES * 60.0,
                horizon=HORIZON,
                model=FORECAST_MODEL,
                windows=WINDOWS,
                filled_intervals=filled,
            )
        except ForecastError:
            continue
        fc = result.forecast
        targets = _targets_of(row)
        forecasts.append(
            pd.DataFrame(
                {
                    "queue": row.queue,
                    "interval_start": fc.ds.to_numpy(),
                    "calls": fc.yhat.to_numpy(),
                    "calls_lo_80": fc.yhat_lo_80.to_numpy(),
                    "calls_hi_80": fc.yhat_hi_80.to_numpy(),
                    "calls_lo_95": fc.yhat_lo_95.to_numpy(),
                    "calls_hi_95": fc.yhat_hi_95.to_numpy(),
                    "agents_erlang_a": _agents(fc.ds, fc.yhat, targets).to_numpy(),
                    "agents_erlang_a_hi_80": _agents(fc.ds, fc.yhat_hi_80, targets).to_numpy(),
                }
            )
        )
        backtests.append(
            {
                "queue": row.queue,
                "model": result.model,
                "windows": result.windows,
                "mase_model": result.mase_model,
                "mase_naive": result.mase_naive,
            }
        )
    forecast = pd.concat(forecasts, ignore_index=True) if forecasts else None
    backtest = pd.DataFrame(backtests) if backtests else None
    return forecast, backtest


def _table(frame: pd.DataFrame | None, schema: pa.Schema) -> ibis.Table:
    if frame is None:
        return ibis.memtable(schema.empty_table())
    return ibis.memtable(pa.Table.from_pandas(frame, schema=schema, preserve_index=False))


def build_forecast(tables: dict[str, ibis.Table], config: Config) -> dict[str, ibis.Table]:
    """The forecast step: the next day per queue from the interval and queue marts."""
    forecast, backtest = forecast_next_day(
        tables[INTERVALS_MART].to_pandas(), tables[QUEUES_MART].to_pandas()
    )
    return {
        FORECAST_MART: _table(forecast, FORECAST_SCHEMA),
        BACKTEST_MART: _table(backtest, BACKTEST_SCHEMA),
    }


def next_day_plan(forecast: ibis.Table) -> ibis.Table:
    """The forecast rows in queue and time order (the report's chart and the staffing plan)."""
    return forecast.order_by(["queue", "interval_start"])


def forecast_accuracy(backtest: ibis.Table, forecast: ibis.Table | None = None) -> ibis.Table:
    """Per queue: the backtest's MASE, and the next day's peak agents and agent hours
    (Erlang A, for the forecast and for its upper 80 % bound)."""
    hours = INTERVAL_MINUTES / 60.0
    if forecast is None:
        return backtest.order_by("queue")
    plan = forecast.group_by("queue").aggregate(
        peak_agents=_.agents_erlang_a.max(),
        agent_hours=_.agents_erlang_a.sum() * hours,
        agent_hours_hi_80=_.agents_erlang_a_hi_80.sum() * hours,
    )
    return backtest.join(plan, "queue").order_by("queue")
