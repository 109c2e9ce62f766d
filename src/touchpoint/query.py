"""What every capability's query functions share: finding the warehouse tables they read.

A query function takes an open Ibis backend (``con``) and returns a JSON-ready result; the
command line, the report and (next) the API only render it. The capabilities never import
:mod:`touchpoint.warehouse`, so the one-line "how to make this table" error lives here.
"""

from __future__ import annotations

import ibis

from touchpoint.errors import WarehouseError


def require_table(con: ibis.BaseBackend, name: str) -> ibis.Table:
    """The warehouse table ``name``, or a clear error saying which command makes it."""
    if name not in con.list_tables():
        hint = (
            "load its source with `touchpoint ingest`"
            if name.startswith("stg_")
            else "build it with `touchpoint run`"
        )
        raise WarehouseError(f"the warehouse has no table {name!r}: {hint}")
    return con.table(name)


def optional_table(con: ibis.BaseBackend | None, name: str) -> ibis.Table | None:
    """The warehouse table ``name``, or ``None`` when it has not been built (or no warehouse)."""
    if con is None or name not in con.list_tables():
        return None
    return con.table(name)
