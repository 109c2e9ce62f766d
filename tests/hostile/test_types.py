"""Values that cannot be stored as their column's type are quarantined with the right reason.

Each example draws good rows of an entity and spoils some cells, each with a value of a
drawn kind whose reason is known: text in a number, an impossible or implausible date, a
word that is no yes/no, a label outside the vocabulary, a blank required value, a number
below its minimum. The spoiled rows must be quarantined with (at least) that reason and
every other row must load unchanged, in CSV, JSON lines and Parquet alike.

Dates and timestamps outside 1900-01-01 .. the end of next year are ``out_of_range``
(issue 11, item 3: a ``join_date`` of ``0000-01-01`` was loaded as a year-1 BC date and took
the report down).
"""

from __future__ import annotations

import datetime as dt
import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hostile_world import (
    ALL_ENTITIES,
    ENTITY_IDS,
    FORMATS,
    HOSTILE,
    LAST_DAY,
    Case,
    Cell,
    Row,
    assert_landed_as_expected,
    cases,
    file_name,
    ingest_files,
)
from hypothesis import example, given
from hypothesis import strategies as st

from touchpoint.contract import ENTITIES
from touchpoint.contract.entities import Column
from touchpoint.warehouse import connect

_TOO_EARLY = ("0000-01-01", "0001-01-01", "1066-10-14", "1899-12-31")


def _too_late() -> tuple[str, ...]:
    after = LAST_DAY + dt.timedelta(days=1)
    return (after.isoformat(), "2999-01-01", "9999-12-31")


@st.composite
def spoilt(draw, column: Column) -> tuple[str, str]:
    """A text that ``column`` must refuse, and the reason."""
    if column.required and draw(st.integers(0, 5)) == 0:
        return draw(st.sampled_from(["", "  ", "NULL", "\\N"])), "missing_value"
    if column.vocabulary:
        return "no such " + draw(st.text("xyz", max_size=3)), "not_in_vocabulary"
    if column.dtype in ("date", "timestamp"):
        if draw(st.booleans()):
            day = draw(st.sampled_from(_TOO_EARLY + _too_late()))
            return (day if column.dtype == "date" else f"{day} 12:00:00"), "out_of_range"
        return draw(st.sampled_from(["2026-02-30", "2026-13-01", "soon", "2026-03-01 25:00"])), (
            "bad_type"
        )
    if column.dtype == "int64":
        if column.min_value is not None and draw(st.booleans()):
            return str(int(column.min_value) - draw(st.integers(1, 10**6))), "below_min"
        if column.max_value is not None and draw(st.booleans()):
            return str(int(column.max_value) + draw(st.integers(1, 10**6))), "above_max"
        return draw(st.sampled_from(["12x", "1.5", "一", "1e3", "0x10"])), "bad_type"
    if column.dtype == "float64":
        if column.min_value is not None and draw(st.booleans()):
            below = column.min_value - draw(st.floats(0.001, 1e6))
            return repr(below), "below_min"
        return draw(st.sampled_from(["abc", "inf", "-inf", "nan", "1,5", "1e999"])), "bad_type"
    if column.dtype == "boolean":
        return draw(st.sampled_from(["maybe", "2", "是的"])), "bad_type"
    return None, None  # free text: anything is text


@st.composite
def spoilt_cases(draw, entity) -> Case:
    case = draw(cases(entity, min_size=2))
    columns = [c for c in entity.columns if not c.pii]
    rows = []
    for row in case.rows:
        cells, reasons = dict(row.cells), set(row.reasons)
        if draw(st.booleans()):
            column = draw(st.sampled_from(columns))
            text, reason = draw(spoilt(column))
            if reason is not None:
                cells[column.name] = Cell(text, None, None)
                reasons = {reason}  # order checks need both values: the spoilt one is gone
        rows.append(Row(cells, reasons))
    return Case(entity, rows, case.header)


TEXT_FORMATS = ("csv", "jsonl", "parquet_text")


@pytest.mark.parametrize("entity", ALL_ENTITIES, ids=ENTITY_IDS)
@HOSTILE
@given(data=st.data())
def test_spoilt_values_are_quarantined_with_their_reason(tmp_path_factory, entity, data):
    case = data.draw(spoilt_cases(entity))
    fmt = data.draw(st.sampled_from(TEXT_FORMATS))
    con = connect(":memory:")
    try:
        name = file_name(entity, fmt)
        summaries = ingest_files(con, tmp_path_factory.mktemp("ty"), {name: FORMATS[fmt](case)})
        assert_landed_as_expected(con, case, summaries[name])
    finally:
        con.disconnect()


def _typed_days(days: list[int]) -> pa.Array:
    return pa.array(days, pa.int32()).cast(pa.date32())


@HOSTILE
@example([-800_000, 0], "date")
@example([-800_000, 0], "timestamp")
@example([800_000], "date")
@given(
    st.lists(st.integers(-800_000, 800_000), min_size=1, max_size=20),
    st.sampled_from(["date", "timestamp"]),
)
def test_typed_parquet_dates_outside_the_plausible_range(tmp_path_factory, days, kind):
    """Parquet's own dates and timestamps (year 0 to 4160) follow the same range rule."""
    epoch = dt.date(1970, 1, 1)
    first, last = (dt.date(1900, 1, 1) - epoch).days, (LAST_DAY - epoch).days
    n = len(days)
    if kind == "date":
        entity, column = ENTITIES["customers"], "join_date"
        values = _typed_days(days)
    else:
        entity, column = ENTITIES["payments"], "paid_at"
        values = pa.array([d * 86_400_000_000 + 3_600_000_000 for d in days], pa.int64())
        values = values.cast(pa.timestamp("us"))
    columns = {c.name: pa.array([f"{c.name[:2]}{i}" for i in range(n)]) for c in entity.columns}
    columns.update(
        {
            "customers": {
                "brand": pa.array(["gotone"] * n),
                "value_tier": pa.array(["gold"] * n),
                "status": pa.array(["active"] * n),
                "msisdn": pa.nulls(n, pa.string()),
                "birth_year": pa.nulls(n, pa.int64()),
                "is_group_key_person": pa.nulls(n, pa.bool_()),
                "is_family_plan": pa.nulls(n, pa.bool_()),
                "leave_date": pa.nulls(n, pa.date32()),
            },
            "payments": {"channel": pa.array(["web"] * n), "amount_yuan": pa.array([1.0] * n)},
        }[entity.name]
    )
    columns[column] = values
    buffer = io.BytesIO()
    pq.write_table(pa.table(columns), buffer)
    con = connect(":memory:")
    try:
        name = f"{entity.name}.parquet"
        [summary] = ingest_files(
            con, tmp_path_factory.mktemp("pq"), {name: buffer.getvalue()}
        ).values()
        outside = sum(not first <= d <= last for d in days)
        assert summary.status == "loaded", summary.error
        assert (summary.n_read, summary.n_loaded, summary.n_quarantined) == (
            n,
            n - outside,
            outside,
        )
        assert summary.quarantined_by_reason.get("out_of_range", 0) == outside
    finally:
        con.disconnect()
