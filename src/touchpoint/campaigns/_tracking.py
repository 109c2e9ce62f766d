"""Tracking a store-payment diversion month by month, in seed 002's own terms, for the
treated AND the holdout: the net effect (difference) with its interval beside the naive,
uncontrolled before/after figure on the treated. Pure Ibis.

Definitions (per customer and month ``m`` after the selection month ``b``):

- ``no_store_payment``: no payment in a store channel in ``m``;
- ``away_3m_running``: none in ``m``, ``m-1`` and ``m-2`` (all after ``b``; null before);
- ``away_since_start``: none in any month from ``b+1`` to ``m`` (the planted truth's
  ``paid_in_store`` outcome, negated, at the end of a leg);
- ``went_to_<channel>``: no store payment in ``m`` and at least one in that channel.

The naive figure is the treated's rate in ``m`` minus the same indicator in ``b`` (for the
cumulative ones, ``no_store_payment`` in ``b``): what seed 002 reported as "diversion".
"""

from __future__ import annotations

from statistics import NormalDist

import ibis
import ibis.expr.types as ir

METRICS = ("no_store_payment", "away_3m_running", "away_since_start")


def _month(ts: ir.TimestampValue) -> ir.DateValue:
    return ts.truncate("M").cast("date")


def monthly_payments(
    payments: ir.Table, store_channels: tuple[str, ...], destinations: tuple[str, ...]
) -> ir.Table:
    """One row per customer × month with a payment: ``n_store`` and ``n_<destination>``."""
    p = payments.mutate(month=_month(payments.paid_at))
    aggs = {"n_store": p.channel.isin(list(store_channels)).sum().cast("int64")}
    for ch in destinations:
        aggs[f"n_{ch}"] = (p.channel == ch).sum().cast("int64")
    return p.group_by("customer_id", "month").agg(**aggs)


def customer_months(
    assignment: ir.Table, monthly: ir.Table, baseline_month: ir.Value, destinations: tuple[str, ...]
) -> ir.Table:
    """One row per assigned customer × month from ``baseline_month`` (included) to the last
    month of ``monthly``, with every metric flag (``idx`` 0 is the baseline)."""
    months = monthly.filter(monthly.month >= baseline_month).select("month").distinct()
    grid = assignment.select("customer_id", "group").cross_join(months)
    t = grid.left_join(monthly, ["customer_id", "month"]).drop("customer_id_right", "month_right")
    fill = {c: t[c].fill_null(0) for c in ["n_store", *(f"n_{d}" for d in destinations)]}
    t = t.mutate(**fill)
    paid = (t.n_store > 0).cast("int64")
    by_customer = ibis.window(group_by="customer_id", order_by="month")
    since = ibis.window(group_by="customer_id", order_by="month", preceding=None, following=0)
    last3 = ibis.window(group_by="customer_id", order_by="month", preceding=2, following=0)
    t = t.mutate(
        idx=ibis.row_number().over(by_customer),
        _paid=paid,
    )
    t = t.mutate(
        _since=ibis.ifelse(t.idx == 0, 0, t._paid).sum().over(since),
        _last3=t._paid.sum().over(last3),
    )
    flags = {
        "no_store_payment": t.n_store == 0,
        "away_3m_running": ibis.ifelse(t.idx >= 3, t._last3 == 0, ibis.null("boolean")),
        "away_since_start": ibis.ifelse(t.idx >= 1, t._since == 0, t.n_store == 0),
    }
    for d in destinations:
        flags[f"went_to_{d}"] = (t.n_store == 0) & (t[f"n_{d}"] > 0)
    return t.select("customer_id", "group", "month", "idx", **flags)


def track(
    assignment: ir.Table,
    payments: ir.Table,
    baseline_month: ir.Value,
    *,
    store_channels: tuple[str, ...] = ("store", "partner_store"),
    destinations: tuple[str, ...] = ("kiosk", "web", "app", "mobile_pay"),
    confidence: float = 0.95,
) -> ir.Table:
    """One row per month after ``baseline_month`` × metric: treated and holdout rates, the net
    effect (treated - holdout) with its Wald interval, and the naive before/after figure.

    ``assignment`` has ``customer_id`` and ``group`` (``treatment`` / ``holdout``).
    """
    cm = customer_months(
        assignment,
        monthly_payments(payments, store_channels, destinations),
        baseline_month,
        destinations,
    )
    names = [*METRICS, *(f"went_to_{d}" for d in destinations)]
    long = ibis.union(
        *(
            cm.select(
                "group",
                "month",
                "idx",
                metric=ibis.literal(n),
                value=cm[n].cast("float64"),
                base=cm["no_store_payment" if n in METRICS else n].cast("float64"),
            )
            for n in names
        )
    )
    base = (
        long.filter((long.idx == 0) & (long.group == "treatment"))
        .group_by("metric")
        .agg(treatment_baseline_rate=long.base.mean())
    )
    after = long.filter((long.idx > 0) & long.value.notnull())
    rates = after.group_by("metric", "month").agg(
        n_treatment=(after.group == "treatment").sum().cast("int64"),
        n_holdout=(after.group == "holdout").sum().cast("int64"),
        rate_treatment=ibis.ifelse(after.group == "treatment", after.value, None).mean(),
        rate_holdout=ibis.ifelse(after.group == "holdout", after.value, None).mean(),
    )
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    r = rates.join(base, "metric")
    se = (
        r.rate_treatment * (1 - r.rate_treatment) / r.n_treatment
        + r.rate_holdout * (1 - r.rate_holdout) / r.n_holdout
    ).sqrt()
    net = r.rate_treatment - r.rate_holdout
    return r.select(
        "metric",
        "month",
        "n_treatment",
        "n_holdout",
        "rate_treatment",
        "rate_holdout",
        net_effect=net,
        net_ci_low=net - z * se,
        net_ci_high=net + z * se,
        naive_effect=r.rate_treatment - r.treatment_baseline_rate,
    ).order_by("metric", "month")


def savings(
    tracking: ir.Table, cost_difference_yuan: float, order_cost_yuan: float, n_orders: int
) -> ir.Table:
    """Money per month: contacts moved (net effect on ``no_store_payment`` × treated) × the
    cost difference between the channels, minus the work orders' cost, with its interval."""
    t = tracking.filter(tracking.metric == "no_store_payment")
    cost = n_orders * order_cost_yuan
    return t.select(
        "month",
        moved=t.net_effect * t.n_treatment,
        saving_yuan=t.net_effect * t.n_treatment * cost_difference_yuan - cost,
        saving_low_yuan=t.net_ci_low * t.n_treatment * cost_difference_yuan - cost,
        saving_high_yuan=t.net_ci_high * t.n_treatment * cost_difference_yuan - cost,
    )
