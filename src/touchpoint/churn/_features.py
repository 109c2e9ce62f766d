"""Churn features and the label, as pure Ibis table -> table functions.

What a feature may see: for the row of customer *c* in month *m*, only what happened up to
the end of month *m* (the customer 360 of month *m* and of the months before it, contacts
started in month *m*). What it may not: anything dated after month *m*, the customer's
``leave_date`` and ``has_left_in_month`` (they are the answer), nor a statistic computed over
all months at once (a mean over the whole export would carry the future into the past).
The label ``churn_next_month`` looks one month ahead and is never a feature.
"""

from __future__ import annotations

from collections.abc import Callable

import ibis
import ibis.expr.types as ir

from touchpoint.churn._settings import ChurnSettings

KEYS = ("customer_id", "month")
LABEL = "churn_next_month"


def _month(value: ir.TimestampValue) -> ir.DateValue:
    return value.truncate("M").cast("date")


def _add_months(month: ir.DateValue, n: int) -> ir.DateValue:
    return (month + ibis.interval(months=n)).cast("date")


def contact_outcomes_monthly(contacts: ir.Table, settings: ChurnSettings) -> ir.Table:
    """Fault reports and unresolved contacts per customer and month.

    A hotline call is one contact however many legs it has (IVR, then agent): it is
    resolved when any leg ends ``resolved_outcome``, and it falls in the month it started.
    Every other contact counts on its own.

    Returns
    -------
    ibis.Table
        One row per customer × month with a contact: ``customer_id, month,
        n_fault_contacts, n_unresolved_contacts``.
    """
    resolved = settings.resolved_outcome
    c = contacts.mutate(
        _resolved=(contacts.outcome == resolved).fill_null(False),
        _fault=(contacts.business == settings.fault_business).fill_null(False),
    )
    calls = (
        c.filter(c.call_id.notnull())
        .group_by("customer_id", "call_id")
        .agg(
            started_at=c.started_at.min(),
            _resolved=c._resolved.any(),
            _fault=c._fault.any(),
        )
        .select("customer_id", "started_at", "_resolved", "_fault")
    )
    others = c.filter(c.call_id.isnull()).select("customer_id", "started_at", "_resolved", "_fault")
    units = calls.union(others)
    return units.group_by("customer_id", month=_month(units.started_at)).agg(
        n_fault_contacts=units._fault.cast("int64").sum(),
        n_unresolved_contacts=(~units._resolved).cast("int64").sum(),
    )


def _arpu_log_slope(t: ir.Table) -> ir.Value:
    """Least-squares slope of log ARPU on the month over the customer's months so far (this
    one included): the monthly growth rate of the bill, null with fewer than two bills."""
    w = ibis.window(group_by="customer_id", order_by="month", preceding=None, following=0)
    has = (t.arpu_yuan > 0).fill_null(False)
    x = (t.month.year() * 12 + t.month.month()).cast("float64")
    y = ibis.ifelse(has, t.arpu_yuan.log(), 0.0)
    one = has.cast("float64")
    n = one.sum().over(w)
    sx, sy = (x * one).sum().over(w), (y * one).sum().over(w)
    sxx, sxy = (x * x * one).sum().over(w), (x * y * one).sum().over(w)
    den = n * sxx - sx * sx
    return ibis.ifelse((n >= 2) & (den > 0), (n * sxy - sx * sy) / den, ibis.null("float64"))


def _in_network(c360: ir.Table) -> ir.Table:
    """The 360's customer-months in which the customer is still in the network at the
    month's end, with the label ``churn_next_month`` (null in the last month of the data)."""
    t = c360
    next_month = _add_months(t.month, 1)
    still_in = t.leave_date.isnull() | (t.leave_date >= next_month)
    last = t.month.max().as_scalar()
    leaves_next = (
        t.leave_date.notnull()
        & (t.leave_date >= next_month)
        & (t.leave_date < _add_months(t.month, 2))
    )
    label = ibis.ifelse(t.month < last, leaves_next.fill_null(False), ibis.null("boolean"))
    return t.mutate(**{LABEL: label}).filter(still_in)


def churn_labels(c360: ir.Table) -> ir.Table:
    """The keys and the label of :func:`churn_features`, row for row the same customer-months
    (its joins are left joins on the keys, one row each), without any feature: what a run
    counts per month before choosing the rows it reads, at a fraction of the cost.

    Returns
    -------
    ibis.Table
        ``customer_id, month, churn_next_month``.
    """
    return _in_network(c360).select(*KEYS, LABEL)


