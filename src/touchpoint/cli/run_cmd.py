"""``touchpoint run``: every analytics step whose inputs exist, results written to the warehouse."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from rich.table import Table

from touchpoint.cli.app import ConfigOption, LangOption, WarehouseOption, app, console
from touchpoint.cli.common import open_warehouse
from touchpoint.cli.progress import progress_bar
from touchpoint.config import load_config
from touchpoint.errors import PipelineError
from touchpoint.labels import text
from touchpoint.pipeline import run_pipeline, select_steps, spark_settings_from_config


class Engine(StrEnum):
    duckdb = "duckdb"
    spark = "spark"


@app.command("run")
def run_command(
    warehouse: WarehouseOption = None,
    config: ConfigOption = None,
    engine: Annotated[
        Engine,
        typer.Option(
            help="duckdb (this machine) or spark (the `spark:` section of the configuration: "
            "master, settings; needs pip install 'touchpoint[spark]')"
        ),
    ] = Engine.duckdb,
    step: Annotated[
        list[str] | None,
        typer.Option(
            "--step",
            help="Run only these steps (repeat, or separate by commas); the tables they read "
            "are taken from the warehouse. Default: every step.",
        ),
    ] = None,
    lang: LangOption = "en",
) -> None:
    """Run every analytics step whose input tables exist and write its marts to the warehouse."""
    settings = load_config(config)
    names = [name.strip() for value in step or () for name in value.split(",") if name.strip()]
    steps = select_steps(names) if names else None
    if steps is not None and engine is Engine.spark:
        raise PipelineError("--step runs on the duckdb engine only; a Spark run runs every step")
    with (
        open_warehouse(warehouse, write=True) as con,
        progress_bar(text("commands.running", lang)) as on_progress,
    ):
        if engine is Engine.spark:
            from touchpoint.pipeline.spark import run_pipeline_spark

            spark = spark_settings_from_config(settings)
            results = run_pipeline_spark(
                con, settings, master=spark.master, conf=spark.conf, on_progress=on_progress
            )
        else:
            results = run_pipeline(con, settings, steps=steps, on_progress=on_progress)
        published = _publish(con)
    table = Table(title=text("commands.pipeline_title", lang), title_justify="left")
    for name, justify in (
        ("step", "left"),
        ("tables", "left"),
        ("rows", "right"),
        ("seconds", "right"),
        ("cpu_seconds", "right"),
        ("peak_mb", "right"),
    ):
        table.add_column(text(f"commands.col_{name}", lang), justify=justify)  # type: ignore[arg-type]
    for r in results:
        if r.ran:
            table.add_row(
                r.step,
                "\n".join(r.tables),
                "\n".join(f"{n:,}" for n in r.tables.values()),
                f"{r.seconds:.1f}",
                "" if r.cpu_seconds is None else f"{r.cpu_seconds:.1f}",
                "" if r.peak_mb is None else f"{r.peak_mb:,.0f}",
            )
        else:
            skipped = text("commands.skipped", lang, reason=r.skipped_reason)
            table.add_row(r.step, f"[dim]{skipped}[/]", "", "", "", "")
    console.print(table)
    if published is not None:
        snapshot, seconds = published
        console.print(
            text("commands.published", lang, snapshot=snapshot, seconds=seconds), highlight=False
        )


def _publish(con) -> tuple[str, float] | None:
    """Publish the finished warehouse for `touchpoint serve` (still holding the writer)."""
    import time

    from touchpoint.platform import publish_snapshot
    from touchpoint.warehouse import database_path

    if database_path(con) is None:  # :memory:
        return None
    started = time.perf_counter()
    path = publish_snapshot(con)
    return str(path), time.perf_counter() - started
