"""Section "Customer tags": coverage over time, validation lifts, staff ratings and comments,
drawn from the tags' query functions (the rows `touchpoint tags list|show` read)."""

from __future__ import annotations

import pandas as pd
import plotly.express as px

from touchpoint import customers, tags
from touchpoint.report.blocks import Block, Figure, Kpis, Markdown, Table
from touchpoint.report.context import ReportContext, Section


def _coverage(ctx: ReportContext, names: dict[str, str]) -> tuple[list[Block], int]:
    changes = pd.DataFrame(tags.coverage_rows(ctx.con))
    changes["month"] = pd.to_datetime(changes.month).astype("datetime64[s]")
    changes["tag"] = [names.get(t, t) for t in changes.tag_id]
    last_month = changes.month.max()
    figure = px.line(
        changes.sort_values(["tag", "month"]),
        x="month",
        y="n_members",
        color="tag",
        markers=True,
        title=ctx.t("tags.chart_coverage"),
        labels={
            "month": ctx.t("tags.col_month"),
            "n_members": ctx.t("tags.col_members"),
            "tag": ctx.t("tags.col_tag"),
        },
    )
    figure.update_xaxes(tickformat="%Y-%m", dtick="M1")
    warm_up = _shade_warm_up(ctx, figure, sorted(changes.month.unique()))
    last = changes[changes.month == last_month].sort_values("n_members", ascending=False)
    table = Table(
        last[["tag", "version", "n_members", "n_entered", "n_left"]],
        column_labels={
            "tag": ctx.t("tags.col_tag"),
            "version": ctx.t("tags.col_version"),
            "n_members": ctx.t("tags.col_members"),
            "n_entered": ctx.t("tags.col_entered"),
            "n_left": ctx.t("tags.col_left"),
        },
        formats={c: ctx.number for c in ("n_members", "n_entered", "n_left")},
    )
    blocks: list[Block] = [Figure(figure, height=460)]
    if warm_up:
        blocks.append(Markdown(ctx.t("tags.warm_up_note", months=warm_up)))
    return [*blocks, table], int(last.n_members.sum())


def _shade_warm_up(ctx: ReportContext, figure, months: list) -> int:
    """Shade the first months, whose trailing windows reach back before the data starts.

    Rules over 3-month counts and preference levels see less history there, so membership is
    low by construction, not by behaviour. Returns how many months are shaded.
    """
    # The 360's trailing counts span 3 months (``*_3m``); the levels span the configured window.
    window = max(3, customers.settings_from_config(ctx.config).preference_window_months)
    shaded = months[: min(window - 1, len(months) - 1)]
    if not shaded:
        return 0
    half_month = pd.Timedelta(days=15)
    figure.add_vrect(
        x0=pd.Timestamp(shaded[0]) - half_month,
        x1=pd.Timestamp(shaded[-1]) + half_month,
        fillcolor="grey",
        opacity=0.15,
        line_width=0,
        annotation_text=ctx.t("tags.warm_up"),
        annotation_position="top left",
    )
    return len(shaded)


