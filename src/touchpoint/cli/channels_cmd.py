"""``touchpoint channels`` and ``touchpoint kpis``: the channel marts in the terminal or as JSON/CSV."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import ibis
import pyarrow as pa
import pyarrow.csv as pa_csv
import typer
from rich.markup import escape
from rich.table import Table

from touchpoint.channels import (
    ESCALATION_MARTS,
    KPI_MARTS,
    KPIS_MART,
    TOTALS_MART,
    VOLUME_CUBE,
    headline_document,
    kpis_for,
)
from touchpoint.cli.app import (
    ConfigOption,
    JsonOption,
    LangOption,
    WarehouseOption,
    app,
    console,
    err_console,
)
from touchpoint.config import Config, load_config
from touchpoint.warehouse import connect, read_table

IVR_KPIS_MART = "mart_ivr_kpis"


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


def _kpi_rows(con: Any, cfg: Config, period: str, by: str | None) -> ibis.Table:
    """The KPI rows of one period and dimension: from the mart, or computed if it lacks them."""
    dimension = by or "all"
    mart = read_table(con, KPI_MARTS[period])
    rows = mart.filter(mart.dimension == dimension)
    if by is None or rows.count().to_pyarrow().as_py() > 0:
        return rows
    present = set(con.list_tables())
    tables = {name: read_table(con, name) for name in (VOLUME_CUBE, "stg_contacts")}
    if "stg_customers" in present:
        tables["stg_customers"] = con.table("stg_customers")
    return kpis_for(tables, cfg, period, by)


def _select_periods(rows: ibis.Table, last: int) -> ibis.Table:
    if last:
        recent = rows.select("period_start").distinct().order_by(ibis.desc("period_start"))
        cutoff = recent.limit(last).period_start.min()
        rows = rows.filter(rows.period_start >= cutoff.as_scalar())
    return rows.order_by(["period_start", "dimension_value", ibis.desc("n_contacts"), "channel"])


def _channels_table(rows: list[dict[str, Any]], by: str | None, config: Config, lang: str) -> Table:
    headers = _HEADERS.get(lang, _HEADERS["en"])
    table = Table(show_lines=False, header_style="bold")
    table.add_column(headers["period_start"])
    if by:
        table.add_column(_DIMENSION_NAMES.get(lang, _DIMENSION_NAMES["en"])[by])
    for key in (
        "channel",
        "n_contacts",
        "n_customers",
        "contacts_per_customer",
        "contact_share",
        "customer_share",
        "cost_yuan",
        "self_service_share",
        "n_contacts_change_rate",
    ):
        table.add_column(headers[key], justify="left" if key == "channel" else "right")
    for r in rows:
        cells = [r["period_start"].isoformat()]
        if by:
            cells.append(_label(config, by, r["dimension_value"], lang))
        cells += [
            _label(config, "channel", r["channel"], lang),
            f"{r['n_contacts']:,}",
            f"{r['n_customers']:,}",
            f"{r['contacts_per_customer']:.2f}",
            _percent(r["contact_share"]),
            _percent(r["customer_share"]),
            f"{r['cost_yuan']:,.2f}" if r["cost_yuan"] is not None else "–",
            _percent(r["self_service_share"]),
            _percent(r["n_contacts_change_rate"], signed=True),
        ]
        table.add_row(*cells)
    return table


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
    csv: Annotated[
        Path | None, typer.Option("--csv", help="Also write the rows to this CSV file.")
    ] = None,
    warehouse: WarehouseOption = None,
    config: ConfigOption = None,
    lang: LangOption = "en",
) -> None:
    """Contacts, customers, cost and mix by channel and period (from `touchpoint run`'s marts)."""
    cfg = load_config(config)
    con = connect(warehouse, read_only=True)
    try:
        with err_console.status("Computing channel KPIs…"):
            rows_expr = _kpi_rows(con, cfg, period.value, by.value if by else None)
            result: pa.Table = _select_periods(rows_expr, last).to_pyarrow()
    finally:
        con.disconnect()
    if csv is not None:
        pa_csv.write_csv(result, csv)
    rows = result.to_pylist()
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return
    console.print(_channels_table(rows, by.value if by else None, cfg, lang))
    if csv is not None:
        console.print(f"{len(rows):,} rows written to {csv}")


@app.command()
def kpis(
    as_json: JsonOption = False,
    warehouse: WarehouseOption = None,
    lang: LangOption = "en",
) -> None:
    """Headline figures (docs/metrics.md names), merged with the IVR's when `mart_ivr_kpis` exists."""
    con = connect(warehouse, read_only=True)
    try:
        present = set(con.list_tables())

        def optional(name: str) -> ibis.Table | None:
            return con.table(name) if name in present else None

        document = headline_document(
            read_table(con, KPIS_MART),
            escalation_by_region=optional(ESCALATION_MARTS["region"]),
            totals=optional(TOTALS_MART),
            ivr_kpis=optional(IVR_KPIS_MART),
        )
    finally:
        con.disconnect()
    if as_json:
        typer.echo(json.dumps(document, ensure_ascii=False, indent=2))
        return
    headers = _HEADERS.get(lang, _HEADERS["en"])
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
    if "rate" in key and isinstance(value, float):
        return _percent(value)
    if isinstance(value, float):
        return f"{value:,.3f}" if "per_" in key else f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
