"""``touchpoint menu``: the IVR menu recommendations in the terminal or as JSON/CSV."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from touchpoint import ivr
from touchpoint.cli.app import (
    ConfigOption,
    CsvOption,
    JsonOption,
    LangOption,
    WarehouseOption,
    app,
    err_console,
)
from touchpoint.cli.common import Column, open_warehouse, show_rows
from touchpoint.config import Config, load_config
from touchpoint.labels import format_money, format_number, translate


class Kind(StrEnum):
    promote = "promote"
    merge = "merge"
    drop = "drop"
    fix = "fix"


_COLUMNS = (
    ("rank", "menu.col_rank"),
    ("kind", "menu.col_kind"),
    ("node_id", "menu.col_node"),
    ("proposal", "menu.col_proposal"),
    ("n_calls_per_month", "menu.col_calls"),
    ("est_caller_seconds_saved_per_month", "menu.col_seconds"),
    ("est_transfers_avoided_per_month", "menu.col_transfers"),
    ("est_cost_saved_yuan_per_month", "menu.col_cost"),
)


def _node(node_id: str, cfg: Config, lang: str) -> str:
    name = cfg.label("ivr_node", node_id, lang)
    return node_id if name == node_id else f"{node_id} {name}"


def _columns(cfg: Config, lang: str) -> list[Column]:
    cells = {
        "rank": lambda v, _row: str(v),
        "kind": lambda v, _row: translate(f"menu.kind_{v}", lang),
        "node_id": lambda v, _row: _node(v, cfg, lang),
        "proposal": lambda _v, row: ivr.proposal_text(row, lang),
        "n_calls_per_month": lambda v, _row: format_number(v, lang),
        "est_caller_seconds_saved_per_month": lambda v, _row: format_number(v, lang),
        "est_transfers_avoided_per_month": lambda v, _row: format_number(v, lang, 1),
        "est_cost_saved_yuan_per_month": lambda v, _row: format_money(v, lang),
    }
    return [
        Column(
            column,
            translate(key, lang),
            cells[column],
            "left" if column in ("kind", "node_id", "proposal") else "right",
        )
        for column, key in _COLUMNS
    ]


@app.command("menu")
def menu(
    kind: Annotated[
        Kind | None, typer.Option("--kind", help="Only recommendations of this kind.")
    ] = None,
    top: Annotated[int, typer.Option("--top", min=0, help="Only the first N (0: all).")] = 20,
    as_json: JsonOption = False,
    csv: CsvOption = None,
    warehouse: WarehouseOption = None,
    config: ConfigOption = None,
    lang: LangOption = "en",
) -> None:
    """IVR menu changes ranked by estimated benefit per month (from `touchpoint run`'s mart)."""
    cfg = load_config(config)  # a bad configuration file is reported like everywhere else
    with open_warehouse(warehouse) as con, err_console.status("Reading menu recommendations…"):
        result = ivr.recommendation_rows(con, kind=None if kind is None else kind.value, top=top)
    show_rows(
        result,
        _columns(cfg, lang),
        lang=lang,
        as_json=as_json,
        csv=csv,
        empty=translate("menu.none", lang),
    )
