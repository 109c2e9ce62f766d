"""Plain and verified containment, failures by node and paths, on hand-built calls."""

import datetime as dt

import pytest
from ivr_samples import T0, World, simple_call

from touchpoint.ivr import (
    IvrSettings,
    call_cube,
    call_journeys,
    containment_all,
    event_steps,
    ivr_call_facts,
    ivr_kpis,
    menu_moves,
    menu_tree,
    node_stats,
    node_table,
    node_visits,
    path_cube,
    top_paths,
)

H = dt.timedelta(hours=1)


@pytest.fixture
def world() -> World:
    w = World()
    # c1: completed, then the same business on the web 23 h later: plain yes, verified no.
    end = w.call("c1", "u1", T0, simple_call("n4_1", "self_service_complete"), region="north")
    w.contact("u1", end + 23 * H, end + 23 * H, "web", "payment")
    # c2: completed, same business again 25 h later: verified.
    end = w.call("c2", "u2", T0, simple_call("n4_1", "self_service_complete"), region="north")
    w.contact("u2", end + 25 * H, end + 25 * H, "store", "payment")
    # c3: completed, another business 1 h later: verified.
    end = w.call(
        "c3", "u3", T0, simple_call("n4_2", "self_service_complete", seconds=30.0), region="south"
    )
    w.contact("u3", end + H, end + H, "web", "bill_query")
    # c4: hung up at n4_1: contained (plain), not verified.
    w.call("c4", "u4", T0, simple_call("n4_1", "hang_up"), region="south")
    # c5: transferred (its own agent row shares the call id and is no re-contact).
    end = w.call("c5", "u5", T0, simple_call("n4_2", "transfer_agent", key="0"), region="south")
    w.contact("u5", end, end + 0.1 * H, "agent", "payment", call_id="c5")
    # c6 completed, then c7 (same customer and business) 2 h later; c7 completes.
    end = w.call("c6", "u6", T0, simple_call("n4_1", "self_service_complete"), region="north")
    w.call("c7", "u6", end + 2 * H, simple_call("n4_1", "self_service_complete"), region="north")
    return w


def _cube(world: World, settings: IvrSettings):
    tables = world.tables()
    steps = event_steps(tables["stg_ivr_events"], settings)
    facts = ivr_call_facts(tables["stg_contacts"], call_journeys(steps, settings), settings)
    return steps, facts, call_cube(facts)


def test_plain_and_verified_containment(world):
    settings = IvrSettings()
    _, facts, cube = _cube(world, settings)
    flags = {r["call_id"]: r for r in facts.to_pyarrow().to_pylist()}
    assert {c for c, r in flags.items() if r["is_verified"]} == {"c2", "c3", "c7"}
    assert {c for c, r in flags.items() if r["is_recontacted"]} == {"c1", "c6"}
    assert {c for c, r in flags.items() if not r["is_contained"]} == {"c5"}
    kpis = ivr_kpis(cube, settings).to_pyarrow().to_pylist()[0]
    assert kpis["ivr_containment_rate"] == pytest.approx(6 / 7)
    assert kpis["ivr_verified_containment_rate"] == pytest.approx(3 / 7)
    # Completed: c1, c2, c6, c7 in 20 s, c3 in 30 s.
    assert kpis["mean_self_service_seconds"] == pytest.approx((4 * 20 + 30) / 5)


def test_window_is_configurable(world):
    settings = IvrSettings(verified_window_hours=26)
    _, _, cube = _cube(world, settings)
    kpis = ivr_kpis(cube, settings).to_pyarrow().to_pylist()[0]
    # c2's store visit at 25 h now falls inside the window.
    assert kpis["ivr_verified_containment_rate"] == pytest.approx(2 / 7)
    assert kpis["verified_window_hours"] == 26


def test_containment_by_business_and_region(world):
    settings = IvrSettings()
    _, _, cube = _cube(world, settings)
    rows = {
        (r["dimension"], r["dimension_value"]): r
        for r in containment_all(cube, settings).to_pyarrow().to_pylist()
    }
    north, south = rows["region", "north"], rows["region", "south"]
    assert (north["n_calls"], north["n_contained"], north["n_verified"]) == (4, 4, 2)
    assert (south["n_calls"], south["n_contained"], south["n_verified"]) == (3, 2, 1)
    assert rows["business", "payment"]["n_calls"] == 7
    assert rows["all", "all"]["ivr_verified_containment_rate"] == pytest.approx(3 / 7)


def test_failures_attributed_to_the_node(world):
    settings = IvrSettings(lost_min_visits=1)
    steps, _, cube = _cube(world, settings)
    visits = node_visits(steps, settings)
    nodes = node_table(
        node_stats(steps, visits, settings), menu_tree(menu_moves(visits), settings), cube, settings
    )
    rows = {r["node_id"]: r for r in nodes.to_pyarrow().to_pylist()}
    n4_1, n4_2 = rows["n4_1"], rows["n4_2"]
    # n4_1: c1 and c6 re-contacted, c4 hung up; n4_2: c5 transferred.
    assert (n4_1["n_recontacts"], n4_1["n_abandons"], n4_1["n_zero_outs"]) == (2, 1, 0)
    assert (n4_2["n_recontacts"], n4_2["n_abandons"], n4_2["n_zero_outs"]) == (0, 0, 1)
    assert n4_1["failure_share"] == pytest.approx(3 / 4)
    assert n4_2["mean_self_service_seconds"] == pytest.approx(30.0)
    assert rows["root"]["n_failures"] == 0
    assert sorted(r["lost_rank"] for r in rows.values()) == list(range(1, len(rows) + 1))


def test_top_paths(world):
    settings = IvrSettings(top_paths=1)
    steps = event_steps(world.tables()["stg_ivr_events"], settings)
    (top,) = top_paths(path_cube(call_journeys(steps, settings)), settings).to_pyarrow().to_pylist()
    assert top["path"] == "root > n4 > n4_1"
    assert (top["n_calls"], top["n_self_service_complete"], top["n_hang_up"]) == (5, 4, 1)
    assert top["call_share"] == pytest.approx(5 / 7)
