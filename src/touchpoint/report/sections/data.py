"""Section "Data loaded": what the warehouse holds and what ingest rejected, and why."""

from __future__ import annotations

import ibis
import pandas as pd
import plotly.express as px

from touchpoint.contract import ENTITIES
from touchpoint.report.blocks import Block, Figure, Kpis, Markdown, Table
from touchpoint.report.context import ReportContext, Section, as_frame

# The first timestamp or date column of an entity dates its rows.
_DATE_COLUMN = {
    name: next((c.name for c in entity.columns if c.dtype in ("timestamp", "date")), None)
    for name, entity in ENTITIES.items()
}


def _entity_coverage(ctx: ReportContext) -> pd.DataFrame:
    rows = []
    for name, entity in ENTITIES.items():
        table = ctx.table(entity.table)
        if table is None:
            continue
        column = _DATE_COLUMN[name]
        if column is None:
            stats = table.aggregate(n=table.count()).pipe(as_frame).iloc[0]
            first = last = None
        else:
            stats = (
                table.aggregate(
                    n=table.count(), first=table[column].min(), last=table[column].max()
                )
                .pipe(as_frame)
                .iloc[0]
            )
            first, last = stats["first"], stats["last"]
        rows.append(
            {
                "entity": ctx.t(f"data.entity_{name}"),
                "table": entity.table,
                "n_rows": int(stats["n"]),
                "first": ctx.date(first),
                "last": ctx.date(last),
            }
        )
    return pd.DataFrame(rows, columns=["entity", "table", "n_rows", "first", "last"])


def _rows_by_month(ctx: ReportContext) -> pd.DataFrame:
    """Rows per month of each dated entity: a gap or a dip shows a missing or partial export."""
    frames = []
    for name, entity in ENTITIES.items():
        table, column = ctx.table(entity.table), _DATE_COLUMN[name]
        if table is None or column is None or name == "customers":  # join dates span decades
            continue
        month = table[column].truncate("M").cast("date").name("month")
        counted = table.group_by(month).aggregate(n_rows=table.count()).pipe(as_frame)
        counted["entity"] = ctx.t(f"data.entity_{name}")
        frames.append(counted)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _quarantine_by_reason(quarantine: ibis.Table) -> pd.DataFrame:
    return (
        quarantine.group_by(["entity", "reason"])
        .aggregate(n_rows=quarantine.count())
        .order_by(ibis.desc("n_rows"))
        .pipe(as_frame)
    )


def build(ctx: ReportContext) -> list[Block]:
    files = ctx.table("ingest_files")
    coverage = _entity_coverage(ctx)
    totals = (
        files.aggregate(
            n_files=files.count(),
            n_read=files.n_read.sum(),
            n_loaded=files.n_loaded.sum(),
            n_quarantined=files.n_quarantined.sum(),
        )
        .pipe(as_frame)
        .iloc[0]
    )
    n_read = int(totals["n_read"] or 0)
    blocks: list[Block] = [
        Markdown(ctx.t("data.intro")),
        Kpis(
            [
                (ctx.t("data.kpi_files"), ctx.number(int(totals["n_files"]))),
                (ctx.t("data.kpi_read"), ctx.number(n_read)),
                (ctx.t("data.kpi_loaded"), ctx.number(int(totals["n_loaded"] or 0))),
                (ctx.t("data.kpi_quarantined"), ctx.number(int(totals["n_quarantined"] or 0))),
                (
                    ctx.t("data.kpi_quarantine_rate"),
                    ctx.percent((totals["n_quarantined"] or 0) / n_read if n_read else None, 2),
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
    by_month = _rows_by_month(ctx)
    if not by_month.empty:
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
    quarantine = ctx.table("ingest_quarantine")
    by_reason = _quarantine_by_reason(quarantine) if quarantine is not None else pd.DataFrame()
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
