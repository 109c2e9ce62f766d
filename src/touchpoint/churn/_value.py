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


def work_orders(
    scores: pd.DataFrame,
    arpu: pd.DataFrame,
    value: pd.DataFrame,
    settings: ChurnSettings,
    budget_yuan: float | None = None,
) -> pd.DataFrame:
    """Customers of the scored month ranked by expected loss = churn probability x ARPU x the
    expected further months of their segment; with ``only_controllable``, only customers
    with a controllable reason among their top reasons (the first of them is the reason to
    act on, with its hint). ``within_budget`` marks the first ``budget / cost`` orders."""
    w = settings.work_orders
    budget = w.budget_yuan if budget_yuan is None else budget_yuan
    reason_cols = [c for c in ("reason_1", "reason_2", "reason_3") if c in scores.columns]
    t = scores.merge(arpu, on="customer_id", how="left").merge(
        value[["segment", "segment_name", "expected_months"]], on="segment", how="left"
    )

    def action(row) -> str | None:
        for c in reason_cols:
            r = row[c]
            if (
                isinstance(r, str)
                and r in settings.reasons
                and (settings.reasons[r].controllable or not w.only_controllable)
            ):
                return r
        return None

    t["action_reason"] = t.apply(action, axis=1) if len(t) else pd.Series(dtype=object)
    t = t[t.action_reason.notna()].copy()
    t["arpu_yuan"] = t.arpu_yuan.fillna(0.0)
    t["expected_months"] = t.expected_months.fillna(1.0)  # no fit: the coming month alone
    t["lifetime_value_yuan"] = t.arpu_yuan * t.expected_months
    t["expected_loss_yuan"] = t.churn_probability * t.lifetime_value_yuan
    t = t.sort_values(["expected_loss_yuan", "customer_id"], ascending=[False, True])
    t["rank"] = np.arange(1, len(t) + 1)
    t["cumulative_cost_yuan"] = t["rank"] * w.cost_per_order_yuan
    t["within_budget"] = t.cumulative_cost_yuan <= budget + 1e-9
    t["hint_en"] = t.action_reason.map(lambda r: settings.reasons[r].hint_en)
    t["hint_zh"] = t.action_reason.map(lambda r: settings.reasons[r].hint_zh)
    return t.reset_index(drop=True)


def value_tables(
    c360: ibis.Table, members: ibis.Table, scores: ibis.Table, settings: ChurnSettings
) -> dict[str, ibis.Table]:
    """The two marts of step ``retention_value`` (see the module docstring)."""
    counts = segment_cohort_counts(c360, members).to_pandas()
    months = c360.select("month").distinct().to_pandas().month.tolist()
    latest_month = members.month.max()
    latest = members.filter(members.month == latest_month).select("customer_id", "segment")
    last360 = c360.filter(c360.month == c360.month.max()).select(
        "customer_id", arpu_yuan=c360.arpu_3m_avg_yuan.fill_null(c360.arpu_yuan)
    )
    arpu = latest.join(last360, "customer_id").to_pandas()
    if counts.empty:
        return {
            SEGMENT_VALUE_MART: as_table(pd.DataFrame(), SEGMENT_VALUE_SCHEMA),
            WORK_ORDERS_MART: as_table(pd.DataFrame(), WORK_ORDERS_SCHEMA),
        }
    value = segment_value(counts, months, arpu, settings)
    orders = work_orders(scores.to_pandas(), arpu, value, settings)
    if not orders.empty:
        orders["month"] = pd.to_datetime(orders["month"]).dt.date
    return {
        SEGMENT_VALUE_MART: as_table(value, SEGMENT_VALUE_SCHEMA),
        WORK_ORDERS_MART: as_table(orders, WORK_ORDERS_SCHEMA),
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
