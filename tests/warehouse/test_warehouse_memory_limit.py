"""The warehouse connection's DuckDB memory ceiling (``$TOUCHPOINT_MEMORY_LIMIT``)."""

from __future__ import annotations

import pytest

from touchpoint.errors import WarehouseError
from touchpoint.warehouse import connect
from touchpoint.warehouse.connection import DEFAULT_MEMORY_LIMIT, MEMORY_LIMIT_ENV


def _setting(con) -> str:
    return con.raw_sql("SELECT current_setting('memory_limit')").fetchone()[0]


def test_a_warehouse_file_gets_the_default_limit(tmp_path, monkeypatch):
    monkeypatch.delenv(MEMORY_LIMIT_ENV, raising=False)
    con = connect(tmp_path / "w.duckdb")
    assert DEFAULT_MEMORY_LIMIT == "4GB"
    assert _setting(con) == "3.7 GiB"  # DuckDB shows 4 GB (10^9 bytes) in GiB
    con.disconnect()


def test_the_environment_overrides_the_limit(tmp_path, monkeypatch):
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "2GB")
    con = connect(tmp_path / "w.duckdb")
    assert _setting(con) == "1.8 GiB"
    con.disconnect()


def test_default_keeps_duckdbs_own_limit(tmp_path, monkeypatch):
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "default")
    con = connect(tmp_path / "w.duckdb")
    assert _setting(con) not in ("3.7 GiB", "1.8 GiB")
    con.disconnect()


def test_a_bad_limit_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "lots")
    with pytest.raises(WarehouseError, match=r"TOUCHPOINT_MEMORY_LIMIT='lots': not a DuckDB"):
        connect(tmp_path / "w.duckdb")
