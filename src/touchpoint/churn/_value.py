"""Lifetime value per segment (sBG on each segment's cohort) and the retention work orders.

Pipeline step ``retention_value``: ``mart_retention_segment_value`` (one row per segment) and
``mart_retention_work_orders`` (customers with a controllable reason, ranked by expected
loss = churn probability x ARPU x expected remaining months, the budget's cut marked).
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa

from touchpoint.churn._build import SCORES_MART, as_table
from touchpoint.churn._sbg import RetentionInputError, ShiftedBetaGeometric
from touchpoint.churn._settings import ChurnSettings, churn_settings_from_config
from touchpoint.config import Config
from touchpoint.query import require_table

SEGMENT_VALUE_MART = "mart_retention_segment_value"
WORK_ORDERS_MART = "mart_retention_work_orders"
#: The segments mart of touchpoint.segments, read by name (no import between capabilities).
SEGMENTS_MART = "mart_customer_segments"
VALUE_INPUTS = (("mart_customer_360", SEGMENTS_MART, SCORES_MART), ())
VALUE_OUTPUTS = (SEGMENT_VALUE_MART, WORK_ORDERS_MART)

SEGMENT_VALUE_SCHEMA = {
    "segment": "int64",
    "segment_name": "string",
    "n_customers": "int64",
    "n_periods": "int64",
    "alpha": "float64",
    "beta": "float64",
    "expected_months": "float64",
    "mean_arpu_yuan": "float64",
    "lifetime_value_yuan": "float64",
    "note": "string",
}
WORK_ORDERS_SCHEMA = {
    "rank": "int64",
    "customer_id": "string",
    "month": "date",
    "segment": "int64",
    "segment_name": "string",
    "churn_probability": "float64",
    "arpu_yuan": "float64",
    "expected_months": "float64",
    "lifetime_value_yuan": "float64",
    "expected_loss_yuan": "float64",
    "action_reason": "string",
    "hint_en": "string",
    "hint_zh": "string",
    "reason_1": "string",
    "reason_2": "string",
    "reason_3": "string",
    "cumulative_cost_yuan": "float64",
    "within_budget": "boolean",
}


def segment_cohort_counts(c360: ibis.Table, members: ibis.Table) -> ibis.Table:
    """Per segment of the first month and month of leaving (null: still in): customers
    (pure Ibis). A segment's customers of the first month are its cohort."""
    first = c360.month.min()
    start = members.filter(members.month == first).select("customer_id", "segment", "segment_name")
    leave = c360.group_by("customer_id").agg(leave_date=c360.leave_date.max())
    t = start.join(leave, "customer_id")
    return t.group_by(
        segment=t.segment, segment_name=t.segment_name, leave_month=t.leave_date.truncate("M")
    ).agg(n=t.customer_id.count())


def cohort_active(counts: pd.DataFrame, months: list) -> dict[int, list[float]]:
    """Customers still in at period 0 (the first month's start) and at the end of each month,
    per segment, from :func:`segment_cohort_counts` rows and the data's months."""
    out = {}
    months = [pd.Timestamp(m) for m in sorted(months)]
    for segment, rows in counts.groupby("segment"):
        total = float(rows.n.sum())
        leave = pd.to_datetime(rows.leave_month)
        active = [total]
        for m in months:
            active.append(total - float(rows.n[leave.notna() & (leave <= m)].sum()))
        out[int(segment)] = active
    return out


