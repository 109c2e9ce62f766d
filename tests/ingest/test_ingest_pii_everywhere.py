"""No raw mobile number reaches any table or view of the warehouse (issue 11 item 4).

Sources of every entity are salted with generated Chinese mobile numbers (bare, after +86 /
0086 / 86, with blanks or dashes inside, in full-width digits, glued to words and Chinese
text, as JSON integers) in every column, in an extra column, in a column name and in
malformed rows; then every table and view of the warehouse, quarantine and marts included,
is scanned for the digits of each planted number and none may be found.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import re

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from touchpoint.config import load_config
from touchpoint.contract import ENTITIES
from touchpoint.ingest import hash_msisdn, ingest
from touchpoint.ingest._pii import (
    mask_phone_numbers,
    pseudonymise_array,
    pseudonymise_phone_numbers,
    pseudonymise_text,
)
from touchpoint.pipeline import run_pipeline
from touchpoint.warehouse import connect

EXAMPLES = int(os.environ.get("TP_EXAMPLES", 25))
KEY = b"0123456789abcdef0123456789abcdef"
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
TO_ASCII = str.maketrans("０１２３４５６７８９", "0123456789")

# Text around a number: letters, Chinese, punctuation; never a digit (a digit next to the
# number would make it part of a longer number, which is no phone number).
context = st.text(
    alphabet=st.sampled_from(list("abcXYZ客户来电请回拨号码：:;()[]#@_/. ")),
    max_size=6,
)


@st.composite
def mobile_numbers(draw) -> str:
    """The 11 digits of a Chinese mobile number."""
    second = draw(st.sampled_from("3456789"))
    rest = draw(st.text(alphabet="0123456789", min_size=9, max_size=9))
    return f"1{second}{rest}"


@st.composite
def written(draw, digits: str) -> str:
    """``digits`` as a person writes them: prefix, blanks or dashes inside, full width."""
    prefix = draw(st.sampled_from(["", "", "+86", "+86 ", "0086", "0086-", "86", "＋86 "]))
    out = ""
    for i, digit in enumerate(digits):
        if i and draw(st.integers(0, 5)) == 0:
            out += draw(st.sampled_from([" ", "-", "  ", " - "]))
        out += digit
    if draw(st.integers(0, 4)) == 0:
        out = out.translate(FULL_WIDTH)
    return prefix + out


@st.composite
def salted(draw, planted: list[str]) -> str:
    """A value holding a new planted number, alone or inside text."""
    digits = draw(mobile_numbers())
    planted.append(digits)
    number = draw(written(digits))
    if draw(st.booleans()):
        return number  # an id column that is a phone number, a bare number in free text
    return draw(context) + number + draw(context)


def _good_value(column, i: int) -> str:
    if column.vocabulary:
        return load_config().vocabulary(column.vocabulary)[0].id
    return (
        {
            "string": f"V{i}",
            "int64": str(column.min_value if column.min_value is not None else 1),
            "float64": "1.5",
            "boolean": "true",
            "date": "2026-03-01",
            "timestamp": "2026-03-01 08:00:00",
        }[column.dtype]
        if not column.pii
        else "13900000000"
    )


CONTEXT_CHARS = "abcXYZ客户来电请回拨号码：:;()[]#@_/. "
PREFIXES = ["", "", "+86", "+86 ", "0086", "0086-", "86", "＋86 "]


def _random_salted(rnd: random.Random, planted: list[str]) -> str:
    """:func:`salted` drawn from ``rnd``: the whole-warehouse test needs hundreds of values,
    more than Hypothesis draws comfortably in one example."""
    digits = "1" + rnd.choice("3456789") + "".join(rnd.choices("0123456789", k=9))
    planted.append(digits)
    out = ""
    for i, digit in enumerate(digits):
        if i and rnd.random() < 0.2:
            out += rnd.choice([" ", "-", "  ", " - "])
        out += digit
    if rnd.random() < 0.2:
        out = out.translate(FULL_WIDTH)
    number = rnd.choice(PREFIXES) + out
    if rnd.random() < 0.5:
        return number
    around = ["".join(rnd.choices(CONTEXT_CHARS, k=rnd.randint(0, 6))) for _ in range(2)]
    return around[0] + number + around[1]


@st.composite
def salted_sources(draw):
    """Per entity: (format, header, rows); and the planted numbers."""
    rnd = random.Random(draw(st.integers(0, 2**32)))
    planted: list[str] = []
    files = {}
    for entity in ENTITIES.values():
        extra = _random_salted(rnd, planted)  # a column named with a number
        header = [c.name for c in entity.columns] + ["备注", extra]
        rows = []
        for i, _column in enumerate(entity.columns):
            row = [_good_value(c, i) for c in entity.columns]
            for j, column in enumerate(entity.columns):  # unique keys: no duplicate_key
                if column.name in entity.key:
                    row[j] = {"string": f"K{i}", "int64": str(i + 1)}.get(
                        column.dtype, f"2025-{i + 1:02d}-01"
                    )
            row[i] = _random_salted(rnd, planted)
            rows.append([*row, _random_salted(rnd, planted), _random_salted(rnd, planted)])
        files[entity.name] = (draw(st.sampled_from(["csv", "jsonl", "parquet"])), header, rows)
    return files, planted


def _write(folder, entity: str, file_format: str, header: list[str], rows: list[list[str]]):
    path = folder / f"{entity}.{file_format}"
    if file_format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        # A malformed line (too many fields) with a number in it.
        buffer.write(",".join(["x"] * (len(header) + 2) + ["call 13912345678 now"]) + "\n")
        path.write_text(buffer.getvalue(), encoding="utf-8")
    elif file_format == "jsonl":
        lines = [
            json.dumps(dict(zip(header, row, strict=True)), ensure_ascii=False) for row in rows
        ]
        lines.append('["not an object", "13912345678"]')  # malformed
        lines.append(json.dumps({header[0]: "J1", "手机": 13912345679}))  # a number as integer
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    else:
        table = pa.table({name: [r[j] for r in rows] for j, name in enumerate(header)})
        table = table.append_column(
            "phone_as_integer", pa.array([13912345670 + j for j in range(len(rows))], pa.int64())
        )
        pq.write_table(table, path)
    return path


FIXED_NUMBERS = ["13912345678", "13912345679", *(f"139123456{70 + j}" for j in range(20))]


def _every_text(con) -> dict[str, list[str]]:
    """Every value of every table and view, as text, by table."""
    found = {}
    for name in con.list_tables():
        table = con.table(name)
        text = table.select(*[table[c].cast("string").name(c) for c in table.columns])
        rows = text.to_pyarrow().to_pylist()
        found[name] = [*table.columns, *(v for row in rows for v in row.values() if v)]
    return found


def _normalised(text: str) -> str:
    return re.sub(r"[ \t\-]", "", text.translate(TO_ASCII))


@given(sources=salted_sources())
@settings(
    max_examples=max(2, EXAMPLES // 8),
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # a seed: nothing to shrink
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
    ],
)
def test_no_planted_number_is_anywhere_in_the_warehouse(tmp_path_factory, sources, monkeypatch):
    monkeypatch.setenv("TOUCHPOINT_PII_KEY", KEY.decode())
    files, planted = sources
    folder = tmp_path_factory.mktemp("src")
    paths = [_write(folder, e, *spec) for e, spec in files.items()]
    con = connect(folder / "w.duckdb")
    try:
        summaries = ingest(con, paths)
        assert [s.status for s in summaries] == ["loaded"] * len(paths), [
            s.error for s in summaries
        ]
        assert all(s.n_read == s.n_loaded + s.n_quarantined for s in summaries)
        assert sum(s.n_loaded for s in summaries) > 0
        run_pipeline(con, load_config())
        leaks = [
            (table, value)
            for table, values in _every_text(con).items()
            for value in values
            for digits in {*planted, *FIXED_NUMBERS}
            if digits in _normalised(value)
        ]
        assert leaks == []
    finally:
        con.disconnect()


@given(digits=mobile_numbers(), data=st.data())
@settings(max_examples=200, deadline=None)
def test_a_number_in_text_becomes_the_hash_of_the_phone_column(digits, data):
    before, after = data.draw(context), data.draw(context)
    number = data.draw(written(digits))
    out = pseudonymise_text(before + number + after, KEY)
    assert out == before + f"[msisdn:{hash_msisdn(digits, KEY)}]" + after
    # Vectorised, plain and dictionary-encoded, the same.
    values = pa.array(["no number here", before + number + after, None])
    assert pseudonymise_array(values, KEY).to_pylist() == ["no number here", out, None]
    assert pseudonymise_array(values.dictionary_encode(), KEY).to_pylist() == [
        "no number here",
        out,
        None,
    ]
    assert digits not in _normalised(mask_phone_numbers(before + number + after))


@given(
    digits=st.text(alphabet="0123456789", min_size=1, max_size=20),
    left=st.sampled_from(["", "7", "a"]),
    right=st.sampled_from(["", "7", "a"]),
)
@settings(max_examples=300, deadline=None)
def test_only_a_run_of_exactly_a_mobile_numbers_digits_is_replaced(digits, left, right):
    text = left + digits + right
    run = re.findall(r"\d+", text)[0]
    is_mobile = re.fullmatch(r"(?:0086|86)?1[3-9]\d{9}", run) is not None
    assert (pseudonymise_text(text, KEY) != text) == is_mobile


def test_a_table_without_numbers_is_returned_as_it_is():
    table = pa.table({"a": ["2026-03-01 13:00:00", "C000012345"], "n": [20260301, 12]})
    assert pseudonymise_phone_numbers(table, lambda: 1 / 0) is table  # the key is never asked
