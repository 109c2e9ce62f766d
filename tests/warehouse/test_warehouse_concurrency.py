"""Readers wait for a writer; a killed writer leaves no stray table (issue 11 items 8c, 9).

Each test runs a real second process: DuckDB's file lock is per process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from touchpoint.errors import WarehouseError
from touchpoint.warehouse import connect, write_table
from touchpoint.warehouse.connection import LOCK_WAIT_ENV, STRAY_TABLE_PREFIX

SRC = Path(__file__).parents[2] / "src"


def _spawn(code: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _hold_the_lock(path: Path, seconds: float) -> subprocess.Popen:
    """A writer process that opens ``path``, says so, writes for ``seconds``, then closes."""
    writer = _spawn(
        """
        import sys, time
        from touchpoint.warehouse import connect
        con = connect(sys.argv[1])
        con.raw_sql("CREATE OR REPLACE TABLE written AS SELECT 2 AS x")
        print("locked", flush=True)
        time.sleep(float(sys.argv[2]))
        con.raw_sql("CREATE OR REPLACE TABLE written AS SELECT 3 AS x")
        con.disconnect()
        """,
        str(path),
        str(seconds),
    )
    assert writer.stdout.readline().strip() == "locked", writer.stderr.read()
    return writer


@pytest.fixture
def warehouse(tmp_path):
    path = tmp_path / "w.duckdb"
    con = connect(path)
    write_table(con, "written", pa.table({"x": [1]}))
    con.disconnect()
    return path


def test_a_reader_waits_for_the_writer_and_reads_what_it_wrote(warehouse, capfd):
    writer = _hold_the_lock(warehouse, 2.0)
    start = time.monotonic()
    con = connect(warehouse, read_only=True, lock_wait_seconds=60)
    waited = time.monotonic() - start
    try:
        assert con.table("written").x.to_pyarrow().to_pylist() == [3]  # the writer's last state
    finally:
        con.disconnect()
    assert writer.wait(30) == 0
    assert 1.0 < waited < 30
    err = capfd.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "waiting up to 60 s" in err[0] and "另一进程" in err[0]


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_a_reader_gives_up_after_the_wait_with_one_line(warehouse, monkeypatch, how):
    writer = _hold_the_lock(warehouse, 30.0)
    try:
        if how == "environment":
            monkeypatch.setenv(LOCK_WAIT_ENV, "1.5")
        start = time.monotonic()
        with pytest.raises(WarehouseError) as caught:
            connect(warehouse, read_only=True, lock_wait_seconds=1.5 if how == "argument" else None)
        assert 1.4 < time.monotonic() - start < 10
        assert "\n" not in str(caught.value)
        assert "still writing the warehouse" in str(caught.value) and "1.5 s" in str(caught.value)
    finally:
        writer.kill()
        writer.wait()


def test_a_writer_does_not_wait(warehouse):
    writer = _hold_the_lock(warehouse, 30.0)
    try:
        start = time.monotonic()
        with pytest.raises(WarehouseError, match="Conflicting lock"):
            connect(warehouse, lock_wait_seconds=60)
        assert time.monotonic() - start < 5
    finally:
        writer.kill()
        writer.wait()


def test_a_reader_does_not_wait_without_a_writer(warehouse, capfd):
    start = time.monotonic()
    connect(warehouse, read_only=True).disconnect()
    assert time.monotonic() - start < 5
    assert capfd.readouterr().err == ""


# A process replacing a table through Ibis, killed while the rows are being written: Ibis has
# created its `ibis_duckdb_table_*` table (committed) and not yet renamed it.
_KILLED_WRITE = """
import os, signal, sys, threading, time
from touchpoint.warehouse import connect, write_table
con = connect(sys.argv[1])
watcher = con.con.cursor()

def kill_when_the_stray_table_exists():
    while True:
        found = watcher.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE starts_with(table_name, 'ibis_duckdb_table_')"
        ).fetchone()[0]
        if found:
            print("killing", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(0.01)

threading.Thread(target=kill_when_the_stray_table_exists, daemon=True).start()
slow = con.sql(
    "SELECT i, md5(CAST(i AS VARCHAR)) AS h FROM range(" + sys.argv[2] + ") t(i) ORDER BY h"
)
write_table(con, "marts", slow)
print("finished", flush=True)
"""


def _stray(con) -> list[str]:
    return [t for t in con.list_tables() if t.startswith(STRAY_TABLE_PREFIX)]


@given(n_rows=st.integers(min_value=5_000_000, max_value=20_000_000))
@settings(max_examples=2, deadline=None)
def test_a_killed_write_leaves_no_stray_table_for_the_next_writer(tmp_path_factory, n_rows):
    path = tmp_path_factory.mktemp("w") / "w.duckdb"
    con = connect(path)
    write_table(con, "marts", pa.table({"i": [1, 2]}))
    con.disconnect()
    killed = _spawn(_KILLED_WRITE, str(path), str(n_rows))
    out, err = killed.communicate(timeout=300)
    assert killed.returncode == -signal.SIGKILL, (out, err)
    assert out.split() == ["killing"]
    reader = connect(path, read_only=True)  # a reader cannot drop anything: it sees the leftover
    assert len(_stray(reader)) == 1
    reader.disconnect()
    con = connect(path)
    try:
        assert _stray(con) == []
        assert con.table("marts").i.to_pyarrow().to_pylist() == [1, 2]  # the last complete state
    finally:
        con.disconnect()
