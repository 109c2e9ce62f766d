"""Pipeline step ``churn``: features from the customer 360, the time-ordered model, its
measures on the held-out month and the latest month scored with reasons."""

from __future__ import annotations

import ibis
import pandas as pd

from touchpoint.churn._features import churn_features, churn_labels
from touchpoint.churn._predict import ChurnDataError, Features, predict_churn
from touchpoint.churn._settings import ChurnSettings, churn_settings_from_config
from touchpoint.config import Config

SCORES_MART = "mart_churn_scores"
EVALUATION_MART = "mart_churn_evaluation"
CALIBRATION_MART = "mart_churn_calibration"
DRIVERS_MART = "mart_churn_drivers"
#: Inputs of the step: (required, optional).
INPUTS = (("mart_customer_360",), ("stg_contacts",))
OUTPUTS = (SCORES_MART, EVALUATION_MART, CALIBRATION_MART, DRIVERS_MART)

_METRICS = (
    "n",
    "n_churners",
    "base_rate",
    "roc_auc",
    "pr_auc",
    "top_decile_lift",
    "brier",
    "calibration_error",
    "mean_predicted",
)


def _scores_schema(settings: ChurnSettings) -> dict[str, str]:
    schema = {
        "customer_id": "string",
        "month": "date",
        "churn_probability": "float64",
        "risk_rank": "int64",
        "risk_decile": "int64",
    }
    for i in range(1, settings.top_reasons + 1):
        schema[f"reason_{i}"] = "string"
        schema[f"contribution_{i}"] = "float64"
    schema["top_reason_group"] = "string"
    schema["top_reason_controllable"] = "boolean"
    for reason in settings.reasons:
        schema[f"contribution_{reason}"] = "float64"
    return schema


EVALUATION_SCHEMA = {
    "model": "string",
    "train_months": "string",
    "calibration_months": "string",
    "test_month": "string",
    **{m: ("int64" if m.startswith("n") else "float64") for m in _METRICS},
    "note": "string",
}
CALIBRATION_SCHEMA = {
    "bin": "int64",
    "n": "int64",
    "mean_predicted": "float64",
    "observed_rate": "float64",
}
DRIVERS_SCHEMA = {
    "rank": "int64",
    "feature": "string",
    "reason": "string",
    "mean_abs_contribution": "float64",
    "direction": "float64",
    "top_value": "string",
}


def as_table(frame: pd.DataFrame, schema: dict[str, str]) -> ibis.Table:
    """``frame`` as an in-memory table of exactly ``schema``'s columns and types (an empty
    frame too, whose columns pandas would otherwise call float)."""
    if frame.empty:
        return ibis.memtable(ibis.schema(schema).to_pyarrow().empty_table())
    return ibis.memtable(frame.reindex(columns=list(schema)), schema=ibis.schema(schema))


def churn_tables(
    features: Features, settings: ChurnSettings, labels: ibis.Table | None = None
) -> dict[str, ibis.Table]:
    """The four churn marts from a :func:`churn_features` table (in the warehouse, of which
    only the rows the run needs are read; as a data frame; or a function of a row condition
    that builds it, see :data:`~touchpoint.churn._predict.Features`).

    ``mart_churn_scores``: one row per customer in the network at the end of the latest
    month; ``mart_churn_evaluation``: one row per model (``lightgbm``, ``logistic``) with
    its measures on the held-out month; ``mart_churn_calibration``: one row per bin of
    LightGBM's probabilities on that month; ``mart_churn_drivers``: one row per feature,
    strongest first. With too few months to train, the marts are empty but for one
    evaluation row whose ``note`` says why. ``labels``: the keys and label of the same rows
    (:func:`~touchpoint.churn._features.churn_labels`), to count the months cheaply.
    """
    try:
        run = predict_churn(features, settings, labels)
    except ChurnDataError as exc:
        note = pd.DataFrame([{"model": "lightgbm", "note": str(exc)}])
        return {
            SCORES_MART: as_table(pd.DataFrame(), _scores_schema(settings)),
            EVALUATION_MART: as_table(note, EVALUATION_SCHEMA),
            CALIBRATION_MART: as_table(pd.DataFrame(), CALIBRATION_SCHEMA),
            DRIVERS_MART: as_table(pd.DataFrame(), DRIVERS_SCHEMA),
        }
    evaluation = pd.DataFrame(run.evaluation)
    for column in ("train_months", "calibration_months"):
        evaluation[column] = evaluation[column].map(", ".join)
    scores = run.scores.copy()
    scores["month"] = pd.to_datetime(scores["month"]).dt.date
    drivers = run.drivers.copy()
    drivers.insert(0, "rank", range(1, len(drivers) + 1))
    return {
        SCORES_MART: as_table(scores, _scores_schema(settings)),
        EVALUATION_MART: as_table(evaluation, EVALUATION_SCHEMA),
        CALIBRATION_MART: as_table(pd.DataFrame(run.calibration), CALIBRATION_SCHEMA),
        DRIVERS_MART: as_table(drivers, DRIVERS_SCHEMA),
    }


def build(tables: dict[str, ibis.Table], config: Config) -> dict[str, ibis.Table]:
    """Step ``churn``: the churn marts (see :func:`churn_tables`).

    The features are built in Ibis; the months are chosen and the training customers
    sampled there too, and only the rows the run needs are read into memory (LightGBM trains
    on a data frame): see :func:`~touchpoint.churn.read_churn_data`; the months are counted
    from the labels alone, and the latest month is read and scored a block of customers at
    a time.
    """
    settings = churn_settings_from_config(config)
    c360, contacts = tables["mart_customer_360"], tables.get("stg_contacts")

    def features(keep=None) -> ibis.Table:
        return churn_features(c360, contacts, settings, keep)

    return churn_tables(features, settings, churn_labels(c360))
