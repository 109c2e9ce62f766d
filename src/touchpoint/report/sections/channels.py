"""Section "Channels": channel mix and cost over time, self service, escalation, repeats.

The figures come from :func:`touchpoint.channels.overview` (the monthly KPI mart, the
per-channel totals, the headline row and the escalation by region); this section lays them out.
"""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import pyarrow as pa

from touchpoint import channels
from touchpoint.channels import KPI_MARTS, TOTALS_MART
from touchpoint.labels import to_frame
from touchpoint.report.blocks import Block, Figure, Kpis, Markdown, Table
from touchpoint.report.context import ReportContext, Section

MONTHLY = KPI_MARTS["month"]


def _monthly(ctx: ReportContext, monthly: pa.Table) -> pd.DataFrame:
    """One row per month × channel: contacts, cost, and the month's self-service share."""
    frame = monthly.to_pandas(date_as_object=False)
    # whole seconds, as Ibis gives dates: the charts then carry the same text as before
    frame["period_start"] = frame["period_start"].astype("datetime64[s]")
    frame["channel_label"] = [ctx.label("channel", c) for c in frame["channel"]]
    return frame


def _channel_order(ctx: ReportContext, channels: pd.Series) -> list[str]:
    """Channel labels in configured order (the same colours in every chart)."""
    present = set(channels)
    return [ctx.label("channel", c) for c in ctx.config.ids("channel") if c in present]


def build(ctx: ReportContext) -> list[Block]:
    summary = channels.overview(ctx.con)
    monthly = _monthly(ctx, summary.monthly)
    totals = to_frame(summary.totals)
    headline = summary.headline
    minutes = headline.get("escalation_window_minutes") or 60
    n_contacts = summary.n_contacts
    blocks: list[Block] = [
        Markdown(ctx.t("channels.intro")),
        Kpis(
            [
                (ctx.t("channels.kpi_contacts"), ctx.number(n_contacts)),
                (ctx.t("channels.kpi_cost"), ctx.money(summary.cost_yuan)),
                (ctx.t("channels.kpi_self_service"), ctx.percent(summary.self_service_share)),
                (
                    ctx.t("channels.kpi_escalation", minutes=minutes),
                    ctx.percent(headline.get("ivr_to_agent_60min_rate")),
                ),
                (
                    ctx.t("channels.kpi_calls_per_day"),
                    ctx.number(headline.get("calls_per_dialling_customer_per_day"), 2),
                ),
                (ctx.t("channels.kpi_redial"), ctx.percent(headline.get("hotline_redial_rate"))),
                (ctx.t("channels.kpi_repeat"), ctx.percent(headline.get("repeat_contact_rate"))),
                (
                    ctx.t("channels.kpi_fcr"),
                    ctx.percent(headline.get("first_contact_resolution_rate")),
                ),
            ]
        ),
    ]
    if not monthly.empty:
        order = _channel_order(ctx, monthly["channel"])
        labels = {
            "period_start": ctx.t("channels.col_month"),
            "n_contacts": ctx.t("channels.col_contacts"),
            "cost_yuan": ctx.t("channels.col_cost"),
            "channel_label": ctx.t("channels.col_channel"),
            "self_service_share": ctx.t("channels.col_self_service"),
        }
        contacts = px.bar(
            monthly,
            x="period_start",
            y="n_contacts",
            color="channel_label",
            category_orders={"channel_label": order},
            title=ctx.t("channels.chart_contacts"),
            labels=labels,
        )
        cost = px.area(
            monthly,
            x="period_start",
            y="cost_yuan",
            color="channel_label",
            category_orders={"channel_label": order},
            title=ctx.t("channels.chart_cost"),
            labels=labels,
        )
        share = monthly.drop_duplicates("period_start")
        self_service_chart = px.line(
            share,
            x="period_start",
            y="self_service_share",
            markers=True,
            title=ctx.t("channels.chart_self_service"),
            labels=labels,
        )
        self_service_chart.update_yaxes(tickformat=".0%", rangemode="tozero")
        for figure in (contacts, cost, self_service_chart):
            figure.update_xaxes(tickformat="%Y-%m", dtick="M1")
        blocks += [Figure(contacts), Figure(cost), Figure(self_service_chart, height=320)]
    if summary.escalation_by_region is not None:
        regions = to_frame(summary.escalation_by_region)
        blocks.append(_escalation_chart(ctx, regions, headline, minutes))
    blocks += _repeats(ctx, totals)
    return blocks


def _escalation_chart(
    ctx: ReportContext, regions: pd.DataFrame, headline: dict, minutes: int
) -> Block:
    regions = regions.sort_values("ivr_to_agent_60min_rate", ascending=False)
    regions = regions.assign(region=[ctx.label("region", r) for r in regions["region"]])
    figure = px.bar(
        regions,
        x="region",
        y="ivr_to_agent_60min_rate",
        hover_data={"n_calls_ended_in_ivr": ":,", "n_escalated": ":,"},
        title=ctx.t("channels.chart_escalation", minutes=minutes),
        labels={
            "region": ctx.t("channels.col_region"),
            "ivr_to_agent_60min_rate": ctx.t("channels.col_rate"),
            "n_calls_ended_in_ivr": ctx.t("channels.col_calls"),
            "n_escalated": ctx.t("channels.col_escalated"),
        },
    )
    overall = headline.get("ivr_to_agent_60min_rate")
    if overall is not None:
        figure.add_hline(
            y=overall,
            line_dash="dash",
            annotation_text=ctx.t("channels.overall", value=ctx.percent(overall)),
            annotation_position="top right",
        )
    figure.update_yaxes(tickformat=".0%")
    return Figure(figure, height=380)


def _repeats(ctx: ReportContext, totals: pd.DataFrame) -> list[Block]:
    frame = totals.copy()
    frame["channel_label"] = [ctx.label("channel", c) for c in frame["channel"]]
    figure = go.Figure(
        [
            go.Bar(
                name=ctx.t("channels.col_repeat"),
                x=frame["channel_label"],
                y=frame["repeat_contact_rate"],
            ),
            go.Bar(
                name=ctx.t("channels.col_fcr"),
                x=frame["channel_label"],
                y=frame["first_contact_resolution_rate"],
            ),
        ]
    )
    figure.update_layout(
        barmode="group",
        title=ctx.t("channels.chart_repeat"),
        xaxis_title=ctx.t("channels.col_channel"),
        yaxis_title=ctx.t("channels.col_rate"),
    )
    figure.update_yaxes(tickformat=".0%")
    columns = {
        "channel_label": ctx.t("channels.col_channel"),
        "n_contacts": ctx.t("channels.col_contacts"),
        "n_customers": ctx.t("channels.col_customers"),
        "contact_share": ctx.t("channels.col_share"),
        "cost_yuan": ctx.t("channels.col_cost"),
        "repeat_contact_rate": ctx.t("channels.col_repeat"),
        "first_contact_resolution_rate": ctx.t("channels.col_fcr"),
    }
    return [
        Figure(figure, height=380),
        Table(
            frame.sort_values("n_contacts", ascending=False)[list(columns)],
            column_labels=columns,
            formats={
                "n_contacts": ctx.number,
                "n_customers": ctx.number,
                "contact_share": ctx.percent,
                "cost_yuan": ctx.money,
                "repeat_contact_rate": ctx.percent,
                "first_contact_resolution_rate": ctx.percent,
            },
        ),
    ]


SECTION = Section(id="channels", order=20, build=build, requires=(MONTHLY, TOTALS_MART))
