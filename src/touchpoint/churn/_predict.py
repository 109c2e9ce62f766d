"""Churn prediction over time: train on past months, calibrate on a later one, measure on the
latest month whose outcome is known, then score the latest month with reasons."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sklearn.model_selection import StratifiedKFold

from touchpoint.churn._features import KEYS, LABEL, feature_columns, sample_key
from touchpoint.churn._metrics import binary_metrics, calibration_table
from touchpoint.churn._model import ChurnClassifier, baseline_frame, logistic_baseline
from touchpoint.churn._reasons import driver_summary, reason_contributions, top_reasons
from touchpoint.churn._settings import ChurnSettings
from touchpoint.errors import TouchpointError


class ChurnDataError(TouchpointError, ValueError):
    """The features do not hold enough months or churners to train and measure a model."""


FOLDS = 5


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
    model: ChurnClassifier,
    rows: pd.DataFrame,
    settings: ChurnSettings,
    contributions: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """``rows``' keys with ``churn_probability``, ``risk_rank`` (1 = riskiest),
    ``risk_decile`` (1 = top tenth), ``reason_1..k`` with their contributions,
    ``top_reason_group`` and ``top_reason_controllable``, and ``contribution_<reason>`` for
    every reason of the taxonomy (log-odds). ``contributions``: the model's
    :meth:`~ChurnClassifier.contributions` for ``rows`` when already computed."""
    X = rows[[c for c in model.feature_names_in_ if c in rows.columns]]
    probability = model.predict_proba(X)[:, 1]
    if contributions is None:
        contributions = model.contributions(X)
    by_reason = reason_contributions(contributions, settings)
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


#: The column of :class:`ChurnData`'s frame holding each row's :func:`sample_key`.
SAMPLE_KEY = "_sample_key"
_ORDER = "_order"


def sample_fraction(n_rows: int, cap: int) -> float:
    """The share of customers to sample so that ``n_rows`` customer-months come to about
    ``cap`` (1.0: all of them)."""
    return 1.0 if n_rows <= cap else cap / n_rows


@dataclass
class ChurnData:
    """The feature rows a churn run reads, and its months.

    ``frame`` holds the rows of every month the run needs (whole months for calibration,
    measures and scores; months used only to train, only the customers of the training
    sample), numbers as float32, text as categories, with the sample key; ``labelled``:
    the months whose next month is known, oldest first; ``latest``: the month to score;
    ``counts``: customer-months per month.
    """

    frame: pd.DataFrame
    labelled: list
    latest: object
    counts: dict

    def month(self, month) -> pd.DataFrame:
        """Every row of ``month``."""
        return self.frame[self.frame["month"] == month]

    def rows(self, months: list, settings: ChurnSettings | None = None) -> pd.DataFrame:
        """The rows of ``months``; with ``settings``, only the customers of the training
        sample that brings them to about ``model.max_train_rows`` (see
        :func:`training_plan`)."""
        keep = self.frame["month"].isin(months)
        if settings is not None:
            n = sum(self.counts[m] for m in months)
            keep &= self.frame[SAMPLE_KEY] < sample_fraction(n, settings.model.max_train_rows)
        return self.frame[keep]


def _fit_months(labelled: list) -> list[list]:
    """The months each fit trains on (measured model, baseline, final model)."""
    if len(labelled) == 1:
        return []
    if len(labelled) >= 3:
        return [labelled[:-2], labelled[:-1]]
    return [labelled[:-1]]


def training_plan(counts: dict, labelled: list, latest, settings: ChurnSettings) -> dict:
    """Month -> the share of its customers a run reads: every customer of the months it
    calibrates on, measures or scores (the last two labelled months and the latest), and of
    a month it only trains on, the training sample. The sample is by customer (all of a
    sampled customer's months), the customers whose :func:`sample_key` lies below
    ``max_train_rows`` / the fit's customer-months; with several fits the largest share
    is read (the smaller samples lie inside it)."""
    plan = {m: 1.0 for m in (*labelled[-2:], latest)}
    for months in _fit_months(labelled):
        share = sample_fraction(sum(counts[m] for m in months), settings.model.max_train_rows)
        for m in months:
            plan[m] = max(plan.get(m, 0.0), share)
    return plan


def _feature_casts(table: ir.Table) -> dict:
    """Numbers and booleans as float32 (half the memory; LightGBM bins them anyway)."""
    casts = {}
    for name, dtype in table.schema().items():
        if name in (*KEYS, LABEL, SAMPLE_KEY, _ORDER):
            continue
        if dtype.is_numeric() or dtype.is_boolean():
            casts[name] = table[name].cast("float32")
    return casts


def _to_frame(arrow: pa.Table) -> pd.DataFrame:
    """Arrow to pandas without Python objects: text as categories (the customer id as
    Arrow strings), the label as a nullable boolean, dates as datetime64."""
    ids = None
    columns = {}
    for name in arrow.column_names:
        column = arrow[name]
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            if name == "customer_id":
                ids = pd.arrays.ArrowStringArray(column.combine_chunks().cast(pa.large_string()))
                continue
            column = column.dictionary_encode()
        columns[name] = column
    frame = pa.table(columns).to_pandas(
        date_as_object=False,
        types_mapper={pa.bool_(): pd.BooleanDtype()}.get,
        split_blocks=True,
        self_destruct=True,
    )
    if ids is not None:
        frame.insert(arrow.column_names.index("customer_id"), "customer_id", ids)
    return frame


#: What a churn run reads from: a :func:`~touchpoint.churn.churn_features` table, a data
#: frame of one, or a function of a row condition (``keep``, see ``churn_features``) that
#: builds the table (then the condition reaches the 360's scan and the joins hold only the
#: rows read).
Features = pd.DataFrame | ir.Table | Callable[[Callable | None], ir.Table]


def _features_of(features: Features) -> Callable[[Callable | None], ir.Table]:
    if callable(features) and not isinstance(features, (pd.DataFrame, ir.Table)):
        return features
    if isinstance(features, pd.DataFrame):
        frame = features.copy(deep=False)
        if LABEL in frame.columns and frame[LABEL].dtype == object:
            frame[LABEL] = frame[LABEL].astype("boolean")
        frame[_ORDER] = np.arange(len(frame))  # a data frame's rows keep their order
        table = ibis.memtable(frame)
    else:
        table = features
    return lambda keep: table if keep is None else table.filter(keep(table))


def read_churn_data(features: Features, settings: ChurnSettings) -> ChurnData:
    """The rows of ``features`` that a churn run needs (see :func:`training_plan`), read
    in one query after one for the months: at 1 M customers × 6 months 3.7 M of the 5.5 M
    customer-months, sorted by month and customer (a data frame's rows keep their order).

    Raises
    ------
    ChurnDataError
        No labelled month, or a labelled month with fewer than five churners.
    """
    build = _features_of(features)
    table = build(None)
    label = table[LABEL]
    summary = (
        table.group_by("month")
        .agg(
            n=table.count(),
            n_labelled=label.notnull().cast("int64").sum(),
            n_churners=label.fill_null(False).cast("int64").sum(),
        )
        .to_pandas()
    )
    summary["month"] = pd.to_datetime(summary["month"])
    summary = summary.sort_values("month")
    labelled = summary.loc[summary["n_labelled"] > 0, "month"].tolist()
    if not labelled:
        raise ChurnDataError(
            "churn prediction needs a month whose next month is known (found none); "
            "load at least two months"
        )
    for month, churners in zip(summary["month"], summary["n_churners"], strict=True):
        if month in labelled and churners < FOLDS:
            raise ChurnDataError(
                f"fewer than {FOLDS} customers left in the month after {_month_text(month)}: "
                "too few to learn from"
            )
    counts = dict(zip(summary["month"], summary["n"].astype(int), strict=True))
    latest = summary["month"].max()
    plan = training_plan(counts, labelled, latest, settings)
    seed = settings.model.random_state

    def wanted(t: ir.Table) -> ir.BooleanValue:
        key, month = sample_key(t.customer_id, seed), t.month.cast("date")
        return ibis.or_(
            *(
                (month == m.date()) & (key < share) if share < 1 else month == m.date()
                for m, share in plan.items()
            )
        )

    rows = build(wanted)
    selected = rows.mutate(
        **_feature_casts(rows), **{SAMPLE_KEY: sample_key(rows.customer_id, seed)}
    )
    arrow = selected.to_pyarrow()
    # Sorted here, not by the query: an ORDER BY holds every column of every row in DuckDB
    # (4.2 GB at 1 M customers against 3.0 GB).
    order = (
        [(_ORDER, "ascending")]
        if _ORDER in arrow.column_names
        else [
            ("month", "ascending"),
            ("customer_id", "ascending"),
        ]
    )
    arrow = arrow.take(pc.sort_indices(arrow, order))
    if _ORDER in arrow.column_names:
        arrow = arrow.drop_columns([_ORDER])
    frame = _to_frame(arrow)
    frame["month"] = pd.to_datetime(frame["month"])
    return ChurnData(frame=frame, labelled=labelled, latest=latest, counts=counts)


def _one_month(data: ChurnData, columns: list[str], settings: ChurnSettings) -> ChurnRun:
    """One labelled month: no later month to hold out, so the measures are cross-validated
    within it (stratified folds, out-of-fold probabilities) and say so in their note; the
    model that scores the latest month is trained on it with cross-fitted calibration."""
    month = data.labelled[0]
    rows = data.month(month)
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
    holdout = score_with_reasons(final, rows, settings)
    holdout["churn_probability"] = p_model  # out of fold, as measured
    return ChurnRun(
        evaluation=evaluation,
        calibration=calibration_table(y, p_model, settings.calibration_bins),
        drivers=driver_summary(X, final.contributions(X), settings),
        holdout=holdout,
        scores=score_with_reasons(final, data.month(data.latest), settings),
        model=final,
        months={
            "labelled": [_month_text(month)],
            "scored": [_month_text(data.latest)],
            "final_train": [_month_text(month)],
            "final_calibration": [],
        },
    )


@dataclass
class ChurnFits:
    """The fits of a run with two or more labelled months (:func:`fit_churn_models`)."""

    model: ChurnClassifier  # measured on ``test_month``
    baseline: object  # the logistic baseline, measured on ``test_month``
    final: ChurnClassifier  # scores the latest month
    train_months: list
    cal_months: list
    test_month: object
    fit_months: list
    final_cal: list
    columns: list[str]


def _fit(settings: ChurnSettings, train: pd.DataFrame, cal: pd.DataFrame | None, columns):
    model = make_model(settings)
    if cal is None:
        return model.fit(train[columns], train[LABEL].astype(bool))
    return model.fit(
        train[columns],
        train[LABEL].astype(bool),
        X_calibration=cal[columns],
        y_calibration=cal[LABEL].astype(bool),
    )


def fit_churn_models(data: ChurnData, settings: ChurnSettings) -> ChurnFits:
    """Every fit of a run with two or more labelled months m1 < ... < mk: LightGBM trained
    on m1..m(k-2) and calibrated on m(k-1) (with two months: trained on m1, cross-fitted
    calibration), the logistic baseline on m1..m(k-1), and the final model trained on
    m1..m(k-1) and calibrated on mk; each fit on its training sample."""
    months = data.labelled
    columns = feature_columns([c for c in data.frame.columns if c != SAMPLE_KEY])
    test_month = months[-1]
    if len(months) >= 3:
        train_months, cal_months = months[:-2], [months[-2]]
    else:
        train_months, cal_months = months[:-1], []
    model = _fit(
        settings,
        data.rows(train_months, settings),
        data.rows(cal_months) if cal_months else None,
        columns,
    )
    base_rows = data.rows(train_months + cal_months, settings)
    baseline = logistic_baseline(base_rows[columns]).fit(
        baseline_frame(base_rows[columns]), base_rows[LABEL].astype(bool)
    )
    del base_rows
    fit_months, final_cal = months[:-1], [months[-1]]
    final = _fit(settings, data.rows(fit_months, settings), data.rows(final_cal), columns)
    return ChurnFits(
        model=model,
        baseline=baseline,
        final=final,
        train_months=train_months,
        cal_months=cal_months,
        test_month=test_month,
        fit_months=fit_months,
        final_cal=final_cal,
        columns=columns,
    )


def predict_churn(features: Features, settings: ChurnSettings) -> ChurnRun:
    """Train, measure and score (the time-ordered recipe of docs/churn.md).

    ``features``: a :func:`~touchpoint.churn.churn_features` table, in the warehouse (only
    the rows the run needs are read, :func:`read_churn_data`), as a data frame, or a
    function of a row condition that builds it (:data:`Features`).

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
    data = read_churn_data(features, settings)
    if len(data.labelled) == 1:
        columns = feature_columns([c for c in data.frame.columns if c != SAMPLE_KEY])
        return _one_month(data, columns, settings)
    fits = fit_churn_models(data, settings)
    columns = fits.columns
    test = data.month(fits.test_month)
    y_test = test[LABEL].astype(bool).to_numpy()
    p_test = fits.model.predict_proba(test[columns])[:, 1]
    p_base = fits.baseline.predict_proba(baseline_frame(test[columns]))[:, 1]

    def record(name: str, trained: list, calibrated: list, p: np.ndarray) -> dict:
        return {
            "model": name,
            "train_months": [_month_text(m) for m in trained],
            "calibration_months": [_month_text(m) for m in calibrated],
            "test_month": _month_text(fits.test_month),
            **binary_metrics(y_test, p, settings.calibration_bins),
        }

    evaluation = [
        record("lightgbm", fits.train_months, fits.cal_months, p_test),
        record("logistic", fits.train_months + fits.cal_months, [], p_base),
    ]
    calibration = calibration_table(y_test, p_test, settings.calibration_bins)
    contributions = fits.model.contributions(test[columns])
    holdout = score_with_reasons(fits.model, test, settings, contributions)
    drivers = driver_summary(test[columns], contributions, settings)
    del contributions
    scores = score_with_reasons(fits.final, data.month(data.latest), settings)
    return ChurnRun(
        evaluation=evaluation,
        calibration=calibration,
        drivers=drivers,
        holdout=holdout,
        scores=scores,
        model=fits.final,
        months={
            "labelled": [_month_text(m) for m in data.labelled],
            "scored": [_month_text(data.latest)],
            "final_train": [_month_text(m) for m in fits.fit_months],
            "final_calibration": [_month_text(m) for m in fits.final_cal],
        },
    )
