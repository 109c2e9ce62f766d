"""The churn estimator: LightGBM with calibrated probabilities and tree-SHAP contributions,
and a logistic-regression baseline; both take any table (numeric and text columns, gaps)."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
from lightgbm import LGBMClassifier
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from sklearn.utils.validation import check_is_fitted

from touchpoint.churn import _treeshap as treeshap

BIAS = "(bias)"
_CORES = max(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1, 1)


def _is_text(series: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series))


def split_columns(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(numeric columns, text columns) of ``frame``; booleans count as numeric (0/1)."""
    text = [c for c in frame.columns if _is_text(frame[c])]
    return [c for c in frame.columns if c not in text], text


class _Encoder:
    """Numbers as floats (float32 kept, else float64) and text as pandas categories with the categories seen in fit (an
    unseen value becomes missing), so LightGBM splits text columns natively."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.numeric, self.text = split_columns(frame)
        self.categories = {
            c: sorted(frame[c].dropna().astype(str).unique().tolist()) for c in self.text
        }

    def __call__(self, frame: pd.DataFrame) -> pd.DataFrame:
        out = {}
        for c in self.numeric:
            values = pd.to_numeric(frame[c], errors="coerce")
            # float32 stays float32 (half the memory at 1 M customers); the rest float64.
            out[c] = values if values.dtype == np.float32 else values.astype("float64")
        for c in self.text:
            column = frame[c]
            if isinstance(column.dtype, pd.CategoricalDtype) and all(
                isinstance(v, str) for v in column.cat.categories
            ):
                # The same categories as below, without a Python object per row.
                out[c] = column.cat.set_categories(self.categories[c]).array
                continue
            values = column.astype("string").astype(object).where(column.notna())
            out[c] = pd.Categorical(values, categories=self.categories[c])
        return pd.DataFrame(out, index=frame.index)[list(frame.columns)]


def _as_frame(X) -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        return X
    if hasattr(X, "to_pandas"):
        return X.to_pandas()
    return pd.DataFrame(np.asarray(X)).rename(columns=str)


def _as_target(y) -> np.ndarray:
    target = np.asarray(y)
    if target.dtype == bool:
        return target.astype(int)
    values = set(np.unique(target).tolist())
    if not values <= {0, 1}:
        raise ValueError(f"y must hold 0/1 or booleans, got values {sorted(values)[:5]}")
    return target.astype(int)


# LightGBM's result depends on its number of threads (deterministic=True holds it for a given
# number): a fixed 2, not the machine's cores, so a model is the same on every machine, and
# the fits no longer leave the second core idle (at 1 M the step ran 190 s on one core).
FIT_THREADS = 2


class ChurnClassifier(ClassifierMixin, BaseEstimator):
    """Gradient-boosted trees (LightGBM) with calibrated probabilities.

    Parameters
    ----------
    n_estimators, learning_rate, num_leaves, min_child_samples
        LightGBM's size and pace. Small trees with large leaves by default: churn is rare
        and its drivers weak one by one, and deeper trees learn the noise (docs/churn.md).
    calibration
        ``"sigmoid"`` (Platt), ``"isotonic"`` or ``"none"``. The calibrator is fitted on
        ``X_calibration`` when :meth:`fit` gets one (a later month: the time-ordered way),
        else on out-of-fold scores of ``cv`` folds of the training rows.
    cv
        Folds for the out-of-fold calibration scores.
    random_state
        Seed of LightGBM and of the folds.

    Attributes
    ----------
    booster_ : lightgbm.LGBMClassifier
    feature_names_in_ : ndarray of str
    categories_ : dict
        Text column -> the values seen in fit (others count as missing).
    calibrator_ : fitted calibrator or None
    classes_ : ndarray
        ``[0, 1]``.

    Examples
    --------
    >>> import pandas as pd, numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"complaints": rng.poisson(1, 400), "plan": rng.choice(["a", "b"], 400)})
    >>> y = rng.random(400) < 0.1 + 0.2 * (X.complaints > 1)
    >>> model = ChurnClassifier(n_estimators=20).fit(X, y)
    >>> model.predict_proba(X).shape
    (400, 2)
    """

    def __init__(
        self,
        n_estimators: int = 200,
        learning_rate: float = 0.03,
        num_leaves: int = 4,
        min_child_samples: int = 50,
        calibration: str = "sigmoid",
        cv: int = 3,
        random_state: int = 0,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.calibration = calibration
        self.cv = cv
        self.random_state = random_state

    def _booster(self) -> LGBMClassifier:
        return LGBMClassifier(
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            min_child_samples=self.min_child_samples,
            subsample=1.0,
            colsample_bytree=1.0,
            random_state=self.random_state,
            deterministic=True,
            force_row_wise=True,
            n_jobs=FIT_THREADS,
            verbose=-1,
        )

    def fit(self, X, y, *, X_calibration=None, y_calibration=None) -> ChurnClassifier:
        """Fit the trees on (X, y), then the calibrator (see ``calibration``)."""
        if self.calibration not in ("sigmoid", "isotonic", "none"):
            raise ValueError(
                f"calibration={self.calibration!r} should be 'sigmoid', 'isotonic' or 'none'"
            )
        frame = _as_frame(X)
        target = _as_target(y)
        self._encode = _Encoder(frame)
        self.feature_names_in_ = np.array(frame.columns, dtype=object)
        self.categories_ = self._encode.categories
        self.classes_ = np.array([0, 1])
        encoded = self._encode(frame)
        self.booster_ = self._booster().fit(encoded, target)
        self.calibrator_ = None
        if self.calibration == "none":
            return self
        if X_calibration is not None:
            raw = self._raw(self._encode(_as_frame(X_calibration)[frame.columns]))
            self.calibrator_ = self._fit_calibrator(raw, _as_target(y_calibration))
            return self
        raw = np.zeros(len(frame))
        folds = StratifiedKFold(self.cv, shuffle=True, random_state=self.random_state)
        for train, test in folds.split(encoded, target):
            fold = self._booster().fit(encoded.iloc[train], target[train])
            raw[test] = fold.predict(encoded.iloc[test], raw_score=True)
        self.calibrator_ = self._fit_calibrator(raw, target)
        return self

    def _fit_calibrator(self, raw: np.ndarray, target: np.ndarray):
        if self.calibration == "isotonic":
            return IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(raw, target)
        return LogisticRegression(C=1e6).fit(raw.reshape(-1, 1), target)

    def _raw(self, encoded: pd.DataFrame) -> np.ndarray:
        return self.booster_.predict(encoded, raw_score=True)

    def _encoded(self, X) -> pd.DataFrame:
        check_is_fitted(self, "booster_")
        frame = _as_frame(X)
        missing = [c for c in self.feature_names_in_ if c not in frame.columns]
        if missing:
            raise ValueError(f"X lacks the column(s) the model was fitted on: {missing}")
        return self._encode(frame[list(self.feature_names_in_)])

    def decision_function(self, X) -> np.ndarray:
        """The trees' raw score (log-odds, before calibration)."""
        return self._raw(self._encoded(X))

    def predict_proba(self, X) -> np.ndarray:
        """Calibrated probabilities: column 1 is the chance of churning."""
        return self._calibrated(self.decision_function(X))

    def _calibrated(self, raw: np.ndarray) -> np.ndarray:
        if self.calibrator_ is None:
            p = 1.0 / (1.0 + np.exp(-raw))
        elif isinstance(self.calibrator_, IsotonicRegression):
            p = self.calibrator_.predict(raw)
        else:
            p = self.calibrator_.predict_proba(raw.reshape(-1, 1))[:, 1]
        return np.column_stack([1 - p, p])

    def predict(self, X) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def contributions(self, X) -> pd.DataFrame:
        """Tree-SHAP contributions of each feature to each row's raw score (log-odds), and
        the ``(bias)`` column; each row sums to :meth:`decision_function`."""
        return self._contributions(self._encoded(X), _as_frame(X).index)

    def _contributions(self, encoded: pd.DataFrame, index) -> pd.DataFrame:
        trees = self._small_trees()
        if trees is not None:
            values = treeshap.contributions(*trees, _lightgbm_matrix(encoded))
        else:
            # Rows are independent, so every core may share them with the same result.
            values = self.booster_.predict(encoded, pred_contrib=True, num_threads=_CORES)
        return pd.DataFrame(values, columns=[*self.feature_names_in_, BIAS], index=index)

    def scores(self, X) -> tuple[np.ndarray, pd.DataFrame]:
        """(the chance of churning, :meth:`contributions`) of ``X``'s rows, encoding ``X``
        once."""
        encoded = self._encoded(X)
        probability = self._calibrated(self._raw(encoded))[:, 1]
        return probability, self._contributions(encoded, _as_frame(X).index)

    def _small_trees(self):
        """The trees as pattern tables for :func:`treeshap.contributions` (small trees:
        the same values as LightGBM's ``pred_contrib``, some 20 times faster), or
        ``None``."""
        if getattr(self, "_trees_of", None) is not self.booster_:
            self._trees = treeshap.small_trees(self.booster_.booster_.dump_model())
            self._trees_of = self.booster_
        return self._trees


