"""Per-customer churn reasons: tree-SHAP contributions grouped into the operator's taxonomy."""

from __future__ import annotations

import numpy as np
import pandas as pd

from touchpoint.churn._model import BIAS
from touchpoint.churn._settings import ChurnSettings


def reason_contributions(contributions: pd.DataFrame, settings: ChurnSettings) -> pd.DataFrame:
    """Each reason's summed contribution (log-odds) per row: one column per reason of the
    taxonomy, in the settings' order; features mapped to no reason are left out.

    >>> from touchpoint.churn import load_churn_settings
    >>> c = pd.DataFrame({"n_complaints": [0.5], "n_complaints_3m": [0.25], "brand": [1.0]})
    >>> reason_contributions(c, load_churn_settings())["service_level"].tolist()
    [0.75]
    """
    out = pd.DataFrame(0.0, index=contributions.index, columns=list(settings.reasons))
    for feature in contributions.columns:
        if feature == BIAS:
            continue
        reason = settings.reason_of(feature)
        if reason is not None:
            out[reason] += contributions[feature].to_numpy()
    return out


def top_reasons(by_reason: pd.DataFrame, k: int) -> pd.DataFrame:
    """The ``k`` reasons that push each row's risk up most: ``reason_1 .. reason_k`` and
    ``contribution_1 .. contribution_k`` (log-odds). A reason that lowers the risk is no
    reason to leave: slots without a positive contribution are empty (None / NaN)."""
    values = by_reason.to_numpy()
    names = np.array(by_reason.columns, dtype=object)
    order = np.argsort(-values, axis=1, kind="stable")[:, :k]
    out = {}
    for i in range(order.shape[1]):
        picked = values[np.arange(len(values)), order[:, i]]
        positive = picked > 0
        out[f"reason_{i + 1}"] = np.where(positive, names[order[:, i]], None)
        out[f"contribution_{i + 1}"] = np.where(positive, picked, np.nan)
    return pd.DataFrame(out, index=by_reason.index)


def driver_summary(
    X: pd.DataFrame, contributions: pd.DataFrame, settings: ChurnSettings | None = None
) -> pd.DataFrame:
    """The strongest drivers over a set of rows, strongest first: per feature the mean
    |contribution|, its direction and its reason.

    ``direction`` is the Spearman correlation between a numeric feature's value and its
    contribution (> 0: more of it, more churn); for a text column, the value whose rows
    get the highest mean contribution (``top_value``).
    """
    rows = []
    for feature in contributions.columns:
        if feature == BIAS:
            continue
        contrib = contributions[feature]
        values = X[feature]
        row = {
            "feature": feature,
            "reason": settings.reason_of(feature) if settings is not None else None,
            "mean_abs_contribution": float(contrib.abs().mean()),
            "direction": float("nan"),
            "top_value": None,
        }
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            numeric = pd.to_numeric(values, errors="coerce").astype("float64")
            ok = numeric.notna()
            if ok.sum() > 2 and numeric[ok].nunique() > 1 and contrib[ok].nunique() > 1:
                row["direction"] = float(
                    numeric[ok].rank().corr(contrib[ok].rank())  # Spearman
                )
        else:
            means = contrib.groupby(values.astype("string").fillna("(missing)")).mean()
            if len(means):
                row["top_value"] = str(means.idxmax())
        rows.append(row)
    table = pd.DataFrame(rows)
    return table.sort_values("mean_abs_contribution", ascending=False, kind="stable").reset_index(
        drop=True
    )
