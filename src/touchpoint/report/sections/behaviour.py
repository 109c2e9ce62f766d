"""Section "Customer behaviour": segments, lifecycle stages, churn risk and reasons, value."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from touchpoint import churn, segments
from touchpoint.labels import to_frame
from touchpoint.report.blocks import Block, Figure, Markdown, Table
from touchpoint.report.context import ReportContext, Section

#: Join-year cohorts drawn in the retention chart (the latest ones).
COHORTS_SHOWN = 6


def _present(ctx: ReportContext, *marts: str) -> bool:
    return all(ctx.table(m) is not None for m in marts)


def _segments(ctx: ReportContext, profiles: pd.DataFrame, names: dict) -> list[Block]:
    if profiles.empty:
        return [Markdown(ctx.t("behaviour.no_segments"))]
    blocks: list[Block] = [
        Markdown(ctx.t("behaviour.segments_intro", k=len(profiles))),
        Table(
            profiles[
                [
                    "segment",
                    "name",
                    "description",
                    "n_customers",
                    "share",
                    "mean_arpu_yuan",
                    "mean_contacts_3m",
                ]
            ],
            column_labels={
                "segment": ctx.t("behaviour.col_segment"),
                "name": ctx.t("behaviour.col_name"),
                "description": ctx.t("behaviour.col_description"),
                "n_customers": ctx.t("behaviour.col_customers"),
                "share": ctx.t("behaviour.col_share"),
                "mean_arpu_yuan": ctx.t("behaviour.col_arpu"),
                "mean_contacts_3m": ctx.t("behaviour.col_contacts"),
            },
            formats={
                "n_customers": ctx.number,
                "share": ctx.percent,
                "mean_arpu_yuan": lambda x: ctx.number(x, 1),
                "mean_contacts_3m": lambda x: ctx.number(x, 1),
            },
        ),
    ]
    if _present(ctx, segments.MIGRATION_MART):
        blocks += _migration(ctx, to_frame(segments.segment_migration(ctx.con)), names)
    if _present(ctx, segments.STABILITY_MART):
        s = to_frame(segments.segment_stability(ctx.con))
        if not s.empty:
            blocks.append(
                Markdown(
                    ctx.t(
                        "behaviour.stability",
                        kept=ctx.percent(float(s.share_kept.mean())),
                        ari=ctx.number(float(s.refit_ari.mean()), 2),
                    )
                )
            )
    return blocks


def _migration(ctx: ReportContext, latest: pd.DataFrame, names: dict) -> list[Block]:
    """The heat map of the latest month's migration between segments."""
    if latest.empty:
        return []
    matrix = latest.pivot_table(
        index="from_segment", columns="to_segment", values="share", fill_value=0.0
    )
    matrix.index = [names.get(i, i) for i in matrix.index]
    matrix.columns = [names.get(i, i) for i in matrix.columns]
    figure = px.imshow(
        matrix,
        text_auto=".0%",
        color_continuous_scale="Blues",
        title=ctx.t("behaviour.chart_migration"),
        labels={
            "x": ctx.t("behaviour.col_to"),
            "y": ctx.t("behaviour.col_from"),
            "color": ctx.t("behaviour.col_share"),
        },
    )
    return [Figure(figure, height=460)]


def _lifecycle(ctx: ReportContext) -> list[Block]:
    if not _present(ctx, segments.LIFECYCLE_MART):
        return []
    settings = segments.lifecycle_settings_from_config(ctx.config)
    counts = to_frame(segments.lifecycle_counts(ctx.con, settings, ctx.lang))
    if counts.empty:
        return []
    stage_order = [getattr(settings.stages[s], f"name_{ctx.lang}") for s in segments.STAGES]
    figure = px.bar(
        counts,
        x="month",
        y="n",
        color="name",
        category_orders={"name": stage_order},
        title=ctx.t("behaviour.chart_stages"),
        labels={
            "month": ctx.t("behaviour.col_month"),
            "n": ctx.t("behaviour.col_customers"),
            "name": ctx.t("behaviour.col_stage"),
        },
    )
    figure.update_xaxes(tickformat="%Y-%m", dtick="M1")
    latest = to_frame(segments.lifecycle_summary(ctx.con, settings, ctx.lang))
    return [
        Markdown(ctx.t("behaviour.lifecycle_intro")),
        Figure(figure, height=420),
        Table(
            latest[["name", "n_customers", "action"]],
            column_labels={
                "name": ctx.t("behaviour.col_stage"),
                "n_customers": ctx.t("behaviour.col_customers"),
                "action": ctx.t("behaviour.col_action"),
            },
            formats={"n_customers": ctx.number},
        ),
    ]


