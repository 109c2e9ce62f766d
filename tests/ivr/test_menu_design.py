"""Menu recommendations on hand-built journeys whose savings are worked out by hand.

The tiny menu::

    root ─1─ A ─1─ A1
         │     └2─ A2 ─1─ A21
         │              └2─ A22
         └2─ B ─1─ B1

Every call happens on one day and ``days_per_month = 1``, so "per month" is "in the data".
A caller-second costs 0.01 yuan, an avoided transfer 0.77 (the configured agent cost), and
one more option adds 1 s to every play of its menu's prompt.
"""

from __future__ import annotations

import datetime as dt

import ibis
import pyarrow as pa
import pytest

from touchpoint.config import load_config
from touchpoint.contract import ENTITIES, arrow_schema
from touchpoint.errors import ConfigError, SchemaError
from touchpoint.ivr import (
    MenuDesignSettings,
    build_menu_design,
    load_menu_design_settings,
    menu_recommendations,
    menu_replay_cube,
    replay_tree,
)

T0 = dt.datetime(2024, 3, 4, 9, 0)


def journeys(calls: dict[str, list[tuple[float, str, str, str | None]]]) -> ibis.Table:
    """``stg_ivr_events`` from ``{call_id: [(seconds after start, node, event type, key)]}``."""
    rows = []
    for n, (call_id, steps) in enumerate(calls.items()):
        start = T0 + dt.timedelta(minutes=n)
        for seq, (seconds, node, kind, key) in enumerate(steps, start=1):
            rows.append(
                {
                    "call_id": call_id,
                    "seq": seq,
                    "customer_id": f"u{n}",
                    "event_at": start + dt.timedelta(seconds=seconds),
                    "node_id": node,
                    "event_type": kind,
                    "key": key,
                }
            )
    schema = arrow_schema(ENTITIES["ivr_events"])
    return ibis.memtable(
        pa.table({f.name: [r.get(f.name) for r in rows] for f in schema}, schema=schema)
    )


START = [(0, "root", "call_start", None), (0, "root", "prompt", None)]

CALLS = {
    # target A21, straight: time at A 5.0 s, at A2 4.0 s
    "c1": [
        *START,
        (5, "root", "key", "1"),
        (5.5, "A", "prompt", None),
        (10, "A", "key", "2"),
        (10.5, "A2", "prompt", None),
        (14, "A2", "key", "1"),
        (14.5, "A21", "prompt", None),
        (30, "A21", "self_service_complete", None),
    ],
    # target A21 with a wrong turn into A1 and back: time at A 9 s, at A1 3 s, at A2 4 s
    "c2": [
        *START,
        (5, "root", "key", "1"),
        (5.5, "A", "prompt", None),
        (10, "A", "key", "1"),
        (10.5, "A1", "prompt", None),
        (13, "A1", "key", "*"),
        (13.5, "A", "prompt", None),
        (17, "A", "key", "2"),
        (17.5, "A2", "prompt", None),
        (21, "A2", "key", "1"),
        (21.5, "A21", "prompt", None),
        (40, "A21", "self_service_complete", None),
    ],
    # target A1: time at A 4 s
    "c3": [
        *START,
        (5, "root", "key", "1"),
        (5.5, "A", "prompt", None),
        (9, "A", "key", "1"),
        (9.5, "A1", "prompt", None),
        (20, "A1", "self_service_complete", None),
    ],
    # zero-out at A: no target
    "c4": [
        *START,
        (5, "root", "key", "1"),
        (5.5, "A", "prompt", None),
        (8, "A", "transfer_agent", "0"),
    ],
    # target B1: time at B 4 s
    "c5": [
        *START,
        (4, "root", "key", "2"),
        (4.5, "B", "prompt", None),
        (8, "B", "key", "1"),
        (8.5, "B1", "prompt", None),
        (20, "B1", "self_service_complete", None),
    ],
    # target A22, the service fails into a transfer: time at A 5 s, at A2 4 s
    "c6": [
        *START,
        (5, "root", "key", "1"),
        (5.5, "A", "prompt", None),
        (10, "A", "key", "2"),
        (10.5, "A2", "prompt", None),
        (14, "A2", "key", "2"),
        (14.5, "A22", "prompt", None),
        (25, "A22", "transfer_agent", "0"),
    ],
}

