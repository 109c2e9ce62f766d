"""CSV in UTF-8 or GBK/GB18030: a fast Arrow path and a careful Python path for broken files.

The fast path (PyArrow, all columns as text) is trusted only when every record has the
header's number of fields. Otherwise the file is read again with Python's ``csv`` module,
which numbers every row and line exactly and turns each broken record into a
:class:`MalformedRow`. Both follow RFC 4180 (a quoted value may hold a delimiter, a quote or a
line break); in addition the careful path splits a record that spans several lines and has
the wrong number of fields back into its lines, so one stray opening quote costs one row, not
the rest of the file.
"""

from __future__ import annotations

import codecs
import csv
import re
import sys
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv

from touchpoint.ingest._reading import (
    MalformedRow,
    ReadResult,
    has_undecodable,
    printable,
    rows_around_malformed,
    sequential_rows,
)

DELIMITERS = (",", "\t", "|", ";")
BLOCK_SIZE = 8 << 20
SAMPLE_BYTES = 1 << 16
_UTF8_BOM = codecs.BOM_UTF8
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")

csv.field_size_limit(sys.maxsize)  # a huge value is a value to validate, not a parser crash


def canonical_encoding(name: str) -> str:
    """The codec's canonical name (``GBK`` -> ``gbk``, ``utf8`` -> ``utf-8``)."""
    return codecs.lookup(name).name


def _sample_decodes(data: bytes, encoding: str) -> bool:
    sample = data[:SAMPLE_BYTES]
    if len(data) > SAMPLE_BYTES:
        cut = sample.rfind(b"\n")
        sample = sample[: cut + 1] if cut > 0 else sample
    try:
        sample.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _candidate_encodings(data: bytes, candidates: Sequence[str]) -> list[str]:
    """Candidates whose first 64 KiB decode, in order, then the others (a later byte may decide)."""
    names = [canonical_encoding(c) for c in candidates]
    fitting = [c for c in names if _sample_decodes(data, c)]
    return fitting + [c for c in names if c not in fitting]


def _header(data: bytes, encoding: str) -> tuple[list[str], str]:
    """The column names on the first line and the delimiter it uses most.

    No names when the first line cannot be parsed alone: the careful path then decides.
    """
    first = _LINE.match(data[:SAMPLE_BYTES].decode(encoding, errors="replace"))
    line = first.group(0).rstrip("\r\n") if first else ""
    delimiter = max(DELIMITERS, key=line.count)
    delimiter = delimiter if line.count(delimiter) else ","
    try:
        names = next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        names = []
    return _unique(names), delimiter


