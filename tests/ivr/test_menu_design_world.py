"""Menu recommendations on the simulated operator, against the simulator's planted truth."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest


@pytest.fixture(scope="module")
def world(ingested_world):
    con, _, _, result = ingested_world
    truth = result.out_dir / "truth"
    recs = con.table("mart_ivr_menu_recommendations").to_pyarrow().to_pylist()
    menu = pq.read_table(truth / "ivr_menu.parquet").to_pylist()
    confusing = json.loads((truth / "confusing_nodes.json").read_text(encoding="utf-8"))
    return recs, menu, confusing, con


def test_every_planted_confusing_node_gets_a_fix_with_positive_benefit(world):
    recs, _, confusing, _ = world
    fixes = {r["node_id"]: r for r in recs if r["kind"] == "fix"}
    assert set(confusing) <= set(fixes)
    for node in confusing:
        fix = fixes[node]
        assert fix["est_caller_seconds_saved_per_month"] > 0
        assert fix["est_transfers_avoided_per_month"] > 0
        assert fix["est_cost_saved_yuan_per_month"] > 0
        # The simulator multiplies the error odds by 4 there.
        assert fix["error_rate"] > 2 * fix["median_error_rate"]
    # No more than one false alarm among the other menu nodes.
    assert len(set(fixes) - set(confusing)) <= 1


def test_a_high_traffic_deep_leaf_is_promoted(world):
    recs, menu, _, _ = world
    depth = {}
    parent = {n["node_id"]: n["parent_id"] for n in menu}
    for node in parent:
        d, p = 0, parent[node]
        while p is not None:
            d, p = d + 1, parent[p]
        depth[node] = d
    leaves = {n["node_id"] for n in menu} - {p for p in parent.values() if p}
    promoted = [r for r in recs if r["kind"] == "promote" and r["node_id"] in leaves]
    assert promoted, "no leaf promoted"
    best = max(promoted, key=lambda r: r["est_cost_saved_yuan_per_month"])
    assert depth[best["node_id"]] >= 2 and best["depth"] == depth[best["node_id"]]
    assert best["new_depth"] == 1 and best["parent_node_id"] == "root"
    assert best["est_cost_saved_yuan_per_month"] > 0
    # "High traffic": among the most used leaves (by calls reaching them).
    by_calls = sorted(
        (r for r in recs if r["kind"] == "promote" and r["node_id"] in leaves),
        key=lambda r: -r["n_calls_per_month"],
    )
    assert best["node_id"] in {r["node_id"] for r in by_calls[:3]}
    # The new key is one the main menu does not use.
    used = {n["key"] for n in menu if n["parent_id"] == "root"}
    assert best["proposed_key"] not in used


def test_recommendations_are_ranked_by_cost_saved(world):
    recs, _, _, _ = world
    assert [r["rank"] for r in recs] == list(range(1, len(recs) + 1))
    costs = [r["est_cost_saved_yuan_per_month"] for r in recs]
    assert costs == sorted(costs, reverse=True)
    assert all(c > 0 for c in costs)


def test_reconstructed_tree_matches_the_simulated_menu(world):
    _, menu, _, con = world
    from touchpoint.config import load_config
    from touchpoint.ivr import menu_design_settings_from_config, replay_tree

    settings = menu_design_settings_from_config(load_config())
    tree = replay_tree(con.table("int_ivr_menu_replay"), settings).to_pyarrow().to_pylist()
    got = {r["node_id"]: (r["parent_node_id"], r["key"]) for r in tree}
    expected = {n["node_id"]: (n["parent_id"], n["key"]) for n in menu}
    assert got == expected
