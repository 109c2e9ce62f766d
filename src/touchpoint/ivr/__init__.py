"""IVR journey analytics: the menu tree, node visits, dwell and exits, containment (plain and
verified), failures by node, paths, lost points and the directly-follows graph; and a better
menu, proposed and priced by replaying the observed journeys (docs/menu-design.md).

Pure Ibis functions over ``stg_ivr_events`` and ``stg_contacts``, as docs/metrics.md defines
the figures; the pipeline writes the node visits (step ``ivr_visits``), small cubes (step ``ivr_cubes``) and the marts on them
(step ``ivr``, tables ``mart_ivr_*``).

>>> import ibis, datetime as dt
>>> from touchpoint.config import load_config
>>> from touchpoint.ivr import build
>>> t0 = dt.datetime(2024, 3, 1, 9, 0)
>>> events = ibis.memtable({
...     "call_id": ["c1"] * 4, "seq": [1, 2, 3, 4], "customer_id": ["u1"] * 4,
...     "event_at": [t0 + dt.timedelta(seconds=s) for s in (0, 1, 5, 20)],
...     "node_id": ["root", "root", "root", "n1"],
...     "event_type": ["call_start", "prompt", "key", "self_service_complete"],
...     "key": ["", "", "1", ""]})
>>> contacts = ibis.memtable({
...     "contact_id": ["k1"], "customer_id": ["u1"], "started_at": [t0],
...     "ended_at": [t0 + dt.timedelta(seconds=20)], "channel": ["ivr"],
...     "business": ["bill_query"], "outcome": ["resolved"], "region": ["north"],
...     "call_id": ["c1"]})
>>> marts = build({"stg_ivr_events": events, "stg_contacts": contacts}, load_config())
>>> marts["mart_ivr_kpis"].to_pyarrow()["mean_self_service_seconds"].to_pylist()
[20.0]
"""

from touchpoint.capability import Step
from touchpoint.ivr._build import (
    CALLS_CUBE,
    CONTAINMENT_MART,
    CUBES,
    GRAPH_MART,
    KPIS_MART,
    LOST_MART,
    MARTS,
    MOVES_CUBE,
    NODE_STATS_CUBE,
    NODES_MART,
    PATHS_CUBE,
    PATHS_MART,
    TREE_MART,
    VISITS_TABLE,
    build,
    build_cubes,
    build_marts,
    build_visits,
)
from touchpoint.ivr._calls import (
    call_cube,
    call_endings,
    call_journeys,
    containment,
    containment_all,
    ivr_call_facts,
    ivr_kpis,
    path_cube,
    top_paths,
    visit_endings,
    visit_journeys,
)
from touchpoint.ivr._journeys import event_steps, node_visits, unshared_steps, visit_table
from touchpoint.ivr._nodes import (
    EXIT_KINDS,
    LOST_COLUMNS,
    directly_follows,
    exit_kind,
    lost_points,
    menu_moves,
    menu_tree,
    node_event_counts,
    node_stats,
    node_stats_from_counts,
    node_table,
    replay_node_counts,
    tree_from_edges,
    visit_counts,
    wrong_turns,
)
from touchpoint.ivr._queries import (
    ABANDON_EXITS,
    VIEWS,
    forward_move_rows,
    kpi_row,
    proposal_text,
    recommendation_counts,
    recommendation_rows,
    view_rows,
    with_drop_off,
)
from touchpoint.ivr._settings import IvrSettings, load_ivr_settings, settings_from_config
from touchpoint.ivr.menu_design import (
    ANCESTORS_TABLE,
    RECOMMENDATIONS_MART,
    REPLAY_TABLE,
    TREE_TABLE,
    MenuDesignSettings,
    build_menu_ancestors,
    build_menu_design,
    build_menu_replay,
    build_menu_tree,
    load_menu_design_settings,
    menu_ancestors,
    menu_design_settings_from_config,
    menu_recommendations,
    menu_replay_cube,
    node_measures,
    replay_tree,
)

