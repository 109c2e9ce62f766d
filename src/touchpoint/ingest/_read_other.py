"""Parquet and JSON lines."""

from __future__ import annotations

import codecs
import json

import pyarrow as pa
import pyarrow.json as pjson
import pyarrow.parquet as pq

from touchpoint.errors import InputFileError
from touchpoint.ingest._read_csv import canonical_encoding
from touchpoint.ingest._reading import (
    MalformedRow,
    ReadResult,
    has_undecodable,
    is_blank,
    printable,
    rows_around_malformed,
    sequential_rows,
)

# A data page of dictionary indices takes at most 4 bytes a value; a plain-encoded string
# takes at least 5 (its 4-byte length and a character).
_MAX_INDEX_BYTES = 4
_PAGE_HEADER_BYTES = 256  # a small row group's page headers weigh more than its values


def _dictionary_columns(metadata: pq.FileMetaData) -> list[str]:
    """Top-level text columns stored dictionary-encoded in every row group.

    Arrow reads these as dictionary arrays without decoding each value into its own string,
    and validation then checks each distinct value once. A writer falls back to plain
    encoding when a column has too many distinct values (ids): reading that as a dictionary
    would hash every value, so such columns are read plainly. The page encodings Parquet
    records do not tell a fallback apart, the bytes per value do.
    """
    names = []
    for i in range(metadata.num_columns):
        path = metadata.schema.column(i).path
        if "." in path or metadata.schema.column(i).physical_type != "BYTE_ARRAY":
            continue
        for g in range(metadata.num_row_groups):
            chunk = metadata.row_group(g).column(i)
            if not chunk.has_dictionary_page or chunk.dictionary_page_offset is None:
                break
            dictionary_bytes = chunk.data_page_offset - chunk.dictionary_page_offset
            data_bytes = chunk.total_uncompressed_size - dictionary_bytes
            if data_bytes > _MAX_INDEX_BYTES * chunk.num_values + _PAGE_HEADER_BYTES:
                break
        else:
            names.append(path)
    return names


def read_parquet(data: bytes, *, where: str) -> ReadResult:
    """Read Parquet bytes, keeping the file's own column types.

    Text columns the file stores as a dictionary come back as dictionary arrays, one
    dictionary per column for all row groups. An empty file (an export without rows) has
    no rows.
    """
    if is_blank(data):
        return ReadResult(table=pa.table({}), row_numbers=sequential_rows(0))
    try:
        metadata = pq.read_metadata(pa.BufferReader(data))
        table = pq.read_table(
            pa.BufferReader(data), read_dictionary=_dictionary_columns(metadata)
        ).unify_dictionaries()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise InputFileError(
            f"{where}: not a readable Parquet file ({str(exc).splitlines()[0]}); "
            "check the file is complete, or export it again"
        ) from None
    return ReadResult(table=table, row_numbers=sequential_rows(table.num_rows))


def _as_text(value: object) -> str | None:
    """A JSON scalar as the text a CSV would hold; objects and arrays as their JSON."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):  # a JSON "\ud800" escape decodes to a lone surrogate
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)


def _careful_jsonl(data: bytes, encoding: str) -> ReadResult:
    """One ``json.loads`` per line: each line that is not a JSON object becomes a malformed row."""
    records: list[dict[str, object]] = []
    malformed: list[MalformedRow] = []
    text = data.decode(encoding, errors="surrogateescape")
    for line in text.splitlines():
        if not line.strip():
            continue
        row = len(records) + len(malformed) + 1
        if has_undecodable(line):
            malformed.append(MalformedRow(row, None, printable(line), "bytes not valid UTF-8"))
            continue
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as exc:
            detail = getattr(exc, "msg", "nested too deeply")
            malformed.append(MalformedRow(row, None, line, f"not valid JSON: {detail}"))
            continue
        if not isinstance(record, dict):
            malformed.append(MalformedRow(row, None, line, "a JSON line must be an object"))
            continue
        records.append(record)
    names: dict[str, None] = {}
    for record in records:
        names.update(dict.fromkeys(record))
    columns = {
        name: pa.array([_as_text(r.get(name)) for r in records], type=pa.string()) for name in names
    }
    # Objects without a single key still are rows: keep their count in a table without columns.
    table = pa.table(columns or {"~": pa.nulls(len(records))})
    if not columns:
        table = table.drop_columns(["~"])
    return ReadResult(
        table=table,
        row_numbers=rows_around_malformed(table.num_rows, malformed),
        malformed=malformed,
        encoding=encoding,
    )


def read_jsonl(data: bytes, *, forced: str | None = None) -> ReadResult:
    """Read JSON lines (one object per line; blank lines are skipped).

    The fast path is PyArrow's reader, which infers a type per column. It refuses a column
    whose type changes from row to row or a broken line; the file is then read line by line
    with every value as text, and each line that is not a JSON object is a malformed row.
    """
    encoding = canonical_encoding(forced or "utf-8")
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    if encoding == "utf-8":
        try:
            table = _fast_jsonl(data)
            return ReadResult(
                table=table,
                row_numbers=sequential_rows(table.num_rows),
                encoding=encoding,
            )
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    return _careful_jsonl(data, encoding)


def _fast_jsonl(data: bytes) -> pa.Table:
    """PyArrow's reader, with every column it would read as a timestamp kept as text.

    PyArrow turns ``"08:00:00+08:00"`` into a naive UTC timestamp and leaves
    ``"08:00:00.5+08:00"`` as text: the offset is lost and two columns of one row follow two
    rules. Kept as text, JSON timestamps and dates take the same path as CSV ones. Which
    columns those are is learnt from the first lines; a column that only later looks like
    timestamps costs a second read.
    """
    sample = pjson.read_json(pa.BufferReader(_first_lines(data)))
    stamped = _timestamp_columns(sample)
    table = _read_json_as_text(data, stamped, sample.column_names)
    later = _timestamp_columns(table)
    if later:
        table = _read_json_as_text(data, stamped + later, sample.column_names)
    return table


_SCHEMA_SAMPLE_BYTES = 1 << 20


def _first_lines(data: bytes) -> bytes:
    if len(data) <= _SCHEMA_SAMPLE_BYTES:
        return data
    cut = data.rfind(b"\n", 0, _SCHEMA_SAMPLE_BYTES)
    return data[: cut + 1] if cut > 0 else data


def _timestamp_columns(table: pa.Table) -> list[str]:
    return [f.name for f in table.schema if pa.types.is_timestamp(f.type)]


def _read_json_as_text(data: bytes, names: list[str], first: list[str]) -> pa.Table:
    """Read JSON lines with the columns ``names`` as text, the others as inferred.

    Explicit columns would come first: the columns are put back in the order the file's
    first lines give (``first``), then any that only later lines have.
    """
    if not names:
        return pjson.read_json(pa.BufferReader(data))
    schema = pa.schema([pa.field(name, pa.string()) for name in names])
    options = pjson.ParseOptions(explicit_schema=schema, unexpected_field_behavior="infer")
    table = pjson.read_json(pa.BufferReader(data), parse_options=options)
    order = [n for n in first if n in table.column_names]
    return table.select(order + [n for n in table.column_names if n not in order])
