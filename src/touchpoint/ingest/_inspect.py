"""Looking at what ingest quarantined."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
from ibis.backends.duckdb import Backend as DuckDBBackend

from touchpoint.ingest._bookkeeping import QUARANTINE_SCHEMA, QUARANTINE_TABLE


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
