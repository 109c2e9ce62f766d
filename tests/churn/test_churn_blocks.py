"""Bounded memory in a churn run: the calibration and held-out months read on a capped
sample of customers, the logistic baseline on a smaller sample inside the training one, and
the latest month scored a block of customers at a time, equal to scoring it whole."""

from __future__ import annotations

import math

import ibis
import numpy as np
import pandas as pd
import pytest

from touchpoint.churn import load_churn_settings
from touchpoint.churn._features import LABEL
from touchpoint.churn._model import baseline_frame, logistic_baseline, text_values
from touchpoint.churn._predict import (
    _ORDER,
    SAMPLE_KEY,
    _fits,
    make_model,
    month_blocks,
    predict_churn,
    read_churn_data,
    score_month,
    score_with_reasons,
    with_ranks,
)

MONTHS = pd.date_range("2026-01-01", periods=6, freq="MS")
N = 3000


def _settings(**model):
    settings = load_churn_settings()
    model = {"n_estimators": 20, **model}
    return settings.model_copy(update={"model": settings.model.model_copy(update=model)})


def _features(n_customers: int, seed: int = 1) -> pd.DataFrame:
    """Every customer in every month; churn more likely with complaints (so the model has
    something to learn); the last month unlabelled. Few distinct values, so that many
    probabilities tie and the ranks' tie-break matters."""
    rng = np.random.default_rng(seed)
    n = n_customers * len(MONTHS)
    complaints = rng.poisson(0.5, n)
    frame = pd.DataFrame(
        {
            "customer_id": np.tile([f"C{i:06d}" for i in range(n_customers)], len(MONTHS)),
            "month": np.repeat(MONTHS, n_customers),
            "n_complaints": complaints,
            "has_arrears": rng.random(n) < 0.1,
            "region": rng.choice(["north", "south", "east", None], n),
            LABEL: rng.random(n) < 0.03 + 0.05 * (complaints > 1),
        }
    )
    last = frame["month"] == MONTHS[-1]
    frame[LABEL] = frame[LABEL].astype(object).where(~last, None)
    return frame


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The features as a warehouse table, in a shuffled row order."""
    features = _features(N).sample(frac=1.0, random_state=0)
    con = ibis.duckdb.connect(tmp_path_factory.mktemp("blocks") / "w.duckdb")
    table = con.create_table(
        "features", features.assign(**{LABEL: features[LABEL].astype("boolean")})
    )
    yield features, table
    con.disconnect()


def test_calibration_and_evaluation_months_are_capped():
    features = _features(N)
    settings = _settings(max_train_rows=3000, max_calibration_rows=1200, max_evaluation_rows=600)
    data = read_churn_data(features, settings)
    (train, cal), (fit, final_cal) = _fits(data.labelled)
    assert cal == [MONTHS[3]] and final_cal == [MONTHS[4]]
    # Month 4 calibrates the measured model (cap 1,200 of 3,000: 40 %) and trains the final
    # one (3,000 of 12,000: 25 %): the larger share is read. Month 5 calibrates the final
    # model (40 %) and is held out (600: 20 %): 40 % read.
    counts = data.frame.groupby("month").size()
    sd = math.sqrt(N * 0.4 * 0.6)
    for month in MONTHS[3:5]:
        assert abs(counts[month] - 0.4 * N) < 4 * sd
        assert (data.frame.loc[data.frame.month == month, SAMPLE_KEY] < 0.4).all()
    assert MONTHS[5] not in counts.index  # the latest month: scored by blocks
    calibration = data.rows(cal, cap=settings.model.max_calibration_rows)
    held_out = data.rows([MONTHS[4]], cap=settings.model.max_evaluation_rows)
    assert abs(len(calibration) - 1200) < 4 * sd
    assert abs(len(held_out) - 600) < 4 * math.sqrt(N * 0.2 * 0.8)
    # The held-out customers lie inside the final calibration's.
    final_calibration = data.rows(final_cal, cap=settings.model.max_calibration_rows)
    assert set(held_out.customer_id) <= set(final_calibration.customer_id)


def test_the_baseline_learns_from_a_nested_sample():
    features = _features(N)
    settings = _settings(max_train_rows=6000, baseline_max_rows=2000)
    data = read_churn_data(features, settings)
    (train, cal), (fit, _) = _fits(data.labelled)
    base = data.rows(train + cal, settings, settings.model.baseline_max_rows)
    trained = data.rows(train, settings)
    final = data.rows(fit, settings)
    # Months 1-4 hold 12,000 customer-months: a sixth of the customers (key < 1/6).
    share = 2000 / 12_000
    assert (base[SAMPLE_KEY] < share).all()
    sd = 4 * math.sqrt(N * share * (1 - share))  # 4 months per customer
    assert abs(len(base) - 2000) < 4 * sd
    assert set(base.customer_id) <= set(final.customer_id) <= set(trained.customer_id)
    # Every month of a baseline customer is in (by customer, not by row).
    assert (base.groupby("customer_id", observed=True).size() == 4).all()


def test_text_values_without_objects_equal_the_object_route():
    frame = pd.DataFrame({"a": ["x", None, "y", "x"], "b": ["p", "q", None, None]})
    as_categories = frame.astype("category")
    expected = np.array([["x", "p"], ["(missing)", "q"], ["y", "(missing)"], ["x", "(missing)"]])
    np.testing.assert_array_equal(text_values(frame), expected)
    np.testing.assert_array_equal(text_values(as_categories), expected)


def test_the_baseline_predicts_the_same_from_categories_or_text():
    features = _features(N)
    X = features[["n_complaints", "has_arrears", "region"]].iloc[: 4 * N]
    y = features[LABEL].iloc[: 4 * N].astype(bool)
    model = logistic_baseline(X).fit(baseline_frame(X), y)
    as_categories = X.assign(region=X.region.astype("category"))
    np.testing.assert_allclose(
        model.predict_proba(baseline_frame(as_categories)),
        model.predict_proba(baseline_frame(X)),
    )
    # The one-hot columns are the regions seen and the gap.
    encoder = model.named_steps["prep"].named_transformers_["text"][-1]
    assert encoder.categories_[0].tolist() == ["(missing)", "east", "north", "south"]


def test_blocks_partition_the_month(world):
    _, table = world
    settings = _settings()
    data = read_churn_data(table, settings)
    whole = next(month_blocks(data, data.latest, 10 * N))
    blocks = list(month_blocks(data, data.latest, 700))  # ceil(3000 / 700) = 5 blocks
    assert len(blocks) == 5
    assert len(whole) == N
    ids = pd.concat([b.customer_id for b in blocks])
    assert ids.is_unique and set(ids) == set(whole.customer_id)
    for b, block in enumerate(blocks):
        assert block[SAMPLE_KEY].between(b / 5, (b + 1) / 5, inclusive="left").all()
        assert abs(len(block) - N / 5) < 4 * math.sqrt(N * 0.2 * 0.8)


@pytest.mark.parametrize("source", ["warehouse", "frame"])
def test_scoring_by_blocks_equals_scoring_whole(world, source):
    features, table = world
    settings = _settings(n_estimators=15, score_block_rows=700)
    data = read_churn_data(table if source == "warehouse" else features, settings)
    train = data.rows(data.labelled[:-1])
    columns = data.columns
    model = make_model(settings).fit(train[columns], train[LABEL].astype(bool))
    whole_rows = next(month_blocks(data, data.latest, 10 * N)).drop(
        columns=[_ORDER], errors="ignore"
    )
    whole = score_with_reasons(model, whole_rows, settings)
    by_blocks = score_month(model, data, data.latest, settings)
    pd.testing.assert_frame_equal(by_blocks, whole)
    # Ties are many (few distinct rows), ranks still 1..n with ties in the month's order.
    assert whole.churn_probability.nunique() < N / 2
    assert sorted(by_blocks.risk_rank) == list(range(1, N + 1))
    p = by_blocks.churn_probability.to_numpy()
    expected = pd.Series(-p).rank(method="first").astype("int64").to_numpy()
    np.testing.assert_array_equal(by_blocks.risk_rank.to_numpy(), expected)
    assert (by_blocks.groupby("risk_decile").size() == N // 10).all()
    if source == "frame":  # a data frame's month keeps its order
        latest = features[features.month == MONTHS[-1]]
        assert by_blocks.customer_id.tolist() == latest.customer_id.tolist()
    else:
        assert by_blocks.customer_id.is_monotonic_increasing


def test_with_ranks_agrees_with_pandas_rank():
    rng = np.random.default_rng(3)
    scored = pd.DataFrame(
        {
            "customer_id": list("abcdefghij") * 10,
            "churn_probability": rng.choice([0.1, 0.2, 0.5], 100),
        }
    )
    ranked = with_ranks(scored)
    expected = (-scored.churn_probability).rank(method="first").astype("int64")
    np.testing.assert_array_equal(ranked.risk_rank, expected)
    assert list(ranked.columns) == ["customer_id", "churn_probability", "risk_rank", "risk_decile"]
    # Decile 1 = the top tenth: the ten highest ranks.
    assert set(ranked.loc[ranked.risk_decile == 1, "risk_rank"]) == set(range(1, 11))


def test_a_run_scores_the_same_by_blocks(world):
    _, table = world
    one = predict_churn(table, _settings(n_estimators=15, score_block_rows=10 * N))
    five = predict_churn(table, _settings(n_estimators=15, score_block_rows=700))
    pd.testing.assert_frame_equal(five.scores, one.scores)
    assert len(five.scores) == N
    assert five.evaluation == one.evaluation
