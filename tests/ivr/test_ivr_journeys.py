"""Hand-built journeys pin the per-node definitions: visits, dwell, loops, back-tracks, wrong
turns, repeated prompts, timeouts, invalid keys, exits, the tree, the graph and paths."""

import pytest

from touchpoint.config import load_config
from touchpoint.ivr import (
    IvrSettings,
    build,
    call_journeys,
    event_steps,
    menu_moves,
    menu_tree,
    node_stats,
    node_visits,
)


def _by_node(table) -> dict:
    return {r["node_id"]: r for r in table.to_pyarrow().to_pylist()}


@pytest.fixture
def lost(lost_world):
    settings = IvrSettings()
    steps = event_steps(lost_world.tables()["stg_ivr_events"], settings)
    return settings, steps, node_visits(steps, settings)


def test_visits_and_dwell(lost):
    _, _, visits = lost
    rows = visits.order_by("visit_started_at").to_pyarrow().to_pylist()
    assert [r["node_id"] for r in rows] == ["root", "n2", "n2_1", "n2", "n2_2"]
    assert [r["dwell_seconds"] for r in rows] == pytest.approx([12.3, 3.0, 2.0, 6.0, 11.7])
    assert [r["entry_key"] for r in rows] == [None, "2", "1", "*", "2"]
    assert [r["is_wrong_turn"] for r in rows] == [False, False, True, False, False]


def test_lost_signs_per_node(lost):
    settings, steps, visits = lost
    stats = _by_node(node_stats(steps, visits, settings))
    root, n2, n2_1, n2_2 = stats["root"], stats["n2"], stats["n2_1"], stats["n2_2"]
    assert (root["n_visits"], root["n_timeouts"], root["n_repeated_prompts"]) == (1, 1, 1)
    # The first prompt after the call starts is not a repeat; the one after the timeout is.
    assert (n2["n_visits"], n2["n_calls"], n2["n_loops"]) == (2, 1, 1)
    assert (n2["n_invalid_keys"], n2["n_repeated_prompts"], n2["n_wrong_turns"]) == (1, 1, 1)
    assert n2["n_backtrack_entries"] == 1
    assert n2["mean_dwell_seconds"] == pytest.approx(4.5)
    assert n2["median_dwell_seconds"] == pytest.approx(4.5)
    # The back key is pressed at n2_1; the wrong choice was made at n2.
    assert (n2_1["n_backtracks"], n2_1["n_wrong_turns"]) == (1, 0)
    assert n2_2["n_exits_self_service_complete"] == 1
    assert sum(s["n_exits_hang_up"] for s in stats.values()) == 0


def test_tree_from_key_presses(lost):
    settings, _, visits = lost
    tree = _by_node(menu_tree(menu_moves(visits), settings))
    assert tree["root"]["parent_node_id"] is None and tree["root"]["depth"] == 0
    assert (tree["n2"]["parent_node_id"], tree["n2"]["key"], tree["n2"]["depth"]) == (
        "root",
        "2",
        1,
    )
    # The back-track n2_1 -> n2 does not make n2_1 the parent of n2.
    assert (tree["n2_1"]["parent_node_id"], tree["n2_1"]["key"]) == ("n2", "1")
    assert (tree["n2_2"]["parent_node_id"], tree["n2_2"]["depth"]) == ("n2", 2)
    assert tree["n2"]["n_children"] == 2 and tree["n2_2"]["is_leaf"]


def test_tree_depth_is_null_on_a_cycle_of_parents():
    import ibis

    moves = ibis.memtable(
        {
            "from_node_id": ["a", "b"],
            "key": ["1", "1"],
            "to_node_id": ["b", "a"],
            "n_moves": [1, 1],
            "total_seconds": [1.0, 1.0],
        }
    )
    tree = _by_node(menu_tree(moves, IvrSettings(max_menu_depth=5)))
    assert tree["a"]["depth"] is None and tree["b"]["depth"] is None


def test_path_and_self_service_time(lost, lost_world):
    settings, steps, _ = lost
    (journey,) = call_journeys(steps, settings).to_pyarrow().to_pylist()
    assert journey["path"] == "root > n2 > n2_1 > n2 > n2_2"
    assert (journey["n_visits"], journey["exit_kind"]) == (5, "self_service_complete")
    marts = build(lost_world.tables(), load_config())
    kpis = marts["mart_ivr_kpis"].to_pyarrow().to_pylist()[0]
    assert kpis["mean_self_service_seconds"] == pytest.approx(35.0)


def test_graph_and_lost_score(lost_world):
    marts = build(lost_world.tables(), load_config())
    graph = {
        (r["from_node_id"], r["to_node_id"]): (r["n_transitions"], r["mean_seconds"])
        for r in marts["mart_ivr_graph"].to_pyarrow().to_pylist()
    }
    assert set(graph) == {("root", "n2"), ("n2", "n2_1"), ("n2_1", "n2"), ("n2", "n2_2")}
    assert graph["n2", "n2_2"][1] == pytest.approx(6.0)
    nodes = _by_node(marts["mart_ivr_nodes"])
    # (timeouts + invalid keys + wrong turns) / visits.
    assert nodes["n2"]["lost_score"] == pytest.approx((0 + 1 + 1) / 2)
    assert nodes["root"]["lost_score"] == pytest.approx(1.0)
    assert nodes["n2_1"]["lost_score"] == 0
    # Fewer visits than lost_min_visits (30 by default): listed, not ranked.
    assert nodes["n2"]["lost_rank"] is None
    assert marts["mart_ivr_lost"].count().to_pyarrow().as_py() == 0