def _lightgbm_matrix(encoded: pd.DataFrame) -> np.ndarray:
    """The matrix LightGBM predicts from: numbers as they are, categories as their codes
    (the categories seen in fit), missing as NaN."""
    columns = []
    for name in encoded.columns:
        column = encoded[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            codes = column.cat.codes.to_numpy().astype(np.float64)
            codes[codes < 0] = np.nan
            columns.append(codes)
        else:
            columns.append(column.to_numpy(dtype=np.float64, na_value=np.nan))
    return np.column_stack(columns) if columns else np.empty((len(encoded), 0))


MISSING_TEXT = "(missing)"


def text_values(frame) -> np.ndarray:
    """Text columns as one fixed-width string array (``(missing)`` for a gap), what the
    baseline's one-hot encoder reads: a category column maps its codes through its
    categories, with no Python object per row (at 1 M rows the object route took 10 s)."""
    frame = _as_frame(frame)
    columns = []
    for name in frame.columns:
        column = frame[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            names = np.append(column.cat.categories.astype(str).to_numpy(dtype=str), MISSING_TEXT)
            codes = column.cat.codes.to_numpy()
            columns.append(names[np.where(codes < 0, len(names) - 1, codes)])
        else:
            columns.append(column.astype("string").fillna(MISSING_TEXT).to_numpy(dtype=str))
    if not columns:
        return np.empty((len(frame), 0), dtype=str)
    return np.column_stack(columns)


def logistic_baseline(X) -> Pipeline:
    """An unfitted logistic regression for ``X``'s columns: numbers imputed by the median
    (with a missing-value indicator) and standardised, text one-hot encoded (a gap is the
    value ``(missing)``)."""
    numeric, text = split_columns(_as_frame(X))
    prep = ColumnTransformer(
        [
            (
                "numeric",
                make_pipeline(
                    SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
                    StandardScaler(),
                ),
                numeric,
            ),
            (
                "text",
                make_pipeline(
                    FunctionTransformer(text_values, feature_names_out="one-to-one"),
                    OneHotEncoder(handle_unknown="ignore", min_frequency=5),
                ),
                text,
            ),
        ]
    )
    return Pipeline([("prep", prep), ("model", LogisticRegression(max_iter=2000, C=1.0))])


def baseline_frame(X) -> pd.DataFrame:
    """``X`` ready for :func:`logistic_baseline`: numbers as float64, text as it is (text
    or categories)."""
    frame = _as_frame(X)
    numeric, _ = split_columns(frame)
    out = frame.copy(deep=False)
    for c in numeric:
        out[c] = pd.to_numeric(frame[c], errors="coerce").astype("float64")
    return out
