"""The warehouse: an embedded DuckDB file reached through Ibis.

Only this package opens DuckDB. Everything else receives and returns Ibis tables.

>>> from touchpoint.warehouse import connect
>>> con = connect(":memory:")
>>> sorted(con.list_tables())
[]
"""

from touchpoint.warehouse.connection import (
    DEFAULT_WAREHOUSE,
    WAREHOUSE_ENV,
    connect,
    read_table,
    resolve_warehouse_path,
    write_table,
)
from touchpoint.warehouse.loading import (
    KILL_BEFORE_COMMIT_ENV,
    Delete,
    Insert,
    database_path,
    ensure_table,
    key_check_connection,
    keys_already_loaded,
    load_atomically,
    part_writer,
    prepare_parts_folder,
    repeated_keys_in_part,
)
from touchpoint.warehouse.parts import PARTS_TABLE, DropParts, Part, PartWriter, WrittenPart
from touchpoint.warehouse.snapshot import (
    current_snapshot,
    publish_snapshot,
    republish_tables,
    snapshot_folder,
)

__all__ = [
    "current_snapshot",
    "publish_snapshot",
    "republish_tables",
    "snapshot_folder",
    "KILL_BEFORE_COMMIT_ENV",
    "PARTS_TABLE",
    "DropParts",
    "Part",
    "PartWriter",
    "WrittenPart",
    "key_check_connection",
    "keys_already_loaded",
    "part_writer",
    "prepare_parts_folder",
    "repeated_keys_in_part",
    "Delete",
    "Insert",
    "database_path",
    "ensure_table",
    "load_atomically",
    "DEFAULT_WAREHOUSE",
    "WAREHOUSE_ENV",
    "connect",
    "read_table",
    "resolve_warehouse_path",
    "write_table",
]
