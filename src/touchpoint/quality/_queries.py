"""Query functions over the survey and peak–end marts (pyarrow; the command line, the report
and the customer card only render them)."""

from __future__ import annotations

import ibis
import pyarrow as pa

from touchpoint.quality._build import (
    EFFECTS_MART,
    REPLIES_MART,
    REPLY_RATES_MART,
    SATISFACTION_MART,
    SOURCES_MART,
)
from touchpoint.quality._satisfaction import customer_recent_replies
from touchpoint.query import optional_table, require_table

#: Sources with fewer surveyed contacts than this are left out of :func:`bad_peak_places`.
MIN_CONTACTS = 20


def satisfaction_by_month(con: ibis.BaseBackend) -> pa.Table:
    """Reply rate and CSAT (plain and weighted, with intervals) per survey channel and month."""
    return require_table(con, SATISFACTION_MART).order_by(["survey_channel", "month"]).to_pyarrow()


def satisfaction_overall(con: ibis.BaseBackend) -> pa.Table:
    """One row per survey channel over every month: ``reply_rate`` (replies / sent), ``csat``
    (satisfied / classified replies) and ``csat_weighted`` (the months' weighted CSATs averaged
    with their effective numbers of replies as weights; missing when none has one)."""
    t = require_table(con, SATISFACTION_MART)
    classified = t.n_satisfied + t.n_neutral + t.n_dissatisfied
    weight = t.n_effective.fill_null(0)
    # A month without a weighted CSAT adds nothing to either sum.
    weighted = (t.csat_weighted.fill_null(0) * weight).sum()
    g = t.group_by("survey_channel").agg(
        n_sent=t.n_sent.sum(),
        n_replied=t.n_replied.sum(),
        n_satisfied=t.n_satisfied.sum(),
        n_classified=classified.sum(),
        weighted_sum=weighted,
        weight=weight.sum(),
    )
    return (
        g.select(
            "survey_channel",
            "n_sent",
            "n_replied",
            reply_rate=ibis.ifelse(g.n_sent > 0, g.n_replied / g.n_sent, None),
            csat=ibis.ifelse(g.n_classified > 0, g.n_satisfied / g.n_classified, None),
            csat_weighted=ibis.ifelse(g.weight > 0, g.weighted_sum / g.weight, None),
        )
        .order_by("survey_channel")
        .to_pyarrow()
    )


def reply_rates(con: ibis.BaseBackend) -> pa.Table:
    """Reply rate and CSAT per survey channel × strategy × channel of the contact asked about."""
    return (
        require_table(con, REPLY_RATES_MART)
        .order_by(["survey_channel", "strategy_id", "contact_channel"])
        .to_pyarrow()
    )


def peak_end_effects(con: ibis.BaseBackend, with_intercept: bool = True) -> pa.Table:
    """The peak–end model's terms: coefficient, interval, odds ratio, replies it was fitted on."""
    t = require_table(con, EFFECTS_MART)
    if not with_intercept:
        t = t.filter(t.term != "intercept")
    return t.to_pyarrow()


def bad_peak_places(con: ibis.BaseBackend, min_contacts: int = 0) -> pa.Table:
    """Channels, businesses and nodes by their share of surveyed contacts with a bad peak,
    highest first, those with at least ``min_contacts`` surveyed contacts."""
    t = require_table(con, SOURCES_MART)
    return (
        t.filter(t.n_contacts >= min_contacts)
        .order_by([ibis.desc("bad_peak_share"), "dimension", "value"])
        .to_pyarrow()
    )


def customer_surveys(con: ibis.BaseBackend, customer_id: str) -> pa.Table | None:
    """The customer's latest survey replies (the card); ``None`` without surveys."""
    replies, surveys = optional_table(con, REPLIES_MART), optional_table(con, "stg_surveys")
    if replies is None or surveys is None:
        return None
    return customer_recent_replies(replies, surveys, customer_id).to_pyarrow()