def segment_value(
    counts: pd.DataFrame, months: list, arpu: pd.DataFrame, settings: ChurnSettings
) -> pd.DataFrame:
    """One row per segment: the sBG fitted to its cohort, the expected further months of a
    customer still in now (discounted, over the horizon), its mean ARPU and their product."""
    w = settings.work_orders
    names = counts.drop_duplicates("segment").set_index("segment").segment_name
    mean_arpu = arpu.groupby("segment").arpu_yuan.mean()
    rows = []
    for segment, active in cohort_active(counts, months).items():
        row = {
            "segment": segment,
            "segment_name": names.get(segment),
            "n_customers": int(active[0]),
            "n_periods": len(active) - 1,
            "mean_arpu_yuan": float(mean_arpu.get(segment, np.nan)),
            "note": "",
        }
        try:
            model = ShiftedBetaGeometric().fit(active)
        except RetentionInputError as exc:
            row["note"] = str(exc)
        else:
            months_left = model.expected_remaining_lifetime(
                len(active) - 1, discount=w.monthly_discount, horizon=w.horizon_months
            )
            row |= {
                "alpha": model.alpha_,
                "beta": model.beta_,
                "expected_months": months_left,
                "lifetime_value_yuan": months_left * row["mean_arpu_yuan"],
            }
        rows.append(row)
    # Every column, even when no segment could be fitted (a world of one month).
    return pd.DataFrame(rows, columns=list(SEGMENT_VALUE_SCHEMA))


def _action_reasons(settings: ChurnSettings) -> list[str]:
    """The reasons a work order may act on: the controllable ones (every one without
    ``only_controllable``)."""
    only = settings.work_orders.only_controllable
    return [r for r, reason in settings.reasons.items() if reason.controllable or not only]


def work_order_table(
    scores: ibis.Table,
    arpu: ibis.Table,
    value: ibis.Table,
    settings: ChurnSettings,
    budget_yuan: float | None = None,
) -> ibis.Table:
    """Customers of the scored month ranked by expected loss = churn probability x ARPU x the
    expected further months of their segment (pure Ibis; columns of ``mart_retention_work_orders``).

    ``scores``: ``mart_churn_scores``; ``arpu``: ``customer_id, segment, arpu_yuan``; ``value``:
    at least ``segment, segment_name, expected_months`` (one row per segment). With
    ``only_controllable``, only customers with a controllable reason among their top reasons
    (the first of them is the reason to act on, with its hint); a customer without ARPU counts
    0 yuan, one whose segment has no fit the coming month alone. ``within_budget`` marks the
    first ``budget / cost`` orders.
    """
    w = settings.work_orders
    budget = w.budget_yuan if budget_yuan is None else budget_yuan
    reasons = {
        c: scores[c].cast("string") if c in scores.columns else ibis.null("string")
        for c in _REASONS
    }
    allowed = _action_reasons(settings)
    action = ibis.null("string")
    if allowed:
        for c in reversed([c for c in _REASONS if c in scores.columns]):
            action = ibis.ifelse(reasons[c].isin(allowed), reasons[c], action)
    s = scores.select("customer_id", "month", "churn_probability", **reasons, action_reason=action)
    s = s.filter(s.action_reason.notnull())
    a = arpu.select(a_customer_id="customer_id", segment="segment", arpu_yuan="arpu_yuan")
    v = value.select(v_segment="segment", segment_name="segment_name", v_months="expected_months")
    t = s.left_join(a, s.customer_id == a.a_customer_id)
    t = t.left_join(v, t.segment == v.v_segment)
    arpu_yuan = t.arpu_yuan.fill_null(0.0)
    months = t.v_months.fill_null(1.0)  # no fit: the coming month alone
    lifetime = arpu_yuan * months
    t = t.select(
        "customer_id",
        "month",
        "segment",
        "segment_name",
        "churn_probability",
        *_REASONS,
        "action_reason",
        arpu_yuan=arpu_yuan,
        expected_months=months,
        lifetime_value_yuan=lifetime,
        expected_loss_yuan=t.churn_probability * lifetime,
    )
    rank = ibis.row_number().over(order_by=[ibis.desc(t.expected_loss_yuan), t.customer_id]) + 1
    t = t.mutate(rank=rank.cast("int64"))
    cost = t["rank"].cast("float64") * ibis.literal(float(w.cost_per_order_yuan), "float64")
    hints = {}
    for lang in ("en", "zh"):
        cases = [
            (t.action_reason == r, ibis.literal(getattr(settings.reasons[r], f"hint_{lang}")))
            for r in allowed
        ]
        hints[f"hint_{lang}"] = ibis.cases(*cases) if cases else ibis.null("string")
    t = t.mutate(
        cumulative_cost_yuan=cost,
        within_budget=cost <= ibis.literal(budget + 1e-9, "float64"),
        **hints,
    )
    return t.select(*(t[c].cast(kind).name(c) for c, kind in WORK_ORDERS_SCHEMA.items()))


