"""The card store: each customer's card rows beside a snapshot, read without a query.

A card read through DuckDB costs about 50 ms of CPU at 1 M customers, and most of it is not
parsing: DuckDB reads a table by vectors of 2,048 rows, so fetching one customer's four rows
of the 360 decompresses a vector of each of its ~95 columns (about 14 ms), and finding a
phone number's hash scans a row group of hashes (about 5 ms). The card store keeps the same
rows in Arrow IPC files (``<snapshot>.card.<table>.arrow``), written by the publish from the
snapshot's tables read in customer order (:mod:`touchpoint.platform._serving`):

- small record batches (LZ4-compressed; :data:`BATCH_ROWS` rows for the 360's ~95 columns,
  more for a narrow table), so a customer's rows are in one or two batches; the file is
  memory-mapped and a batch is decompressed only when read;
- the key of each batch's first row in a small index file beside it, loaded once per
  process: finding a customer is a binary search in memory, then one in its batch.

The rows are those Ibis reads (the same columns and Arrow types); the card's own choices
(latest months, order, limits) are made on them by
:func:`touchpoint.customers.card_from_rows` and :func:`touchpoint.tags.customer_tags_from_rows`.
A snapshot without the files (published before the store existed) is read with queries.
"""

from __future__ import annotations

import bisect
import glob
import logging
import threading
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from ibis.backends.duckdb import Backend

from touchpoint.warehouse.loading import database_path

log = logging.getLogger("touchpoint.platform")

BATCH_ROWS = 1024  # rows per batch at least...
BATCH_CELLS = 65_536  # ...and more for a narrow table, up to this many values per batch...
MAX_BATCH_ROWS = 2048  # ...but no more rows than this (a lookup decompresses one batch)
SUFFIX = ".card.{}.arrow"
INDEX_SUFFIX = ".card.{}.keys.arrow"
_OPTIONS = pa.ipc.IpcWriteOptions(compression="lz4")


class UnsortedError(ValueError):
    """A table's rows were not in key order: no card store for that snapshot."""


def store_files(snapshot: Path, table: str) -> tuple[Path, Path]:
    """The rows file and the index file of ``table`` beside ``snapshot``."""
    return (
        snapshot.with_name(snapshot.name + SUFFIX.format(table)),
        snapshot.with_name(snapshot.name + INDEX_SUFFIX.format(table)),
    )


