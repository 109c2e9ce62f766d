"""Section "IVR journeys": the menu as a Sankey coloured by drop-off, the node table, the lost
points and containment (plain and verified) by business and region.

Every figure comes from the IVR's query functions (:func:`touchpoint.ivr.view_rows` and
friends), the same rows `touchpoint ivr` and the API show; this module only draws them."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from touchpoint import ivr
from touchpoint.labels import to_frame
from touchpoint.report.blocks import Block, Figure, Kpis, Markdown, Table
from touchpoint.report.context import ReportContext, Section


def _sankey(ctx: ReportContext, nodes: pd.DataFrame) -> go.Figure:
    """Forward moves parent -> child, then each node's endings into three outcome boxes."""
    forward = to_frame(ivr.forward_move_rows(ctx.con))
    names = list(nodes["node_id"])
    index = {name: i for i, name in enumerate(names)}
    exits = {
        "completed": ctx.t("ivr.exit_completed"),
        "abandoned": ctx.t("ivr.exit_abandoned"),
        "agent": ctx.t("ivr.exit_agent"),
    }
    for key in exits:
        index[key] = len(index)
    sources, targets, values = [], [], []
    for row in forward.itertuples(index=False):
        if row.from_node_id in index and row.to_node_id in index:
            sources.append(index[row.from_node_id])
            targets.append(index[row.to_node_id])
            values.append(int(row.n_moves))
    for row in nodes.itertuples(index=False):
        for key, count in (
            ("completed", row.n_exits_self_service_complete),
            ("abandoned", row.n_abandoned),
            ("agent", row.n_exits_transfer_agent),
        ):
            if count > 0:
                sources.append(index[row.node_id])
                targets.append(index[key])
                values.append(int(count))
    rates = list(nodes["drop_off_rate"])
    top = max(max(rates, default=0.0), 1e-9)
    colours = sample_colorscale("RdYlGn_r", [r / top for r in rates])
    colours += ["#2e7d32", "#c62828", "#ef6c00"]
    labels = [
        f"{ctx.node(n)} ({ctx.t('ivr.drop_off')} {ctx.percent(r)})"
        for n, r in zip(names, rates, strict=True)
    ] + list(exits.values())
    figure = go.Figure(
        go.Sankey(
            arrangement="snap",
            node={"label": labels, "color": colours, "pad": 8, "thickness": 14},
            link={"source": sources, "target": targets, "value": values},
        )
    )
    figure.update_layout(title=ctx.t("ivr.chart_sankey"))
    return figure


def _containment_chart(ctx: ReportContext, rows: pd.DataFrame, dimension: str) -> go.Figure:
    part = rows[rows["dimension"] == dimension].copy()
    part["dimension_value"] = [ctx.label(dimension, v) for v in part["dimension_value"]]
    long = part.melt(
        id_vars=["dimension_value"],
        value_vars=["ivr_containment_rate", "ivr_verified_containment_rate"],
        var_name="measure",
        value_name="rate",
    )
    long["measure"] = long["measure"].map(
        {
            "ivr_containment_rate": ctx.t("ivr.col_containment"),
            "ivr_verified_containment_rate": ctx.t("ivr.col_verified"),
        }
    )
    figure = px.bar(
        long,
        x="dimension_value",
        y="rate",
        color="measure",
        barmode="group",
        title=ctx.t(f"ivr.chart_containment_{dimension}"),
        labels={
            "dimension_value": ctx.t(f"ivr.col_{dimension}"),
            "rate": ctx.t("ivr.col_rate"),
            "measure": ctx.t("ivr.col_measure"),
        },
    )
    figure.update_yaxes(tickformat=".0%", range=[0, 1])
    return figure


def build(ctx: ReportContext) -> list[Block]:
    kpis = ivr.kpi_row(ctx.con)
    nodes = to_frame(ivr.view_rows(ctx.con, "nodes"))
    blocks: list[Block] = [
        Markdown(ctx.t("ivr.intro", hours=ctx.number(kpis["verified_window_hours"]))),
        Kpis(
            [
                (ctx.t("ivr.kpi_calls"), ctx.number(int(kpis["n_ivr_calls"]))),
                (ctx.t("ivr.kpi_containment"), ctx.percent(kpis["ivr_containment_rate"])),
                (ctx.t("ivr.kpi_verified"), ctx.percent(kpis["ivr_verified_containment_rate"])),
                (
                    ctx.t("ivr.kpi_self_service"),
                    ctx.t("ivr.seconds", value=ctx.number(kpis["mean_self_service_seconds"], 1)),
                ),
            ]
        ),
        Figure(_sankey(ctx, nodes), height=max(480, 16 * len(nodes))),
        Markdown(ctx.t("ivr.nodes_heading")),
    ]
    table = nodes.sort_values(["n_visits", "node_id"], ascending=[False, True])
    columns = {
        "node_id": "col_node",
        "parent_node_id": "col_parent",
        "depth": "col_depth",
        "n_visits": "col_visits",
        "n_callers": "col_callers",
        "mean_dwell_seconds": "col_dwell",
        "n_exits_self_service_complete": "col_completed",
        "n_exits_transfer_agent": "col_agent",
        "n_abandoned": "col_hung_up",
        "n_failures": "col_failures",
        "lost_score": "col_lost_score",
    }
    count = ctx.number
    blocks.append(
        Table(
            table[list(columns)],
            column_labels={c: ctx.t(f"ivr.{k}") for c, k in columns.items()},
            formats={
                "n_visits": count,
                "n_callers": count,
                "mean_dwell_seconds": lambda v: ctx.number(v, 1),
                "lost_score": lambda v: ctx.number(v, 3),
                "depth": lambda v: "–" if pd.isna(v) else str(int(v)),
                "node_id": ctx.node,
                "parent_node_id": ctx.node,
            },
        )
    )
    lost = to_frame(ivr.view_rows(ctx.con, "lost", top=10))
    lost_columns = {
        "lost_rank": "col_rank",
        "node_id": "col_node",
        "n_visits": "col_visits",
        "lost_score": "col_lost_score",
        "n_timeouts": "col_timeouts",
        "n_invalid_keys": "col_invalid",
        "n_wrong_turns": "col_wrong_turns",
        "n_backtracks": "col_backtracks",
        "n_loops": "col_loops",
        "n_repeated_prompts": "col_repeated_prompts",
    }
    blocks += [
        Markdown(ctx.t("ivr.lost_heading")),
        Table(
            lost[list(lost_columns)],
            column_labels={c: ctx.t(f"ivr.{k}") for c, k in lost_columns.items()},
            formats={
                "lost_score": lambda v: ctx.number(v, 3),
                "n_visits": count,
                "node_id": ctx.node,
            },
        ),
        Markdown(f"**{ctx.t('ivr.containment_heading')}**"),
    ]
    containment = to_frame(ivr.view_rows(ctx.con, "containment"))
    for dimension in ("business", "region"):
        if (containment["dimension"] == dimension).any():
            blocks.append(Figure(_containment_chart(ctx, containment, dimension)))
    return blocks


SECTION = Section(
    id="ivr",
    order=30,
    build=build,
    requires=(ivr.KPIS_MART, ivr.NODES_MART, ivr.TREE_MART, ivr.MOVES_CUBE, ivr.LOST_MART),
)
