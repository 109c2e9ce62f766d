"""``touchpoint channels`` and ``touchpoint kpis``: the channel marts in the terminal or as JSON/CSV."""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from touchpoint.channels import channel_kpi_rows, headline
from touchpoint.cli.app import (
    ConfigOption,
    CsvOption,
    JsonOption,
    LangOption,
    WarehouseOption,
    app,
    console,
    err_console,
)
from touchpoint.cli.common import Column, open_warehouse, print_json, show_rows
from touchpoint.config import Config, load_config
from touchpoint.labels import INVALID_TEXT, is_invalid, translate


class Dimension(StrEnum):
    region = "region"
    brand = "brand"
    value_tier = "value_tier"
    business = "business"


class PeriodChoice(StrEnum):
    day = "day"
    week = "week"
    month = "month"


def _percent(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:+.1%}" if signed else f"{value:.1%}"


def _label(config: Config, vocabulary: str | None, value: str, lang: str) -> str:
    if vocabulary is None:
        return value
    try:
        return config.label(vocabulary, value, lang)
    except KeyError:
        return value


def _channel_columns(by: str | None, config: Config, lang: str) -> list[Column]:
    def header(key: str) -> str:
        return translate(f"channels.term_{key}", lang)

    def right(key: str, cell) -> Column:
        return Column(key, header(key), lambda v, _row: cell(v), "right")

    columns = [Column("period_start", header("period_start"), lambda v, _row: v.isoformat())]
    if by:
        columns.append(
            Column(
                "dimension_value",
                header(f"dimension_{by}"),
                lambda v, _row: _label(config, by, v, lang),
            )
        )
    return [
        *columns,
        Column("channel", header("channel"), lambda v, _row: _label(config, "channel", v, lang)),
        right("n_contacts", lambda v: f"{v:,}"),
        right("n_customers", lambda v: f"{v:,}"),
        right("contacts_per_customer", lambda v: f"{v:.2f}"),
        right("contact_share", _percent),
        right("customer_share", _percent),
        right("cost_yuan", lambda v: f"{v:,.2f}" if v is not None else "–"),
        right("self_service_share", _percent),
        right("n_contacts_change_rate", lambda v: _percent(v, signed=True)),
    ]


@app.command()
def channels(
    by: Annotated[
        Dimension | None, typer.Option("--by", help="Split by this dimension as well as channel.")
    ] = None,
    period: Annotated[
        PeriodChoice, typer.Option("--period", help="Length of a period (by contact start).")
    ] = PeriodChoice.month,
    last: Annotated[
        int, typer.Option("--last", min=0, help="Only the last N periods (0: every period).")
    ] = 3,
    as_json: JsonOption = False,
    csv: CsvOption = None,
    warehouse: WarehouseOption = None,
    config: ConfigOption = None,
    lang: LangOption = "en",
) -> None:
    """Contacts, customers, cost and mix by channel and period (from `touchpoint run`'s marts)."""
    cfg = load_config(config)
    dimension = by.value if by else None
    with open_warehouse(warehouse) as con, err_console.status("Computing channel KPIs…"):
        result = channel_kpi_rows(con, cfg, period.value, dimension, last)
    show_rows(result, _channel_columns(dimension, cfg, lang), lang=lang, as_json=as_json, csv=csv)


@app.command()
def kpis(
    as_json: JsonOption = False,
    warehouse: WarehouseOption = None,
    config: ConfigOption = None,
    lang: LangOption = "en",
) -> None:
    """Headline figures (docs/metrics.md names), merged with the IVR's when `mart_ivr_kpis` exists."""
    with open_warehouse(warehouse) as con:
        document = headline(con)
    if as_json:
        print_json(document)
        return
    table = Table(header_style="bold")
    table.add_column(translate("channels.term_key", lang))
    table.add_column(translate("channels.term_value", lang), justify="right")
    for key, value in document.items():
        if isinstance(value, dict):
            for sub_key, sub_value in value.items():
                # escape: Rich would read "[chengdu]" as a style tag and drop it
                table.add_row(escape(f"{key}[{sub_key}]"), _format_value(key, sub_value, lang))
        else:
            table.add_row(key, _format_value(key, value, lang))
    console.print(table)


def _format_value(key: str, value: Any, lang: str) -> str:
    if value is None:
        return "–"
    if is_invalid(value) or (isinstance(value, float) and math.isnan(value)):
        return INVALID_TEXT[lang]
    if "rate" in key and isinstance(value, float):
        return _percent(value)
    if isinstance(value, float):
        return f"{value:,.3f}" if "per_" in key else f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
