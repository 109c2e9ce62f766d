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
from rich.console import RenderableType
from rich.table import Table

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
from touchpoint.cli.customer_cmd import CARD_SECTIONS, CardContext, CardSection
from touchpoint.config import load_config
from touchpoint.errors import ConfigError, InputFileError
from touchpoint.labels import text, translate


def _collect_surveys(ctx: CardContext) -> list[dict] | None:
    rows = quality.customer_surveys(ctx.con, ctx.customer_id)
    if rows is None:
        return None
    return [
        {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in r.items()}
        for r in rows.to_pylist()
    ]


def _render_surveys(data: list[dict], ctx: CardContext) -> RenderableType:
    if not data:
        return ctx.t("none")
    table = Table(header_style="bold", box=None)
    for key in ("survey_date", "survey_channel", "contact_channel", "reply", "reply_class"):
        table.add_column(translate(f"quality.card_{key}", ctx.lang), overflow="fold")
    for r in data:
        table.add_row(
            ctx.date(r["sent_at"], 16),
            ctx.label("survey_channel", r["survey_channel"]),
            ctx.label("channel", r["contact_channel"]),
            "–" if r["reply_text"] is None else (r["reply_text"] or '""'),
            "–"
            if r["reply_class"] is None
            else translate(f"quality.class_{r['reply_class']}", ctx.lang),
        )
    return table


# The customer card shows the customer's latest survey replies.
CARD_SECTIONS.append(CardSection("recent_surveys", _collect_surveys, _render_surveys))

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
    cfg = load_config(config)
    with open_warehouse(warehouse) as con:
        the_day = _parse_day(day)
        s = quality.load_strategy(strategy, cfg)
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


def _mart_columns(names: tuple[str, ...], lang: str) -> list[Column]:
    def cell(value) -> str:
        if isinstance(value, float):
            return f"{value:.3f}"
        if isinstance(value, int):
            return f"{value:,}"
        return str(value)

    return [
        Column(
            n,
            translate(f"quality.term_{n}", lang),
            lambda v, _row: cell(v),
            "right"
            if n.startswith(
                ("n_", "csat", "reply", "unclass", "coef", "std", "ci_", "odds", "bad_")
            )
            else "left",
        )
        for n in names
    ]


@survey_app.command()
def csat(
    by_contact_channel: Annotated[
        bool, typer.Option("--by-contact-channel", help="Per survey × contact channel.")
    ] = False,
    as_json: JsonOption = False,
    csv: CsvOption = None,
    warehouse: WarehouseOption = None,
    config: ConfigOption = None,
    lang: LangOption = "en",
) -> None:
    """Reply rates, unclassified share and CSAT (plain with Wilson interval, and weighted)."""
    with open_warehouse(warehouse) as con:
        if by_contact_channel:
            result = quality.reply_rates(con)
            shown = (
                "survey_channel",
                "strategy_id",
                "contact_channel",
                "n_sent",
                "reply_rate",
                "unclassified_share",
                "csat",
                "csat_low",
                "csat_high",
            )
        else:
            result = quality.satisfaction_by_month(con)
            shown = (
                "survey_channel",
                "month",
                "n_sent",
                "reply_rate",
                "unclassified_share",
                "csat",
                "csat_low",
                "csat_high",
                "csat_weighted",
                "csat_weighted_low",
                "csat_weighted_high",
            )
    show_rows(result, _mart_columns(shown, lang), lang=lang, as_json=as_json, csv=csv)


@survey_app.command("peak-end")
def peak_end(
    sources: Annotated[
        bool, typer.Option("--sources", help="Where bad peaks come from instead of the model.")
    ] = False,
    as_json: JsonOption = False,
    csv: CsvOption = None,
    warehouse: WarehouseOption = None,
    config: ConfigOption = None,
    lang: LangOption = "en",
) -> None:
    """The peak-end model's effects, or the channels, businesses and nodes of bad peaks."""
    with open_warehouse(warehouse) as con:
        if sources:
            result = quality.bad_peak_places(con)
            shown = ("dimension", "value", "n_contacts", "bad_peak_share", "csat", "csat_bad_peak")
        else:
            result = quality.peak_end_effects(con)
            shown = (
                "term",
                "coefficient",
                "std_error",
                "ci_low",
                "ci_high",
                "odds_ratio",
                "n_replies",
            )
    show_rows(result, _mart_columns(shown, lang), lang=lang, as_json=as_json, csv=csv)
