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
from touchpoint.warehouse.parts import DropParts, Part, PartWriter, WrittenPart

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


def _schema(part: Part | WrittenPart) -> pa.Schema:
    return part.schema if isinstance(part, WrittenPart) else part.data.schema


def _check_part_columns(raw: duckdb.DuckDBPyConnection, part: Part | WrittenPart) -> None:
    existing = [name for name, _ in _parts.view_columns(raw, part.view)]
    if existing and existing != _schema(part).names:
        raise WarehouseError(
            f"view {part.view!r} has the columns {', '.join(existing)}, the rows to add "
            f"{', '.join(_schema(part).names)}; it was made by another version of "
            "Touchpoint: use a new warehouse"
        )


def load_atomically(
    con: DuckDBBackend,
    *,
    deletes: Sequence[Delete] = (),
    inserts: Sequence[Insert] = (),
    parts: Sequence[Part] = (),
    written_parts: Sequence[WrittenPart] = (),
    drop_parts: Sequence[DropParts] = (),
    clean_orphans: bool = True,
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
    parts
        Rows to write as Parquet parts (replacing a part of the same name), then register.
    written_parts
        Parts already written by a :class:`~touchpoint.warehouse.parts.PartWriter`, to
        register (streaming ingest); deleted again if the transaction fails.
    drop_parts
        Parts to unregister; their files are deleted after the commit.
    clean_orphans
        First delete the files no view reads in the folders of the views written (left by
        a killed load). ``False`` when other processes are writing parts there (parallel
        ingest cleans once, before it starts them: :func:`prepare_parts_folder`).

    Raises
    ------
    WarehouseError
        When DuckDB refuses the write; nothing of it is kept.
    """
    raw = con.con
    every_part = [*parts, *written_parts]
    views = sorted({p.view for p in every_part} | {d.view for d in drop_parts})
    if clean_orphans and (every_part or drop_parts):
        _parts.remove_orphans(raw, views, spare=[p.name for p in written_parts])
    if every_part or drop_parts:
        for part in every_part:
            _check_part_columns(raw, part)
        folder = _parts.parts_folder(raw)
        for part in parts:
            if part.data.num_rows:
                _parts.write_part(folder, part)
    empty_columns = {p.view: [(f.name, _sql_type(f)) for f in _schema(p)] for p in every_part}
    raw.begin()
    try:
        if every_part or drop_parts:
            _parts.register(raw, parts=every_part, drops=drop_parts, empty_columns=empty_columns)
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
        _delete_unregistered(raw, every_part)  # written for this transaction only
        if isinstance(exc, duckdb.Error):
            raise WarehouseError(
                f"writing to the warehouse failed and was rolled back: {exc}".splitlines()[0]
            ) from exc
        raise
    if drop_parts:
        _parts.delete_files(raw, drop_parts)


def _delete_unregistered(
    raw: duckdb.DuckDBPyConnection, parts: Sequence[Part | WrittenPart]
) -> None:
    if not parts:
        return
    folder = _parts.parts_folder(raw)
    for part in parts:
        if part.name not in _parts.registered(raw, part.view):
            (folder / part.view / f"{part.name}{_parts.SUFFIX}").unlink(missing_ok=True)


def prepare_parts_folder(con: DuckDBBackend, views: Sequence[str]) -> Path:
    """Delete what killed loads left in the folders of ``views``; the parts folder.

    Call it before starting processes that write parts (:class:`PartWriter`) for
    ``load_atomically(..., clean_orphans=False)`` to register.
    """
    _parts.remove_orphans(con.con, views)
    return _parts.parts_folder(con.con)


def database_path(con: DuckDBBackend) -> Path | None:
    """The file behind ``con``, or ``None`` for an in-memory warehouse."""
    row = con.con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()
    return Path(row[0]) if row and row[0] else None


def _key_sql(key: Sequence[str], alias: str) -> str:
    return ", ".join(f"{alias}.{_quote(k)}" for k in key)


def _keys_of(files: Sequence[Path], key: Sequence[str]) -> tuple[str, list[str]]:
    """SQL for ``key`` and ``_row`` of the rows of every Parquet file in ``files``."""
    columns = ", ".join([*(_quote(k) for k in key), "_row"])
    union = " UNION ALL ".join(f"SELECT {columns} FROM read_parquet(?)" for _ in files)
    return f"({union})", [str(f) for f in files]


def repeated_keys_in_part(
    con: DuckDBBackend, files: Sequence[Path], key: Sequence[str]
) -> pa.Table:
    """Rows of the unregistered Parquet ``files`` whose ``key`` an earlier row of them has.

    ``files`` hold a file's rows (a part, and the keys of its rows that failed other checks),
    each with its ``key`` columns and ``_row``. One row per repeat: ``_row`` (the repeat),
    ``first_row`` (the key's first row), then the key's columns, ordered by ``_row``. DuckDB
    groups a 64-bit hash of each key over the files on disk (spilling when it must, so memory
    does not grow with the file), then compares the keys of the few rows whose hash repeats.
    """
    rows, parameters = _keys_of(files, key)
    keys = _key_sql(key, "r")
    return con.con.execute(
        f"WITH r AS {rows}, "
        f"repeated AS (SELECT hash({keys}) AS h FROM r GROUP BY h HAVING count(*) > 1), "
        f"c AS (SELECT * FROM r WHERE hash({keys}) IN (SELECT h FROM repeated)) "
        f"SELECT c._row, min(c._row) OVER (PARTITION BY {_key_sql(key, 'c')}) AS first_row, "
        f"{_key_sql(key, 'c')} FROM c QUALIFY c._row > first_row ORDER BY c._row",
        parameters,
    ).to_arrow_table()


def keys_already_loaded(
    con: DuckDBBackend,
    files: Sequence[Path],
    view: str,
    key: Sequence[str],
    *,
    excluded_files: Sequence[str],
) -> pa.Table:
    """Rows of the unregistered ``files`` whose ``key`` the view ``view`` already holds.

    One row per such row: ``_row``, then the loaded row with that key that comes first
    (``loaded_file_id``, ``loaded_row``), then the key's columns; rows of the files
    ``excluded_files`` (being replaced) do not count. Empty when the view does not exist.
    """
    if _parts.view_columns(con.con, view) == []:
        return pa.table({"_row": pa.array([], pa.int64())})
    rows, parameters = _keys_of(files, key)
    keys = _key_sql(key, "p")
    on = " AND ".join(f"p.{_quote(k)} = l.{_quote(k)}" for k in key)
    return con.con.execute(
        f"SELECT p._row, arg_min(l._file_id, l._row) AS loaded_file_id, "
        f"min(l._row) AS loaded_row, {keys} "
        f"FROM {rows} AS p JOIN {_quote(view)} AS l ON {on} "
        "WHERE NOT list_contains(CAST(? AS VARCHAR[]), l._file_id) "
        f"GROUP BY p._row, {keys} ORDER BY p._row",
        [*parameters, list(excluded_files)],
    ).to_arrow_table()


# Memory of the DuckDB connection that checks a staged file's keys; beyond it DuckDB spills to
# disk. The hash grouping of the 1 M-customer world's 42.8 M IVR keys took 4.1 GB without a
# limit. Ingest of that file alone in one process (2026-12-03, load 10-15): 1,882 MB peak and
# 57 CPU s with a 1 GB cap, 1,380 MB and 42 CPU s with 512 MB, under issue 18's 2 GB.
KEY_CHECK_MEMORY = "512MB"


def key_check_connection(spill_folder: Path) -> DuckDBBackend:
    """An in-memory DuckDB connection for :func:`repeated_keys_in_part` in bounded memory.

    It reads Parquet files only (no warehouse is opened, so worker processes can use it while
    the parent holds the warehouse); its memory is capped at ``KEY_CHECK_MEMORY`` and what
    does not fit spills under ``spill_folder``.
    """
    import ibis

    raw = duckdb.connect(
        ":memory:",
        config={"memory_limit": KEY_CHECK_MEMORY, "temp_directory": str(spill_folder)},
    )
    return ibis.duckdb.from_connection(raw)


def part_writer(con: DuckDBBackend, view: str, name: str) -> PartWriter:
    """A :class:`PartWriter` for the part ``name`` of ``view`` in this warehouse's folder.

    Register what it wrote with ``load_atomically(written_parts=...)``.
    """
    return PartWriter(_parts.parts_folder(con.con), view, name)
