"""Churn prediction over time: train on past months, calibrate on a later one, measure on the
latest month whose outcome is known, then score the latest month with reasons."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
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
    return with_ranks(_scored(model, rows, settings, contributions))


def _scored(
    model: ChurnClassifier,
    rows: pd.DataFrame,
    settings: ChurnSettings,
    contributions: pd.DataFrame | None = None,
    probability: np.ndarray | None = None,
) -> pd.DataFrame:
    """:func:`score_with_reasons` without the ranks (they are over a whole month);
    ``probability``: the model's chance of churning for ``rows`` when already computed
    (with ``contributions``)."""
    X = rows[[c for c in model.feature_names_in_ if c in rows.columns]]
    if contributions is None:
        probability, contributions = model.scores(X)
    elif probability is None:
        probability = model.predict_proba(X)[:, 1]
    by_reason = reason_contributions(contributions, settings)
    top = top_reasons(by_reason, settings.top_reasons)
    out = rows[[c for c in (*KEYS, LABEL) if c in rows.columns]].copy()
    out["churn_probability"] = probability
    out = pd.concat([out, top], axis=1)
    first = out["reason_1"]
    groups = {r: settings.reasons[r].group for r in settings.reasons}
    controllable = {r: settings.reasons[r].controllable for r in settings.reasons}
    out["top_reason_group"] = first.map(groups).astype(object).where(first.notna(), None)
    out["top_reason_controllable"] = (
        first.map(controllable).astype(object).where(first.notna(), None)
    )
    for reason in settings.reasons:
        out[f"contribution_{reason}"] = by_reason[reason].to_numpy()
    return out.reset_index(drop=True)


def with_ranks(scored: pd.DataFrame) -> pd.DataFrame:
    """``scored`` (rows of one month in their order) with ``risk_rank`` (1 = the highest
    ``churn_probability``; ties in row order) and ``risk_decile`` (1 = top tenth) after
    the probability."""
    probability = scored["churn_probability"].to_numpy()
    # A stable sort of -p gives rank "first" (ties in row order), as pandas' rank does.
    order = np.argsort(-probability, kind="stable")
    rank = np.empty(len(order), dtype="int64")
    rank[order] = np.arange(1, len(order) + 1)
    at = scored.columns.get_loc("churn_probability") + 1
    out = scored.copy(deep=False)
    out.insert(at, "risk_rank", rank)
    decile = np.minimum(10, (rank - 1) * 10 // max(len(rank), 1) + 1).astype("int64")
    out.insert(at + 1, "risk_decile", decile)
    return out


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

    ``frame`` holds the rows of the months the run learns from and measures on (months
    used only to train: the customers of the training sample; a calibration month and the
    held-out month: every customer up to ``max_calibration_rows`` / ``max_evaluation_rows``,
    else a sample of the same hash), numbers as float32, text as categories, with the
    sample key; ``labelled``: the months whose next month is known, oldest first;
    ``latest``: the month to score (not in ``frame``: :func:`month_blocks` reads it a block
    at a time from ``source``); ``counts``: customer-months per month.
    """

    frame: pd.DataFrame
    labelled: list
    latest: object
    counts: dict
    #: The features as a function of a row condition (:data:`Features`), for the latest
    #: month's blocks.
    source: Callable[[Callable | None], ir.Table] | None = None
    seed: int = 0

    @property
    def columns(self) -> list[str]:
        """The feature columns of ``frame``."""
        return feature_columns([c for c in self.frame.columns if c != SAMPLE_KEY])

    def month(self, month) -> pd.DataFrame:
        """Every row of ``month`` in ``frame``."""
        return self.frame[self.frame["month"] == month]

    def share(self, months: list, cap: int) -> float:
        """The share of customers that brings ``months`` to about ``cap`` customer-months."""
        return sample_fraction(sum(self.counts[m] for m in months), cap)

    def rows(
        self, months: list, settings: ChurnSettings | None = None, cap: int | None = None
    ) -> pd.DataFrame:
        """The rows of ``months``; with ``settings``, only the customers of the training
        sample that brings them to about ``model.max_train_rows`` (see
        :func:`training_plan`); with ``cap``, the customers that bring them to about ``cap``
        (the smaller of the two with both)."""
        keep = self.frame["month"].isin(months)
        caps = [c for c in (cap, settings.model.max_train_rows if settings else None) if c]
        if caps:
            keep &= self.frame[SAMPLE_KEY] < self.share(months, min(caps))
        return self.frame[keep]


