"""The pipeline steps: the replay cube once, the menu tree and its ancestor pairs written as
tables of their own, the recommendations on them.

The tree and the ancestors are each read by several parts of the recommendations; built inline
they are shared sub-queries that an engine which inlines them (Spark's analyser) expanded to
about 250,000 scans and could not plan (issue 17, :mod:`touchpoint.pipeline.plan_size`).
Written as tables, the recommendations' query expands to a few hundred scans on every engine.
"""

from __future__ import annotations

import ibis.expr.types as ir

from touchpoint.config import Config
from touchpoint.ivr._settings import settings_from_config as ivr_settings_from_config
from touchpoint.ivr.menu_design._recommend import menu_recommendations
from touchpoint.ivr.menu_design._replay import menu_replay_cube
from touchpoint.ivr.menu_design._settings import menu_design_settings_from_config
from touchpoint.ivr.menu_design._tree import menu_ancestors, replay_tree

REPLAY_TABLE = "int_ivr_menu_replay"
RECOMMENDATIONS_MART = "mart_ivr_menu_recommendations"
TREE_TABLE = "int_ivr_menu_tree"
ANCESTORS_TABLE = "int_ivr_menu_ancestors"


def build_menu_replay(tables: dict[str, ir.Table], config: Config) -> dict[str, ir.Table]:
    """Step ``ivr_menu_replay``: the replay cube from ``stg_ivr_events``.

    Returns
    -------
    dict
        ``int_ivr_menu_replay`` (see :func:`menu_replay_cube` for its grain).
    """
    settings = menu_design_settings_from_config(config)
    return {
        REPLAY_TABLE: menu_replay_cube(
            tables["stg_ivr_events"], settings, ivr_settings_from_config(config)
        )
    }


def build_menu_tree(tables: dict[str, ir.Table], config: Config) -> dict[str, ir.Table]:
    """Step ``ivr_menu_tree``: the menu tree of the replay cube (:func:`replay_tree`)."""
    settings = menu_design_settings_from_config(config)
    return {TREE_TABLE: replay_tree(tables[REPLAY_TABLE], settings)}


def build_menu_ancestors(tables: dict[str, ir.Table], config: Config) -> dict[str, ir.Table]:
    """Step ``ivr_menu_ancestors``: every (node, ancestor-or-self) pair of the written tree
    (:func:`menu_ancestors`)."""
    settings = menu_design_settings_from_config(config)
    return {ANCESTORS_TABLE: menu_ancestors(tables[TREE_TABLE], settings)}


def build_menu_design(tables: dict[str, ir.Table], config: Config) -> dict[str, ir.Table]:
    """Step ``ivr_menu_design``: the ranked recommendations.

    Parameters
    ----------
    tables
        ``int_ivr_menu_replay`` (as the pipeline's ``ivr_menu_replay`` step writes it) or, when
        it is absent, ``stg_ivr_events`` (the cube is then built inline and returned too);
        ``int_ivr_menu_tree`` and ``int_ivr_menu_ancestors`` when written (built inline
        otherwise).

    Returns
    -------
    dict
        ``mart_ivr_menu_recommendations`` (one row per recommendation, see
        :func:`menu_recommendations`), plus ``int_ivr_menu_replay`` when built here.

    Examples
    --------
    >>> import ibis, datetime as dt
    >>> from touchpoint.config import load_config
    >>> t0 = dt.datetime(2024, 3, 1, 9)
    >>> events = ibis.memtable({"call_id": ["c1"] * 3, "seq": [1, 2, 3],
    ...     "event_at": [t0, t0 + dt.timedelta(seconds=5), t0 + dt.timedelta(seconds=9)],
    ...     "node_id": ["root", "root", "n1"], "event_type": ["call_start", "key", "hang_up"],
    ...     "key": [None, "1", None]})
    >>> marts = build_menu_design({"stg_ivr_events": events}, load_config())
    >>> sorted(marts)
    ['int_ivr_menu_replay', 'mart_ivr_menu_recommendations']
    """
    settings = menu_design_settings_from_config(config)
    out: dict[str, ir.Table] = {}
    cube = tables.get(REPLAY_TABLE)
    if cube is None:
        cube = out[REPLAY_TABLE] = build_menu_replay(tables, config)[REPLAY_TABLE]
    out[RECOMMENDATIONS_MART] = menu_recommendations(
        cube, config, settings, tree=tables.get(TREE_TABLE), ancestors=tables.get(ANCESTORS_TABLE)
    )
    return out
