"""Section "Customers": channel preference levels, contribution tiers, negative-value customers
and cost to serve. The figures come from :func:`touchpoint.customers.overview`; this section
only lays them out."""

from __future__ import annotations

import pandas as pd
import plotly.express as px

from touchpoint import customers
from touchpoint.customers import C360_MART
from touchpoint.report.blocks import Block, Figure, Kpis, Markdown, Table
from touchpoint.report.context import ReportContext, Section


def _levels_by_channel(ctx: ReportContext, rows: list[dict]) -> pd.DataFrame:
    counted = pd.DataFrame(rows, columns=["channel", "level", "n_customers"])
    counted["channel_label"] = [ctx.label("channel", c) for c in counted["channel"]]
    counted["level"] = counted["level"].astype(str)
    return counted


def _levels_by_business(ctx: ReportContext, rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["business", "channel", "n_strong", "n_users", "share"])
    frame["business_label"] = [ctx.label("business", b) for b in frame["business"]]
    frame["channel_label"] = [ctx.label("channel", c) for c in frame["channel"]]
    return frame


def _tier(ctx: ReportContext, tier: int | None) -> str:
    return ctx.t("customers.no_bill") if tier is None else str(tier)


def build(ctx: ReportContext) -> list[Block]:
    summary = customers.overview(ctx.con, ctx.config)
    n = summary.n_customers
    if n == 0:
        return [Markdown(ctx.t("customers.empty"))]
    month = summary.month
    blocks: list[Block] = [
        Markdown(ctx.t("customers.intro", month=month)),
        Kpis(
            [
                (ctx.t("customers.kpi_customers"), ctx.number(n)),
                (ctx.t("customers.kpi_arpu"), ctx.money(summary.arpu_yuan)),
                (ctx.t("customers.kpi_cost"), ctx.money(summary.cost_yuan)),
                (ctx.t("customers.kpi_negative"), ctx.number(summary.n_negative)),
                (ctx.t("customers.kpi_negative_share"), ctx.percent(summary.n_negative / n)),
                (ctx.t("customers.kpi_negative_yuan"), ctx.money(summary.negative_yuan)),
            ]
        ),
    ]
    levels = _levels_by_channel(ctx, summary.levels_by_channel)
    if not levels.empty:
        figure = px.bar(
            levels,
            x="channel_label",
            y="n_customers",
            color="level",
            title=ctx.t("customers.chart_levels_by_channel", month=month),
            labels={
                "channel_label": ctx.t("customers.col_channel"),
                "n_customers": ctx.t("customers.col_customers"),
                "level": ctx.t("customers.col_level"),
            },
            category_orders={"level": ["1", "2", "3", "4", "5"]},
        )
        blocks.append(Figure(figure))
    if summary.levels_by_business:
        by_business = _levels_by_business(ctx, summary.levels_by_business)
        if not by_business.empty:
            grid = by_business.pivot_table(
                index="business_label", columns="channel_label", values="share", fill_value=0.0
            )
            figure = px.imshow(
                grid,
                text_auto=".0%",
                aspect="auto",
                color_continuous_scale="Blues",
                title=ctx.t("customers.chart_levels_by_business"),
                labels={
                    "x": ctx.t("customers.col_channel"),
                    "y": ctx.t("customers.col_business"),
                    "color": ctx.t("customers.col_share"),
                },
            )
            blocks.append(Figure(figure, height=max(320, 80 + 40 * len(grid))))
    tiers = pd.DataFrame(summary.tiers)
    # From the rows, not the frame: pandas would turn the tiers into floats (1.0, NaN).
    tiers["tier"] = [_tier(ctx, row["contribution_tier"]) for row in summary.tiers]
    blocks += [
        Markdown(ctx.t("customers.tiers_intro")),
        Table(
            tiers[
                [
                    "tier",
                    "n_customers",
                    "share",
                    "net_contribution_yuan",
                    "arpu_yuan",
                    "cost_to_serve_yuan",
                    "cost_per_customer",
                ]
            ],
            column_labels={
                "tier": ctx.t("customers.col_tier"),
                "n_customers": ctx.t("customers.col_customers"),
                "share": ctx.t("customers.col_share"),
                "net_contribution_yuan": ctx.t("customers.col_contribution"),
                "arpu_yuan": ctx.t("customers.col_arpu"),
                "cost_to_serve_yuan": ctx.t("customers.col_cost"),
                "cost_per_customer": ctx.t("customers.col_cost_per_customer"),
            },
            formats={
                "n_customers": ctx.number,
                "share": ctx.percent,
                "net_contribution_yuan": ctx.money,
                "arpu_yuan": ctx.money,
                "cost_to_serve_yuan": ctx.money,
                "cost_per_customer": ctx.money,
            },
        ),
    ]
    cost_rows = [
        {
            "tier": _tier(ctx, row["contribution_tier"]),
            "channel": ctx.label("channel", row["channel"]),
            "cost": row["cost_yuan"],
        }
        for row in summary.cost_by_tier
    ]
    if cost_rows:
        figure = px.bar(
            pd.DataFrame(cost_rows),
            x="tier",
            y="cost",
            color="channel",
            title=ctx.t("customers.chart_cost_by_tier", month=month),
            labels={
                "tier": ctx.t("customers.col_tier"),
                "cost": ctx.t("customers.col_cost"),
                "channel": ctx.t("customers.col_channel"),
            },
        )
        figure.update_xaxes(type="category")
        blocks.append(Figure(figure))
    blocks.append(Markdown(ctx.t("customers.method_note")))
    return blocks


SECTION = Section(id="customers", order=40, build=build, requires=(C360_MART,))
