"""IVR analytics on the simulated world equal the simulator's planted and realised truth."""

import json

import pyarrow.parquet as pq
import pytest


def test_containment_equals_realised(ingested_world):
    con, _, realised, _ = ingested_world
    kpis = con.table("mart_ivr_kpis").to_pyarrow().to_pylist()[0]
    for key in ("ivr_containment_rate", "ivr_verified_containment_rate"):
        assert kpis[key] == pytest.approx(realised[key], abs=0.005), key
    assert kpis["mean_self_service_seconds"] == pytest.approx(
        realised["mean_self_service_seconds"], rel=0.005
    )
    # Verified containment is the stricter figure.
    assert kpis["ivr_verified_containment_rate"] < kpis["ivr_containment_rate"]


def test_planted_confusing_nodes_top_the_lost_ranking(ingested_world):
    con, _, _, result = ingested_world
    confusing = set(json.loads((result.out_dir / "truth" / "confusing_nodes.json").read_text()))
    assert confusing
    ranking = con.table("mart_ivr_lost").order_by("lost_rank").to_pyarrow().to_pylist()
    assert {r["node_id"] for r in ranking[: len(confusing)]} == confusing
    # Clearly apart: the least lost planted node scores well above the next node.
    assert ranking[len(confusing) - 1]["lost_score"] > 2 * ranking[len(confusing)]["lost_score"]


def test_tree_equals_the_simulated_menu(ingested_world):
    con, _, _, result = ingested_world
    menu = pq.read_table(result.out_dir / "truth" / "ivr_menu.parquet").to_pylist()
    tree = {r["node_id"]: r for r in con.table("mart_ivr_tree").to_pyarrow().to_pylist()}
    visited = {m["node_id"]: m for m in menu if m["node_id"] in tree}
    assert len(visited) >= len(menu) - 2  # a rarely used leaf may go unvisited in a small world
    for node_id, m in visited.items():
        t = tree[node_id]
        assert (t["parent_node_id"], t["key"], t["depth"]) == (m["parent_id"], m["key"], m["depth"])


def test_plain_containment_agrees_with_the_channel_call_cube(ingested_world):
    con, *_ = ingested_world
    calls = con.table("mart_channels_calls_daily")
    calls = calls.filter(calls.is_ended_in_ivr.notnull())
    by_region = calls.group_by("region").agg(
        n=calls.n_calls.sum(), contained=calls.n_calls.sum(where=calls.is_ended_in_ivr)
    )
    channels = {r["region"]: (r["n"], r["contained"]) for r in by_region.to_pyarrow().to_pylist()}
    ivr = con.table("mart_ivr_containment")
    ivr = ivr.filter(ivr.dimension == "region").to_pyarrow().to_pylist()
    assert {r["dimension_value"]: (r["n_calls"], r["n_contained"]) for r in ivr} == channels


def test_node_table_invariants(ingested_world):
    con, *_ = ingested_world
    nodes = con.table("mart_ivr_nodes").to_pyarrow().to_pylist()
    kpis = con.table("mart_ivr_kpis").to_pyarrow().to_pylist()[0]
    exits = sum(
        n[f"n_exits_{k}"]
        for n in nodes
        for k in (
            "self_service_complete",
            "hang_up",
            "transfer_agent",
            "timeout",
            "invalid",
            "other",
        )
    )
    assert exits == kpis["n_ivr_calls"]  # every call ends at exactly one node
    assert sum(n["n_zero_outs"] for n in nodes) == kpis["n_ivr_calls"] - kpis["n_ivr_contained"]
    root = next(n for n in nodes if n["node_id"] == "root")
    assert root["n_calls"] == kpis["n_ivr_calls"]  # every call starts at the main menu
    for n in nodes:
        assert n["n_loops"] == n["n_visits"] - n["n_calls"] >= 0
