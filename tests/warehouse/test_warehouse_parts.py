"""Views over Parquet parts: atomic with the DuckDB tables, files cleaned, schema kept."""

import os
import shutil
import subprocess
import sys

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from touchpoint.errors import WarehouseError
from touchpoint.warehouse import (
    KILL_BEFORE_COMMIT_ENV,
    PARTS_TABLE,
    DropParts,
    Insert,
    Part,
    connect,
    load_atomically,
)

SCHEMA = pa.schema(
    [
        pa.field("k", pa.string(), nullable=False),
        pa.field("kind", pa.string(), metadata={b"compression": b"dictionary"}),
        pa.field("v", pa.int64()),
    ]
)


def _rows(*keys: str) -> pa.Table:
    return pa.table(
        {"k": list(keys), "kind": ["a"] * len(keys), "v": list(range(len(keys)))}, schema=SCHEMA
    )


def _files(warehouse) -> list[str]:
    folder = warehouse.with_name(warehouse.name + ".data") / "t"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def _keys(con) -> list[str]:
    return sorted(con.table("t").to_pyarrow()["k"].to_pylist())


def test_parts_are_parquet_files_beside_the_warehouse_read_through_a_view(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    con = connect(warehouse)
    load_atomically(con, parts=[Part("t", "one", _rows("a", "b"))])
    load_atomically(con, parts=[Part("t", "two", _rows("c"))])
    assert _keys(con) == ["a", "b", "c"]
    assert _files(warehouse) == ["one.parquet", "two.parquet"]
    assert "t" in con.list_tables()
    stored = pq.read_table(warehouse.with_name("w.duckdb.data") / "t" / "one.parquet")
    assert stored.num_rows == 2 and stored.schema.names == ["k", "kind", "v"]
    column_chunk = pq.ParquetFile(warehouse.with_name("w.duckdb.data") / "t" / "one.parquet")
    encodings = column_chunk.metadata.row_group(0).column(1).encodings
    assert "RLE_DICTIONARY" in encodings  # the vocabulary column is dictionary-encoded
    registry = con.table(PARTS_TABLE).to_pyarrow().to_pylist()
    assert [(r["part"], r["n_rows"]) for r in registry] == [("one", 2), ("two", 1)]
    con.disconnect()
    reader = connect(warehouse, read_only=True)  # a new connection reads the same view
    assert _keys(reader) == ["a", "b", "c"]


def test_dropping_a_part_deletes_its_file_after_commit_and_keeps_the_view_typed(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    con = connect(warehouse)
    load_atomically(con, parts=[Part("t", "one", _rows("a"))])
    load_atomically(
        con, parts=[Part("t", "two", _rows("b"))], drop_parts=[DropParts("t", ("one",))]
    )
    assert _keys(con) == ["b"] and _files(warehouse) == ["two.parquet"]
    load_atomically(con, drop_parts=[DropParts("t", ("two",))])
    assert _files(warehouse) == [] and con.table("t").count().to_pyarrow().as_py() == 0
    types = {name: str(t) for name, t in con.table("t").schema().items()}
    assert types == {"k": "string", "kind": "string", "v": "int64"}


def test_an_empty_first_part_makes_an_empty_view_with_the_columns(tmp_path):
    con = connect(tmp_path / "w.duckdb")
    load_atomically(con, parts=[Part("t", "none", _rows())])
    assert con.table("t").count().to_pyarrow().as_py() == 0
    assert con.table("t").columns == ("k", "kind", "v")
    assert _files(tmp_path / "w.duckdb") == []


def test_a_failed_transaction_keeps_neither_the_rows_nor_the_part_file(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    con = connect(warehouse)
    load_atomically(con, parts=[Part("t", "one", _rows("a"))])
    required = pa.schema([pa.field("x", pa.string(), nullable=False)])
    load_atomically(con, inserts=[Insert("u", pa.table({"x": ["ok"]}, schema=required))])
    with pytest.raises(WarehouseError, match="rolled back"):
        load_atomically(
            con,
            parts=[Part("t", "two", _rows("b"))],
            drop_parts=[DropParts("t", ("one",))],
            inserts=[Insert("u", pa.table({"x": pa.array([None], pa.string())}))],
        )
    assert _keys(con) == ["a"] and _files(warehouse) == ["one.parquet"]


def test_other_columns_are_refused(tmp_path):
    con = connect(tmp_path / "w.duckdb")
    load_atomically(con, parts=[Part("t", "one", _rows("a"))])
    with pytest.raises(WarehouseError, match="another version"):
        load_atomically(con, parts=[Part("t", "two", pa.table({"k": ["b"]}))])
    assert _files(tmp_path / "w.duckdb") == ["one.parquet"]


KILLED = """
import sys
import duckdb
import pyarrow as pa
from touchpoint.warehouse import Insert, Part, connect, load_atomically
con = connect(sys.argv[1])
load_atomically(
    con,
    parts=[Part("t", "two", pa.table({"k": ["b"], "kind": ["a"], "v": [0]}))],
    inserts=[Insert("log", pa.table({"part": ["two"]}))],
)
"""


def test_a_kill_between_the_file_and_the_commit_leaves_an_orphan_the_next_write_deletes(
    tmp_path,
):
    warehouse = tmp_path / "w.duckdb"
    con = connect(warehouse)
    load_atomically(con, parts=[Part("t", "one", _rows("a"))])
    con.disconnect()
    env = {**os.environ, KILL_BEFORE_COMMIT_ENV: "1"}
    killed = subprocess.run([sys.executable, "-c", KILLED, str(warehouse)], env=env, check=False)
    assert killed.returncode == -9
    assert _files(warehouse) == ["one.parquet", "two.parquet"]  # written, never registered
    con = connect(warehouse)
    assert _keys(con) == ["a"] and "log" not in con.list_tables()
    load_atomically(con, parts=[Part("t", "three", _rows("c"))])
    assert _files(warehouse) == ["one.parquet", "three.parquet"]
    assert _keys(con) == ["a", "c"]


def test_a_table_of_an_older_version_is_not_overwritten(tmp_path):
    con = connect(tmp_path / "w.duckdb")
    load_atomically(con, inserts=[Insert("t", _rows("a"))])
    with pytest.raises(WarehouseError, match="older version"):
        load_atomically(con, parts=[Part("t", "one", _rows("b"))])
    assert _keys(con) == ["a"]


def test_an_in_memory_warehouse_keeps_its_parts_in_a_temporary_folder():
    con = connect(":memory:")
    load_atomically(con, parts=[Part("t", "one", _rows("a", "b"))])
    assert _keys(con) == ["a", "b"]


def _warehouse_with_parts(folder):
    warehouse = folder / "w.duckdb"
    con = connect(warehouse)
    load_atomically(con, parts=[Part("t", "one", _rows("a", "b"))])
    load_atomically(con, parts=[Part("t", "two", _rows("c"))])
    con.disconnect()
    return warehouse


def _move(warehouse, to):
    to.mkdir()
    for name in (warehouse.name, warehouse.name + ".data"):
        (warehouse.parent / name).rename(to / name)
    return to / warehouse.name


@pytest.mark.parametrize("read_only", [False, True])
def test_a_warehouse_moved_with_its_folder_reads_its_parts(tmp_path, read_only):
    (tmp_path / "a").mkdir()
    moved = _move(_warehouse_with_parts(tmp_path / "a"), tmp_path / "b")
    con = connect(moved, read_only=read_only)
    assert _keys(con) == ["a", "b", "c"]
    con.disconnect()
    # Written back when the warehouse is writable; a read-only reader leaves the stored view
    # as it was and re-points it for itself (a temporary view).
    raw = duckdb.connect(str(moved), read_only=True)
    [stored] = raw.execute(
        "SELECT sql FROM duckdb_views() WHERE view_name = 't' AND NOT temporary"
    ).fetchone()
    raw.close()
    assert (str(moved.parent) in stored) is not read_only
    reader = connect(moved, read_only=True)
    assert _keys(reader) == ["a", "b", "c"]
    reader.disconnect()


def test_a_copied_warehouse_reads_its_own_parts_not_the_originals(tmp_path):
    original = _warehouse_with_parts(tmp_path)
    (tmp_path / "copy").mkdir()
    copy = tmp_path / "copy" / original.name
    shutil.copy(original, copy)
    shutil.copytree(
        original.with_name(original.name + ".data"), copy.with_name(copy.name + ".data")
    )
    # The original drops a part (and deletes its file): the copy still has its own.
    con = connect(original)
    load_atomically(con, drop_parts=[DropParts("t", ("one",))])
    con.disconnect()
    reader = connect(copy, read_only=True)
    assert _keys(reader) == ["a", "b", "c"]
    reader.disconnect()
    con = connect(copy)
    load_atomically(con, drop_parts=[DropParts("t", ("two",))])
    assert _keys(con) == ["a", "b"]
    con.disconnect()
    reader = connect(original, read_only=True)
    assert _keys(reader) == ["c"]
    reader.disconnect()


def test_a_warehouse_moved_without_its_folder_is_one_clear_error(tmp_path):
    warehouse = _warehouse_with_parts(tmp_path)
    (tmp_path / "alone").mkdir()
    alone = tmp_path / "alone" / warehouse.name
    warehouse.rename(alone)
    with pytest.raises(WarehouseError, match=r"2 of the 2 Parquet parts of t are missing"):
        connect(alone)
