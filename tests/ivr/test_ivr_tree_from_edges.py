"""The one menu-tree reconstruction shared by the IVR marts and the menu design, by hand."""

from __future__ import annotations

import ibis

from touchpoint.ivr import tree_from_edges


def _tree(nodes, edges, max_depth=5):
    columns = ["node_id", "parent_node_id", "key", "n_entries"]
    edges = ibis.memtable(
        {c: [e[i] for e in edges] for i, c in enumerate(columns)},
        schema={"node_id": "string", "parent_node_id": "string", "key": "string",
                "n_entries": "int64"},
    )  # fmt: skip
    nodes = ibis.memtable({"node_id": nodes})
    rows = tree_from_edges(nodes, edges, max_depth).to_pyarrow().to_pylist()
    return {r["node_id"]: r for r in rows}


def test_parent_is_the_most_frequent_entry_and_depth_counts_to_the_root():
    t = _tree(
        ["root", "a", "b", "c", "a"],  # duplicates allowed
        [
            ("a", "root", "1", 50),
            ("b", "a", "2", 30),
            ("b", "root", "2", 3),  # noise: b is entered from root now and then
            ("c", "b", "1", 9),
        ],
    )
    assert (t["b"]["parent_node_id"], t["b"]["key"], t["b"]["n_entries"]) == ("a", "2", 30)
    assert [t[n]["depth"] for n in ("root", "a", "b", "c")] == [0, 1, 2, 3]
    assert {t[n]["root_node_id"] for n in t} == {"root"}
    assert t["root"]["parent_node_id"] is None and t["root"]["n_entries"] == 0
    assert [t[n]["n_children"] for n in ("root", "a", "b", "c")] == [1, 1, 1, 0]
    assert [n for n in t if t[n]["is_leaf"]] == ["c"]


def test_ties_go_to_the_smaller_parent_then_key():
    t = _tree(["r", "p", "q", "x"], [("x", "q", "1", 5), ("x", "p", "2", 5), ("x", "p", "1", 5)])
    assert (t["x"]["parent_node_id"], t["x"]["key"]) == ("p", "1")


def test_a_cycle_or_a_chain_deeper_than_the_limit_has_no_depth_or_root():
    t = _tree(["u", "v", "w"], [("u", "v", "1", 2), ("v", "u", "1", 2), ("w", "v", "3", 1)])
    assert all(t[n]["depth"] is None and t[n]["root_node_id"] is None for n in t)
    deep = _tree(
        ["r", "a", "b", "c"],
        [("a", "r", "1", 1), ("b", "a", "1", 1), ("c", "b", "1", 1)],
        max_depth=2,
    )
    assert (deep["b"]["depth"], deep["b"]["root_node_id"]) == (2, "r")
    assert (deep["c"]["depth"], deep["c"]["root_node_id"]) == (None, None)


def test_a_node_never_entered_is_a_root_of_its_own():
    t = _tree(["root", "a", "orphan", "o1"], [("a", "root", "1", 4), ("o1", "orphan", "1", 2)])
    assert (t["orphan"]["depth"], t["orphan"]["root_node_id"]) == (0, "orphan")
    assert (t["o1"]["depth"], t["o1"]["root_node_id"]) == (1, "orphan")
