"""What people see of the IVR marts: nodes, paths, lost points, the graph, containment, and
the menu recommendations.

Query functions: each takes an open Ibis backend and returns the rows a person reads (a
pyarrow table, JSON-ready), in the order they are shown; the command line and the report
render them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ibis
import pyarrow as pa

from touchpoint.ivr._build import (
    CONTAINMENT_MART,
    GRAPH_MART,
    KPIS_MART,
    LOST_MART,
    MOVES_CUBE,
    NODES_MART,
    PATHS_MART,
    TREE_MART,
)
from touchpoint.labels import format_percent, translate
from touchpoint.query import require_table

#: A caller leaves a node without being served by hanging up, a timeout, invalid keys or
#: another ending; together with a transfer to an agent, that is the node's drop-off.
ABANDON_EXITS = ("n_exits_hang_up", "n_exits_timeout", "n_exits_invalid", "n_exits_other")


def with_drop_off(nodes: ibis.Table) -> ibis.Table:
    """``nodes`` with ``n_abandoned`` and ``drop_off_rate`` (abandoned or sent to an agent, of
    the node's visits; 0 for a node nobody visited).

    >>> t = ibis.memtable({"n_visits": [10, 0], "n_exits_transfer_agent": [2, 0],
    ...     **{c: [1, 0] for c in ABANDON_EXITS}})
    >>> with_drop_off(t).drop_off_rate.to_pyarrow().to_pylist()
    [0.6, 0.0]
    """
    abandoned = sum((nodes[c] for c in ABANDON_EXITS[1:]), nodes[ABANDON_EXITS[0]])
    rate = (abandoned + nodes.n_exits_transfer_agent) / nodes.n_visits.nullif(0)
    return nodes.mutate(n_abandoned=abandoned, drop_off_rate=rate.fill_null(0.0))


@dataclass(frozen=True)
class View:
    """One view of an IVR mart: the mart it reads, the order its rows are shown in, and the
    figures derived from its columns (one place, for the command line, report and API)."""

    mart: str
    order_by: tuple[Any, ...]
    derive: Callable[[ibis.Table], ibis.Table] | None = None


VIEWS = {
    "nodes": View(NODES_MART, ("depth", "node_id"), with_drop_off),
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
    if spec.derive is not None:
        rows = spec.derive(rows)
    if dimension is not None:
        rows = rows.filter(rows.dimension == dimension)
    rows = rows.order_by(list(spec.order_by))
    return (rows.limit(top) if top else rows).to_pyarrow()


def proposal_text(row: dict[str, Any], lang: str) -> str:
    """A menu recommendation as a sentence in ``lang``, from its ``proposal_key`` and evidence."""
    values = {
        key: ("–" if value is None or value != value else value)  # None or NaN
        for key, value in row.items()
        if key not in ("error_rate", "median_error_rate")
    }
    for key in ("error_rate", "median_error_rate"):
        values[key] = format_percent(row.get(key), lang)
    kind = row.get("main_error_kind")
    values["main_error"] = translate(f"menu.error_{kind}", lang) if kind else "–"
    return translate(row["proposal_key"], lang).format(**values)


def recommendation_counts(con: ibis.BaseBackend) -> dict[str, int]:
    """How many menu recommendations there are of each kind (``fix``, ``shortcut``, ...)."""
    from touchpoint.ivr import RECOMMENDATIONS_MART

    rows = require_table(con, RECOMMENDATIONS_MART)
    counts = rows.group_by("kind").aggregate(n=rows.count()).order_by("kind").to_pyarrow()
    return dict(zip(counts["kind"].to_pylist(), counts["n"].to_pylist(), strict=True))


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


def kpi_row(con: ibis.BaseBackend) -> dict[str, Any]:
    """The IVR's headline figures (calls, containment plain and verified, self-service time)."""
    return require_table(con, KPIS_MART).to_pyarrow().to_pylist()[0]


def forward_move_rows(con: ibis.BaseBackend) -> pa.Table:
    """Moves from a node to one of its own children, summed over the cube: the menu's flow
    downwards (back-tracks are left out: a Sankey diagram has no cycles)."""
    tree = require_table(con, TREE_MART).select("node_id", "parent_node_id")
    moves = require_table(con, MOVES_CUBE)
    forward = moves.join(
        tree,
        (moves.to_node_id == tree.node_id) & (moves.from_node_id == tree.parent_node_id),
    )
    return (
        forward.group_by("from_node_id", "to_node_id")
        .agg(n_moves=forward.n_moves.sum())
        .order_by(["from_node_id", "to_node_id"])
        .to_pyarrow()
    )
