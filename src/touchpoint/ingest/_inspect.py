"""Looking at what ingest loaded and quarantined: the query functions of the "Data loaded"
report section, `touchpoint quarantine` and (next) the API."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
from ibis.backends.duckdb import Backend as DuckDBBackend

from touchpoint.contract import ENTITIES
from touchpoint.ingest._bookkeeping import FILES_TABLE, QUARANTINE_SCHEMA, QUARANTINE_TABLE
from touchpoint.labels import to_rows


def quarantined(
    con: DuckDBBackend,
    *,
    path: str | os.PathLike[str] | None = None,
    reason: str | None = None,
    limit: int | None = None,
) -> tuple[pa.Table, int]:
    """Quarantined rows, one per (row, problem), ordered by file, row; and how many match.

    Parameters
    ----------
    path
        Only this file: its full path, or a path that ends with the given one
        (``contacts.csv`` matches ``/data/exports/contacts.csv``).
    reason
        Only this reason (``bad_type``, ``duplicate_key``, ...).
    limit
        At most this many rows (the count is of all that match).
    """
    if QUARANTINE_TABLE not in con.list_tables():
        return QUARANTINE_SCHEMA.empty_table(), 0
    table = con.table(QUARANTINE_TABLE)
    if path is not None:
        given = Path(path)
        full = str(given.resolve()) if given.exists() else str(given)
        table = table.filter((table.path == full) | table.path.endswith(os.sep + str(given)))
    if reason is not None:
        table = table.filter(table.reason == reason)
    total = int(table.count().to_pyarrow().as_py())
    ordered = table.order_by(["path", "row", "line"])
    if limit is not None:
        ordered = ordered.limit(limit)
    return ordered.to_pyarrow(), total


# The first timestamp or date column of an entity dates its rows.
DATE_COLUMN = {
    name: next((c.name for c in entity.columns if c.dtype in ("timestamp", "date")), None)
    for name, entity in ENTITIES.items()
}


def load_totals(con: ibis.BaseBackend) -> dict[str, int]:
    """Files, and rows read, loaded and quarantined over every file ingest has seen."""
    files = con.table(FILES_TABLE)
    totals = files.aggregate(
        n_files=files.count(),
        n_read=files.n_read.sum(),
        n_loaded=files.n_loaded.sum(),
        n_quarantined=files.n_quarantined.sum(),
    )
    return {key: int(value or 0) for key, value in totals.to_pyarrow().to_pylist()[0].items()}


def entity_coverage(con: ibis.BaseBackend) -> list[dict[str, Any]]:
    """Per loaded entity: its table, rows, and the first and last date of its dating column."""
    present = set(con.list_tables())
    rows = []
    for name, entity in ENTITIES.items():
        if entity.table not in present:
            continue
        table, column = con.table(entity.table), DATE_COLUMN[name]
        span = {} if column is None else {"first": table[column].min(), "last": table[column].max()}
        stats = table.aggregate(n_rows=table.count(), **span).to_pyarrow()
        row = to_rows(stats)[0]  # a date Python cannot hold (year 0) is INVALID, not an error
        rows.append({"entity": name, "table": entity.table, "first": None, "last": None} | row)
    return rows


def rows_by_month(con: ibis.BaseBackend) -> pa.Table:
    """Rows per month of each dated entity but customers (whose join dates span decades): a gap
    or a dip shows a missing or partial export. Columns ``entity, month, n_rows``."""
    present = set(con.list_tables())
    parts = []
    for name, entity in ENTITIES.items():
        column = DATE_COLUMN[name]
        if entity.table not in present or column is None or name == "customers":
            continue
        table = con.table(entity.table)
        month = table[column].truncate("M").cast("date").name("month")
        counted = table.group_by(month).aggregate(n_rows=table.count())
        parts.append(counted.mutate(entity=ibis.literal(name)).select("entity", "month", "n_rows"))
    if not parts:
        return pa.table({"entity": [], "month": pa.array([], pa.date32()), "n_rows": []})
    return ibis.union(*parts).order_by(["month", "entity"]).to_pyarrow()


def quarantine_by_reason(con: ibis.BaseBackend) -> pa.Table:
    """Quarantined rows per entity and reason, most first. Columns ``entity, reason, n_rows``."""
    if QUARANTINE_TABLE not in con.list_tables():
        return pa.table(
            {
                "entity": pa.array([], pa.string()),
                "reason": pa.array([], pa.string()),
                "n_rows": pa.array([], pa.int64()),
            }
        )
    table = con.table(QUARANTINE_TABLE)
    counted = table.group_by(["entity", "reason"]).aggregate(n_rows=table.count())
    return counted.order_by([ibis.desc("n_rows"), "entity", "reason"]).to_pyarrow()
