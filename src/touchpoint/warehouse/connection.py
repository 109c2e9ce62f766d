"""Opening the warehouse and reading and writing whole tables."""

from __future__ import annotations

import os
from pathlib import Path

import ibis
import pyarrow as pa
from ibis.backends.duckdb import Backend as DuckDBBackend

from touchpoint.errors import WarehouseError
from touchpoint.warehouse.parts import repoint_views

WAREHOUSE_ENV = "TOUCHPOINT_WAREHOUSE"
DEFAULT_WAREHOUSE = Path("touchpoint.duckdb")
#: DuckDB's memory ceiling for the warehouse connection: ``$TOUCHPOINT_MEMORY_LIMIT`` as a
#: DuckDB size (``4GB``) or a share of the machine's memory (``25%``); ``"default"`` keeps
#: DuckDB's own, 80 % of RAM. Above it DuckDB spills sorts, joins and aggregates to
#: ``<warehouse>.tmp``. Unset, it is :data:`DEFAULT_MEMORY_SHARE` of physical memory: 4 GiB on
#: the 24 GiB reference machine, where the pipeline then stays under 6 GB at 1 M customers,
#: and proportionally more on an analyst's large server.
MEMORY_LIMIT_ENV = "TOUCHPOINT_MEMORY_LIMIT"
DEFAULT_MEMORY_SHARE = 1 / 6
MIN_MEMORY_LIMIT_MIB = 1024


def resolve_warehouse_path(path: str | os.PathLike[str] | None = None) -> Path | str:
    """The warehouse to use: ``path`` if given, else ``$TOUCHPOINT_WAREHOUSE``, else ``./touchpoint.duckdb``.

    ``":memory:"`` is passed through for tests and throw-away runs.
    """
    chosen = path if path not in (None, "") else os.environ.get(WAREHOUSE_ENV) or DEFAULT_WAREHOUSE
    if str(chosen) == ":memory:":
        return ":memory:"
    return Path(chosen).expanduser()


def connect(
    path: str | os.PathLike[str] | None = None, *, read_only: bool = False
) -> DuckDBBackend:
    """Open (creating if needed) the warehouse and return its Ibis backend.

    Parameters
    ----------
    path
        The DuckDB file; see :func:`resolve_warehouse_path` for the default.
    read_only
        Open without write access (the file must exist).
    """
    resolved = resolve_warehouse_path(path)
    if resolved != ":memory:":
        if read_only and not Path(resolved).exists():
            raise WarehouseError(
                f"{resolved}: no warehouse here; load data first with `touchpoint ingest PATH` "
                "or point --warehouse / TOUCHPOINT_WAREHOUSE at an existing one"
            )
        Path(resolved).parent.mkdir(parents=True, exist_ok=True)
    try:
        con = ibis.duckdb.connect(str(resolved), read_only=read_only)
    except Exception as exc:  # duckdb raises IOException, ConnectionException, ...
        raise WarehouseError(
            f"{resolved}: cannot open the warehouse: {exc}".splitlines()[0]
        ) from exc
    # DuckDB draws its own progress bar on stdout during long queries; the CLI draws Rich's.
    con.raw_sql("SET enable_progress_bar = false")
    asked = os.environ.get(MEMORY_LIMIT_ENV) or ""
    if asked != "default" and resolved != ":memory:":
        try:
            limit = memory_limit(asked)
            con.raw_sql(f"SET memory_limit = '{limit}'")
        except Exception as exc:  # ValueError, duckdb.ParserException / InvalidInputException
            con.disconnect()
            raise WarehouseError(
                f"${MEMORY_LIMIT_ENV}={asked!r}: not a DuckDB memory size such as 4GB "
                "or a share of memory such as 25%"
            ) from exc
    if resolved != ":memory:":
        try:
            repoint_views(con.con, persist=not read_only)
        except WarehouseError:
            con.disconnect()
            raise
    return con


def physical_memory_bytes() -> int:
    """The machine's physical memory (POSIX ``sysconf``)."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def memory_limit(asked: str = "") -> str:
    """The DuckDB ``memory_limit`` for ``$TOUCHPOINT_MEMORY_LIMIT`` = ``asked``.

    ``""`` gives :data:`DEFAULT_MEMORY_SHARE` of physical memory, ``"N%"`` that share, both
    in MiB and at least :data:`MIN_MEMORY_LIMIT_MIB`; anything else is passed to DuckDB as
    it is (``4GB``, ``3.5GiB``...), which refuses what it cannot read.
    """
    asked = asked.strip()
    if asked and not asked.endswith("%"):
        return asked
    share = float(asked[:-1]) / 100 if asked else DEFAULT_MEMORY_SHARE
    if not 0 < share <= 1:
        raise ValueError(f"a share of memory must be in (0%, 100%], got {asked}")
    mib = max(MIN_MEMORY_LIMIT_MIB, int(physical_memory_bytes() * share) // 2**20)
    return f"{mib}MiB"


def read_table(con: DuckDBBackend, name: str) -> ibis.Table:
    """The warehouse table ``name`` as an Ibis table, or a clear error saying how to make it."""
    if name not in con.list_tables():
        hint = (
            "load its source with `touchpoint ingest`"
            if name.startswith("stg_")
            else "build it with `touchpoint run`"
        )
        raise WarehouseError(f"the warehouse has no table {name!r}: {hint}")
    return con.table(name)


def write_table(con: DuckDBBackend, name: str, data: ibis.Table | pa.Table) -> ibis.Table:
    """Create or replace table ``name`` from an Ibis expression or an Arrow table."""
    return con.create_table(name, data, overwrite=True)
