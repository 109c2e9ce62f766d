"""A source file as a sequence of batches, so ingest's memory does not grow with the file.

A Parquet file comes in batches of ``batch_rows`` rows (its row groups read in turn); a CSV
file in blocks of about ``batch_rows * CSV_BYTES_PER_ROW`` bytes, each cut after a line break
preceded by an even number of quotes (a record boundary: RFC 4180 quotes come in pairs) and
read with the header in front. Rows and lines keep their numbers in the whole file. A file
of a single batch is read exactly as before (``read_whole``), and so is every JSON lines file.
"""

from __future__ import annotations

import codecs
import dataclasses
import hashlib
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from touchpoint.errors import ConfigError, InputFileError
from touchpoint.ingest._read_csv import (
    _candidate_encodings,
    canonical_encoding,
    read_csv,
    refuse_ambiguous_encoding,
)
from touchpoint.ingest._read_other import _dictionary_columns
from touchpoint.ingest._reading import ReadResult, sequential_rows

BATCH_ROWS_ENV = "TOUCHPOINT_INGEST_BATCH_ROWS"
DEFAULT_BATCH_ROWS = 1_000_000
MIN_BATCH_ROWS = 1_000
CSV_BYTES_PER_ROW = 128  # a CSV block holds about batch_rows rows of this width
_HASH_CHUNK = 8 << 20
_UTF8_BOM = codecs.BOM_UTF8


def batch_rows_setting(value: int | None = None) -> int:
    """Rows per batch: ``value``, else ``TOUCHPOINT_INGEST_BATCH_ROWS``, else 1,000,000.

    Peak memory of a load grows with this (about 1 GB at the default for the widest entity),
    not with the file.
    """
    text = str(value) if value is not None else os.environ.get(BATCH_ROWS_ENV)
    if text is None or text == "":
        return DEFAULT_BATCH_ROWS
    try:
        rows = int(text.replace("_", ""))
    except ValueError:
        rows = 0
    if rows < MIN_BATCH_ROWS:
        where = "--batch-rows" if value is not None else BATCH_ROWS_ENV
        raise ConfigError(
            f"{where}={text!r}: rows per ingest batch must be a whole number of at least "
            f"{MIN_BATCH_ROWS:,}; the default is {DEFAULT_BATCH_ROWS:,}"
        )
    return rows


def file_id_of(path: Path) -> str:
    """SHA-256 of the file's bytes, read in chunks."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as source:
            while chunk := source.read(_HASH_CHUNK):
                digest.update(chunk)
    except OSError as exc:
        raise InputFileError(
            f"{path}: cannot read the file: {exc.strerror}; check it exists and is readable"
        ) from None
    return digest.hexdigest()


def _shifted(read: ReadResult, rows_before: int, lines_before: int) -> ReadResult:
    """``read`` of one block renumbered as rows and lines of the whole file."""
    if rows_before == 0 and lines_before == 0:
        return read
    block_lines = read.line_numbers

    def line_numbers() -> np.ndarray | None:
        lines = block_lines()
        return None if lines is None else lines + lines_before

    return dataclasses.replace(
        read,
        row_numbers=read.row_numbers + rows_before,
        malformed=[
            dataclasses.replace(
                m, row=m.row + rows_before, line=None if m.line is None else m.line + lines_before
            )
            for m in read.malformed
        ],
        line_numbers=line_numbers,
    )


def parquet_batches(
    path: Path, batch_rows: int, read_whole: Callable[[], ReadResult]
) -> Iterator[tuple[ReadResult, float]]:
    """``(rows, share of the file done)`` for each batch of a Parquet file."""
    try:
        metadata = pq.read_metadata(path)
    except (pa.ArrowException, OSError, ValueError):
        yield read_whole(), 1.0  # the whole-file reader says what is wrong
        return
    if metadata.num_rows <= batch_rows:
        yield read_whole(), 1.0
        return
    done = 0
    try:
        source = pq.ParquetFile(path, read_dictionary=_dictionary_columns(metadata))
        for batch in source.iter_batches(batch_size=batch_rows):
            table = pa.Table.from_batches([batch])
            read = ReadResult(table=table, row_numbers=sequential_rows(table.num_rows) + done)
            done += table.num_rows
            yield read, done / metadata.num_rows
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise InputFileError(
            f"{path}: not a readable Parquet file after row {done:,} "
            f"({str(exc).splitlines()[0]}); check the file is complete, or export it again"
        ) from None


def _last_record_end(block: bytes) -> int | None:
    """Index just after the last line break of ``block`` outside quotes, if any.

    ``block`` starts at a record boundary; a line break ends a record when an even number of
    quotes precede it in the block.
    """
    raw = np.frombuffer(block, dtype=np.uint8)
    breaks = np.flatnonzero(raw == ord("\n"))
    if not len(breaks):
        return None
    quotes = np.flatnonzero(raw == ord('"'))
    outside = breaks[np.searchsorted(quotes, breaks) % 2 == 0]
    return int(outside[-1]) + 1 if len(outside) else None


def _whole_file_encoding(path: Path, candidates: Sequence[str], sample: bytes) -> str:
    """The first candidate that decodes the whole file (the first one if none does)."""
    ordered = _candidate_encodings(sample, candidates)
    for encoding in ordered:
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with open(path, "rb") as source:
                while chunk := source.read(_HASH_CHUNK):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return encoding
    return ordered[0]


def _blocks(path: Path, block_bytes: int) -> Iterator[tuple[bytes, int]]:
    """Blocks of whole records and the bytes read so far."""
    pending = b""
    done = 0
    with open(path, "rb") as source:
        while True:
            chunk = source.read(block_bytes)
            done += len(chunk)
            if not chunk:
                if pending:
                    yield pending, done
                return
            block = pending + chunk
            end = _last_record_end(block)
            if end is None:  # a record longer than the block, or a quote never closed
                pending = block
                continue
            pending = block[end:]
            yield block[:end], done - len(pending)


def csv_batches(
    path: Path,
    batch_rows: int,
    read_whole: Callable[[], ReadResult],
    *,
    encodings: Sequence[str],
    forced: str | None,
) -> Iterator[tuple[ReadResult, float]]:
    """``(rows, share of the file done)`` for each block of a CSV file."""
    block_bytes = batch_rows * CSV_BYTES_PER_ROW
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    if size <= block_bytes:
        yield read_whole(), 1.0
        return
    with open(path, "rb") as source:
        sample = source.read(1 << 16)
    if not forced and not sample.startswith(_UTF8_BOM):
        cut = sample.rfind(b"\n")
        refuse_ambiguous_encoding(sample[: cut + 1] if cut > 0 else sample, encodings, str(path))
    encoding = (
        canonical_encoding(forced) if forced else _whole_file_encoding(path, encodings, sample)
    )
    header = b""
    rows_before = lines_before = 0
    for block, done in _blocks(path, block_bytes):
        if not header:
            header = block[: block.find(b"\n") + 1] if b"\n" in block else block
            read = read_csv(block, encodings=[encoding], forced=encoding, where=str(path))
            shift = 0
        else:
            read = read_csv(
                header.removeprefix(_UTF8_BOM) + block,
                encodings=[encoding],
                forced=encoding,
                where=str(path),
            )
            shift = lines_before - 1  # the block's line 1 is the header put in front
        yield _shifted(read, rows_before, shift), done / max(size, 1)
        rows_before += read.n_read
        lines_before += block.count(b"\n")
