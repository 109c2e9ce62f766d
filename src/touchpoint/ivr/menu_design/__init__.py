"""A better IVR menu: recommendations estimated by replaying the observed journeys.

Two stages, each a pure Ibis function (no I/O), so the expensive one runs once:

1. :func:`menu_replay_cube` reads ``stg_ivr_events`` once (one window pass per call) and
   aggregates every step by the call's ending (terminal node and event type), the node where
   the step happens, its event type, the key and the next node. The result is tiny (a few
   thousand rows for a menu of dozens of nodes, whatever the number of calls).
2. :func:`menu_recommendations` reconstructs the menu tree from the cube, measures each node
   (time spent, caller actions, errors) and re-times the observed journeys under each
   proposed change (promote, merge, drop, fix), giving per month the caller-seconds saved,
   the agent transfers avoided and the money saved. docs/menu-design.md gives the method and
   states every assumption.

Where things are: :mod:`._settings` (the settings and their loaders), :mod:`._replay` (stage
1), :mod:`._tree` (the tree and ancestors), :mod:`._measures` (per-node measures and per-leaf
time), :mod:`._recommenders` (promote, merge, drop, fix), :mod:`._recommend` (stage 2: price
and rank), :mod:`._build` (the pipeline steps).
"""

from touchpoint.ivr.menu_design._build import (
    ANCESTORS_TABLE,
    RECOMMENDATIONS_MART,
    REPLAY_TABLE,
    TREE_TABLE,
    build_menu_ancestors,
    build_menu_design,
    build_menu_replay,
    build_menu_tree,
)
from touchpoint.ivr.menu_design._measures import node_measures
from touchpoint.ivr.menu_design._recommend import menu_recommendations
from touchpoint.ivr.menu_design._recommenders import KINDS
from touchpoint.ivr.menu_design._replay import EVENT_COLUMNS, menu_replay_cube
from touchpoint.ivr.menu_design._settings import (
    DEFAULTS_PATH,
    SECTION,
    MenuDesignSettings,
    load_menu_design_settings,
    menu_design_settings_from_config,
)
from touchpoint.ivr.menu_design._tree import menu_ancestors, replay_tree

__all__ = [
    "ANCESTORS_TABLE",
    "TREE_TABLE",
    "build_menu_ancestors",
    "build_menu_tree",
    "DEFAULTS_PATH",
    "EVENT_COLUMNS",
    "KINDS",
    "RECOMMENDATIONS_MART",
    "REPLAY_TABLE",
    "SECTION",
    "MenuDesignSettings",
    "build_menu_design",
    "build_menu_replay",
    "load_menu_design_settings",
    "menu_ancestors",
    "menu_design_settings_from_config",
    "menu_recommendations",
    "menu_replay_cube",
    "node_measures",
    "replay_tree",
]
