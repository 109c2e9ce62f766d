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
    assert_landed_as_expected,
    cases,
    csv_bytes,
    ingest_files,
    jsonl_bytes,
)
from hypothesis import given
from hypothesis import strategies as st

from touchpoint.warehouse import connect


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
            assert_landed_as_expected(con, written, summaries[file])
    finally:
        con.disconnect()