BASE = {
    "ivr_cost_per_second_yuan": 0.01,
    "seconds_per_added_option": 1.0,
    "days_per_month": 1.0,
    "promote_min_share": 0.0,
    "merge_max_share": 0.0,
    "drop_max_share": 0.0,
    "fix_min_actions": 1000,
}


def recommend(calls, **overrides) -> dict[tuple[str, str], dict]:
    settings = MenuDesignSettings(**{**BASE, **overrides})
    cube = menu_replay_cube(journeys(calls), settings)
    rows = menu_recommendations(cube, load_config(), settings).to_pyarrow().to_pylist()
    return {(r["kind"], r["node_id"]): r for r in rows}


def test_tree_is_reconstructed_with_keys_depths_and_free_keys():
    settings = MenuDesignSettings(**BASE)
    tree = replay_tree(menu_replay_cube(journeys(CALLS), settings), settings)
    rows = {r["node_id"]: r for r in tree.to_pyarrow().to_pylist()}
    assert {n: (r["parent_node_id"], r["key"], r["depth"]) for n, r in rows.items()} == {
        "root": (None, None, 0),
        "A": ("root", "1", 1),
        "B": ("root", "2", 1),
        "A1": ("A", "1", 2),  # the back key '*' from A1 is no edge
        "A2": ("A", "2", 2),
        "A21": ("A2", "1", 3),
        "A22": ("A2", "2", 3),
        "B1": ("B", "1", 2),
    }
    assert rows["root"]["n_children"] == 2 and rows["root"]["first_free_key"] == "3"
    assert rows["root"]["n_free_keys"] == 7
    assert sorted(n for n, r in rows.items() if r["is_leaf"]) == ["A1", "A21", "A22", "B1"]


def test_cube_keeps_every_event_and_every_second():
    settings = MenuDesignSettings(**BASE)
    cube = menu_replay_cube(journeys(CALLS), settings)
    totals = cube.aggregate(n=cube.n_events.sum(), s=cube.seconds_to_next.sum()).to_pyarrow()
    assert totals["n"][0].as_py() == sum(len(steps) for steps in CALLS.values())
    # Σ seconds to the next step = Σ call durations (last step's time).
    assert totals["s"][0].as_py() == pytest.approx(sum(steps[-1][0] for steps in CALLS.values()))


def test_promotions_replay_the_journeys_under_the_new_tree():
    recs = recommend(CALLS)
    # 6 calls hear the root prompt once: a new root option costs 6 × 1 s.
    # A21 (callers c1, c2): skipped A, A1, A2, A22 -> c1 5 + 4, c2 9 + 3 + 4 = 25 s.
    # Zero-outs at A (c4's one) are shared by arrivals there: A21's callers arrived 3 times
    # out of 5 known-target arrivals (c2 came back once) -> 0.6, none of them transferred.
    a21 = recs[("promote", "A21")]
    assert a21["gross_seconds_saved_per_month"] == pytest.approx(25)
    assert a21["prompt_seconds_added_per_month"] == pytest.approx(6)
    assert a21["est_caller_seconds_saved_per_month"] == pytest.approx(19)
    assert a21["est_transfers_avoided_per_month"] == pytest.approx(0.6)
    assert a21["est_cost_saved_yuan_per_month"] == pytest.approx(19 * 0.01 + 0.6 * 0.77)
    assert (a21["parent_node_id"], a21["proposed_key"], a21["depth"], a21["new_depth"]) == (
        "root",
        "3",
        3,
        1,
    )
    assert a21["n_calls_per_month"] == pytest.approx(2)
    # A2 (c1, c2, c6): skipped A, A1 -> 5 + 12 + 5 = 22 s; zero-outs 1 × 4/5 arrivals × (1 - 1/3).
    a2 = recs[("promote", "A2")]
    assert a2["est_caller_seconds_saved_per_month"] == pytest.approx(16)
    assert a2["est_transfers_avoided_per_month"] == pytest.approx(0.8 * 2 / 3)
    assert a2["est_cost_saved_yuan_per_month"] == pytest.approx(0.16 + 0.8 * 2 / 3 * 0.77)
    # A22 (c6, transferred anyway): 9 s - 6 s, no transfer avoided.
    assert recs[("promote", "A22")]["est_cost_saved_yuan_per_month"] == pytest.approx(0.03)
    # A1 (c3): 4 s - 6 s, but 1/5 of A's zero-out avoided.
    assert recs[("promote", "A1")]["est_cost_saved_yuan_per_month"] == pytest.approx(
        -0.02 + 0.2 * 0.77
    )
    # B1 (c5): 4 s - 6 s and nothing else: a loss, so not recommended.
    assert ("promote", "B1") not in recs
    ranks = sorted((r["rank"], k[1]) for k, r in recs.items())
    assert ranks == [(1, "A21"), (2, "A2"), (3, "A1"), (4, "A22")]
    assert {r["proposal_key"] for r in recs.values()} == {"menu.proposal_promote"}


