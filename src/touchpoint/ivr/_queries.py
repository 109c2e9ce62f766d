"""What people see of the IVR marts: nodes, paths, lost points, the graph, containment, and
the menu recommendations.

Query functions: each takes an open Ibis backend and returns the rows a person reads (a
pyarrow table, JSON-ready), in the order they are shown; the command line and the report
render them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ibis
import pyarrow as pa

from touchpoint.ivr._build import CONTAINMENT_MART, GRAPH_MART, LOST_MART, NODES_MART, PATHS_MART
from touchpoint.query import require_table


@dataclass(frozen=True)
class View:
    """One view of an IVR mart: the mart it reads and the order its rows are shown in."""

    mart: str
    order_by: tuple[Any, ...]


VIEWS = {
    "nodes": View(NODES_MART, ("depth", "node_id")),
    "paths": View(PATHS_MART, ("path_rank",)),
    "lost": View(LOST_MART, ("lost_rank",)),
    "graph": View(GRAPH_MART, (ibis.desc("n_transitions"), "from_node_id", "to_node_id")),
    "containment": View(CONTAINMENT_MART, ("dimension", "dimension_value")),
}


def view_rows(
    con: ibis.BaseBackend, view: str, *, top: int = 0, dimension: str | None = None
) -> pa.Table:
    """The rows of one IVR view (``nodes``, ``paths``, ``lost``, ``graph``, ``containment``).

    ``top``: only the first N rows (0: all); ``dimension``: for ``containment``, only this
    split (``all``, ``business``, ``region``).
    """
    spec = VIEWS[view]
    rows = require_table(con, spec.mart)
    if dimension is not None:
        rows = rows.filter(rows.dimension == dimension)
    rows = rows.order_by(list(spec.order_by))
    return (rows.limit(top) if top else rows).to_pyarrow()


def recommendation_rows(
    con: ibis.BaseBackend, *, kind: str | None = None, top: int = 0
) -> pa.Table:
    """The menu recommendations in rank order: only ``kind`` if given, the first ``top`` (0: all)."""
    from touchpoint.ivr import RECOMMENDATIONS_MART  # wherever the menu design lives

    rows = require_table(con, RECOMMENDATIONS_MART)
    if kind is not None:
        rows = rows.filter(rows.kind == kind)
    rows = rows.order_by("rank")
    return (rows.limit(top) if top else rows).to_pyarrow()
