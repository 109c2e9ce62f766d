"""``touchpoint report``: the HTML report, in English or Simplified Chinese."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from touchpoint.cli.app import ConfigOption, LangOption, WarehouseOption, app, console
from touchpoint.cli.common import open_warehouse
from touchpoint.config import load_config
from touchpoint.report import write_report


@app.command("report")
def report_command(
    warehouse: WarehouseOption = None,
    config: ConfigOption = None,
    lang: LangOption = "en",
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="HTML file to write [default: report.<lang>.html]."),
    ] = None,
) -> None:
    """Write the self-contained HTML report (opens offline) and print its path."""
    settings = load_config(config)
    with open_warehouse(warehouse) as con:
        path = write_report(con, settings, out or Path(f"report.{lang}.html"), lang=lang)
    console.print(f"report: {path.resolve()}", highlight=False)
