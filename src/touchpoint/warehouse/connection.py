"""Opening the warehouse and reading and writing whole tables."""

from __future__ import annotations

import math
import os
import re
import sys
import time
from pathlib import Path

import ibis
import pyarrow as pa
from ibis.backends.duckdb import Backend as DuckDBBackend

from touchpoint.errors import WarehouseError, first_line
from touchpoint.query import require_table
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
MIN_MEMORY_SIZE_MIB = 64
#: How long a read-only open waits for a writer: ``$TOUCHPOINT_LOCK_WAIT_SECONDS`` (seconds,
#: 0 for not at all), else ten minutes, longer than most runs on a laptop.
LOCK_WAIT_ENV = "TOUCHPOINT_LOCK_WAIT_SECONDS"
DEFAULT_LOCK_WAIT_SECONDS = 600.0
STRAY_TABLE_PREFIX = "ibis_duckdb_table_"

_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_SIZE = re.compile(r"(\d+(?:\.\d+)?) ?([KMGT]i?B|B|bytes?)", re.IGNORECASE)
_UNITS = {
    "b": 1,
    "byte": 1,
    "bytes": 1,
    **{f"{p}b": 1000**n for n, p in enumerate("kmgt", 1)},
    **{f"{p}ib": 1024**n for n, p in enumerate("kmgt", 1)},
}


def resolve_warehouse_path(path: str | os.PathLike[str] | None = None) -> Path | str:
    """The warehouse to use: ``path`` if given, else ``$TOUCHPOINT_WAREHOUSE``, else ``./touchpoint.duckdb``.

    ``":memory:"`` is passed through for tests and throw-away runs.
    """
    chosen = path if path not in (None, "") else os.environ.get(WAREHOUSE_ENV) or DEFAULT_WAREHOUSE
    if str(chosen) == ":memory:":
        return ":memory:"
    return Path(chosen).expanduser()


def connect(
    path: str | os.PathLike[str] | None = None,
    *,
    read_only: bool = False,
    lock_wait_seconds: float | None = None,
) -> DuckDBBackend:
    """Open (creating if needed) the warehouse and return its Ibis backend.

    A writable open removes the ``ibis_duckdb_table_*`` tables a killed run left behind (Ibis
    builds a replaced table under such a name, then renames it). A read-only open that meets
    another process writing (``touchpoint run`` or ``ingest``) waits for it, saying so on
    stderr, up to ``lock_wait_seconds``; a writable open does not wait.

    Parameters
    ----------
    path
        The DuckDB file; see :func:`resolve_warehouse_path` for the default.
    read_only
        Open without write access (the file must exist).
    lock_wait_seconds
        How long a read-only open waits for a writer; ``None`` reads
        ``$TOUCHPOINT_LOCK_WAIT_SECONDS``, else :data:`DEFAULT_LOCK_WAIT_SECONDS`.

    Raises
    ------
    WarehouseError
        The file cannot be opened, a writer held it longer than the wait, or
        ``$TOUCHPOINT_MEMORY_LIMIT`` / ``$TOUCHPOINT_LOCK_WAIT_SECONDS`` is not a valid value.
    """
    resolved = resolve_warehouse_path(path)
    config: dict[str, str] = {}
    if resolved != ":memory:":
        if read_only and not Path(resolved).exists():
            raise WarehouseError(
                f"{resolved}: no warehouse here; load data first with `touchpoint ingest PATH` "
                "or point --warehouse / TOUCHPOINT_WAREHOUSE at an existing one"
            )
        Path(resolved).parent.mkdir(parents=True, exist_ok=True)
        limit = _memory_limit_from_environment()
        if limit is not None:
            config["memory_limit"] = limit  # a typed option, built from a number: no SQL
    wait = lock_wait(lock_wait_seconds) if read_only else 0.0
    con = _open_waiting(str(resolved), read_only=read_only, config=config, wait=wait)
    # DuckDB draws its own progress bar on stdout during long queries; the CLI draws Rich's.
    con.raw_sql("SET enable_progress_bar = false")
    if resolved != ":memory:":
        try:
            if not read_only:
                drop_stray_tables(con)
            repoint_views(con.con, persist=not read_only)
        except WarehouseError:
            con.disconnect()
            raise
    return con


def _memory_limit_from_environment() -> str | None:
    asked = os.environ.get(MEMORY_LIMIT_ENV) or ""
    if asked.strip() == "default":
        return None
    try:
        return memory_limit(asked)
    except ValueError as exc:
        raise WarehouseError(
            f"${MEMORY_LIMIT_ENV}={asked!r}: not a DuckDB memory size such as 4GB "
            f"or a share of memory such as 25% ({exc})"
        ) from None


def lock_wait(asked: float | None = None) -> float:
    """Seconds a read-only open waits for a writer: ``asked``, else the environment, else the default.

    >>> lock_wait(2.5)
    2.5
    """
    if asked is None:
        text = os.environ.get(LOCK_WAIT_ENV, "").strip()
        if not text:
            return DEFAULT_LOCK_WAIT_SECONDS
        try:
            asked = float(text) if _NUMBER.fullmatch(text) else math.nan
        except ValueError:  # pragma: no cover - the pattern admits floats only
            asked = math.nan
        if not 0 <= asked < math.inf:
            raise WarehouseError(
                f"${LOCK_WAIT_ENV}={text!r}: not a number of seconds such as 600 (0: do not wait)"
            )
    if not 0 <= asked < math.inf:
        raise WarehouseError(f"lock_wait_seconds={asked!r}: not a number of seconds >= 0")
    return float(asked)


