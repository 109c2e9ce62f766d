"""Pipeline step ``retention``: Kaplan-Meier curves by join cohort and the sBG model fitted to
the cohorts that joined inside the data."""

from __future__ import annotations

import ibis
import pandas as pd

from touchpoint.churn._build import as_table
from touchpoint.churn._cohorts import cohort_active_counts, customer_lifetimes, kaplan_meier
from touchpoint.churn._sbg import RetentionInputError, ShiftedBetaGeometric
from touchpoint.config import Config

CURVES_MART = "mart_retention_curves"
SBG_MART = "mart_retention_sbg"
PROJECTION_MART = "mart_retention_projection"
#: Inputs of the step: (required, optional).
RETENTION_INPUTS = (("stg_customers", "mart_customer_360"), ())
RETENTION_OUTPUTS = (CURVES_MART, SBG_MART, PROJECTION_MART)
#: Periods (months) projected, and the horizon of the expected remaining lifetime.
HORIZON_MONTHS = 36

CURVES_SCHEMA = {
    "cohort": "string",
    "period": "int64",
    "n_at_risk": "int64",
    "n_left": "int64",
    "survival": "float64",
    "survival_low": "float64",
    "survival_high": "float64",
}
SBG_SCHEMA = {
    "cohorts": "string",
    "n_customers": "float64",
    "n_periods": "int64",
    "alpha": "float64",
    "alpha_low": "float64",
    "alpha_high": "float64",
    "beta": "float64",
    "beta_low": "float64",
    "beta_high": "float64",
    "log_likelihood": "float64",
    "expected_lifetime_months": "float64",
    "note": "string",
}
PROJECTION_SCHEMA = {
    "period": "int64",
    "survival": "float64",
    "retention_rate": "float64",
    "expected_active": "float64",
}


#: The note of a fit whose alpha and beta are not identified (``ShiftedBetaGeometric.identified_``).
NOT_IDENTIFIED = (
    "the cohorts show no spread of churn rates between customers: only the mean monthly churn "
    "alpha / (alpha + beta) is determined, alpha and beta have no interval"
)


def retention_tables(lifetimes_by_year: pd.DataFrame, lifetimes_by_month: pd.DataFrame) -> dict:
    """The retention marts from :func:`customer_lifetimes` rows (join-year and join-month
    cohorts).

    ``mart_retention_curves``: one row per join year × month of tenure observed;
    ``mart_retention_sbg``: one row, the sBG fitted jointly to every join-month cohort seen
    from its first month, with the expected months in the network of a new customer over
    the next 36; ``mart_retention_projection``: one row per month 0..36 of that fit.
    """
    curves = kaplan_meier(lifetimes_by_year) if len(lifetimes_by_year) else pd.DataFrame()
    counts = {
        cohort: c
        for cohort, c in cohort_active_counts(lifetimes_by_month).items()
        if len(c) >= 3 and c[0] > c[-1]
    }
    sbg, projection = (
        pd.DataFrame([{"note": "no cohort joined inside the data with a loss"}]),
        pd.DataFrame(),
    )
    if counts:
        try:
            model = ShiftedBetaGeometric().fit(list(counts.values()))
        except RetentionInputError as exc:
            sbg = pd.DataFrame([{"note": str(exc)}])
        else:
            r = model.result
            sbg = pd.DataFrame(
                [
                    {
                        "cohorts": ", ".join(counts),
                        "n_customers": r.n_customers,
                        "n_periods": r.n_periods,
                        "alpha": r.alpha,
                        "alpha_low": r.alpha_interval[0],
                        "alpha_high": r.alpha_interval[1],
                        "beta": r.beta,
                        "beta_low": r.beta_interval[0],
                        "beta_high": r.beta_interval[1],
                        "log_likelihood": r.log_likelihood,
                        "expected_lifetime_months": model.expected_remaining_lifetime(
                            0, horizon=HORIZON_MONTHS
                        ),
                        "note": None if model.identified_ else NOT_IDENTIFIED,
                    }
                ]
            )
            projection = pd.DataFrame(model.projection(HORIZON_MONTHS))
    return {
        CURVES_MART: as_table(curves, CURVES_SCHEMA),
        SBG_MART: as_table(sbg, SBG_SCHEMA),
        PROJECTION_MART: as_table(projection, PROJECTION_SCHEMA),
    }


def build_retention(tables: dict[str, ibis.Table], config: Config) -> dict[str, ibis.Table]:
    """Step ``retention`` (see :func:`retention_tables`); the data's months are those of the
    customer 360."""
    c360 = tables["mart_customer_360"]
    span = c360.aggregate(first=c360.month.min(), last=c360.month.max()).to_pandas()
    first, last = span["first"].iloc[0], span["last"].iloc[0]
    customers = tables["stg_customers"]
    if pd.isna(first):
        empty = customer_lifetimes(customers, pd.Timestamp.now().date(), pd.Timestamp.now().date())
        frame = empty.limit(0).to_pandas()
        return retention_tables(frame, frame)
    first, last = pd.Timestamp(first).date(), pd.Timestamp(last).date()
    by_year = customer_lifetimes(customers, first, last, grain="year").to_pandas()
    by_month = customer_lifetimes(customers, first, last, grain="month").to_pandas()
    return retention_tables(by_year, by_month)
