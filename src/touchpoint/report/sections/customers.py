"""Section "Customers": channel preference levels, contribution tiers, negative-value customers
and cost to serve (from ``mart_customer_360`` and ``mart_channel_preference``)."""

from __future__ import annotations

import ibis
import pandas as pd
import plotly.express as px

from touchpoint.customers import C360_MART, PREFERENCE_MART
from touchpoint.report.blocks import Block, Figure, Kpis, Markdown, Table
from touchpoint.report.context import ReportContext, Section


def _latest(table: ibis.Table) -> ibis.Table:
    return table.filter(table.month == table.month.max().as_scalar())


def _levels_by_channel(ctx: ReportContext, c360: ibis.Table, channels: list[str]) -> pd.DataFrame:
    """Customers at each level 1..5 per channel (all businesses), latest month."""
    long = c360.select(*[c360[f"pref_level_{c}"].name(c) for c in channels]).pivot_longer(
        ibis.selectors.all(), names_to="channel", values_to="level"
    )
    used = long.filter(long.level > 0)
    counted = used.group_by("channel", "level").agg(n_customers=used.count()).to_pandas()
    counted["channel_label"] = [ctx.label("channel", c) for c in counted["channel"]]
    counted["level"] = counted["level"].astype(str)
    return counted.sort_values(["channel", "level"])


def _levels_by_business(ctx: ReportContext, pref: ibis.Table) -> pd.DataFrame:
    """Share of the business's customers at level 3 or more, per business × channel, latest month."""
    latest = _latest(pref)
    users = latest.group_by("business").agg(n_users=latest.customer_id.nunique())
    high = latest.filter(latest.level >= 3)
    strong = high.group_by("business", "channel").agg(n_strong=high.count())
    frame = strong.join(users, "business").to_pandas()
    frame["share"] = frame["n_strong"] / frame["n_users"]
    frame["business_label"] = [ctx.label("business", b) for b in frame["business"]]
    frame["channel_label"] = [ctx.label("channel", c) for c in frame["channel"]]
    return frame


def _tiers(ctx: ReportContext, c360: ibis.Table, channels: list[str]) -> pd.DataFrame:
    agg = c360.group_by("contribution_tier").agg(
        n_customers=c360.count(),
        net_contribution_yuan=c360.net_contribution_yuan.sum(),
        arpu_yuan=c360.arpu_yuan.mean(),
        cost_to_serve_yuan=c360.cost_to_serve_yuan.sum(),
        **{f"n_{c}": c360[f"n_contacts_{c}"].sum() for c in channels},
    )
    return agg.order_by("contribution_tier").to_pandas()


def build(ctx: ReportContext) -> list[Block]:
    channels = ctx.config.ids("channel")
    c360 = _latest(ctx.table(C360_MART))
    stats = (
        c360.aggregate(
            month=c360.month.max(),
            n=c360.count(),
            n_negative=(c360.net_contribution_yuan < 0).fill_null(False).cast("int64").sum(),
            negative_yuan=ibis.ifelse(
                c360.net_contribution_yuan < 0, c360.net_contribution_yuan, 0.0
            ).sum(),
            cost=c360.cost_to_serve_yuan.sum(),
            arpu=c360.arpu_yuan.mean(),
        )
        .to_pandas()
        .iloc[0]
    )
    n = int(stats["n"])
    if n == 0:
        return [Markdown(ctx.t("customers.empty"))]
    month = str(stats["month"])[:7]
    blocks: list[Block] = [
        Markdown(ctx.t("customers.intro", month=month)),
        Kpis(
            [
                (ctx.t("customers.kpi_customers"), ctx.number(n)),
                (ctx.t("customers.kpi_arpu"), ctx.money(float(stats["arpu"] or 0))),
                (ctx.t("customers.kpi_cost"), ctx.money(float(stats["cost"] or 0))),
                (ctx.t("customers.kpi_negative"), ctx.number(int(stats["n_negative"] or 0))),
                (
                    ctx.t("customers.kpi_negative_share"),
                    ctx.percent(int(stats["n_negative"] or 0) / n),
                ),
                (
                    ctx.t("customers.kpi_negative_yuan"),
                    ctx.money(float(stats["negative_yuan"] or 0)),
                ),
            ]
        ),
    ]
    levels = _levels_by_channel(ctx, c360, channels)
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
    pref = ctx.table(PREFERENCE_MART)
    if pref is not None:
        by_business = _levels_by_business(ctx, pref)
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
    tiers = _tiers(ctx, c360, channels)
    tiers["tier"] = [
        ctx.t("customers.no_bill") if pd.isna(t) else str(int(t))
        for t in tiers["contribution_tier"]
    ]
    tiers["share"] = tiers["n_customers"] / n
    tiers["cost_per_customer"] = tiers["cost_to_serve_yuan"] / tiers["n_customers"]
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
    cost_rows = []
    for _, row in tiers.iterrows():
        for c in channels:
            cost = float(row[f"n_{c}"] or 0) * ctx.config.channel(c).cost_per_contact_yuan
            if cost > 0:
                cost_rows.append(
                    {"tier": row["tier"], "channel": ctx.label("channel", c), "cost": cost}
                )
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
