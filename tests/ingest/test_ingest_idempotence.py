"""Loads are idempotent by content and atomic per file, even when the process is killed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ingest_samples import CONTACT_HEADER, contact, csv_text, problems, staged

from touchpoint.ingest import ingest
from touchpoint.warehouse import KILL_BEFORE_COMMIT_ENV, connect

SRC = Path(__file__).resolve().parents[2] / "src"


def _counts(con) -> dict[str, int]:
    return {
        name: con.table(name).count().to_pyarrow().as_py()
        for name in ("stg_contacts", "ingest_quarantine", "ingest_files")
    }


def test_loading_the_same_file_twice_adds_nothing(con, write):
    path = write(
        "contacts.csv", csv_text(CONTACT_HEADER, contact("K1"), contact("K2", channel="?"))
    )
    [first] = ingest(con, [path])
    before = _counts(con)
    [again] = ingest(con, [path])
    assert before == {"stg_contacts": 1, "ingest_quarantine": 1, "ingest_files": 1}
    assert _counts(con) == before
    assert first.status == "loaded" and again.status == "unchanged"
    assert (again.n_read, again.n_loaded, again.n_quarantined) == (2, 1, 1)
    assert again.quarantined_by_reason == {"not_in_vocabulary": 1}


def test_same_content_under_another_path_is_unchanged_and_says_where(con, write):
    text = csv_text(CONTACT_HEADER, contact("K1"))
    first = write("a/contacts.csv", text)
    second = write("b/contacts_copy.csv", text)
    ingest(con, [first])
    [summary] = ingest(con, [second])
    assert summary.status == "unchanged"
    assert str(first.resolve()) in summary.message
    assert _counts(con) == {"stg_contacts": 1, "ingest_quarantine": 0, "ingest_files": 1}


def test_a_changed_file_replaces_its_earlier_rows_and_quarantine(con, write):
    path = write(
        "contacts.csv", csv_text(CONTACT_HEADER, contact("K1"), contact("K2", channel="?"))
    )
    ingest(con, [path])
    write(
        "contacts.csv",
        csv_text(CONTACT_HEADER, contact("K1"), contact("K3"), contact("K4", outcome="")),
    )
    [summary] = ingest(con, [path])
    assert summary.status == "replaced"
    assert [r["contact_id"] for r in staged(con, "contacts")] == ["K1", "K3"]
    assert problems(con) == [(3, 4, "outcome", "missing_value")]
    files = con.table("ingest_files").to_pyarrow().to_pylist()
    assert [(f["status"], f["n_read"], f["n_loaded"], f["n_quarantined"]) for f in files] == [
        ("replaced", 3, 2, 1)
    ]


def _ingest_in_subprocess(
    warehouse: Path, source: Path, *, kill: bool
) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(SRC), "TOUCHPOINT_PII_KEY": "k" * 32}
    env.pop(KILL_BEFORE_COMMIT_ENV, None)
    if kill:
        env[KILL_BEFORE_COMMIT_ENV] = "1"
    return subprocess.run(
        [sys.executable, "-m", "touchpoint", "ingest", str(source), "-w", str(warehouse), "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_load_killed_before_commit_leaves_nothing_and_the_next_load_completes(tmp_path, write):
    warehouse = tmp_path / "wh.duckdb"
    good = write("contacts_1.csv", csv_text(CONTACT_HEADER, contact("K1")))
    assert _ingest_in_subprocess(warehouse, good, kill=False).returncode == 0
    lines = [contact(f"K{i}", channel="?" if i % 10 == 0 else "web") for i in range(2, 2002)]
    second = write("contacts_2.csv", csv_text(CONTACT_HEADER, *lines))

    killed = _ingest_in_subprocess(warehouse, second, kill=True)
    assert killed.returncode == -9  # SIGKILL, after the inserts and before COMMIT

    con = connect(warehouse)
    assert _counts(con) == {"stg_contacts": 1, "ingest_quarantine": 0, "ingest_files": 1}
    con.disconnect()

    completed = _ingest_in_subprocess(warehouse, second, kill=False)
    assert completed.returncode == 0, completed.stderr
    con = connect(warehouse)
    assert _counts(con) == {"stg_contacts": 1 + 1800, "ingest_quarantine": 200, "ingest_files": 2}
    con.disconnect()


def test_each_loaded_file_version_is_one_parquet_part_and_a_replaced_one_is_deleted(
    tmp_path, write
):
    con = connect(tmp_path / "wh.duckdb")
    folder = tmp_path / "wh.duckdb.data" / "stg_contacts"
    path = write("contacts.csv", csv_text(CONTACT_HEADER, contact("K1"), contact("K2")))
    [first] = ingest(con, [path])
    other = write("more/contacts.csv", csv_text(CONTACT_HEADER, contact("K5")))
    [second] = ingest(con, [other])
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [f"{first.file_id}.parquet", f"{second.file_id}.parquet"]
    )
    write("contacts.csv", csv_text(CONTACT_HEADER, contact("K1"), contact("K3")))
    [replaced] = ingest(con, [path])
    assert replaced.status == "replaced"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [f"{replaced.file_id}.parquet", f"{second.file_id}.parquet"]
    )
    assert sorted(r["contact_id"] for r in staged(con, "contacts")) == ["K1", "K3", "K5"]
