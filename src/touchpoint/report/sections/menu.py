"""Section "A better IVR menu": the ranked recommendations and their estimated benefit."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.express as px

from touchpoint.ivr import RECOMMENDATIONS_MART
from touchpoint.report import i18n
from touchpoint.report.blocks import Block, Figure, Kpis, Markdown, Table
from touchpoint.report.context import ReportContext, Section, as_frame

MAX_ROWS = 20


def proposal_text(row: dict[str, Any], lang: str) -> str:
    """The recommendation as a sentence in ``lang``, from its ``proposal_key`` and evidence."""
    values = {
        key: ("–" if value is None else value)
        for key, value in row.items()
        if key not in ("error_rate", "median_error_rate")
    }
    for key in ("error_rate", "median_error_rate"):
        values[key] = i18n.format_percent(row.get(key), lang)
    kind = row.get("main_error_kind")
    values["main_error"] = i18n.translate(f"menu.error_{kind}", lang) if kind else "–"
    return i18n.translate(row["proposal_key"], lang).format(**values)


def recommendations_frame(ctx: ReportContext, limit: int = MAX_ROWS) -> pd.DataFrame:
    table = ctx.table(RECOMMENDATIONS_MART)
    frame = table.order_by("rank").limit(limit).pipe(as_frame)
    rows = frame.to_dict("records")
    frame["kind_label"] = [ctx.t(f"menu.kind_{k}") for k in frame["kind"]]
    frame["proposal"] = [proposal_text(_clean(r), ctx.lang) for r in rows]
    frame["label"] = [f"#{r['rank']} {ctx.node(r['node_id'])}" for r in rows]
    return frame


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in row.items():
        if isinstance(value, float) and value != value:
            value = None
        out[key] = value
    return out


def build(ctx: ReportContext) -> list[Block]:
    frame = recommendations_frame(ctx)
    blocks: list[Block] = [Markdown(ctx.t("menu.intro"))]
    if frame.empty:
        return [*blocks, Markdown(ctx.t("menu.none"))]
    table = ctx.table(RECOMMENDATIONS_MART)
    counts = table.group_by("kind").aggregate(n=table.count()).pipe(as_frame)
    n_fix = int(counts.loc[counts["kind"] == "fix", "n"].sum())
    best = frame.iloc[0]
    blocks.append(
        Kpis(
            [
                (ctx.t("menu.kpi_n"), ctx.number(int(counts["n"].sum()))),
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