__all__ = [
    "VIEWS",
    "recommendation_rows",
    "forward_move_rows",
    "kpi_row",
    "proposal_text",
    "recommendation_counts",
    "with_drop_off",
    "ABANDON_EXITS",
    "view_rows",
    "CALLS_CUBE",
    "CONTAINMENT_MART",
    "CUBES",
    "EXIT_KINDS",
    "GRAPH_MART",
    "IvrSettings",
    "KPIS_MART",
    "LOST_COLUMNS",
    "LOST_MART",
    "MARTS",
    "MOVES_CUBE",
    "MenuDesignSettings",
    "NODES_MART",
    "NODE_STATS_CUBE",
    "PATHS_CUBE",
    "PATHS_MART",
    "RECOMMENDATIONS_MART",
    "REPLAY_TABLE",
    "STEPS",
    "TREE_MART",
    "VISITS_TABLE",
    "build",
    "build_cubes",
    "build_marts",
    "build_visits",
    "build_menu_design",
    "build_menu_replay",
    "call_cube",
    "call_endings",
    "call_journeys",
    "containment",
    "containment_all",
    "directly_follows",
    "event_steps",
    "exit_kind",
    "ivr_call_facts",
    "ivr_kpis",
    "load_ivr_settings",
    "load_menu_design_settings",
    "lost_points",
    "menu_ancestors",
    "menu_design_settings_from_config",
    "menu_moves",
    "menu_recommendations",
    "menu_replay_cube",
    "menu_tree",
    "tree_from_edges",
    "node_event_counts",
    "node_measures",
    "node_stats",
    "node_stats_from_counts",
    "node_table",
    "node_visits",
    "path_cube",
    "replay_node_counts",
    "replay_tree",
    "settings_from_config",
    "top_paths",
    "unshared_steps",
    "visit_counts",
    "visit_endings",
    "visit_journeys",
    "visit_table",
    "wrong_turns",
]

#: The pipeline steps of the IVR analytics (``touchpoint.pipeline`` orders and runs them).
STEPS = (
    Step(
        "ivr_menu_replay",
        inputs=("stg_ivr_events",),
        outputs=(REPLAY_TABLE,),
        build=build_menu_replay,
        description="IVR steps aggregated by the call's ending and the move (one pass over the events)",
    ),
    Step(
        "ivr_menu_tree",
        inputs=(REPLAY_TABLE,),
        outputs=(TREE_TABLE,),
        build=build_menu_tree,
        description="the menu tree the replayed moves show (read by several recommenders)",
    ),
    Step(
        "ivr_menu_ancestors",
        inputs=(TREE_TABLE,),
        outputs=(ANCESTORS_TABLE,),
        build=build_menu_ancestors,
        description="every (node, ancestor) pair of the menu tree",
    ),
    Step(
        "ivr_menu_design",
        inputs=(REPLAY_TABLE, TREE_TABLE, ANCESTORS_TABLE),
        outputs=(RECOMMENDATIONS_MART,),
        build=build_menu_design,
        description="menu recommendations (promote, merge, drop, fix) by replaying the journeys",
    ),
    Step(
        "ivr_visits",
        inputs=("stg_ivr_events",),
        outputs=(VISITS_TABLE,),
        build=build_visits,
        description="one row per visit of a menu node (one window pass over the events)",
    ),
    Step(
        "ivr_cubes",
        inputs=(VISITS_TABLE, REPLAY_TABLE, "stg_contacts"),
        outputs=CUBES,
        build=build_cubes,
        description="IVR node statistics, moves between nodes, daily call cube and path cube",
    ),
    Step(
        "ivr",
        inputs=CUBES,
        outputs=MARTS,
        build=build_marts,
        description="IVR menu tree, node table, lost points, graph, paths, containment, KPIs",
    ),
)
