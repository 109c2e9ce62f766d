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
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from touchpoint.errors import WarehouseError

PARTS_TABLE = "warehouse_parts"
SUFFIX = ".parquet"
ROW_GROUP_ROWS = 122_880  # DuckDB's row group: a reader splits a part across threads by these
_DIR_VARIABLE = "touchpoint_parts_folder"


@dataclass(frozen=True)
class Part:
    """Store ``data`` as the part ``name`` of the view ``view`` (replacing a part so named).

    Text fields whose metadata ``compression`` is ``dictionary`` are written with Parquet
    dictionary encoding (vocabularies: few distinct values); other text is written plain, which
    spares the writer a dictionary attempt on ids that are all distinct.
    """

    view: str
    name: str
    data: pa.Table


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


def remove_orphans(raw: duckdb.DuckDBPyConnection, views: Sequence[str]) -> None:
    """Delete the files in the folders of ``views`` that no view reads (left by a kill)."""
    folder = parts_folder(raw)
    for view in views:
        where = folder / view
        if not where.is_dir():
            continue
        keep = {name + SUFFIX for name in registered(raw, view)}
        for path in where.iterdir():
            if path.name not in keep and (path.suffix == SUFFIX or ".tmp-" in path.name):
                path.unlink(missing_ok=True)


def write_part(folder: Path, part: Part) -> Path:
    """Write ``part`` durably under ``folder`` (temporary name, fsync, rename); its path."""
    where = folder / part.view
    where.mkdir(parents=True, exist_ok=True)
    final = where / f"{part.name}{SUFFIX}"
    temporary = where / f"{part.name}{SUFFIX}.tmp-{os.getpid()}"
    data = part.data
    encoded = [
        f.name
        for f in data.schema
        if (f.metadata or {}).get(b"compression") == b"dictionary" or pa.types.is_dictionary(f.type)
    ]
    with_statistics = [  # min/max of times and numbers let readers skip row groups; text's cost
        f.name
        for f in data.schema
        if not (pa.types.is_string(f.type) or pa.types.is_large_string(f.type))
        and not pa.types.is_dictionary(f.type)
    ]
    try:
        with open(temporary, "wb") as sink:
            pq.write_table(
                data,
                sink,
                row_group_size=ROW_GROUP_ROWS,
                compression="zstd",
                compression_level=1,
                use_dictionary=encoded,
                write_statistics=with_statistics or False,
            )
            sink.flush()
            os.fsync(sink.fileno())
        os.replace(temporary, final)
        _fsync_folder(where)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise WarehouseError(
            f"{final}: cannot write the stored rows: {exc.strerror}; "
            "check the disk has space and the folder is writable"
        ) from None
    return final


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
    parts: Sequence[Part],
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
        if part.data.num_rows == 0:
            continue
        path = folder / part.view / f"{part.name}{SUFFIX}"
        raw.execute(
            f"DELETE FROM {PARTS_TABLE} WHERE view = ? AND part = ?", [part.view, part.name]
        )
        raw.execute(
            f"INSERT INTO {PARTS_TABLE} VALUES (?, ?, ?, ?)",
            [part.view, part.name, part.data.num_rows, path.stat().st_size],
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
