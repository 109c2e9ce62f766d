"""Reading a source file into an Arrow table, keeping the rows that cannot be read aside.

Readers never raise on bad content: a row they cannot split into columns becomes a
:class:`MalformedRow`. Only a file that cannot be read at all (not Parquet, unreadable) raises
:class:`~touchpoint.errors.InputFileError`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


@dataclass(frozen=True)
class MalformedRow:
    """A source row that could not be split into the header's columns."""

    row: int  # 1-based data row
    line: int | None  # 1-based line in the file where the row starts (CSV only)
    text: str  # the raw row
    detail: str  # e.g. "5 fields, expected 11"


def _no_lines() -> np.ndarray | None:
    return None


@dataclass
class ReadResult:
    """What a reader found in a file.

    ``table`` holds one row per well-formed source row, columns named as in the file;
    ``row_numbers`` the 1-based data-row number of each (rows and malformed rows are numbered
    together, in file order); ``line_numbers()`` the line where each starts (CSV only,
    computed on demand because only quarantined rows need it).
    """

    table: pa.Table
    row_numbers: np.ndarray
    malformed: list[MalformedRow] = field(default_factory=list)
    encoding: str | None = None
    line_numbers: Callable[[], np.ndarray | None] = _no_lines

    @property
    def n_read(self) -> int:
        return self.table.num_rows + len(self.malformed)


_UNDECODABLE = re.compile(r"[\udc80-\udcff]")


def has_undecodable(text: str) -> bool:
    """Bytes that were not valid in the encoding survive decoding as lone surrogates."""
    return _UNDECODABLE.search(text) is not None


def printable(text: str) -> str:
    """``text`` with undecodable bytes written as ``\\xNN`` (Arrow refuses lone surrogates)."""
    return _UNDECODABLE.sub(lambda m: f"\\x{ord(m.group(0)) - 0xDC00:02x}", text)


BLANK_AT_MOST = 4096  # a longer file is never blank: spare a copy of a big file's bytes


def is_blank(data: bytes) -> bool:
    """No content: nothing, or only blanks and line breaks (an export without rows)."""
    return len(data) <= BLANK_AT_MOST and not data.strip()


def sequential_rows(n: int) -> np.ndarray:
    return np.arange(1, n + 1, dtype=np.int64)


def rows_around_malformed(n_good: int, malformed: list[MalformedRow]) -> np.ndarray:
    """Row numbers of the ``n_good`` well-formed rows, given the numbers the malformed ones took."""
    taken = np.array(sorted(m.row for m in malformed), dtype=np.int64)
    everything = sequential_rows(n_good + len(malformed))
    return np.setdiff1d(everything, taken, assume_unique=True)


def dictionary_encode(values: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, pa.ChunkedArray]:
    """The distinct values (in order of first appearance) and each row's index into them.

    Works on chunked columns without copying them into one array: Arrow encodes all chunks
    against one dictionary.
    """
    encoded = pc.dictionary_encode(values)
    if isinstance(encoded, pa.Array):
        return encoded.dictionary, pa.chunked_array([encoded.indices])
    if encoded.num_chunks == 0:
        return pa.array([], values.type), pa.chunked_array([], pa.int32())
    return encoded.chunk(0).dictionary, pa.chunked_array([c.indices for c in encoded.chunks])
