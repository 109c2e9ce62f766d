"""The two pipeline steps: the replay cube once, the recommendations on it."""

from __future__ import annotations

import ibis.expr.types as ir

from touchpoint.config import Config
from touchpoint.ivr.menu_design._recommend import menu_recommendations
from touchpoint.ivr.menu_design._replay import menu_replay_cube
from touchpoint.ivr.menu_design._settings import menu_design_settings_from_config

REPLAY_TABLE = "int_ivr_menu_replay"
RECOMMENDATIONS_MART = "mart_ivr_menu_recommendations"


def build_menu_replay(tables: dict[str, ir.Table], config: Config) -> dict[str, ir.Table]:
    """Step ``ivr_menu_replay``: the replay cube from ``stg_ivr_events``.

    Returns
    -------
    dict
        ``int_ivr_menu_replay`` (see :func:`menu_replay_cube` for its grain).
    """
    settings = menu_design_settings_from_config(config)
    return {REPLAY_TABLE: menu_replay_cube(tables["stg_ivr_events"], settings)}


def build_menu_design(tables: dict[str, ir.Table], config: Config) -> dict[str, ir.Table]:
    """Step ``ivr_menu_design``: the ranked recommendations.

    Parameters
    ----------
    tables
        ``int_ivr_menu_replay`` (as the pipeline's ``ivr_menu_replay`` step writes it) or, when
        it is absent, ``stg_ivr_events`` (the cube is then built inline and returned too).

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
        cube = out[REPLAY_TABLE] = menu_replay_cube(tables["stg_ivr_events"], settings)
    out[RECOMMENDATIONS_MART] = menu_recommendations(cube, config, settings)
    return out
