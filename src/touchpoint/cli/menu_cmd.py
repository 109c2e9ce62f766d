"""``touchpoint menu``: the IVR menu recommendations in the terminal or as JSON/CSV."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import typer
from rich.table import Table

from touchpoint.cli.app import (
    ConfigOption,
    JsonOption,
    LangOption,
    WarehouseOption,
    app,
    console,
    err_console,
)
from touchpoint.config import Config, load_config
from touchpoint.ivr import RECOMMENDATIONS_MART
from touchpoint.report.i18n import check_lang, format_money, format_number, translate
from touchpoint.report.sections.menu import proposal_text
from touchpoint.warehouse import connect, read_table


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


def _cells(row: dict[str, Any], lang: str, cfg: Config) -> list[str]:
    name = cfg.label("ivr_node", row["node_id"], lang)
    return [
        str(row["rank"]),
        translate(f"menu.kind_{row['kind']}", lang),
        row["node_id"] if name == row["node_id"] else f"{row['node_id']} {name}",
        proposal_text(row, lang),
        format_number(row["n_calls_per_month"], lang),
        format_number(row["est_caller_seconds_saved_per_month"], lang),
        format_number(row["est_transfers_avoided_per_month"], lang, 1),
        format_money(row["est_cost_saved_yuan_per_month"], lang),
    ]


@app.command("menu")
def menu(
    kind: Annotated[
        Kind | None, typer.Option("--kind", help="Only recommendations of this kind.")
    ] = None,
    top: Annotated[int, typer.Option("--top", min=0, help="Only the first N (0: all).")] = 20,
    as_json: JsonOption = False,
    csv: Annotated[
        Path | None, typer.Option("--csv", help="Also write the rows to this CSV file.")
    ] = None,
    warehouse: WarehouseOption = None,
    config: ConfigOption = None,
    lang: LangOption = "en",
) -> None:
    """IVR menu changes ranked by estimated benefit per month (from `touchpoint run`'s mart)."""
    check_lang(lang)
    cfg = load_config(config)  # a bad configuration file is reported like everywhere else
    con = connect(warehouse, read_only=True)
    try:
        with err_console.status("Reading menu recommendations…"):
            rows_expr = read_table(con, RECOMMENDATIONS_MART)
            if kind is not None:
                rows_expr = rows_expr.filter(rows_expr.kind == kind.value)
            rows_expr = rows_expr.order_by("rank")
            if top:
                rows_expr = rows_expr.limit(top)
            result: pa.Table = rows_expr.to_pyarrow()
    finally:
        con.disconnect()
    if csv is not None:
        pa_csv.write_csv(result, csv)
    rows = result.to_pylist()
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return
    table = Table(header_style="bold")
    for column, key in _COLUMNS:
        justify = "left" if column in ("kind", "node_id", "proposal") else "right"
        table.add_column(translate(key, lang), justify=justify)
    for row in rows:
        table.add_row(*_cells(row, lang, cfg))
    console.print(table)
    if not rows:
        console.print(translate("menu.none", lang))
    if csv is not None:
        console.print(f"{len(rows):,} rows written to {csv}")
