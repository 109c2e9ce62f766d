"""Views over immutable Parquet parts: how the ingested (``stg_*``) rows are stored.

Each part is one Parquet file, written once and never changed, in a folder beside the
warehouse file: ``<warehouse>.data/<view>/<part>.parquet`` (for ``touchpoint.duckdb``,
``touchpoint.duckdb.data/stg_contacts/<file_id>.parquet``). The table ``warehouse_parts``
lists the parts each view currently holds, and the view reads exactly those files, so readers
see an ordinary table, and Spark or any Parquet reader can read the same files.

A part is written to a temporary name, flushed to disk and renamed before the transaction
that registers it and recreates its view; a part it replaces is deleted only after that
transaction commits. A part left unregistered by a process killed in between is not in any
view, and the next write to its view deletes it. Writing Parquet with PyArrow costs a fifth of
what DuckDB's own compressed storage costs for the same rows (docs/performance.md).

An in-memory warehouse keeps its parts in a temporary folder removed when the process ends.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from touchpoint.errors import WarehouseError

PARTS_TABLE = "warehouse_parts"
SUFFIX = ".parquet"
# Rows per Parquet row group: readers (DuckDB, Spark) split a part across threads by row
# groups, and a dictionary page is per row group. pyarrow's default; 2M-row parts measured
# 9.6 MB at this size and at 512 k rows, 9.6 MB (10 % more with every text column given a
# dictionary) at DuckDB's 122,880.
ROW_GROUP_ROWS = 1 << 20
DICTIONARY_MAX_SHARE = 1 / 8  # a text column gets a dictionary if its values repeat this much
PREFIX_ROWS = 1 << 16  # rows looked at first to tell an id column (nearly all distinct)
_DIR_VARIABLE = "touchpoint_parts_folder"


@dataclass(frozen=True)
class Part:
    """Store ``data`` as the part ``name`` of the view ``view`` (replacing a part so named).

    Text fields whose metadata ``compression`` is ``dictionary`` (vocabularies), and other
    text whose values repeat, are written with Parquet dictionary encoding; text that is
    nearly all distinct (ids) is written plain, whether or not it came as an Arrow dictionary
    (:class:`PartWriter`).
    """

    view: str
    name: str
    data: pa.Table


@dataclass(frozen=True)
class WrittenPart:
    """A part already written to its final name by a :class:`PartWriter`, to register.

    Until the transaction that registers it commits, no view reads it, and a later write to
    its view deletes it as an orphan (a killed load).
    """

    view: str
    name: str
    n_rows: int
    schema: pa.Schema


@dataclass(frozen=True)
class DropParts:
    """Remove the parts ``names`` from the view ``view`` (unknown names are ignored)."""

    view: str
    names: tuple[str, ...]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def parts_folder(raw: duckdb.DuckDBPyConnection) -> Path:
    """The folder of the parts of the warehouse behind ``raw`` (not created here)."""
    known = raw.execute(
        "SELECT value FROM duckdb_variables() WHERE name = ?", [_DIR_VARIABLE]
    ).fetchone()
    if known:
        return Path(known[0])
    row = raw.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()
    if row and row[0]:
        folder = Path(row[0]).resolve()
        folder = folder.with_name(folder.name + ".data")
    else:
        folder = Path(tempfile.mkdtemp(prefix="touchpoint-memory-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
    raw.execute(f"SET VARIABLE {_DIR_VARIABLE} = ?", [str(folder)])
    return folder


def _ensure_registry(raw: duckdb.DuckDBPyConnection) -> None:
    raw.execute(
        f"CREATE TABLE IF NOT EXISTS {PARTS_TABLE} (view VARCHAR NOT NULL, "
        "part VARCHAR NOT NULL, n_rows BIGINT NOT NULL, n_bytes BIGINT NOT NULL)"
    )


def registered(raw: duckdb.DuckDBPyConnection, view: str) -> list[str]:
    """The parts of ``view``, in the order they were registered."""
    if not _exists(raw, PARTS_TABLE):
        return []
    rows = raw.execute(
        f"SELECT part FROM {PARTS_TABLE} WHERE view = ? ORDER BY rowid", [view]
    ).fetchall()
    return [r[0] for r in rows]


def _exists(raw: duckdb.DuckDBPyConnection, name: str) -> str | None:
    row = raw.execute(
        "SELECT table_type FROM information_schema.tables "
        "WHERE table_name = ? AND table_schema = current_schema()",
        [name],
    ).fetchone()
    return row[0] if row else None


def remove_orphans(
    raw: duckdb.DuckDBPyConnection, views: Sequence[str], *, spare: Sequence[str] = ()
) -> None:
    """Delete the files in the folders of ``views`` that no view reads (left by a kill).

    ``spare`` names parts written for the transaction about to register them.
    """
    folder = parts_folder(raw)
    for view in views:
        where = folder / view
        if not where.is_dir():
            continue
        keep = {name + SUFFIX for name in [*registered(raw, view), *spare]}
        for path in where.iterdir():
            if path.name not in keep and (path.suffix == SUFFIX or ".tmp-" in path.name):
                path.unlink(missing_ok=True)


def _is_text(type_: pa.DataType) -> bool:
    return pa.types.is_string(type_) or pa.types.is_large_string(type_)


def _dictionary_pays(field: pa.Field, column: pa.ChunkedArray) -> bool:
    """Whether a text column is worth a Parquet dictionary, judged on its first row group.

    A vocabulary (field metadata ``compression: dictionary``) always is. Other text is when
    its values repeat (at most one distinct value in ``DICTIONARY_MAX_SHARE`` of the rows):
    ids that are nearly all distinct are written plain, where zstd compresses them better
    than a dictionary page that holds every value again in each row group (a 1 M-customer
    ``ivr_events`` part written with its read-time Arrow dictionaries was 4.9 GB).
    """
    if (field.metadata or {}).get(b"compression") == b"dictionary":
        return True
    sample = column.slice(0, ROW_GROUP_ROWS)
    if len(sample) == 0:
        return False
    if pa.types.is_dictionary(sample.type):
        # The values the rows use (a chunk's dictionary may hold others): counting distinct
        # indices against one dictionary hashes integers, not every row's text.
        unified = sample.unify_dictionaries()
        sample = pa.chunked_array([chunk.indices for chunk in unified.chunks], pa.int32())
    elif len(sample) > PREFIX_ROWS:
        # Ids: when most of the first rows differ, so does the rest (0.25 CPU s per 1 M-row
        # id column saved; a column that repeats only after its first rows is written plain).
        prefix = sample.slice(0, PREFIX_ROWS)
        if len(pc.unique(prefix)) > PREFIX_ROWS // 2:
            return False
    # pc.unique measured twice as fast as pc.count_distinct on 1 M distinct ids.
    return len(pc.unique(sample)) <= max(1, int(len(sample) * DICTIONARY_MAX_SHARE))


def _layout(data: pa.Table) -> tuple[pa.Schema, list[str]]:
    """The schema a part is written with, and its dictionary-encoded columns.

    Text columns that pay for a dictionary are Arrow dictionaries (written as the Parquet
    dictionary), the others plain text, whatever type the first rows came in.
    """
    fields, encoded = [], []
    for field, column in zip(data.schema, data.columns, strict=True):
        value_type = field.type.value_type if pa.types.is_dictionary(field.type) else field.type
        if not _is_text(value_type):
            fields.append(field)
        elif _dictionary_pays(field, column):
            fields.append(field.with_type(pa.dictionary(pa.int32(), value_type)))
            encoded.append(field.name)
        else:
            fields.append(field.with_type(value_type))
    return pa.schema(fields, metadata=data.schema.metadata), encoded


def _to_layout(data: pa.Table, schema: pa.Schema) -> pa.Table:
    columns = []
    for field, column in zip(schema, data.columns, strict=True):
        if column.type != field.type:
            if pa.types.is_dictionary(field.type) and not pa.types.is_dictionary(column.type):
                column = pc.dictionary_encode(column).cast(field.type)
            else:
                column = column.cast(field.type)
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=schema)


class PartWriter:
    """Write one part in batches, durably: a temporary name, fsync, then the final name.

    The column layout (which text columns get a dictionary) is chosen on the first batch and
    kept for the rest, so a part is one Parquet file with one schema however it was fed.
    Each :meth:`write` adds row groups of at most ``ROW_GROUP_ROWS`` rows. Nothing is at the
    final name until :meth:`close`; :meth:`abort` removes the temporary file.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> writer = PartWriter(folder, "v", "p")
    >>> writer.write(pa.table({"k": ["a", "b"]}))
    >>> writer.write(pa.table({"k": ["c"]}))
    >>> pq.read_table(writer.close()).num_rows
    3
    """

    def __init__(self, folder: Path, view: str, name: str) -> None:
        self.where = folder / view
        self.final = self.where / f"{name}{SUFFIX}"
        self.temporary = self.where / f"{name}{SUFFIX}.tmp-{os.getpid()}"
        self.n_rows = 0
        self._sink = None
        self._writer: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None

    def _open(self, data: pa.Table) -> None:
        self.where.mkdir(parents=True, exist_ok=True)
        self._schema, encoded = _layout(data)
        with_statistics = [  # min/max of times and numbers let readers skip row groups
            f.name
            for f in self._schema
            if not _is_text(f.type) and not pa.types.is_dictionary(f.type)
        ]
        self._sink = open(self.temporary, "wb")  # noqa: SIM115 (closed in close/abort)
        self._writer = pq.ParquetWriter(
            self._sink,
            self._schema,
            compression="zstd",
            compression_level=1,
            use_dictionary=encoded or False,
            write_statistics=with_statistics or False,
        )

    def write(self, data: pa.Table) -> None:
        """Append ``data`` (same column names and order as the first batch)."""
        if data.num_rows == 0 and self._writer is not None:
            return
        try:
            if self._writer is None:
                self._open(data)
            assert self._writer is not None and self._schema is not None
            self._writer.write_table(_to_layout(data, self._schema), row_group_size=ROW_GROUP_ROWS)
        except OSError as exc:
            self.abort()
            raise self._error(exc) from None
        self.n_rows += data.num_rows

    def close(self) -> Path:
        """Finish the file and move it to its final name; that path."""
        if self._writer is None:
            raise WarehouseError(f"{self.final}: a part needs at least one batch of rows")
        try:
            self._writer.close()
            self._sink.flush()
            os.fsync(self._sink.fileno())
            self._sink.close()
            os.replace(self.temporary, self.final)
            _fsync_folder(self.where)
        except OSError as exc:
            self.abort()
            raise self._error(exc) from None
        return self.final

    def abort(self) -> None:
        """Drop what was written (the final name is never touched)."""
        with contextlib.suppress(Exception):
            if self._writer is not None:
                self._writer.close()
        with contextlib.suppress(Exception):
            if self._sink is not None:
                self._sink.close()
        self.temporary.unlink(missing_ok=True)

    def _error(self, exc: OSError) -> WarehouseError:
        return WarehouseError(
            f"{self.final}: cannot write the stored rows: {exc.strerror}; "
            "check the disk has space and the folder is writable"
        )


def write_part(folder: Path, part: Part) -> Path:
    """Write ``part`` durably under ``folder`` (temporary name, fsync, rename); its path."""
    writer = PartWriter(folder, part.view, part.name)
    writer.write(part.data)
    return writer.close()


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def view_columns(raw: duckdb.DuckDBPyConnection, view: str) -> list[tuple[str, str]]:
    """``(name, DuckDB type)`` of each column of ``view``; empty if there is none."""
    return [
        (r[0], r[1])
        for r in raw.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = ? AND table_schema = current_schema() ORDER BY ordinal_position",
            [view],
        ).fetchall()
    ]


def register(
    raw: duckdb.DuckDBPyConnection,
    *,
    parts: Sequence[Part | WrittenPart],
    drops: Sequence[DropParts],
    empty_columns: dict[str, list[tuple[str, str]]],
) -> None:
    """Inside the caller's transaction: update ``warehouse_parts`` and recreate the views.

    ``empty_columns`` gives, per view, the ``(name, DuckDB type)`` columns of the view when it
    has no part (every part dropped, or only empty data stored).
    """
    folder = parts_folder(raw)
    _ensure_registry(raw)
    for drop in drops:
        if drop.names:
            raw.execute(
                f"DELETE FROM {PARTS_TABLE} WHERE view = ? AND part IN (SELECT UNNEST(?))",
                [drop.view, list(drop.names)],
            )
    for part in parts:
        n_rows = part.n_rows if isinstance(part, WrittenPart) else part.data.num_rows
        if n_rows == 0:
            continue
        path = folder / part.view / f"{part.name}{SUFFIX}"
        raw.execute(
            f"DELETE FROM {PARTS_TABLE} WHERE view = ? AND part = ?", [part.view, part.name]
        )
        raw.execute(
            f"INSERT INTO {PARTS_TABLE} VALUES (?, ?, ?, ?)",
            [part.view, part.name, n_rows, path.stat().st_size],
        )
    for view in dict.fromkeys([p.view for p in parts] + [d.view for d in drops]):
        kind = _exists(raw, view)
        if kind is not None and kind != "VIEW":
            raise WarehouseError(
                f"{view!r} is a table made by an older version of Touchpoint, which stored "
                "ingested rows inside the DuckDB file; ingest into a new warehouse"
            )
        names = registered(raw, view)
        if names:
            body = _parts_body(folder, view, names)
        else:
            columns = empty_columns.get(view) or view_columns(raw, view)
            if not columns:
                continue
            body = (
                "SELECT "
                + ", ".join(f"CAST(NULL AS {type_}) AS {_quote(name)}" for name, type_ in columns)
                + " LIMIT 0"
            )
        raw.execute(f"CREATE OR REPLACE VIEW {_quote(view)} AS {body}")


def _part_paths(folder: Path, view: str, names: Sequence[str]) -> list[Path]:
    return [folder / view / f"{n}{SUFFIX}" for n in names]


def _parts_body(folder: Path, view: str, names: Sequence[str]) -> str:
    files = ", ".join(_literal(str(p)) for p in _part_paths(folder, view, names))
    return f"SELECT * FROM read_parquet([{files}])"


def repoint_views(raw: duckdb.DuckDBPyConnection, *, persist: bool) -> None:
    """Point each view at the parts in this warehouse's own folder.

    A view names its files by full path, so a warehouse file moved or copied together with its
    ``.data`` folder would read the old place (an error once it is gone, another warehouse's
    rows while it is there). Such views are recreated over the files beside the warehouse:
    for good when ``persist``, else as temporary views that shadow them for this connection
    (a read-only warehouse). A part missing from the folder is one clear error.
    """
    if _exists(raw, PARTS_TABLE) is None:
        return
    folder = parts_folder(raw)
    rows = raw.execute(
        f"SELECT view, list(part ORDER BY rowid) FROM {PARTS_TABLE} GROUP BY view ORDER BY view"
    ).fetchall()
    for view, names in rows:
        paths = _part_paths(folder, view, names)
        sql = raw.execute(
            "SELECT sql FROM duckdb_views() WHERE view_name = ? "
            "AND database_name = current_database() AND NOT temporary",
            [view],
        ).fetchone()
        # Views are always built over one folder: its first part tells where the view reads.
        if sql and _literal(str(paths[0])) in sql[0]:
            continue
        missing = [p for p in paths if not p.is_file()]
        if missing:
            raise WarehouseError(
                f"{folder}: {len(missing)} of the {len(paths)} Parquet parts of {view} are "
                f"missing (first: {missing[0].relative_to(folder)}); move or copy a warehouse "
                f"file together with its folder {folder.name}"
            )
        kind = "VIEW" if persist else "TEMP VIEW"
        raw.execute(
            f"CREATE OR REPLACE {kind} {_quote(view)} AS {_parts_body(folder, view, names)}"
        )


def delete_files(raw: duckdb.DuckDBPyConnection, drops: Sequence[DropParts]) -> None:
    """After commit: delete the files of dropped parts that no view reads any more."""
    folder = parts_folder(raw)
    for drop in drops:
        still = set(registered(raw, drop.view))
        for name in drop.names:
            if name not in still:
                (folder / drop.view / f"{name}{SUFFIX}").unlink(missing_ok=True)
