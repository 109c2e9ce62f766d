"""Sizes: no rows, one huge value, many extra columns, many rows.

Counts are checked against the number of rows written, values against the generated truth.
"""

from __future__ import annotations

import pytest
from hostile_world import (
    ALL_ENTITIES,
    ENTITY_IDS,
    FORMATS,
    HOSTILE,
    Case,
    Cell,
    Row,
    assert_landed_as_expected,
    cases,
    csv_bytes,
    file_name,
    ingest_files,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from touchpoint.warehouse import connect


def _ingest_one(tmp_path_factory, case: Case, fmt: str, content: bytes | None = None):
    name = file_name(case.entity, fmt)
    con = connect(":memory:")
    try:
        summaries = ingest_files(
            con, tmp_path_factory.mktemp("size"), {name: content or FORMATS[fmt](case)}
        )
        assert_landed_as_expected(con, case, summaries[name])
        return summaries[name]
    finally:
        con.disconnect()


@pytest.mark.parametrize("entity", ALL_ENTITIES, ids=ENTITY_IDS)
@HOSTILE
@given(data=st.data())
def test_a_huge_value_loads_whole(tmp_path_factory, entity, data):
    case = data.draw(cases(entity, max_size=3))
    free = [c.name for c in entity.columns if c.dtype == "string" and not c.vocabulary]
    free = [n for n in free if not entity.column(n).pii]
    column = data.draw(st.sampled_from(free))
    size = data.draw(st.integers(70_000, 600_000))
    row = data.draw(st.integers(0, len(case.rows) - 1))
    text = data.draw(st.sampled_from(["z", "中", 'a,"b"\n'])) * (size // 4)
    text = "v" + text + "v"
    if column in entity.key:
        text = f"{row}:{text}"  # still unique
    case.rows[row] = Row(
        {**case.rows[row].cells, column: Cell(text, None, text)}, case.rows[row].reasons
    )
    _ingest_one(
        tmp_path_factory, case, data.draw(st.sampled_from(["csv", "jsonl", "parquet_text"]))
    )


@pytest.mark.parametrize("entity", ALL_ENTITIES, ids=ENTITY_IDS)
@HOSTILE
@given(data=st.data())
def test_header_only_and_many_extra_columns(tmp_path_factory, entity, data):
    case = data.draw(cases(entity, min_size=0, max_size=3))
    extra = [f"extra_{i}" for i in range(data.draw(st.integers(0, 300)))]
    header = case.header + extra
    lines = csv_bytes(case).decode().splitlines()
    padded = [",".join(header)] + [line + "," * len(extra) for line in lines[1:]]
    content = ("\n".join(padded) + "\n").encode()
    summary = _ingest_one(tmp_path_factory, case, "csv", content)
    assert list(summary.ignored_columns) == extra


@pytest.mark.slow
@pytest.mark.parametrize("entity", ALL_ENTITIES, ids=ENTITY_IDS)
@settings(HOSTILE, max_examples=2)
@given(data=st.data())
def test_many_rows_are_all_accounted_for(tmp_path_factory, entity, data):
    base = data.draw(cases(entity, min_size=5, max_size=10))
    copies = 3_000 // len(base.rows)
    rows = [row for i in range(copies) for row in base.tagged(f"{i}:").rows]
    case = Case(entity, rows, base.header)
    _ingest_one(
        tmp_path_factory, case, data.draw(st.sampled_from(["csv", "jsonl", "parquet_text"]))
    )
