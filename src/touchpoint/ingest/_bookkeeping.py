"""The ingest log (``ingest_files``) and the quarantine (``ingest_quarantine``).

``ingest_files``: one row per source file version currently loaded (a replaced version's row
goes with its data). ``ingest_quarantine``: one row per rejected (row, problem).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from ibis.backends.duckdb import Backend as DuckDBBackend

from touchpoint.ingest._pii import (
    mask_digits,
    mask_digits_array,
    mask_number_runs,
    mask_phone_numbers,
    mask_phone_numbers_array,
    mask_phone_numbers_table,
)
from touchpoint.ingest._reading import MalformedRow
from touchpoint.ingest._validate import ProblemBatch
from touchpoint.ingest._values import as_text

FILES_TABLE = "ingest_files"
QUARANTINE_TABLE = "ingest_quarantine"
MAX_VALUE_CHARS = 1000  # a quarantined value or record is cut here; the source file has the rest

FILES_SCHEMA = pa.schema(
    [
        pa.field("file_id", pa.string(), nullable=False),
        pa.field("path", pa.string(), nullable=False),
        pa.field("entity", pa.string(), nullable=False),
        pa.field("file_format", pa.string(), nullable=False),
        pa.field("encoding", pa.string()),
        pa.field("status", pa.string(), nullable=False),
        pa.field("n_read", pa.int64(), nullable=False),
        pa.field("n_loaded", pa.int64(), nullable=False),
        pa.field("n_quarantined", pa.int64(), nullable=False),
        pa.field("loaded_at", pa.timestamp("us"), nullable=False),
    ]
)

QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("file_id", pa.string(), nullable=False),
        pa.field("path", pa.string(), nullable=False),
        pa.field("entity", pa.string(), nullable=False),
        pa.field("row", pa.int64(), nullable=False),
        pa.field("line", pa.int64()),
        pa.field("column", pa.string()),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("value", pa.string()),
        pa.field("record", pa.string()),
    ]
)


@dataclass(frozen=True)
class LoadedVersion:
    """A row of ``ingest_files``."""

    file_id: str
    path: str
    entity: str
    n_read: int
    n_loaded: int
    n_quarantined: int
    loaded_at: object


def loaded_versions(con: DuckDBBackend) -> list[LoadedVersion]:
    """Every file version in the warehouse (small: one row per file)."""
    if FILES_TABLE not in con.list_tables():
        return []
    columns = ["file_id", "path", "entity", "n_read", "n_loaded", "n_quarantined", "loaded_at"]
    rows = con.table(FILES_TABLE).select(*columns).to_pyarrow().to_pylist()
    return [LoadedVersion(**row) for row in rows]


def quarantine_counts(con: DuckDBBackend, file_id: str) -> dict[str, int]:
    """Quarantined (row, problem) pairs of one file version, by reason."""
    if QUARANTINE_TABLE not in con.list_tables():
        return {}
    table = con.table(QUARANTINE_TABLE)
    of_file = table.filter(table.file_id == file_id)
    counts = of_file.group_by("reason").agg(n=of_file.count()).to_pyarrow()
    return dict(sorted(zip(counts["reason"].to_pylist(), counts["n"].to_pylist(), strict=True)))


def _cut(text: str | None) -> str | None:
    if text is None or len(text) <= MAX_VALUE_CHARS:
        return text
    return f"{text[:MAX_VALUE_CHARS]}… ({len(text):,} characters)"


def _cut_array(values: pa.Array) -> pa.Array:
    longest = pc.max(pc.utf8_length(values)).as_py() if len(values) else None
    if longest is None or longest <= MAX_VALUE_CHARS:
        return values
    return pa.array([_cut(v) for v in values.to_pylist()], pa.string())


def _values_of(batch: ProblemBatch, *, masked: bool) -> pa.Array:
    if batch.detail is not None:
        detail = pa.array([str(v) for v in batch.detail], pa.string())
        return _cut_array(mask_phone_numbers_array(detail))
    if batch.source is None:
        return pa.nulls(len(batch.positions), pa.string())
    taken = batch.source.take(pa.array(batch.positions))
    text = as_text(taken)
    if text is None:  # lists or objects: their JSON
        text = pa.array(
            [
                None if v is None else json.dumps(v, ensure_ascii=False, default=str)
                for v in taken.to_pylist()
            ],
            pa.string(),
        )
    text = text.cast(pa.string())
    return _cut_array(mask_digits_array(text) if masked else mask_phone_numbers_array(text))


def _records(table: pa.Table, positions: np.ndarray, pii_columns: Sequence[str]) -> list[str]:
    """The raw rows at ``positions`` as JSON objects, phone numbers masked.

    The phone columns' digits are masked whole; in every other column and column name, the
    digits of each mobile number (which ingest pseudonymises only where ``stg_*`` could
    store it).
    """
    if table.num_columns == 0:  # Arrow loses the row count of a table without columns
        rows: list[dict] = [{} for _ in positions]
    else:
        rows = _python_rows(mask_phone_numbers_table(table.take(pa.array(positions))))
    out = []
    for row in rows:
        for name in pii_columns:
            if isinstance(row.get(name), str):
                row[name] = mask_digits(row[name])
        out.append(_cut(json.dumps(row, ensure_ascii=False, default=str)))
    return out


def _python_rows(table: pa.Table) -> list[dict]:
    """``table`` as Python rows; dates and times Python cannot hold (before year 1, a typed
    Parquet value) are kept as Arrow writes them, e.g. ``-0221-09-04``."""
    try:
        return table.to_pylist()
    except (OverflowError, ValueError):
        temporal = [i for i, f in enumerate(table.schema) if pa.types.is_temporal(f.type)]
        for i in temporal:
            table = table.set_column(i, table.field(i).name, table.column(i).cast(pa.string()))
        return table.to_pylist()


def quarantine_rows(
    *,
    file_id: str,
    path: str,
    entity: str,
    table: pa.Table,
    problems: Sequence[ProblemBatch],
    malformed: Sequence[MalformedRow],
    row_numbers: np.ndarray,
    line_numbers: np.ndarray | None,
    pii_columns: Sequence[str],
    has_pii: bool,
) -> pa.Table:
    """The ``ingest_quarantine`` rows of one file, ordered by row.

    ``table`` is the file as read (source column names); ``pii_columns`` are those of its
    columns that hold phone numbers: their values are masked. In a malformed row of an entity
    with phone numbers (``has_pii``) every run of seven or more digits is masked.
    """
    positions = np.unique(np.concatenate([p.positions for p in problems])) if problems else []
    records = _records(table, np.asarray(positions, dtype=np.int64), pii_columns)
    record_of = dict(zip(np.asarray(positions).tolist(), records, strict=True))
    parts: list[pa.Table] = []
    for batch in problems:
        masked = batch.column in pii_columns
        n = len(batch.positions)
        parts.append(
            pa.table(
                {
                    "row": pa.array(row_numbers[batch.positions], pa.int64()),
                    "line": pa.nulls(n, pa.int64())
                    if line_numbers is None
                    else pa.array(line_numbers[batch.positions], pa.int64()),
                    "column": pa.array([batch.column] * n, pa.string()),
                    "reason": pa.array([batch.reason] * n, pa.string()),
                    "value": _values_of(batch, masked=masked),
                    "record": pa.array(
                        [record_of[p] for p in batch.positions.tolist()], pa.string()
                    ),
                }
            )
        )
    if malformed:
        # A raw line was never split into columns: mask every mobile number in it, and in an
        # entity with a phone column every run of digits that could be one.
        clean = [
            mask_phone_numbers(mask_number_runs(m.text) if has_pii else m.text) for m in malformed
        ]
        parts.append(
            pa.table(
                {
                    "row": pa.array([m.row for m in malformed], pa.int64()),
                    "line": pa.array([m.line for m in malformed], pa.int64()),
                    "column": pa.nulls(len(malformed), pa.string()),
                    "reason": pa.array(["malformed_row"] * len(malformed), pa.string()),
                    "value": pa.array([_cut(text) for text in clean], pa.string()),
                    "record": pa.array(
                        [
                            _cut(
                                json.dumps({"text": text, "problem": m.detail}, ensure_ascii=False)
                            )
                            for text, m in zip(clean, malformed, strict=True)
                        ],
                        pa.string(),
                    ),
                }
            )
        )
    if not parts:
        return QUARANTINE_SCHEMA.empty_table()
    body = pa.concat_tables(parts)
    body = body.take(pc.sort_indices(body["row"]))  # stable: a row's problems keep their order
    n = body.num_rows
    constant = {"file_id": file_id, "path": path, "entity": entity}
    columns = {name: pa.array([value] * n, pa.string()) for name, value in constant.items()}
    columns.update({name: body[name] for name in body.column_names})
    return pa.table(columns).select(QUARANTINE_SCHEMA.names).cast(QUARANTINE_SCHEMA)
