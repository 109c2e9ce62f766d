"""``touchpoint ingest`` and ``touchpoint quarantine``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

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
from touchpoint.cli.common import open_warehouse, said
from touchpoint.cli.progress import progress_bar
from touchpoint.config import load_config
from touchpoint.ingest import FileSummary, ingest, load_profile, quarantined

TOP_REASONS = 3


def _top_reasons(summary: FileSummary, lang: str) -> str:
    items = sorted(summary.quarantined_by_reason.items(), key=lambda kv: (-kv[1], kv[0]))
    shown = [f"{reason} {n:,}" for reason, n in items[:TOP_REASONS]]
    if len(items) > TOP_REASONS:
        shown.append(said("more_reasons", lang, n=len(items) - TOP_REASONS))
    return "\n".join(shown)


_STATUS_STYLE = {
    "loaded": "green",
    "replaced": "cyan",
    "unchanged": "dim",
    "failed": "bold red",
    "skipped": "yellow",
}


def _summary_table(summaries: list[FileSummary], lang: str) -> Table:
    table = Table(title=said("ingest_title", lang), title_justify="left")
    table.add_column(said("col_file", lang), overflow="fold")
    table.add_column(said("col_entity", lang))
    table.add_column(said("col_status", lang))
    for name in ("read", "loaded", "quarantined"):
        table.add_column(said(f"col_{name}", lang), justify="right")
    table.add_column(said("col_top_reasons", lang), no_wrap=True)
    for s in summaries:
        style = _STATUS_STYLE.get(s.status, "")
        table.add_row(
            Path(s.path).name,  # the full path is in the notes below and in --json
            s.entity or "?",
            f"[{style}]{said(f'status_{s.status}', lang)}[/]",
            f"{s.n_read:,}",
            f"{s.n_loaded:,}",
            f"{s.n_quarantined:,}",
            _top_reasons(s, lang),
        )
    return table


def _notes(summaries: list[FileSummary], lang: str) -> None:
    for s in summaries:
        if s.ignored_columns:
            columns = ", ".join(s.ignored_columns)
            console.print(
                said("ignored_columns", lang, path=s.path, columns=columns), highlight=False
            )
        if s.message:
            console.print(f"{s.path}: {s.message}", highlight=False)
    for s in summaries:
        if s.error:
            err_console.print(f"[bold red]error:[/] {s.error}", highlight=False, soft_wrap=True)


@app.command("ingest")
def ingest_command(
    paths: Annotated[
        list[Path], typer.Argument(help="Source files or folders to load.", show_default=False)
    ],
    entity: Annotated[
        str | None,
        typer.Option(
            "--entity",
            "-e",
            help="Entity of every file, instead of guessing it from the file name.",
        ),
    ] = None,
    encoding: Annotated[
        str | None,
        typer.Option(
            "--encoding", help="Encoding of every CSV (e.g. gbk), instead of detecting it."
        ),
    ] = None,
    batch_rows: Annotated[
        int | None,
        typer.Option(
            "--batch-rows",
            help="Rows read, checked and stored at a time; memory grows with it, not with "
            "the file. Default: TOUCHPOINT_INGEST_BATCH_ROWS, else 1,000,000.",
            show_default=False,
        ),
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            min=1,
            help="Files read and checked at once, each in its own process; each still "
            "commits on its own, in order. Default: one per core.",
            show_default=False,
        ),
    ] = None,
    profile: Annotated[
        Path | None,
        typer.Option(
            "--profile",
            "-p",
            help="Ingest profile (YAML) mapping an export onto an entity: column renames, "
            "date and time columns combined, the export's formats, placeholders read as "
            "missing, its codes mapped onto the vocabularies. See docs/capacity.md.",
            show_default=False,
        ),
    ] = None,
    json_output: JsonOption = False,
    warehouse: WarehouseOption = None,
    config: ConfigOption = None,
    lang: LangOption = "en",
) -> None:
    """Validate source files and load them; bad rows go to the quarantine with their reasons.

    Exit code 0 when every file was processed (quarantined rows are normal), 1 when a file
    could not be read at all (unknown entity, unreadable file).
    """
    settings = load_config(config)
    mapping = load_profile(profile, settings) if profile is not None else None
    with open_warehouse(warehouse, write=True) as con:
        options = {"config": settings, "entity": entity, "encoding": encoding}
        options |= {"profile": mapping}
        options |= {"batch_rows": batch_rows, "jobs": jobs}
        summaries = _ingest(con, paths, options, json_output, lang)
    if any(s.status == "failed" for s in summaries):
        raise typer.Exit(1)


def _ingest(con, paths, options, json_output, lang) -> list[FileSummary]:
    if json_output:
        summaries = ingest(con, paths, **options)
        typer.echo(json.dumps([s.to_dict() for s in summaries], ensure_ascii=False, indent=2))
    else:
        with progress_bar(said("ingesting", lang)) as on_progress:
            summaries = ingest(con, paths, on_progress=on_progress, **options)
        console.print(_summary_table(summaries, lang))
        _notes(summaries, lang)
    return summaries


@app.command("quarantine")
def quarantine_command(
    file: Annotated[
        Path | None,
        typer.Option("--file", help="Only rows of this file (full path or its ending)."),
    ] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Only this reason, e.g. bad_type.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Show at most this many rows.")] = 50,
    json_output: JsonOption = False,
    warehouse: WarehouseOption = None,
    config: ConfigOption = None,
    lang: LangOption = "en",
) -> None:
    """Show quarantined rows: file, row, line, column, reason and the value seen."""
    with open_warehouse(warehouse) as con:
        rows, total = quarantined(con, path=file, reason=reason, limit=limit)
    if json_output:
        columns = ["path", "entity", "row", "line", "column", "reason", "value", "record"]
        typer.echo(json.dumps(rows.select(columns).to_pylist(), ensure_ascii=False, indent=2))
        return
    if total == 0:
        console.print(
            said("quarantine_none_matches" if file or reason else "quarantine_none", lang)
        )
        return
    title = said("quarantine_title", lang, shown=min(limit, total), total=total)
    table = Table(title=title, title_justify="left")
    for name, justify in (
        ("file", "left"),
        ("row", "right"),
        ("line", "right"),
        ("column", "left"),
        ("reason", "left"),
        ("value", "left"),
    ):
        table.add_column(said(f"col_{name}", lang), justify=justify, overflow="fold")  # type: ignore[arg-type]
    for row in rows.to_pylist():
        table.add_row(
            Path(row["path"]).name,
            str(row["row"]),
            "" if row["line"] is None else str(row["line"]),
            row["column"] or "",
            row["reason"],
            row["value"] or "",
        )
    console.print(table)
    if total > limit:
        console.print(said("quarantine_more", lang, n=total - limit))
