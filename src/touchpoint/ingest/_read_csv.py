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

from touchpoint.errors import InputFileError
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


# Characters a GB18030 file read as UTF-8 yields, and that touchpoint's data hardly holds: C1
# controls, Latin Extended to NKo (a GB18030 pair with a lead byte C2-DF and a trail byte
# 80-BF is a valid two-byte UTF-8 character there), CJK Extension A and private use.
_UNLIKELY_IN_UTF8 = re.compile("[\x80-\x9f\u0100-\u07ff\u3400-\u4dbf\ue000-\uf8ff]")
_GB = ("gb18030", "gbk", "gb2312")


def refuse_ambiguous_encoding(data: bytes, candidates: Sequence[str], where: str) -> None:
    """Refuse bytes that read as UTF-8 and as GB18030, when the UTF-8 reading looks garbled.

    Short Chinese text in GB18030 can be valid UTF-8 by chance ("投业" is ``cd b6 d2 b5``,
    UTF-8 for "Ͷҵ"): detection, which tries UTF-8 first, would store garbage and say all is
    well. Which reading is meant cannot be told from the bytes, so such a file is refused with
    one line naming the first unlikely character; ``--encoding`` decides. A UTF-8 file whose
    text is all likely (Chinese, Latin-1 letters, emoji) reads as UTF-8 as before.
    """
    names = [canonical_encoding(c) for c in candidates]
    gb = next((c for c in names if c in _GB), None)
    if "utf-8" not in names or gb is None or names.index("utf-8") > names.index(gb):
        return
    try:
        as_utf8 = data.decode("utf-8")
    except UnicodeDecodeError:
        return
    unlikely = _UNLIKELY_IN_UTF8.search(as_utf8)
    if unlikely is None:
        return
    try:
        as_gb = data.decode(gb)
    except UnicodeDecodeError:
        return
    line = as_utf8.count("\n", 0, unlikely.start()) + 1
    start = as_utf8.rfind("\n", 0, unlikely.start()) + 1
    stop = as_utf8.find("\n", unlikely.start())
    utf8_line = as_utf8[start : stop if stop >= 0 else len(as_utf8)].rstrip("\r")
    gb_line = as_gb.split("\n")[line - 1].rstrip("\r") if as_gb.count("\n") >= line - 1 else ""
    raise InputFileError(
        f"{where}: line {line}: the file reads both as UTF-8 ({printable(utf8_line[:40])!r}) "
        f"and as {gb.upper()} ({printable(gb_line[:40])!r}), and {unlikely.group(0)!r} "
        f"(U+{ord(unlikely.group(0)):04X}) is unlikely in UTF-8 data; nothing of it was "
        f"loaded; give --encoding {gb} or --encoding utf-8"
    )


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


def _records_by_quote_parity(data: bytes) -> int:
    """Non-empty records in ``data`` (header included), counted without a CSV parser.

    A line break ends a record when an even number of quotes precede it (RFC 4180: a quoted
    value opens and closes with a quote, and a quote inside it is doubled). ``"`` and line
    breaks are single bytes that never occur inside a multi-byte character of UTF-8, GBK or
    GB18030, so the bytes are counted as they are. Empty lines are no record (as the readers
    skip them).
    """
    raw = np.frombuffer(data, dtype=np.uint8)
    quotes = np.flatnonzero(raw == ord('"'))
    breaks = np.flatnonzero(raw == ord("\n"))
    ends = breaks[np.searchsorted(quotes, breaks) % 2 == 0]
    starts = np.concatenate([[0], ends + 1])
    stops = np.concatenate([ends, [len(raw)]])
    ends_in_cr = (stops > starts) & (raw[np.maximum(stops - 1, 0)] == ord("\r"))
    return int(np.count_nonzero(stops - starts - ends_in_cr > 0))