def write_table(
    con: Backend,
    table: str,
    key: str,
    columns: tuple[str, ...] | None = None,
    *,
    order: Sequence[str] | None = None,
) -> int:
    """Write ``table`` of the snapshot behind ``con`` to the store: its ``columns``
    (``None``: all), in the order of the columns ``order`` (its first is ``key``; ``None``:
    the table is already sorted by ``key``).

    Rows with a null key are left out (no card is looked up by a null). Returns the rows
    written. Raises :class:`UnsortedError` if the rows do not come in ``key`` order.
    """
    snapshot = database_path(con)
    assert snapshot is not None, "a snapshot is a file"
    rows_path, index_path = store_files(snapshot, table)
    t = con.table(table)
    t = t.filter(t[key].notnull())
    if order is not None:
        t = t.order_by(list(order))
    if columns is not None:
        t = t.select(*columns)
    # Fewer, larger batches for a narrow table: as cheap to read, fewer to write.
    rows = max(BATCH_ROWS, min(MAX_BATCH_ROWS, BATCH_CELLS // len(t.columns)))
    firsts: list[str] = []
    n = 0
    previous = None
    writer = None
    try:
        with pa.OSFile(str(rows_path), "wb") as sink:
            for batch in t.to_pyarrow_batches(chunk_size=max(rows, 65_536)):
                if batch.num_rows == 0:
                    continue
                keys = batch.column(key)
                ordered = pc.all(pc.less_equal(keys.slice(0, len(keys) - 1), keys.slice(1)))
                first = keys[0].as_py()
                if ordered.as_py() is False or (previous is not None and first < previous):
                    raise UnsortedError(f"{table} is not sorted by {key}")
                previous = keys[-1].as_py()
                if writer is None:
                    writer = pa.ipc.new_file(sink, batch.schema, options=_OPTIONS)
                for start in range(0, batch.num_rows, rows):
                    part = batch.slice(start, rows)
                    writer.write_batch(part)
                    firsts.append(part.column(key)[0].as_py())
                n += batch.num_rows
            if writer is None:
                writer = pa.ipc.new_file(sink, t.schema().to_pyarrow(), options=_OPTIONS)
            writer.close()
        index = pa.table({key: pa.array(firsts, pa.string())})
        with pa.OSFile(str(index_path), "wb") as sink, pa.ipc.new_file(sink, index.schema) as w:
            w.write_table(index)
    except BaseException:
        rows_path.unlink(missing_ok=True)
        index_path.unlink(missing_ok=True)
        raise
    return n


class _Keys:
    """A sorted key column as a sequence for :mod:`bisect` (a value converted when read)."""

    def __init__(self, column: pa.Array) -> None:
        self._column = column

    def __len__(self) -> int:
        return len(self._column)

    def __getitem__(self, i: int) -> str:
        return self._column[i].as_py()


class _Table:
    """One table of the store: its batches (memory-mapped) and each batch's first key."""

    def __init__(self, rows_path: Path, index_path: Path) -> None:
        self._path = str(rows_path)
        self._local = threading.local()
        self.schema = self._reader().schema
        index = pa.ipc.open_file(pa.memory_map(str(index_path))).read_all()
        self.key = index.column_names[0]
        self._firsts: list[str] = index.column(0).to_pylist()

    def _reader(self) -> pa.ipc.RecordBatchFileReader:
        """This thread's reader of the file (a reader is not shared between threads; the
        memory map under it is the operating system's, shared)."""
        reader = getattr(self._local, "reader", None)
        if reader is None:
            reader = self._local.reader = pa.ipc.open_file(pa.memory_map(self._path))
        return reader

    def rows(self, value: str) -> pa.Table:
        """Every row whose key is ``value`` (none: an empty table)."""
        # The batches that may hold it: from the last one starting before it to the last one
        # starting at it (a customer's rows may run over a batch's end).
        lo = max(bisect.bisect_left(self._firsts, value) - 1, 0)
        hi = bisect.bisect_right(self._firsts, value)
        found = []
        reader = self._reader()
        for i in range(lo, hi):
            batch = reader.get_batch(i)
            # The batch is sorted by key: the rows are one run, found by binary search and
            # sliced without a copy.
            keys = _Keys(batch.column(self.key))
            start, end = bisect.bisect_left(keys, value), bisect.bisect_right(keys, value)
            if end > start:
                found.append(batch.slice(start, end - start))
        return pa.Table.from_batches(found, schema=self.schema)


class CardStore:
    """The card store of one snapshot (:func:`open_store`)."""

    def __init__(self, tables: dict[str, _Table]) -> None:
        self._tables = tables

    def __contains__(self, table: str) -> bool:
        return table in self._tables

    def rows(self, table: str, value: str) -> pa.Table:
        """The rows of ``table`` whose key is ``value``."""
        return self._tables[table].rows(value)


def remove_store(snapshot: Path) -> None:
    """Delete every file of the card store beside ``snapshot``."""
    for path in snapshot.parent.glob(glob.escape(snapshot.name) + SUFFIX.format("*")):
        path.unlink(missing_ok=True)


def open_store(snapshot: Path, tables: list[str]) -> CardStore | None:
    """The card store beside ``snapshot`` with ``tables``, or ``None`` if any of them is
    missing (a snapshot published before the store: the card is then queried)."""
    opened = {}
    for table in tables:
        rows_path, index_path = store_files(snapshot, table)
        if not (rows_path.is_file() and index_path.is_file()):
            return None
        try:
            opened[table] = _Table(rows_path, index_path)
        except (OSError, pa.ArrowInvalid) as exc:
            log.warning("the card store of %s is not readable (%s): cards are queried", table, exc)
            return None
    return CardStore(opened)