def test_merges_fold_a_node_into_its_parent():
    recs = recommend(CALLS, merge_max_share=1.0, promote_min_share=1.0)
    # A into root: its callers (c1, c2, c3, c6) lose 5 + 9 + 4 + 5 = 23 s at A; root gets
    # 2 - 1 = 1 more option, heard 6 times; c4's zero-out at A is theirs (5/5 arrivals) and
    # 1 of their 4 calls transfers anyway.
    a = recs[("merge", "A")]
    assert a["est_caller_seconds_saved_per_month"] == pytest.approx(17)
    assert a["est_transfers_avoided_per_month"] == pytest.approx(0.75)
    assert a["est_cost_saved_yuan_per_month"] == pytest.approx(0.17 + 0.75 * 0.77)
    # A2 into A: 4 + 4 + 4 s at A2, A's prompt (6 plays) gets 1 more option.
    assert recs[("merge", "A2")]["est_caller_seconds_saved_per_month"] == pytest.approx(6)
    # B into root: one child replaces B's own option; c5 saves 4 s.
    b = recs[("merge", "B")]
    assert b["est_caller_seconds_saved_per_month"] == pytest.approx(4)
    assert b["new_depth"] == 0 and b["parent_node_id"] == "root"
    assert not any(kind == "promote" for kind, _ in recs)


def test_drops_shorten_the_parent_prompt_and_cost_the_dropped_service():
    recs = recommend(CALLS, drop_max_share=1.0, promote_min_share=1.0)
    # A22: A2's prompt (3 plays) loses 1 s; its only caller was transferred anyway.
    assert recs[("drop", "A22")]["est_cost_saved_yuan_per_month"] == pytest.approx(0.03)
    assert recs[("drop", "A22")]["est_transfers_avoided_per_month"] == 0
    # A1's one completed caller would go to an agent: 6 × 0.01 - 0.77 < 0, not recommended.
    assert {k for k in recs if k[0] == "drop"} == {("drop", "A22")}


def _clean(call_no: int, branch: str, key: str, leaf: str) -> list:
    return [
        *START,
        (5, "root", "key", key),
        (5.5, branch, "prompt", None),
        (10, branch, "key", "1"),
        (10.5, leaf, "prompt", None),
        (20 + call_no, leaf, "self_service_complete", None),
    ]


