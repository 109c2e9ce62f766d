"""load_atomically: everything lands, or nothing does."""

import pyarrow as pa
import pytest

from touchpoint.errors import WarehouseError
from touchpoint.warehouse import Delete, Insert, connect, database_path, load_atomically


def test_deletes_then_inserts_in_one_transaction():
    con = connect(":memory:")
    load_atomically(con, inserts=[Insert("t", pa.table({"k": ["a", "b"], "v": [1, 2]}))])
    load_atomically(
        con,
        deletes=[Delete("t", "k", ("a",)), Delete("missing_table", "k", ("a",))],
        inserts=[Insert("t", pa.table({"v": [3], "k": ["c"]}))],
    )
    assert sorted(con.table("t").to_pyarrow().to_pylist(), key=lambda r: r["k"]) == [
        {"k": "b", "v": 2},
        {"k": "c", "v": 3},
    ]


def test_a_failing_insert_rolls_back_the_earlier_ones():
    con = connect(":memory:")
    required = pa.schema([pa.field("k", pa.string(), nullable=False)])
    load_atomically(con, inserts=[Insert("t", pa.table({"k": ["a"]}, schema=required))])
    with pytest.raises(WarehouseError, match="rolled back"):
        load_atomically(
            con,
            deletes=[Delete("t", "k", ("a",))],
            inserts=[
                Insert("u", pa.table({"x": [1]})),
                Insert("t", pa.table({"k": pa.array([None], pa.string())})),  # NOT NULL refuses it
            ],
        )
    assert con.table("t").to_pyarrow().to_pylist() == [{"k": "a"}]
    assert "u" not in con.list_tables()


def test_a_table_with_other_columns_is_refused():
    con = connect(":memory:")
    load_atomically(con, inserts=[Insert("t", pa.table({"a": [1]}))])
    with pytest.raises(WarehouseError, match="lacks column"):
        load_atomically(con, inserts=[Insert("t", pa.table({"a": [1], "b": [2]}))])


def test_database_path(tmp_path):
    assert database_path(connect(":memory:")) is None
    assert database_path(connect(tmp_path / "w.duckdb")) == tmp_path / "w.duckdb"


def test_a_column_is_stored_with_the_compression_its_field_names(tmp_path):
    con = connect(tmp_path / "wh.duckdb")
    ids = pa.field("id", pa.string(), metadata={b"compression": b"fsst"})
    kinds = pa.field("kind", pa.string(), metadata={b"compression": b"dictionary"})
    data = pa.table(
        [pa.array([f"K{i}" for i in range(3000)]), pa.array(["a", "b", "c"] * 1000)],
        schema=pa.schema([ids, kinds]),
    )
    load_atomically(con, inserts=[Insert("t", data)])
    con.raw_sql("CHECKPOINT")
    rows = con.raw_sql(
        "SELECT DISTINCT column_name, compression FROM pragma_storage_info('t') "
        "WHERE segment_type = 'VARCHAR' ORDER BY 1"
    ).fetchall()
    assert rows == [("id", "FSST"), ("kind", "Dictionary")]
    bad = pa.table(
        [pa.array(["x"])], schema=pa.schema([ids.with_metadata({b"compression": b"x;"})])
    )
    with pytest.raises(WarehouseError, match="compression"):
        load_atomically(con, inserts=[Insert("u", bad)])
