"""Published snapshots: what readers that stay open (the platform's server) read.

DuckDB lets one process write a file, or any number read it, never both: a server that kept
the warehouse open would stop ``touchpoint run`` for as long as it runs. So the writer
publishes a copy when it has finished, and long-lived readers read that copy:

``<warehouse>.serve/``
    ``<stamp>.duckdb``
        A copy of the warehouse file, made while the writer still holds its lock (so no other
        writer changed it mid-copy), with its views pointed at...
    ``<stamp>.duckdb.data/``
        ...hard links to the warehouse's Parquet parts (parts are immutable: a link costs
        nothing, and the part survives the warehouse later dropping it).
    ``CURRENT``
        The name of the newest complete snapshot, replaced atomically (write, fsync, rename)
        as the last step of a publish. A reader never sees a half-written snapshot.

The copy is prepared for point reads before it is published (``prepare``: e.g. tables sorted
by customer so DuckDB's zone maps skip all but one row group). The newest :data:`KEEP`
snapshots are kept; older ones are deleted (a reader still holding one keeps reading it: on
Linux a deleted open file lives on; its Parquet links are kept as long as the snapshot is).
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import duckdb
import pyarrow as pa
from ibis.backends.duckdb import Backend as DuckDBBackend

from touchpoint.errors import WarehouseError
from touchpoint.warehouse.loading import database_path
from touchpoint.warehouse.parts import PARTS_TABLE, SUFFIX, parts_folder

SERVE_SUFFIX = ".serve"
CURRENT = "CURRENT"
KEEP = 2  # the current snapshot and the one before (a server switches within seconds)

Prepare = Callable[[DuckDBBackend], None]


def snapshot_folder(warehouse: str | os.PathLike[str]) -> Path:
    """Where the snapshots of ``warehouse`` live (``<warehouse>.serve``)."""
    path = Path(warehouse).resolve()
    return path.with_name(path.name + SERVE_SUFFIX)


def current_snapshot(warehouse: str | os.PathLike[str]) -> Path | None:
    """The newest complete snapshot of ``warehouse``, or ``None`` if none was published."""
    folder = snapshot_folder(warehouse)
    try:
        name = (folder / CURRENT).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    path = folder / name
    return path if name and path.is_file() else None


def publish_snapshot(
    con: DuckDBBackend, *, prepare: Prepare | None = None, companions: Sequence[str] = ()
) -> Path:
    """Publish the warehouse behind the writable ``con`` as its newest snapshot.

    Call it with the writer's connection still open: its lock keeps every other writer out
    while the file is copied. ``prepare`` is called with the copy open for writing before it
    is published; ``companions`` are suffixes of files beside the warehouse the snapshot
    needs beside it too (``.pii.key``: hard-linked, so their permissions stay). Returns the
    snapshot's path. Raises :class:`~touchpoint.errors.WarehouseError` for an in-memory
    warehouse.
    """
    source = database_path(con)
    if source is None:
        raise WarehouseError("an in-memory warehouse has no snapshots to publish")
    con.raw_sql("CHECKPOINT")  # everything in the file, nothing left in the WAL
    folder = snapshot_folder(source)
    folder.mkdir(exist_ok=True)
    stamp = f"{time.time_ns():020d}"
    target = folder / f"{stamp}.duckdb"
    try:
        _link_parts(con.con, target.with_name(target.name + ".data"))
        shutil.copyfile(source, target)
        for suffix in companions:
            _link(source.with_name(source.name + suffix), target.with_name(target.name + suffix))
        _prepare(target, prepare)
        _point_current_at(folder, target.name)
    except BaseException:
        _remove(target)
        raise
    _remove_old(folder, keep=KEEP)
    return target


def republish_tables(
    warehouse: str | os.PathLike[str], tables: Mapping[str, pa.Table]
) -> Path | None:
    """A new snapshot: the current one with ``tables`` replaced (small ones: ratings, comments).

    For a change a user made through the server (a rating), shown without a whole publish:
    the current snapshot is copied (already prepared), the tables are written into the copy,
    and the copy becomes current. Returns ``None`` when nothing was published yet (the next
    ``touchpoint run`` publishes everything). Publishers of one warehouse take turns (a lock
    file), so two changes never publish over each other.
    """
    folder = snapshot_folder(warehouse)
    if not folder.exists():
        return None
    with open(folder / ".publish.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        base = current_snapshot(warehouse)
        if base is None:
            return None
        target = folder / f"{time.time_ns():020d}.duckdb"
        try:
            for part in base.with_name(base.name + ".data").rglob("*"):
                if part.is_file():
                    relative = part.relative_to(base.with_name(base.name + ".data"))
                    link = target.with_name(target.name + ".data") / relative
                    link.parent.mkdir(parents=True, exist_ok=True)
                    _link(part, link)
            for companion in base.parent.glob(glob.escape(base.name) + ".*"):
                if companion.is_file() and not companion.name.endswith(".wal"):
                    _link(
                        companion, target.with_name(target.name + companion.name[len(base.name) :])
                    )
            shutil.copyfile(base, target)

            def replace(con: DuckDBBackend) -> None:
                for name, data in tables.items():
                    con.create_table(name, data, overwrite=True)

            _prepare(target, replace)
            _point_current_at(folder, target.name)
        except BaseException:
            _remove(target)
            raise
        _remove_old(folder, keep=KEEP)
    return target


def _link_parts(raw: duckdb.DuckDBPyConnection, data: Path) -> None:
    """Hard links (else copies) to every part a view of the warehouse reads."""
    if not raw.execute(
        "SELECT 1 FROM information_schema.tables WHERE table_name = ?", [PARTS_TABLE]
    ).fetchone():
        return
    folder = parts_folder(raw)
    for view, part in raw.execute(f"SELECT view, part FROM {PARTS_TABLE}").fetchall():
        source = folder / view / f"{part}{SUFFIX}"
        link = data / view / source.name
        link.parent.mkdir(parents=True, exist_ok=True)
        _link(source, link)


def _link(source: Path, link: Path) -> None:
    """A hard link (else a copy, keeping the mode) to ``source``, if it exists."""
    if not source.exists():
        return
    try:
        os.link(source, link)
    except OSError:  # another file system, or links not allowed
        shutil.copy2(source, link)


def _prepare(target: Path, prepare: Prepare | None) -> None:
    """Open the copy for writing: views onto its own parts, then ``prepare``, then checkpoint."""
    from touchpoint.warehouse.connection import connect

    con = connect(target)  # re-points the views at <target>.data, for good
    try:
        if prepare is not None:
            prepare(con)
        con.raw_sql("CHECKPOINT")
    finally:
        con.disconnect()
    with open(target, "rb") as f:
        os.fsync(f.fileno())


def _point_current_at(folder: Path, name: str) -> None:
    tmp = folder / f"{CURRENT}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(name + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, folder / CURRENT)
    with contextlib.suppress(OSError):  # the rename itself durable (not on every platform)
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _remove(target: Path) -> None:
    for path in target.parent.glob(glob.escape(target.name) + "*"):
        if path.is_file():
            path.unlink()
    shutil.rmtree(target.with_name(target.name + ".data"), ignore_errors=True)


def _remove_old(folder: Path, *, keep: int) -> None:
    current = current_snapshot(folder.with_name(folder.name.removesuffix(SERVE_SUFFIX)))
    snapshots = sorted(folder.glob("*.duckdb"))
    old = [p for p in snapshots[:-keep] if p != current]
    for path in old:
        _remove(path)
