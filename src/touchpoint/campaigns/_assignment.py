"""Who is in a campaign and who is held out: reproducible hash draws, stratified by level.

Every draw is the first 13 hex digits of ``md5(salt:customer_id)``: the same ids give the same
draws whatever the row order, the chunking or the day. Comparing the hex text compares the
numbers (equal lengths), so no conversion is needed.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from touchpoint.campaigns._definition import Campaign
from touchpoint.tags import compile_rule

DRAW_DIGITS = 13
#: The column of the 360 whose level stratifies the holdout, by action.
STRATUM_COLUMN = {
    "divert_store_payment_to_self_service": "pref_level_payment_store",
    "divert_agent_to_self_service": "pref_level_agent",
    "retention_offer": "contribution_tier",
    "cross_sell": "contribution_tier",
}
TREATMENT, HOLDOUT = "treatment", "holdout"


class SampleRatioWarning(UserWarning):
    """The realised treatment / holdout split is unlikely under the planned share."""


def draw(salt: str, customer_id: ir.StringValue) -> ir.StringValue:
    """The customer's draw for ``salt``: 13 hex digits, uniform, fixed by the two ids."""
    return (ibis.literal(salt + ":") + customer_id).hexdigest("md5").substr(0, DRAW_DIGITS)


def threshold(share: float) -> str:
    """The draw below which a share ``share`` of customers fall.

    >>> threshold(0.5)
    '8000000000000'
    """
    return format(min(int(share * 16**DRAW_DIGITS), 16**DRAW_DIGITS - 1), f"0{DRAW_DIGITS}x")


def is_global_holdout(customer_id: ir.StringValue, salt: str, share: float) -> ir.BooleanValue:
    """Whether the customer is in the global holdout (never marketed by any campaign)."""
    return draw(salt, customer_id) < threshold(share)


def select_audience(
    c360: ir.Table,
    campaign: Campaign,
    month: ir.Value | None = None,
    membership: ir.Table | None = None,
    parameters: dict | None = None,
) -> ir.Table:
    """The audience in ``month`` (default the 360's latest): one row per customer, with ``stratum``.

    A rule is compiled over the 360; a tag list keeps members of any of the tags that month.
    """
    month = c360.month.max().as_scalar() if month is None else month
    rows = c360.filter(c360.month == month)
    if campaign.audience.rule is not None:
        rows = rows.filter(compile_rule(campaign.audience.rule, rows, parameters or {}))
    else:
        if membership is None:
            raise ValueError("an audience of tags needs the tag membership table")
        members = (
            membership.filter(
                membership.tag_id.isin(list(campaign.audience.tags)), membership.month == month
            )
            .select("customer_id")
            .distinct()
        )
        rows = rows.semi_join(members, "customer_id")
    column = STRATUM_COLUMN[campaign.action]
    stratum = rows[column].cast("int64").fill_null(0) if column in rows.columns else ibis.literal(0)
    return rows.select("customer_id", stratum=stratum.cast("int64"))


def limit_size(audience: ir.Table, campaign: Campaign) -> ir.Table:
    """At most ``max_size`` customers, chosen by a hash draw (not the row order)."""
    if campaign.max_size is None:
        return audience
    ranked = audience.mutate(_d=draw(campaign.id + ":size", audience.customer_id))
    return ranked.order_by("_d").limit(campaign.max_size).drop("_d")


def assign(audience: ir.Table, campaign_id: str, holdout_share: float) -> ir.Table:
    """Stratified holdout: in each stratum the ``round(share × n)`` lowest draws are held out.

    One row per customer of ``audience`` (``customer_id``, ``stratum``) with ``group``
    (``treatment`` or ``holdout``) and its ``draw``.
    """
    drawn = audience.mutate(draw=draw(campaign_id, audience.customer_id))
    w = ibis.window(group_by="stratum", order_by=["draw", "customer_id"])
    ranked = drawn.mutate(
        _rank=ibis.row_number().over(w), _n=drawn.customer_id.count().over(group_by="stratum")
    )
    n_holdout = (ranked._n.cast("float64") * holdout_share).round().cast("int64")
    group = ibis.ifelse(ranked._rank < n_holdout, HOLDOUT, TREATMENT)
    return ranked.select("customer_id", "stratum", "draw", group=group)


def assign_wave(
    audience: ir.Table, previous: ir.Table | None, campaign_id: str, holdout_share: float
) -> ir.Table:
    """A later wave: earlier customers keep their group; new ones are assigned among themselves.

    ``previous`` holds earlier waves' assignments (``customer_id``, ``stratum``, ``draw``,
    ``group``); the result has one row per customer of this wave's audience.
    """
    if previous is None:
        return assign(audience, campaign_id, holdout_share)
    kept = previous.select("customer_id", "stratum", "draw", "group").semi_join(
        audience, "customer_id"
    )
    new = audience.anti_join(previous, "customer_id")
    return kept.union(assign(new, campaign_id, holdout_share))


@dataclass(frozen=True)
class SampleRatio:
    """The realised split against the planned share: chi-square statistic and p-value."""

    n_treatment: int
    n_holdout: int
    planned_holdout_share: float
    chi_square: float
    p_value: float
    is_mismatch: bool


def sample_ratio_check(
    n_treatment: int, n_holdout: int, holdout_share: float, alpha: float = 0.001
) -> SampleRatio:
    """Chi-square test (1 degree of freedom) of the split; warns on a mismatch.

    >>> sample_ratio_check(900, 100, 0.1).is_mismatch
    False
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     round(sample_ratio_check(850, 150, 0.1).chi_square, 2)
    27.78
    """
    n = n_treatment + n_holdout
    if n == 0:
        return SampleRatio(0, 0, holdout_share, 0.0, 1.0, False)
    expected_h, expected_t = n * holdout_share, n * (1 - holdout_share)
    chi = (n_holdout - expected_h) ** 2 / expected_h + (n_treatment - expected_t) ** 2 / expected_t
    p = math.erfc(math.sqrt(chi / 2))  # survival of chi-square with 1 df
    result = SampleRatio(n_treatment, n_holdout, holdout_share, chi, p, p < alpha)
    if result.is_mismatch:
        warnings.warn(
            f"sample ratio mismatch: {n_holdout} of {n} held out, planned {holdout_share:.1%} "
            f"(chi-square {chi:.1f}, p = {p:.2g}); check how the audience was drawn",
            SampleRatioWarning,
            stacklevel=2,
        )
    return result