FIX_CALLS = {
    # Two callers time out once at A: each loses (14 - 5.5) = 8.5 s.
    **{
        f"a{i}": [
            *START,
            (5, "root", "key", "1"),
            (5.5, "A", "prompt", None),
            (13.5, "A", "timeout", None),
            (14, "A", "prompt", None),
            (18, "A", "key", "1"),
            (18.5, "A1", "prompt", None),
            (30, "A1", "self_service_complete", None),
        ]
        for i in range(2)
    },
    "b1": _clean(1, "B", "2", "B1"),
    "b2": _clean(2, "B", "2", "B1"),
    # One caller zeroes out at B.
    "b3": [
        *START,
        (5, "root", "key", "2"),
        (5.5, "B", "prompt", None),
        (9, "B", "transfer_agent", "0"),
    ],
    "c1": _clean(3, "C", "3", "C1"),
    "c2": _clean(4, "C", "3", "C1"),
    # Agent seekers zero out at the main menu: deliberate, not an error.
    "s1": [*START, (3, "root", "transfer_agent", "0")],
}


def test_fixes_bring_each_error_rate_down_to_the_menu_median():
    recs = recommend(
        FIX_CALLS, fix_min_actions=1, fix_min_z=0.0, fix_min_ratio=1.5, promote_min_share=1.0
    )
    assert set(recs) == {("fix", "A"), ("fix", "B")}
    # Error rates: A 2 timeouts / 4 actions, B 1 zero-out / 3, C 0, root 0 (its zero-out is
    # deliberate): the median of every kind is 0, so every error at A and B is excess.
    a, b = recs[("fix", "A")], recs[("fix", "B")]
    assert a["error_rate"] == pytest.approx(0.5) and a["median_error_rate"] == 0
    assert a["n_excess_errors_per_month"] == pytest.approx(2)
    assert a["est_caller_seconds_saved_per_month"] == pytest.approx(2 * 8.5)
    assert a["est_transfers_avoided_per_month"] == 0
    assert b["error_rate"] == pytest.approx(1 / 3)
    assert b["est_transfers_avoided_per_month"] == pytest.approx(1.0)
    assert b["est_cost_saved_yuan_per_month"] == pytest.approx(0.77)
    assert (b["rank"], a["rank"]) == (1, 2)
    assert (a["main_error_kind"], b["main_error_kind"]) == ("timeouts", "zero_outs")


@pytest.mark.slow
def test_fix_needs_significance():
    recs = recommend(FIX_CALLS, fix_min_actions=5, promote_min_share=1.0)
    assert not any(kind == "fix" for kind, _ in recs)  # A has 4 actions, B 3: too few


@pytest.mark.slow
def test_step_builds_cube_and_mart_from_events():
    out = build_menu_design({"stg_ivr_events": journeys(CALLS)}, load_config())
    assert set(out) == {"int_ivr_menu_replay", "mart_ivr_menu_recommendations"}
    mart = out["mart_ivr_menu_recommendations"].to_pyarrow()
    assert mart.num_rows >= 1
    assert mart["rank"].to_pylist() == list(range(1, mart.num_rows + 1))


def test_missing_column_is_a_schema_error():
    events = journeys(CALLS).drop("key")
    with pytest.raises(SchemaError, match="key"):
        menu_replay_cube(events, MenuDesignSettings())


def test_settings_refuse_bad_values_with_their_key(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("ivr_menu_design:\n  promote_min_share: 2\n  agent_channel: robot\n")
    with pytest.raises(ConfigError, match="promote_min_share"):
        load_menu_design_settings(path)
    path.write_text("ivr_menu_design:\n  agent_channel: robot\n")
    with pytest.raises(ConfigError, match="robot"):
        load_menu_design_settings(path, config=load_config())
    assert load_menu_design_settings().seconds_per_added_option == 1.0


@pytest.mark.slow
@pytest.mark.parametrize(
    "calls",
    [{}, {"c1": [(0, "root", "hang_up", None)]}, {"c1": [*START, (3, "root", "hang_up", None)]}],
    ids=["no events", "one step", "hang-up at the main menu"],
)
def test_nothing_to_replay_gives_no_recommendation(calls):
    out = build_menu_design({"stg_ivr_events": journeys(calls)}, load_config())
    assert out["mart_ivr_menu_recommendations"].to_pyarrow().num_rows == 0
    n_events = sum(len(steps) for steps in calls.values())
    cube = out["int_ivr_menu_replay"]
    assert (cube.n_events.sum().to_pyarrow().as_py() or 0) == n_events