def _trusted(data: bytes, n_rows: int) -> bool:
    """Whether a parser's ``n_rows`` records agree with an independent count of the bytes.

    A quote opened and never closed makes a parser read every later line into one value
    (issue 11): the rows are then fewer than the records the line breaks and quotes say. An
    odd number of quotes is such a quote (or a literal one: the careful path decides).
    """
    if data.count(b'"') % 2:
        return False
    if _physical_line_count(data) == n_rows + 1:
        return True  # one line per record, no blank line: nothing can have been swallowed
    return _records_by_quote_parity(data) == n_rows + 1


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
        table = pcsv.read_csv(
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
    return table if _trusted(data, table.num_rows) else None


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
        # Which lines a record (row, malformed row, header or blank) took: every line must be
        # taken exactly by the end, the reader's count checked against the file's lines.
        self.taken = np.zeros(len(self.lines) + 1, dtype=bool)
        self.taken[0] = True

    def _undecodable(self, fields: list[str]) -> bool:
        return self.has_undecodable and any(has_undecodable(f) for f in fields)

    def _row_count(self) -> int:
        return len(self.rows) + len(self.malformed)

    def _take(self, fields: list[str], start: int, end: int) -> None:
        self.taken[start : end + 1] = True
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
        self.taken[start : end + 1] = True
        text = printable("".join(self.lines[start - 1 : end]).rstrip("\r\n"))
        self.malformed.append(MalformedRow(self._row_count() + 1, start, text, detail))

    def _never_closed(self, start: int, end: int) -> bool:
        """Whether the record on lines ``start``..``end`` (the file's last) ends inside quotes.

        Python's lenient reader takes the rest of the file as the value of a quote opened and
        never closed; its strict reader says so ("unexpected end of data").
        """
        if end < len(self.lines) or '"' not in self.lines[start - 1]:
            return False
        try:
            list(csv.reader(self.lines[start - 1 : end], delimiter=self.delimiter, strict=True))
        except csv.Error as exc:
            return "unexpected end of data" in str(exc)
        return False

    def read(self) -> None:
        position = 0  # lines consumed by earlier readers (a csv.Error ends a reader)
        while position < len(self.lines):
            reader = csv.reader(iter(self.lines[position:]), delimiter=self.delimiter)
            previous = 0  # lines this reader has consumed
            try:
                for fields in reader:
                    start = position + previous + 1
                    previous = reader.line_num
                    if self.header is not None and self._never_closed(start, position + previous):
                        # Its own line is the broken row; the lines it swallowed are read again.
                        self._malformed(start, start, "a quote opened on this line is never closed")
                        position = start
                        break
                    self._take(fields, start, position + previous)
                else:
                    return
                continue
            except csv.Error as exc:
                failed_through = max(reader.line_num, previous + 1)
                self._malformed(
                    position + previous + 1, position + failed_through, f"unreadable: {exc}"
                )
                position += failed_through

    def first_line_not_taken(self) -> int | None:
        missed = np.flatnonzero(~self.taken)
        return int(missed[0]) if len(missed) else None


def _careful(data: bytes, encoding: str, delimiter: str, where: str) -> ReadResult:
    text = data.decode(encoding, errors="surrogateescape")
    reader = _CarefulReader(text, delimiter)
    reader.read()
    missed = reader.first_line_not_taken()
    if missed is not None:  # a reader bug, not bad content: refuse rather than load fewer rows
        raise InputFileError(
            f"{where}: line {missed}: no row or malformed row accounts for this line, so the "
            "file's rows cannot be counted; nothing of the file was loaded; please report this "
            "with the file"
        )
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


def read_csv(
    data: bytes, *, encodings: Sequence[str], forced: str | None = None, where: str = "CSV"
) -> ReadResult:
    """Read CSV bytes; every column as text.

    Parameters
    ----------
    data
        The file's bytes.
    encodings
        Encodings to try in order when ``forced`` is not given (``config.ingest.csv_encodings``).
    forced
        The encoding to use (``--encoding``).
    where
        The file, for messages.

    The rows of the fast path are checked against a count of the records that the file's
    line breaks and quotes delimit; when they disagree (a quote never closed swallows the
    lines after it) the careful path reads the file, and it accounts for every line.
    """
    has_bom = data.startswith(_UTF8_BOM)  # says UTF-8: no GB18030 file starts so
    if has_bom:
        data = data[len(_UTF8_BOM) :]
    if not forced and not has_bom:
        refuse_ambiguous_encoding(data, encodings, where)
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
        return _careful(data, encoding, delimiter, where)
    encoding = tried[0]
    return _careful(data, encoding, _header(data, encoding)[1], where)
