"""Pipeline steps of the IVR analytics: cubes from the events first, then the marts on them.

The first step windows the (large) ``stg_ivr_events`` once and writes one row per visit of a
node (``int_ivr_visits``); the second writes small tables from the visits (and the per-node
event counts from the menu design's replay cube, ``int_ivr_menu_replay``, whose window pass
over the events counts them): the node statistics, the moves between nodes, the daily call
cube and the path cube. The third builds every mart from those, so the menu
tree (which walks its input once per level) and the summaries never rescan the events.
"""

from __future__ import annotations

import ibis

from touchpoint.config import Config
from touchpoint.ivr._calls import (
    call_cube,
    containment_all,
    ivr_call_facts,
    ivr_kpis,
    path_cube,
    top_paths,
    visit_endings,
    visit_journeys,
)
from touchpoint.ivr._journeys import visit_table
from touchpoint.ivr._nodes import (
    directly_follows,
    lost_points,
    menu_moves,
    menu_tree,
    node_stats_from_counts,
    node_table,
    replay_node_counts,
)
from touchpoint.ivr._settings import settings_from_config
from touchpoint.ivr.menu_design import REPLAY_TABLE, build_menu_replay

VISITS_TABLE = "int_ivr_visits"
NODE_STATS_CUBE = "mart_ivr_node_stats"
MOVES_CUBE = "mart_ivr_moves"
CALLS_CUBE = "mart_ivr_calls_daily"
PATHS_CUBE = "mart_ivr_paths_all"
TREE_MART = "mart_ivr_tree"
NODES_MART = "mart_ivr_nodes"
LOST_MART = "mart_ivr_lost"
GRAPH_MART = "mart_ivr_graph"
PATHS_MART = "mart_ivr_paths"
CONTAINMENT_MART = "mart_ivr_containment"
KPIS_MART = "mart_ivr_kpis"
CUBES = (NODE_STATS_CUBE, MOVES_CUBE, CALLS_CUBE, PATHS_CUBE)
MARTS = (TREE_MART, NODES_MART, LOST_MART, GRAPH_MART, PATHS_MART, CONTAINMENT_MART, KPIS_MART)


def build_visits(tables: dict[str, ibis.Table], config: Config) -> dict[str, ibis.Table]:
    """Step ``ivr_visits``: ``int_ivr_visits``, one row per visit of a node
    (:func:`touchpoint.ivr.visit_table`), from one window pass over ``stg_ivr_events``.

    Written once so that the cubes, which all need the visits or the calls built on them,
    do not each window the events again (at 1 M customers: 42.8 M events, about 3 per visit).
    """
    settings = settings_from_config(config)
    return {VISITS_TABLE: visit_table(tables["stg_ivr_events"], settings)}


def build_cubes(tables: dict[str, ibis.Table], config: Config) -> dict[str, ibis.Table]:
    """Step ``ivr_cubes``: the small tables every IVR mart is built from.

    Parameters
    ----------
    tables
        ``int_ivr_visits`` (:func:`build_visits`), ``int_ivr_menu_replay`` (the per-node event
        counts, summed from the replay cube of step ``ivr_menu_replay``) and ``stg_contacts``.

    Returns
    -------
    dict
        ``mart_ivr_node_stats`` (one row per node), ``mart_ivr_moves`` (one row per node × key
        × next node), ``mart_ivr_calls_daily`` (one row per call date × region × business ×
        last node × exit kind) and ``mart_ivr_paths_all`` (one row per path × exit kind).
    """
    settings = settings_from_config(config)
    visits = tables[VISITS_TABLE]
    endings = visit_endings(visits, settings)
    return {
        NODE_STATS_CUBE: node_stats_from_counts(
            replay_node_counts(tables[REPLAY_TABLE], settings), visits
        ),
        MOVES_CUBE: menu_moves(visits),
        CALLS_CUBE: call_cube(ivr_call_facts(tables["stg_contacts"], endings, settings)),
        PATHS_CUBE: path_cube(visit_journeys(visits, settings)),
    }


def build_marts(tables: dict[str, ibis.Table], config: Config) -> dict[str, ibis.Table]:
    """Step ``ivr``: the IVR marts from the cubes of :func:`build_cubes`.

    Returns
    -------
    dict
        ``mart_ivr_tree`` (one row per node), ``mart_ivr_nodes`` (one row per node),
        ``mart_ivr_lost`` (one row per ranked node), ``mart_ivr_graph`` (one row per pair of
        consecutive nodes), ``mart_ivr_paths`` (one row per top path),
        ``mart_ivr_containment`` (one row per dimension × value) and ``mart_ivr_kpis`` (one
        row).
    """
    settings = settings_from_config(config)
    tree = menu_tree(tables[MOVES_CUBE], settings)
    nodes = node_table(tables[NODE_STATS_CUBE], tree, tables[CALLS_CUBE], settings)
    return {
        TREE_MART: tree,
        NODES_MART: nodes,
        LOST_MART: lost_points(nodes),
        GRAPH_MART: directly_follows(tables[MOVES_CUBE]),
        PATHS_MART: top_paths(tables[PATHS_CUBE], settings),
        CONTAINMENT_MART: containment_all(tables[CALLS_CUBE], settings),
        KPIS_MART: ivr_kpis(tables[CALLS_CUBE], settings),
    }


def build(tables: dict[str, ibis.Table], config: Config) -> dict[str, ibis.Table]:
    """All IVR tables as unevaluated expressions (visits, cubes, then marts on them).

    For small inputs and tests; the pipeline writes the cubes before building the marts.
    """
    out = build_visits(tables, config)
    replay = build_menu_replay(tables, config)
    out |= build_cubes({**tables, **out, **replay}, config)
    out |= build_marts({**tables, **out}, config)
    return out
