"""Guards on the stack's known breaks: they fail the day a pin is lifted too early."""

import ibis
import pyarrow as pa

from touchpoint.warehouse import connect, write_table


def test_create_table_from_arrow_round_trips():
    # ibis 12.0 + sqlglot >= 30.18 fails here with `syntax error at or near "EXISTS"`.
    con = ibis.duckdb.connect(":memory:")
    table = con.create_table("t", pa.table({"a": [1, 2, 3]}), overwrite=True)
    assert table.a.sum().to_pyarrow().as_py() == 6


def test_list_tables_works_on_installed_duckdb():
    # ibis 12.0 calls fetch_arrow_table, which DuckDB 2.0 removed.
    con = connect(":memory:")
    write_table(con, "x", pa.table({"a": [1]}))
    assert con.list_tables() == ["x"]
