"""``survey_quality`` holds cells and a bounded sample on the driver, not a row per survey.

- The weighted CSAT from cells of surveys (:func:`reply_cells`, counted in the warehouse)
  equals the weighted CSAT computed row by row (the reply model fitted on one row per
  survey, a weight per reply), generated over random worlds of features and replies.
- The peak-end model's rows: every one below the cap; past it a sample of about the cap,
  the same rows each time, drawn among the right channels only.
"""

from __future__ import annotations

import datetime as dt

import ibis
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from touchpoint.quality import (
    REPLY_FEATURES,
    ReplyModel,
    reply_cells,
    weighted_csat,
    wilson_interval,
)
from touchpoint.quality._build import _peak_end_model_rows

BY = ("survey_channel", "month")
LEVELS = {
    "survey_channel": ["sms", "ivr"],
    "contact_channel": ["agent", "app", "store"],
    "business": ["billing", "payment", None],
    "outcome": ["resolved", "unresolved"],
    "value_tier": ["regular", "high"],
}


def _frame(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({f: rng.choice(np.array(LEVELS[f], dtype=object), n) for f in LEVELS})
    frame["month"] = rng.choice([dt.date(2026, 1, 1), dt.date(2026, 2, 1)], n)
    resolved = frame.outcome == "resolved"
    replied = rng.random(n) < np.where(resolved, 0.2, 0.6)
    satisfied = rng.random(n) < np.where(resolved, 0.8, 0.3)
    frame["is_satisfied"] = pd.array(np.where(replied, satisfied, pd.NA), dtype="boolean")
    return frame


def _row_by_row(frame: pd.DataFrame, by: tuple[str, ...]) -> pd.DataFrame:
    """The weighted CSAT as first written: the model on one row per survey, a weight each."""
    classified = frame.is_satisfied.notna().to_numpy()
    p = ReplyModel().fit(frame, classified).predict_proba(frame)
    f = frame.assign(_w=1 / np.clip(p, 1e-3, 1))[classified]
    rows = []
    for group, g in f.groupby(list(by), sort=True):
        w, y = g._w.to_numpy(), g.is_satisfied.astype(bool).to_numpy()
        est, n_eff = (w * y).sum() / w.sum(), w.sum() ** 2 / (w**2).sum()
        low, high = wilson_interval(est * n_eff, n_eff)
        rows.append((*group, est, low, high, n_eff))
    return pd.DataFrame(rows, columns=[*by, "csat_weighted", "low", "high", "n_effective"])


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(40, 3_000))
def test_weighting_by_cells_equals_weighting_row_by_row(seed, n):
    frame = _frame(seed, n)
    expected = _row_by_row(frame, BY)
    got = weighted_csat(frame, BY)
    assert got[list(BY)].values.tolist() == expected[list(BY)].values.tolist()
    # Two L-BFGS fits of one likelihood (tolerance 1e-10): measured within 5e-9 relative;
    # a cell counted wrong moves the CSAT by far more than 1e-6.
    for mine, theirs in (
        ("csat_weighted", "csat_weighted"),
        ("csat_weighted_low", "low"),
        ("csat_weighted_high", "high"),
        ("n_effective", "n_effective"),
    ):
        np.testing.assert_allclose(got[mine], expected[theirs], rtol=1e-6, atol=1e-12)


def test_the_cells_counted_in_the_warehouse_give_the_same_csat():
    frame = _frame(3, 2_000)
    cells = reply_cells(ibis.memtable(frame), BY).to_pandas()
    assert cells.n_sent.sum() == len(frame)
    assert cells.n_classified.sum() == frame.is_satisfied.notna().sum()
    assert cells.n_satisfied.sum() == frame.is_satisfied.fillna(False).sum()
    assert len(cells) <= np.prod([len(v) for v in LEVELS.values()]) * 2
    from touchpoint.quality import weighted_csat_of_cells

    from_cells = weighted_csat_of_cells(cells, BY)
    from_rows = weighted_csat(frame, BY)
    from_rows["month"] = pd.to_datetime(from_rows["month"])  # Ibis reads dates as datetime64
    pd.testing.assert_frame_equal(from_cells, from_rows)
    assert set(REPLY_FEATURES) <= set(cells.columns)


def _peak_end(n: int) -> tuple[ibis.Table, ibis.Table]:
    rng = np.random.default_rng(1)
    ids = [f"k{i:06d}" for i in range(n)]
    channel = rng.choice(["agent", "app"], n, p=[0.75, 0.25])
    satisfied = pd.array(np.where(rng.random(n) < 0.9, rng.random(n) < 0.6, pd.NA), "boolean")
    replies = pd.DataFrame(
        {
            "contact_id": ids,
            "contact_channel": channel,
            "is_satisfied": satisfied,
            "duration_seconds": np.arange(n, dtype=float),  # tells the rows apart
        }
    )
    classified = replies[replies.is_satisfied.notna()]
    return ibis.memtable(replies), ibis.memtable(classified)


@pytest.mark.parametrize("cap", [1_000, 5_000])
def test_the_peak_end_rows_are_a_sample_of_about_the_cap(cap):
    replies, frame = _peak_end(40_000)
    agent = frame.filter(frame.contact_channel == "agent").count().to_pyarrow().as_py()
    rows = _peak_end_model_rows(replies, frame, ["agent"], cap)
    assert set(rows.contact_channel) == {"agent"}
    assert rows.duration_seconds.is_unique
    # Each of ``agent`` rows kept with probability cap / agent: a binomial count.
    sd = np.sqrt(cap * (1 - cap / agent))
    assert abs(len(rows) - cap) < 5 * sd
    again = _peak_end_model_rows(replies, frame, ["agent"], cap)
    assert sorted(again.duration_seconds) == sorted(rows.duration_seconds)


def test_below_the_cap_every_peak_end_row_is_read():
    replies, frame = _peak_end(4_000)
    rows = _peak_end_model_rows(replies, frame, ["agent", "app"], 10_000)
    assert len(rows) == frame.count().to_pyarrow().as_py()
