"""Section "Service quality": reply rates, CSAT (plain and weighted for non-response) and the
peak–end findings (docs/quality.md)."""

from __future__ import annotations

import pandas as pd
import plotly.express as px

from touchpoint import quality
from touchpoint.labels import to_frame, to_rows
from touchpoint.report.blocks import Block, Figure, Kpis, Markdown, Table
from touchpoint.report.context import ReportContext, Section


def _satisfaction(ctx: ReportContext) -> list[Block]:
    s = to_frame(quality.satisfaction_by_month(ctx.con))
    if s.empty:
        return [Markdown(ctx.t("quality.no_surveys"))]
    overall = {r["survey_channel"]: r for r in to_rows(quality.satisfaction_overall(ctx.con))}
    none: dict = {}
    sms, ivr = overall.get("sms", none), overall.get("ivr", none)
    kpis = Kpis(
        [
            (ctx.t("quality.kpi_sms_reply"), ctx.percent(sms.get("reply_rate"))),
            (ctx.t("quality.kpi_ivr_reply"), ctx.percent(ivr.get("reply_rate"))),
            (ctx.t("quality.kpi_sms_csat"), ctx.percent(sms.get("csat"))),
            (ctx.t("quality.kpi_sms_csat_weighted"), ctx.percent(sms.get("csat_weighted"))),
        ]
    )
    s["channel"] = [ctx.label("survey_channel", c) for c in s.survey_channel]
    s["month"] = [ctx.date(m, 7) for m in s.month]

    def interval(low: float, high: float) -> str:
        if pd.isna(low) or pd.isna(high):
            return "–"
        return f"{ctx.percent(low)} – {ctx.percent(high)}"

    s["csat_ci"] = [interval(lo, hi) for lo, hi in zip(s.csat_low, s.csat_high, strict=True)]
    s["weighted_ci"] = [
        interval(lo, hi) for lo, hi in zip(s.csat_weighted_low, s.csat_weighted_high, strict=True)
    ]
    shown = [
        "channel",
        "month",
        "n_sent",
        "reply_rate",
        "unclassified_share",
        "csat",
        "csat_ci",
        "csat_weighted",
        "weighted_ci",
    ]
    pct = {c: ctx.percent for c in ("reply_rate", "unclassified_share", "csat", "csat_weighted")}
    table = Table(
        s[shown],
        column_labels={c: ctx.t(f"quality.col_{c}") for c in shown},
        formats={"n_sent": ctx.number, **pct},
    )
    return [kpis, Markdown(ctx.t("quality.satisfaction_heading")), table]


def _peak_end(ctx: ReportContext) -> list[Block]:
    blocks: list[Block] = []
    if ctx.table(quality.EFFECTS_MART) is not None:
        e = to_frame(quality.peak_end_effects(ctx.con, with_intercept=False))
        if not e.empty:
            blocks += _effects(ctx, e)
    if ctx.table(quality.SOURCES_MART) is not None:
        src = to_frame(quality.bad_peak_places(ctx.con, quality.MIN_CONTACTS))
        if not src.empty:
            blocks += _sources(ctx, src)
    return blocks


def _effects(ctx: ReportContext, e: pd.DataFrame) -> list[Block]:
    """The peak–end model's terms with their intervals, around zero."""
    e = e.assign(
        label=[ctx.t(f"quality.term_{t}") for t in e.term],
        plus=e.ci_high - e.coefficient,
        minus=e.coefficient - e.ci_low,
    )
    figure = px.scatter(
        e,
        x="coefficient",
        y="label",
        error_x="plus",
        error_x_minus="minus",
        title=ctx.t("quality.chart_effects", n=ctx.number(int(e.n_replies.iloc[0]))),
        labels={"coefficient": ctx.t("quality.col_coefficient"), "label": ""},
    )
    figure.add_vline(x=0, line_dash="dash", line_color="grey")
    return [Markdown(ctx.t("quality.peak_end_heading")), Figure(figure, height=360)]


def _sources(ctx: ReportContext, src: pd.DataFrame) -> list[Block]:
    """The channels, businesses and nodes with the most bad peaks."""
    names = {"contact_channel": "channel", "business": "business"}
    src["what"] = [
        ctx.label(names[d], v) if d in names else ctx.node(v)
        for d, v in zip(src.dimension, src.value, strict=True)
    ]
    src["dimension"] = [ctx.t(f"quality.dimension_{d}") for d in src.dimension]
    shown = ["dimension", "what", "n_contacts", "bad_peak_share", "csat", "csat_bad_peak"]
    return [
        Markdown(ctx.t("quality.sources_heading", n=quality.MIN_CONTACTS)),
        Table(
            src[shown],
            column_labels={c: ctx.t(f"quality.col_{c}") for c in shown},
            formats={
                "n_contacts": ctx.number,
                "bad_peak_share": ctx.percent,
                "csat": ctx.percent,
                "csat_bad_peak": lambda x: "–" if pd.isna(x) else ctx.percent(x),
            },
            max_rows=20,
        ),
    ]


def build(ctx: ReportContext) -> list[Block]:
    return [Markdown(ctx.t("quality.intro")), *_satisfaction(ctx), *_peak_end(ctx)]


SECTION = Section(id="quality", order=70, build=build, requires=(quality.SATISFACTION_MART,))
