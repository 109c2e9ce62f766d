"""Reply classification, reply rates, CSAT with intervals and the non-response weighting."""

from __future__ import annotations

import datetime as dt

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from touchpoint.customers import load_customers_settings
from touchpoint.quality import (
    ReplyModel,
    satisfaction_summary,
    survey_replies,
    weighted_csat,
    wilson_interval,
)

T = dt.datetime(2026, 3, 2, 10)
REPLIES = ["1", "满意", "满易", "👍", "2", "一般般", "不满意！", "3", "😡", "", "hmm ok?", None]


def _replies():
    n = len(REPLIES)
    surveys = ibis.memtable(
        pa.table(
            {
                "survey_id": [f"s{i}" for i in range(n)],
                "customer_id": [f"c{i}" for i in range(n)],
                "contact_id": [f"k{i}" for i in range(n)],
                "survey_channel": ["sms"] * 8 + ["ivr"] * 4,
                "sent_at": pa.array([T] * n, pa.timestamp("us")),
                "replied_at": pa.array([T] * (n - 1) + [None], pa.timestamp("us")),
                "reply_text": pa.array(REPLIES, pa.string()),
            }
        )
    )
    contacts = ibis.memtable(
        {
            "contact_id": ["k0"],
            "channel": ["agent"],
            "business": ["payment"],
            "outcome": ["resolved"],
        }
    )
    customers = ibis.memtable({"customer_id": ["c0"], "value_tier": ["gold"]})
    return survey_replies(surveys, contacts, customers, load_customers_settings())


def test_replies_are_classified_and_unclassified_ones_kept():
    r = _replies().to_pandas().set_index("survey_id")
    assert list(r.reply_class) == [
        "satisfied",
        "satisfied",
        "satisfied",
        "satisfied",
        "neutral",
        "neutral",
        "dissatisfied",
        "dissatisfied",
        "dissatisfied",
        "unclassified",
        "unclassified",
        None,
    ]
    assert r.loc["s0", "contact_channel"] == "agent" and r.loc["s1", "contact_channel"] == "unknown"
    assert r.loc["s0", "value_tier"] == "gold"
    assert r.is_satisfied.isna().sum() == 3  # two unclassified replies and one without a reply


def test_summary_counts_rates_and_wilson():
    s = satisfaction_summary(_replies()).to_pandas().set_index("survey_channel")
    sms, ivr = s.loc["sms"], s.loc["ivr"]
    assert (sms.n_sent, sms.n_replied, sms.n_satisfied, sms.n_neutral, sms.n_dissatisfied) == (
        8,
        8,
        4,
        2,
        2,
    )
    assert sms.csat == 0.5 and sms.unclassified_share == 0
    # ivr: 😡, "", "hmm ok?" replied, one did not; 2 of 3 replies unclassified.
    assert ivr.reply_rate == 0.75 and ivr.unclassified_share == pytest.approx(2 / 3)
    assert ivr.csat == 0.0
    low, high = wilson_interval(4.0, 8.0)
    assert (sms.csat_low, sms.csat_high) == pytest.approx((low, high))
    # Hand-worked Wilson interval for 4 of 8: 0.5 ± 1.96·sqrt(.25/8 + 1.96²/256) / (1 + 1.96²/8)
    assert low == pytest.approx(0.2152, abs=1e-4) and high == pytest.approx(0.7848, abs=1e-4)


def test_weighting_undoes_a_reply_bias_that_follows_the_features():
    rng = np.random.default_rng(0)
    n = 20_000
    resolved = rng.random(n) < 0.7
    satisfied = rng.random(n) < np.where(resolved, 0.8, 0.2)  # true CSAT 0.62
    replied = rng.random(n) < np.where(resolved, 0.2, 0.6)  # unresolved reply 3x as often
    frame = pd.DataFrame(
        {
            "survey_channel": "sms",
            "contact_channel": "agent",
            "business": "payment",
            "outcome": np.where(resolved, "resolved", "unresolved"),
            "value_tier": "regular",
            "is_satisfied": pd.array(np.where(replied, satisfied, pd.NA), dtype="boolean"),
        }
    )
    truth = satisfied.mean()
    plain = satisfied[replied].mean()
    w = weighted_csat(frame).iloc[0]
    assert abs(plain - truth) > 0.1  # the replies alone are far off
    assert w.csat_weighted == pytest.approx(truth, abs=0.015)
    assert w.csat_weighted_low < truth < w.csat_weighted_high
    p = ReplyModel().fit(frame, replied).predict_proba(frame)
    assert p[resolved].mean() == pytest.approx(0.2, abs=0.02)
