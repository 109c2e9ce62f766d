"""Queue figures and patience from hand-built call detail records."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest

from touchpoint.capacity import cdr_intervals, mean_patience, patience_curve

T0 = pd.Timestamp("2026-01-05 09:00:00")


def _cdr(rows):
    """rows: (queue start offset s, wait s, handle s or None, outcome, agent)."""

    def sec(x):
        return pd.Timedelta(milliseconds=round(x * 1000))

    out = []
    for i, (start, wait, handle, outcome, agent) in enumerate(rows):
        qs = T0 + sec(start) if start is not None else pd.NaT
        served = outcome == "served"
        out.append(
            {
                "call_id": f"c{i}",
                "queue_start": qs,
                "queue_exit": qs + sec(wait) if start is not None else pd.NaT,
                "service_start": qs + sec(wait) if served else pd.NaT,
                "service_end": qs + sec(wait + handle) if served else pd.NaT,
                "outcome": outcome,
                "agent_id": agent,
            }
        )
    return ibis.memtable(pd.DataFrame(out))


HAND = [
    (0, 20, 300, "served", "a1"),  # served after 20 s: patience censored at 20
    (60, 10, None, "abandoned", None),  # hung up after 10 s
    (120, 40, 600, "served", "a2"),  # censored at 40
    (600, 30, None, "abandoned", None),  # hung up after 30 s
    (None, 0, None, "abandoned", None),  # hung up in the IVR: not a queue arrival
    (1900, 5, 200, "served", "a1"),  # next half hour
]


def test_interval_figures_by_hand():
    frame = cdr_intervals(_cdr(HAND), interval_minutes=30, within_seconds=20).to_pandas()
    first, second = frame.iloc[0], frame.iloc[1]
    assert (first.arrivals, first.served, first.abandoned) == (4, 2, 2)
    assert first.served_in_time == 1  # 20 s counts, 40 s does not
    assert first.service_level == pytest.approx(0.25)
    assert first.abandon_share == pytest.approx(0.5)
    assert first.mean_wait_served_s == pytest.approx(30)
    assert first.mean_handle_s == pytest.approx(450)
    assert first.agents_seen == 2
    assert first.occupancy == pytest.approx(900 / (2 * 1800))
    assert (second.arrivals, second.served_in_time, second.occupancy) == (
        1,
        1,
        pytest.approx(200 / 1800),
    )


def test_patience_is_censored_for_served_callers():
    # Kaplan-Meier by hand on waits 10 (event), 20 (censored), 30 (event), 40 (censored),
    # 5 (censored): at 10 s 4 at risk, 1 hangs up -> 3/4; at 30 s 2 at risk -> 3/4 * 1/2.
    curve = patience_curve(_cdr(HAND)).set_index("seconds")
    assert curve.loc[10.0, "survival"] == pytest.approx(0.75)
    assert curve.loc[30.0, "survival"] == pytest.approx(0.375)
    assert curve.loc[30.0, "at_risk"] == 2
    # Exponential MLE: total waiting exposure 105 s over 2 hang-ups.
    assert mean_patience(_cdr(HAND)) == pytest.approx(52.5)
    # Dropping the censored (served) callers would have said 20 s: the bias the method avoids.


def test_patience_estimate_recovers_a_planted_exponential():
    rng = np.random.default_rng(3)
    n, true_mean = 4000, 90.0
    patience = rng.exponential(true_mean, n)
    offered = rng.exponential(60.0, n)  # when an agent would answer
    rows = [
        (
            i * 3.0,
            round(min(p, v), 3),
            100.0 if v <= p else None,
            "served" if v <= p else "abandoned",
            "a" if v <= p else None,
        )
        for i, (p, v) in enumerate(zip(patience, offered, strict=True))
    ]
    cdr = _cdr(rows)
    assert mean_patience(cdr) == pytest.approx(true_mean, rel=0.08)
    curve = patience_curve(cdr)
    at = curve[curve.seconds <= 90].iloc[-1]
    assert at.survival == pytest.approx(np.exp(-1), abs=0.04)
