"""What every command shares: opening the warehouse, and showing a result as a table, JSON or CSV.

A command that shows a query result is a few lines::

    @app.command()
    def things(as_json: JsonOption = False, csv: CsvOption = None,
               warehouse: WarehouseOption = None, lang: LangOption = "en") -> None:
        with open_warehouse(warehouse) as con:
            result = read_things(con)           # a pyarrow table from the capability
        show_rows(result, [Column("thing_id", "Thing"), Column("n", "Count", format_count)],
                  as_json=as_json, csv=csv)
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.csv as pa_csv
import typer
from ibis.backends.duckdb import Backend
from rich.table import Table

from touchpoint.cli.app import console
from touchpoint.labels import (
    INVALID,
    format_number,
    format_percent,
    format_value,
    is_invalid,
    text,
    to_rows,
)
from touchpoint.warehouse import connect, resolve_warehouse_path


@contextmanager
def open_warehouse(
    path: Path | None, *, write: bool = False, optional: bool = False
) -> Iterator[Backend | None]:
    """The warehouse for one command, closed when the command is done.

    Readers open it read-only (the file must exist: a missing one is one clear error);
    ``write=True`` opens it for writing, creating it if needed. ``optional=True`` yields
    ``None`` instead of failing when there is no warehouse to read (e.g. ``tags list`` shows
    the catalogue alone).
    """
    resolved = resolve_warehouse_path(path)
    if optional and not write and resolved != ":memory:" and not Path(resolved).exists():
        yield None
        return
    con = connect(path, read_only=not write)
    try:
        yield con
    finally:
        con.disconnect()


def _json_default(value: Any) -> Any:
    return None if value is INVALID else str(value)


def _finite(value: Any) -> Any:
    """The value with every NaN or infinite float replaced by null (JSON has neither)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def print_json(document: Any, *, indent: int | None = 2) -> None:
    """Print a JSON-ready result for scripts (dates as text, invalid values as null)."""
    typer.echo(
        json.dumps(_finite(document), ensure_ascii=False, indent=indent, default=_json_default)
    )


@dataclass(frozen=True)
class Column:
    """One column of a terminal table: the row key, its header and how a cell is written."""

    key: str
    header: str
    cell: Callable[[Any, dict[str, Any]], str] | None = None
    justify: Literal["left", "right"] = "left"

    def text(self, row: dict[str, Any], lang: str) -> str:
        value = row.get(self.key)
        if self.cell is None or is_invalid(value):
            return format_value(value, lang)  # "invalid" for a value no cell can show
        return self.cell(value, row)


def said(key: str, lang: str, **values: object) -> str:
    """A message the commands print, from ``labels/locales/commands.yaml``, in ``lang``."""
    return text(f"commands.{key}", lang, **values)


def number_cell(lang: str, digits: int) -> Callable[[Any, dict[str, Any]], str]:
    """A :class:`Column` cell writing a number with ``digits`` decimals, as ``lang`` writes it."""
    return lambda value, _row: format_number(value, lang, digits)


def percent_cell(lang: str, digits: int = 1) -> Callable[[Any, dict[str, Any]], str]:
    """A :class:`Column` cell writing a share as a percentage in ``lang``."""
    return lambda value, _row: format_percent(value, lang, digits)


def rows_table(rows: Sequence[dict[str, Any]], columns: Sequence[Column], lang: str) -> Table:
    """A Rich table of ``rows`` with ``columns``."""
    table = Table(header_style="bold")
    for column in columns:
        table.add_column(column.header, justify=column.justify)
    for row in rows:
        table.add_row(*[column.text(row, lang) for column in columns])
    return table


def show_rows(
    result: pa.Table,
    columns: Sequence[Column],
    *,
    lang: str = "en",
    as_json: bool = False,
    csv: Path | None = None,
    empty: str | None = None,
) -> None:
    """Show a query result: a terminal table, ``--json`` (the rows as they are), and/or ``--csv``.

    ``--csv`` writes every column of the result and goes with either of the others; ``empty``
    is printed under an empty table.
    """
    if csv is not None:
        pa_csv.write_csv(result, csv)
    rows = to_rows(result)
    if as_json:
        print_json(rows)
        return
    console.print(rows_table(rows, columns, lang))
    if not rows and empty:
        console.print(empty)
    if csv is not None:
        console.print(f"{len(rows):,} rows written to {csv}")
