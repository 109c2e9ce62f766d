"""Section "Service quality": reply rates, CSAT (plain and weighted for non-response) and the
peak–end findings (docs/quality.md)."""

from __future__ import annotations

import pandas as pd
import plotly.express as px

from touchpoint.report.blocks import Block, Figure, Kpis, Markdown, Table
from touchpoint.report.context import ReportContext, Section, as_frame

SATISFACTION = "mart_survey_satisfaction"
EFFECTS = "mart_peak_end_effects"
SOURCES = "mart_peak_end_sources"
#: Sources with fewer surveyed contacts than this are not listed (too few to compare).
MIN_CONTACTS = 20


def _overall(s: pd.DataFrame, channel: str) -> dict[str, float | None]:
    g = s[s.survey_channel == channel]
    if g.empty:
        return {"reply_rate": None, "csat": None, "csat_weighted": None}
    classified = (g.n_satisfied + g.n_neutral + g.n_dissatisfied).sum()
    w = g.n_effective.fillna(0)
    weighted = (g.csat_weighted.fillna(0) * w).sum() / w.sum() if w.sum() else None
    return {
        "reply_rate": g.n_replied.sum() / g.n_sent.sum(),
        "csat": g.n_satisfied.sum() / classified if classified else None,
        "csat_weighted": weighted,
    }


def _satisfaction(ctx: ReportContext) -> list[Block]:
    s = ctx.table(SATISFACTION).pipe(as_frame)
    if s.empty:
        return [Markdown(ctx.t("quality.no_surveys"))]
    sms, ivr = _overall(s, "sms"), _overall(s, "ivr")
    kpis = Kpis(
        [
            (ctx.t("quality.kpi_sms_reply"), ctx.percent(sms["reply_rate"])),
            (ctx.t("quality.kpi_ivr_reply"), ctx.percent(ivr["reply_rate"])),
            (ctx.t("quality.kpi_sms_csat"), ctx.percent(sms["csat"])),
            (ctx.t("quality.kpi_sms_csat_weighted"), ctx.percent(sms["csat_weighted"])),
        ]
    )
    s = s.sort_values(["survey_channel", "month"])
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
    effects = ctx.table(EFFECTS)
    if effects is not None:
        e = effects.pipe(as_frame)
        e = e[e.term != "intercept"]
        if not e.empty:
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
            blocks += [Markdown(ctx.t("quality.peak_end_heading")), Figure(figure, height=360)]
    sources = ctx.table(SOURCES)
    if sources is not None:
        src = sources.pipe(as_frame)
        src = src[src.n_contacts >= MIN_CONTACTS].sort_values("bad_peak_share", ascending=False)
        if not src.empty:
            names = {"contact_channel": "channel", "business": "business"}
            src["what"] = [
                ctx.label(names[d], v) if d in names else ctx.node(v)
                for d, v in zip(src.dimension, src.value, strict=True)
            ]
            src["dimension"] = [ctx.t(f"quality.dimension_{d}") for d in src.dimension]
            shown = ["dimension", "what", "n_contacts", "bad_peak_share", "csat", "csat_bad_peak"]
            blocks += [
                Markdown(ctx.t("quality.sources_heading", n=MIN_CONTACTS)),
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
    return blocks


def build(ctx: ReportContext) -> list[Block]:
    return [Markdown(ctx.t("quality.intro")), *_satisfaction(ctx), *_peak_end(ctx)]


SECTION = Section(id="quality", order=70, build=build, requires=(SATISFACTION,))
