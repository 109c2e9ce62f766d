"""Whom to treat next, as one step of the campaign flow (issue 13 item 7): read the finished
round and the next audience from the warehouse, learn and pick (:func:`whom_to_treat_next`),
and hand the three uplift tables to the adapter's ``save`` in one call.

The command line and the report only render what :func:`uplift_campaign` returns and what
:func:`touchpoint.campaigns.campaign_uplift` reads back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import ibis
import pandas as pd
import pyarrow as pa

from touchpoint.campaigns._assignment import (
    STRATUM_COLUMN,
    TREATMENT,
    is_global_holdout,
    select_audience,
)
from touchpoint.campaigns._build import (
    ASSIGNMENTS_TABLE,
    RECORDS,
    UPLIFT_COMPARISON_TABLE,
    UPLIFT_CURVES_TABLE,
    UPLIFT_SCORES_TABLE,
)
from touchpoint.campaigns._definition import Campaign, CampaignError
from touchpoint.campaigns._flow import MEMBERSHIP_TABLE, Save, campaign_definition
from touchpoint.campaigns._settings import CampaignSettings
from touchpoint.campaigns._uplift import (
    OUTCOME,
    uplift_features,
    uplift_outcomes,
    whom_to_treat_next,
)
from touchpoint.query import optional_table, require_table


class NoOutcomeYet(CampaignError):
    """The campaign's round has no month of outcomes after its selection month yet."""

    def __init__(self, campaign_id: str, month: dt.date) -> None:
        super().__init__(f"campaign {campaign_id!r}: no month after its selection month {month}")
        self.campaign_id, self.month = campaign_id, month


@dataclass(frozen=True)
class UpliftRound:
    """What :func:`uplift_campaign` learnt, compared and picked (JSON-ready but ``scores``).

    ``comparison``: one dict per strategy (``strategy``, ``qini_auc``, ``auuc``,
    ``share_treated``, ``n_orders``, ``uplift_at_share``, ``saving_per_order_yuan``,
    ``saving_yuan``); ``curves``: the Qini curves' points (``strategy``, ``n_treated``,
    ``incremental``); ``scores``: one row per customer of the next audience, best first, as
    stored in ``campaign_uplift_scores``.
    """

    campaign_id: str
    learnt_month: dt.date
    n_learnt: int
    learnt_ate: float
    outcome: str
    learner: str
    folds: int
    scored_month: dt.date
    n_scored: int
    n_selected: int
    expected_saving_yuan: float
    comparison: list[dict[str, Any]]
    curves: list[dict[str, Any]]
    scores: pa.Table

    def summary(self) -> dict[str, Any]:
        """The scalar figures (what ``--json`` prints before the tables)."""
        return {
            "campaign_id": self.campaign_id,
            "learnt_month": self.learnt_month,
            "n_learnt": self.n_learnt,
            "learnt_ate": self.learnt_ate,
            "outcome": self.outcome,
            "learner": self.learner,
            "folds": self.folds,
            "scored_month": self.scored_month,
            "n_scored": self.n_scored,
            "n_selected": self.n_selected,
            "expected_saving_yuan": self.expected_saving_yuan,
        }

    def to_json(self) -> dict[str, Any]:
        """The summary, the strategies compared and the Qini curves."""
        return {**self.summary(), "comparison": self.comparison, "qini_curves": self.curves}


