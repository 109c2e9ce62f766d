"""Files that are not what their extension says are refused whole, saying what they are.

Each example draws an entity and a real payload of another kind: Parquet, gzip, zip, bzip2,
xz, PDF, PNG, SQLite, UTF-16 text, random bytes, a JSON array or a pretty-printed JSON
document, written under a name with every extension. The file must be ``failed`` with one
line naming what it is, and nothing of it may reach the warehouse: no rows, no quarantine
rows, no log row (issue 11, item 6: such files were "loaded" with exit 0, junk column names
and a quarantine full of junk).
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import random
import zipfile

import pytest
from hostile_world import (
    ALL_ENTITIES,
    ENTITY_IDS,
    FORMATS,
    HOSTILE,
    cases,
    csv_bytes,
    ingest_files,
)
from hypothesis import given
from hypothesis import strategies as st

from touchpoint.warehouse import connect


def _zip(payload: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("data.csv", payload)
    return buffer.getvalue()


def _random(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


def _json_array(case) -> bytes:
    return json.dumps([{n: r.cells[n].text for n in case.header} for r in case.rows]).encode()


def _json_document(case) -> bytes:
    return json.dumps({n: case.rows[0].cells[n].text for n in case.header}, indent=2).encode()


# kind -> (what the refusal must say, how to make it from a case and a seed)
PAYLOADS = {
    "parquet": ("Parquet", lambda case, seed: FORMATS["parquet_text"](case)),
    "gzip": ("gzip", lambda case, seed: gzip.compress(csv_bytes(case))),
    "zip": ("zip", lambda case, seed: _zip(csv_bytes(case))),
    "bzip2": ("bzip2", lambda case, seed: bz2.compress(csv_bytes(case))),
    "xz": ("xz", lambda case, seed: lzma.compress(csv_bytes(case))),
    "pdf": ("PDF", lambda case, seed: b"%PDF-1.7\n" + _random(seed, 300)),
    "png": ("PNG", lambda case, seed: b"\x89PNG\r\n\x1a\n" + _random(seed, 300)),
    "sqlite": ("SQLite", lambda case, seed: b"SQLite format 3\x00" + _random(seed, 300)),
    "utf16": ("UTF-16", lambda case, seed: csv_bytes(case, encoding="utf-16")),
    "random": ("binary", lambda case, seed: _random(seed, 1024 + seed % 4096)),
}
TEXT_PAYLOADS = {
    "json_array": ("JSON array", _json_array),
    "json_document": ("JSON document", _json_document),
    "csv_text": ("text", lambda case: csv_bytes(case)),
}
EXTENSIONS = (".csv", ".tsv", ".txt", ".jsonl", ".json", ".ndjson", ".parquet", ".pq")


def _refused_whole(con, summary, says: str) -> None:
    assert summary.status == "failed", f"{summary.path} was {summary.status}"
    assert says in summary.error, summary.error
    assert "\n" not in summary.error
    assert (summary.n_read, summary.n_loaded, summary.n_quarantined) == (0, 0, 0)
    assert "stg_" not in " ".join(con.list_tables()) or all(
        con.table(t).count().to_pyarrow().as_py() == 0
        for t in con.list_tables()
        if t.startswith("stg_")
    )
    for table in ("ingest_quarantine", "ingest_files"):
        if table in con.list_tables():
            assert con.table(table).count().to_pyarrow().as_py() == 0


@pytest.mark.parametrize("entity", ALL_ENTITIES, ids=ENTITY_IDS)
@HOSTILE
@given(data=st.data())
def test_content_of_another_kind_is_refused_whole(tmp_path_factory, entity, data):
    case = data.draw(cases(entity))
    seed = data.draw(st.integers(0, 2**32))
    kind = data.draw(st.sampled_from(sorted(PAYLOADS)))
    says, make = PAYLOADS[kind]
    extension = data.draw(st.sampled_from(EXTENSIONS))
    if kind == "parquet" and extension in (".parquet", ".pq"):
        extension = ".csv"  # Parquet named .parquet is what it says
    name = f"{entity.name}_{kind}{extension}"
    con = connect(":memory:")
    try:
        summaries = ingest_files(con, tmp_path_factory.mktemp("bin"), {name: make(case, seed)})
        _refused_whole(con, summaries[name], says)
    finally:
        con.disconnect()


@pytest.mark.parametrize("entity", ALL_ENTITIES, ids=ENTITY_IDS)
@HOSTILE
@given(data=st.data())
def test_json_named_csv_and_text_named_parquet_are_refused_whole(tmp_path_factory, entity, data):
    case = data.draw(cases(entity))
    kind = data.draw(st.sampled_from(sorted(TEXT_PAYLOADS)))
    says, make = TEXT_PAYLOADS[kind]
    extension = {
        "json_array": data.draw(st.sampled_from([".csv", ".json", ".jsonl"])),
        "json_document": data.draw(st.sampled_from([".json", ".jsonl", ".csv"])),
        "csv_text": data.draw(st.sampled_from([".parquet", ".pq"])),
    }[kind]
    name = f"{entity.name}_{kind}{extension}"
    con = connect(":memory:")
    try:
        summaries = ingest_files(con, tmp_path_factory.mktemp("txt"), {name: make(case)})
        _refused_whole(con, summaries[name], says)
    finally:
        con.disconnect()