def _validation(ctx: ReportContext, names: dict[str, str]) -> tuple[list[Block], int]:
    v = pd.DataFrame(tags.validation_rows(ctx.con))
    if v.empty:
        return [], 0
    v["tag"] = [names.get(t, t) for t in v.tag_id]
    v["outcome_label"] = [ctx.t(f"tags.outcome_{o}") for o in v.outcome]
    shown = v[v.lift.notna()].copy()
    blocks: list[Block] = []
    if not shown.empty:
        shown["plus"] = shown.lift_high - shown.lift
        shown["minus"] = shown.lift - shown.lift_low
        figure = px.scatter(
            shown,
            x="lift",
            y="tag",
            color="outcome_label",
            error_x="plus",
            error_x_minus="minus",
            log_x=True,
            title=ctx.t("tags.chart_lift"),
            labels={
                "lift": ctx.t("tags.col_lift"),
                "tag": ctx.t("tags.col_tag"),
                "outcome_label": ctx.t("tags.col_outcome"),
            },
        )
        figure.add_vline(x=1, line_dash="dash", line_color="grey")
        blocks.append(Figure(figure, height=max(360, 80 + 30 * shown.tag.nunique())))

    def verdict(value: object) -> str:
        if value is None or pd.isna(value):
            return ctx.t("tags.undecided")
        return ctx.t("tags.verdict_yes") if value else ctx.t("tags.verdict_no")

    v["interval"] = [
        "–" if pd.isna(lo) else f"{lo:.2f} – {hi:.2f}"
        for lo, hi in zip(v.lift_low, v.lift_high, strict=True)
    ]
    v["discriminates"] = [verdict(x) for x in v.is_discriminating]
    # A corrected lift (a zero count) is shown as the plain ratio of the two rates, marked,
    # beside the corrected interval.
    corrected = v.lift_corrected.astype(bool)
    v["lift_shown"] = [
        ctx.number(lift, 2) if not zero else ("∞" if pd.isna(r) else ctx.number(r, 2)) + " *"
        for lift, r, zero in zip(v.lift, v.lift_raw, corrected, strict=True)
    ]
    v.loc[v.lift.isna(), "lift_shown"] = "–"
    blocks.append(
        Table(
            v[
                [
                    "tag",
                    "outcome_label",
                    "n_members",
                    "member_rate",
                    "nonmember_rate",
                    "lift_shown",
                    "interval",
                    "discriminates",
                ]
            ],
            column_labels={
                "tag": ctx.t("tags.col_tag"),
                "outcome_label": ctx.t("tags.col_outcome"),
                "n_members": ctx.t("tags.col_n_members"),
                "member_rate": ctx.t("tags.col_member_rate"),
                "nonmember_rate": ctx.t("tags.col_nonmember_rate"),
                "lift_shown": ctx.t("tags.col_lift"),
                "interval": ctx.t("tags.col_interval"),
                "discriminates": ctx.t("tags.col_discriminates"),
            },
            formats={
                "n_members": ctx.number,
                "member_rate": lambda x: ctx.percent(x, 2),
                "nonmember_rate": lambda x: ctx.percent(x, 2),
            },
            max_rows=100,
        )
    )
    if corrected.any():
        blocks.append(Markdown(ctx.t("tags.corrected_note")))
    decided = v[v.is_discriminating.notna()]
    by_tag = decided.groupby("tag").is_discriminating.any()
    flagged = sorted(by_tag[~by_tag].index)
    blocks.append(
        Markdown(
            ctx.t("tags.flagged_note", tags=", ".join(flagged))
            if flagged
            else ctx.t("tags.none_flagged")
        )
    )
    churn = v[(v.outcome == "churn_next_month") & (v.is_discriminating.fillna(False).astype(bool))]
    return blocks, int(churn.tag_id.nunique())


def _wiki(ctx: ReportContext, names: dict[str, str]) -> tuple[list[Block], int, int]:
    ratings, comments = ctx.table(tags.RATINGS_TABLE), ctx.table(tags.COMMENTS_TABLE)
    rows = tags.wiki_summary(ratings, comments)
    if not rows:
        return [Markdown(ctx.t("tags.no_wiki"))], 0, 0
    summary = pd.DataFrame(rows)
    summary["tag"] = [names.get(t, t) for t in summary.tag_id]
    summary["rating"] = summary.rating.astype(float)
    summary["last_comment"] = [
        "" if text is None else f"{author}: {text}"
        for text, author in zip(summary.last_comment, summary.last_author, strict=True)
    ]
    table = Table(
        summary[["tag", "version", "rating", "n_ratings", "n_comments", "last_comment"]],
        column_labels={
            "tag": ctx.t("tags.col_tag"),
            "version": ctx.t("tags.col_version"),
            "rating": ctx.t("tags.col_rating"),
            "n_ratings": ctx.t("tags.col_n_ratings"),
            "n_comments": ctx.t("tags.col_n_comments"),
            "last_comment": ctx.t("tags.col_last_comment"),
        },
        formats={"rating": lambda x: "–" if pd.isna(x) else f"{x:.1f} ★"},
    )
    return [table], sum(r["n_ratings"] for r in rows), sum(r["n_comments"] for r in rows)


def build(ctx: ReportContext) -> list[Block]:
    names = tags.current_names(ctx.con, ctx.lang)
    validation = tags.validation_rows(ctx.con)
    confidence = validation[0]["confidence"] if validation else 0.95
    coverage, n_members = _coverage(ctx, names)
    lifts, n_churn = _validation(ctx, names)
    wiki, n_ratings, n_comments = _wiki(ctx, names)
    n_tags = len({row["tag_id"] for row in tags.coverage_rows(ctx.con)})
    return [
        Markdown(ctx.t("tags.intro", confidence=ctx.percent(confidence, 0))),
        Kpis(
            [
                (ctx.t("tags.kpi_tags"), ctx.number(n_tags)),
                (ctx.t("tags.kpi_members"), ctx.number(n_members)),
                (ctx.t("tags.kpi_discriminating_churn"), ctx.number(n_churn)),
                (ctx.t("tags.kpi_ratings"), ctx.number(n_ratings)),
                (ctx.t("tags.kpi_comments"), ctx.number(n_comments)),
            ]
        ),
        *coverage,
        *lifts,
        *wiki,
    ]


SECTION = Section(id="tags", order=60, build=build, requires=("mart_tag_changes",))