def churn_features(
    c360: ir.Table,
    contacts: ir.Table | None,
    settings: ChurnSettings,
    keep: Callable[[ir.Table], ir.BooleanValue] | None = None,
) -> ir.Table:
    """Features and label for churn prediction.

    Parameters
    ----------
    c360
        ``mart_customer_360`` (one row per customer × month in the network).
    contacts
        ``stg_contacts`` for fault reports and unresolved contacts, or ``None`` (then those
        two features are absent).
    settings
        Which columns are excluded or categorical.
    keep
        Optional: a condition on ``customer_id`` and ``month`` choosing the rows wanted,
        applied to the 360 before the joins (a condition on the result would leave the
        joins to hold every customer-month; a run reads about 4 M of 6.4 M at 1 M
        customers). What a row sees does not change.

    Returns
    -------
    ibis.Table
        One row per customer × month in which the customer is still in the network at the
        month's end (not left by then): the keys, the features (the 360's columns but the
        excluded ones; ``has_arrears``; ``arpu_log_slope``; ``n_fault_contacts``,
        ``n_unresolved_contacts``) and ``churn_next_month``: the customer's ``leave_date``
        falls in the following month; null for the last month of the data (not known yet).
    """
    t = c360
    # The slope's window runs over three columns and is joined back: a window over the
    # whole 360 would hold every column of every customer-month in memory at once (6.7 GB
    # at 1 M customers), and a filter on the result (the months and sample a run reads)
    # now reaches the 360's scan.
    bills = c360.select("customer_id", "month", "arpu_yuan")
    slopes = bills.select("customer_id", "month", arpu_log_slope=_arpu_log_slope(bills))
    if keep is not None:  # after the window: the slope sees every month so far
        slopes = slopes.filter(keep(slopes))
    slopes = slopes.rename(s_customer_id="customer_id", s_month="month")
    t = _in_network(t.mutate(has_arrears=(t.arrears_yuan > 0).fill_null(False)))
    if keep is not None:
        t = t.filter(keep(t))
    with_slope = t.left_join(
        slopes, [t.customer_id == slopes.s_customer_id, t.month == slopes.s_month]
    )
    before_label = [c for c in t.columns if c not in ("has_arrears", LABEL)]
    t = with_slope.select(
        *before_label,
        arpu_log_slope=with_slope.arpu_log_slope,
        has_arrears=with_slope.has_arrears,
        **{LABEL: with_slope[LABEL]},
    )
    if contacts is not None:
        outcomes = contact_outcomes_monthly(contacts, settings)
        if keep is not None:
            outcomes = outcomes.filter(keep(outcomes))
        outcomes = outcomes.rename(o_customer_id="customer_id", o_month="month")
        joined = t.left_join(
            outcomes, [t.customer_id == outcomes.o_customer_id, t.month == outcomes.o_month]
        )
        t = joined.select(
            *t.columns,
            n_fault_contacts=joined.n_fault_contacts.fill_null(0),
            n_unresolved_contacts=joined.n_unresolved_contacts.fill_null(0),
        )
    features = [c for c in t.columns if c not in (*KEYS, LABEL) and not settings.is_excluded(c)]
    return t.select(*KEYS, *features, LABEL)


def feature_columns(table_columns: list[str]) -> list[str]:
    """The feature columns of a :func:`churn_features` table (all but the keys and label)."""
    return [c for c in table_columns if c not in (*KEYS, LABEL)]


#: Resolution of :func:`sample_key`: a customer's key is one of this many steps of [0, 1).
SAMPLE_STEPS = 1_000_000


def sample_key(customer_id: ir.StringValue, seed: int) -> ir.FloatingValue:
    """A customer's place in [0, 1) for the training sample: a seeded hash of the
    identifier, the same in every month and every run (on one backend), so "the customers
    whose key is below *f*" is a deterministic sample of about a fraction *f* of them, and
    a smaller fraction's sample lies inside a larger one's."""
    hashed = (ibis.literal(f"{seed}:") + customer_id).hash()
    return (hashed % SAMPLE_STEPS).abs().cast("float64") / SAMPLE_STEPS
