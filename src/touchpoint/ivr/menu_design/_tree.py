"""The menu tree as the replayed journeys show it, and every node's ancestors."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from touchpoint.ivr._nodes import tree_from_edges
from touchpoint.ivr.menu_design._settings import MenuDesignSettings


def replay_tree(cube: ir.Table, settings: MenuDesignSettings) -> ir.Table:
    """The menu tree reconstructed from the moves in the replay cube.

    A key press (not a back key) at node X whose next step is at node Y is an edge X -key-> Y;
    the tree is :func:`touchpoint.ivr.tree_from_edges` of them (the reconstruction the IVR
    marts use: each node's parent is the node it is most often entered from), cut to the
    nodes whose root is ``root_node_id`` (at most ``max_depth`` levels down). Moves back into
    the main menu are no edges, so it stays the root.

    Returns
    -------
    ibis.Table
        One row per node: ``node_id, parent_node_id, key, depth, n_children, is_leaf,
        n_free_keys, first_free_key`` (free keys: ``menu_keys`` not used by a child).
    """
    s = settings
    c = cube
    moving = c.filter(
        (c.event_type == s.key_event_type)
        & c.next_node_id.notnull()
        & (c.next_node_id != c.node_id)
        & (c.next_node_id != s.root_node_id)
        & c.key.notnull()
        & ~c.key.isin(list(s.back_keys))
    )
    edges = moving.group_by(
        node_id=moving.next_node_id, parent_node_id=moving.node_id, key=moving.key
    ).agg(n_entries=moving.n_events.sum())
    nodes = c.select(node_id=c.node_id.cast("string")).union(
        c.filter(c.next_node_id.notnull()).select(node_id=c.next_node_id.cast("string"))
    )
    whole = tree_from_edges(nodes, edges, s.max_depth)
    # A node's children reach the root through it, so the cut keeps its child count.
    tree = whole.filter(whole.root_node_id == s.root_node_id).select(
        "node_id",
        "parent_node_id",
        "key",
        depth=whole.depth.cast("int64"),
        n_children=whole.n_children.cast("int64"),
    )
    used = tree.view().filter(ibis._.parent_node_id.notnull())
    used = used.select(used_parent=used.parent_node_id, used_key=used.key)
    keys = ibis.memtable({"menu_key": list(s.menu_keys)}, schema={"menu_key": "string"})
    free = tree.view().select(free_parent=ibis._.node_id).cross_join(keys)
    free = free.anti_join(
        used, (free.free_parent == used.used_parent) & (free.menu_key == used.used_key)
    )
    free = free.group_by("free_parent").agg(
        n_free_keys=free.count(), first_free_key=free.menu_key.min()
    )
    out = tree.left_join(free, tree.node_id == free.free_parent)
    return out.select(
        "node_id",
        "parent_node_id",
        "key",
        "depth",
        "n_children",
        is_leaf=(out.n_children == 0) & (out.node_id != s.root_node_id),
        n_free_keys=out.n_free_keys.fill_null(0).cast("int64"),
        first_free_key=out.first_free_key,
    )


def _chain(nodes: ir.Table, parents: ir.Table, max_depth: int) -> ir.Table:
    """Each node with its ancestors ``a0`` (itself), ``a1`` (parent), ... ``a<max_depth>``.

    One left join per level, so the expression grows linearly with the depth.
    """
    chain = nodes.select(node_id=nodes.node_id.cast("string"), a0=nodes.node_id.cast("string"))
    for k in range(1, max_depth + 1):
        step = parents.view().select(
            **{f"c{k}": ibis._.child.cast("string"), f"p{k}": ibis._.parent.cast("string")}
        )
        j = chain.left_join(step, chain[f"a{k - 1}"] == step[f"c{k}"])
        chain = j.select(*chain.columns, **{f"a{k}": j[f"p{k}"]})
    return chain


def menu_ancestors(tree: ir.Table, settings: MenuDesignSettings) -> ir.Table:
    """Every (node, ancestor-or-self) pair of the tree.

    Returns
    -------
    ibis.Table
        One row per node × ancestor (the node itself included): ``node_id, ancestor_id,
        ancestor_depth``.
    """
    parents = tree.filter(tree.parent_node_id.notnull()).select(
        child=tree.node_id, parent=tree.parent_node_id
    )
    chain = _chain(tree.view().select("node_id"), parents, settings.max_depth)
    pairs = ibis.union(
        *[
            chain.filter(chain[f"a{k}"].notnull()).select("node_id", ancestor_id=chain[f"a{k}"])
            for k in range(settings.max_depth + 1)
        ],
        distinct=True,
    )
    depths = tree.select(depth_node_id=tree.node_id, ancestor_depth=tree.depth)
    j = pairs.join(depths, pairs.ancestor_id == depths.depth_node_id)
    return j.select("node_id", "ancestor_id", "ancestor_depth")


def _under(ancestors: ir.Table, node: str, anc: str) -> ir.Table:
    """The ancestor pairs renamed: ``node`` lies in the subtree of ``anc``."""
    ancestors = ancestors.view()
    return ancestors.select(**{node: ancestors.node_id, anc: ancestors.ancestor_id})
