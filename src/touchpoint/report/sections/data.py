"""Section "Data loaded": what the warehouse holds and what ingest rejected, and why, from
ingest's query functions (:func:`touchpoint.ingest.entity_coverage` and friends)."""

from __future__ import annotations

import pandas as pd
import plotly.express as px

from touchpoint import ingest
from touchpoint.contract import ENTITIES
from touchpoint.labels import to_frame
from touchpoint.report.blocks import Block, Figure, Kpis, Markdown, Table
from touchpoint.report.context import ReportContext, Section


def _entity_coverage(ctx: ReportContext) -> pd.DataFrame:
    rows = [
        row
        | {
            "entity": ctx.t(f"data.entity_{row['entity']}"),
            "first": ctx.date(row["first"]),
            "last": ctx.date(row["last"]),
        }
        for row in ingest.entity_coverage(ctx.con)
    ]
    return pd.DataFrame(rows, columns=["entity", "table", "n_rows", "first", "last"])


def build(ctx: ReportContext) -> list[Block]:
    coverage = _entity_coverage(ctx)
    totals = ingest.load_totals(ctx.con)
    n_read = totals["n_read"]
    blocks: list[Block] = [
        Markdown(ctx.t("data.intro")),
        Kpis(
            [
                (ctx.t("data.kpi_files"), ctx.number(totals["n_files"])),
                (ctx.t("data.kpi_read"), ctx.number(n_read)),
                (ctx.t("data.kpi_loaded"), ctx.number(totals["n_loaded"])),
                (ctx.t("data.kpi_quarantined"), ctx.number(totals["n_quarantined"])),
                (
                    ctx.t("data.kpi_quarantine_rate"),
                    ctx.percent(totals["n_quarantined"] / n_read if n_read else None, 2),
                ),
            ]
        ),
        Table(
            coverage,
            column_labels={
                "entity": ctx.t("data.col_entity"),
                "table": ctx.t("data.col_table"),
                "n_rows": ctx.t("data.col_rows"),
                "first": ctx.t("data.col_first"),
                "last": ctx.t("data.col_last"),
            },
            formats={"n_rows": ctx.number},
        ),
    ]
    by_month = to_frame(ingest.rows_by_month(ctx.con))
    if not by_month.empty:
        by_month["month"] = pd.to_datetime(by_month.month).astype("datetime64[s]")
        by_month["entity"] = [ctx.t(f"data.entity_{e}") for e in by_month.entity]
        figure = px.bar(
            by_month.sort_values("month"),
            x="month",
            y="n_rows",
            color="entity",
            barmode="group",
            log_y=True,
            title=ctx.t("data.chart_rows_by_month"),
            labels={
                "month": ctx.t("data.col_month"),
                "n_rows": ctx.t("data.col_rows"),
                "entity": ctx.t("data.col_entity"),
            },
        )
        figure.update_xaxes(tickformat="%Y-%m", dtick="M1")  # the same in both languages
        blocks.append(Figure(figure))
    by_reason = to_frame(ingest.quarantine_by_reason(ctx.con))
    if by_reason.empty:
        blocks.append(Markdown(ctx.t("data.no_quarantine")))
        return blocks
    by_reason["entity_label"] = [
        ctx.t(f"data.entity_{e}") if e in ENTITIES else e for e in by_reason["entity"]
    ]
    by_reason["reason_label"] = [_reason_label(ctx, r) for r in by_reason["reason"]]
    figure = px.bar(
        by_reason,
        x="n_rows",
        y="reason_label",
        color="entity_label",
        orientation="h",
        title=ctx.t("data.chart_quarantine"),
        labels={
            "n_rows": ctx.t("data.col_rows"),
            "reason_label": ctx.t("data.col_reason"),
            "entity_label": ctx.t("data.col_entity"),
        },
    )
    figure.update_layout(yaxis={"categoryorder": "total ascending"})
    blocks += [
        Figure(figure, height=max(300, 60 + 28 * by_reason["reason"].nunique())),
        Table(
            by_reason[["entity_label", "reason_label", "n_rows"]],
            column_labels={
                "entity_label": ctx.t("data.col_entity"),
                "reason_label": ctx.t("data.col_reason"),
                "n_rows": ctx.t("data.col_rows"),
            },
            formats={"n_rows": ctx.number},
        ),
        Markdown(ctx.t("data.quarantine_hint")),
    ]
    return blocks


def _reason_label(ctx: ReportContext, reason: str) -> str:
    try:
        return ctx.t(f"data.reason_{reason}")
    except KeyError:
        return reason  # an entity-specific order check without its own label: show its id


SECTION = Section(id="data", order=10, build=build, requires=("ingest_files",))