def _unique(names: list[str]) -> list[str]:
    """Arrow needs distinct column names; a repeated header gets ``~2``, ``~3`` appended."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}~{seen[name]}")
    return out


def _physical_line_count(data: bytes) -> int:
    """Lines in ``data``, trailing line breaks aside (counted in place: files are big)."""
    end = len(data)
    while end and data[end - 1] in b"\r\n":
        end -= 1
    return data.count(b"\n", 0, end) + 1 if end else 0


def _fast(data: bytes, encoding: str, delimiter: str, names: list[str]) -> pa.Table | None:
    """PyArrow read with every column as text; ``None`` when any record is malformed."""
    if not names:
        return None
    options = pcsv.ReadOptions(
        encoding=encoding,
        column_names=names,
        skip_rows=1,
        block_size=BLOCK_SIZE,
    )
    try:
        return pcsv.read_csv(
            pa.BufferReader(data),
            read_options=options,
            parse_options=pcsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pcsv.ConvertOptions(
                column_types={name: pa.string() for name in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError, ValueError):
        return None


def _record_start_lines(text: str, delimiter: str) -> list[int]:
    """Start line of each non-blank record after the header (for files whose records span lines)."""
    starts = []
    reader = csv.reader(_LINE.findall(text), delimiter=delimiter)
    previous = 0
    for fields in reader:
        start, previous = previous + 1, reader.line_num
        if fields and not (len(fields) == 1 and not fields[0].strip()):
            starts.append(start)
    return starts[1:]


def _fast_line_numbers(data: bytes, encoding: str, delimiter: str, n_rows: int):
    def line_numbers() -> np.ndarray | None:
        if _physical_line_count(data) == n_rows + 1:
            return sequential_rows(n_rows) + 1  # one line per record, after the header line
        try:
            starts = _record_start_lines(data.decode(encoding, errors="surrogateescape"), delimiter)
        except csv.Error:
            return None
        return np.array(starts, dtype=np.int64) if len(starts) == n_rows else None

    return line_numbers


class _CarefulReader:
    """Python ``csv`` over the decoded lines, numbering rows and lines, never raising."""

    def __init__(self, text: str, delimiter: str) -> None:
        self.lines = _LINE.findall(text)
        self.has_undecodable = has_undecodable(text)  # look for them per field only if any
        self.delimiter = delimiter
        self.header: list[str] | None = None
        self.rows: list[list[str]] = []
        self.row_lines: list[int] = []
        self.malformed: list[MalformedRow] = []

    def _undecodable(self, fields: list[str]) -> bool:
        return self.has_undecodable and any(has_undecodable(f) for f in fields)

    def _row_count(self) -> int:
        return len(self.rows) + len(self.malformed)

    def _take(self, fields: list[str], start: int, end: int) -> None:
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            return  # a blank line is no row
        if self.header is None:
            self.header = fields
            return
        n_columns = len(self.header)
        undecodable = self._undecodable(fields)
        if len(fields) == n_columns and not undecodable:
            self.rows.append(fields)
            self.row_lines.append(start)
        elif end > start and not undecodable:
            for line_no in range(start, end + 1):  # resplit: one stray quote costs one row
                self._take_single_line(line_no)
        else:
            detail = (
                "bytes not valid in the file's encoding"
                if undecodable
                else f"{len(fields)} fields, expected {n_columns}"
            )
            self._malformed(start, end, detail)

    def _take_single_line(self, line_no: int) -> None:
        line = self.lines[line_no - 1]
        try:
            fields = next(csv.reader([line], delimiter=self.delimiter), [])
        except csv.Error as exc:
            self._malformed(line_no, line_no, f"unreadable: {exc}")
            return
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            return
        n_columns = len(self.header or ())
        if len(fields) == n_columns and not self._undecodable(fields):
            self.rows.append(fields)
            self.row_lines.append(line_no)
        else:
            self._malformed(line_no, line_no, f"{len(fields)} fields, expected {n_columns}")

    def _malformed(self, start: int, end: int, detail: str) -> None:
        text = printable("".join(self.lines[start - 1 : end]).rstrip("\r\n"))
        self.malformed.append(MalformedRow(self._row_count() + 1, start, text, detail))

    def read(self) -> None:
        position = 0  # lines consumed by earlier readers (a csv.Error ends a reader)
        while position < len(self.lines):
            reader = csv.reader(iter(self.lines[position:]), delimiter=self.delimiter)
            previous = 0  # lines this reader has consumed
            try:
                for fields in reader:
                    start = position + previous + 1
                    previous = reader.line_num
                    self._take(fields, start, position + previous)
                return
            except csv.Error as exc:
                failed_through = max(reader.line_num, previous + 1)
                self._malformed(
                    position + previous + 1, position + failed_through, f"unreadable: {exc}"
                )
                position += failed_through


def _careful(data: bytes, encoding: str, delimiter: str) -> ReadResult:
    text = data.decode(encoding, errors="surrogateescape")
    reader = _CarefulReader(text, delimiter)
    reader.read()
    names = _unique([printable(n) for n in reader.header or []])
    columns = list(zip(*reader.rows, strict=True)) if reader.rows else [() for _ in names]
    table = pa.table(
        {
            name: pa.array(values, type=pa.string())
            for name, values in zip(names, columns, strict=True)
        }
    )
    lines = np.array(reader.row_lines, dtype=np.int64)
    return ReadResult(
        table=table,
        row_numbers=rows_around_malformed(table.num_rows, reader.malformed),
        malformed=reader.malformed,
        encoding=encoding,
        line_numbers=lambda: lines,
    )


def read_csv(data: bytes, *, encodings: Sequence[str], forced: str | None = None) -> ReadResult:
    """Read CSV bytes; every column as text.

    Parameters
    ----------
    data
        The file's bytes.
    encodings
        Encodings to try in order when ``forced`` is not given (``config.ingest.csv_encodings``).
    forced
        The encoding to use (``--encoding``).
    """
    if data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM) :]
    tried = [canonical_encoding(forced)] if forced else _candidate_encodings(data, encodings)
    for encoding in tried:
        names, delimiter = _header(data, encoding)
        table = _fast(data, encoding, delimiter, names)
        if table is not None:
            return ReadResult(
                table=table,
                row_numbers=sequential_rows(table.num_rows),
                encoding=encoding,
                line_numbers=_fast_line_numbers(data, encoding, delimiter, table.num_rows),
            )
        try:
            data.decode(encoding)
        except UnicodeDecodeError:
            continue  # maybe the next encoding fits; the careful path takes the first one below
        return _careful(data, encoding, delimiter)
    encoding = tried[0]
    return _careful(data, encoding, _header(data, encoding)[1])
