"""``touchpoint ivr``: the IVR marts in the terminal or as JSON/CSV.

Subcommands ``nodes``, ``paths``, ``lost``, ``graph`` and ``containment`` each read one mart
built by ``touchpoint run`` (steps ``ivr_visits``, ``ivr_cubes`` and ``ivr``) and take the options of
``touchpoint channels`` (``--json``, ``--csv``, ``--warehouse``, ``--config``, ``--lang``).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from touchpoint import ivr
from touchpoint.cli.app import (
    ConfigOption,
    CsvOption,
    JsonOption,
    LangOption,
    TopOption,
    WarehouseOption,
    app,
    err_console,
)
from touchpoint.cli.common import Column, open_warehouse, show_rows
from touchpoint.config import Config, load_config
from touchpoint.labels import translate

ivr_app = typer.Typer(
    help="IVR journeys: menu nodes, paths, lost points, the node graph and containment.",
    no_args_is_help=True,
)
app.add_typer(ivr_app, name="ivr")

#: The columns each view shows in the terminal (--json and --csv carry every column).
_COLUMNS: dict[str, tuple[str, ...]] = {
    "nodes": (
        "node_id",
        "parent_node_id",
        "key",
        "depth",
        "n_visits",
        "n_callers",
        "mean_dwell_seconds",
        "median_dwell_seconds",
        "n_exits_self_service_complete",
        "n_exits_hang_up",
        "n_exits_transfer_agent",
        "n_exits_timeout",
        "n_exits_invalid",
        "n_failures",
        "lost_score",
    ),
    "paths": (
        "path_rank",
        "path",
        "n_calls",
        "call_share",
        "n_self_service_complete",
        "n_hang_up",
        "n_transfer_agent",
        "completion_rate",
        "mean_call_seconds",
    ),
    "lost": ivr.LOST_COLUMNS,
    "graph": ("from_node_id", "to_node_id", "n_transitions", "mean_seconds"),
    "containment": (
        "dimension",
        "dimension_value",
        "n_calls",
        "ivr_containment_rate",
        "ivr_verified_containment_rate",
        "mean_self_service_seconds",
    ),
}


#: Columns holding a menu node id, shown with the node's configured name.
NODE_COLUMNS = ("node_id", "parent_node_id", "from_node_id", "to_node_id", "last_node_id")


def _cell(column: str, value: Any, config: Config, lang: str) -> str:
    if value is None:
        return "–"
    if column.endswith(("_rate", "_share")):
        return f"{value:.1%}"
    if column == "lost_score":
        return f"{value:.3f}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    if column in ("dimension", "dimension_value") and value in ("all", "business", "region"):
        return translate(f"ivr.term_{value}", lang)
    if column == "dimension_value":
        named = config.label("business", value, lang)
        return named if named != value else config.label("region", value, lang)
    if column in NODE_COLUMNS:
        name = config.label("ivr_node", value, lang)
        return value if name == value else f"{value} {name}"
    return str(value)


def _show(
    view: str,
    *,
    top: int,
    as_json: bool,
    csv: Path | None,
    warehouse: Path | None,
    config: Path | None,
    lang: str,
    dimension: str | None = None,
) -> None:
    cfg = load_config(config)
    with open_warehouse(warehouse) as con, err_console.status(f"Reading {ivr.VIEWS[view].mart}…"):
        result = ivr.view_rows(con, view, top=top, dimension=dimension)
    show_rows(result, _columns(_COLUMNS[view], cfg, lang), lang=lang, as_json=as_json, csv=csv)


def _header(column: str, lang: str) -> str:
    try:
        return translate(f"ivr.term_{column}", lang)
    except KeyError:  # a column without its own header (a mart built by a newer version)
        return column


def _columns(shown: tuple[str, ...], cfg: Config, lang: str) -> list[Column]:
    columns = []
    for column in shown:
        numeric = column.startswith(("n_", "mean_", "median_")) or column.endswith(
            ("_rate", "_share", "_score", "_rank", "depth")
        )
        columns.append(
            Column(
                column,
                _header(column, lang),
                lambda value, _row, c=column: _cell(c, value, cfg, lang),
                "right" if numeric else "left",
            )
        )
    return columns


@ivr_app.command()
def nodes(
    top: TopOption = 0,
    as_json: JsonOption = False,
    csv: CsvOption = None,
    warehouse: WarehouseOption = None,
    config: ConfigOption = None,
    lang: LangOption = "en",
) -> None:
    """Every menu node: place in the tree, visits, callers, dwell, exits by kind, failures."""
    _show("nodes", top=top, as_json=as_json, csv=csv, warehouse=warehouse, config=config, lang=lang)


@ivr_app.command()
def paths(
    top: TopOption = 20,
    as_json: JsonOption = False,
    csv: CsvOption = None,
    warehouse: WarehouseOption = None,
    config: ConfigOption = None,
    lang: LangOption = "en",
) -> None:
    """The most frequent paths through the menu, with their outcomes."""
    _show("paths", top=top, as_json=as_json, csv=csv, warehouse=warehouse, config=config, lang=lang)


@ivr_app.command()
def lost(
    top: TopOption = 10,
    as_json: JsonOption = False,
    csv: CsvOption = None,
    warehouse: WarehouseOption = None,
    config: ConfigOption = None,
    lang: LangOption = "en",
) -> None:
    """Where callers get lost: nodes ranked by timeouts, invalid keys and wrong turns per visit."""
    _show("lost", top=top, as_json=as_json, csv=csv, warehouse=warehouse, config=config, lang=lang)


@ivr_app.command()
def graph(
    top: TopOption = 30,
    as_json: JsonOption = False,
    csv: CsvOption = None,
    warehouse: WarehouseOption = None,
    config: ConfigOption = None,
    lang: LangOption = "en",
) -> None:
    """The directly-follows graph: which node follows which, how often, after how long."""
    _show("graph", top=top, as_json=as_json, csv=csv, warehouse=warehouse, config=config, lang=lang)


class ContainmentBy(StrEnum):
    all = "all"
    business = "business"
    region = "region"


@ivr_app.command()
def containment(
    by: Annotated[
        ContainmentBy | None,
        typer.Option(
            "--by", help="Only this split (all, business, region); every split if not given."
        ),
    ] = None,
    as_json: JsonOption = False,
    csv: CsvOption = None,
    warehouse: WarehouseOption = None,
    config: ConfigOption = None,
    lang: LangOption = "en",
) -> None:
    """Plain and verified containment and mean self-service time, overall, by business and region."""
    _show(
        "containment",
        top=0,
        as_json=as_json,
        csv=csv,
        warehouse=warehouse,
        config=config,
        lang=lang,
        dimension=None if by is None else by.value,
    )