def _arrow(frame: pd.DataFrame) -> pa.Table:
    """``frame`` with the warehouse's types: months as dates, times in microseconds."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type):
            kind = pa.date32() if field.name.endswith("_month") else pa.timestamp("us")
            table = table.set_column(i, field.name, table.column(i).cast(kind))
    return table


def _conform(table: pa.Table, name: str) -> pa.Table:
    """``table`` with the columns and types :data:`RECORDS` declares for ``name``."""
    schema = RECORDS[name].to_pyarrow()
    return table.select(schema.names).cast(schema)


def _python(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """numpy scalars as Python numbers (JSON-ready)."""
    return [{k: v.item() if hasattr(v, "item") else v for k, v in r.items()} for r in rows]


def next_audience(
    con: ibis.BaseBackend, campaign: Campaign, settings: CampaignSettings, assignment: ibis.Table
) -> ibis.Table:
    """The campaign's audience in the 360's latest month, as ``campaign create`` draws it,
    without the customers this campaign already treated."""
    c360, membership = (
        require_table(con, "mart_customer_360"),
        optional_table(con, MEMBERSHIP_TABLE),
    )
    audience = select_audience(c360, campaign, membership=membership)
    audience = audience.filter(
        ~is_global_holdout(
            audience.customer_id, settings.global_holdout_salt, settings.global_holdout_share
        )
    )
    if settings.policy.sensitive == "exclude" and membership is not None:
        sensitive = membership.filter(membership.tag_id == settings.policy.sensitive_tag)
        audience = audience.anti_join(sensitive, "customer_id")
    treated = assignment.filter(assignment.group == TREATMENT)
    return audience.anti_join(treated, "customer_id").select("customer_id")


def uplift_campaign(
    con: ibis.BaseBackend,
    campaign_id: str,
    now: dt.datetime,
    *,
    settings: CampaignSettings,
    save: Save,
    max_orders: int | None = None,
) -> UpliftRound:
    """Learn who responds from ``campaign_id``'s finished round, compare the strategies and
    pick the next audience; hand ``campaign_uplift_scores``, ``campaign_uplift_comparison``
    and ``campaign_uplift_curves`` to ``save`` in one call (each replaces the campaign's
    earlier rows: the adapter deletes them in the same transaction).

    Refused in one line (:class:`CampaignError`) for an unknown campaign, an action uplift is
    not learnt for, and a round with no month after its selection month
    (:class:`NoOutcomeYet`).
    """
    up = settings.uplift
    _, campaign = campaign_definition(con, campaign_id)
    if campaign.action not in OUTCOME:
        raise CampaignError(
            f"campaign {campaign_id!r}: uplift is learnt for {', '.join(OUTCOME)} so far, "
            f"not {campaign.action}"
        )
    a = require_table(con, ASSIGNMENTS_TABLE)
    a = a.filter(a.campaign_id == campaign_id)
    baseline = pd.Timestamp(a.audience_month.min().execute()).date()
    c360, payments = require_table(con, "mart_customer_360"), require_table(con, "stg_payments")
    latest = pd.Timestamp(c360.month.max().execute()).date()
    if latest <= baseline:
        raise NoOutcomeYet(campaign_id, baseline)
    patterns = (*up.features, STRATUM_COLUMN[campaign.action])
    outcomes = uplift_outcomes(
        a,
        payments,
        ibis.literal(baseline),
        store_channels=settings.store_channels,
        destinations=settings.self_service_payment_channels,
    )
    learn = (
        uplift_features(c360, a, ibis.literal(baseline), patterns)
        .join(outcomes, "customer_id")
        .order_by("customer_id")
        .to_pandas()
    )
    nxt = next_audience(con, campaign, settings, a)
    next_features = (
        uplift_features(c360, nxt, ibis.literal(latest), patterns)
        .order_by("customer_id")
        .to_pandas()
    )
    result = whom_to_treat_next(
        learn,
        next_features,
        campaign.action,
        up,
        cost_difference_yuan=settings.moved_cost_difference_yuan.get(campaign.action, 0.0),
        order_cost_yuan=settings.work_order_cost_yuan.get(campaign.channels[0], 0.0),
        max_orders=max_orders,
    )
    stamp = {"learnt_month": pd.Timestamp(baseline), "scored_at": pd.Timestamp(now)}
    scores = _conform(
        _arrow(
            result.scores.assign(
                campaign_id=campaign_id, scored_month=pd.Timestamp(latest), **stamp
            )
        ),
        UPLIFT_SCORES_TABLE,
    )
    comparison = _conform(
        _arrow(result.comparison.assign(campaign_id=campaign_id, **stamp)),
        UPLIFT_COMPARISON_TABLE,
    )
    curves = _conform(
        _arrow(result.curves.assign(campaign_id=campaign_id, **stamp)), UPLIFT_CURVES_TABLE
    )
    save(
        {
            UPLIFT_SCORES_TABLE: scores,
            UPLIFT_COMPARISON_TABLE: comparison,
            UPLIFT_CURVES_TABLE: curves,
        }
    )
    picked = result.scores[result.scores.selected]
    return UpliftRound(
        campaign_id=campaign_id,
        learnt_month=baseline,
        n_learnt=result.n_learnt,
        learnt_ate=result.learnt_ate,
        outcome=OUTCOME[campaign.action],
        learner=up.learner,
        folds=up.folds,
        scored_month=latest,
        n_scored=len(result.scores),
        n_selected=len(picked),
        expected_saving_yuan=float(picked.expected_saving_yuan.sum()),
        comparison=_python(result.comparison.to_dict("records")),
        curves=_python(result.curves.to_dict("records")),
        scores=scores,
    )