def _churn(ctx: ReportContext) -> list[Block]:
    blocks: list[Block] = []
    if _present(ctx, churn.EVALUATION_MART):
        e = to_frame(churn.churn_evaluation(ctx.con))
        if not e.empty:
            blocks.append(
                Table(
                    e,
                    column_labels={
                        "model": ctx.t("behaviour.col_model"),
                        "test_month": ctx.t("behaviour.col_test_month"),
                        "n": ctx.t("behaviour.col_customers"),
                        "n_churners": ctx.t("behaviour.col_churners"),
                        "roc_auc": "ROC AUC",
                        "pr_auc": "PR AUC",
                        "top_decile_lift": ctx.t("behaviour.col_lift"),
                        "calibration_error": ctx.t("behaviour.col_ece"),
                    },
                    formats={
                        "n": ctx.number,
                        "n_churners": ctx.number,
                        **{
                            c: (lambda x: ctx.number(x, 3))
                            for c in ("roc_auc", "pr_auc", "top_decile_lift", "calibration_error")
                        },
                    },
                )
            )
    if not _present(ctx, churn.SCORES_MART):
        return blocks
    risk = to_frame(churn.risk_histogram(ctx.con))
    if risk.empty:
        return blocks
    blocks.append(Figure(_risk_figure(ctx, risk), height=380))
    settings = churn.churn_settings_from_config(ctx.config)
    reasons = to_frame(churn.reason_counts(ctx.con, settings, ctx.lang))
    if not reasons.empty:
        reasons["controllable"] = reasons.controllable.map(
            lambda c: ctx.t("behaviour.yes") if c else ctx.t("behaviour.no")
        )
        bar = px.bar(
            reasons,
            x="name",
            y="n",
            color="controllable",
            title=ctx.t("behaviour.chart_reasons"),
            labels={
                "name": ctx.t("behaviour.col_reason"),
                "n": ctx.t("behaviour.col_customers"),
                "controllable": ctx.t("behaviour.col_controllable"),
            },
        )
        blocks.append(Figure(bar, height=380))
    if _present(ctx, churn.CALIBRATION_MART):
        c = to_frame(churn.churn_calibration(ctx.con))
        if not c.empty:
            blocks.append(Figure(_calibration_figure(ctx, c), height=380))
            blocks.append(Figure(_lift_figure(ctx, to_frame(churn.lift_by_decile(ctx.con))), 340))
    return blocks


def _lift_figure(ctx: ReportContext, lift: pd.DataFrame) -> go.Figure:
    """Lift per tenth of the held-out month's customers, the most at risk first."""
    figure = px.bar(
        lift,
        x="decile",
        y="lift",
        title=ctx.t("behaviour.chart_lift"),
        labels={"decile": ctx.t("behaviour.col_decile"), "lift": ctx.t("behaviour.col_lift_x")},
    )
    figure.add_hline(y=1, line_dash="dot", line_color="grey")
    figure.update_xaxes(dtick=1)
    return figure


def _retention(ctx: ReportContext) -> list[Block]:
    """Kaplan–Meier retention of the latest join-year cohorts by month of tenure."""
    if not _present(ctx, churn.CURVES_MART):
        return []
    curves = to_frame(churn.retention_curves(ctx.con))
    if curves.empty:
        return []
    latest = sorted(curves.cohort.unique())[-COHORTS_SHOWN:]
    curves = curves[curves.cohort.isin(latest)]
    figure = px.line(
        curves,
        x="period",
        y="survival",
        color="cohort",
        title=ctx.t("behaviour.chart_cohorts", n=len(latest)),
        labels={
            "period": ctx.t("behaviour.col_tenure"),
            "survival": ctx.t("behaviour.col_survival"),
            "cohort": ctx.t("behaviour.col_cohort"),
        },
    )
    figure.update_yaxes(tickformat=".0%")
    return [Figure(figure, height=400)]


def _stage_flows(ctx: ReportContext) -> list[Block]:
    """How customers moved between lifecycle stages into the latest month."""
    if not _present(ctx, segments.TRANSITIONS_MART):
        return []
    flows = to_frame(segments.lifecycle_transitions_latest(ctx.con))
    if flows.empty:
        return []
    settings = segments.lifecycle_settings_from_config(ctx.config)
    names = {s: getattr(settings.stages[s], f"name_{ctx.lang}") for s in segments.STAGES}
    matrix = flows.pivot_table(
        index="from_stage", columns="to_stage", values="share", fill_value=0.0
    )
    order = [s for s in segments.STAGES if s in matrix.index or s in matrix.columns]
    matrix = matrix.reindex(index=order, columns=order, fill_value=0.0)
    matrix.index = [names[s] for s in matrix.index]
    matrix.columns = [names[s] for s in matrix.columns]
    figure = px.imshow(
        matrix,
        text_auto=".0%",
        color_continuous_scale="Greens",
        title=ctx.t("behaviour.chart_flows"),
        labels={
            "x": ctx.t("behaviour.col_to_stage"),
            "y": ctx.t("behaviour.col_from_stage"),
            "color": ctx.t("behaviour.col_share"),
        },
    )
    return [Figure(figure, height=440)]