def _fits(labelled: list) -> list[tuple[list, list]]:
    """(training months, calibration months) of each LightGBM fit: the measured model,
    then the final one (the logistic baseline learns from the measured model's months)."""
    if len(labelled) == 1:
        return []
    if len(labelled) >= 3:
        return [(labelled[:-2], [labelled[-2]]), (labelled[:-1], [labelled[-1]])]
    return [(labelled[:-1], []), (labelled[:-1], [labelled[-1]])]


def training_plan(counts: dict, labelled: list, settings: ChurnSettings) -> dict:
    """Month -> the share of its customers a run reads into memory: of a month it only
    trains on, the training sample; of a month it calibrates on or measures on, the
    customers that bring it to ``max_calibration_rows`` / ``max_evaluation_rows`` (every
    one below the cap). The samples are by customer (all of a sampled customer's months),
    the customers whose :func:`sample_key` lies below the share; with several uses of a
    month the largest share is read (the smaller samples lie inside it). The latest month
    is not read here: it is scored a block at a time (:func:`month_blocks`)."""
    model = settings.model
    plan: dict = {}

    def need(months: list, cap: int | None) -> None:
        share = 1.0 if cap is None else sample_fraction(sum(counts[m] for m in months), cap)
        for m in months:
            plan[m] = max(plan.get(m, 0.0), share)

    if len(labelled) == 1:  # cross-validated within the month: every row
        need(labelled, None)
    for train, cal in _fits(labelled):
        need(train, model.max_train_rows)
        if cal:
            need(cal, model.max_calibration_rows)
    if len(labelled) >= 2:
        need([labelled[-1]], model.max_evaluation_rows)
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


def _read(build, keep, seed: int, with_order: bool = False) -> pd.DataFrame:
    """The rows of ``build(keep)`` in memory (:func:`_to_frame`), with the sample key, in
    their order (a data frame's; else month and customer); ``with_order``: keep a data
    frame's order column."""
    rows = build(keep)
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
    if _ORDER in arrow.column_names and not with_order:
        arrow = arrow.drop_columns([_ORDER])
    frame = _to_frame(arrow)
    frame["month"] = pd.to_datetime(frame["month"])
    return frame


def read_churn_data(
    features: Features, settings: ChurnSettings, labels: ir.Table | None = None
) -> ChurnData:
    """The rows of ``features`` that a churn run learns from and measures on (see
    :func:`training_plan`), read in one query after one counting the months: at 1 M
    customers × 6 months 2.75 M of the 5.5 M customer-months, sorted by month and customer
    (a data frame's rows keep their order). ``labels``: the keys and label of the same rows
    (:func:`~touchpoint.churn._features.churn_labels`), to count the months without
    building the features.

    Raises
    ------
    ChurnDataError
        No labelled month, or a labelled month with fewer than five churners.
    """
    build = _features_of(features)
    table = build(None) if labels is None else labels
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
    plan = training_plan(counts, labelled, settings)
    seed = settings.model.random_state

    def wanted(t: ir.Table) -> ir.BooleanValue:
        key, month = sample_key(t.customer_id, seed), t.month.cast("date")
        return ibis.or_(
            *(
                (month == m.date()) & (key < share) if share < 1 else month == m.date()
                for m, share in plan.items()
            )
        )

    frame = _read(build, wanted, seed)
    return ChurnData(
        frame=frame, labelled=labelled, latest=latest, counts=counts, source=build, seed=seed
    )


def month_blocks(data: ChurnData, month, block_rows: int) -> Iterator[pd.DataFrame]:
    """Every row of ``month`` read from ``data.source`` about ``block_rows`` customers at a
    time: block *b* of *B* holds the customers whose :func:`sample_key` lies in
    [b/B, (b+1)/B), a condition the warehouse applies before the joins, so memory is set by
    the block. Each block is in the order :func:`read_churn_data` gives (a data frame's
    with its order column, ``_order``)."""
    if data.source is None:
        raise ValueError("these churn data have no source to read the month's blocks from")
    n_blocks = max(1, math.ceil(data.counts[month] / block_rows))
    edges = [b / n_blocks for b in range(n_blocks + 1)]
    day = pd.Timestamp(month).date()
    for b in range(n_blocks):

        def keep(t: ir.Table, b: int = b) -> ir.BooleanValue:
            key = sample_key(t.customer_id, data.seed)
            condition = t.month.cast("date") == day
            if b > 0:
                condition &= key >= edges[b]
            if b < n_blocks - 1:
                condition &= key < edges[b + 1]
            return condition

        yield _read(data.source, keep, data.seed, with_order=True)


