"""Atomic writes: several deletes, inserts and Parquet parts that land together or not at all.

Ingest loads each source file in one transaction (its staged rows as a Parquet part of the
``stg_<entity>`` view, its quarantine rows and its bookkeeping row), so a process killed
mid-file leaves nothing of that file. The SQL here is DDL and transaction plumbing only; what
to write is decided by the caller.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
from ibis.backends.duckdb import Backend as DuckDBBackend

from touchpoint.errors import WarehouseError
from touchpoint.warehouse import parts as _parts
from touchpoint.warehouse.parts import DropParts, Part

# DuckDB appends one Arrow batch per thread: row-group-sized batches let it write in parallel.
BATCH_ROWS = 122_880

# Test hook: when set, the process kills itself after the inserts and before COMMIT, so a test
# can prove that an interrupted load leaves nothing behind. Never set it outside tests.
KILL_BEFORE_COMMIT_ENV = "TOUCHPOINT_TEST_KILL_BEFORE_COMMIT"

_DUCKDB_TYPES: dict[pa.DataType, str] = {
    pa.string(): "VARCHAR",
    pa.large_string(): "VARCHAR",
    pa.int64(): "BIGINT",
    pa.int32(): "INTEGER",
    pa.float64(): "DOUBLE",
    pa.bool_(): "BOOLEAN",
    pa.date32(): "DATE",
    pa.timestamp("us"): "TIMESTAMP",
}


@dataclass(frozen=True)
class Insert:
    """Append ``data`` to ``table``, creating the table from ``data.schema`` if it is missing.

    A field's metadata ``compression`` (e.g. ``fsst``, ``dictionary``) names the DuckDB
    compression of a column it creates; without it DuckDB tries each method.
    """

    table: str
    data: pa.Table


@dataclass(frozen=True)
class Delete:
    """Delete the rows of ``table`` whose ``column`` is one of ``values`` (no-op if no table)."""

    table: str
    column: str
    values: tuple[object, ...]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_type(field: pa.Field) -> str:
    type_ = field.type.value_type if pa.types.is_dictionary(field.type) else field.type
    try:
        return _DUCKDB_TYPES[type_]
    except KeyError:
        raise WarehouseError(
            f"column {field.name!r}: no warehouse type for Arrow type {field.type}; "
            f"supported: {', '.join(sorted({str(t) for t in _DUCKDB_TYPES}))}"
        ) from None


def _column_ddl(field: pa.Field) -> str:
    sql_type = _sql_type(field)
    compression = (field.metadata or {}).get(b"compression", b"").decode("ascii")
    if compression and not compression.isidentifier():
        raise WarehouseError(f"column {field.name!r}: no compression method {compression!r}")
    using = f" USING COMPRESSION {compression}" if compression else ""
    return f"{_quote(field.name)} {sql_type}{using}{'' if field.nullable else ' NOT NULL'}"


def _existing_columns(raw: duckdb.DuckDBPyConnection, table: str) -> list[str] | None:
    rows = raw.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_name = ? AND table_schema = current_schema() ORDER BY ordinal_position",
        [table],
    ).fetchall()
    return [r[0] for r in rows] or None


def ensure_table(con: DuckDBBackend, table: str, schema: pa.Schema) -> None:
    """Create ``table`` with ``schema`` if it does not exist; refuse one with other columns."""
    _ensure_table(con.con, table, schema)


def _ensure_table(raw: duckdb.DuckDBPyConnection, table: str, schema: pa.Schema) -> None:
    existing = _existing_columns(raw, table)
    if existing is None:
        columns = ", ".join(_column_ddl(f) for f in schema)
        raw.execute(f"CREATE TABLE {_quote(table)} ({columns})")
        return
    missing = [f.name for f in schema if f.name not in existing]
    if missing:
        raise WarehouseError(
            f"table {table!r} lacks column(s) {', '.join(missing)} (it has {', '.join(existing)}); "
            "it was made by another version of Touchpoint: drop the table or use a new warehouse"
        )


def _check_part_columns(raw: duckdb.DuckDBPyConnection, part: Part) -> None:
    existing = [name for name, _ in _parts.view_columns(raw, part.view)]
    if existing and existing != part.data.schema.names:
        raise WarehouseError(
            f"view {part.view!r} has the columns {', '.join(existing)}, the rows to add "
            f"{', '.join(part.data.schema.names)}; it was made by another version of "
            "Touchpoint: use a new warehouse"
        )


def load_atomically(
    con: DuckDBBackend,
    *,
    deletes: Sequence[Delete] = (),
    inserts: Sequence[Insert] = (),
    parts: Sequence[Part] = (),
    drop_parts: Sequence[DropParts] = (),
) -> None:
    """Apply ``deletes``, ``inserts`` and parts in one transaction: all of them land, or none.

    Parameters
    ----------
    con
        The warehouse.
    deletes
        Rows to remove first (e.g. an earlier version of a file being replaced).
    inserts
        Arrow tables to append; missing tables are created from the Arrow schema
        (nullable fields become nullable columns, the others ``NOT NULL``). Columns are matched
        by name.

    Raises
    ------
    WarehouseError
        When DuckDB refuses the write; nothing of it is kept.
    """
    raw = con.con
    if parts or drop_parts:
        _parts.remove_orphans(raw, sorted({p.view for p in parts} | {d.view for d in drop_parts}))
        for part in parts:
            _check_part_columns(raw, part)
        folder = _parts.parts_folder(raw)
        for part in parts:
            if part.data.num_rows:
                _parts.write_part(folder, part)
    empty_columns = {p.view: [(f.name, _sql_type(f)) for f in p.data.schema] for p in parts}
    raw.begin()
    try:
        if parts or drop_parts:
            _parts.register(raw, parts=parts, drops=drop_parts, empty_columns=empty_columns)
        for insert in inserts:
            _ensure_table(raw, insert.table, insert.data.schema)
        for delete in deletes:
            if delete.values and _existing_columns(raw, delete.table) is not None:
                raw.execute(
                    f"DELETE FROM {_quote(delete.table)} WHERE {_quote(delete.column)} "
                    "IN (SELECT UNNEST(?))",
                    [list(delete.values)],
                )
        for n, insert in enumerate(inserts):
            if insert.data.num_rows == 0:
                continue
            view = f"__touchpoint_insert_{n}"
            batches = insert.data.to_batches(max_chunksize=BATCH_ROWS)
            raw.register(view, pa.Table.from_batches(batches, insert.data.schema))
            try:
                raw.execute(f"INSERT INTO {_quote(insert.table)} BY NAME SELECT * FROM {view}")
            finally:
                raw.unregister(view)
        if os.environ.get(KILL_BEFORE_COMMIT_ENV):
            os.kill(os.getpid(), signal.SIGKILL)
        raw.commit()
    except BaseException as exc:
        raw.rollback()
        if parts or drop_parts:  # the written parts are unregistered: delete them now
            _parts.remove_orphans(raw, sorted({p.view for p in parts}))
        if isinstance(exc, duckdb.Error):
            raise WarehouseError(
                f"writing to the warehouse failed and was rolled back: {exc}".splitlines()[0]
            ) from exc
        raise
    if drop_parts:
        _parts.delete_files(raw, drop_parts)


def database_path(con: DuckDBBackend) -> Path | None:
    """The file behind ``con``, or ``None`` for an in-memory warehouse."""
    row = con.con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()
    return Path(row[0]) if row and row[0] else None
