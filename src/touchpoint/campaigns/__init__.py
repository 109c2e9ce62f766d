"""Campaigns (issue 13): the closed loop of diversion and retention campaigns.

- **Definitions** (:func:`load_campaign`): YAML validated by pydantic, an audience as a rule
  of the tag language or a list of tags; stored versioned in ``campaign_definitions``.
- **Assignment** (:func:`assign`): the holdout drawn by a hash of campaign and customer,
  stratified by the audience's preference level and kept for later waves; a global holdout
  never marketed; a sample-ratio check.
- **Work orders**: an append-only event table (create, approve, dispatch, feedback).
- **Flow** (:func:`create_campaign`, :func:`approve_campaign`, :func:`dispatch_campaign`):
  each step of the flow as one transaction handed to the adapter's ``save``, refusals in one
  line; the command line and the console only call them and render.
- **Contact policy** (:func:`apply_contact_policy`): caps, quiet hours, do-not-disturb,
  opted-out and sensitive customers, campaign priority; each held-back order keeps its reason.
- **Tracking**: treated and holdout month by month in seed 002's terms, the net effect with
  its interval beside the naive before/after figure, and the money. Step
  ``campaign_tracking`` writes ``mart_campaign_tracking`` and ``mart_campaign_savings`` from
  the campaign tables (:data:`RECORDS`, written by ``touchpoint campaign``) when they exist.
- **Uplift** (:func:`whom_to_treat_next`): who responds, learnt from a finished randomised
  round by a causalml meta-learner; the next audience scored and picked by expected saving.
  :func:`uplift_campaign` does it for a stored campaign and saves the scores, the strategies
  compared and the Qini curves, which :func:`campaign_uplift` reads back for the report.

>>> campaign_from_data({"id": "c1", "name": {"en": "A", "zh": "甲"},
...     "action": "retention_offer", "audience": {"rule": "n_complaints_3m >= 2"}}).action
'retention_offer'
"""

from touchpoint.campaigns._assignment import (
    HOLDOUT,
    STRATUM_COLUMN,
    TREATMENT,
    SampleRatio,
    SampleRatioWarning,
    assign,
    assign_wave,
    draw,
    is_global_holdout,
    limit_size,
    sample_ratio_check,
    select_audience,
)
from touchpoint.campaigns._build import (
    ASSIGNMENTS_TABLE,
    DEFINITIONS_TABLE,
    INPUTS,
    OPTIONAL,
    OUTPUTS,
    RECORDS,
    SAVINGS_MART,
    TRACKING_MART,
    UPLIFT_COMPARISON_TABLE,
    UPLIFT_CURVES_TABLE,
    UPLIFT_SCORES_TABLE,
    build,
)
from touchpoint.campaigns._definition import (
    ACTIONS,
    WORK_ORDER_CHANNELS,
    Campaign,
    CampaignError,
    FieldProblem,
    campaign_from_data,
    campaign_from_text,
    load_campaign,
)
from touchpoint.campaigns._flow import (
    Dispatched,
    Save,
    approve_campaign,
    campaign_definition,
    create_campaign,
    dispatch_campaign,
    next_send_time,
    work_order_events,
)
from touchpoint.campaigns._policy import (
    HOLD_REASONS,
    apply_contact_policy,
    eligible_audience,
    out_of_quiet_hours,
)
from touchpoint.campaigns._queries import (
    ORDER_STATES,
    campaign_detail,
    campaign_list,
    campaign_savings_rows,
    campaign_tracking,
    campaign_uplift,
    customer_work_orders,
)
from touchpoint.campaigns._settings import (
    CampaignSettings,
    ContactPolicy,
    FrequencyCap,
    RetentionValue,
    UpliftSettings,
    campaign_settings_from_config,
    load_campaign_settings,
)
from touchpoint.campaigns._tracking import (
    AGENT_METRICS,
    METRICS,
    PRIMARY,
    RETENTION_METRICS,
    SIDE_EFFECT,
    SIDE_EFFECT_METRICS,
    action_metrics,
    campaign_customer_months,
    campaign_savings,
    definition_actions,
    monthly_payments,
    retention_arpu,
    savings,
    track,
    track_campaigns,
)
from touchpoint.campaigns._uplift import (
    OUTCOME,
    STRATEGIES,
    NextRound,
    Qini,
    UpliftModel,
    compare_strategies,
    expected_saving,
    out_of_fold,
    pick,
    qini,
    strategy_scores,
    uplift_features,
    uplift_outcomes,
    whom_to_treat_next,
)
from touchpoint.campaigns._uplift_round import (
    NoOutcomeYet,
    UpliftRound,
    next_audience,
    uplift_campaign,
)
from touchpoint.campaigns._work_orders import (
    DISPATCH_COLUMNS,
    EVENT_SCHEMA,
    EVENTS_TABLE,
    approval_events,
    created_events,
    dispatch,
    dispatched_history,
    feedback_events,
    order_states,
)
from touchpoint.capability import Step

