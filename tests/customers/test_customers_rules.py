"""Preference thresholds, survey reply classification and settings validation."""

from __future__ import annotations

import datetime as dt
import itertools

import ibis
import pytest

from touchpoint.config import load_config
from touchpoint.customers import (
    CustomersSettings,
    channel_preference,
    classify_reply,
    customer_contacts_monthly,
    load_customers_settings,
)
from touchpoint.errors import ConfigError
from touchpoint.simulate.tables import REPLIES

SETTINGS = load_customers_settings()
SIM_CLASS = {0: "satisfied", 1: "neutral", 2: "dissatisfied"}


def levels(counts: tuple[int, ...]) -> list[int]:
    total = sum(counts)
    return [SETTINGS.level_for(n, n / total if total else 0.0) for n in counts]


def test_one_contact_moves_a_level_by_at_most_one_step():
    """Every vector of contact counts over three channels (0..8 each): one more contact in any
    channel changes no channel's level by more than one, and a lone contact is level 1."""
    for counts in itertools.product(range(9), repeat=3):
        before = levels(counts)
        for i in range(3):
            after = levels(tuple(n + (j == i) for j, n in enumerate(counts)))
            assert max(abs(a - b) for a, b in zip(after, before, strict=True)) <= 1, (counts, i)
    assert levels((1, 0, 0)) == [1, 0, 0]


@pytest.mark.parametrize(
    ("n", "share", "level"),
    [
        (0, 0.0, 0),
        (1, 1.0, 1),
        (2, 0.19, 1),
        (2, 0.2, 2),
        (3, 0.4, 3),
        (5, 1.0, 4),
        (6, 0.8, 5),
        (20, 0.79, 4),
    ],
)
def test_level_thresholds(n, share, level):
    assert SETTINGS.level_for(n, share) == level


def test_ibis_levels_match_the_python_rule():
    t = dt.datetime(2026, 3, 2, 9)
    rows = [("store", 6), ("web", 1), ("kiosk", 1)]  # 6 of 8 = 0.75 -> 4 (5 needs 0.8)
    contacts = ibis.memtable(
        {
            "customer_id": ["u1"] * 8,
            "started_at": [t] * 8,
            "channel": [c for c, k in rows for _ in range(k)],
            "business": ["payment"] * 8,
            "call_id": [None] * 8,
        }
    )
    monthly = customer_contacts_monthly(contacts, None, load_config(), SETTINGS)
    got = channel_preference(monthly, SETTINGS).to_pyarrow().to_pylist()
    assert {r["channel"]: r["level"] for r in got} == {"store": 4, "web": 1, "kiosk": 1}
    assert {r["channel"]: r["share_window"] for r in got}["store"] == pytest.approx(0.75)


def _classify(texts: list[str | None]) -> list[str | None]:
    t = ibis.memtable(
        {"i": list(range(len(texts))), "reply": texts}, schema={"i": "int64", "reply": "string"}
    )
    return t.order_by("i").select(c=classify_reply(t.reply, SETTINGS)).to_pyarrow()["c"].to_pylist()


def test_every_reply_the_simulator_writes_is_classified_as_planted():
    texts = [(text, SIM_CLASS[s]) for s, options in REPLIES.items() for text in options]
    assert _classify([t for t, _ in texts]) == [c for _, c in texts]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10", "satisfied"),
        ("9分", "satisfied"),
        ("7", "neutral"),
        ("0", "dissatisfied"),
        (" 1 ", "satisfied"),
        ("3", "dissatisfied"),
        ("2", "neutral"),
        ("非常满意", "satisfied"),
        ("一般", "neutral"),
        ("不满意", "dissatisfied"),
        ("Very satisfied", "satisfied"),
        ("not satisfied", "dissatisfied"),
        ("Dissatisfied!", "dissatisfied"),
        ("satisfed", "satisfied"),
        ("OK", "neutral"),
        ("so so", "neutral"),
        ("Good", "satisfied"),
        ("bad", "dissatisfied"),
        ("😡😡", "dissatisfied"),
        ("👍", "satisfied"),
        ("", None),
        ("   ", None),
        (None, None),
        ("收到", None),
    ],
)
def test_reply_classification(text, expected):
    assert _classify([text]) == [expected]


def test_bad_settings_are_refused_with_the_key():
    base = SETTINGS.model_dump(by_alias=True)
    with pytest.raises(ConfigError, match="preference_levels"):
        load_customers_settings_from(
            {
                "preference_levels": [
                    {"level": 1, "min_contacts": 1, "min_share": 0.0},
                    {"level": 2, "min_contacts": 1, "min_share": 0.5},
                    {"level": 3, "min_contacts": 3, "min_share": 0.4},
                    {"level": 4, "min_contacts": 4, "min_share": 0.6},
                    {"level": 5, "min_contacts": 6, "min_share": 0.8},
                ]
            }
        )
    with pytest.raises(ConfigError, match="cut_points"):
        load_customers_settings_from(
            {"contribution_tiers": {"method": "yuan", "cut_points": [0, 30, 80, 150]}}
        )
    with pytest.raises(ConfigError, match="not a valid regular expression"):
        load_customers_settings_from({"survey_rules": [{"class": "neutral", "pattern": "(("}]})
    with pytest.raises(ConfigError, match="happy"):
        load_customers_settings_from({"survey_rules": [{"class": "happy", "pattern": "x"}]})
    assert CustomersSettings.model_validate(base) == SETTINGS


def load_customers_settings_from(section: dict):
    import tempfile
    from pathlib import Path

    import yaml

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.yaml"
        path.write_text(
            yaml.safe_dump({"customers_analytics": section}, allow_unicode=True), encoding="utf-8"
        )
        return load_customers_settings(path, config=load_config())
