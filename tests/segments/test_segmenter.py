"""CustomerSegmenter, profiles and the segment marts on hand-built data."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import adjusted_rand_score

from touchpoint.segments import (
    MIGRATION_MART,
    PROFILES_MART,
    STABILITY_MART,
    CustomerSegmenter,
    describe,
    load_segment_settings,
    name_segments,
    segment_tables,
)

SETTINGS = load_segment_settings()
FEATURES = list(SETTINGS.features)


def _blobs(seed: int, n: int = 300, k: int = 4, spread: float = 0.4):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 3, size=(k, len(FEATURES)))
    truth = np.repeat(np.arange(k), n)
    X = centers[truth] + rng.normal(0, spread, size=(k * n, len(FEATURES)))
    return pd.DataFrame(X, columns=FEATURES), truth


def test_auto_k_finds_the_planted_number_and_recovers_the_groups():
    X, truth = _blobs(1)
    seg = CustomerSegmenter(k_range=(2, 7), selection_sample=600).fit(X)
    assert seg.n_segments_ == 4
    assert max(seg.silhouettes_, key=seg.silhouettes_.get) == 4
    assert adjusted_rand_score(truth, seg.predict(X)) == pytest.approx(1.0)
    assert seg.centers_.shape == (4, len(FEATURES))
    # numbered by the first feature's mean, highest first
    assert (np.diff(seg.centers_[:, 0]) <= 0).all()
    assert seg.transform(X).shape == (len(X), 4)
    assert (seg.transform(X).argmin(axis=1) == seg.predict(X)).all()


def test_same_seed_same_segments_and_columns_by_name():
    X, _ = _blobs(2, k=3)
    a = CustomerSegmenter(n_segments=3, random_state=7).fit(X).predict(X)
    fitted = clone(CustomerSegmenter(n_segments=3, random_state=7)).fit(X)
    assert (a == fitted.predict(X)).all()
    assert (fitted.predict(X[FEATURES[::-1]]) == a).all()  # columns matched by name


def test_missing_values_and_too_few_rows_are_refused():
    X, _ = _blobs(3, n=10, k=2)
    X.iloc[3, 2] = np.nan
    with pytest.raises(ValueError, match="missing values"):
        CustomerSegmenter(n_segments=2).fit(X)
    with pytest.raises(ValueError, match="at least 2 rows"):
        CustomerSegmenter(n_segments=2).fit(X.iloc[:1].fillna(0))


def test_descriptions_name_the_features_that_set_a_segment_apart():
    center = {"log_arpu": 1.5, "agent_share_3m": 0.9, "complaints_3m": -0.6, "log_tenure": 0.1}
    assert describe(center, SETTINGS, "en") == "high ARPU, many agent contacts, no complaints"
    assert describe(center, SETTINGS, "zh") == "高ARPU，人工接触多，无投诉"
    assert describe({"log_arpu": -0.2}, SETTINGS, "en") == "close to the average"


def test_names_follow_the_kind_signatures_each_kind_once():
    centers = np.zeros((3, len(FEATURES)))
    centers[0, FEATURES.index("log_contacts_3m")] = -1.2  # few contacts: occasional
    centers[1, FEATURES.index("digital_share_3m")] = 1.5  # digital: young generation
    centers[1, FEATURES.index("store_share_3m")] = -0.5
    centers[2, FEATURES.index("complaints_3m")] = 2.0  # complaints + contacts: watch list
    centers[2, FEATURES.index("log_contacts_3m")] = 1.0
    assert name_segments(centers, FEATURES, SETTINGS) == [
        "occasional",
        "young_generation",
        "watch_list",
    ]
    same = np.vstack([centers[0], centers[0]])  # two alike: the second gets the next best kind
    names = name_segments(same, FEATURES, SETTINGS)
    assert names[0] == "occasional" and names[1] != "occasional"


def test_marts_migration_and_stability_counted_by_hand():
    # two planted groups; three customers switch group between the two months
    rng = np.random.default_rng(0)
    rows = []
    for month in (dt.date(2026, 1, 1), dt.date(2026, 2, 1)):
        for i in range(200):
            group = i % 2
            if month.month == 2 and i in (0, 1, 2):
                group = 1 - group
            values = rng.normal(0, 0.1, len(FEATURES)) + (4.0 if group else 0.0)
            rows.append(
                {
                    "customer_id": f"C{i:03d}",
                    "month": month,
                    **dict(zip(FEATURES, values, strict=True)),
                }
            )
    frame = pd.DataFrame(rows)
    settings = SETTINGS.model_copy(update={"n_segments": 2})
    marts = {k: v.to_pandas() for k, v in segment_tables(frame, settings).items()}
    stability = marts[STABILITY_MART]
    assert stability.share_kept.tolist() == [pytest.approx(197 / 200)]
    assert stability.refit_ari.tolist() == [pytest.approx(1.0)]
    migration = marts[MIGRATION_MART]
    assert migration.n_customers.sum() == 200
    assert sorted(migration[migration.from_segment != migration.to_segment].n_customers) == [1, 2]
    assert np.allclose(migration.groupby("from_segment").share.sum(), 1.0)
    profiles = marts[PROFILES_MART]
    assert profiles.n_customers.sum() == 200 and profiles.share.sum() == pytest.approx(1.0)
    assert (profiles.description_en.str.len() > 0).all() and (profiles.name_zh.str.len() > 0).all()


def test_too_few_rows_give_empty_marts():
    frame = pd.DataFrame(
        [{"customer_id": "C1", "month": dt.date(2026, 1, 1), **dict.fromkeys(FEATURES, 0.0)}]
    )
    marts = segment_tables(frame, SETTINGS)
    assert all(t.count().to_pyarrow().as_py() == 0 for t in marts.values())
