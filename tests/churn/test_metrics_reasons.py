"""Metrics and reasons on hand-worked cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from touchpoint.churn import (
    ChurnClassifier,
    binary_metrics,
    calibration_table,
    load_churn_settings,
    reason_contributions,
    top_decile_lift,
    top_reasons,
)


def test_top_decile_lift_by_hand():
    # 20 rows, 4 churners (rate 0.2); the top 2 scores hold 1 churner: 0.5 / 0.2 = 2.5.
    y = [1, 0] + [1, 1, 1] + [0] * 15
    score = [0.9, 0.8] + [0.1] * 18
    assert top_decile_lift(y, score) == pytest.approx(2.5)


def test_calibration_table_by_hand():
    y = [0, 0, 1, 1]
    p = [0.1, 0.3, 0.6, 0.8]
    table = calibration_table(y, p, bins=2)
    assert table == [
        {"bin": 1, "n": 2, "mean_predicted": pytest.approx(0.2), "observed_rate": 0.0},
        {"bin": 2, "n": 2, "mean_predicted": pytest.approx(0.7), "observed_rate": 1.0},
    ]
    m = binary_metrics(y, p, bins=2)
    assert m["roc_auc"] == 1.0 and m["calibration_error"] == pytest.approx(0.25)


def test_reasons_group_features_and_skip_the_unmapped():
    settings = load_churn_settings()
    contributions = pd.DataFrame(
        {
            "n_complaints": [0.4, -0.1],
            "n_complaints_3m": [0.2, 0.0],
            "region": [0.3, -0.2],
            "tenure_months": [-0.5, -0.3],
            "brand": [2.0, 2.0],  # who the customer is, not why they leave
            "(bias)": [-3.0, -3.0],
        }
    )
    by_reason = reason_contributions(contributions, settings)
    assert by_reason.loc[0, "service_level"] == pytest.approx(0.6)
    assert by_reason.loc[0, "competitors"] == pytest.approx(0.3)
    assert by_reason.loc[0, "policy"] == pytest.approx(-0.5)
    assert by_reason.sum(axis=1).tolist() == pytest.approx([0.4, -0.6])
    top = top_reasons(by_reason, 2)
    assert top.loc[0, ["reason_1", "reason_2"]].tolist() == ["service_level", "competitors"]
    # Nothing pushes customer 1 towards leaving: no reason at all.
    assert top.loc[1, "reason_1"] is None and np.isnan(top.loc[1, "contribution_1"])


def test_every_default_reason_is_in_the_brief_taxonomy():
    settings = load_churn_settings()
    internal = {"product_quality", "policy", "service_level", "management"}
    external = {"channel_behaviour", "competitors", "customer_behaviour"}
    assert set(settings.reasons) == internal | external
    assert {r for r, v in settings.reasons.items() if v.group == "internal"} == internal
    assert not settings.reasons["competitors"].controllable


def test_the_estimator_takes_text_gaps_and_unseen_values():
    rng = np.random.default_rng(0)
    n = 3000
    X = pd.DataFrame(
        {
            "complaints": rng.poisson(0.5, n).astype(float),
            "plan": rng.choice(["a", "b", "c"], n),
        }
    )
    X.loc[rng.random(n) < 0.1, "complaints"] = np.nan
    X.loc[rng.random(n) < 0.1, "plan"] = None
    logit = -3 + 1.0 * X.complaints.fillna(0) + 1.0 * (X.plan == "c")
    y = rng.random(n) < 1 / (1 + np.exp(-logit))
    model = ChurnClassifier(n_estimators=50).fit(X, y)
    assert list(model.feature_names_in_) == ["complaints", "plan"]
    assert model.categories_ == {"plan": ["a", "b", "c"]}
    new = pd.DataFrame({"complaints": [0.0, 3.0, np.nan], "plan": ["a", "c", "zzz"]})
    p = model.predict_proba(new)[:, 1]
    assert 0 < p[0] < p[1] < 1 and 0 < p[2] < 1
    contributions = model.contributions(new)
    assert contributions.sum(axis=1).to_numpy() == pytest.approx(model.decision_function(new))
    # Calibrated probabilities average close to the churn rate of the training rows.
    assert model.predict_proba(X)[:, 1].mean() == pytest.approx(y.mean(), abs=0.01)
