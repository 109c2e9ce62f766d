"""Metrics of a churn score: ranking (ROC AUC, PR AUC, top-decile lift) and calibration."""

from __future__ import annotations

import math

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score


def top_decile_lift(y_true, score, share: float = 0.1) -> float:
    """Churn rate among the ``share`` highest scores over the overall rate.

    The top is ``ceil(share * n)`` rows, ties broken by row order after a stable sort.

    >>> top_decile_lift([1, 0, 0, 0, 0, 0, 0, 0, 0, 0], [0.9] + [0.1] * 9)
    10.0
    """
    y = np.asarray(y_true, dtype=float)
    s = np.asarray(score, dtype=float)
    if len(y) == 0 or y.mean() == 0:
        return float("nan")
    k = max(1, math.ceil(share * len(y)))
    top = np.argsort(-s, kind="stable")[:k]
    return float(y[top].mean() / y.mean())


def calibration_table(y_true, probability, bins: int = 10) -> list[dict[str, float]]:
    """Rows ranked by probability and cut into ``bins`` groups of (nearly) equal size: each
    group's mean predicted probability beside its observed churn rate."""
    y = np.asarray(y_true, dtype=float)
    p = np.asarray(probability, dtype=float)
    order = np.argsort(p, kind="stable")
    rows = []
    for i, idx in enumerate(np.array_split(order, bins)):
        if len(idx) == 0:
            continue
        rows.append(
            {
                "bin": i + 1,
                "n": int(len(idx)),
                "mean_predicted": float(p[idx].mean()),
                "observed_rate": float(y[idx].mean()),
            }
        )
    return rows


def expected_calibration_error(table: list[dict[str, float]]) -> float:
    """Size-weighted mean |predicted - observed| over the calibration bins."""
    n = sum(r["n"] for r in table)
    return float(sum(r["n"] * abs(r["mean_predicted"] - r["observed_rate"]) for r in table) / n)


def binary_metrics(y_true, probability, bins: int = 10) -> dict[str, float]:
    """ROC AUC, PR AUC (average precision), top-decile lift, Brier score, expected
    calibration error, the base rate and the counts."""
    y = np.asarray(y_true, dtype=int)
    p = np.asarray(probability, dtype=float)
    two_classes = 0 < y.sum() < len(y)
    table = calibration_table(y, p, bins)
    return {
        "n": int(len(y)),
        "n_churners": int(y.sum()),
        "base_rate": float(y.mean()) if len(y) else float("nan"),
        "roc_auc": float(roc_auc_score(y, p)) if two_classes else float("nan"),
        "pr_auc": float(average_precision_score(y, p)) if two_classes else float("nan"),
        "top_decile_lift": top_decile_lift(y, p),
        "brier": float(brier_score_loss(y, p)) if len(y) else float("nan"),
        "calibration_error": expected_calibration_error(table) if table else float("nan"),
        "mean_predicted": float(p.mean()) if len(p) else float("nan"),
    }
