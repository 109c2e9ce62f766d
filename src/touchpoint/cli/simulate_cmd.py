"""``touchpoint simulate``: a synthetic operator's source files, with its ground truth apart."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from touchpoint.cli.app import ConfigOption, JsonOption, app, console
from touchpoint.cli.progress import progress_bar
from touchpoint.config import load_config
from touchpoint.simulate import load_params, simulate


@app.command("simulate")
def simulate_command(
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="Folder for the source files (truth goes to OUT/truth/)."),
    ],
    customers: Annotated[
        int, typer.Option("--customers", min=1, help="Customers to simulate.")
    ] = 50_000,
    months: Annotated[int, typer.Option("--months", min=1, max=36, help="Months to simulate.")] = 6,
    seed: Annotated[
        int, typer.Option("--seed", help="Random seed: the same seed gives the same files.")
    ] = 7,
    file_format: Annotated[str, typer.Option("--format", help="parquet or csv.")] = "parquet",
    encoding: Annotated[
        str, typer.Option("--encoding", help="CSV encoding: utf-8 or gbk.")
    ] = "utf-8",
    params: Annotated[
        Path | None, typer.Option("--params", help="YAML overriding the world's parameters.")
    ] = None,
    json_output: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Write the source files of a simulated operator, ready for `touchpoint ingest`."""
    settings, world = load_config(config), load_params(params)
    if json_output:
        result = simulate(
            out,
            customers=customers,
            months=months,
            seed=seed,
            file_format=file_format,
            encoding=encoding,
            config=settings,
            params=world,
        )
        typer.echo(
            json.dumps(
                {
                    "files": {k: str(v) for k, v in result.files.items()},
                    "rows": result.n_rows,
                    "realised": result.realised,
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    with progress_bar("simulating") as on_progress:
        result = simulate(
            out,
            customers=customers,
            months=months,
            seed=seed,
            file_format=file_format,
            encoding=encoding,
            config=settings,
            params=world,
            on_progress=on_progress,
        )
    table = Table(
        title=f"Simulated operator: {customers:,} customers × {months} months (seed {seed})",
        title_justify="left",
    )
    table.add_column("file")
    table.add_column("rows", justify="right")
    for name, path in result.files.items():
        table.add_row(str(path), f"{result.n_rows[name]:,}")
    console.print(table)
    figures = Table(
        title="Realised figures (ground truth in truth/realised.json)", title_justify="left"
    )
    figures.add_column("figure")
    figures.add_column("value", justify="right")
    for key, value in result.realised.items():
        if isinstance(value, float):
            figures.add_row(key, f"{value:.4f}")
    console.print(figures)
