"""Section "A better IVR menu": the ranked recommendations and their estimated benefit, as
:func:`touchpoint.ivr.recommendation_rows` gives them (the rows `touchpoint menu` shows)."""

from __future__ import annotations

import pandas as pd
import plotly.express as px

from touchpoint import ivr
from touchpoint.ivr import RECOMMENDATIONS_MART
from touchpoint.labels import to_frame
from touchpoint.report.blocks import Block, Figure, Kpis, Markdown, Table
from touchpoint.report.context import ReportContext, Section

MAX_ROWS = 20


def recommendations_frame(ctx: ReportContext, limit: int = MAX_ROWS) -> pd.DataFrame:
    result = ivr.recommendation_rows(ctx.con, top=limit)
    frame, rows = to_frame(result), result.to_pylist()
    frame["kind_label"] = [ctx.t(f"menu.kind_{k}") for k in frame["kind"]]
    frame["proposal"] = [ivr.proposal_text(r, ctx.lang) for r in rows]
    frame["label"] = [f"#{r['rank']} {ctx.node(r['node_id'])}" for r in rows]
    return frame


def build(ctx: ReportContext) -> list[Block]:
    frame = recommendations_frame(ctx)
    blocks: list[Block] = [Markdown(ctx.t("menu.intro"))]
    if frame.empty:
        return [*blocks, Markdown(ctx.t("menu.none"))]
    counts = ivr.recommendation_counts(ctx.con)
    n_fix = counts.get("fix", 0)
    best = frame.iloc[0]
    blocks.append(
        Kpis(
            [
                (ctx.t("menu.kpi_n"), ctx.number(sum(counts.values()))),
                (ctx.t("menu.kpi_n_fix"), ctx.number(n_fix)),
                (ctx.t("menu.kpi_best_cost"), ctx.money(best["est_cost_saved_yuan_per_month"])),
                (
                    ctx.t("menu.kpi_best_transfers"),
                    ctx.number(best["est_transfers_avoided_per_month"], 1),
                ),
            ]
        )
    )
    figure = px.bar(
        frame.iloc[::-1],
        x="est_cost_saved_yuan_per_month",
        y="label",
        color="kind_label",
        orientation="h",
        hover_data={
            "proposal": True,
            "est_caller_seconds_saved_per_month": ":,.0f",
            "est_transfers_avoided_per_month": ":,.1f",
            "label": False,
        },
        title=ctx.t("menu.chart_benefit"),
        labels={
            "est_cost_saved_yuan_per_month": ctx.t("menu.col_cost"),
            "label": ctx.t("menu.col_node"),
            "kind_label": ctx.t("menu.col_kind"),
            "proposal": ctx.t("menu.col_proposal"),
            "est_caller_seconds_saved_per_month": ctx.t("menu.col_seconds"),
            "est_transfers_avoided_per_month": ctx.t("menu.col_transfers"),
        },
    )
    figure.update_layout(
        yaxis={"categoryorder": "array", "categoryarray": list(frame["label"])[::-1]}
    )
    blocks.append(Figure(figure, height=max(320, 80 + 26 * len(frame))))
    columns = {
        "rank": ctx.t("menu.col_rank"),
        "kind_label": ctx.t("menu.col_kind"),
        "node_id": ctx.t("menu.col_node"),
        "proposal": ctx.t("menu.col_proposal"),
        "n_calls_per_month": ctx.t("menu.col_calls"),
        "est_caller_seconds_saved_per_month": ctx.t("menu.col_seconds"),
        "est_transfers_avoided_per_month": ctx.t("menu.col_transfers"),
        "est_cost_saved_yuan_per_month": ctx.t("menu.col_cost"),
    }
    blocks.append(
        Table(
            frame[list(columns)],
            column_labels=columns,
            formats={
                "n_calls_per_month": ctx.number,
                "est_caller_seconds_saved_per_month": ctx.number,
                "est_transfers_avoided_per_month": lambda v: ctx.number(v, 1),
                "est_cost_saved_yuan_per_month": ctx.money,
                "node_id": ctx.node,
            },
        )
    )
    return blocks


SECTION = Section(id="menu", order=35, build=build, requires=(RECOMMENDATIONS_MART,))
