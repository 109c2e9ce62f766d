"""The Typer application and the options every command shares."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(
    name="touchpoint",
    help="Multi-channel customer-service analytics for mobile operators.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

console = Console()
err_console = Console(stderr=True)

# Options shared by every command, declared once so their names and help never drift apart.
WarehouseOption = Annotated[
    Path | None,
    typer.Option(
        "--warehouse",
        "-w",
        help="DuckDB warehouse file (default: $TOUCHPOINT_WAREHOUSE, else ./touchpoint.duckdb).",
        show_default=False,
    ),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Configuration YAML (default: $TOUCHPOINT_CONFIG, else the built-in defaults).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON for scripts.")]
LangOption = Annotated[str, typer.Option("--lang", help="Language of labels: en or zh.")]
