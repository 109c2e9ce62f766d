"""Repeat contacts and first-contact resolution, pinned on hand-built contacts."""

import pytest

from touchpoint.channels import ChannelsSettings, contact_facts, enrich_contacts, flag_repeats
from touchpoint.config import load_config


def _flags(run, stg, rows):
    facts = contact_facts(stg.contacts(rows), None, load_config(), ChannelsSettings())
    return {r["contact_id"]: r for r in facts.to_pyarrow().to_pylist()}


def test_repeat_across_midnight_in_another_channel(stg, run):
    at = stg.at
    rows = [
        # k1: web payment late in the evening; k2 the next morning in a store, same business
        {
            "customer_id": "a",
            "started_at": at(23, minutes=30),
            "ended_at": at(23, minutes=40),
            "channel": "web",
            "business": "payment",
            "outcome": "unresolved",
        },
        {"customer_id": "a", "started_at": at(8, day=1), "channel": "store", "business": "payment"},
    ]
    flags = _flags(run, stg, rows)
    assert flags["k1"]["has_repeat"] is True
    assert flags["k1"]["first_repeat_channel"] == "store"
    assert flags["k1"]["first_repeat_started_at"] == at(8, day=1)
    assert flags["k2"]["has_repeat"] is False
    assert [flags[k]["is_first_contact_resolved"] for k in ("k1", "k2")] == [False, True]


def test_window_counts_from_the_end_and_includes_its_last_instant(stg, run):
    at = stg.at
    rows = [
        # k1 ends at 10:00 on day 0; k2 starts exactly 24 h later: a repeat.
        {"customer_id": "a", "started_at": at(9), "ended_at": at(10), "business": "plan_change"},
        {"customer_id": "a", "started_at": at(10, day=1), "business": "plan_change"},
        # k3 ends 10:00 on day 3; k4 starts 24 h 1 min later: not a repeat.
        {"customer_id": "b", "started_at": at(9, day=3), "ended_at": at(10, day=3)},
        {"customer_id": "b", "started_at": at(10, day=4, minutes=1)},
        # k5 and k6: same customer, same time, other business: not a repeat.
        {"customer_id": "c", "started_at": at(9), "business": "payment"},
        {"customer_id": "c", "started_at": at(9, minutes=10), "business": "complaint"},
        # k7, k8: same customer and business, same start instant: neither repeats the other.
        {"customer_id": "d", "started_at": at(9)},
        {"customer_id": "d", "started_at": at(9), "channel": "app"},
    ]
    rows = [{"channel": "web", **r} for r in rows]
    flags = _flags(run, stg, rows)
    assert {k: f["has_repeat"] for k, f in flags.items()} == {
        "k1": True,
        "k2": False,
        "k3": False,
        "k4": False,
        "k5": False,
        "k6": False,
        "k7": False,
        "k8": False,
    }


def test_rows_sharing_a_call_id_are_not_repeats_but_a_new_call_is(stg, run):
    at = stg.at
    rows = [
        {
            "customer_id": "a",
            "started_at": at(9),
            "ended_at": at(9, minutes=2),
            "channel": "ivr",
            "call_id": "x1",
            "outcome": "transferred",
        },
        {
            "customer_id": "a",
            "started_at": at(9, minutes=3),
            "channel": "agent",
            "call_id": "x1",
            "outcome": "unresolved",
        },
        {"customer_id": "a", "started_at": at(15), "channel": "ivr", "call_id": "x2"},
        # a blank call id links nothing: these two web visits repeat each other
        {"customer_id": "b", "started_at": at(9), "channel": "web", "call_id": ""},
        {"customer_id": "b", "started_at": at(9, minutes=30), "channel": "web", "call_id": ""},
    ]
    flags = _flags(run, stg, rows)
    # k1 (IVR leg) is repeated by the later call x2, not by its own agent leg; k2 by x2 too.
    assert flags["k1"]["first_repeat_started_at"] == at(15)
    assert flags["k2"]["first_repeat_started_at"] == at(15)
    assert [flags[k]["has_repeat"] for k in ("k3", "k4", "k5")] == [False, True, False]


def test_repeat_and_fcr_rates_and_by_channel(stg, run):
    at = stg.at
    rows = [
        {
            "customer_id": "a",
            "started_at": at(9),
            "channel": "ivr",
            "call_id": "c1",
            "outcome": "resolved",
        },  # repeated by the store visit: not FCR
        {"customer_id": "a", "started_at": at(13), "channel": "store", "outcome": "resolved"},
        {"customer_id": "b", "started_at": at(9), "channel": "store", "outcome": "unresolved"},
        {
            "customer_id": "c",
            "started_at": at(9),
            "channel": "ivr",
            "call_id": "c2",
            "outcome": "resolved",
        },
    ]
    tables = {"stg_contacts": stg.contacts(rows)}
    [kpis] = run("mart_channels_kpis", tables)
    assert kpis["n_contacts"] == 4
    assert kpis["repeat_contact_rate"] == pytest.approx(1 / 4)
    assert kpis["first_contact_resolution_rate"] == pytest.approx(2 / 4)
    assert kpis["repeat_window_hours"] == 24
    by_channel = {r["channel"]: r for r in run("mart_channels_repeats", tables)}
    assert by_channel["ivr"]["repeat_contact_rate"] == pytest.approx(0.5)
    assert by_channel["ivr"]["first_contact_resolution_rate"] == pytest.approx(0.5)
    assert by_channel["store"]["repeat_contact_rate"] == 0
    assert by_channel["store"]["first_contact_resolution_rate"] == pytest.approx(0.5)


def test_repeat_window_is_configurable(stg, config):
    at = stg.at
    contacts = stg.contacts(
        [
            {"customer_id": "a", "started_at": at(9), "ended_at": at(10), "channel": "web"},
            {"customer_id": "a", "started_at": at(21), "channel": "web"},  # 11 h after the end
            {"customer_id": "a", "started_at": at(10, day=1), "channel": "web"},  # 13 h after k2
        ]
    )
    settings = ChannelsSettings(repeat_window_hours=12)
    flagged = flag_repeats(enrich_contacts(contacts, None, config, settings), settings)
    rows = flagged.order_by("contact_id").to_pyarrow().to_pylist()
    assert [r["has_repeat"] for r in rows] == [True, False, False]
