"""Tree SHAP by pattern tables (touchpoint.churn._treeshap) against LightGBM's own
``pred_contrib``: the same contributions, for every kind of split the churn model makes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from touchpoint.churn import ChurnClassifier
from touchpoint.churn._treeshap import MAX_NODES


def _table(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "gaps": np.where(rng.random(n) < 0.15, np.nan, rng.normal(size=n)),
            "count": rng.poisson(1.0, n).astype(float),
            "plan": rng.choice(["a", "b", "c", None], n),
            "small": rng.normal(size=n).astype(np.float32),
            "flag": rng.random(n) < 0.3,
            "zeros": np.where(rng.random(n) < 0.5, 0.0, rng.exponential(size=n)),
        }
    )
    logit = (
        -2.5
        + np.nan_to_num(X.gaps, nan=1.0)
        + 0.6 * X["count"]
        + 1.2 * (X.plan == "a")
        - 0.8 * X.plan.isna()
        + X.small
        + 0.7 * X.flag
        + 0.5 * (X.zeros > 0)
    )
    y = rng.random(n) < 1 / (1 + np.exp(-logit))
    return X, y


@pytest.mark.parametrize("leaves", [2, 3, 4, 5])
def test_contributions_equal_lightgbm_pred_contrib(leaves):
    X, y = _table(6000, seed=leaves)
    model = ChurnClassifier(n_estimators=120, num_leaves=leaves, min_child_samples=20).fit(X, y)
    assert model._small_trees() is not None  # the pattern tables, not LightGBM
    # New rows, with what fit never saw: a plan value, a gap in a column that had none.
    new, _ = _table(3000, seed=100 + leaves)
    new.loc[new.index[:50], "plan"] = "unseen"
    new.loc[new.index[50:100], "count"] = np.nan
    ours = model.contributions(new)
    theirs = model.booster_.predict(model._encoded(new), pred_contrib=True)
    np.testing.assert_allclose(ours.to_numpy(), theirs, rtol=0, atol=1e-10)
    np.testing.assert_allclose(ours.sum(axis=1), model.decision_function(new), atol=1e-10)


def test_larger_trees_go_to_lightgbm():
    X, y = _table(3000, seed=7)
    leaves = MAX_NODES + 4
    model = ChurnClassifier(n_estimators=30, num_leaves=leaves, min_child_samples=10).fit(X, y)
    assert model._small_trees() is None
    ours = model.contributions(X)
    np.testing.assert_allclose(
        ours.to_numpy(), model.booster_.predict(model._encoded(X), pred_contrib=True), atol=1e-12
    )
