"""IVR analytics. Menu design: recommendations estimated by replaying the observed journeys."""

from touchpoint.ivr._menu_design import (
    DESIGN_INPUTS,
    RECOMMENDATIONS_MART,
    REPLAY_INPUTS,
    REPLAY_TABLE,
    MenuDesignSettings,
    build_menu_design,
    build_menu_replay,
    load_menu_design_settings,
    menu_ancestors,
    menu_design_settings_from_config,
    menu_recommendations,
    menu_replay_cube,
    menu_tree,
    node_measures,
)

__all__ = [
    "DESIGN_INPUTS",
    "RECOMMENDATIONS_MART",
    "REPLAY_INPUTS",
    "REPLAY_TABLE",
    "MenuDesignSettings",
    "build_menu_design",
    "build_menu_replay",
    "load_menu_design_settings",
    "menu_ancestors",
    "menu_design_settings_from_config",
    "menu_recommendations",
    "menu_replay_cube",
    "menu_tree",
    "node_measures",
]
