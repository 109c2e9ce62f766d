"""``touchpoint ingest`` and ``touchpoint quarantine`` on the command line."""

from __future__ import annotations

import json

from ingest_samples import CONTACT_HEADER, contact, csv_text
from typer.testing import CliRunner

from touchpoint.cli import app

runner = CliRunner()


def _invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_ingest_json_prints_only_the_summaries(tmp_path, write):
    warehouse = str(tmp_path / "wh.duckdb")
    path = write(
        "contacts.csv", csv_text(CONTACT_HEADER, contact("K1"), contact("K2", outcome="?"))
    )
    result = _invoke("ingest", str(path), "--json", "-w", warehouse)
    assert result.exit_code == 0
    [summary] = json.loads(result.stdout)
    assert summary["status"] == "loaded"
    assert (summary["n_read"], summary["n_loaded"], summary["n_quarantined"]) == (2, 1, 1)
    assert summary["quarantined_by_reason"] == {"not_in_vocabulary": 1}


def test_ingest_table_and_exit_code_one_when_a_file_fails(tmp_path, write):
    warehouse = str(tmp_path / "wh.duckdb")
    good = write(
        "contacts.csv", csv_text(CONTACT_HEADER, contact("K1"), contact("K2", outcome="?"))
    )
    unknown = write("stuff.csv", "a,b\n1,2\n")
    result = _invoke("ingest", str(good), str(unknown), "-w", warehouse)
    assert result.exit_code == 1
    assert "Ingest summary" in result.stdout
    assert "not_in_vocabulary 1" in result.stdout
    assert "cannot tell which entity" in result.output


def test_quarantine_lists_rows_filtered_by_reason_and_file(tmp_path, write):
    warehouse = str(tmp_path / "wh.duckdb")
    first = write(
        "contacts_a.csv",
        csv_text(CONTACT_HEADER, contact("K1", outcome="?"), contact("K2", channel="")),
    )
    second = write("contacts_b.csv", csv_text(CONTACT_HEADER, contact("K3", outcome="?")))
    assert _invoke("ingest", str(first), str(second), "-w", warehouse).exit_code == 0
    result = _invoke("quarantine", "--reason", "not_in_vocabulary", "--json", "-w", warehouse)
    rows = json.loads(result.stdout)
    assert [(r["row"], r["line"], r["column"], r["value"]) for r in rows] == [
        (1, 2, "outcome", "?"),
        (1, 2, "outcome", "?"),
    ]
    result = _invoke("quarantine", "--file", "contacts_a.csv", "--json", "-w", warehouse)
    assert [(r["row"], r["reason"]) for r in json.loads(result.stdout)] == [
        (1, "not_in_vocabulary"),
        (2, "missing_value"),
    ]
    table = _invoke("quarantine", "--limit", "1", "-w", warehouse)
    assert "1 of 3" in table.stdout and "2 more" in table.stdout
