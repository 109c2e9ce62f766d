"""The rows a churn run reads and the training sample of its fits (``model.max_train_rows``):
chosen in Ibis by a seeded hash of the customer, before anything is read into memory."""

from __future__ import annotations

import math

import ibis
import numpy as np
import pandas as pd
import pytest

from touchpoint.churn import load_churn_settings
from touchpoint.churn._features import sample_key
from touchpoint.churn._predict import SAMPLE_KEY, read_churn_data, sample_fraction

MONTHS = pd.date_range("2026-01-01", periods=6, freq="MS")


def _settings(cap: int):
    settings = load_churn_settings()
    return settings.model_copy(
        update={"model": settings.model.model_copy(update={"max_train_rows": cap})}
    )


def _features(n_customers: int, seed: int = 0) -> pd.DataFrame:
    """Every customer in every month; 5 % leave next month at random (the last month:
    unknown); a number, a flag and a text column."""
    rng = np.random.default_rng(seed)
    n = n_customers * len(MONTHS)
    frame = pd.DataFrame(
        {
            "customer_id": np.tile([f"C{i:06d}" for i in range(n_customers)], len(MONTHS)),
            "month": np.repeat(MONTHS, n_customers),
            "arpu_yuan": rng.gamma(2.0, 40.0, n),
            "has_arrears": rng.random(n) < 0.1,
            "region": rng.choice(["north", "south", "east"], n),
            "churn_next_month": rng.random(n) < 0.05,
        }
    )
    last = frame["month"] == MONTHS[-1]
    frame["churn_next_month"] = frame["churn_next_month"].astype(object).where(~last, None)
    return frame


def test_sample_key_is_uniform_and_seeded():
    ids = ibis.memtable({"customer_id": [f"C{i:06d}" for i in range(20_000)]})
    keys = ids.select(a=sample_key(ids.customer_id, 0), b=sample_key(ids.customer_id, 1))
    frame = keys.to_pandas()
    assert frame.a.between(0, 1, inclusive="left").all()
    for share in (0.1, 0.3, 0.7):
        sd = math.sqrt(share * (1 - share) / len(frame))
        assert abs((frame.a < share).mean() - share) < 4 * sd
    # Another seed, another sample: the two keys are unrelated.
    assert abs(np.corrcoef(frame.a, frame.b)[0, 1]) < 0.05


def test_under_the_cap_every_row_is_read_in_its_order():
    features = _features(500)
    data = read_churn_data(features, _settings(1_000_000))
    # The latest month is scored a block at a time (test_churn_blocks.py), not read here.
    features = features[features.month < MONTHS[-1]]
    assert len(data.frame) == len(features)
    assert data.frame.customer_id.tolist() == features.customer_id.tolist()
    np.testing.assert_allclose(data.frame.arpu_yuan, features.arpu_yuan, rtol=1e-6)
    assert data.frame.arpu_yuan.dtype == np.float32
    assert data.frame.has_arrears.dtype == np.float32
    assert isinstance(data.frame.region.dtype, pd.CategoricalDtype)
    assert data.frame.customer_id.dtype != object
    assert data.labelled == list(MONTHS[:-1]) and data.latest == MONTHS[-1]
    labelled = data.frame.churn_next_month.notna()
    expected = features.churn_next_month.notna()
    assert (labelled.to_numpy() == expected.to_numpy()).all()


@pytest.fixture(scope="module")
def sampled():
    features = _features(5000)
    settings = _settings(3000)
    return features, settings, read_churn_data(features, settings)


def test_months_only_trained_on_are_read_as_the_sample(sampled):
    features, settings, data = sampled
    counts = data.frame.groupby("month").size()
    # Months 4-5 calibrate and measure: read whole (under max_calibration_rows and
    # max_evaluation_rows); month 6 is scored a block at a time, not read here.
    for month in MONTHS[3:5]:
        assert counts[month] == 5000
    assert MONTHS[5] not in counts.index
    # Months 1-3 only train the measured model (15,000 customer-months for a cap of
    # 3,000): the same fifth of the customers in each (their key below 0.2).
    share = sample_fraction(15_000, 3000)
    assert share == pytest.approx(0.2)
    first = data.frame[data.frame.month.isin(MONTHS[:3])]
    assert (first[SAMPLE_KEY] < share).all()
    per_customer = first.groupby("customer_id", observed=True).size()
    assert (per_customer == 3).all()  # a sampled customer with all their months
    sd = math.sqrt(share * (1 - share) / 5000)
    assert abs(len(per_customer) / 5000 - share) < 4 * sd
    # The same run reads the same rows.
    again = read_churn_data(features, settings)
    pd.testing.assert_frame_equal(data.frame, again.frame)


def test_each_fit_gets_about_the_cap(sampled):
    _, settings, data = sampled
    measured = data.rows(list(MONTHS[:3]), settings)
    final = data.rows(list(MONTHS[:4]), settings)
    for rows, n in ((measured, 15_000), (final, 20_000)):
        share = settings.model.max_train_rows / n
        # By customer: months of one customer go together, so the count's sd is
        # months x the binomial sd of the customers.
        sd = n / 5000 * math.sqrt(5000 * share * (1 - share))
        assert abs(len(rows) - settings.model.max_train_rows) < 4 * sd
    # The smaller share's customers lie inside the larger one's.
    assert set(final.customer_id) <= set(measured.customer_id)
    assert len(data.rows(list(MONTHS[3:5]))) == 10_000  # no settings: every row


def test_the_warehouse_table_reads_the_same_rows(sampled, tmp_path):
    features, settings, data = sampled
    con = ibis.duckdb.connect(tmp_path / "w.duckdb")
    table = con.create_table(
        "features", features.assign(churn_next_month=features.churn_next_month.astype("boolean"))
    )
    from_table = read_churn_data(table, settings)
    order = ["month", "customer_id"]
    pd.testing.assert_frame_equal(
        from_table.frame.sort_values(order).reset_index(drop=True),
        data.frame.sort_values(order).reset_index(drop=True),
        check_categorical=False,
    )
    assert from_table.frame[order].equals(
        from_table.frame[order].sort_values(order)
    )  # a warehouse table is read in key order
    con.disconnect()
