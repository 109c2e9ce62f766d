"""Section "Capacity": queue figures and the agents needed per half hour, from call detail
records (``stg_call_records``), through the capacity capability's marts and query functions
(:func:`touchpoint.capacity.staffing_by_hour`, :func:`touchpoint.capacity.busiest_intervals`)."""

from __future__ import annotations

import plotly.express as px

from touchpoint import capacity
from touchpoint.report.blocks import Block, Figure, Kpis, Markdown, Table
from touchpoint.report.context import ReportContext, Section, as_frame

MAX_ROWS = 12


def _queues(ctx: ReportContext) -> list[Block]:
    q = ctx.table(capacity.QUEUES_MART).pipe(as_frame)
    total = q.n_queued.sum()
    served_in_time = q.n_served_in_time.sum()
    abandoned = q.n_abandoned.sum()
    exposure = q.wait_exposure_s.fillna(0).sum()
    kpis = Kpis(
        [
            (ctx.t("capacity.kpi_calls"), ctx.number(q.n_calls.sum())),
            (
                ctx.t("capacity.kpi_service_level"),
                ctx.percent(served_in_time / total if total else None),
            ),
            (ctx.t("capacity.kpi_abandon"), ctx.percent(abandoned / total if total else None)),
            (
                ctx.t("capacity.kpi_patience"),
                ctx.number(exposure / abandoned, 0) if abandoned else "–",
            ),
        ]
    )
    shown = [
        "queue",
        "n_calls",
        "ivr_to_agent_share",
        "service_level",
        "abandon_share",
        "mean_wait_served_s",
        "mean_handle_s",
        "mean_patience_s",
        "repeat_24h_share",
    ]
    pct = {
        c: ctx.percent
        for c in ("ivr_to_agent_share", "service_level", "abandon_share", "repeat_24h_share")
    }
    seconds = {
        c: (lambda x: ctx.number(x, 0))
        for c in ("mean_wait_served_s", "mean_handle_s", "mean_patience_s")
    }
    table = Table(
        q[shown],
        column_labels={c: ctx.t(f"capacity.col_{c}") for c in shown},
        formats={"n_calls": ctx.number, **pct, **seconds},
    )
    return [kpis, Markdown(ctx.t("capacity.queues_heading")), table]


def _staffing(ctx: ReportContext) -> list[Block]:
    staffing = ctx.table(capacity.STAFFING_MART)
    hours = capacity.staffing_by_hour(staffing).pipe(as_frame)
    if hours.empty:
        return []
    long = hours.melt(
        id_vars=["queue", "hour"],
        value_vars=["agents_erlang_c", "agents_erlang_a", "agents_seen"],
        var_name="measure",
        value_name="agents",
    )
    long["measure"] = [ctx.t(f"capacity.col_{m}") for m in long.measure]
    figure = px.line(
        long,
        x="hour",
        y="agents",
        color="measure",
        line_dash="queue",
        markers=True,
        title=ctx.t("capacity.chart_by_hour"),
        labels={"hour": ctx.t("capacity.col_hour"), "agents": ctx.t("capacity.col_agents")},
    )
    busiest = capacity.busiest_intervals(staffing, MAX_ROWS).pipe(as_frame)
    busiest["interval_start"] = [ctx.date(t, 16) for t in busiest.interval_start]
    shown = [
        "queue",
        "interval_start",
        "calls",
        "agents_erlang_c",
        "agents_erlang_a",
        "agents_seen",
        "service_level_a",
        "abandon_share_a",
    ]
    table = Table(
        busiest[shown],
        column_labels={c: ctx.t(f"capacity.col_{c}") for c in shown},
        formats={
            "calls": ctx.number,
            "agents_erlang_c": ctx.number,
            "agents_erlang_a": ctx.number,
            "agents_seen": ctx.number,
            "service_level_a": ctx.percent,
            "abandon_share_a": ctx.percent,
        },
    )
    return [
        Markdown(ctx.t("capacity.staffing_heading")),
        Figure(figure, height=380),
        Markdown(ctx.t("capacity.busiest_heading", n=MAX_ROWS)),
        table,
    ]


def _forecast(ctx: ReportContext) -> list[Block]:
    forecast, backtest = ctx.table(capacity.FORECAST_MART), ctx.table(capacity.BACKTEST_MART)
    if forecast is None or backtest is None:
        return []
    fc = capacity.next_day_plan(forecast).pipe(as_frame)
    if fc.empty:
        return [Markdown(ctx.t("capacity.no_forecast"))]
    figure = px.line(
        fc,
        x="interval_start",
        y=["calls", "calls_hi_80", "calls_lo_80"],
        line_dash="queue",
        title=ctx.t("capacity.chart_forecast"),
        labels={
            "interval_start": ctx.t("capacity.col_interval_start"),
            "value": ctx.t("capacity.col_calls"),
        },
    )
    names = {c: ctx.t(f"capacity.col_{c}") for c in ("calls", "calls_hi_80", "calls_lo_80")}
    figure.for_each_trace(lambda tr: tr.update(name=f"{names[tr.name.split(',')[0]]}"))
    bt = capacity.forecast_accuracy(backtest, forecast).pipe(as_frame)
    shown = ["queue", "mase_model", "mase_naive", "peak_agents", "agent_hours", "agent_hours_hi_80"]
    table = Table(
        bt[shown],
        column_labels={c: ctx.t(f"capacity.col_{c}") for c in shown},
        formats={
            "mase_model": lambda x: ctx.number(x, 2),
            "mase_naive": lambda x: ctx.number(x, 2),
            "peak_agents": ctx.number,
            "agent_hours": lambda x: ctx.number(x, 1),
            "agent_hours_hi_80": lambda x: ctx.number(x, 1),
        },
    )
    return [Markdown(ctx.t("capacity.forecast_heading")), Figure(figure, height=380), table]


def build(ctx: ReportContext) -> list[Block]:
    if ctx.table(capacity.QUEUES_MART).count().execute() == 0:
        return []  # no call detail records loaded
    return [
        Markdown(ctx.t("capacity.intro")),
        *_queues(ctx),
        *_staffing(ctx),
        *_forecast(ctx),
    ]


SECTION = Section(
    id="capacity",
    order=75,
    build=build,
    requires=(capacity.QUEUES_MART, capacity.STAFFING_MART),
)
