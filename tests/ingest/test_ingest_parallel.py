"""Several files loaded at once (processes) give what loading them one by one gives."""

from __future__ import annotations

import re

import pytest
from ingest_samples import CONTACT_HEADER, contact, csv_text

from touchpoint.errors import ConfigError
from touchpoint.ingest import _ingest, ingest
from touchpoint.warehouse import connect

PAYMENTS_HEADER = "payment_id,customer_id,paid_at,channel,amount_yuan"


def _folder(write) -> None:
    """Files whose outcome depends on the order they commit in."""
    write("in/contacts_1.csv", csv_text(CONTACT_HEADER, *[contact(f"A{i}") for i in range(1_500)]))
    # A2 and A7 were loaded from contacts_1: duplicates only if contacts_1 commits first.
    write(
        "in/contacts_2.csv",
        csv_text(CONTACT_HEADER, contact("B1"), contact("A2"), contact("B3", channel="fax"),
                 *[contact(f"C{i}") for i in range(1_200)], contact("A7")),
    )  # fmt: skip
    write("in/contacts_3.csv", csv_text(CONTACT_HEADER, contact("A1")))  # loaded first wins
    write(
        "in/copy/contacts_1.csv",
        csv_text(CONTACT_HEADER, *[contact(f"A{i}") for i in range(1_500)]),
    )
    write(
        "in/payments.csv",
        csv_text(PAYMENTS_HEADER, "P1,C1,2026-03-01 08:00:00,web,5", "P2,C2,yesterday,web,5"),
    )
    write("in/contacts_broken.parquet", b"not parquet at all")


def _without_time(summary: dict) -> dict:
    """The summary without the time of the earlier load an ``unchanged`` message quotes."""
    return {**summary, "message": re.sub(r" at [0-9-]+ [0-9:]+", "", summary["message"] or "")}


def _everything(con) -> dict:
    files = con.table("ingest_files").drop("loaded_at").to_pyarrow().to_pylist()
    quarantine = con.table("ingest_quarantine").to_pyarrow().to_pylist()
    stored = con.table("stg_contacts").to_pyarrow()
    return {
        "files": files,
        "quarantine": quarantine,
        "stg_contacts": sorted(stored.drop_columns(["_file_id"]).to_pylist(), key=str),
        "stg_payments": con.table("stg_payments").drop("_file_id").to_pyarrow().to_pylist(),
    }


def test_files_loaded_in_parallel_give_the_summaries_and_log_of_one_by_one(
    tmp_path, write, monkeypatch
):
    monkeypatch.setattr(_ingest, "PARALLEL_MIN_BYTES", 0)  # small files, processes all the same
    _folder(write)
    seen = []
    for jobs in (1, 2):
        con = connect(tmp_path / f"w{jobs}.duckdb")
        summaries = ingest(con, [tmp_path / "in"], jobs=jobs, batch_rows=1_000)
        seen.append(([_without_time(s.to_dict()) for s in summaries], _everything(con)))
        con.disconnect()
    assert seen[0] == seen[1]
    by_name = {s["path"].split("/in/")[1]: s for s in seen[0][0]}
    assert by_name["contacts_2.csv"]["quarantined_by_reason"] == {
        "duplicate_key": 2,
        "not_in_vocabulary": 1,
    }
    assert by_name["contacts_3.csv"]["n_quarantined"] == 1
    assert by_name["copy/contacts_1.csv"]["status"] == "unchanged"
    assert by_name["contacts_broken.parquet"]["status"] == "failed"
    parts = sorted(p.name for p in (tmp_path / "w2.duckdb.data").rglob("*") if p.is_file())
    assert len(parts) == 4  # contacts 1, 2 and 3, payments: nothing staged is left over


def test_jobs_must_be_at_least_one(con, write):
    with pytest.raises(ConfigError, match="--jobs=0"):
        ingest(con, [write("contacts.csv", csv_text(CONTACT_HEADER, contact("K1")))], jobs=0)
