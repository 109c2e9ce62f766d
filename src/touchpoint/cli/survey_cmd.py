"""``touchpoint survey``: survey strategies and satisfaction.

``select`` writes the day's survey list of a strategy file (``docs/quality.md``).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Annotated

import ibis
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import typer

from touchpoint import quality
from touchpoint.cli.app import (
    ConfigOption,
    CsvOption,
    JsonOption,
    LangOption,
    WarehouseOption,
    app,
    console,
)
from touchpoint.cli.common import Column, open_warehouse, print_json, show_rows
from touchpoint.config import load_config
from touchpoint.errors import ConfigError, InputFileError
from touchpoint.labels import text, translate

survey_app = typer.Typer(
    help="Satisfaction surveys: who gets one today, reply rates and CSAT, peak–end.",
    no_args_is_help=True,
)
app.add_typer(survey_app, name="survey")


def _read_customer_ids(path: Path) -> pa.Table:
    """The ``customer_id`` column of a CSV or Parquet file (a do-not-disturb list)."""
    try:
        t = pq.read_table(path) if path.suffix == ".parquet" else pa_csv.read_csv(path)
    except (OSError, pa.ArrowInvalid) as exc:
        raise InputFileError(f"{path}: cannot read the do-not-disturb list: {exc}") from None
    if "customer_id" not in t.column_names:
        raise InputFileError(f"{path}: no customer_id column (columns: {t.column_names})")
    return t.select(["customer_id"]).cast(pa.schema([("customer_id", pa.string())]))


def _parse_day(day: str) -> dt.date:
    try:
        return dt.date.fromisoformat(day)
    except ValueError:
        raise ConfigError(f"--day: {day!r} is not a date YYYY-MM-DD") from None


def _write_atomically(table: pa.Table, out: Path) -> None:
    """Write CSV or Parquet (by suffix) to a temporary file, then rename: nothing half written."""
    tmp = out.with_name(f".{out.name}.tmp")
    if out.suffix == ".parquet":
        pq.write_table(table, tmp)
    else:
        pa_csv.write_csv(table, tmp)
    os.replace(tmp, out)


@survey_app.command()
def select(
    strategy: Annotated[
        Path, typer.Option("--strategy", help="Survey strategy YAML (docs/quality.md).")
    ],
    day: Annotated[str, typer.Option("--day", help="The day, YYYY-MM-DD.")],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Survey list file, .csv or .parquet (default: survey_<id>_<day>.csv)."
        ),
    ] = None,
    do_not_disturb: Annotated[
        Path | None,
        typer.Option("--do-not-disturb", help="CSV/Parquet with a customer_id column."),
    ] = None,
    as_json: JsonOption = False,
    csv: CsvOption = None,
    warehouse: WarehouseOption = None,
    config: ConfigOption = None,
    lang: LangOption = "en",
) -> None:
    """Write the day's survey list of STRATEGY from the warehouse's contacts."""
    load_config(config)
    with open_warehouse(warehouse) as con:
        the_day = _parse_day(day)
        s = quality.load_strategy(strategy)
        dnd = _read_customer_ids(do_not_disturb) if do_not_disturb is not None else None
        tables = set(con.list_tables())
        for needed in ("stg_contacts", "stg_customers"):
            if needed not in tables:
                raise InputFileError(
                    f"{needed}: not in the warehouse; load contacts and customers first "
                    "(touchpoint ingest)"
                )
        selected = quality.select_surveys(
            con.table("stg_contacts"),
            con.table("stg_customers"),
            s,
            the_day,
            past_surveys=con.table("stg_surveys") if "stg_surveys" in tables else None,
            tag_membership=(
                con.table("mart_tag_membership") if "mart_tag_membership" in tables else None
            ),
            do_not_disturb=ibis.memtable(dnd) if dnd is not None else None,
        ).to_pyarrow()
    target = out or Path(f"survey_{s.id}_{the_day.isoformat()}.csv")
    _write_atomically(selected, target)
    summary = pa.table(
        {
            "strategy_id": [s.id],
            "survey_date": [the_day],
            "survey_channel": [s.survey_channel],
            "daily_quota": [s.daily_quota],
            "n_selected": [selected.num_rows],
            "file": [str(target)],
        }
    )
    if as_json:
        print_json(
            {
                "strategy_id": s.id,
                "survey_date": the_day.isoformat(),
                "survey_channel": s.survey_channel,
                "daily_quota": s.daily_quota,
                "n_selected": selected.num_rows,
                "file": str(target),
            }
        )
        if csv is not None:
            pa_csv.write_csv(summary, csv)
        return
    columns = [
        Column(k, translate(f"quality.term_{k}", lang), justify=j)
        for k, j in (
            ("strategy_id", "left"),
            ("survey_date", "left"),
            ("survey_channel", "left"),
            ("daily_quota", "right"),
            ("n_selected", "right"),
            ("file", "left"),
        )
    ]
    show_rows(summary, columns, lang=lang, csv=csv)
    console.print(text("quality.select_written", lang, n=selected.num_rows, file=target))
