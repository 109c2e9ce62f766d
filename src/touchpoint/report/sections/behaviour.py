"""Section "Customer behaviour": segments, lifecycle stages, churn risk and reasons, value."""

from __future__ import annotations

import pandas as pd
import plotly.express as px

from touchpoint import churn, segments
from touchpoint.report.blocks import Block, Figure, Markdown, Table
from touchpoint.report.context import ReportContext, Section, as_frame


def _segments(ctx: ReportContext) -> list[Block]:
    profiles = ctx.table(segments.PROFILES_MART).pipe(as_frame).sort_values("segment")
    if profiles.empty:
        return [Markdown(ctx.t("behaviour.no_segments"))]
    lang = ctx.lang
    frame = profiles.assign(
        name=profiles[f"name_{lang}"], description=profiles[f"description_{lang}"]
    )
    blocks: list[Block] = [
        Markdown(ctx.t("behaviour.segments_intro", k=len(profiles))),
        Table(
            frame[
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
    migration = ctx.table(segments.MIGRATION_MART)
    if migration is not None:
        m = migration.pipe(as_frame)
        if not m.empty:
            last = m[m.to_month == m.to_month.max()]
            names = dict(zip(frame.segment, frame.name, strict=True))
            matrix = last.pivot_table(
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
            blocks.append(Figure(figure, height=460))
    stability = ctx.table(segments.STABILITY_MART)
    if stability is not None:
        s = stability.pipe(as_frame)
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


def _lifecycle(ctx: ReportContext) -> list[Block]:
    stages = ctx.table(segments.LIFECYCLE_MART)
    if stages is None:
        return []
    counts = stages.group_by(["month", "stage"]).agg(n=stages.count()).pipe(as_frame)
    if counts.empty:
        return []
    settings = segments.lifecycle_settings_from_config(ctx.config)
    names = {s: getattr(settings.stages[s], f"name_{ctx.lang}") for s in segments.STAGES}
    counts["stage_name"] = counts.stage.map(names)
    figure = px.bar(
        counts.sort_values("month"),
        x="month",
        y="n",
        color="stage_name",
        category_orders={"stage_name": [names[s] for s in segments.STAGES]},
        title=ctx.t("behaviour.chart_stages"),
        labels={
            "month": ctx.t("behaviour.col_month"),
            "n": ctx.t("behaviour.col_customers"),
            "stage_name": ctx.t("behaviour.col_stage"),
        },
    )
    figure.update_xaxes(tickformat="%Y-%m", dtick="M1")
    last = counts[counts.month == counts.month.max()].set_index("stage")
    table = pd.DataFrame(
        {
            "stage": [names[s] for s in segments.STAGES],
            "n": [int(last.n.get(s, 0)) for s in segments.STAGES],
            "action": [getattr(settings.stages[s], f"action_{ctx.lang}") for s in segments.STAGES],
        }
    )
    return [
        Markdown(ctx.t("behaviour.lifecycle_intro")),
        Figure(figure, height=420),
        Table(
            table,
            column_labels={
                "stage": ctx.t("behaviour.col_stage"),
                "n": ctx.t("behaviour.col_customers"),
                "action": ctx.t("behaviour.col_action"),
            },
            formats={"n": ctx.number},
        ),
    ]


def _churn(ctx: ReportContext) -> list[Block]:
    scores = ctx.table(churn.SCORES_MART)
    evaluation = ctx.table(churn.EVALUATION_MART)
    blocks: list[Block] = []
    if evaluation is not None:
        e = evaluation.pipe(as_frame)
        e = e[e.roc_auc.notna()] if "roc_auc" in e else e.iloc[0:0]
        if not e.empty:
            blocks.append(
                Table(
                    e[
                        [
                            "model",
                            "test_month",
                            "n",
                            "n_churners",
                            "roc_auc",
                            "pr_auc",
                            "top_decile_lift",
                            "calibration_error",
                        ]
                    ],
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
    if scores is None:
        return blocks
    s = scores.pipe(as_frame)
    if s.empty:
        return blocks
    settings = churn.churn_settings_from_config(ctx.config)
    figure = px.histogram(
        s,
        x="churn_probability",
        nbins=40,
        title=ctx.t("behaviour.chart_risk"),
        labels={"churn_probability": ctx.t("behaviour.col_risk")},
    )
    reasons = s.reason_1.dropna()
    reasons = reasons[reasons.isin(list(settings.reasons))]
    blocks.append(Figure(figure, height=380))
    if len(reasons):
        counts = reasons.value_counts().rename_axis("reason").reset_index(name="n")
        counts["name"] = counts.reason.map(
            lambda r: getattr(settings.reasons[r], f"name_{ctx.lang}")
        )
        counts["controllable"] = counts.reason.map(
            lambda r: (
                ctx.t("behaviour.yes")
                if settings.reasons[r].controllable
                else ctx.t("behaviour.no")
            )
        )
        bar = px.bar(
            counts,
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
    calibration = ctx.table(churn.CALIBRATION_MART)
    if calibration is not None:
        c = calibration.pipe(as_frame)
        if not c.empty:
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
            line.add_shape(
                type="line", x0=0, y0=0, x1=top, y1=top, line={"dash": "dot", "color": "grey"}
            )
            blocks.append(Figure(line, height=380))
    return blocks


def _value(ctx: ReportContext) -> list[Block]:
    blocks: list[Block] = []
    value = ctx.table(churn.SEGMENT_VALUE_MART)
    if value is not None:
        v = value.pipe(as_frame).sort_values("segment")
        if not v.empty:
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
    orders = ctx.table(churn.WORK_ORDERS_MART)
    if orders is not None:
        o = orders.filter(orders.within_budget).order_by("rank").pipe(as_frame)
        if not o.empty:
            settings = churn.churn_settings_from_config(ctx.config)
            o["reason"] = o.action_reason.map(
                lambda r: getattr(settings.reasons[r], f"name_{ctx.lang}")
            )
            o["hint"] = o[f"hint_{ctx.lang}"]
            blocks.append(
                Markdown(
                    ctx.t(
                        "behaviour.orders_intro",
                        n=ctx.number(len(o)),
                        loss=ctx.number(float(o.expected_loss_yuan.sum())),
                        cost=ctx.number(float(o.cumulative_cost_yuan.max())),
                    )
                )
            )
            blocks.append(
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
                )
            )
    return blocks


def build(ctx: ReportContext) -> list[Block]:
    return [*_segments(ctx), *_lifecycle(ctx), *_churn(ctx), *_value(ctx)]


SECTION = Section(id="behaviour", order=65, build=build, requires=(segments.PROFILES_MART,))
