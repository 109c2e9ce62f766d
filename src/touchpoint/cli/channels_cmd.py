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
from touchpoint.labels import INVALID_TEXT, is_invalid


class Dimension(StrEnum):
    region = "region"
    brand = "brand"
    value_tier = "value_tier"
    business = "business"


class PeriodChoice(StrEnum):
    day = "day"
    week = "week"
    month = "month"


_HEADERS = {
    "en": {
        "period_start": "Period",
        "channel": "Channel",
        "n_contacts": "Contacts",
        "n_customers": "Customers",
        "contacts_per_customer": "Per customer",
        "contact_share": "Contact share",
        "customer_share": "Reach",
        "cost_yuan": "Cost (yuan)",
        "self_service_share": "Self-service share",
        "n_contacts_change_rate": "Δ contacts",
        "all": "All",
        "key": "Figure",
        "value": "Value",
    },
    "zh": {
        "period_start": "周期",
        "channel": "渠道",
        "n_contacts": "接触量",
        "n_customers": "客户数",
        "contacts_per_customer": "人均接触",
        "contact_share": "接触占比",
        "customer_share": "客户覆盖",
        "cost_yuan": "成本(元)",
        "self_service_share": "自助占比",
        "n_contacts_change_rate": "接触环比",
        "all": "全部",
        "key": "指标",
        "value": "数值",
    },
}
_DIMENSION_NAMES = {
    "en": {
        "region": "Region",
        "brand": "Brand",
        "value_tier": "Value tier",
        "business": "Business",
    },
    "zh": {"region": "地区", "brand": "品牌", "value_tier": "客户等级", "business": "业务"},
}


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
    headers = _HEADERS[lang]

    def right(key: str, cell) -> Column:
        return Column(key, headers[key], lambda v, _row: cell(v), "right")

    columns = [Column("period_start", headers["period_start"], lambda v, _row: v.isoformat())]
    if by:
        columns.append(
            Column(
                "dimension_value",
                _DIMENSION_NAMES[lang][by],
                lambda v, _row: _label(config, by, v, lang),
            )
        )
    return [
        *columns,
        Column("channel", headers["channel"], lambda v, _row: _label(config, "channel", v, lang)),
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
    load_config(config)  # checked like everywhere else; the figures need no setting
    with open_warehouse(warehouse) as con:
        document = headline(con)
    if as_json:
        print_json(document)
        return
    headers = _HEADERS[lang]
    table = Table(header_style="bold")
    table.add_column(headers["key"])
    table.add_column(headers["value"], justify="right")
    for key, value in document.items():
        if isinstance(value, dict):
            for sub_key, sub_value in value.items():
                # escape: Rich would read "[chengdu]" as a style tag and drop it
                table.add_row(escape(f"{key}[{sub_key}]"), _format_value(key, sub_value))
        else:
            table.add_row(key, _format_value(key, value))
    console.print(table)


def _format_value(key: str, value: Any) -> str:
    if value is None:
        return "–"
    if is_invalid(value) or (isinstance(value, float) and math.isnan(value)):
        return INVALID_TEXT["en"]
    if "rate" in key and isinstance(value, float):
        return _percent(value)
    if isinstance(value, float):
        return f"{value:,.3f}" if "per_" in key else f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
