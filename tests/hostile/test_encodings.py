"""Encodings and separators: Chinese, emoji and accents survive every way a file can be written.

Each example draws rows of an entity whose text holds CJK, emoji, accents, quotes and
separators, and writes them as CSV in UTF-8 (with or without a byte-order mark), GB18030 or
GBK (when the text fits GBK), with ``,``, tab, ``|`` or ``;`` between fields and ``\\n`` or
``\\r\\n`` line ends, or as JSON lines with or without ``\\u`` escapes and a byte-order mark.
Every row must load with its text unchanged but for trimming.
"""

from __future__ import annotations

import codecs

import pytest
from hostile_world import (
    ALL_ENTITIES,
    ENTITY_IDS,
    HOSTILE,
    Case,
    Cell,
    Row,
    assert_landed_as_expected,
    cases,
    csv_bytes,
    ingest_files,
    jsonl_bytes,
)
from hypothesis import given
from hypothesis import strategies as st

from touchpoint.warehouse import connect


def _encodes(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def _fits(case, encoding: str) -> bool:
    try:
        csv_bytes(case, encoding=encoding)
    except UnicodeEncodeError:
        return False
    return True


@pytest.mark.parametrize("entity", ALL_ENTITIES, ids=ENTITY_IDS)
@HOSTILE
@given(data=st.data())
def test_text_survives_every_encoding_and_separator(tmp_path_factory, entity, data):
    case = data.draw(cases(entity))
    files, forced = {}, {}
    encoding = data.draw(st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "gbk"]))
    if not _fits(case, encoding):
        encoding = "gb18030"
    delimiter = data.draw(st.sampled_from([",", "\t", "|", ";"]))
    newline = data.draw(st.sampled_from(["\n", "\r\n"]))
    name = f"{entity.name}_{encoding}.csv"
    csv_case = case.tagged("csv:")
    files[name] = (
        csv_case,
        csv_bytes(csv_case, encoding=encoding, delimiter=delimiter, newline=newline),
    )
    if encoding in ("gb18030", "gbk"):
        # Short Chinese text in GB18030 can also be valid UTF-8 (two bytes that happen to
        # form "ģ"): detection tries UTF-8 first, so such a file needs --encoding.
        forced[name] = encoding
    json_name = f"{entity.name}_escaped.jsonl"
    json_case = case.tagged("json:")
    json_text = jsonl_bytes(json_case, ensure_ascii=data.draw(st.booleans()))
    files[json_name] = json_case, (codecs.BOM_UTF8 if data.draw(st.booleans()) else b"") + json_text
    con = connect(":memory:")
    try:
        folder = tmp_path_factory.mktemp("enc")
        for file, (written, content) in files.items():
            summaries = ingest_files(con, folder, {file: content}, encoding=forced.get(file))
            if _refused_as_ambiguous(summaries[file]):
                # UTF-8 text (e.g. "Ω" alone) whose bytes are also GB18030 ("萎"): refused
                # unless --encoding says which (item 4); it must then load unchanged.
                assert content.removeprefix(codecs.BOM_UTF8) == content
                content.decode("gb18030")  # the refusal is right only if both readings exist
                again = tmp_path_factory.mktemp("enc")
                summaries = ingest_files(con, again, {file: content}, encoding="utf-8")
            assert_landed_as_expected(con, written, summaries[file])
    finally:
        con.disconnect()


def _refused_as_ambiguous(summary) -> bool:
    return summary.status == "failed" and "reads both as UTF-8" in (summary.error or "")


# GB2312 characters whose two GB18030 bytes are also one UTF-8 character ("业" is d2 b5, UTF-8
# for "ҵ"): text of them, ASCII and blanks is valid UTF-8 however it is mixed.
_UTF8_LOOKALIKES = [
    c
    for c in map(chr, range(0x4E00, 0x9FA6))
    if _encodes(c, "gb2312")
    and 0xC2 <= c.encode("gb2312")[0] <= 0xDF
    and 0x80 <= c.encode("gb2312")[1] <= 0xBF
]


