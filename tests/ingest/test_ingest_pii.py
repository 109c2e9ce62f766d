"""Phone numbers are hashed with a secret key and never stored, not even in the quarantine."""

from __future__ import annotations

import hashlib
import hmac
import re
import stat

import pyarrow.parquet as pq
import pytest
from ingest_samples import csv_text, problems, staged

from touchpoint.config import load_config
from touchpoint.errors import ConfigError
from touchpoint.ingest import hash_msisdn, ingest, msisdn_lookup_hash, normalise_msisdn, pii_key
from touchpoint.warehouse import connect

HEADER = "customer_id,msisdn,join_date,brand,value_tier,region,status"
_HASH = re.compile(r"[0-9a-f]{64}")
NUMBERS = ["13800138000", "+86 139-0013-9001", "0086 137 0013 7002"]


def _customers(*msisdns: str) -> str:
    return csv_text(
        HEADER, *(f"C{i},{m},2020-01-01,gotone,regular,gz,active" for i, m in enumerate(msisdns, 1))
    )


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("13800138000", "13800138000"),
        (" +86 138-0013-8000 ", "13800138000"),
        ("0086(138)00138000", "13800138000"),
        ("138.0013.8000", "13800138000"),
    ],
)
def test_normalise_msisdn(raw, normalised):
    assert normalise_msisdn(raw) == normalised


def test_hash_is_hmac_sha256_of_the_normalised_number():
    key = b"0123456789abcdef0123456789abcdef"
    expected = hmac.new(key, b"13800138000", hashlib.sha256).hexdigest()
    assert hash_msisdn("+86 138 0013 8000", key) == expected


def test_stored_hash_matches_the_lookup_helper_and_the_numbers_are_gone(
    tmp_path, write, monkeypatch
):
    monkeypatch.delenv("TOUCHPOINT_PII_KEY", raising=False)
    warehouse = tmp_path / "wh.duckdb"
    con = connect(warehouse)
    path = write("customers.csv", _customers(*NUMBERS, "1380013800x", "12"))
    [summary] = ingest(con, [path])
    assert summary.n_loaded == 3
    assert problems(con) == [(4, 5, "msisdn", "bad_type"), (5, 6, "msisdn", "bad_type")]
    hashes = [r["msisdn_hash"] for r in staged(con, "customers")]
    assert hashes == [msisdn_lookup_hash(con, n) for n in NUMBERS]
    assert hashes[0] == msisdn_lookup_hash(con, "138 0013 8000")
    values = con.table("ingest_quarantine").order_by("row").to_pyarrow().to_pylist()
    assert [v["value"] for v in values] == ["**********x", "**"]
    assert all("13800138" not in v["record"] for v in values)
    con.disconnect()

    key_file = tmp_path / "wh.duckdb.pii.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    stored = [
        p for p in tmp_path.rglob("*") if p.name.startswith("wh.duckdb") and p != key_file
    ] + list((tmp_path / "wh.duckdb.data").rglob("*.parquet"))
    assert any(p.suffix == ".parquet" for p in stored)  # the staged rows' Parquet parts
    everything = b"".join(p.read_bytes() for p in stored if p.is_file()) + b"".join(
        str(pq.read_table(p).to_pylist()).encode() for p in stored if p.suffix == ".parquet"
    )  # Parquet pages are compressed: their decoded values are searched too
    for number in ["13800138000", "13900139001", "13700137002", "1380013800"]:
        assert number.encode() not in everything
    # the key file is reused: a new connection hashes the same way
    con = connect(warehouse)
    assert msisdn_lookup_hash(con, NUMBERS[0]) == hashes[0]
    con.disconnect()


def test_no_text_column_of_the_warehouse_holds_a_number(con, write):
    ingest(con, [write("customers.csv", _customers(*NUMBERS, "+86 138 0013 80xx"))])
    for name in con.list_tables():
        table = con.table(name).to_pyarrow()
        for column in table.column_names:
            for value in table[column].to_pylist():
                if _HASH.fullmatch(
                    str(value)
                ):  # a keyed hash (or file hash) may hold "0013" by chance
                    continue
                assert "0013" not in str(value), (name, column, value)


def test_malformed_customer_lines_mask_digit_runs(con, write):
    text = _customers(NUMBERS[0]) + "C9,13912345678,2020-01-01\n"
    ingest(con, [write("customers.csv", text)])
    [row] = con.table("ingest_quarantine").to_pyarrow().to_pylist()
    assert row["reason"] == "malformed_row" and "13912345678" not in row["value"] + row["record"]
    assert "C9,***********" in row["value"]


def test_key_from_the_environment_wins_and_must_be_long(monkeypatch):
    config = load_config()
    monkeypatch.setenv(config.pii.key_env, "x" * 40)
    assert pii_key(None, config) == b"x" * 40
    monkeypatch.setenv(config.pii.key_env, "short")
    with pytest.raises(ConfigError, match="at least 16"):
        pii_key(None, config)


def test_key_file_from_configuration_is_created_once(tmp_path, monkeypatch):
    monkeypatch.delenv("TOUCHPOINT_PII_KEY", raising=False)
    key_path = tmp_path / "keys" / "touchpoint.pii.key"
    key_path.parent.mkdir()
    user_config = tmp_path / "touchpoint.yaml"
    user_config.write_text(f"version: 1\npii:\n  key_file: {key_path}\n", encoding="utf-8")
    config = load_config(user_config)
    first = pii_key(None, config)
    assert len(first) == 64 and stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert pii_key(None, config) == first