_REASONS = ("reason_1", "reason_2", "reason_3")


def work_orders(
    scores: pd.DataFrame,
    arpu: pd.DataFrame,
    value: pd.DataFrame,
    settings: ChurnSettings,
    budget_yuan: float | None = None,
) -> pd.DataFrame:
    """:func:`work_order_table` on data frames, ordered by rank."""
    orders = work_order_table(
        ibis.memtable(scores),
        ibis.memtable(arpu),
        ibis.memtable(value[["segment", "segment_name", "expected_months"]]),
        settings,
        budget_yuan,
    )
    return orders.order_by("rank").to_pandas()


def value_tables(
    c360: ibis.Table, members: ibis.Table, scores: ibis.Table, settings: ChurnSettings
) -> dict[str, ibis.Table]:
    """The two marts of step ``retention_value`` (see the module docstring).

    The cohorts' counts and the mean ARPU per segment are read (a few rows per segment) for
    the sBG fits; the work orders stay one query over the scores."""
    counts = segment_cohort_counts(c360, members).to_pandas()
    months = c360.select("month").distinct().to_pandas().month.tolist()
    latest_month = members.month.max()
    latest = members.filter(members.month == latest_month).select("customer_id", "segment")
    last360 = c360.filter(c360.month == c360.month.max()).select(
        "customer_id", arpu_yuan=c360.arpu_3m_avg_yuan.fill_null(c360.arpu_yuan)
    )
    arpu = latest.join(last360, "customer_id")
    if counts.empty:
        return {
            SEGMENT_VALUE_MART: as_table(pd.DataFrame(), SEGMENT_VALUE_SCHEMA),
            WORK_ORDERS_MART: as_table(pd.DataFrame(), WORK_ORDERS_SCHEMA),
        }
    mean_arpu = arpu.group_by("segment").agg(arpu_yuan=arpu.arpu_yuan.mean()).to_pandas()
    value = as_table(segment_value(counts, months, mean_arpu, settings), SEGMENT_VALUE_SCHEMA)
    return {
        SEGMENT_VALUE_MART: value,
        WORK_ORDERS_MART: work_order_table(scores, arpu, value, settings),
    }


def build_value(tables: dict[str, ibis.Table], config: Config) -> dict[str, ibis.Table]:
    """Step ``retention_value``: lifetime value per segment and the work-order list."""
    settings = churn_settings_from_config(config)
    return value_tables(
        tables["mart_customer_360"], tables[SEGMENTS_MART], tables[SCORES_MART], settings
    )


def retention_work_orders(
    con: ibis.BaseBackend,
    settings: ChurnSettings,
    budget_yuan: float | None = None,
    lang: str = "en",
) -> pa.Table:
    """The work orders within the budget (default: the configured one), with the reason to
    act on and its hint in ``lang``: the list a retention campaign takes."""
    t = require_table(con, WORK_ORDERS_MART)
    budget = settings.work_orders.budget_yuan if budget_yuan is None else budget_yuan
    reasons = settings.reasons
    rows = t.filter(t.cumulative_cost_yuan <= budget + 1e-9).order_by("rank").to_pandas()
    rows["reason"] = rows.action_reason.map(
        lambda r: getattr(reasons[r], f"name_{lang}") if r in reasons else r
    )
    rows["hint"] = rows[f"hint_{lang}"]
    rows["month"] = pd.to_datetime(rows["month"]).dt.date
    columns = [
        "rank",
        "customer_id",
        "month",
        "segment",
        "segment_name",
        "churn_probability",
        "arpu_yuan",
        "expected_months",
        "lifetime_value_yuan",
        "expected_loss_yuan",
        "action_reason",
        "reason",
        "hint",
        "cumulative_cost_yuan",
    ]
    return pa.Table.from_pandas(rows[columns], preserve_index=False)
