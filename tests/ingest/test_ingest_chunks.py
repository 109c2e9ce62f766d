"""Big files arrive in chunks (CSV blocks, Parquet row groups): rows keep their numbers."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
from ingest_samples import CONTACT_HEADER, contact, csv_text, problems, staged

from touchpoint.ingest import ingest
from touchpoint.ingest._read_other import read_parquet
from touchpoint.warehouse import connect

N = 150_000  # about 15 MB of CSV: two 8 MiB read blocks
BAD = {
    10: {"channel": "fax"},
    70_001: {"started_at": "2026-03-01T08:00:00.5+08:00", "ended_at": "2026-03-01 07:00:00"},
    120_000: {"started_at": "2026/03/01 08:00:00", "outcome": ""},
    149_990: {"contact_id": "K5"},  # repeats row 6
}
EXPECTED = [
    (11, 12, "channel", "not_in_vocabulary"),
    (70_002, 70_003, "ended_at", "end_before_start"),
    (120_001, 120_002, "outcome", "missing_value"),
    (149_991, 149_992, "contact_id", "duplicate_key"),
]


def _lines() -> list[str]:
    lines = []
    for i in range(N):
        fields = {"contact_id": f"K{i}", **BAD.get(i, {})}
        lines.append(contact(fields.pop("contact_id"), **fields))
    return lines


def test_a_csv_read_in_several_blocks(con, write):
    path = write("contacts.csv", csv_text(CONTACT_HEADER, *_lines()))
    [summary] = ingest(con, [path])
    assert (summary.n_read, summary.n_loaded, summary.n_quarantined) == (N, N - 4, 4)
    assert problems(con) == EXPECTED
    started = con.table("stg_contacts").filter(lambda t: t._row == 120_001).to_pyarrow()
    assert started.num_rows == 0


def test_a_parquet_file_of_many_row_groups(con, write, tmp_path):
    csv_path = write("contacts.csv", csv_text(CONTACT_HEADER, *_lines()))
    table = pcsv.read_csv(csv_path, convert_options=pcsv.ConvertOptions(strings_can_be_null=True))
    path = tmp_path / "contacts.parquet"
    pq.write_table(table, path, row_group_size=10_000)
    assert pq.ParquetFile(path).num_row_groups == 15
    [summary] = ingest(con, [path])
    assert (summary.n_read, summary.n_loaded, summary.n_quarantined) == (N, N - 4, 4)
    assert problems(con) == [(row, None, column, reason) for row, _, column, reason in EXPECTED]


def test_parquet_dictionary_columns_load_exactly_as_the_same_csv(write, tmp_path):
    """Text Parquet stores as a dictionary is checked per distinct value; nothing may change.

    Row groups of 7 rows give each group its own dictionary; the repeated contact ids make the
    key column itself dictionary-encoded, so duplicates must be found across groups.
    """
    lines = [
        contact(f"K{i % 40}", channel=ch, region=region, outcome=outcome, agent_id=f"A{i % 3}")
        for i, (ch, region, outcome) in enumerate(
            zip(
                ["agent", " IVR ", "热线人工", "fax", "", "app"] * 10,
                ["gz", " sz", "NULL", "", "fs", "gz", "zh"] * 9,
                ["resolved", "abandoned", "?", "transferred"] * 15,
                strict=False,
            )
        )
    ]
    csv_path = write("contacts.csv", csv_text(CONTACT_HEADER, *lines))
    table = pcsv.read_csv(csv_path, convert_options=pcsv.ConvertOptions(strings_can_be_null=True))
    parquet_path = tmp_path / "contacts.parquet"
    pq.write_table(table, parquet_path, row_group_size=7)
    read = read_parquet(parquet_path.read_bytes(), where="test")
    assert pa.types.is_dictionary(read.table["contact_id"].type)
    assert pa.types.is_dictionary(read.table["channel"].type)

    landed = []
    for path in (csv_path, parquet_path):
        con = connect(":memory:")
        [summary] = ingest(con, [path])
        landed.append(
            (
                (summary.n_read, summary.n_loaded, summary.n_quarantined),
                summary.quarantined_by_reason,
                staged(con, "contacts"),
                [(row, column, reason) for row, _, column, reason in problems(con)],
                con.table("ingest_quarantine")
                .order_by(["row", "reason"])
                .select("row", "reason", "value")
                .to_pyarrow()
                .to_pylist(),
            )
        )
    assert landed[0] == landed[1]
    (counts, by_reason, rows, _, _) = landed[1]
    assert counts == (60, 20, 40)  # 40 distinct ids: rows 41-60 repeat; bad rows hand-counted
    assert by_reason["duplicate_key"] == 20
    assert {r["channel"] for r in rows} <= {"agent", "ivr", "app"}
    assert {r["region"] for r in rows} <= {"gz", "sz", "fs", "zh", None}
