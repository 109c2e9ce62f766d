"""Lifecycle stages per customer-month (pure Ibis) and the transitions between months."""

from __future__ import annotations

import ibis
import pandas as pd

from touchpoint.config import Config
from touchpoint.segments._settings import LifecycleSettings, lifecycle_settings_from_config

LIFECYCLE_MART = "mart_customer_lifecycle"
TRANSITIONS_MART = "mart_lifecycle_transitions"
LIFECYCLE_INPUTS = (("mart_customer_360",), ("mart_churn_scores",))
LIFECYCLE_OUTPUTS = (LIFECYCLE_MART, TRANSITIONS_MART)


def lifecycle_stages(
    c360: ibis.Table, settings: LifecycleSettings, scores: ibis.Table | None = None
) -> ibis.Table:
    """One stage per row of the customer 360; the first rule that holds decides:

    1. ``churned``: the customer left in the month (``has_left_in_month``);
    2. ``new``: ``tenure_months < new_months``;
    3. ``at_risk``: the churn model's probability for the month >= ``at_risk_probability``
       (months it scored), or ``n_complaints_3m >= at_risk_complaints_3m``, or
       ``arrears_yuan > at_risk_arrears_yuan``;
    4. ``declining``: ``arpu_trend_3m <= -decline_share x arpu_3m_avg_yuan``;
    5. ``growing``: ``arpu_trend_3m >= growth_share x arpu_3m_avg_yuan``, or
       ``tenure_months < mature_months``;
    6. ``mature``: everyone else.

    Columns: ``customer_id``, ``month``, ``stage``, ``tenure_months``, ``arpu_change_share``
    (the ARPU trend over the 3-month mean, null without it), ``churn_probability``.
    """
    t = c360
    if scores is not None:
        s = scores.select(
            _sid=scores.customer_id,
            _smonth=scores.month,
            churn_probability=scores.churn_probability,
        )
        t = t.left_join(s, [t.customer_id == s._sid, t.month == s._smonth]).drop("_sid", "_smonth")
    else:
        t = t.mutate(churn_probability=ibis.null("float64"))
    avg = t.arpu_3m_avg_yuan
    change = ibis.cases((avg > 0, t.arpu_trend_3m / avg), else_=ibis.null("float64"))
    t = t.mutate(arpu_change_share=change)
    at_risk = (
        (t.churn_probability.fill_null(0.0) >= settings.at_risk_probability)
        | (t.n_complaints_3m >= settings.at_risk_complaints_3m)
        | (t.arrears_yuan.fill_null(0.0) > settings.at_risk_arrears_yuan)
    )
    stage = ibis.cases(
        (t.has_left_in_month, "churned"),
        (t.tenure_months < settings.new_months, "new"),
        (at_risk, "at_risk"),
        (t.arpu_change_share.fill_null(0.0) <= -settings.decline_share, "declining"),
        (
            (t.arpu_change_share.fill_null(0.0) >= settings.growth_share)
            | (t.tenure_months < settings.mature_months),
            "growing",
        ),
        else_="mature",
    )
    return t.select(
        "customer_id",
        "month",
        stage=stage,
        tenure_months=t.tenure_months,
        arpu_change_share=t.arpu_change_share,
        churn_probability=t.churn_probability,
    )


def lifecycle_transitions(stages: ibis.Table) -> ibis.Table:
    """One row per month, stage there and stage the next month the customer has a row, with
    the number of customers and their share of the stage (pure Ibis)."""
    w = ibis.window(group_by="customer_id", order_by="month")
    t = stages.mutate(to_month=stages.month.lead().over(w), to_stage=stages.stage.lead().over(w))
    t = t.filter(t.to_month.notnull())
    counts = t.group_by(
        from_month=t.month, to_month=t.to_month, from_stage=t.stage, to_stage=t.to_stage
    ).agg(n_customers=ibis._.count())
    total = counts.n_customers.sum().over(ibis.window(group_by=["from_month", "from_stage"]))
    return counts.mutate(share=counts.n_customers.cast("float64") / total).order_by(
        ["from_month", "from_stage", "to_stage"]
    )


def build_lifecycle(tables: dict[str, ibis.Table], config: Config) -> dict[str, ibis.Table]:
    """Step ``lifecycle``: ``mart_customer_lifecycle`` and ``mart_lifecycle_transitions``."""
    settings = lifecycle_settings_from_config(config)
    stages = lifecycle_stages(
        tables["mart_customer_360"], settings, tables.get("mart_churn_scores")
    )
    return {LIFECYCLE_MART: stages, TRANSITIONS_MART: lifecycle_transitions(stages)}


def stage_counts(stages: pd.DataFrame) -> pd.DataFrame:
    """Customers per month and stage (a frame of :func:`lifecycle_stages` rows)."""
    return stages.groupby(["month", "stage"]).size().unstack(fill_value=0)