def _is_lock_conflict(exc: Exception) -> bool:
    return "Conflicting lock" in str(exc) or "Could not set lock" in str(exc)


def _open_waiting(
    database: str, *, read_only: bool, config: dict[str, str], wait: float
) -> DuckDBBackend:
    """``ibis.duckdb.connect``, retried while another process holds the write lock (``wait`` s)."""
    deadline = time.monotonic() + wait
    pause = 0.1
    told = False
    while True:
        try:
            return ibis.duckdb.connect(database, read_only=read_only, **config)
        except Exception as exc:  # duckdb raises IOException, ConnectionException, ...
            if wait <= 0 or not _is_lock_conflict(exc):
                raise WarehouseError(
                    f"{database}: cannot open the warehouse: {first_line(exc)}"
                ) from None
            left = deadline - time.monotonic()
            if left <= 0:
                raise WarehouseError(
                    f"{database}: another process is still writing the warehouse "
                    f"(`touchpoint run` or `ingest`) after {wait:g} s of waiting; try again "
                    f"when it has finished, or wait longer with ${LOCK_WAIT_ENV} / "
                    f"另一进程仍在写入数据仓库，已等待 {wait:g} 秒"
                ) from None
            if not told:
                print(
                    f"touchpoint: another process is writing {database} (`touchpoint run` or "
                    f"`ingest`); waiting up to {wait:g} s for it to finish "
                    f"(${LOCK_WAIT_ENV}) / 另一进程正在写入数据仓库，最多等待 {wait:g} 秒",
                    file=sys.stderr,
                    flush=True,
                )
                told = True
            time.sleep(min(pause, left))
            pause = min(pause * 2, 2.0)


def drop_stray_tables(con: DuckDBBackend) -> list[str]:
    """Drop the tables a killed write left behind; returns their names.

    Ibis writes a replaced table as ``ibis_duckdb_table_<random>`` and renames it when done;
    a process killed in between leaves that table for good. No Touchpoint table has the prefix.
    """
    raw = con.con
    names = [
        row[0]
        for row in raw.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "AND NOT temporary AND starts_with(table_name, ?)",
            [STRAY_TABLE_PREFIX],
        ).fetchall()
    ]
    for name in names:
        con.drop_table(name, force=True)
    return names


def physical_memory_bytes() -> int:
    """The machine's physical memory (POSIX ``sysconf``)."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def memory_limit(asked: str = "") -> str:
    """The DuckDB ``memory_limit`` for ``$TOUCHPOINT_MEMORY_LIMIT`` = ``asked``, in MiB.

    ``""`` gives :data:`DEFAULT_MEMORY_SHARE` of physical memory, ``"N%"`` that share, both
    at least :data:`MIN_MEMORY_LIMIT_MIB`; a size (``4GB``, ``3.5GiB``, ``512 MB``) is read
    here and must be at least :data:`MIN_MEMORY_SIZE_MIB`. Anything else raises
    ``ValueError``: the text never reaches DuckDB, only the number of MiB computed from it.

    >>> memory_limit("3GiB")
    '3072MiB'
    """
    asked = asked.strip()
    if asked and not asked.endswith("%"):
        mib = _size_mib(asked)
        if mib < MIN_MEMORY_SIZE_MIB:
            raise ValueError(f"a size below {MIN_MEMORY_SIZE_MIB}MiB leaves DuckDB no room")
        return f"{mib}MiB"
    if asked and not _NUMBER.fullmatch(asked[:-1].strip()):
        raise ValueError("a share is a number followed by %")
    share = float(asked[:-1]) / 100 if asked else DEFAULT_MEMORY_SHARE
    if not 0 < share <= 1:
        raise ValueError(f"a share of memory must be in (0%, 100%], got {asked}")
    mib = max(MIN_MEMORY_LIMIT_MIB, int(physical_memory_bytes() * share) // 2**20)
    return f"{mib}MiB"


def _size_mib(text: str) -> int:
    found = _SIZE.fullmatch(text)
    if found is None:
        raise ValueError("a size is a number and a unit: B, KB, MB, GB, TB, KiB, MiB, GiB or TiB")
    number, unit = found.groups()
    size = float(number) * _UNITS[unit.lower()]
    if not size < 2**60:
        raise ValueError("that size is beyond any machine")
    return int(size // 2**20)


def read_table(con: DuckDBBackend, name: str) -> ibis.Table:
    """The warehouse table ``name`` as an Ibis table, or a clear error saying how to make it.

    The same rule as :func:`touchpoint.query.require_table`, which the capabilities' query
    functions use (they may not import the warehouse).
    """
    return require_table(con, name)


def write_table(con: DuckDBBackend, name: str, data: ibis.Table | pa.Table) -> ibis.Table:
    """Create or replace table ``name`` from an Ibis expression or an Arrow table."""
    return con.create_table(name, data, overwrite=True)
