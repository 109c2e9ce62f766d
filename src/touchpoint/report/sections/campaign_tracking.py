"""Section "Campaigns": each campaign's treated beside its holdout month by month, the naive
figure beside the net effect with the one line that explains the gap, the money, and whom to
treat next (the Qini curves and the strategies compared, when ``touchpoint campaign uplift``
ran). The rows come from :func:`touchpoint.campaigns.campaign_tracking`,
:func:`~touchpoint.campaigns.campaign_savings_rows` and
:func:`~touchpoint.campaigns.campaign_uplift`; this section only lays them out."""

from __future__ import annotations

import pandas as pd
import plotly.express as px

from touchpoint import campaigns
from touchpoint.report.blocks import Block, Figure, Markdown, Table
from touchpoint.report.context import ReportContext, Section

#: The indicator each action's chart and gap line are about.
HEADLINE = {
    "divert_store_payment_to_self_service": "away_since_start",
    "divert_agent_to_self_service": "no_agent_since_start",
    "retention_offer": "churned",
    "cross_sell": "complained",
}
#: At most this many campaigns are shown (the latest ids last).
MAX_CAMPAIGNS = 12


def metric_label(ctx: ReportContext, metric: str) -> str:
    if metric.startswith("went_to_"):
        channel = metric.removeprefix("went_to_")
        return ctx.t("campaign_tracking.metric_went_to", channel=ctx.label("channel", channel))
    return ctx.t(f"campaign_tracking.metric_{metric}")


def _signed(ctx: ReportContext, value: float | None) -> str:
    if value is None or pd.isna(value):
        return "–"
    return ("+" if value > 0 else "") + ctx.percent(value)


def _uplift(ctx: ReportContext, comparison: pd.DataFrame, curves: pd.DataFrame) -> list[Block]:
    """The Qini curves (each strategy and the random line) and the strategies side by side."""
    first = comparison.iloc[0]
    blocks: list[Block] = [
        Markdown(ctx.t("campaign_tracking.uplift_heading", month=ctx.date(first.learnt_month, 7)))
    ]
    if not curves.empty:
        lines = curves.assign(
            strategy=[ctx.t(f"campaign_tracking.strategy_{s}") for s in curves.strategy]
        )
        figure = px.line(
            lines,
            x="n_treated",
            y="incremental",
            color="strategy",
            title=ctx.t("campaign_tracking.chart_qini"),
            labels={
                "n_treated": ctx.t("campaign_tracking.col_n_treated"),
                "incremental": ctx.t("campaign_tracking.col_incremental"),
                "strategy": ctx.t("campaign_tracking.col_strategy"),
            },
        )
        blocks.append(Figure(figure, height=340))
    table = comparison.assign(
        strategy=[ctx.t(f"campaign_tracking.strategy_{s}") for s in comparison.strategy]
    )
    shown = [
        "strategy",
        "qini_auc",
        "auuc",
        "share_treated",
        "n_orders",
        "uplift_at_share",
        "saving_per_order_yuan",
        "saving_yuan",
    ]
    blocks.append(
        Table(
            table[shown],
            column_labels={c: ctx.t(f"campaign_tracking.col_{c}") for c in shown},
            formats={
                "qini_auc": lambda v: ctx.number(v, 3),
                "auuc": lambda v: ctx.number(v, 3),
                "share_treated": lambda v: ctx.percent(v, 0),
                "n_orders": ctx.number,
                "uplift_at_share": lambda v: _signed(ctx, v),
                "saving_per_order_yuan": lambda v: ctx.number(v, 2),
                "saving_yuan": ctx.money,
            },
        )
    )
    return blocks


def _campaign(
    ctx: ReportContext,
    rows: pd.DataFrame,
    money: pd.DataFrame,
    uplift: tuple[pd.DataFrame, pd.DataFrame] | None = None,
) -> list[Block]:
    latest = rows[rows.month == rows.month.max()]
    blocks = [_heading(ctx, rows.iloc[0], latest)]
    blocks += _headline(ctx, rows)
    blocks.append(_latest_table(ctx, latest))
    if not money.empty:
        blocks += _retention(ctx, money[money.metric == "churned"])
        blocks += _savings(ctx, money[money.metric != "churned"])
    if uplift is not None and not uplift[0].empty:
        blocks += _uplift(ctx, *uplift)
    return blocks


def _heading(ctx: ReportContext, first, latest: pd.DataFrame) -> Block:
    return Markdown(
        ctx.t(
            "campaign_tracking.campaign_heading",
            campaign=first.campaign_id,
            action=ctx.t(f"campaign_tracking.action_{first.action}"),
            n_treatment=ctx.number(int(latest.n_treatment.max())),
            n_holdout=ctx.number(int(latest.n_holdout.max())),
        )
    )


def _headline(ctx: ReportContext, rows: pd.DataFrame) -> list[Block]:
    """The action's headline metric month by month, treated beside holdout, and the gap
    between the naive and the net figure at the end."""
    action = rows.iloc[0].action
    headline = rows[rows.metric == HEADLINE.get(action, "")].sort_values("month")
    if headline.empty:
        return []
    long = pd.concat(
        [
            pd.DataFrame(
                {
                    "month": [ctx.date(m, 7) for m in headline.month],
                    "rate": headline[column].to_numpy(),
                    "group": ctx.t(f"campaign_tracking.legend_{group}"),
                }
            )
            for column, group in (
                ("rate_treatment", "treatment"),
                ("rate_holdout", "holdout"),
            )
        ]
    )
    label = metric_label(ctx, HEADLINE[action])
    figure = px.line(
        long,
        x="month",
        y="rate",
        color="group",
        markers=True,
        title=ctx.t("campaign_tracking.chart_rates", metric=label),
        labels={
            "month": ctx.t("campaign_tracking.col_month"),
            "rate": ctx.t("campaign_tracking.col_rate"),
            "group": ctx.t("campaign_tracking.col_group"),
        },
    )
    figure.update_yaxes(tickformat=".0%")
    blocks: list[Block] = [Figure(figure, height=340)]
    end = headline.iloc[-1]
    if not pd.isna(end.naive_effect):
        blocks.append(
            Markdown(
                ctx.t(
                    "campaign_tracking.gap",
                    metric=label,
                    month=ctx.date(end.month, 7),
                    naive=_signed(ctx, end.naive_effect),
                    net=_signed(ctx, end.net_effect),
                )
            )
        )
    return blocks


