"""Churn prediction over time: train on past months, calibrate on a later one, measure on the
latest month whose outcome is known, then score the latest month with reasons."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

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


def training_rows(rows: pd.DataFrame, settings: ChurnSettings) -> pd.DataFrame:
    """``rows``, or a seeded sample of ``settings.model.max_train_rows`` of them when there
    are more (in their order, so the same rows give the same sample)."""
    cap = settings.model.max_train_rows
    if len(rows) <= cap:
        return rows
    rng = np.random.default_rng(settings.model.random_state)
    return rows.iloc[np.sort(rng.choice(len(rows), cap, replace=False))]


def _month_text(month) -> str:
    """``2026-05``: a month as people write it."""
    return pd.Timestamp(month).strftime("%Y-%m")


def _labelled_months(frame: pd.DataFrame) -> list:
    known = frame[frame[LABEL].notna()]
    return sorted(known["month"].unique())


FOLDS = 5


def _one_month(by_month: dict, month, columns: list[str], settings: ChurnSettings) -> ChurnRun:
    """One labelled month: no later month to hold out, so the measures are cross-validated
    within it (stratified folds, out-of-fold probabilities) and say so in their note; the
    model that scores the latest month is trained on it with cross-fitted calibration."""
    rows = by_month[month]
    X, y = rows[columns], rows[LABEL].astype(bool).to_numpy()
    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=settings.model.random_state)
    p_model, p_base = np.zeros(len(y)), np.zeros(len(y))
    for train, test in folds.split(X, y):
        fold = make_model(settings).fit(X.iloc[train], y[train])
        p_model[test] = fold.predict_proba(X.iloc[test])[:, 1]
        base = logistic_baseline(X).fit(baseline_frame(X.iloc[train]), y[train])
        p_base[test] = base.predict_proba(baseline_frame(X.iloc[test]))[:, 1]
    note = (
        f"cross-validated within {_month_text(month)} ({FOLDS} folds): "
        "no later month to hold out yet"
    )
    evaluation = [
        {
            "model": name,
            "train_months": [_month_text(month)],
            "calibration_months": [],
            "test_month": _month_text(month),
            **binary_metrics(y, p, settings.calibration_bins),
            "note": note,
        }
        for name, p in (("lightgbm", p_model), ("logistic", p_base))
    ]
    final = make_model(settings).fit(X, y)
    latest = max(by_month)
    holdout = score_with_reasons(final, rows, settings)
    holdout["churn_probability"] = p_model  # out of fold, as measured
    return ChurnRun(
        evaluation=evaluation,
        calibration=calibration_table(y, p_model, settings.calibration_bins),
        drivers=driver_summary(X, final.contributions(X), settings),
        holdout=holdout,
        scores=score_with_reasons(final, by_month[latest], settings),
        model=final,
        months={
            "labelled": [_month_text(month)],
            "scored": [_month_text(latest)],
            "final_train": [_month_text(month)],
            "final_calibration": [],
        },
    )


def predict_churn(features: pd.DataFrame, settings: ChurnSettings) -> ChurnRun:
    """Train, measure and score (the time-ordered recipe of docs/churn.md).

    With labelled months m1 < ... < mk: the model is trained on m1..m(k-2), calibrated on
    m(k-1) and measured on mk (the logistic baseline is trained on m1..m(k-1)); the same
    recipe one month later (trained on m1..m(k-1), calibrated on mk) scores the latest
    month. With two labelled months the calibration is cross-fitted on the training month;
    with one, the measures are cross-validated within it (their ``note`` says so).

    Raises
    ------
    ChurnDataError
        No labelled month, or a labelled month with fewer than five churners.
    """
    months = _labelled_months(features)
    if not months:
        raise ChurnDataError(
            "churn prediction needs a month whose next month is known (found none); "
            "load at least two months"
        )
    by_month = {m: features[features["month"] == m] for m in features["month"].unique()}
    for m in months:
        if by_month[m][LABEL].astype(bool).sum() < FOLDS:
            raise ChurnDataError(
                f"fewer than {FOLDS} customers left in the month after {_month_text(m)}: "
                "too few to learn from"
            )
    columns = feature_columns(list(features.columns))
    if len(months) == 1:
        return _one_month(by_month, months[0], columns, settings)

    def rows(ms) -> pd.DataFrame:
        return pd.concat([by_month[m] for m in ms])

    test_month = months[-1]
    if len(months) >= 3:
        train_months, cal_months = months[:-2], [months[-2]]
    else:
        train_months, cal_months = months[:-1], []
    train, test = training_rows(rows(train_months), settings), by_month[test_month]
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

    base_rows = training_rows(rows(train_months + cal_months), settings)
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
    fit_rows, cal_rows = training_rows(rows(fit_months), settings), rows(final_cal)
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
