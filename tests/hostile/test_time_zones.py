"""One timestamp rule for every format: the same text (or the same instant) stores the same value.

Each example draws rows of an entity whose timestamps are written naive, with ``Z``, with
``+08:00``, ``+0800`` or ``+08`` offsets (any offset, not only the operator's), with or
without 1 to 9 digits of fractions, in every accepted layout, mixed within one column; the
same rows are written as CSV, JSON lines (text and typed), Parquet text columns and Parquet
timestamps (naive local and UTC). Every format must store exactly the local time worked out
by ``zoneinfo`` (issue 11, item 2: JSON lines stored ``+08:00`` values at the UTC instant, and
a column with fractions and one without followed two rules, quarantining good rows as
``end_before_start``).
"""

from __future__ import annotations

import datetime as dt

import pytest
from hostile_world import (
    ALL_ENTITIES,
    ENTITY_IDS,
    FORMATS,
    HOSTILE,
    HOSTILE_SLOW,
    Case,
    Cell,
    Row,
    StampStyle,
    assert_landed_as_expected,
    cases,
    file_name,
    ingest_files,
    stamp_text,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from touchpoint.contract import ENTITIES
from touchpoint.warehouse import connect


def _check_formats(tmp_path_factory, case: Case, formats: list[str]) -> None:
    entity = case.entity
    files = {file_name(entity, f): FORMATS[f](case.tagged(f"{f}:")) for f in formats}
    con = connect(":memory:")
    try:
        # The files are UTF-8, as the operator says: a CSV whose only non-ASCII text is, say,
        # 'Ω' also reads as GB18030 and is refused without it (test_encodings.py).
        summaries = ingest_files(con, tmp_path_factory.mktemp("tz"), files, encoding="utf-8")
        for fmt in formats:
            assert_landed_as_expected(
                con, case.tagged(f"{fmt}:"), summaries[file_name(entity, fmt)]
            )
    finally:
        con.disconnect()


@pytest.mark.parametrize("entity", ALL_ENTITIES, ids=ENTITY_IDS)
@HOSTILE
@given(data=st.data())
def test_every_format_stores_the_same_values(tmp_path_factory, entity, data):
    case = data.draw(cases(entity))
    formats = data.draw(
        st.lists(st.sampled_from(list(FORMATS)), min_size=2, max_size=2, unique=True)
    )
    _check_formats(tmp_path_factory, case, ["jsonl", *[f for f in formats if f != "jsonl"]][:2])


@pytest.mark.slow
@pytest.mark.parametrize("entity", ALL_ENTITIES, ids=ENTITY_IDS)
@HOSTILE_SLOW
@given(data=st.data())
def test_every_format_stores_the_same_values_many(tmp_path_factory, entity, data):
    _check_formats(tmp_path_factory, data.draw(cases(entity)), list(FORMATS))


@st.composite
def contacts_with_mixed_fractions(draw) -> Case:
    """Contacts whose start and end are written with different fractions and offsets."""
    entity = ENTITIES["contacts"]
    base = draw(cases(entity, min_size=2, max_size=6))
    # One column in whole seconds, the other with fractions, both in an ISO layout with an
    # offset: the exports of issue 11 item 2.
    iso = st.sampled_from(["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"])
    offset = st.sampled_from(["z", "colon", "compact", "hours"])
    whole = StampStyle(draw(iso), draw(offset), 0, padded=False)
    fractional = StampStyle(draw(iso), draw(offset), draw(st.integers(1, 9)), padded=False)
    start_style, end_style = draw(st.sampled_from([(whole, fractional), (fractional, whole)]))
    rows = []
    for row in base.rows:
        start = draw(st.datetimes(dt.datetime(2020, 1, 1), dt.datetime(2026, 12, 1)))
        end = start + draw(st.timedeltas(dt.timedelta(seconds=1), dt.timedelta(hours=2)))
        cells = dict(row.cells)
        start_text, start_stored = stamp_text(draw, start, start_style)
        end_text, end_stored = stamp_text(draw, end, end_style)
        cells["started_at"] = Cell(start_text, start_stored, start_stored)  # unpadded
        cells["ended_at"] = Cell(end_text, end_stored, end_stored)
        reasons = {"end_before_start"} if end_stored < start_stored else set()
        rows.append(Row(cells, reasons))
    return Case(entity, rows, base.header)


@HOSTILE
@given(case=contacts_with_mixed_fractions())
def test_fractions_and_offsets_never_reverse_a_contact(tmp_path_factory, case):
    _check_formats(tmp_path_factory, case, ["csv", "jsonl"])


@pytest.mark.slow
@settings(HOSTILE, max_examples=1)
@given(data=st.data())
def test_json_timestamps_that_start_after_the_first_megabyte(tmp_path_factory, data):
    """The columns to read as text are learnt from the first lines; later ones count too."""
    entity = ENTITIES["complaints"]
    base = data.draw(cases(entity, min_size=2, max_size=4))
    style = StampStyle(
        "%Y-%m-%dT%H:%M:%S", data.draw(st.sampled_from(["z", "colon", "hours"])), 0, False
    )
    rows = []
    for i in range(3_000):  # about 1.3 MB of lines without a resolved_at
        cells = dict(base.rows[i % len(base.rows)].cells)
        cells["complaint_id"] = Cell(f"C{i}", None, f"C{i}")
        cells["category"] = Cell("c" * 400, None, "c" * 400)
        cells["resolved_at"] = Cell(None)
        rows.append(Row(cells, set()))
    for i, row in enumerate(base.rows):  # then lines whose resolved_at has an offset
        cells = dict(row.cells)
        created = cells["created_at"].stored
        text, stored = stamp_text(data.draw, created + dt.timedelta(hours=1), style)
        cells["complaint_id"] = Cell(f"L{i}", None, f"L{i}")
        cells["resolved_at"] = Cell(text, stored, stored)
        rows.append(Row(cells, set()))
    _check_formats(tmp_path_factory, Case(entity, rows, base.header), ["jsonl"])
