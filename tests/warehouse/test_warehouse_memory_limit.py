"""The warehouse connection's DuckDB memory ceiling (``$TOUCHPOINT_MEMORY_LIMIT``)."""

from __future__ import annotations

import pytest

from touchpoint.errors import WarehouseError
from touchpoint.warehouse import connect, connection
from touchpoint.warehouse.connection import MEMORY_LIMIT_ENV, memory_limit

GIB = 2**30


def _setting(con) -> str:
    return con.raw_sql("SELECT current_setting('memory_limit')").fetchone()[0]


def test_a_warehouse_file_gets_a_sixth_of_the_machines_memory(tmp_path, monkeypatch):
    monkeypatch.delenv(MEMORY_LIMIT_ENV, raising=False)
    monkeypatch.setattr(connection, "physical_memory_bytes", lambda: 24 * GIB)
    con = connect(tmp_path / "w.duckdb")
    assert _setting(con) == "4.0 GiB"  # 24 GiB / 6
    con.disconnect()


@pytest.mark.parametrize(
    ("asked", "ram_gib", "expected"),
    [
        ("", 24, "4096MiB"),
        ("", 256, f"{256 * 1024 // 6}MiB"),  # a large server gets proportionally more
        ("", 2, "1024MiB"),  # never below 1 GiB
        ("25%", 24, "6144MiB"),
        (" 50% ", 8, "4096MiB"),
        ("3GB", 24, "2861MiB"),  # 3e9 bytes / 2**20, rounded down
        ("3.5GiB", 24, "3584MiB"),
        ("512 mb", 24, "488MiB"),
    ],
)
def test_memory_limit_from_a_share_or_a_size(monkeypatch, asked, ram_gib, expected):
    monkeypatch.setattr(connection, "physical_memory_bytes", lambda: ram_gib * GIB)
    assert memory_limit(asked) == expected


def test_the_real_machine_memory_is_read():
    assert connection.physical_memory_bytes() > 512 * 2**20


def test_the_environment_overrides_the_limit(tmp_path, monkeypatch):
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "2GB")
    con = connect(tmp_path / "w.duckdb")
    assert _setting(con) == "1.8 GiB"
    con.disconnect()


def test_default_keeps_duckdbs_own_limit(tmp_path, monkeypatch):
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "default")
    con = connect(tmp_path / "w.duckdb")
    assert _setting(con) != "1.8 GiB"
    con.disconnect()


def test_a_bad_limit_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "lots")
    with pytest.raises(WarehouseError, match=r"TOUCHPOINT_MEMORY_LIMIT='lots': not a DuckDB"):
        connect(tmp_path / "w.duckdb")


@pytest.mark.parametrize("share", ["0%", "150%", "x%"])
def test_a_bad_share_is_one_clear_error(tmp_path, monkeypatch, share):
    monkeypatch.setenv(MEMORY_LIMIT_ENV, share)
    with pytest.raises(WarehouseError, match=r"or a share of memory such as 25%"):
        connect(tmp_path / "w.duckdb")