STEPS = (
    Step(
        "campaign_tracking",
        inputs=INPUTS,
        optional=OPTIONAL,
        outputs=OUTPUTS,
        build=build,
        description="every campaign's treated and holdout month by month: net effect with its "
        "interval beside the naive figure, side effects, money",
    ),
)

__all__ = [
    "ORDER_STATES",
    "campaign_detail",
    "campaign_list",
    "Dispatched",
    "Save",
    "approve_campaign",
    "campaign_definition",
    "create_campaign",
    "dispatch_campaign",
    "next_send_time",
    "work_order_events",
    "AGENT_METRICS",
    "ASSIGNMENTS_TABLE",
    "DEFINITIONS_TABLE",
    "OUTCOME",
    "STRATEGIES",
    "NextRound",
    "Qini",
    "UpliftModel",
    "UpliftSettings",
    "compare_strategies",
    "expected_saving",
    "out_of_fold",
    "pick",
    "qini",
    "strategy_scores",
    "uplift_features",
    "uplift_outcomes",
    "whom_to_treat_next",
    "NoOutcomeYet",
    "UpliftRound",
    "UPLIFT_COMPARISON_TABLE",
    "UPLIFT_CURVES_TABLE",
    "UPLIFT_SCORES_TABLE",
    "next_audience",
    "uplift_campaign",
    "campaign_uplift",
    "METRICS",
    "PRIMARY",
    "RECORDS",
    "RETENTION_METRICS",
    "SAVINGS_MART",
    "SIDE_EFFECT",
    "SIDE_EFFECT_METRICS",
    "STEPS",
    "TRACKING_MART",
    "action_metrics",
    "eligible_audience",
    "campaign_savings_rows",
    "campaign_tracking",
    "customer_work_orders",
    "build",
    "campaign_customer_months",
    "campaign_savings",
    "definition_actions",
    "monthly_payments",
    "savings",
    "track",
    "track_campaigns",
    "DISPATCH_COLUMNS",
    "EVENT_SCHEMA",
    "EVENTS_TABLE",
    "approval_events",
    "created_events",
    "dispatch",
    "dispatched_history",
    "feedback_events",
    "order_states",
    "ACTIONS",
    "HOLDOUT",
    "HOLD_REASONS",
    "STRATUM_COLUMN",
    "TREATMENT",
    "WORK_ORDER_CHANNELS",
    "Campaign",
    "CampaignError",
    "CampaignSettings",
    "ContactPolicy",
    "FrequencyCap",
    "RetentionValue",
    "retention_arpu",
    "SampleRatio",
    "SampleRatioWarning",
    "apply_contact_policy",
    "assign",
    "assign_wave",
    "campaign_from_data",
    "campaign_from_text",
    "FieldProblem",
    "campaign_settings_from_config",
    "draw",
    "is_global_holdout",
    "limit_size",
    "load_campaign",
    "load_campaign_settings",
    "out_of_quiet_hours",
    "sample_ratio_check",
    "select_audience",
]
