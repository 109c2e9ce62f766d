"""The IVR menu as arrays, so that thousands of calls can walk it in step."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from touchpoint.simulate.params import SimParams


@dataclass(frozen=True)
class Menu:
    ids: np.ndarray  # node index -> node id (object array of str)
    parent: np.ndarray  # node index -> parent index, -1 for the root
    key: np.ndarray  # node index -> key pressed at the parent to reach it ("" for the root)
    depth: np.ndarray
    is_leaf: np.ndarray
    n_children: np.ndarray
    children: list[np.ndarray]  # node index -> child indexes
    next_hop: np.ndarray  # [leaf, node] -> the child of node on the way to leaf, -1 if none
    leaves_by_business: dict[str, tuple[np.ndarray, np.ndarray]]  # business -> (leaves, weights)
    confusing: np.ndarray  # bool per node

    @property
    def root(self) -> int:
        return 0

    def index(self, node_id: str) -> int:
        return int(np.flatnonzero(self.ids == node_id)[0])


def build_menu(params: SimParams) -> Menu:
    nodes = params.ivr_menu
    position = {node.id: i for i, node in enumerate(nodes)}
    if nodes[0].parent is not None:
        raise ValueError("ivr_menu: the first node must be the root (no parent)")
    n = len(nodes)
    parent = np.array([-1 if node.parent is None else position[node.parent] for node in nodes])
    children = [np.flatnonzero(parent == i) for i in range(n)]
    depth = np.zeros(n, dtype=np.int64)
    for i in range(1, n):  # parents are listed before their children
        depth[i] = depth[parent[i]] + 1
    is_leaf = np.array([len(c) == 0 for c in children])
    next_hop = np.full((n, n), -1, dtype=np.int64)
    for leaf in np.flatnonzero(is_leaf):
        node = leaf
        while parent[node] >= 0:
            next_hop[leaf, parent[node]] = node
            node = parent[node]
    leaves_by_business: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for business in {node.business for node in nodes if node.business}:
        leaves = np.array(
            [i for i, node in enumerate(nodes) if is_leaf[i] and node.business == business]
        )
        weights = np.array([nodes[i].weight for i in leaves], dtype=float)
        leaves_by_business[business] = (leaves, weights / weights.sum())
    confusing = np.isin([node.id for node in nodes], params.ivr.confusing_nodes)
    return Menu(
        ids=np.array([node.id for node in nodes], dtype=object),
        parent=parent,
        key=np.array([node.key or "" for node in nodes], dtype=object),
        depth=depth,
        is_leaf=is_leaf,
        n_children=np.array([len(c) for c in children]),
        children=children,
        next_hop=next_hop,
        leaves_by_business=leaves_by_business,
        confusing=confusing,
    )
