"""``churn evaluate``: a cross-validated evaluation of the churn model on any table.

An analyst's own extract (CSV or Parquet, one row per customer, a target column) is checked
once, up front, with every problem named by its column; then five stratified folds give the
spread of each measure, and the tree-SHAP contributions of the held-out rows name the
strongest drivers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from touchpoint.churn._metrics import binary_metrics
from touchpoint.churn._model import ChurnClassifier, baseline_frame, logistic_baseline
from touchpoint.churn._reasons import driver_summary
from touchpoint.errors import InputFileError, TouchpointError

#: Values read as the positive class of a two-valued target when --positive is not given.
POSITIVE_WORDS = ("1", "1.0", "true", "yes", "y", "churn", "churned", "left", "是")
MIN_ROWS = 50


class ChurnInputError(TouchpointError, ValueError):
    """A table cannot be evaluated: the message names the file and the column."""


def read_table(path: str | Path) -> pd.DataFrame:
    """A CSV (UTF-8, else GB18030) or Parquet file as a data frame.

    Raises
    ------
    InputFileError
        The file is missing, of another kind, or cannot be decoded.
    """
    source = Path(path)
    if not source.is_file():
        raise InputFileError(f"{source}: no such file")
    suffix = source.suffix.lower()
    try:
        if suffix == ".parquet":
            return pd.read_parquet(source)
        if suffix in (".csv", ".txt"):
            try:
                return pd.read_csv(source, encoding="utf-8")
            except UnicodeDecodeError:
                return pd.read_csv(source, encoding="gb18030")
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise InputFileError(f"{source}: cannot read: {str(exc).splitlines()[0]}") from None
    raise InputFileError(f"{source}: expected a .csv or .parquet file, got {suffix or 'no suffix'}")


def _as_number(value: object) -> float | None:
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _text_in_numbers(series: pd.Series) -> tuple[int, object] | None:
    """(row, value) of the first non-number of a text column that is mostly numbers."""
    values = series.dropna()
    if values.empty or pd.api.types.is_numeric_dtype(series):
        return None
    parsed = values.map(_as_number)
    numbers = parsed.notna()
    if numbers.mean() >= 0.5 and not numbers.all():
        first = numbers[~numbers].index[0]
        return first, values[first]
    return None


@dataclass(frozen=True)
class PreparedTable:
    """A table checked for ``churn evaluate``: features, 0/1 target, what was set aside."""

    X: pd.DataFrame
    y: np.ndarray
    positive: str
    ignored: dict[str, str]


def prepare_table(
    frame: pd.DataFrame,
    target: str,
    positive: str | None = None,
    *,
    source: str = "table",
    folds: int = 5,
) -> PreparedTable:
    """Check ``frame`` and split it into features and a 0/1 target.

    Refused, all in one error naming each column: no such target column; a target with
    empty cells, one class or more than two; a positive value the target does not hold; a
    two-valued target whose positive class cannot be guessed; a constant or empty feature;
    text in a mostly numeric column (with its row: the file's line is row + 2); fewer than
    50 rows or fewer rows of a class than folds. Text columns with a different value on
    every row (identifiers) are set aside, not refused.

    Raises
    ------
    ChurnInputError
    """
    where = f"{source}:"
    if target not in frame.columns:
        raise ChurnInputError(
            f"{where} no column {target!r} for --target (columns: {', '.join(map(str, frame.columns))})"
        )
    problems: list[str] = []
    column = frame[target]
    if column.isna().any():
        rows = column[column.isna()].index[:3].tolist()
        problems.append(
            f"target column {target!r} is empty on {int(column.isna().sum())} row(s) "
            f"(first rows {rows}; line = row + 2 in a CSV)"
        )
    labels = column.dropna().astype(str).str.strip()
    classes = sorted(labels.unique())
    y = None
    if len(classes) < 2:
        problems.append(
            f"target column {target!r} has one class only ({classes[0] if classes else 'none'}): "
            "nothing to tell apart"
        )
    elif len(classes) > 2:
        shown = ", ".join(classes[:6]) + (", ..." if len(classes) > 6 else "")
        problems.append(
            f"target column {target!r} has {len(classes)} values ({shown}); it needs exactly two"
        )
    elif positive is not None and str(positive) not in classes:
        problems.append(
            f"--positive {positive!r} is not a value of target column {target!r} "
            f"(values: {', '.join(classes)})"
        )
    else:
        chosen = str(positive) if positive is not None else None
        if chosen is None:
            guesses = [c for c in classes if c.lower() in POSITIVE_WORDS]
            if len(guesses) == 1:
                chosen = guesses[0]
            else:
                problems.append(
                    f"target column {target!r} has values {classes[0]!r} and {classes[1]!r}: "
                    "say which one is churn with --positive"
                )
        if chosen is not None:
            positive = chosen
            y = (labels == chosen).to_numpy().astype(int)

    features = frame.drop(columns=[target])
    ignored: dict[str, str] = {}
    for name in features.columns:
        series = features[name]
        non_null = series.dropna()
        if non_null.empty:
            problems.append(f"column {name!r} is empty on every row; drop it")
            continue
        if non_null.nunique() == 1:
            problems.append(f"column {name!r} holds one value only ({non_null.iloc[0]!r}); drop it")
            continue
        bad = _text_in_numbers(series)
        if bad is not None:
            row, value = bad
            problems.append(
                f"column {name!r} is numeric but row {row} holds {value!r}; fix or blank that cell"
            )
            continue
        is_text = not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series))
        if is_text and non_null.nunique() == len(non_null) and len(non_null) > 20:
            ignored[name] = "identifier (a different value on every row)"
    if len(frame) < MIN_ROWS:
        problems.append(f"only {len(frame)} rows; churn evaluate needs at least {MIN_ROWS}")
    elif y is not None:
        n_pos, n_neg = int(y.sum()), int(len(y) - y.sum())
        if min(n_pos, n_neg) < folds:
            problems.append(
                f"target column {target!r} has {n_pos} {positive!r} and {n_neg} other rows; "
                f"{folds}-fold cross-validation needs at least {folds} of each"
            )
    if not problems and features.shape[1] - len(ignored) == 0:
        problems.append("no feature column besides the target")
    if problems:
        raise ChurnInputError(f"{where} " + "; ".join(problems))
    X = features.drop(columns=list(ignored))
    for name in X.columns:  # mostly-number text columns (blanks as '') become numbers
        if (
            not pd.api.types.is_numeric_dtype(X[name])
            and X[name].dropna().map(_as_number).notna().all()
        ):
            X[name] = pd.to_numeric(X[name], errors="coerce")
    return PreparedTable(X=X, y=y, positive=str(positive), ignored=ignored)


def cross_validate(
    X: pd.DataFrame,
    y: np.ndarray,
    *,
    folds: int = 5,
    model: ChurnClassifier | None = None,
    random_state: int = 0,
    top_drivers: int = 10,
) -> dict:
    """Stratified ``folds``-fold evaluation of the churn model and the logistic baseline.

    Returns
    -------
    dict
        ``folds`` (per-fold measures), ``summary`` (mean and standard deviation across
        folds of ROC AUC, PR AUC and top-decile lift, for ``lightgbm`` and ``logistic``),
        ``base_rate`` and ``drivers`` (the ``top_drivers`` strongest features over the
        held-out rows of every fold: mean |SHAP|, direction, strongest text value).
    """
    template = model if model is not None else ChurnClassifier(calibration="none")
    splitter = StratifiedKFold(folds, shuffle=True, random_state=random_state)
    per_fold, contributions = [], []
    for i, (train, test) in enumerate(splitter.split(X, y), start=1):
        fitted = ChurnClassifier(**template.get_params()).fit(X.iloc[train], y[train])
        p = fitted.predict_proba(X.iloc[test])[:, 1]
        base = logistic_baseline(X).fit(baseline_frame(X.iloc[train]), y[train])
        p_base = base.predict_proba(baseline_frame(X.iloc[test]))[:, 1]
        per_fold.append(
            {
                "fold": i,
                "lightgbm": binary_metrics(y[test], p),
                "logistic": binary_metrics(y[test], p_base),
            }
        )
        contributions.append(fitted.contributions(X.iloc[test]))
    summary = {}
    for name in ("lightgbm", "logistic"):
        summary[name] = {
            metric: {
                "mean": float(np.mean([f[name][metric] for f in per_fold])),
                "std": float(np.std([f[name][metric] for f in per_fold], ddof=1)),
            }
            for metric in ("roc_auc", "pr_auc", "top_decile_lift")
        }
    all_contrib = pd.concat(contributions).loc[X.index]
    drivers = driver_summary(X, all_contrib).head(top_drivers)
    return {
        "n_rows": int(len(y)),
        "n_positive": int(y.sum()),
        "base_rate": float(y.mean()),
        "folds": per_fold,
        "summary": summary,
        "drivers": [
            {
                k: (None if isinstance(v, float) and math.isnan(v) else v)
                for k, v in row.items()
                if k != "reason"
            }
            for row in drivers.to_dict("records")
        ],
    }


def evaluate_file(
    path: str | Path, target: str, positive: str | None = None, *, folds: int = 5
) -> dict:
    """:func:`read_table`, :func:`prepare_table`, :func:`cross_validate` of one file, with
    the file, target, positive class and set-aside columns added to the result."""
    frame = read_table(path)
    prepared = prepare_table(frame, target, positive, source=str(path), folds=folds)
    result = cross_validate(prepared.X, prepared.y, folds=folds)
    return {
        "file": str(path),
        "target": target,
        "positive": prepared.positive,
        "n_features": int(prepared.X.shape[1]),
        "ignored_columns": prepared.ignored,
        **result,
    }