def score_month(
    model: ChurnClassifier, data: ChurnData, month, settings: ChurnSettings
) -> pd.DataFrame:
    """:func:`score_with_reasons` of every row of ``month``, read and scored a block of
    ``score_block_rows`` customers at a time (:func:`month_blocks`); the rows are put in
    the month's order and ranked over the whole month afterwards, so the result equals
    scoring the month whole."""
    blocks = []
    for rows in month_blocks(data, month, settings.model.score_block_rows):
        scored = _scored(model, rows, settings)
        if _ORDER in rows.columns:
            scored[_ORDER] = rows[_ORDER].to_numpy()
        blocks.append(scored)
        del rows
    scored = pd.concat(blocks, ignore_index=True)
    del blocks
    by = _ORDER if _ORDER in scored.columns else "customer_id"
    scored = scored.sort_values(by, kind="stable", ignore_index=True)
    return with_ranks(scored.drop(columns=[_ORDER], errors="ignore"))


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
        scores=score_month(final, data, data.latest, settings),
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
    columns = data.columns
    test_month = months[-1]
    (train_months, cal_months), (fit_months, final_cal) = _fits(months)
    calibration_cap = settings.model.max_calibration_rows
    model = _fit(
        settings,
        data.rows(train_months, settings),
        data.rows(cal_months, cap=calibration_cap) if cal_months else None,
        columns,
    )
    # The baseline's customers: a smaller share of the same hash, inside the training
    # sample (its months are the measured model's, its share at most the final fit's).
    base_rows = data.rows(train_months + cal_months, settings, settings.model.baseline_max_rows)
    baseline = logistic_baseline(base_rows[columns]).fit(
        baseline_frame(base_rows[columns]), base_rows[LABEL].astype(bool)
    )
    del base_rows
    final = _fit(
        settings,
        data.rows(fit_months, settings),
        data.rows(final_cal, cap=calibration_cap),
        columns,
    )
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


def baseline_proba(baseline, X: pd.DataFrame, block_rows: int) -> np.ndarray:
    """The logistic baseline's probability of churning for ``X``'s rows, ``block_rows`` at
    a time (its float64 copies then stay the size of a block)."""
    parts = [
        baseline.predict_proba(baseline_frame(X.iloc[start : start + block_rows]))[:, 1]
        for start in range(0, len(X), block_rows)
    ]
    return np.concatenate(parts) if parts else np.zeros(0)


def predict_churn(
    features: Features, settings: ChurnSettings, labels: ir.Table | None = None
) -> ChurnRun:
    """Train, measure and score (the time-ordered recipe of docs/churn.md).

    ``features``: a :func:`~touchpoint.churn.churn_features` table, in the warehouse (only
    the rows the run needs are read, :func:`read_churn_data`), as a data frame, or a
    function of a row condition that builds it (:data:`Features`).

    With labelled months m1 < ... < mk: the model is trained on m1..m(k-2), calibrated on
    m(k-1) and measured on mk (the logistic baseline is trained on m1..m(k-1)); the same
    recipe one month later (trained on m1..m(k-1), calibrated on mk) scores the latest
    month. With two labelled months the calibration is cross-fitted on the training month;
    with one, the measures are cross-validated within it (their ``note`` says so).
    ``labels``: the keys and label of the same rows
    (:func:`~touchpoint.churn._features.churn_labels`), to count the months cheaply.

    Raises
    ------
    ChurnDataError
        No labelled month, or a labelled month with fewer than five churners.
    """
    data = read_churn_data(features, settings, labels)
    if len(data.labelled) == 1:
        columns = data.columns
        return _one_month(data, columns, settings)
    fits = fit_churn_models(data, settings)
    columns = fits.columns
    test = data.rows([fits.test_month], cap=settings.model.max_evaluation_rows)
    y_test = test[LABEL].astype(bool).to_numpy()
    p_test, contributions = fits.model.scores(test[columns])
    p_base = baseline_proba(fits.baseline, test[columns], settings.model.score_block_rows)

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
    holdout = with_ranks(_scored(fits.model, test, settings, contributions, p_test))
    drivers = driver_summary(test[columns], contributions, settings)
    del contributions
    scores = score_month(fits.final, data, data.latest, settings)
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
