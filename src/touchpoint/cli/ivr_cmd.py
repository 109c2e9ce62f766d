"""``touchpoint ivr``: the IVR marts in the terminal or as JSON/CSV.

Subcommands ``nodes``, ``paths``, ``lost``, ``graph`` and ``containment`` each read one mart
built by ``touchpoint run`` (steps ``ivr_cubes`` and ``ivr``) and take the options of
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

ivr_app = typer.Typer(
    help="IVR journeys: menu nodes, paths, lost points, the node graph and containment.",
    no_args_is_help=True,
)
app.add_typer(ivr_app, name="ivr")

_HEADERS: dict[str, dict[str, str]] = {
    "en": {
        "node_id": "Node",
        "parent_node_id": "Parent",
        "key": "Key",
        "depth": "Depth",
        "n_visits": "Visits",
        "n_callers": "Callers",
        "mean_dwell_seconds": "Mean dwell (s)",
        "median_dwell_seconds": "Median dwell (s)",
        "n_exits_self_service_complete": "Completed",
        "n_exits_hang_up": "Hung up",
        "n_exits_transfer_agent": "To agent",
        "n_exits_timeout": "Ended on timeout",
        "n_exits_invalid": "Ended on invalid key",
        "n_failures": "Failures",
        "lost_score": "Lost score",
        "lost_rank": "Lost rank",
        "n_timeouts": "Timeouts",
        "n_invalid_keys": "Invalid keys",
        "n_wrong_turns": "Wrong turns",
        "n_backtracks": "Back-tracks",
        "n_loops": "Loops",
        "n_repeated_prompts": "Repeated prompts",
        "n_zero_outs": "Zero-outs",
        "n_abandons": "Abandons",
        "path_rank": "#",
        "path": "Path",
        "n_calls": "Calls",
        "call_share": "Share",
        "n_self_service_complete": "Completed",
        "n_hang_up": "Hung up",
        "n_transfer_agent": "To agent",
        "completion_rate": "Completion",
        "mean_call_seconds": "Mean time (s)",
        "from_node_id": "From",
        "to_node_id": "To",
        "n_transitions": "Transitions",
        "mean_seconds": "Mean time (s)",
        "dimension": "Dimension",
        "dimension_value": "Value",
        "ivr_containment_rate": "Containment",
        "ivr_verified_containment_rate": "Verified containment",
        "mean_self_service_seconds": "Mean self service (s)",
        "all": "All",
        "business": "Business",
        "region": "Region",
    },
    "zh": {
        "node_id": "节点",
        "parent_node_id": "上级节点",
        "key": "按键",
        "depth": "层级",
        "n_visits": "访问次数",
        "n_callers": "来电客户",
        "mean_dwell_seconds": "平均停留(秒)",
        "median_dwell_seconds": "停留中位数(秒)",
        "n_exits_self_service_complete": "自助完成",
        "n_exits_hang_up": "挂机",
        "n_exits_transfer_agent": "转人工",
        "n_exits_timeout": "超时结束",
        "n_exits_invalid": "无效按键结束",
        "n_failures": "失败",
        "lost_score": "迷路指数",
        "lost_rank": "迷路排名",
        "n_timeouts": "超时",
        "n_invalid_keys": "无效按键",
        "n_wrong_turns": "走错",
        "n_backtracks": "返回",
        "n_loops": "重复进入",
        "n_repeated_prompts": "重复播报",
        "n_zero_outs": "转人工",
        "n_abandons": "放弃",
        "path_rank": "#",
        "path": "路径",
        "n_calls": "呼叫数",
        "call_share": "占比",
        "n_self_service_complete": "自助完成",
        "n_hang_up": "挂机",
        "n_transfer_agent": "转人工",
        "completion_rate": "完成率",
        "mean_call_seconds": "平均时长(秒)",
        "from_node_id": "起点",
        "to_node_id": "终点",
        "n_transitions": "转移次数",
        "mean_seconds": "平均时长(秒)",
        "dimension": "维度",
        "dimension_value": "取值",
        "ivr_containment_rate": "IVR截留率",
        "ivr_verified_containment_rate": "验证截留率",
        "mean_self_service_seconds": "平均自助时长(秒)",
        "all": "全部",
        "business": "业务",
        "region": "地区",
    },
}


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
        return _HEADERS[lang][value]
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


def _columns(shown: tuple[str, ...], cfg: Config, lang: str) -> list[Column]:
    headers = _HEADERS[lang]
    columns = []
    for column in shown:
        numeric = column.startswith(("n_", "mean_", "median_")) or column.endswith(
            ("_rate", "_share", "_score", "_rank", "depth")
        )
        columns.append(
            Column(
                column,
                headers.get(column, column),
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