@st.composite
def lookalike_cases(draw, entity):
    """Rows whose free text is Chinese that reads as UTF-8 too once written in GB18030."""
    case = draw(cases(entity))
    free = [
        c.name
        for c in entity.columns
        if c.dtype == "string"
        and not c.vocabulary
        and not c.pii
        and not c.name.endswith("_id")
        and c.name not in entity.key
    ]
    rows = []
    for row in case.rows:
        cells = dict(row.cells)
        for name, cell in row.cells.items():  # other text ASCII: the file stays valid UTF-8
            column = entity.column(name)
            if column.dtype == "boolean" and cell.text and not cell.text.isascii():
                cells[name] = Cell(str(cell.stored).lower(), cell.stored, cell.stored)
            elif column.dtype == "string" and cell.text and not cell.text.isascii():
                if column.vocabulary:  # a Chinese label: its id instead
                    cells[name] = Cell(cell.stored, None, cell.stored)
                else:
                    text = "".join(ch for ch in cell.text if ch.isascii())
                    cells[name] = Cell(text, None, text.strip() or None)
        for name in free:
            text = (
                "t"
                + draw(
                    st.text(st.sampled_from(_UTF8_LOOKALIKES) | st.sampled_from("ab 1"), max_size=8)
                )
                + draw(st.sampled_from(_UTF8_LOOKALIKES))
            )
            cells[name] = Cell(text, None, text)
        rows.append(Row(cells, set(row.reasons)))
    return Case(entity, rows, case.header)


@pytest.mark.parametrize(
    "entity",
    [e for e in ALL_ENTITIES if e.name in ("surveys", "complaints", "customers")],
    ids=lambda e: e.name,
)
@HOSTILE
@given(data=st.data())
def test_gb18030_text_that_is_also_utf8_is_never_garbled(tmp_path_factory, entity, data):
    """Item 4: such a file is refused with one line naming --encoding; with it, it loads."""
    case = data.draw(lookalike_cases(entity))
    delimiter = data.draw(st.sampled_from([",", "\t", "|", ";"]))
    content = csv_bytes(case, encoding="gb18030", delimiter=delimiter)
    content.decode("utf-8")  # the class: GB18030 bytes that are valid UTF-8
    name = f"{entity.name}.csv"
    con = connect(":memory:")
    try:
        [summary] = ingest_files(con, tmp_path_factory.mktemp("gb"), {name: content}).values()
        assert summary.status == "failed", f"loaded as {summary.encoding}: garbled"
        assert "\n" not in summary.error and "--encoding gb18030" in summary.error
        assert summary.n_loaded == summary.n_quarantined == 0
        tables = con.list_tables()
        assert entity.table not in tables or con.table(entity.table).count().execute() == 0
        summaries = ingest_files(
            con, tmp_path_factory.mktemp("gb"), {name: content}, encoding="gb18030"
        )
        assert_landed_as_expected(con, case, summaries[name])
    finally:
        con.disconnect()


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
@pytest.mark.parametrize("delimiter", [",", "\t", "|", ";"])
def test_phone_shaped_numbers_stay_numbers(tmp_path_factory, encoding, delimiter):
    """Numbers shaped like mobile numbers (13812345678) are numbers, not PII to pseudonymise.

    Pinned: the likely cause of the earlier bills and ivr_events count mismatches (a number
    column scanned as text, its value turned into a pseudonym and the row quarantined; fixed
    in 9537c96). Every column of bills and ivr_events that holds a number gets one here.
    """
    header = ["customer_id", "bill_month", "arpu_yuan", "sms_count", "points", "data_mb"]
    bills = [["客C1", "2026-03", "13800138000.0", "+13912345678", "15912345678.0", "1.8e10"]]
    ivr_header = ["call_id", "seq", "customer_id", "event_at", "node_id", "event_type", "key"]
    ivr = [["K1", " 13812345678 ", "C1", "2026-03-01 08:00:00", "root", "key", "1"]]
    files = {}
    for name, (head, rows) in {
        "bills.csv": (header, bills),
        "ivr_events.csv": (ivr_header, ivr),
    }.items():
        text = "\n".join(delimiter.join(r) for r in [head, *rows]) + "\n"
        files[name] = text.encode(encoding)
    con = connect(":memory:")
    try:
        summaries = ingest_files(con, tmp_path_factory.mktemp("num"), files)
        for summary in summaries.values():
            assert (summary.status, summary.n_read, summary.n_loaded) == ("loaded", 1, 1)
        [bill] = con.table("stg_bills").to_pyarrow().to_pylist()
        assert (bill["arpu_yuan"], bill["sms_count"], bill["points"], bill["data_mb"]) == (
            13800138000.0,
            13912345678,
            15912345678,
            1.8e10,
        )
        [event] = con.table("stg_ivr_events").to_pyarrow().to_pylist()
        assert event["seq"] == 13812345678
    finally:
        con.disconnect()
