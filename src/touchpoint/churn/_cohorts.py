"""Retention by join cohort: customer lifetimes (Ibis) and Kaplan-Meier curves (lifelines).

A period is a calendar month. A customer who joined in month J and left in month L left in
period ``L - J + 1`` (leaving in the month of joining is period 1); one still in the network
at the end of the data (month E) is censored after ``E - J + 1`` periods. Customers who
joined before the data's first month F were seen only from F on: they enter the risk set
after ``F - J`` periods (left truncation), so the long-tenured survivors an export holds do
not make old cohorts look immortal.
"""

from __future__ import annotations

import datetime as dt
import math
from statistics import NormalDist

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter
from lifelines.exceptions import StatError


def _month_index(value: ir.Value) -> ir.IntegerValue:
    return (value.year() * 12 + value.month() - 1).cast("int64")


def customer_lifetimes(
    customers: ir.Table, first_month: dt.date, last_month: dt.date, grain: str = "year"
) -> ir.Table:
    """One row per customer in the network at some point from ``first_month`` to
    ``last_month``: ``customer_id, cohort`` (join year ``2024``, quarter ``2024-Q3`` or month
    ``2024-07``), ``entry_periods`` (periods survived before the data starts),
    ``periods`` (the period they left in, or the periods observed) and ``has_left``."""
    if grain not in ("year", "quarter", "month"):
        raise ValueError(f"grain={grain!r} should be 'year', 'quarter' or 'month'")
    c = customers
    join = _month_index(c.join_date)
    first = first_month.year * 12 + first_month.month - 1
    last = last_month.year * 12 + last_month.month - 1
    left = c.leave_date.notnull() & (_month_index(c.leave_date) <= last)
    year = c.join_date.year().cast("string")
    cohort = {
        "year": year,
        "quarter": year.concat("-Q", ((c.join_date.month() - 1) // 3 + 1).cast("string")),
        "month": c.join_date.strftime("%Y-%m"),
    }[grain]
    periods = ibis.ifelse(left, _month_index(c.leave_date) - join + 1, last - join + 1)
    out = c.select(
        "customer_id",
        _join=join,
        cohort=cohort,
        entry_periods=ibis.greatest(first - join, 0).cast("int64"),
        periods=periods.cast("int64"),
        has_left=left.fill_null(False),
    )
    # In the network at some point of the data: joined by its end, not left before it.
    out = out.filter((out._join <= last) & (out.periods > out.entry_periods))
    return out.drop("_join")


def product_limit(
    entry: np.ndarray, periods: np.ndarray, left: np.ndarray, level: float = 0.95
) -> pd.DataFrame:
    """Kaplan-Meier's product-limit estimate with left truncation and exponential Greenwood
    intervals, by hand: the fallback for a cohort lifelines refuses (everyone at risk leaves at
    some period, so the curve reaches 0), and a check of lifelines on the others (tests).

    Returns one row per period from ``entry.min() + 1`` to ``periods.max()``: ``n_at_risk``,
    ``n_left``, ``survival``, ``survival_low``, ``survival_high``.
    """
    z = NormalDist().inv_cdf(0.5 + level / 2)
    survival, greenwood, rows = 1.0, 0.0, []
    for period in range(int(entry.min()) + 1, int(periods.max()) + 1):
        at_risk = int(((entry < period) & (periods >= period)).sum())
        n_left = int((left & (periods == period)).sum())
        if at_risk > 0 and n_left > 0:
            survival *= 1 - n_left / at_risk
            if at_risk > n_left:
                greenwood += n_left / (at_risk * (at_risk - n_left))
        if 0 < survival < 1 and greenwood > 0:
            # Interval of log(-log S), mapped back: always inside (0, 1).
            spread = z * math.sqrt(greenwood) / abs(math.log(survival))
            low = survival ** math.exp(spread)
            high = survival ** math.exp(-spread)
        else:
            low = high = survival
        rows.append(
            {
                "period": period,
                "n_at_risk": at_risk,
                "n_left": n_left,
                "survival": survival,
                "survival_low": low,
                "survival_high": high,
            }
        )
    return pd.DataFrame(rows)


def kaplan_meier(lifetimes: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Kaplan-Meier retention per cohort, with ``level`` intervals (lifelines' exponential
    Greenwood intervals), from :func:`customer_lifetimes` rows.

    Returns
    -------
    pandas.DataFrame
        One row per cohort × period from the cohort's first observed period to its last:
        ``cohort, period, n_at_risk, n_left, survival, survival_low, survival_high``;
        ``survival`` is the share still in the network after ``period`` periods, among
        those who had reached the cohort's first observed period.
    """
    frames = []
    for cohort, group in lifetimes.groupby("cohort", sort=True):
        entry = group["entry_periods"].to_numpy()
        periods = group["periods"].to_numpy()
        left = group["has_left"].astype(bool).to_numpy()
        curve = product_limit(entry, periods, left, level)
        fitter = KaplanMeierFitter(alpha=1 - level)
        try:
            fitter.fit(periods, event_observed=left, entry=entry)
        except StatError:
            pass  # the curve reaches 0 with too few entrants: keep the product limit's
        else:
            sf = fitter.survival_function_.iloc[:, 0]
            ci = fitter.confidence_interval_survival_function_
            at = [sf.index[sf.index <= p].max() for p in curve["period"]]
            curve["survival"] = sf.loc[at].to_numpy()
            curve["survival_low"] = ci.iloc[:, 0].loc[at].to_numpy()
            curve["survival_high"] = ci.iloc[:, 1].loc[at].to_numpy()
        curve.insert(0, "cohort", str(cohort))
        frames.append(curve)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def cohort_active_counts(lifetimes: pd.DataFrame) -> dict[str, list[int]]:
    """Customers still active after 0, 1, ... periods, per cohort seen from joining (entry 0
    for every member), up to the periods every member could be observed: the input of
    :class:`~touchpoint.churn.ShiftedBetaGeometric`."""
    out = {}
    for cohort, group in lifetimes.groupby("cohort", sort=True):
        if (group["entry_periods"] > 0).any():
            continue
        censored = group.loc[~group["has_left"].astype(bool), "periods"]
        horizon = int(censored.min()) if len(censored) else int(group["periods"].max())
        left_at = group.loc[group["has_left"].astype(bool), "periods"]
        out[str(cohort)] = [int(len(group) - (left_at <= t).sum()) for t in range(horizon + 1)]
    return out
