"""The training sample of the churn fits (``model.max_train_rows``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from touchpoint.churn import load_churn_settings
from touchpoint.churn._predict import training_rows


def _settings(cap: int):
    settings = load_churn_settings()
    return settings.model_copy(
        update={"model": settings.model.model_copy(update={"max_train_rows": cap})}
    )


def test_rows_under_the_cap_are_kept_whole():
    rows = pd.DataFrame({"x": np.arange(800)})
    assert training_rows(rows, _settings(1000)) is rows


def test_a_seeded_sample_in_order_above_the_cap():
    rows = pd.DataFrame({"x": np.arange(5000)}, index=np.arange(5000) * 3)
    sample = training_rows(rows, _settings(1000))
    assert len(sample) == 1000 and sample.index.is_unique
    assert sample.index.is_monotonic_increasing  # in the rows' own order
    assert set(sample.x) <= set(rows.x)
    pd.testing.assert_frame_equal(sample, training_rows(rows, _settings(1000)))
    # Uniform: the sample's mean sits near the whole's (sd of the mean ~ 41 here).
    assert abs(sample.x.mean() - rows.x.mean()) < 200