def _risk_figure(ctx: ReportContext, risk: pd.DataFrame) -> go.Figure:
    """The histogram of churn probability, from the warehouse's counts per band."""
    figure = go.Figure(
        go.Bar(
            x=(risk.bin_start + risk.bin_end) / 2,
            y=risk.n,
            width=(risk.bin_end - risk.bin_start),
        )
    )
    figure.update_layout(
        title=ctx.t("behaviour.chart_risk"),
        xaxis_title=ctx.t("behaviour.col_risk"),
        yaxis_title=ctx.t("behaviour.col_customers"),
        bargap=0,
    )
    return figure


def _calibration_figure(ctx: ReportContext, c: pd.DataFrame) -> go.Figure:
    line = px.line(
        c,
        x="mean_predicted",
        y="observed_rate",
        markers=True,
        title=ctx.t("behaviour.chart_calibration"),
        labels={
            "mean_predicted": ctx.t("behaviour.col_predicted"),
            "observed_rate": ctx.t("behaviour.col_observed"),
        },
    )
    top = float(max(c.mean_predicted.max(), c.observed_rate.max()))
    line.add_shape(type="line", x0=0, y0=0, x1=top, y1=top, line={"dash": "dot", "color": "grey"})
    return line


def _value(ctx: ReportContext, names: dict) -> list[Block]:
    blocks: list[Block] = []
    if _present(ctx, churn.SEGMENT_VALUE_MART):
        v = to_frame(churn.segment_value_rows(ctx.con))
        if not v.empty:
            v["segment_name"] = _segment_names(names, v.segment, v.segment_name)
            blocks.append(Markdown(ctx.t("behaviour.value_intro")))
            blocks.append(
                Table(
                    v[
                        [
                            "segment_name",
                            "n_customers",
                            "alpha",
                            "beta",
                            "expected_months",
                            "mean_arpu_yuan",
                            "lifetime_value_yuan",
                        ]
                    ],
                    column_labels={
                        "segment_name": ctx.t("behaviour.col_segment"),
                        "n_customers": ctx.t("behaviour.col_customers"),
                        "expected_months": ctx.t("behaviour.col_months"),
                        "mean_arpu_yuan": ctx.t("behaviour.col_arpu"),
                        "lifetime_value_yuan": ctx.t("behaviour.col_value"),
                    },
                    formats={
                        "n_customers": ctx.number,
                        **{
                            c: (lambda x: ctx.number(x, 2))
                            for c in ("alpha", "beta", "expected_months")
                        },
                        "mean_arpu_yuan": lambda x: ctx.number(x, 1),
                        "lifetime_value_yuan": ctx.number,
                    },
                )
            )
    if _present(ctx, churn.WORK_ORDERS_MART):
        settings = churn.churn_settings_from_config(ctx.config)
        o = to_frame(churn.retention_work_orders(ctx.con, settings, lang=ctx.lang))
        if not o.empty:
            o["segment_name"] = _segment_names(names, o.segment, o.segment_name)
            blocks += _work_orders(ctx, o)
    return blocks


def _segment_names(names: dict, ids: pd.Series, fallback: pd.Series) -> list[str]:
    """Each segment's name in the report's language (the marts carry the kind's id)."""
    return [names.get(i, f) for i, f in zip(ids, fallback, strict=True)]


def _work_orders(ctx: ReportContext, o: pd.DataFrame) -> list[Block]:
    """The retention work orders within the budget: how many, the loss at stake, the top 15."""
    return [
        Markdown(
            ctx.t(
                "behaviour.orders_intro",
                n=ctx.number(len(o)),
                loss=ctx.number(float(o.expected_loss_yuan.sum())),
                cost=ctx.number(float(o.cumulative_cost_yuan.max())),
            )
        ),
        Table(
            o.head(15)[
                [
                    "rank",
                    "customer_id",
                    "segment_name",
                    "churn_probability",
                    "expected_loss_yuan",
                    "reason",
                    "hint",
                ]
            ],
            column_labels={
                "rank": "#",
                "customer_id": ctx.t("behaviour.col_customer"),
                "segment_name": ctx.t("behaviour.col_segment"),
                "churn_probability": ctx.t("behaviour.col_risk"),
                "expected_loss_yuan": ctx.t("behaviour.col_loss"),
                "reason": ctx.t("behaviour.col_reason"),
                "hint": ctx.t("behaviour.col_hint"),
            },
            formats={"churn_probability": ctx.percent, "expected_loss_yuan": ctx.number},
        ),
    ]


def build(ctx: ReportContext) -> list[Block]:
    # One read of the profiles: their table, and the names the value and orders tables show.
    profiles = to_frame(segments.segment_profiles(ctx.con, ctx.lang))
    names = dict(zip(profiles.segment, profiles.name, strict=True))
    return [
        *_segments(ctx, profiles, names),
        *_lifecycle(ctx),
        *_stage_flows(ctx),
        *_churn(ctx),
        *_retention(ctx),
        *_value(ctx, names),
    ]


SECTION = Section(id="behaviour", order=65, build=build, requires=(segments.PROFILES_MART,))
