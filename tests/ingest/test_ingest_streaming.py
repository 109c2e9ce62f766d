"""Streaming ingest: a file read, checked and stored in batches gives what one read gives.

Hand-built batch boundaries (issue 18): a key repeated across two batches, bad rows in the
last batch, a CSV record spanning a block boundary, a key already loaded from another file,
and a load killed before its commit, then run again.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from ingest_samples import CONTACT_COLUMNS, CONTACT_HEADER, contact, csv_text, problems

from touchpoint.errors import ConfigError
from touchpoint.ingest import ingest
from touchpoint.ingest._batches import CSV_BYTES_PER_ROW, MIN_BATCH_ROWS
from touchpoint.warehouse import KILL_BEFORE_COMMIT_ENV, connect

BATCH = MIN_BATCH_ROWS  # 1,000 rows; a CSV block of 128,000 bytes
SRC = Path(__file__).resolve().parents[2] / "src"


def _contacts(n: int, bad: dict[int, dict[str, str]] | None = None) -> list[str]:
    bad = bad or {}
    return [
        contact(bad.get(i, {}).get("contact_id", f"K{i}"), **{
            k: v for k, v in bad.get(i, {}).items() if k != "contact_id"
        })
        for i in range(n)
    ]  # fmt: skip


def _as_parquet(path: Path, lines: list[str]) -> Path:
    rows = [line.split(",") for line in lines]
    table = pa.table({c: [r[i] for r in rows] for i, c in enumerate(CONTACT_COLUMNS)})
    pq.write_table(table, path)
    return path


def _stored(con) -> list[dict]:
    """Rows of stg_contacts with their source row, in row order."""
    return con.table("stg_contacts").order_by("_row").drop("_file_id").to_pyarrow().to_pylist()


def _everything(con) -> tuple[list, list]:
    return problems(con), _stored(con)


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_a_key_repeated_in_a_later_batch_is_a_duplicate_of_its_first_row(
    con, write, tmp_path, file_format
):
    lines = _contacts(2_500, {2_100: {"contact_id": "K10"}})  # row 2,101 repeats row 11
    path = write("contacts.csv", csv_text(CONTACT_HEADER, *lines))
    if file_format == "parquet":
        path = _as_parquet(tmp_path / "contacts.parquet", lines)
    [summary] = ingest(con, [path], batch_rows=BATCH)
    assert (summary.n_read, summary.n_loaded, summary.n_quarantined) == (2_500, 2_499, 1)
    line = 2_102 if file_format == "csv" else None
    assert problems(con) == [(2_101, line, "contact_id", "duplicate_key")]
    value = con.table("ingest_quarantine").to_pyarrow()["value"].to_pylist()
    assert value == ["K10 (first at row 11)"]
    stored = _stored(con)
    assert len(stored) == 2_499 and 2_101 not in {r["_row"] for r in stored}


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_bad_rows_in_the_last_batch_are_quarantined_with_their_rows_and_lines(
    con, write, tmp_path, file_format
):
    bad = {2_998: {"channel": "fax"}, 2_999: {"ended_at": "2026-03-01 07:00:00"}}
    lines = _contacts(3_000, bad)
    path = write("contacts.csv", csv_text(CONTACT_HEADER, *lines))
    if file_format == "parquet":
        path = _as_parquet(tmp_path / "contacts.parquet", lines)
    [summary] = ingest(con, [path], batch_rows=BATCH)
    assert (summary.n_read, summary.n_loaded, summary.n_quarantined) == (3_000, 2_998, 2)
    csv = file_format == "csv"
    assert problems(con) == [
        (2_999, 3_000 if csv else None, "channel", "not_in_vocabulary"),
        (3_000, 3_001 if csv else None, "ended_at", "end_before_start"),
    ]


def test_a_csv_record_spanning_a_block_boundary_is_read_whole(con, write):
    block = BATCH * CSV_BYTES_PER_ROW
    lines = _contacts(1_000)
    head = len(CONTACT_HEADER) + 1 + sum(len(line) + 1 for line in lines)
    # A quoted region with line breaks and commas that starts before the first block ends
    # and ends after it: the block must be cut after it, not inside it.
    long_region = '"' + ",\n".join(["x" * 50] * ((block - head) // 25)) + '"'
    fields = contact("SPAN").split(",")
    fields[CONTACT_COLUMNS.index("region")] = long_region
    spanning = ",".join(fields)
    after = _contacts(1_500, {1_400: {"channel": "fax"}})[1_000:]
    text = csv_text(CONTACT_HEADER, *lines, spanning, *after)
    start = text.index('"')
    assert start < block < start + len(long_region)  # the record straddles the boundary
    [summary] = ingest(con, [write("contacts.csv", text)], batch_rows=BATCH)
    assert (summary.n_read, summary.n_loaded, summary.n_quarantined) == (1_501, 1_500, 1)
    by_id = {r["contact_id"]: r for r in _stored(con)}
    assert by_id["SPAN"]["region"] == long_region[1:-1]
    assert by_id["SPAN"]["_row"] == 1_001
    spanned_lines = long_region.count("\n")
    # row 1,402 (K1400) is on line 1 (header) + 1,401 rows + the lines the region spans.
    assert problems(con) == [(1_402, 1_403 + spanned_lines, "channel", "not_in_vocabulary")]


def test_streaming_and_one_read_store_and_quarantine_the_same(tmp_path, write):
    bad = {
        5: {"channel": "fax"},
        999: {"started_at": "yesterday"},
        1_000: {"contact_id": "K999"},
        1_700: {"contact_id": "K5"},
        2_400: {"outcome": ""},
    }
    path = write("contacts.csv", csv_text(CONTACT_HEADER, *_contacts(2_600, bad)))
    seen = []
    for batch_rows in (BATCH, None):
        con = connect(":memory:")
        [summary] = ingest(con, [path], batch_rows=batch_rows)
        seen.append((summary.n_read, summary.n_loaded, summary.n_quarantined, *_everything(con)))
        con.disconnect()
    assert seen[0] == seen[1]
    assert seen[0][:3] == (2_600, 2_595, 5)


def test_a_key_already_loaded_from_another_file_in_a_later_batch(con, write):
    first = write("contacts_1.csv", csv_text(CONTACT_HEADER, contact("OLD")))
    second = write(
        "contacts_2.csv",
        csv_text(CONTACT_HEADER, *_contacts(2_200, {2_150: {"contact_id": "OLD"}})),
    )
    ingest(con, [first])
    [summary] = ingest(con, [second], batch_rows=BATCH)
    assert (summary.n_loaded, summary.n_quarantined) == (2_199, 1)
    assert problems(con, second) == [(2_151, 2_152, "contact_id", "duplicate_key")]
    [value] = con.table("ingest_quarantine").to_pyarrow()["value"].to_pylist()
    assert value == f"OLD (loaded from {first.resolve()} row 1)"


def test_the_batch_size_knob_refuses_what_is_not_a_row_count(con, write, monkeypatch):
    path = write("contacts.csv", csv_text(CONTACT_HEADER, contact("K1")))
    with pytest.raises(ConfigError, match="--batch-rows=.10.: rows per ingest batch"):
        ingest(con, [path], batch_rows=10)
    monkeypatch.setenv("TOUCHPOINT_INGEST_BATCH_ROWS", "1e6")
    with pytest.raises(ConfigError, match="TOUCHPOINT_INGEST_BATCH_ROWS='1e6'"):
        ingest(con, [path])


def _ingest_in_subprocess(warehouse: Path, source: Path, *, kill: bool):
    env = {**os.environ, "PYTHONPATH": str(SRC), "TOUCHPOINT_PII_KEY": "k" * 32}
    env.pop(KILL_BEFORE_COMMIT_ENV, None)
    if kill:
        env[KILL_BEFORE_COMMIT_ENV] = "1"
    command = [sys.executable, "-m", "touchpoint", "ingest", str(source), "-w", str(warehouse)]
    return subprocess.run(
        [*command, "--json", "--batch-rows", str(BATCH)],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_a_streamed_load_killed_before_commit_leaves_nothing_and_runs_again(tmp_path, write):
    warehouse = tmp_path / "wh.duckdb"
    lines = _contacts(3_500, {3_300: {"contact_id": "K7"}, 20: {"channel": "fax"}})
    source = write("contacts.csv", csv_text(CONTACT_HEADER, *lines))
    killed = _ingest_in_subprocess(warehouse, source, kill=True)
    assert killed.returncode == -9  # SIGKILL after the part is written, before COMMIT
    parts = warehouse.with_name("wh.duckdb.data") / "stg_contacts"
    assert len(list(parts.glob("*.parquet"))) == 1  # written, never registered
    con = connect(warehouse)
    assert "stg_contacts" not in con.list_tables()
    con.disconnect()

    completed = _ingest_in_subprocess(warehouse, source, kill=False)
    assert completed.returncode == 0, completed.stderr
    con = connect(warehouse)
    assert con.table("stg_contacts").count().to_pyarrow().as_py() == 3_498
    assert problems(con) == [
        (21, 22, "channel", "not_in_vocabulary"),
        (3_301, 3_302, "contact_id", "duplicate_key"),
    ]
    con.disconnect()
    assert len(list(parts.glob("*"))) == 1  # the orphan of the killed load is gone
