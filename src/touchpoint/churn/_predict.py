"""Churn prediction over time: train on past months, calibrate on a later one, measure on the
latest month whose outcome is known, then score the latest month with reasons."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from touchpoint.churn._features import KEYS, LABEL, feature_columns
from touchpoint.churn._metrics import binary_metrics, calibration_table
from touchpoint.churn._model import ChurnClassifier, baseline_frame, logistic_baseline
from touchpoint.churn._reasons import driver_summary, reason_contributions, top_reasons
from touchpoint.churn._settings import ChurnSettings
from touchpoint.errors import TouchpointError


class ChurnDataError(TouchpointError, ValueError):
    """The features do not hold enough months or churners to train and measure a model."""


@dataclass
class ChurnRun:
    """What :func:`predict_churn` produced.

    ``evaluation``: one record per model (``lightgbm``, ``logistic``) with the months used
    and :func:`~touchpoint.churn.binary_metrics` on the held-out month; ``calibration``: the
    LightGBM bins on that month; ``drivers``: :func:`driver_summary` on it; ``holdout``: its
    rows scored with reasons (keys, label, probability, reasons); ``scores``: the latest
    month scored with reasons; ``model``: the model that scored it.
    """

    evaluation: list[dict]
    calibration: list[dict]
    drivers: pd.DataFrame
    holdout: pd.DataFrame
    scores: pd.DataFrame
    model: ChurnClassifier
    months: dict[str, list[str]] = field(default_factory=dict)


def make_model(settings: ChurnSettings) -> ChurnClassifier:
    m = settings.model
    return ChurnClassifier(
        n_estimators=m.n_estimators,
        learning_rate=m.learning_rate,
        num_leaves=m.num_leaves,
        min_child_samples=m.min_child_samples,
        calibration=m.calibration,
        random_state=m.random_state,
    )


def score_with_reasons(
    model: ChurnClassifier, rows: pd.DataFrame, settings: ChurnSettings
) -> pd.DataFrame:
    """``rows``' keys with ``churn_probability``, ``risk_rank`` (1 = riskiest),
    ``risk_decile`` (1 = top tenth), ``reason_1..k`` with their contributions,
    ``top_reason_group`` and ``top_reason_controllable``, and ``contribution_<reason>`` for
    every reason of the taxonomy (log-odds)."""
    X = rows[feature_columns(list(rows.columns))]
    probability = model.predict_proba(X)[:, 1]
    by_reason = reason_contributions(model.contributions(X), settings)
    top = top_reasons(by_reason, settings.top_reasons)
    out = rows[[c for c in (*KEYS, LABEL) if c in rows.columns]].copy()
    out["churn_probability"] = probability
    rank = pd.Series(-probability, index=rows.index).rank(method="first").astype("int64")
    out["risk_rank"] = rank
    out["risk_decile"] = np.minimum(10, (rank - 1) * 10 // max(len(rows), 1) + 1).astype("int64")
    out = pd.concat([out, top], axis=1)
    first = out["reason_1"]
    out["top_reason_group"] = first.map(lambda r: settings.reasons[r].group if r else None)
    out["top_reason_controllable"] = first.map(
        lambda r: settings.reasons[r].controllable if r else None
    )
    for reason in settings.reasons:
        out[f"contribution_{reason}"] = by_reason[reason].to_numpy()
    return out.reset_index(drop=True)


def _month_text(month) -> str:
    """``2026-05``: a month as people write it."""
    return pd.Timestamp(month).strftime("%Y-%m")


def _labelled_months(frame: pd.DataFrame) -> list:
    known = frame[frame[LABEL].notna()]
    return sorted(known["month"].unique())


def predict_churn(features: pd.DataFrame, settings: ChurnSettings) -> ChurnRun:
    """Train, measure and score (the time-ordered recipe of docs/churn.md).

    With labelled months m1 < ... < mk: the model is trained on m1..m(k-2), calibrated on
    m(k-1) and measured on mk (the logistic baseline is trained on m1..m(k-1)); the same
    recipe one month later (trained on m1..m(k-1), calibrated on mk) scores the latest
    month. With two labelled months the calibration is cross-fitted on the training month.

    Raises
    ------
    ChurnDataError
        Fewer than two labelled months, or a month without a churner.
    """
    months = _labelled_months(features)
    if len(months) < 2:
        raise ChurnDataError(
            f"churn prediction needs at least two months whose next month is known "
            f"(found {len(months)}: {[_month_text(m) for m in months]}); load more months"
        )
    by_month = {m: features[features["month"] == m] for m in features["month"].unique()}
    for m in months:
        if by_month[m][LABEL].astype(bool).sum() == 0:
            raise ChurnDataError(
                f"no customer left in the month after {_month_text(m)}: nothing to learn"
            )
    columns = feature_columns(list(features.columns))

    def rows(ms) -> pd.DataFrame:
        return pd.concat([by_month[m] for m in ms])

    test_month = months[-1]
    if len(months) >= 3:
        train_months, cal_months = months[:-2], [months[-2]]
    else:
        train_months, cal_months = months[:-1], []
    train, test = rows(train_months), by_month[test_month]
    model = make_model(settings)
    if cal_months:
        cal = rows(cal_months)
        model.fit(
            train[columns],
            train[LABEL].astype(bool),
            X_calibration=cal[columns],
            y_calibration=cal[LABEL].astype(bool),
        )
    else:
        model.fit(train[columns], train[LABEL].astype(bool))
    y_test = test[LABEL].astype(bool).to_numpy()
    p_test = model.predict_proba(test[columns])[:, 1]

    base_rows = rows(train_months + cal_months)
    baseline = logistic_baseline(base_rows[columns]).fit(
        baseline_frame(base_rows[columns]), base_rows[LABEL].astype(bool)
    )
    p_base = baseline.predict_proba(baseline_frame(test[columns]))[:, 1]

    def record(name: str, trained: list, calibrated: list, p: np.ndarray) -> dict:
        return {
            "model": name,
            "train_months": [_month_text(m) for m in trained],
            "calibration_months": [_month_text(m) for m in calibrated],
            "test_month": _month_text(test_month),
            **binary_metrics(y_test, p, settings.calibration_bins),
        }

    evaluation = [
        record("lightgbm", train_months, cal_months, p_test),
        record("logistic", train_months + cal_months, [], p_base),
    ]
    calibration = calibration_table(y_test, p_test, settings.calibration_bins)
    drivers = driver_summary(test[columns], model.contributions(test[columns]), settings)
    holdout = score_with_reasons(model, test, settings)

    # The same recipe one month later scores the latest month.
    latest = max(by_month)
    final = make_model(settings)
    fit_months, final_cal = months[:-1], [months[-1]]
    fit_rows, cal_rows = rows(fit_months), rows(final_cal)
    final.fit(
        fit_rows[columns],
        fit_rows[LABEL].astype(bool),
        X_calibration=cal_rows[columns],
        y_calibration=cal_rows[LABEL].astype(bool),
    )
    scores = score_with_reasons(final, by_month[latest], settings)
    return ChurnRun(
        evaluation=evaluation,
        calibration=calibration,
        drivers=drivers,
        holdout=holdout,
        scores=scores,
        model=final,
        months={
            "labelled": [_month_text(m) for m in months],
            "scored": [_month_text(latest)],
            "final_train": [_month_text(m) for m in fit_months],
            "final_calibration": [_month_text(m) for m in final_cal],
        },
    )
