"""``touchpoint simulate``: a synthetic operator's source files, with its ground truth apart."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from touchpoint.cli.app import ConfigOption, JsonOption, LangOption, app, console
from touchpoint.cli.common import said
from touchpoint.cli.progress import progress_bar
from touchpoint.config import load_config
from touchpoint.errors import ConfigError
from touchpoint.simulate import (
    CallRecordSettings,
    continue_world,
    load_params,
    parse_shard,
    simulate,
)
from touchpoint.simulate.world import shard_tag


@app.command("simulate")
def simulate_command(
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Folder for the source files (truth goes to OUT/truth/)."),
    ] = None,
    customers: Annotated[
        int, typer.Option("--customers", min=1, help="Customers to simulate.")
    ] = 50_000,
    months: Annotated[int, typer.Option("--months", min=1, max=36, help="Months to simulate.")] = 6,
    seed: Annotated[
        int, typer.Option("--seed", help="Random seed: the same seed gives the same files.")
    ] = 7,
    file_format: Annotated[str, typer.Option("--format", help="parquet or csv.")] = "parquet",
    encoding: Annotated[
        str,
        typer.Option(
            "--encoding",
            help="CSV encoding: utf-8, gbk (as a GBK export: characters GBK lacks, such as "
            "emoji, become '?') or gb18030.",
        ),
    ] = "utf-8",
    params: Annotated[
        Path | None, typer.Option("--params", help="YAML overriding the world's parameters.")
    ] = None,
    continue_dir: Annotated[
        Path | None,
        typer.Option(
            "--continue",
            help="Extend this simulated world by --months months (same customers and state).",
        ),
    ] = None,
    work_orders: Annotated[
        Path | None,
        typer.Option(
            "--work-orders",
            help="With --continue: CSV or Parquet of work orders whose customers respond "
            "(columns work_order_id, campaign_id, customer_id, action[, channel, sent_at]).",
        ),
    ] = None,
    chunk_size: Annotated[
        int | None,
        typer.Option(
            "--chunk-size",
            min=1,
            help="Customers generated at a time (memory and speed only: any size gives the "
            "same world). Default: the parameters' chunk_size (4096).",
        ),
    ] = None,
    cdr_agents: Annotated[
        int | None,
        typer.Option(
            "--call-records",
            min=1,
            help="Also write call_records: the hotline's calls replayed through a queue of "
            "this many agents, callers hanging up after an exponential patience "
            "(--patience); the other files are unchanged.",
            show_default=False,
        ),
    ] = None,
    patience: Annotated[
        float,
        typer.Option("--patience", min=1.0, help="Mean patience (s) planted in call_records."),
    ] = 90.0,
    shard: Annotated[
        str | None,
        typer.Option(
            "--shard",
            help="Write only shard i of n (i/n, e.g. 2/8): whole chunks of customers, files "
            "named <entity>.shard-i-of-n; the n shards together are the same world as one "
            "run, whatever n, so n machines can generate a province.",
            show_default=False,
        ),
    ] = None,
    json_output: JsonOption = False,
    config: ConfigOption = None,
    lang: LangOption = "en",
) -> None:
    """Write the source files of a simulated operator, ready for `touchpoint ingest`.

    With --continue DIR, extend that world instead: its customers go on for --months more
    months, and those named in --work-orders respond with the planted effect of their action.
    """
    settings = load_config(config)
    try:
        part = None if shard is None else parse_shard(shard)
    except ConfigError:
        raise ConfigError(said("shard_bad", lang, value=shard)) from None
    if part is not None and continue_dir is not None:
        raise ConfigError("--shard applies to a new world; a continued world is not sharded")
    if continue_dir is not None:
        _continue(continue_dir, work_orders, months, settings, json_output, chunk_size, lang)
        return
    if work_orders is not None:
        raise ConfigError("--work-orders applies to a continued world; add --continue DIR")
    if out is None:
        raise ConfigError(
            "say where to write the world with --out DIR (or extend one with --continue DIR)"
        )
    world = (
        load_params(params) if chunk_size is None else load_params(params, chunk_size=chunk_size)
    )
    queue = None if cdr_agents is None else CallRecordSettings(cdr_agents, patience)

    def write_world(on_progress=None):
        return simulate(
            out,
            customers=customers,
            months=months,
            seed=seed,
            file_format=file_format,
            encoding=encoding,
            config=settings,
            params=world,
            call_records=queue,
            on_progress=on_progress,
            shard=part,
        )

    if json_output:
        result = write_world()
        files = {k: str(v) for k, v in result.files.items()}
        summary = {"files": files, "rows": result.n_rows, "realised": result.realised}
        typer.echo(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    with progress_bar(said("simulating", lang)) as on_progress:
        result = write_world(on_progress)
    title, realised = _titles(customers, months, seed, world.chunk_size, part, lang)
    console.print(_files_table(result, title, lang))
    console.print(_realised_table(result, realised, lang))


def _titles(
    customers: int, months: int, seed: int, chunk_size: int, part, lang: str
) -> tuple[str, str]:
    """The titles of the files table and the realised-figures table (of a shard, if any)."""
    if part is None:
        return (
            said("simulated_title", lang, customers=customers, months=months, seed=seed),
            said("realised_title", lang),
        )
    first, last = _shard_customers(customers, chunk_size, part)
    title = said(
        "simulated_shard_title",
        lang,
        index=part[0],
        of=part[1],
        first=first,
        last=last,
        customers=customers,
        months=months,
        seed=seed,
    )
    return title, said("realised_shard_title", lang, tag=shard_tag(*part))


def _realised_table(result, title: str, lang: str) -> Table:
    figures = Table(title=title, title_justify="left")
    figures.add_column(said("col_figure", lang))
    figures.add_column(said("col_value", lang), justify="right")
    for key, value in result.realised.items():
        if isinstance(value, float):
            figures.add_row(key, f"{value:.4f}")
    return figures


def _shard_customers(customers: int, chunk_size: int, part: tuple[int, int]) -> tuple[int, int]:
    """The first and last customer number of shard ``part`` (as :func:`shard_chunks` cuts)."""
    from touchpoint.simulate.world import shard_chunks

    chunks = shard_chunks(customers, chunk_size, part)
    return chunks.start * chunk_size, min(chunks.stop * chunk_size, customers) - 1


def _files_table(result, title: str, lang: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column(said("col_file", lang))
    table.add_column(said("col_rows", lang), justify="right")
    for name, path in result.files.items():
        table.add_row(str(path), f"{result.n_rows[name]:,}")
    return table


def _continue(
    world_dir: Path, work_orders: Path | None, months: int, settings, json_output, chunk_size, lang
):
    if json_output:
        result = continue_world(
            world_dir, work_orders, months=months, config=settings, chunk_size=chunk_size
        )
    else:
        with progress_bar(said("continuing", lang)) as on_progress:
            result = continue_world(
                world_dir,
                work_orders,
                months=months,
                config=settings,
                on_progress=on_progress,
                chunk_size=chunk_size,
            )
    if json_output:
        typer.echo(
            json.dumps(
                {
                    "files": {k: str(v) for k, v in result.files.items()},
                    "rows": result.n_rows,
                    "realised": result.realised,
                    "campaign_effects": result.campaign_effects,
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    title = said("continued_title", lang, world=world_dir, months=months)
    console.print(_files_table(result, title, lang))
    if result.campaign_effects:
        effects = Table(title=said("effects_title", lang), title_justify="left")
        for column in ("campaign", "outcome", "treated", "att", "annoyed"):
            effects.add_column(
                said(f"col_{column}", lang),
                justify="left" if column in ("campaign", "outcome") else "right",
            )
        for campaign, e in result.campaign_effects.items():
            # One row per outcome: a campaign acting on several outcomes has no single ATT.
            for outcome, o in e["by_outcome"].items():
                effects.add_row(
                    campaign,
                    outcome,
                    f"{o['n_treated']:,}",
                    f"{o['att']:+.4f}",
                    f"{e['annoyed_share']:.1%}",
                )
        console.print(effects)