def _latest_table(ctx: ReportContext, latest: pd.DataFrame) -> Block:
    """Every metric of the latest month: treated, holdout, net with its interval, naive."""
    table = latest.assign(
        metric=[metric_label(ctx, m) for m in latest.metric],
        kind=[ctx.t(f"campaign_tracking.kind_{k}") for k in latest.kind],
        net_ci=[
            f"{_signed(ctx, lo)} – {_signed(ctx, hi)}"
            for lo, hi in zip(latest.net_ci_low, latest.net_ci_high, strict=True)
        ],
        month=[ctx.date(m, 7) for m in latest.month],
    )
    shown = [
        "metric",
        "kind",
        "month",
        "rate_treatment",
        "rate_holdout",
        "net_effect",
        "net_ci",
        "naive_effect",
    ]
    return Table(
        table[shown],
        column_labels={c: ctx.t(f"campaign_tracking.col_{c}") for c in shown},
        formats={
            "rate_treatment": ctx.percent,
            "rate_holdout": ctx.percent,
            "net_effect": lambda v: _signed(ctx, v),
            "naive_effect": lambda v: _signed(ctx, v),
        },
    )


def _retention(ctx: ReportContext, kept: pd.DataFrame) -> list[Block]:
    """A retention campaign's money month by month: customers kept, their value, and the
    success rate beside the target."""
    if kept.empty:
        return []
    blocks: list[Block] = [Markdown(ctx.t("campaign_tracking.retention_heading"))]
    for r in kept.sort_values("month").itertuples():
        blocks.append(
            Markdown(
                ctx.t(
                    "campaign_tracking.retention_line",
                    month=ctx.date(r.month, 7),
                    kept=ctx.number(r.moved, 1),
                    kept_low=ctx.number(r.moved_low, 1),
                    kept_high=ctx.number(r.moved_high, 1),
                    value=ctx.money(r.cost_difference_yuan),
                    arpu=ctx.money(r.arpu_yuan),
                    months=ctx.number(r.remaining_months),
                    saving=ctx.money(r.saving_yuan),
                    saving_low=ctx.money(r.saving_low_yuan),
                    saving_high=ctx.money(r.saving_high_yuan),
                    orders=ctx.money(r.order_cost_yuan),
                    net=ctx.money(r.net_saving_to_date_yuan),
                    target=ctx.percent(r.target_success_rate, 0),
                    rate=ctx.percent(r.success_rate),
                    rate_low=ctx.percent(r.success_low),
                    rate_high=ctx.percent(r.success_high),
                )
            )
        )
    return blocks


def _savings(ctx: ReportContext, money: pd.DataFrame) -> list[Block]:
    """A diversion campaign's savings month by month, with their interval, net of orders."""
    if money.empty:
        return []
    m = money.sort_values("month")
    m = m.assign(month=[ctx.date(v, 7) for v in m.month])
    m["saving_ci"] = [
        f"{ctx.money(lo)} – {ctx.money(hi)}"
        for lo, hi in zip(m.saving_low_yuan, m.saving_high_yuan, strict=True)
    ]
    shown = [
        "month",
        "moved",
        "saving_yuan",
        "saving_ci",
        "order_cost_yuan",
        "net_saving_to_date_yuan",
    ]
    return [
        Markdown(ctx.t("campaign_tracking.savings_heading")),
        Table(
            m[shown],
            column_labels={c: ctx.t(f"campaign_tracking.col_{c}") for c in shown},
            formats={
                "moved": lambda v: ctx.number(v, 1),
                "saving_yuan": ctx.money,
                "order_cost_yuan": ctx.money,
                "net_saving_to_date_yuan": ctx.money,
            },
        ),
    ]


def _of(frame: pd.DataFrame, campaign_id: str) -> pd.DataFrame:
    return frame[frame.campaign_id == campaign_id] if not frame.empty else frame


def build(ctx: ReportContext) -> list[Block]:
    rows = pd.DataFrame(campaigns.campaign_tracking(ctx.con))
    if rows.empty:
        return [Markdown(ctx.t("campaign_tracking.none"))]
    money = pd.DataFrame(campaigns.campaign_savings_rows(ctx.con))
    uplift = campaigns.campaign_uplift(ctx.con)
    comparison, curves = pd.DataFrame(uplift["comparison"]), pd.DataFrame(uplift["curves"])
    blocks: list[Block] = [Markdown(ctx.t("campaign_tracking.intro"))]
    for campaign_id in sorted(rows.campaign_id.unique())[-MAX_CAMPAIGNS:]:
        blocks += _campaign(
            ctx,
            rows[rows.campaign_id == campaign_id],
            _of(money, campaign_id),
            (_of(comparison, campaign_id), _of(curves, campaign_id)),
        )
    return blocks


SECTION = Section(
    id="campaign_tracking", order=75, build=build, requires=(campaigns.TRACKING_MART,)
)
