"""The one-pass visit table (``int_ivr_visits``) against the event-by-event definitions.

``visit_table`` finds each visit from its last event and the events around it; the event
steps (``event_steps`` then ``node_visits``, ``call_journeys``, ``call_endings``) define
the same rows from every event. Random calls — shuffled sequence numbers, times that go
backwards, blank and missing keys, a caller that changes inside a call, call starts in the
middle of a call — must give the same tables both ways.
"""

import datetime as dt

import ibis
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ivr_samples import LOST_CALL

from touchpoint.contract import ENTITIES, arrow_schema
from touchpoint.ivr import (
    IvrSettings,
    MenuDesignSettings,
    call_endings,
    call_journeys,
    event_steps,
    menu_replay_cube,
    node_event_counts,
    node_visits,
    replay_node_counts,
    visit_endings,
    visit_journeys,
    visit_table,
)

T0 = dt.datetime(2024, 3, 4, 9, 0)
NODES = ["root", "n1", "n2"]
TYPES = ["call_start", "prompt", "key", "timeout", "invalid", "transfer_agent", "hang_up"]

event = st.tuples(
    st.sampled_from(NODES),
    st.sampled_from(TYPES),
    st.sampled_from(["", "1", "2", "*", None]),
    st.integers(0, 90),  # seconds after the call's start: not in seq order
    st.sampled_from(["u1", "u2"]),
)
calls = st.lists(st.lists(event, min_size=1, max_size=8), min_size=1, max_size=5)


def _events(drawn: list[list[tuple]], seqs: st.DataObject) -> ibis.Table:
    rows = []
    for c, steps in enumerate(drawn):
        order = seqs.draw(st.permutations(range(1, len(steps) + 1)))
        for seq, (node, kind, key, seconds, customer) in zip(order, steps, strict=True):
            rows.append(
                {
                    "call_id": f"c{c}",
                    "seq": seq,
                    "customer_id": customer,
                    "event_at": T0 + dt.timedelta(seconds=seconds),
                    "node_id": node,
                    "event_type": kind,
                    "key": key,
                }
            )
    schema = arrow_schema(ENTITIES["ivr_events"])
    return ibis.memtable(
        pa.table({f.name: [r.get(f.name) for r in rows] for f in schema}, schema=schema)
    )


def _rows(table: ibis.Table, columns: list[str], by: list[str]) -> list[dict]:
    return table.select(*columns).order_by(by).to_pyarrow().to_pylist()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(drawn=calls, seqs=st.data())
def test_visit_table_agrees_with_the_event_steps(drawn, seqs):
    s = IvrSettings()
    events = _events(drawn, seqs)
    steps = event_steps(events, s)
    expected = node_visits(steps, s)
    visits = visit_table(events, s)
    by = ["call_id", "visit_started_at", "node_id", "dwell_seconds"]
    assert _rows(visits, expected.columns, by) == _rows(expected, expected.columns, by)
    journeys = call_journeys(steps, s)
    expected_journeys = _rows(journeys, journeys.columns, ["call_id"])
    assert _rows(visit_journeys(visits, s), journeys.columns, ["call_id"]) == expected_journeys
    # Paths spelled by rank for the first two visits, the rest of a call's as a list.
    short = visit_journeys(visits, s, path_columns=2)
    assert _rows(short, journeys.columns, ["call_id"]) == expected_journeys
    endings = call_endings(events, s)
    assert _rows(visit_endings(visits, s), endings.columns, ["call_id"]) == _rows(
        endings, endings.columns, ["call_id"]
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(drawn=calls, seqs=st.data())
def test_node_counts_of_the_replay_cube_agree_with_the_event_steps(drawn, seqs):
    s = IvrSettings()
    events = _events(drawn, seqs)
    expected = node_event_counts(event_steps(events, s), s)
    got = replay_node_counts(menu_replay_cube(events, MenuDesignSettings(), s), s)
    assert _rows(got, expected.columns, ["node_id"]) == _rows(
        expected, expected.columns, ["node_id"]
    )


def test_visit_table_of_the_lost_call(lost_world):
    visits = visit_table(lost_world.tables()["stg_ivr_events"], IvrSettings())
    rows = visits.order_by("seq").to_pyarrow().to_pylist()
    # Hand-read from ivr_samples.LOST_CALL: the same visits as test_visits_and_dwell.
    assert [r["node_id"] for r in rows] == ["root", "n2", "n2_1", "n2", "n2_2"]
    assert [r["exit_key"] for r in rows] == ["2", "1", "*", "2", None]
    assert [r["is_final"] for r in rows] == [False, False, False, False, True]
    assert {r["n_call_events"] for r in rows} == {len(LOST_CALL)}
