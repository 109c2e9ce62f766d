"""IVR -> agent escalation and calls per dialling customer per day, pinned on hand-built calls."""

import pytest

from touchpoint.channels import (
    ChannelsSettings,
    call_volume,
    clean_contacts,
    escalation_summary,
    hotline_call_facts,
)

SETTINGS = ChannelsSettings()


def _world(stg, agent_minutes_after_end: dict[str, float]):
    """One IVR-ended call per customer, ending at 10:05, and an agent contact N minutes later."""
    at = stg.at
    rows, calls = [], []
    for i, (customer, minutes) in enumerate(agent_minutes_after_end.items()):
        call_id = f"call{i}"
        rows.append(
            {
                "customer_id": customer,
                "started_at": at(10),
                "ended_at": at(10, minutes=5),
                "channel": "ivr",
                "call_id": call_id,
                "region": "south" if customer == "b" else "north",
                "business": "bill_query",
            }
        )
        calls.append((call_id, customer, at(10), "self_service_complete", f"node_{customer}"))
        if minutes is not None:
            rows.append(
                {
                    "customer_id": customer,
                    "started_at": at(10, minutes=5 + minutes),
                    "channel": "agent",
                    "call_id": f"later{i}",
                    "region": "south" if customer == "b" else "north",
                    "business": "payment",
                }
            )
    return {"stg_contacts": stg.contacts(rows), "stg_ivr_events": stg.ivr_events(calls)}


def test_agent_at_59_and_60_minutes_counts_at_61_does_not(stg, run):
    tables = _world(stg, {"a": 59, "b": 61, "c": 60, "d": None})
    [kpis] = run("mart_channels_kpis", tables)
    assert kpis["n_calls_ended_in_ivr"] == 4
    assert kpis["n_escalated"] == 2  # a (59 min) and c (exactly 60); not b (61) nor d (none)
    assert kpis["ivr_to_agent_60min_rate"] == pytest.approx(0.5)
    assert kpis["escalation_window_minutes"] == 60


def test_escalation_by_region_and_by_last_node(stg, run):
    tables = _world(stg, {"a": 59, "b": 61, "c": 60, "d": None})
    by_region = run("mart_channels_escalation_by_region", tables, order_by="region")
    assert [(r["region"], r["n_calls_ended_in_ivr"], r["n_escalated"]) for r in by_region] == [
        ("north", 3, 2),
        ("south", 1, 0),
    ]
    assert by_region[0]["ivr_to_agent_60min_rate"] == pytest.approx(2 / 3)
    by_node = run("mart_channels_escalation_by_node", tables, order_by="last_node_id")
    assert {r["last_node_id"]: r["n_escalated"] for r in by_node} == {
        "node_a": 1,
        "node_b": 0,
        "node_c": 1,
        "node_d": 0,
    }
    [business] = run("mart_channels_escalation_by_business", tables)
    assert (business["business"], business["n_escalated"]) == ("bill_query", 2)


def test_agent_contact_before_the_call_ends_is_not_an_escalation(stg, run):
    # An agent contact overlapping the IVR call (starting before its end) is not "after".
    tables = _world(stg, {"a": -1, "b": 0})
    [kpis] = run("mart_channels_kpis", tables)
    assert kpis["n_escalated"] == 0


def test_transfer_inside_the_call_is_neither_escalation_nor_repeat(stg, run):
    at = stg.at
    contacts = stg.contacts(
        [
            {
                "customer_id": "a",
                "started_at": at(9),
                "ended_at": at(9, minutes=2),
                "channel": "ivr",
                "call_id": "k1",
                "outcome": "transferred",
            },
            {
                "customer_id": "a",
                "started_at": at(9, minutes=3),
                "ended_at": at(9, minutes=9),
                "channel": "agent",
                "call_id": "k1",
                "outcome": "resolved",
            },
        ]
    )
    events = stg.ivr_events([("k1", "a", at(9), "transfer_agent", "billing")])
    [kpis] = run("mart_channels_kpis", {"stg_contacts": contacts, "stg_ivr_events": events})
    assert kpis["n_calls_ended_in_ivr"] == 0
    assert kpis["n_escalated"] == 0
    assert kpis["ivr_to_agent_60min_rate"] is None  # no call ended in the IVR
    assert kpis["n_repeated_contacts"] == 0
    assert kpis["repeat_contact_rate"] == 0
    # The agent leg resolved the call and nothing followed: 1 of the 2 rows is FCR.
    assert kpis["first_contact_resolution_rate"] == pytest.approx(0.5)


