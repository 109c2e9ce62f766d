"""CustomerSegmenter, profiles and the segment marts on hand-built data."""

from __future__ import annotations

import datetime as dt

import ibis
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import adjusted_rand_score

from touchpoint.segments import (
    MEMBERS_MART,
    MIGRATION_MART,
    PROFILES_MART,
    STABILITY_MART,
    CustomerSegmenter,
    SegmentSettings,
    assign_segments,
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


def test_one_month_has_segments_but_no_pairs_of_months():
    rng = np.random.default_rng(1)
    rows = [
        {
            "customer_id": f"C{i:03d}",
            "month": dt.date(2026, 1, 1),
            **dict(zip(FEATURES, rng.normal(0, 0.1, len(FEATURES)) + 4.0 * (i % 2), strict=True)),
        }
        for i in range(200)
    ]
    settings = SETTINGS.model_copy(update={"n_segments": 2})
    marts = {k: v.to_pyarrow() for k, v in segment_tables(pd.DataFrame(rows), settings).items()}
    assert marts[STABILITY_MART].num_rows == 0 and marts[MIGRATION_MART].num_rows == 0
    assert str(marts[STABILITY_MART].schema.field("from_month").type) == "date32[day]"
    assert marts[PROFILES_MART].column("n_customers").to_pylist() == [100, 100]


def test_too_few_rows_give_empty_marts():
    frame = pd.DataFrame(
        [{"customer_id": "C1", "month": dt.date(2026, 1, 1), **dict.fromkeys(FEATURES, 0.0)}]
    )
    marts = segment_tables(frame, SETTINGS)
    assert all(t.count().to_pyarrow().as_py() == 0 for t in marts.values())


def test_kmeans_on_a_sample_still_labels_every_row():
    X, truth = _blobs(4, n=1500, k=3)
    seg = CustomerSegmenter(n_segments=3, fit_sample=1000).fit(X)
    labels = seg.predict(X)
    assert len(labels) == len(X)
    assert adjusted_rand_score(truth, labels) == pytest.approx(1.0)


def test_segments_assigned_in_ibis_equal_the_estimators_predict():
    X, _ = _blobs(5, n=400, k=4, spread=1.5)  # overlapping groups: many rows near a border
    seg = CustomerSegmenter(n_segments=4).fit(X)
    frame = X.assign(customer_id=[f"C{i:04d}" for i in range(len(X))], month=dt.date(2026, 1, 1))
    assigned = assign_segments(ibis.memtable(frame), seg).to_pandas()
    assigned = assigned.set_index("customer_id").loc[frame.customer_id]
    assert (assigned.segment.to_numpy() == seg.predict(X)).all()


def _months(n_customers: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X, _ = _blobs(seed, n=n_customers // 3, k=3)
    rows = [
        X.assign(
            customer_id=[f"C{i:04d}" for i in range(len(X))],
            month=month,
            **{FEATURES[0]: X[FEATURES[0]] + rng.normal(0, 0.1, len(X))},
        )
        for month in (dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1))
    ]
    return pd.concat(rows, ignore_index=True)


def test_sampled_fit_labels_every_row_and_ignores_row_order():
    # 3 months x 900 customers; k-means sees at most 1,000 rows, a refit at most 200 a month
    frame = _months(900, 3)
    settings = SETTINGS.model_copy(
        update={"n_segments": 3, "fit_sample": 1000, "stability_sample": 200}
    )
    ours = {k: v.to_pandas() for k, v in segment_tables(frame, settings).items()}
    shuffled = frame.sample(frac=1, random_state=1)
    theirs = {k: v.to_pandas() for k, v in segment_tables(shuffled, settings).items()}
    members = ours[MEMBERS_MART]
    assert len(members) == len(frame) and members.segment.notna().all()
    truth = np.tile(np.repeat(np.arange(3), 300), 3)  # _blobs' groups, every month
    members = members.assign(month=pd.to_datetime(members.month).dt.date)
    merged = frame.assign(truth=truth).merge(members, on=["customer_id", "month"])
    assert adjusted_rand_score(merged.truth, merged.segment) == pytest.approx(1.0)
    assert (ours[STABILITY_MART].refit_ari > 0.99).all()
    keys = {
        MEMBERS_MART: ["customer_id", "month"],
        PROFILES_MART: ["segment"],
        MIGRATION_MART: ["from_month", "from_segment", "to_segment"],
        STABILITY_MART: ["from_month"],
    }
    for mart, key in keys.items():
        a, b = (m[mart].sort_values(key, ignore_index=True) for m in (ours, theirs))
        pd.testing.assert_frame_equal(a, b)


def test_a_negative_seed_is_refused_by_the_settings():
    # numpy's generators and k-means take no negative seed, nor does the sample's modulo
    with pytest.raises(ValueError, match="random_state"):
        SegmentSettings.model_validate({**SETTINGS.model_dump(), "random_state": -7})
