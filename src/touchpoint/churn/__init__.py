"""Churn prediction with reasons, and retention (brief §7, issue 14 items 3, 4 and 6).

- **Churn prediction**: :func:`churn_features` (pure Ibis, from the customer 360 and the
  contacts) gives one row per customer × month with ``churn_next_month``;
  :func:`predict_churn` trains :class:`ChurnClassifier` (LightGBM, calibrated) on past
  months, measures it and a logistic baseline on the latest month whose outcome is known,
  and scores the latest month with per-customer reasons: tree-SHAP contributions grouped
  into the operator's taxonomy through the feature -> reason mapping of ``defaults.yaml``.
  The pipeline step ``churn`` writes ``mart_churn_scores``, ``mart_churn_evaluation``,
  ``mart_churn_calibration`` and ``mart_churn_drivers``.
- **Any table**: :func:`evaluate_file` (``touchpoint churn evaluate FILE --target COL``).
- **Retention**: :func:`customer_lifetimes` and :func:`kaplan_meier` (retention curves by
  join cohort with intervals), :class:`ShiftedBetaGeometric` (Fader & Hardie 2007)
  (``touchpoint retention fit FILE``); the pipeline step ``retention`` writes
  ``mart_retention_curves``, ``mart_retention_sbg`` and ``mart_retention_projection``.
- **Lifetime value and work orders**: the step ``retention_value`` fits the sBG to each
  segment's cohort (``mart_customer_segments``) and writes ``mart_retention_segment_value``
  and ``mart_retention_work_orders`` (:func:`work_orders`; ``touchpoint churn work-orders``).

docs/churn.md describes the method, what a feature may see, and the measured figures.

>>> ShiftedBetaGeometric().fit([1000, 631, 468, 382, 326, 289, 262, 241]).alpha_ > 0.7
True
"""

from touchpoint.capability import Step
from touchpoint.churn._build import (
    CALIBRATION_MART,
    DRIVERS_MART,
    EVALUATION_MART,
    INPUTS,
    OUTPUTS,
    SCORES_MART,
    build,
    churn_tables,
)
from touchpoint.churn._cohorts import cohort_active_counts, customer_lifetimes, kaplan_meier
from touchpoint.churn._evaluate import (
    ChurnInputError,
    PreparedTable,
    cross_validate,
    evaluate_file,
    prepare_table,
    read_table,
)
from touchpoint.churn._features import LABEL, churn_features, contact_outcomes_monthly
from touchpoint.churn._metrics import (
    binary_metrics,
    calibration_table,
    expected_calibration_error,
    top_decile_lift,
)
from touchpoint.churn._model import ChurnClassifier, logistic_baseline
from touchpoint.churn._predict import ChurnDataError, ChurnRun, predict_churn, score_with_reasons
from touchpoint.churn._queries import (
    churn_calibration,
    churn_drivers,
    churn_evaluation,
    customer_churn,
    lift_by_decile,
    reason_counts,
    retention_curves,
    risk_histogram,
    segment_value_rows,
    top_risks,
)
from touchpoint.churn._reasons import driver_summary, reason_contributions, top_reasons
from touchpoint.churn._retention_build import (
    CURVES_MART,
    PROJECTION_MART,
    RETENTION_INPUTS,
    RETENTION_OUTPUTS,
    SBG_MART,
    build_retention,
    retention_tables,
)
from touchpoint.churn._sbg import (
    RetentionInputError,
    SBGFit,
    ShiftedBetaGeometric,
    read_cohort_table,
    simulate_cohort,
)
from touchpoint.churn._settings import (
    ChurnSettings,
    churn_settings_from_config,
    load_churn_settings,
)
from touchpoint.churn._value import (
    SEGMENT_VALUE_MART,
    VALUE_INPUTS,
    VALUE_OUTPUTS,
    WORK_ORDERS_MART,
    build_value,
    retention_work_orders,
    segment_cohort_counts,
    segment_value,
    value_tables,
    work_orders,
)

__all__ = [
    "churn_calibration",
    "churn_drivers",
    "churn_evaluation",
    "lift_by_decile",
    "retention_curves",
    "top_risks",
    "customer_churn",
    "reason_counts",
    "risk_histogram",
    "segment_value_rows",
    "SEGMENT_VALUE_MART",
    "VALUE_INPUTS",
    "VALUE_OUTPUTS",
    "WORK_ORDERS_MART",
    "build_value",
    "retention_work_orders",
    "segment_cohort_counts",
    "segment_value",
    "value_tables",
    "work_orders",
    "STEPS",
    "CALIBRATION_MART",
    "CURVES_MART",
    "PROJECTION_MART",
    "RETENTION_INPUTS",
    "RETENTION_OUTPUTS",
    "SBG_MART",
    "DRIVERS_MART",
    "EVALUATION_MART",
    "INPUTS",
    "LABEL",
    "OUTPUTS",
    "SCORES_MART",
    "ChurnClassifier",
    "ChurnDataError",
    "ChurnInputError",
    "ChurnRun",
    "ChurnSettings",
    "PreparedTable",
    "RetentionInputError",
    "SBGFit",
    "ShiftedBetaGeometric",
    "binary_metrics",
    "build",
    "build_retention",
    "calibration_table",
    "churn_features",
    "churn_settings_from_config",
    "churn_tables",
    "cohort_active_counts",
    "contact_outcomes_monthly",
    "cross_validate",
    "customer_lifetimes",
    "driver_summary",
    "evaluate_file",
    "expected_calibration_error",
    "kaplan_meier",
    "load_churn_settings",
    "logistic_baseline",
    "predict_churn",
    "prepare_table",
    "read_cohort_table",
    "read_table",
    "retention_tables",
    "reason_contributions",
    "score_with_reasons",
    "simulate_cohort",
    "top_decile_lift",
    "top_reasons",
]

#: The pipeline steps of churn prediction and retention (``touchpoint.pipeline`` runs them).
STEPS = (
    Step(
        "churn",
        inputs=INPUTS[0],
        optional=INPUTS[1],
        outputs=OUTPUTS,
        build=build,
        description="churn model on past months: held-out measures, latest month scored with reasons",
        in_memory=True,
    ),
    Step(
        "retention",
        inputs=RETENTION_INPUTS[0],
        optional=RETENTION_INPUTS[1],
        outputs=RETENTION_OUTPUTS,
        build=build_retention,
        description="Kaplan-Meier retention by join year; sBG fitted to the new cohorts",
        in_memory=True,
    ),
    Step(
        "retention_value",
        inputs=VALUE_INPUTS[0],
        optional=VALUE_INPUTS[1],
        outputs=VALUE_OUTPUTS,
        build=build_value,
        description="lifetime value per segment (sBG); retention work orders by risk x value",
        in_memory=True,
    ),
)