def test_a_second_call_that_transfers_is_an_escalation(stg, run):
    # Seed 000's case: self service fails, the customer calls again and reaches an agent.
    at = stg.at
    contacts = stg.contacts(
        [
            {
                "customer_id": "a",
                "started_at": at(9),
                "ended_at": at(9, minutes=2),
                "channel": "ivr",
                "call_id": "k1",
            },
            {
                "customer_id": "a",
                "started_at": at(9, minutes=20),
                "ended_at": at(9, minutes=21),
                "channel": "ivr",
                "call_id": "k2",
            },
            {
                "customer_id": "a",
                "started_at": at(9, minutes=22),
                "ended_at": at(9, minutes=30),
                "channel": "agent",
                "call_id": "k2",
            },
        ]
    )
    events = stg.ivr_events(
        [
            ("k1", "a", at(9), "hang_up", "billing"),
            ("k2", "a", at(9, minutes=20), "transfer_agent", "root"),
        ]
    )
    facts = hotline_call_facts(clean_contacts(contacts, SETTINGS), events, SETTINGS)
    calls = facts.order_by("started_at").to_pyarrow().to_pylist()
    assert [(c["call_key"], c["is_ended_in_ivr"], c["is_escalated"]) for c in calls] == [
        ("k1", True, True),
        ("k2", False, False),
    ]


def test_call_without_ivr_events_counts_as_a_call_but_not_in_escalation(stg, run):
    at = stg.at
    contacts = stg.contacts(
        [
            {"customer_id": "a", "started_at": at(9), "channel": "ivr", "call_id": "k1"},
            {"customer_id": "a", "started_at": at(11), "channel": "ivr", "call_id": "k_missing"},
            {
                "customer_id": "a",
                "started_at": at(11, minutes=30),
                "channel": "agent",
                "call_id": "k9",
            },
        ]
    )
    events = stg.ivr_events([("k1", "a", at(9), "hang_up", "root")])
    [kpis] = run("mart_channels_kpis", {"stg_contacts": contacts, "stg_ivr_events": events})
    assert kpis["n_hotline_calls"] == 2
    assert kpis["n_calls_ended_in_ivr"] == 1
    assert kpis["n_escalated"] == 0  # the agent contact follows the call without events only


def test_calls_per_dialling_customer_per_day(stg, run):
    at = stg.at
    rows = [
        # customer a: 3 calls on day 0 (one of them crossing midnight still counts on day 0)
        {"customer_id": "a", "started_at": at(8), "channel": "ivr", "call_id": "c1"},
        {"customer_id": "a", "started_at": at(12), "channel": "ivr", "call_id": "c2"},
        {
            "customer_id": "a",
            "started_at": at(23, minutes=58),
            "ended_at": at(0, day=1, minutes=3),
            "channel": "ivr",
            "call_id": "c3",
        },
        # and 1 call on day 1
        {"customer_id": "a", "started_at": at(9, day=1), "channel": "ivr", "call_id": "c4"},
        # customer b: 1 call on day 0, and web contacts that are not hotline calls
        {"customer_id": "b", "started_at": at(9), "channel": "ivr", "call_id": "c5"},
        {"customer_id": "b", "started_at": at(10), "channel": "web"},
        {"customer_id": "c", "started_at": at(10), "channel": "web"},
        # an agent leg of c5 is not another hotline call
        {"customer_id": "b", "started_at": at(9, minutes=6), "channel": "agent", "call_id": "c5"},
    ]
    events = stg.ivr_events(
        [(f"c{i}", "a" if i < 5 else "b", at(8), "hang_up", "root") for i in range(1, 6)]
    )
    [kpis] = run(
        "mart_channels_kpis", {"stg_contacts": stg.contacts(rows), "stg_ivr_events": events}
    )
    assert kpis["n_hotline_calls"] == 5
    assert kpis["n_dialling_customer_days"] == 3
    assert kpis["calls_per_dialling_customer_per_day"] == pytest.approx(5 / 3)
    # c1 and c2 are redialled the same day (c3 is the last of day 0 though it ends on day 1).
    assert kpis["hotline_redial_rate"] == pytest.approx(2 / 5)


def test_escalation_window_is_configurable(stg, config):
    tables = _world(stg, {"a": 29, "b": 31, "c": 59})
    settings = ChannelsSettings(escalation_window_minutes=30)
    contacts = clean_contacts(tables["stg_contacts"], settings)
    calls = call_volume(hotline_call_facts(contacts, tables["stg_ivr_events"], settings))
    [row] = escalation_summary(calls).to_pyarrow().to_pylist()
    assert (row["n_calls_ended_in_ivr"], row["n_escalated"]) == (3, 1)
