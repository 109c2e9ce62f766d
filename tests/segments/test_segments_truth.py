"""Segments on the simulator's world against its planted latent segment (truth/customers.parquet).

The world (4,000 customers x 4 months, seed 3) goes through ingest and the customer 360 as real
data would; the segmenter never reads ``truth/``. The planted segments differ in ARPU factor,
contact needs and channel tilt, but a customer's bill also carries brand, tier and a lognormal
draw and a month holds about one contact, so the observable features overlap heavily: the
bar is plain k-means on the raw (unstandardised) features with the same k.
"""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from touchpoint import customers
from touchpoint.config import load_config
from touchpoint.ingest import ingest
from touchpoint.segments import (
    MEMBERS_MART,
    STABILITY_MART,
    lifecycle_stages,
    load_lifecycle_settings,
    load_segment_settings,
    make_segmenter,
    segment_features,
    segment_tables,
)
from touchpoint.simulate import simulate
from touchpoint.warehouse import connect

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    out = tmp_path_factory.mktemp("segments_world")
    result = simulate(out / "data", customers=4000, months=4, seed=3)
    con = connect(out / "w.duckdb")
    ingest(con, list(result.files.values()))
    tables = {name: con.table(name) for name in con.list_tables() if name.startswith("stg_")}
    c360 = customers.build(tables, load_config())[customers.C360_MART]
    features = segment_features(c360).to_pandas()
    stages = lifecycle_stages(c360, load_lifecycle_settings()).to_pandas()
    c360_frame = c360.select("customer_id", "month", "has_left_in_month").to_pandas()
    truth = pd.read_parquet(out / "data" / "truth" / "customers.parquet")
    yield SimpleNamespace(features=features, truth=truth, stages=stages, c360=c360_frame)
    con.disconnect()


def test_segments_recover_the_planted_segment_better_than_raw_kmeans(world):
    settings = load_segment_settings().model_copy(update={"selection_sample": 2000})
    names = list(settings.features)
    f = world.features
    model = make_segmenter(settings).fit(f[names])
    latest = f[f.month == f.month.max()].merge(world.truth, on="customer_id")
    ours = adjusted_rand_score(latest.segment, model.predict(latest[names]))
    raw = KMeans(model.n_segments_, n_init=4, random_state=0).fit(f[names].to_numpy())
    plain = adjusted_rand_score(latest.segment, raw.predict(latest[names].to_numpy()))
    print(f"\nk={model.n_segments_} ARI vs planted: segmenter {ours:.3f}, raw k-means {plain:.3f}")
    # Measured 0.053 (k=5 by silhouette) against 0.020 at the time of writing.
    assert ours > 0.04
    assert ours > 1.5 * plain


def test_segments_are_stable_across_months(world):
    settings = load_segment_settings().model_copy(update={"n_segments": 5})
    stability = segment_tables(world.features, settings)[STABILITY_MART].to_pandas()
    print("\n" + stability.to_string())
    assert len(stability) == 3
    # Measured 0.71-0.80 kept and refit ARI 0.94-0.95.
    assert (stability.share_kept > 0.6).all()
    assert (stability.refit_ari > 0.8).all()


@pytest.mark.parametrize("seed", [0, 2])
def test_segments_do_not_depend_on_the_order_of_rows(world, seed):
    # The warehouse returns rows in no fixed order; with 4 k-means starts and unsorted rows,
    # two orders of the same world gave refit ARIs of 0.54 and 0.94 (a CI failure).
    settings = load_segment_settings().model_copy(update={"n_segments": 5})
    shuffled = world.features.sample(frac=1, random_state=seed)
    ours = segment_tables(world.features, settings)
    theirs = segment_tables(shuffled, settings)
    keys = {MEMBERS_MART: ["customer_id", "month"], STABILITY_MART: ["from_month"]}
    for mart, key in keys.items():  # a table's rows come in no order of their own
        a, b = (t[mart].to_pandas().sort_values(key, ignore_index=True) for t in (ours, theirs))
        pd.testing.assert_frame_equal(a, b)


def test_lifecycle_stages_on_the_world(world):
    s = world.stages.merge(world.c360, on=["customer_id", "month"])
    assert ((s.stage == "churned") == s.has_left_in_month).all()
    assert (s[s.stage == "new"].tenure_months < 3).all()
    counts = s.stage.value_counts(normalize=True)
    print("\n" + counts.to_string())
    assert set(counts.index) == {"new", "growing", "mature", "declining", "at_risk", "churned"}
