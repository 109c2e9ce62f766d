"""Pipeline step ``campaign_tracking``: every campaign tracked month by month, and its money.

The campaign tables are written by ``touchpoint campaign`` (create, approve, dispatch), not by
ingest: they are this capability's *records* (:data:`RECORDS`, with their schemas), which the
step reads when they exist. On a warehouse without campaigns it writes its two marts empty.
"""

from __future__ import annotations

import ibis

from touchpoint.campaigns._settings import campaign_settings_from_config
from touchpoint.campaigns._tracking import (
    SAVINGS_SCHEMA,
    TRACKING_SCHEMA,
    campaign_savings,
    definition_actions,
    empty,
    retention_arpu,
    track_campaigns,
)
from touchpoint.campaigns._work_orders import EVENT_SCHEMA, EVENTS_TABLE
from touchpoint.config import Config

DEFINITIONS_TABLE = "campaign_definitions"
ASSIGNMENTS_TABLE = "campaign_assignments"
TRACKING_MART = "mart_campaign_tracking"
SAVINGS_MART = "mart_campaign_savings"
UPLIFT_SCORES_TABLE = "campaign_uplift_scores"
UPLIFT_COMPARISON_TABLE = "campaign_uplift_comparison"
UPLIFT_CURVES_TABLE = "campaign_uplift_curves"
_UPLIFT_STAMP = {"campaign_id": "string", "learnt_month": "date", "scored_at": "timestamp(6)"}
#: Tables ``touchpoint campaign`` writes (one transaction each), with their schemas.
RECORDS: dict[str, ibis.Schema] = {
    DEFINITIONS_TABLE: ibis.schema(
        {
            "campaign_id": "string",
            "version": "int64",
            "fingerprint": "string",
            "definition_json": "string",
            "created_by": "string",
            "created_at": "timestamp(6)",
        }
    ),
    ASSIGNMENTS_TABLE: ibis.schema(
        {
            "customer_id": "string",
            "stratum": "int64",
            "draw": "string",
            "group": "string",
            "campaign_id": "string",
            "wave": "int64",
            "audience_month": "date",
            "assigned_at": "timestamp(6)",
        }
    ),
    EVENTS_TABLE: EVENT_SCHEMA,
    # Written by ``touchpoint campaign uplift`` (each run replaces the campaign's rows).
    UPLIFT_SCORES_TABLE: ibis.schema(
        {
            "customer_id": "string",
            "uplift": "float64",
            "expected_saving_yuan": "float64",
            "rank": "int64",
            "selected": "boolean",
            "preference_level": "int64",
            "campaign_id": "string",
            "scored_month": "date",
            "learnt_month": "date",
            "scored_at": "timestamp(6)",
        }
    ),
    UPLIFT_COMPARISON_TABLE: ibis.schema(
        {
            "strategy": "string",
            "qini_auc": "float64",
            "auuc": "float64",
            "share_treated": "float64",
            "n_orders": "int64",
            "uplift_at_share": "float64",
            "saving_per_order_yuan": "float64",
            "saving_yuan": "float64",
            **_UPLIFT_STAMP,
        }
    ),
    UPLIFT_CURVES_TABLE: ibis.schema(
        {"strategy": "string", "n_treated": "int64", "incremental": "float64", **_UPLIFT_STAMP}
    ),
}
INPUTS = ("stg_payments", "stg_contacts", "stg_customers", "mart_customer_360")
OPTIONAL = (DEFINITIONS_TABLE, ASSIGNMENTS_TABLE, EVENTS_TABLE, "stg_complaints")
OUTPUTS = (TRACKING_MART, SAVINGS_MART)


def build(tables: dict[str, ibis.Table], config: Config) -> dict[str, ibis.Table]:
    """The two marts (see marts.yaml); empty when no campaign has been created."""
    if DEFINITIONS_TABLE not in tables or ASSIGNMENTS_TABLE not in tables:
        return {TRACKING_MART: empty(TRACKING_SCHEMA), SAVINGS_MART: empty(SAVINGS_SCHEMA)}
    settings = campaign_settings_from_config(config)
    actions = definition_actions(tables[DEFINITIONS_TABLE])
    c360 = tables["mart_customer_360"]
    kept = settings.retention
    tracking = track_campaigns(
        tables[ASSIGNMENTS_TABLE],
        actions,
        confidence=settings.confidence,
        destinations=settings.self_service_payment_channels,
        payments=tables["stg_payments"],
        contacts=tables["stg_contacts"],
        customers=tables["stg_customers"],
        c360=c360,
        complaints=tables.get("stg_complaints"),
        store_channels=settings.store_channels,
        agent_channel=settings.agent_channel,
    )
    money = campaign_savings(
        tracking,
        tables.get(EVENTS_TABLE),
        settings.moved_cost_difference_yuan,
        settings.work_order_cost_yuan,
        retention_arpu=(
            retention_arpu(tables[ASSIGNMENTS_TABLE], actions, c360, kept.arpu_column)
            if kept.arpu_column in c360.columns
            else None
        ),
        remaining_months=kept.remaining_months,
        target_success_rate=kept.target_success_rate,
    )
    return {TRACKING_MART: tracking, SAVINGS_MART: money}
